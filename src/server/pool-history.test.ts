import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import { PoolHistory } from './pool-history.ts';
import type { PoolSummary } from './pool-summary.ts';

const summary = (allocated: number): PoolSummary => ({
  total: { gpus: 16, allocated, idle: 16 - allocated, unavailable: 0, activeJobs: 1, queuedJobs: 0, queuedGpus: 0 },
  gpuTypes: [{ gpuType: 'h100', gpus: 16, allocated, idle: 16 - allocated, unavailable: 0 }],
  orgs: [],
  sites: [],
  lending: [],
});

function history(size: number, read: () => Promise<PoolSummary>) {
  let now = 0;
  const warnings: unknown[] = [];
  const logger = { warn: (o: unknown) => warnings.push(o) } as unknown as FastifyBaseLogger;
  const h = new PoolHistory({ read, clock: { now: () => (now += 60_000) }, logger, intervalMs: 60_000, size });
  return { h, warnings };
}

test('the ring keeps the newest samples, oldest first, each of all GPUs and per type', async () => {
  let allocated = 0;
  const { h } = history(3, () => Promise.resolve(summary(allocated++)));
  for (let i = 0; i < 5; i++) await h.sample();
  assert.deepEqual(h.samples().map((s) => [s.at / 60_000, s.allocated]), [[3, 2], [4, 3], [5, 4]]);
  assert.deepEqual(h.samples()[2]?.gpuTypes, [{ gpuType: 'h100', gpus: 16, allocated: 4 }]);
});

test('a failed read leaves a gap and a warning, never a rejection; samples asked for at once are one', async () => {
  let reads = 0;
  const { h, warnings } = history(10, () => (++reads === 1 ? Promise.reject(new Error('store down')) : Promise.resolve(summary(2))));
  await h.sample();
  assert.equal(h.samples().length, 0);
  assert.equal(warnings.length, 1);
  await Promise.all([h.sample(), h.sample()]);
  assert.equal(reads, 2, 'a sample under way is not read twice');
  assert.equal(h.samples().length, 1);
});

test('start takes the first sample before it resolves; stop is idempotent', async () => {
  const { h } = history(10, () => Promise.resolve(summary(1)));
  await h.start();
  assert.equal(h.samples().length, 1);
  await h.stop();
  await h.stop();
  assert.throws(() => history(0, () => Promise.resolve(summary(0))), /size must be a whole number/);
});
