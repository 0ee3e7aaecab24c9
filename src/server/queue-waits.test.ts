import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FirstPlacement } from '../store/types.ts';
import { percentile, QUEUE_WAIT_WINDOW_MS, QueueWaitReader, queueWaitsOf } from './queue-waits.ts';

test('percentile: the nearest rank, a value that occurred; none of nothing', () => {
  const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(percentile(ten, 0.5), 5);
  assert.equal(percentile(ten, 0.9), 9);
  assert.equal(percentile(ten, 1), 10);
  assert.equal(percentile([7], 0.5), 7);
  assert.equal(percentile([7], 0.9), 7);
  assert.equal(percentile([1, 100], 0.5), 1);
  assert.equal(percentile([1, 100], 0.9), 100);
  assert.equal(percentile([], 0.5), null);
});

test('queueWaitsOf: per org and in all, from submission to first placement; a clock skew never gives a negative wait', () => {
  const placed = (orgId: string, submittedAt: number, placedAt: number): FirstPlacement => ({ orgId, submittedAt, placedAt });
  const waits = queueWaitsOf([placed('b', 0, 60_000), placed('a', 1000, 1000), placed('a', 0, 30_000), placed('a', 500, 400), placed('b', 0, 120_000)], QUEUE_WAIT_WINDOW_MS);
  assert.deepEqual(waits, {
    windowMs: QUEUE_WAIT_WINDOW_MS,
    total: { jobs: 5, p50Ms: 30_000, p90Ms: 120_000 },
    orgs: [
      { orgId: 'a', jobs: 3, p50Ms: 0, p90Ms: 30_000 },
      { orgId: 'b', jobs: 2, p50Ms: 60_000, p90Ms: 120_000 },
    ],
  });
  assert.deepEqual(queueWaitsOf([], 1), { windowMs: 1, total: { jobs: 0, p50Ms: null, p90Ms: null }, orgs: [] });
});

test('QueueWaitReader: reads the last hour, at most once per refresh interval, and again after a failure', async () => {
  let now = 10 * QUEUE_WAIT_WINDOW_MS;
  const asked: number[] = [];
  let fail = false;
  const reader = new QueueWaitReader({
    clock: { now: () => now },
    refreshMs: 60_000,
    store: {
      firstPlacements: (since) => {
        asked.push(since);
        return fail ? Promise.reject(new Error('store down')) : Promise.resolve([{ orgId: 'a', submittedAt: since, placedAt: since + asked.length * 1000 }]);
      },
    },
  });
  assert.equal((await reader.read()).total.p50Ms, 1000);
  now += 59_999;
  assert.equal((await reader.read()).total.p50Ms, 1000, 'the same read within the interval');
  assert.deepEqual(asked, [9 * QUEUE_WAIT_WINDOW_MS]);
  now += 1;
  assert.equal((await reader.read()).total.p50Ms, 2000, 'a new read once it has passed');
  assert.deepEqual(asked, [9 * QUEUE_WAIT_WINDOW_MS, 9 * QUEUE_WAIT_WINDOW_MS + 60_000]);
  fail = true;
  now += 60_000;
  await assert.rejects(reader.read(), /store down/);
  fail = false;
  assert.equal((await reader.read()).total.p50Ms, 4000, 'a failed read is not kept');
});
