import assert from 'node:assert/strict';
import { test } from 'node:test';
import { job } from '../sched/test-builders.ts';
import { estimatesLabel, jobsWithEstimates } from './estimates.ts';
import { Rng } from './rng.ts';

const jobs = Array.from({ length: 4000 }, (_, i) => job(`j${i}`).org('a').gpus(1).runs(100 + i).estimate(1).build());

test('oracle: the scheduler sees the true durations', () => {
  const seen = jobsWithEstimates(jobs, { level: 'oracle', sigma: 1 }, new Rng(1));
  assert.equal(seen.durationsKnown, true);
  assert.ok(seen.jobs.every((j) => j.estimateS === j.durationS));
});

test('none: estimates say nothing, and are left as they are', () => {
  const seen = jobsWithEstimates(jobs, { level: 'none', sigma: 1 }, new Rng(1));
  assert.equal(seen.durationsKnown, false);
  assert.equal(seen.jobs, jobs);
});

test('user: a seeded log-normal error around the true duration, median 1; the same seed gives the same estimates', () => {
  const seen = jobsWithEstimates(jobs, { level: 'user', sigma: 1 }, new Rng(7));
  assert.equal(seen.durationsKnown, true);
  const logRatios = seen.jobs.map((j) => Math.log(j.estimateS / j.durationS)).sort((a, b) => a - b);
  const median = logRatios[logRatios.length / 2] ?? NaN;
  const sd = Math.sqrt(logRatios.reduce((s, x) => s + x * x, 0) / logRatios.length);
  assert.ok(Math.abs(median) < 0.06, `median of ln(estimate/duration) ≈ 0, got ${median}`);
  assert.ok(Math.abs(sd - 1) < 0.05, `σ ≈ 1, got ${sd}`);
  const offByFive = logRatios.filter((x) => Math.abs(x) > Math.log(5)).length / logRatios.length;
  assert.ok(offByFive > 0.08 && offByFive < 0.14, `about one in ten off by more than 5×, got ${offByFive}`);
  assert.deepEqual(jobsWithEstimates(jobs, { level: 'user', sigma: 1 }, new Rng(7)).jobs, seen.jobs);
  assert.notDeepEqual(jobsWithEstimates(jobs, { level: 'user', sigma: 1 }, new Rng(8)).jobs, seen.jobs);
  assert.ok(seen.jobs.every((j, i) => j.durationS === jobs[i]?.durationS), 'true durations unchanged');
  assert.ok(jobsWithEstimates(jobs, { level: 'user', sigma: 0 }, new Rng(7)).jobs.every((j) => j.estimateS === j.durationS), 'σ 0: exact');
  assert.throws(() => jobsWithEstimates(jobs, { level: 'user', sigma: -1 }, new Rng(7)), /estimate-error.*σ must be zero or more/);
  assert.deepEqual([estimatesLabel({ level: 'user', sigma: 1 }), estimatesLabel({ level: 'none', sigma: 1 })], ['user (σ=1)', 'none']);
});
