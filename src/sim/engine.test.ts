import assert from 'node:assert/strict';
import { test } from 'node:test';
import { job, pool, site, wan } from '../sched/test-builders.ts';
import { simulate } from './engine.ts';

test('a spanning job runs at its ring efficiency: it ends after duration ÷ efficiency', () => {
  // testSpan: a sync is 2 steps of 0.5 GB over 0.1 Gb/s = 80 s after 100 s of compute → 100 / 180.
  const p = { ...pool(site('a1'), site('b1')), links: wan('a1-b1:0.1:0') };
  const sim = simulate({ pool: p, jobs: [job('big').org('c').gpus(16).runs(1800).spans({ minEfficiency: 0.5 }).build()], scheduler: { policy: 'fifo' } });
  const o = sim.outcomes[0];
  assert.equal(o?.status, 'done');
  assert.ok(Math.abs((o?.end_s ?? 0) - 1800 / (100 / 180)) < 1e-6, `ended at ${o?.end_s}`);
});

test("a spanning job shrunk by an owner's reclaim with notice finishes later, with no work lost", () => {
  const p = { ...pool(site('a1').notice(300), site('b1'), site('d1')), links: wan('a1-b1:10:0', 'b1-d1:10:0', 'a1-d1:10:0') };
  const jobs = [job('big').org('c').gpus(24).runs(10_000).spans({ minEfficiency: 0.5 }).build(), job('owner').org('a').gpus(8).at(1000).runs(100).build()];
  const sim = simulate({ pool: p, jobs, scheduler: { policy: 'fair-share' } });
  const [big, owner] = sim.outcomes;
  assert.equal(sim.decisions.shrinks, 1);
  assert.equal(big?.preemptions, 0);
  assert.equal(big?.lost_gpu_s, 0);
  assert.equal(owner?.start_s, 1300, 'the owner starts when the notice ends');
  // 1300 s on three sites at 95% (the bandwidth it holds is what brings it there), then the rest on two thirds of its GPUs.
  const expected = 1300 + (10_000 - 1300 * 0.95) / (0.95 * (16 / 24));
  assert.ok(Math.abs((big?.end_s ?? 0) - expected) < 1e-6, `ended at ${big?.end_s}, expected ${expected}`);
});

test('on a pool of mixed GPU generations a job runs 1/speed as long on a slower type, and a spanning job at its slowest part', () => {
  const p = { ...pool(site('a1').type('h100'), site('b1').type('a100'), site('c1').type('a100')), links: wan('a1-b1:1000:0', 'b1-c1:1000:0', 'a1-c1:1000:0'), gpuSpeeds: { a100: 0.5 } };
  const jobs = [
    job('fast').org('a').gpus(8).types('h100').runs(1000).build(),
    job('slow').org('b').gpus(8).types('a100').runs(1000).build(),
    job('wide').org('c').gpus(16).at(10).types('h100', 'a100').runs(1000).spans({ minEfficiency: 0.1 }).build(),
  ];
  const sim = simulate({ pool: p, jobs, scheduler: { policy: 'fifo' } });
  const end = (id: string) => sim.outcomes.find((o) => o.id === id)?.end_s;
  assert.equal(end('fast'), 1000);
  assert.equal(end('slow'), 2000, 'an A100 at half an H100 takes twice as long');
  // The wide job waits for a1 (c1 alone is too small), then spans a1 and c1 at its ring's 95% and the A100's half speed.
  const wide = sim.outcomes.find((o) => o.id === 'wide');
  assert.equal(wide?.start_s, 1000);
  const expected = 1000 + 1000 / (0.95 * 0.5);
  assert.ok(Math.abs((wide?.end_s ?? 0) - expected) < 1e-6, `ended at ${wide?.end_s}, expected ${expected} (paced by its slowest part)`);
});
