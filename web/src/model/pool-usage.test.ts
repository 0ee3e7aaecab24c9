import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appendSample, currentPlacement, poolUsage, utilization } from './pool-usage.ts';
import { holding, site } from './test-data.ts';

test('allocated GPUs are counted per site and type from the current placements; the rest is idle', () => {
  const sites = [site('a', 'acme', { h100: [2, 8], a100: [1, 4] }), site('b', 'beta', { h100: [1, 8] })];
  const usage = poolUsage(sites, [holding('1', 'acme', [['a', 'h100', 6]]), holding('2', 'beta', [['a', 'h100', 4], ['b', 'h100', 8]])]);
  assert.deepEqual(
    usage.sites.map((r) => [r.siteId, r.gpuType, r.capacity, r.allocated, r.idle]),
    [['a', 'h100', 16, 10, 6], ['a', 'a100', 4, 0, 4], ['b', 'h100', 8, 8, 0]],
  );
  assert.deepEqual(usage.total, { capacity: 28, allocated: 18, idle: 10, unavailable: 0 });
  assert.equal(utilization(usage.total), 18 / 28);
  assert.deepEqual(usage.orgs, [
    { orgId: 'acme', capacity: 20, allocated: 10, idle: 10, unavailable: 0, heldByJobs: 6 },
    { orgId: 'beta', capacity: 8, allocated: 8, idle: 0, unavailable: 0, heldByJobs: 12 },
  ]);
  assert.deepEqual(usage.gpuTypes.map((g) => [g.gpuType, g.capacity, g.allocated]), [['a100', 4, 0], ['h100', 24, 18]]);
  assert.equal(usage.elsewhere, 0);
});

test('a lost site’s free GPUs are unavailable, not idle', () => {
  const usage = poolUsage([site('a', 'acme', { h100: [1, 8] }, { health: 'lost' })], [holding('1', 'acme', [['a', 'h100', 2]])]);
  assert.deepEqual(usage.total, { capacity: 8, allocated: 2, idle: 0, unavailable: 6 });
});

test('GPUs held on sites the caller cannot see are what it borrows: counted apart', () => {
  const usage = poolUsage([site('a', 'acme', { h100: [1, 8] })], [holding('1', 'acme', [['a', 'h100', 2], ['elsewhere', 'h100', 8]])]);
  assert.equal(usage.elsewhere, 8);
  assert.equal(usage.total.allocated, 2);
  assert.equal(usage.orgs[0]?.heldByJobs, 10);
});

test('only placed and running jobs hold GPUs, and only in a placement that has not ended', () => {
  const ended = holding('1', 'acme', [['a', 'h100', 2]]);
  const requeued = holding('2', 'acme', [['a', 'h100', 4]], { state: 'pending' });
  const finished = { ...ended, placements: ended.placements.map((p) => ({ ...p, ended_at: p.placed_at })) };
  assert.equal(currentPlacement(finished), undefined);
  const usage = poolUsage([site('a', 'acme', { h100: [1, 8] })], [finished, requeued]);
  assert.equal(usage.total.allocated, 0);
});

test('the utilization series keeps the newest samples', () => {
  let samples = appendSample([], { at: 1, allocated: 0, capacity: 8 }, 2);
  samples = appendSample(samples, { at: 2, allocated: 4, capacity: 8 }, 2);
  samples = appendSample(samples, { at: 3, allocated: 8, capacity: 8 }, 2);
  assert.deepEqual(samples.map((s) => s.at), [2, 3]);
  assert.equal(utilization({ capacity: 0, allocated: 0, idle: 0, unavailable: 0 }), 0);
});
