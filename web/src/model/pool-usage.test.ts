import assert from 'node:assert/strict';
import { test } from 'node:test';
import { currentPlacement, historySeries, samplesWithin, utilization } from './pool-usage.ts';
import { holding, POOL } from './test-data.ts';

test('the share allocated, and none of no GPUs', () => {
  assert.equal(utilization(POOL.total), 6 / 20);
  assert.equal(utilization({ gpus: 0, allocated: 0 }), 0);
});

test('the history as series: allocated per GPU type (0 where a type had no site yet), and all GPUs; the newest sample holds one interval', () => {
  const series = historySeries(POOL.history.samples, 'All GPUs', 60_000);
  assert.deepEqual(series.gpuTypes, ['a100', 'h100']);
  const first = Date.parse('2026-11-26T15:09:34.000Z');
  const second = Date.parse('2026-11-26T15:10:34.000Z');
  const due = second + 60_000;
  assert.deepEqual(series.allocated, [
    { at: first, series: 'a100', gpus: 0 },
    { at: first, series: 'h100', gpus: 2 },
    { at: second, series: 'a100', gpus: 0 },
    { at: second, series: 'h100', gpus: 6 },
    { at: due, series: 'a100', gpus: 0 },
    { at: due, series: 'h100', gpus: 6 },
  ]);
  assert.deepEqual(series.capacity, [{ at: first, series: 'All GPUs', gpus: 16 }, { at: second, series: 'All GPUs', gpus: 20 }, { at: due, series: 'All GPUs', gpus: 20 }]);
  assert.deepEqual(historySeries([], 'All GPUs', 60_000), { allocated: [], capacity: [], gpuTypes: [] });
});

test('a job holds the placement of its latest attempt, while it has not ended', () => {
  const running = holding('1', 'acme', [['a', 'h100', 2]]);
  assert.equal(currentPlacement(running)?.attempt, 1);
  const finished = { ...running, placements: running.placements.map((p) => ({ ...p, ended_at: p.placed_at })) };
  assert.equal(currentPlacement(finished), undefined);
});

test('samplesWithin: the samples of the last hour, 6 or 24 hours before the newest, or all of them', () => {
  const at = (minutesAgo: number) => ({ at: new Date(Date.parse('2026-11-26T15:00:00Z') - minutesAgo * 60_000).toISOString() });
  const samples = [at(25 * 60), at(24 * 60), at(6 * 60 + 1), at(60), at(59), at(0)];
  assert.deepEqual(samplesWithin(samples, 'hour'), samples.slice(3));
  assert.deepEqual(samplesWithin(samples, '6h'), samples.slice(3));
  assert.deepEqual(samplesWithin(samples, '24h'), samples.slice(1));
  assert.deepEqual(samplesWithin(samples, 'all'), samples);
  assert.deepEqual(samplesWithin([], 'hour'), []);
});
