// Golden-trace tests (STYLE.md §14): a fixed trace on a fixed pool, replayed under
// every policy, pooled and siloed, must give exactly the recorded outcomes. Any
// change to a decision — which job starts when and where, what is preempted, what
// a waiting job is told — changes a hash here.
//
// A performance change must leave every hash as it is. When a change of behaviour
// is intended, regenerate deliberately: run this file, check that the policies
// whose hashes moved are the ones the change meant to move (and say so in the
// commit), then paste the `got` values from the failure messages into GOLDEN.
// (The hashes cover JSON.stringify of each mode's JobOutcome list, wait_reason text included.)
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import type { JobSpec } from '../src/model/job.ts';
import type { PoolSpec } from '../src/model/pool.ts';
import { POLICY_NAMES, type PolicyName } from '../src/sched/policies/registry.ts';
import { job, pool, site } from '../src/sched/test-builders.ts';
import { runExperiment, type ExperimentResult } from '../src/sim/experiment.ts';
import { Rng } from '../src/sim/rng.ts';

/** Three orgs with different share policies: a big lender with notice, a small open one, a stingy one that never reclaims. */
const GOLDEN_POOL: PoolSpec = pool(
  site('alpha-h100').org('alpha').nodes(4).gpusPerNode(8).type('h100').lend(0.5).notice(300),
  site('alpha-a100').org('alpha').nodes(2).gpusPerNode(8).type('a100'),
  site('beta-h100').org('beta').nodes(2).gpusPerNode(8).type('h100'),
  site('gamma-a100').org('gamma').nodes(4).gpusPerNode(4).type('a100').lend(0.25).reclaim(false),
);

/**
 * 200 jobs from a fixed seed. Every drawn time is rounded to whole seconds so the
 * trace does not depend on the last bit of Math.log or Math.pow.
 */
function goldenJobs(): JobSpec[] {
  const rng = new Rng(20_240_607);
  const orgs = rng.fork('orgs');
  const sizes = rng.fork('sizes');
  const times = rng.fork('times');
  const traits = rng.fork('traits');
  const jobs: JobSpec[] = [];
  let t = 0;
  for (let i = 0; i < 200; i++) {
    t += Math.round(times.exponential(240));
    const duration = Math.max(30, Math.min(86_400, Math.round(times.pareto(300, 1.1))));
    const estimate = traits.next() < 0.8 ? duration : Math.round(duration * traits.pick([0.5, 2, 4]));
    jobs.push(
      job(`g${i}`)
        .org(orgs.pick(['alpha', 'alpha', 'beta', 'beta', 'gamma', 'delta']))
        .gpus(sizes.pick([1, 1, 1, 2, 2, 4, 4, 8, 8, 16, 24, 32]), ...traits.pick<string[]>([[], [], [], ['h100'], ['a100'], ['h100', 'a100']]))
        .at(t)
        .runs(duration)
        .estimate(estimate)
        .checkpoint(traits.pick([3600, 3600, 600, null]))
        .priority(traits.int(0, 2))
        .preemptible(traits.next() < 0.9)
        .build(),
    );
  }
  return jobs;
}

const run = (policy: PolicyName): ExperimentResult => runExperiment({ pool: GOLDEN_POOL, jobs: goldenJobs(), scheduler: { policy }, modes: ['pooled', 'siloed'] });

const sha256 = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex');

/**
 * sha256 of JSON.stringify(outcomes), per policy and mode. Regenerated deliberately when
 * outcomes gained failed_gpu_s and passes learned arrival-only mode and wake-ups. See the top of the file before changing one.
 */
const GOLDEN: Record<PolicyName, { pooled: string; siloed: string }> = {
  fifo: {
    pooled: 'bef7eb40072aa0224560cec4a20f11e17a0fbd6a0f72489ca2fbc3e5b2c03261',
    siloed: '174db11c6cd51a758d8e09a0086ae0a02f7cc878f5f351048080cea821d484aa',
  },
  sjf: {
    pooled: '040948aa383cc4fb449e7ef65d9e866c2be04e2ed6f8d16baf3757e460370319',
    siloed: '6706e9d4001f3cac0a6c5b9aa7edb734e601bfb1c42bf71fddf35fe2558c5e74',
  },
  srtf: {
    pooled: '79bfd1b2d3d19438a9c4156f8ec717da2a52808c1cfc173a4f2815438f8875cb',
    siloed: '72d7bdf0530d276936c8b2420c8a35b0b4e8145f011a7d86daefa6f5a6ab53cf',
  },
  las: {
    pooled: '01603251e2f5c07f87799f840f1e45846571c99421c5aba40319d269f5cea6cc',
    siloed: '98be0e08195fe4a1e0c0cf848fbf1a812334b9bfd3f589458d003f9494b6671e',
  },
  'fair-share': {
    // Pooled moved when an org's waiting job that borrowers alone cannot make room for came to hold its own site (issue 18).
    pooled: 'b77467a36fafdace88ee546bfa93118515618150860123f89297814f69ab91a5',
    siloed: 'afa911522a2fabdfeb3a7036a9c0340a238edcbde417a48d029031d8213a464f',
  },
  'fair-srtf': {
    pooled: '960395100cfab77518def558e00fcb278e9422e31e0ddd6294e05cdf1584710a',
    // Alone, an org's share is its whole cluster: shortest remaining first inside it, as SRTF siloed.
    siloed: '72d7bdf0530d276936c8b2420c8a35b0b4e8145f011a7d86daefa6f5a6ab53cf',
  },
};

test('the golden trace is the one the hashes were recorded from', () => {
  const jobs = goldenJobs();
  assert.equal(jobs.length, 200);
  assert.equal(sha256(jobs), 'd92413197b8021d4ea8d1509240cfbac64706f0c23266eb42f7ef6fd49b8a984');
});

for (const policy of POLICY_NAMES) {
  test(`${policy}: the golden trace gives the recorded outcomes, pooled and siloed`, () => {
    const result = run(policy);
    const got = { pooled: '', siloed: '' };
    for (const mode of ['pooled', 'siloed'] as const) {
      const outcomes = result[mode]?.simulation.outcomes;
      assert.ok(outcomes, `${mode} ran`);
      assert.equal(outcomes.length, 200);
      got[mode] = sha256(outcomes);
    }
    assert.deepEqual(got, GOLDEN[policy], `${policy}: got ${JSON.stringify(got)}`);
  });
}

test('the same golden run twice gives identical results', () => {
  for (const policy of POLICY_NAMES) {
    const a = run(policy);
    const b = run(policy);
    for (const mode of ['pooled', 'siloed'] as const) {
      assert.deepEqual(b[mode]?.simulation.outcomes, a[mode]?.simulation.outcomes, `${policy} ${mode} outcomes`);
      assert.deepEqual(b[mode]?.summary, a[mode]?.summary, `${policy} ${mode} summary`);
      assert.deepEqual([...(b[mode]?.simulation.allocation.gpus ?? [])], [...(a[mode]?.simulation.allocation.gpus ?? [])], `${policy} ${mode} allocation`);
    }
    assert.deepEqual(b.fairness, a.fairness, `${policy} fairness`);
  }
});
