import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobSubmitBody } from '../../../src/server/schemas.ts';
import { cancelEach, newIdempotencyKey, resubmitBody, runTimeS } from './job-list.ts';
import { job, listed } from './test-data.ts';

const AT = '2026-11-26T15:10:34.000Z';
const at = (s: number) => new Date(Date.parse(AT) + s * 1000).toISOString();
const attempt = (started: string | null, ended: string | null) => ({ attempt: 1, parts: [], placed_at: AT, started_at: started, ended_at: ended });

test('run time: from the latest attempt’s start to its end, or to now while it runs; none before it starts', () => {
  const now = Date.parse(at(600));
  assert.equal(runTimeS(listed('1', 'acme', { state: 'succeeded', last_placement: attempt(at(10), at(100)) }), now), 90);
  assert.equal(runTimeS(listed('2', 'acme', { state: 'running', last_placement: attempt(at(100), null) }), now), 500, 'still running: so far');
  assert.equal(runTimeS(listed('3', 'acme', { state: 'placed', last_placement: attempt(null, null) }), now), null);
  assert.equal(runTimeS(listed('4', 'acme'), now), null, 'never placed');
  assert.equal(runTimeS(listed('5', 'acme', { state: 'cancelled', last_placement: attempt(at(100), null) }), now), null, 'finished with no end known: not "so far"');
});

test('a resubmission is the stored spec as a valid submission, the span’s sync volume exactly, the plan kept', () => {
  const span = { replica_gpus: 8, sync_bytes: 30e9 + 3, outer_step_s: 2400, hidden_s: 5, min_efficiency: 0.8, max_single_site_wait_s: 60 };
  const plan = { kind: 'video', gpu: 'h100', gpus: 8, seconds: 5, width: 832, height: 480 };
  const original = job('7', 'acme', { name: 'render', gpus: 16, gpu_types: ['h100'], command: ['sh', '-c', 'x'], max_retries: 2, priority: 5, span, plan });
  const parsed = JobSubmitBody.parse(resubmitBody(original));
  assert.equal((parsed.span?.params ?? 0) * (parsed.span?.bytes_per_param ?? 0), span.sync_bytes, 'the same bytes per synchronization');
  assert.deepEqual([parsed.name, parsed.org_id, parsed.gpus, parsed.gpu_types, parsed.command, parsed.max_retries, parsed.priority, parsed.estimate_s], ['render', 'acme', 16, ['h100'], ['sh', '-c', 'x'], 2, 5, 3600]);
  assert.deepEqual(parsed.plan, { ...plan, gpus: 8 });
  assert.equal(JobSubmitBody.parse(resubmitBody(job('8', 'acme'))).span, undefined, 'no span, none sent');
});

test('bulk cancel: every job tried, each outcome said in order, a refusal stopping none', async () => {
  const tried: string[] = [];
  const outcomes = await cancelEach(['1', '2', '3', '4', '5'], (id) => {
    tried.push(id);
    return id === '2' || id === '5' ? Promise.reject(new Error(`job ${id} has finished`)) : Promise.resolve();
  }, 2);
  assert.deepEqual(tried, ['1', '2', '3', '4', '5']);
  assert.deepEqual(outcomes.map((o) => [o.id, o.ok]), [['1', true], ['2', false], ['3', true], ['4', true], ['5', false]]);
  assert.match(String((outcomes[1] as { error: unknown }).error), /job 2 has finished/);
});

test('idempotency keys are fresh each time', () => {
  const keys = new Set(Array.from({ length: 50 }, newIdempotencyKey));
  assert.equal(keys.size, 50);
  for (const k of keys) assert.match(k, /^[0-9a-f]{32}$/);
});
