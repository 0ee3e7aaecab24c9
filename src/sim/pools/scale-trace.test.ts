import assert from 'node:assert/strict';
import { test } from 'node:test';
import { orgId, siteId } from '../../model/ids.ts';
import type { JobSpec } from '../../model/job.ts';
import { DEFAULT_SHARE_POLICY, type PoolSpec } from '../../model/pool.ts';
import { Rng } from '../rng.ts';
import { DEFAULT_NATIONAL_PARAMS, nationalPool } from './national.ts';
import { scaleTraceToPool } from './scale-trace.ts';
import { jobs, type JobRow } from './test-jobs.ts';

const DAY = 86_400;

/** A base trace of `n` jobs over one day in whole seconds: 1–32 GPUs, 10 min – 4 h. */
function baseTrace(n: number, seed: number, sizes: readonly number[] = [1, 1, 2, 4, 8, 16, 32]): JobSpec[] {
  const rng = new Rng(seed);
  return jobs(Array.from({ length: n }, (): JobRow => ['base', rng.pick(sizes), rng.int(0, DAY - 1), rng.int(600, 4 * 3600)]));
}

/** A pool of one single-site org per entry of `gpus`, named o1, o2, … */
function poolOf(...gpus: number[]): PoolSpec {
  const orgs = gpus.map((_, i) => orgId(`o${i + 1}`));
  return {
    orgs: orgs.map((id) => ({ id })),
    sites: gpus.map((g, i) => ({ id: siteId(`o${i + 1}-s1`), org: orgs[i] ?? orgId(''), nodes: g / 8, gpusPerNode: 8, gpuType: 'gpu', share: DEFAULT_SHARE_POLICY })),
  };
}

const workOf = (js: readonly JobSpec[], org: string): number => js.filter((j) => j.org === org).reduce((a, j) => a + j.gpus * j.durationS, 0);

test('each org gets work near targetLoad × its GPUs × span', () => {
  const base = baseTrace(3000, 1);
  const pool = nationalPool({ ...DEFAULT_NATIONAL_PARAMS, gpus: 40_000, orgs: 30, minOrgGpus: 256, maxOrgGpus: 8192 }, new Rng(2));
  const { jobs: out, perOrg } = scaleTraceToPool(base, pool, { targetLoad: 0.7, spanS: DAY }, new Rng(3));
  assert.equal(perOrg.length, 30);
  for (const o of perOrg) {
    const work = workOf(out, o.org);
    assert.equal(work, o.gpuSeconds);
    assert.equal(o.targetGpuSeconds, 0.7 * o.gpus * DAY);
    assert.ok(Math.abs(work / o.targetGpuSeconds - 1) < 0.1, `${o.org} with ${o.gpus} GPUs: ${work} vs ${o.targetGpuSeconds}`);
    assert.ok(work >= o.targetGpuSeconds, 'stops only once the target is reached');
  }
  assert.ok(perOrg.some((o) => o.copies > 1), 'big orgs need several copies of the base');
});

test('jobs are sorted by submit time within the span, ids say org, base job and copy', () => {
  const base = baseTrace(500, 4);
  const { jobs: out } = scaleTraceToPool(base, poolOf(64, 512), { targetLoad: 0.8 }, new Rng(5));
  const t0 = Math.min(...base.map((j) => j.submitS));
  const span = Math.max(...base.map((j) => j.submitS + j.durationS)) - t0;
  const byId = new Map(base.map((j) => [j.id, j]));
  for (let i = 0; i < out.length; i++) {
    const j = out[i] as JobSpec;
    if (i > 0) assert.ok(j.submitS >= (out[i - 1]?.submitS ?? 0));
    assert.ok(j.submitS >= t0 && j.submitS < t0 + span);
    assert.ok(Number.isInteger(j.submitS), 'whole-second offsets keep whole-second times');
    const [org, baseId, copy] = j.id.split('/');
    assert.equal(org, j.org);
    const b = byId.get(baseId as JobSpec['id']);
    assert.ok(b && Number(copy) >= 1);
    assert.deepEqual({ ...j, id: b.id, org: b.org, submitS: b.submitS }, b, 'everything but id, org and submit time is the base job');
  }
  assert.equal(new Set(out.map((j) => j.id)).size, out.length, 'ids are unique');
});

test('same seed, same trace; another seed, another trace; orgs do not disturb each other', () => {
  const base = baseTrace(400, 6);
  const pool = poolOf(64, 256, 1024);
  const a = scaleTraceToPool(base, pool, { targetLoad: 0.5 }, new Rng(9));
  assert.deepEqual(scaleTraceToPool(base, pool, { targetLoad: 0.5 }, new Rng(9)), a);
  assert.notDeepEqual(scaleTraceToPool(base, pool, { targetLoad: 0.5 }, new Rng(10)).jobs, a.jobs);
  const fewer = scaleTraceToPool(base, poolOf(64, 256), { targetLoad: 0.5 }, new Rng(9));
  assert.deepEqual(fewer.jobs.filter((j) => j.org === 'o2'), a.jobs.filter((j) => j.org === 'o2'));
});

test('a base job larger than an org is skipped for that org and counted', () => {
  const base = jobs([
    ['x', 8, 0, 3600],
    ['x', 128, 100, 3600],
    ['x', 16, 200, 3600],
    ['x', 64, 300, 3600],
  ]);
  const { jobs: out, perOrg, notes } = scaleTraceToPool(base, poolOf(16, 256), { targetLoad: 0.5, spanS: 10 * 3600 }, new Rng(1));
  assert.deepEqual(perOrg.map((o) => [o.org, o.oversize]), [['o1', 2], ['o2', 0]]);
  assert.ok(out.filter((j) => j.org === 'o1').every((j) => j.gpus <= 16));
  assert.ok(out.some((j) => j.org === 'o2' && j.gpus === 128));
  assert.match(notes.join('\n'), /2 \(org, base job\) pairs skipped in 1 orgs because the job is larger than the org's own GPUs/);
});

test('an org that no base job fits gets nothing, and the notes say so', () => {
  const { perOrg, notes } = scaleTraceToPool(jobs([['x', 32, 0, 60]]), poolOf(8, 64), { targetLoad: 0.8 }, new Rng(1));
  assert.deepEqual(perOrg.map((o) => o.jobs > 0), [false, true]);
  assert.match(notes.join('\n'), /no base job fits \(or has work\) for 1 orgs: o1/);
});

test('bad parameters are InvalidInputError', () => {
  const base = baseTrace(10, 1);
  assert.throws(() => scaleTraceToPool([], poolOf(8), { targetLoad: 0.8 }, new Rng(1)), { code: 'invalid_input', field: 'trace' });
  assert.throws(() => scaleTraceToPool(base, poolOf(8), { targetLoad: 0 }, new Rng(1)), { field: 'load' });
  assert.throws(() => scaleTraceToPool(base, poolOf(8), { targetLoad: 0.8, spanS: 0 }, new Rng(1)), { field: 'span' });
});

test('a base trace scales to over a million jobs for the national pool at load 0.8', () => {
  // 10,000 base jobs of 1–8 GPUs over a day; at load 0.8 the 500,000-GPU pool needs ~1.05M of them.
  // (How long this takes is measured by `npm run bench -- simulate`, not here: tests are not timed.)
  const rng = new Rng(1);
  const base = jobs(Array.from({ length: 10_000 }, (): JobRow => ['x', rng.pick([1, 2, 4, 8]), rng.int(0, DAY - 1), rng.int(600, 16_600)]));
  const pool = nationalPool(DEFAULT_NATIONAL_PARAMS, new Rng(7));
  const count = scaleTraceToPool(base, pool, { targetLoad: 0.8, spanS: DAY }, new Rng(3)).jobs.length;
  assert.ok(count > 1_000_000 && count < 1_100_000, `${count} jobs`);
});
