import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { PoolSpec, SiteSpec } from '../../model/pool.ts';
import { Rng } from '../rng.ts';
import { DEFAULT_NATIONAL_PARAMS, nationalPool, parseNationalSpec, type NationalParams } from './national.ts';

/** GPUs per org, in org order. */
function orgGpus(pool: PoolSpec): number[] {
  const gpus = new Map<string, number>(pool.orgs.map((o) => [o.id, 0]));
  for (const s of pool.sites) gpus.set(s.org, (gpus.get(s.org) ?? 0) + s.nodes * s.gpusPerNode);
  return [...gpus.values()];
}
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
/** Share of all GPUs held by the largest tenth of the orgs. */
function topTenthShare(pool: PoolSpec): number {
  const sizes = orgGpus(pool).sort((a, b) => b - a);
  return sum(sizes.slice(0, Math.round(sizes.length / 10))) / sum(sizes);
}

test('the default national pool: 500,000 GPUs over 200 orgs of at most 16,384, several GPU types', () => {
  const pool = nationalPool(DEFAULT_NATIONAL_PARAMS, new Rng(7));
  const sizes = orgGpus(pool);
  assert.equal(sizes.length, 200);
  assert.equal(sum(sizes), 500_000, '500,000 is a whole number of 8-GPU nodes, so the total is exact');
  assert.ok(Math.max(...sizes) <= 16_384);
  assert.ok(Math.min(...sizes) >= 8);
  assert.ok(sizes.every((g) => g % 8 === 0), 'whole nodes');
  assert.ok(new Set(pool.sites.map((s) => s.gpuType)).size >= 3);
  assert.deepEqual(pool.orgs.slice(0, 2), [{ id: 'org-001' }, { id: 'org-002' }]);
  assert.equal(pool.orgs.at(-1)?.id, 'org-200');
  assert.ok(pool.sites.every((s) => s.id.startsWith(`${s.org}-s`) && s.share.lendFraction === 1 && s.share.reclaim));
  assert.ok(topTenthShare(pool) > 0.4, `top 10% hold ${topTenthShare(pool)}`);
});

test('org sizes are heavy-tailed across seeds, not just for one', () => {
  // With 200 orgs capped at 16,384 the top tenth can hold at most 65%; measured over
  // seeds 0–999 the share is 0.33–0.55 (median 0.44), so the median is the claim.
  const shares = Array.from({ length: 40 }, (_, seed) => topTenthShare(nationalPool(DEFAULT_NATIONAL_PARAMS, new Rng(seed)))).sort((a, b) => a - b);
  assert.ok((shares[20] ?? 0) > 0.4, `median top-10% share ${shares[20]}`);
  assert.ok((shares[0] ?? 0) > 0.3, `smallest top-10% share ${shares[0]}`);
});

test('big orgs run several sites of at most maxSiteGpus, each drawing its own GPU type', () => {
  const pool = nationalPool(DEFAULT_NATIONAL_PARAMS, new Rng(7));
  const byOrg = new Map<string, SiteSpec[]>();
  for (const s of pool.sites) byOrg.set(s.org, [...(byOrg.get(s.org) ?? []), s]);
  let split = 0;
  for (const [org, sites] of byOrg) {
    const gpus = sum(sites.map((s) => s.nodes * s.gpusPerNode));
    assert.ok(sites.every((s) => s.nodes * s.gpusPerNode <= 4096), org);
    assert.deepEqual(sites.map((s) => s.id), sites.map((_, i) => `${org}-s${i + 1}`));
    if (gpus > 2048) {
      split++;
      assert.ok(sites.length >= 2, `${org} with ${gpus} GPUs has ${sites.length} site(s)`);
      const nodes = sites.map((s) => s.nodes);
      assert.ok(Math.max(...nodes) - Math.min(...nodes) <= 1, 'near-equal sites');
    } else assert.equal(sites.length, 1);
  }
  assert.ok(split > 10, `${split} orgs are split`);
  assert.ok([...byOrg.values()].some((sites) => new Set(sites.map((s) => s.gpuType)).size > 1), 'some org mixes types');
});

test('deterministic per seed, different across seeds', () => {
  assert.deepEqual(nationalPool(DEFAULT_NATIONAL_PARAMS, new Rng(3)), nationalPool(DEFAULT_NATIONAL_PARAMS, new Rng(3)));
  assert.notDeepEqual(orgGpus(nationalPool(DEFAULT_NATIONAL_PARAMS, new Rng(3))), orgGpus(nationalPool(DEFAULT_NATIONAL_PARAMS, new Rng(4))));
  const oneType = nationalPool({ ...DEFAULT_NATIONAL_PARAMS, gpuTypeMix: [{ type: 'h100', weight: 1 }] }, new Rng(3));
  assert.deepEqual(orgGpus(oneType), orgGpus(nationalPool(DEFAULT_NATIONAL_PARAMS, new Rng(3))), 'the type mix does not move org sizes');
  assert.ok(oneType.sites.every((s) => s.gpuType === 'h100'));
});

test('the type mix follows its weights', () => {
  const pool = nationalPool({ ...DEFAULT_NATIONAL_PARAMS, orgs: 2000, gpus: 2_000_000, gpuTypeMix: [{ type: 'a', weight: 3 }, { type: 'b', weight: 1 }] }, new Rng(1));
  const a = pool.sites.filter((s) => s.gpuType === 'a').length / pool.sites.length;
  assert.ok(Math.abs(a - 0.75) < 0.03, `share of type a: ${a}`);
});

test('invariants hold for any feasible parameters', () => {
  const params = fc
    .record({
      orgs: fc.integer({ min: 1, max: 300 }),
      gpusPerNode: fc.constantFrom(1, 2, 4, 8),
      minOrgGpus: fc.integer({ min: 0, max: 64 }),
      maxOrgGpus: fc.integer({ min: 64, max: 20_000 }),
      alpha: fc.double({ min: 0.3, max: 4, noNaN: true }),
      fill: fc.double({ min: 0, max: 1, noNaN: true }),
      seed: fc.integer(),
    })
    .map(({ fill, seed, ...p }) => {
      const minNodes = Math.max(1, Math.ceil(p.minOrgGpus / p.gpusPerNode));
      const maxNodes = Math.floor(p.maxOrgGpus / p.gpusPerNode);
      const nodes = Math.round(p.orgs * (minNodes + fill * (maxNodes - minNodes)));
      return { seed, params: { ...DEFAULT_NATIONAL_PARAMS, ...p, gpus: nodes * p.gpusPerNode } satisfies NationalParams };
    });
  fc.assert(
    fc.property(params, ({ seed, params: p }) => {
      const pool = nationalPool(p, new Rng(seed));
      const sizes = orgGpus(pool);
      assert.equal(sizes.length, p.orgs);
      assert.equal(sum(sizes), p.gpus, 'exact: gpus is whole nodes here');
      for (const g of sizes) assert.ok(g >= Math.max(p.gpusPerNode, p.minOrgGpus) && g <= p.maxOrgGpus, `org of ${g}`);
      for (const s of pool.sites) {
        assert.ok(s.nodes >= 1 && s.gpusPerNode === p.gpusPerNode);
        assert.ok(s.nodes * s.gpusPerNode <= Math.max(p.maxSiteGpus, p.splitOrgsOverGpus));
      }
      assert.deepEqual(nationalPool(p, new Rng(seed)), pool);
    }),
    { numRuns: 200 },
  );
});

test('a total that is not whole nodes is rounded to the nearest node', () => {
  assert.equal(sum(orgGpus(nationalPool({ ...DEFAULT_NATIONAL_PARAMS, gpus: 10_003, orgs: 10 }, new Rng(1)))), 10_000);
  assert.equal(sum(orgGpus(nationalPool({ ...DEFAULT_NATIONAL_PARAMS, gpus: 10_005, orgs: 10 }, new Rng(1)))), 10_008);
});

test('impossible parameters are InvalidInputError naming the parameter', () => {
  /** The message of the error that these parameters raise. */
  const bad = (p: Partial<NationalParams>): string => {
    try {
      nationalPool({ ...DEFAULT_NATIONAL_PARAMS, ...p }, new Rng(1));
    } catch (err) {
      assert.equal((err as { field?: string }).field, 'pool');
      return (err as Error).message;
    }
    assert.fail('expected an error');
  };
  assert.match(bad({ gpus: 1000 }), /gpus: 1000 GPUs \(125 nodes of 8\) cannot go to 200 orgs of 8–16384 GPUs each/);
  assert.match(bad({ gpus: 5_000_000 }), /cannot go to 200 orgs/);
  assert.match(bad({ orgs: 0 }), /orgs: expected a whole number ≥ 1, got 0/);
  assert.match(bad({ alpha: 0 }), /alpha: expected a number > 0, got 0/);
  assert.match(bad({ lendFraction: 2 }), /lendFraction: expected a number from 0 to 1, got 2/);
  assert.match(bad({ gpuTypeMix: [] }), /gpuTypeMix: is empty/);
  assert.match(bad({ gpuTypeMix: [{ type: 'a', weight: 1 }, { type: 'a', weight: 2 }] }), /type "a" is empty or repeated/);
  assert.match(bad({ gpuTypeMix: [{ type: 'a', weight: 0 }] }), /gpuTypeMix: a has weight 0/);
  assert.match(bad({ maxSiteGpus: 4 }), /maxSiteGpus: expected a whole number ≥ 8, got 4/);
});

test('parseNationalSpec: every key optional, unknown keys and bad values named', () => {
  assert.deepEqual(parseNationalSpec('national'), { params: DEFAULT_NATIONAL_PARAMS });
  const { params, seed } = parseNationalSpec('national:gpus=100000,orgs=50,max=8192,min=16,alpha=0.9,lend=0.5,seed=7');
  assert.equal(seed, 7);
  assert.deepEqual(
    { gpus: params.gpus, orgs: params.orgs, max: params.maxOrgGpus, min: params.minOrgGpus, alpha: params.alpha, lend: params.lendFraction },
    { gpus: 100_000, orgs: 50, max: 8192, min: 16, alpha: 0.9, lend: 0.5 },
  );
  assert.equal(params.gpuTypeMix, DEFAULT_NATIONAL_PARAMS.gpuTypeMix);
  assert.throws(() => parseNationalSpec('national:gpu=5'), { code: 'invalid_input', field: 'pool', message: /unknown key "gpu" in "national:gpu=5"; accepted: national or national:KEY=VALUE,… with keys gpus, orgs, max, min, alpha, lend, seed/ });
  assert.throws(() => parseNationalSpec('national:orgs=1.5'), /pool: orgs: expected a whole number ≥ 1, got "1\.5"/);
  assert.throws(() => parseNationalSpec('national:gpus=lots'), /pool: gpus: expected a whole number ≥ 1, got "lots"/);
  assert.throws(() => parseNationalSpec('national:alpha=-1'), /pool: alpha: expected a number > 0, got "-1"/);
  assert.throws(() => parseNationalSpec('national:lend=1.5'), /pool: lend: expected a number ≥ 0 and ≤ 1, got "1\.5"/);
  assert.throws(() => parseNationalSpec('national:seed=x'), /pool: seed: expected a whole number, got "x"/);
  assert.throws(() => parseNationalSpec('national:seed'), /seed has no value/);
  assert.throws(() => parseNationalSpec('nationals'), /"nationals" is not a national pool/);
});
