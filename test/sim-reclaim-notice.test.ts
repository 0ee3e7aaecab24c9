// The simulator and the reclaim notice: a borrower told to stop keeps running
// until its notice runs out, and the run may finish before that.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { job, pool, site } from '../src/sched/test-builders.ts';
import { simulate } from '../src/sim/engine.ts';

// a1 reclaims with 600 s notice. b's second job borrows a1; a's job arrives at 900, when the
// borrower has 100 s left. The idle A100 site (which the H100 jobs cannot use) keeps the pool
// from being full, so the owner's job is tried at once.
const reclaimPool = pool(site('a1').org('a').notice(600), site('b1').org('b'), site('z1').org('z').type('a100'));
/** The three jobs, the borrower running `borrowerS` seconds. */
const jobs = (borrowerS: number) => [
  job('b-long').org('b').gpus(8, 'h100').at(0).runs(10_000).build(),
  job('b-borrower').org('b').gpus(8, 'h100').at(0).runs(borrowerS).build(),
  job('a-owner').org('a').gpus(8, 'h100').at(900).runs(500).build(),
];

test('a borrower is stopped when its reclaim notice runs out, losing the work since its checkpoint', () => {
  const sim = simulate({ pool: reclaimPool, jobs: jobs(5000), scheduler: { policy: 'fair-share' } });
  const byId = new Map(sim.outcomes.map((o) => [o.id, o]));
  assert.equal(sim.decisions.preemptions, 1);
  assert.equal(byId.get('b-borrower')?.preemptions, 1);
  assert.equal(byId.get('b-borrower')?.lost_gpu_s, 1500 * 8, 'ran 900 s, then 600 s of notice; no checkpoint reached');
  assert.equal(byId.get('a-owner')?.start_s, 1500, 'the owner starts when the notice runs out');
  assert.equal(byId.get('a-owner')?.site, 'a1');
});

test('a borrower that finishes during its reclaim notice is done, not preempted', () => {
  const sim = simulate({ pool: reclaimPool, jobs: jobs(1000), scheduler: { policy: 'fair-share' } });
  const byId = new Map(sim.outcomes.map((o) => [o.id, o]));
  const borrower = byId.get('b-borrower');
  assert.equal(borrower?.site, 'a1');
  assert.equal(borrower?.end_s, 1000, 'it ran its 1,000 s before the notice ran out at 1,500');
  assert.equal(borrower?.preemptions, 0);
  assert.equal(borrower?.lost_gpu_s, 0);
  assert.equal(byId.get('a-owner')?.start_s, 1000, 'the owner starts as soon as its GPUs are free');
});

test('with backfill, a borrower whose GPUs were reclaimed does not reserve them against the owner (no deadlock)', () => {
  // Found by the conformance suite: the borrower, ranked first, failed on the held site and got the backfill
  // reservation there; the owner's job then failed on "reserved", and neither ever started.
  const p = pool(site('s0').org('a').nodes(1).gpusPerNode(1).lend(0), site('s1').org('c').nodes(2).gpusPerNode(8).lend(0.5).notice(600));
  const sim = simulate({
    pool: p,
    jobs: [
      job('j0').org('c').gpus(9).at(0).runs(1).build(),
      job('j1').org('a').gpus(8).at(0).runs(601).build(),
      job('j2').org('a').gpus(1).at(0).runs(1).build(),
    ],
    scheduler: { policy: 'fair-share', backfill: true },
  });
  const byId = new Map(sim.outcomes.map((o) => [o.id, o]));
  assert.deepEqual(sim.outcomes.map((o) => o.status), ['done', 'done', 'done']);
  assert.equal(byId.get('j0')?.start_s, 600, 'the owner starts when the notice runs out');
  assert.equal(byId.get('j1')?.preemptions, 1);
});
