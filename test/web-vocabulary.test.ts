// The dashboard names in words what the server sends as codes. tsc holds it to the
// enums in the wire types (states, health, error codes); the scheduler's reasons for
// keeping a job waiting travel as plain strings, so they are checked here, as are the
// planner's presets the planner form offers, and the planner answers and the simulation
// report its tests read.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { GPU_CATALOG, VIDEO_MODELS } from '../src/plan/index.ts';
import { REASONS } from '../src/sched/diagnosis.ts';
import type { Fairness, Summary } from '../src/sim/metrics.ts';
import { runPlan } from '../src/server/planning.ts';
import { PlanBody } from '../src/server/schemas.ts';
import { REASON_LABEL } from '../web/src/i18n/labels.ts';
import planTrain from '../web/src/model/fixtures/plan-train.json' with { type: 'json' };
import planVideo from '../web/src/model/fixtures/plan-video.json' with { type: 'json' };
import simulateFixture from '../web/src/model/fixtures/simulate.json' with { type: 'json' };
import { PLAN_GPUS, PLAN_MODELS } from '../web/src/model/plan-form.ts';
import { readSimulateReport, type SimFairnessJson, type SimSummaryJson } from '../web/src/model/simulate-report.ts';
import { inProcess } from './support/cli.ts';

test('every reason the scheduler gives has words in the dashboard, and no other', () => {
  assert.deepEqual(Object.keys(REASON_LABEL).sort(), Object.keys(REASONS).sort());
});

test('the planner form offers exactly the planner’s video models and GPU types', () => {
  assert.deepEqual([...PLAN_MODELS], VIDEO_MODELS.map((m) => m.id));
  assert.deepEqual([...PLAN_GPUS], GPU_CATALOG.map((g) => g.id));
});

/** Compiles only where an `A` is a `B`: what the server writes is what the dashboard reads it as (tsc checks this file). */
const readsAs = <A, B>(read: (a: A) => B): void => void read;

test('the dashboard’s test plans are what the planner answers (its plan types are the planner’s own, through schemas.ts)', () => {
  for (const fixture of [planVideo, planTrain]) {
    const fresh = runPlan(PlanBody.parse(fixture.request));
    assert.deepEqual(JSON.parse(JSON.stringify(fresh)), fixture.plan, `web/src/model/fixtures/plan-${fixture.request.kind}.json is no longer what the planner answers its request: put the planner's answer in its "plan"`);
  }
});

test('the report page reads what `suanli simulate --json` prints, and its test report is a fresh run’s', async () => {
  readsAs<Summary, SimSummaryJson>((s) => s);
  readsAs<Fairness, SimFairnessJson>((f) => f);
  const examples = join(import.meta.dirname, '..', 'examples');
  const run = await inProcess(['simulate', '--trace', join(examples, 'trace.csv'), '--pool', join(examples, 'pool.json'), '--policy', 'fifo,fair-share', '--json']);
  assert.equal(run.code, 0, run.err);
  const reading = readSimulateReport(run.out);
  assert.ok(reading.ok, JSON.stringify(reading));
  const fresh = JSON.parse(run.out) as { runs: unknown };
  assert.deepEqual(fresh.runs, simulateFixture.runs, 'web/src/model/fixtures/simulate.json is no longer what this run prints: print it again');
});
