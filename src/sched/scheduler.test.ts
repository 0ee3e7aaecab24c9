import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { JobSpec } from '../model/job.ts';
import type { PoolSpec } from '../model/pool.ts';
import { describeDiagnosis } from './diagnosis.ts';
import { POLICY_NAMES, UNKNOWN_DURATION_S, type PolicyName } from './policies/registry.ts';
import { Scheduler, type Decision, type SchedulerOptions } from './scheduler.ts';
import type { JobRecord } from './state.ts';
import { job, JobBuilder, pool, site } from './test-builders.ts';

/**
 * Drives a Scheduler by hand, as a driver would: submit, pass, and tell it what
 * happened. Decisions read as "start j1" / "preempt j0 at 140 (reclaim)".
 */
class Run {
  readonly sched: Scheduler;
  private readonly byId = new Map<string, JobRecord>();

  constructor(p: PoolSpec, options: Partial<SchedulerOptions> & Pick<SchedulerOptions, 'policy'>) {
    this.sched = new Scheduler(p, options);
  }

  submit(...jobs: (JobSpec | JobBuilder)[]): this {
    for (const j of jobs) {
      const r = this.sched.submit(j instanceof JobBuilder ? j.build() : j);
      this.byId.set(r.spec.id, r);
    }
    return this;
  }

  job(id: string): JobRecord {
    const r = this.byId.get(id);
    assert.ok(r, `no job ${id}`);
    return r;
  }

  pass(now: number): string[] {
    return this.sched.pass(now).map(show);
  }

  /** Why the job waits, as the CLI shows it. */
  why(id: string): string | undefined {
    const d = this.sched.diagnosis(this.job(id));
    return d === undefined ? undefined : describeDiagnosis(d);
  }

  /** Why the job cannot start now, computed afresh (for jobs a pass skipped as larger than any free space). */
  explain(id: string, now: number): string | undefined {
    const d = this.sched.explain(this.job(id), now);
    return d === undefined ? undefined : describeDiagnosis(d);
  }

  /** The site the job runs on, or null. */
  siteOf(id: string): string | null {
    const part = this.job(id).allocation?.parts[0];
    return part === undefined ? null : (this.sched.state.sites[part.site]?.spec.id ?? null);
  }

  finish(id: string, now: number): this {
    this.sched.finish(this.job(id), now);
    return this;
  }
}

function show(d: Decision): string {
  return d.kind === 'start' ? `start ${d.job.spec.id}` : `preempt ${d.job.spec.id} at ${d.atS} (${d.why})`;
}

/**
 * An idle A100 site nobody's H100 jobs can use. Tests of a preemption rule's
 * mechanics add it so that the pool is not full (see the "no GPU is free anywhere"
 * tests for the full pool).
 */
const spareA100 = site('z1').org('z').type('a100');

// --- strict and skipping orders ---------------------------------------------------------

test('FIFO is strict: a big head job blocks smaller ones behind it, which wait behind it', () => {
  const run = new Run(pool(site('a1').org('a')), { policy: 'fifo' });
  run.submit(job('j0').org('a').gpus(6).at(0).runs(1000));
  assert.deepEqual(run.pass(0), ['start j0']);
  run.submit(job('j1').org('a').gpus(4).at(10));
  assert.deepEqual(run.pass(10), []);
  run.submit(job('j2').org('a').gpus(1).at(20));
  assert.deepEqual(run.pass(20), [], 'j2 would fit in the 2 free GPUs, but FIFO does not skip j1');
  assert.equal(run.why('j1'), '0/1 site fit: 1 too few free GPUs');
  assert.equal(run.why('j2'), 'waiting behind j1 (strict queue order)');
  assert.equal(run.sched.explain(run.job('j2'), 20)?.blockedBy, 'j1', 'explain agrees');
  run.finish('j0', 1000);
  assert.deepEqual(run.pass(1000), ['start j1', 'start j2']);
});

test('SJF starts the shortest job first', () => {
  const run = new Run(pool(site('a1').org('a')), { policy: 'sjf' });
  run.submit(job('long').org('a').gpus(8).runs(1000), job('short').org('a').gpus(8).runs(100));
  assert.deepEqual(run.pass(0), ['start short']);
  run.finish('short', 100);
  assert.deepEqual(run.pass(100), ['start long']);
});

test('SJF skips a job that does not fit and starts a smaller one behind it', () => {
  const run = new Run(pool(site('a1').org('a')), { policy: 'sjf' });
  run.submit(job('hog').org('a').gpus(6).runs(5000));
  assert.deepEqual(run.pass(0), ['start hog']);
  run.submit(job('big').org('a').gpus(4).at(10).runs(10), job('small').org('a').gpus(1).at(10).runs(20));
  assert.deepEqual(run.pass(10), ['start small'], 'big is shorter but does not fit in the 2 free GPUs');
  assert.equal(run.explain('big', 10), '0/1 site fit: 1 too few free GPUs');
});

test('SJF starts a multi-node job that fits although a smaller one-node job is held up by split free GPUs', () => {
  const run = new Run(pool(site('a1').org('a').nodes(2).gpusPerNode(4)), { policy: 'sjf' });
  run.submit(job('x').org('a').gpus(3).runs(10), job('y').org('a').gpus(3).runs(10), job('p').org('a').gpus(1).runs(9000), job('q').org('a').gpus(1).runs(9000));
  assert.deepEqual(run.pass(0), ['start x', 'start y', 'start p', 'start q']);
  run.finish('x', 10).finish('y', 10);
  assert.deepEqual([...(run.sched.state.sites[0]?.nodeFree ?? [])], [3, 3], 'one GPU taken on each node');
  run.submit(job('four').org('a').gpus(4).at(10).runs(100), job('five').org('a').gpus(5).at(10).runs(200));
  // four cannot start (no node has 4 free); five spans both nodes and fits.
  assert.deepEqual(run.pass(10), ['start five']);
  assert.equal(run.why('four'), '0/1 site fit: 1 free GPUs split across nodes');
});

// --- EASY backfill ------------------------------------------------------------------------

/** j0 holds 6 of 8 GPUs until 1000; `head` needs all 8, so it is reserved the site from 1000 on. */
function backfillRun(): Run {
  const run = new Run(pool(site('a1').org('a')), { policy: 'fifo', backfill: true });
  run.submit(job('j0').org('a').gpus(6).at(0).runs(1000));
  assert.deepEqual(run.pass(0), ['start j0']);
  return run.submit(job('head').org('a').gpus(8).at(1).runs(100));
}

test('EASY backfill starts a short job that ends before the head’s shadow time, not a long one that would delay it', () => {
  const run = backfillRun().submit(job('short').org('a').gpus(1).at(2).runs(500), job('long').org('a').gpus(1).at(3).runs(5000));
  assert.deepEqual(run.pass(3), ['start short']);
  assert.equal(run.why('head'), '0/1 site fit: 1 too few free GPUs');
  assert.equal(run.why('long'), '0/1 site fit: 1 GPUs reserved for an earlier job (backfill)');
  run.finish('short', 503).finish('j0', 1000);
  assert.deepEqual(run.pass(1000), ['start head'], 'the head starts at its shadow time, undelayed');
});

test('EASY backfill starts a short job even when a long job of the same shape is ahead of it', () => {
  const run = backfillRun().submit(job('long').org('a').gpus(1).at(2).runs(5000), job('short').org('a').gpus(1).at(3).runs(500));
  assert.deepEqual(run.pass(3), ['start short']);
  assert.equal(run.why('long'), '0/1 site fit: 1 GPUs reserved for an earlier job (backfill)');
});

test('backfill uses GPUs the reserved job leaves over, whatever the run time', () => {
  const run = new Run(pool(site('a1').org('a')), { policy: 'fifo', backfill: true });
  run.submit(job('j0').org('a').gpus(6).runs(1000));
  assert.deepEqual(run.pass(0), ['start j0']);
  run.submit(job('head').org('a').gpus(6).at(1), job('long').org('a').gpus(2).at(2).runs(5000));
  assert.deepEqual(run.pass(2), ['start long'], 'at 1000 the head needs 6 of the 8: 2 are spare');
});

// --- preemption: SRTF and LAS -------------------------------------------------------------

test('SRTF preempts a running job with more remaining time than the waiting one', () => {
  const run = new Run(pool(site('a1').org('a'), spareA100), { policy: 'srtf' });
  run.submit(job('j0').org('a').gpus(8, 'h100').runs(10_000));
  assert.deepEqual(run.pass(0), ['start j0']);
  run.submit(job('j1').org('a').gpus(4, 'h100').at(100).runs(500));
  assert.deepEqual(run.pass(100), ['preempt j0 at 100 (priority)', 'start j1']);
  const j0 = run.job('j0');
  assert.equal(j0.phase, 'queued');
  assert.equal(j0.preemptions, 1);
  assert.equal(j0.lostGpuS, 800, '100 s on 8 GPUs, no checkpoint reached');
  assert.equal(j0.remainingEstimateS, 10_000);
  assert.equal(run.siteOf('j1'), 'a1');
});

test('SRTF does not preempt a job with less remaining time, nor a non-preemptible one', () => {
  const run = new Run(pool(site('a1').org('a'), site('a2').org('a'), spareA100), { policy: 'srtf' });
  run.submit(job('soon').org('a').gpus(8, 'h100').runs(1000), job('pinned').org('a').gpus(8, 'h100').runs(50_000).preemptible(false));
  assert.deepEqual(run.pass(0), ['start soon', 'start pinned']);
  run.submit(job('later').org('a').gpus(4, 'h100').at(100).runs(5000));
  assert.deepEqual(run.pass(100), [], 'soon has 900 s left, pinned may not be stopped');
  assert.equal(run.why('later'), '0/3 sites fit: 2 too few free GPUs, 1 GPU type not allowed');
});

test('SRTF preempts a running job with more remaining time even when no GPU is free anywhere', () => {
  const run = new Run(pool(site('a1').org('a')), { policy: 'srtf' });
  run.submit(job('j0').org('a').gpus(8).runs(10_000));
  assert.deepEqual(run.pass(0), ['start j0']);
  run.submit(job('j1').org('a').gpus(4).at(100).runs(500));
  assert.deepEqual(run.pass(100), ['preempt j0 at 100 (priority)', 'start j1']);
});

test('SRTF preempts a borrower only when that frees room under the owner’s limit for the waiting job’s org', () => {
  // b1 lets each borrowing org hold 4 GPUs: org a's waiting job needs a's own running job stopped, not c's.
  const run = new Run(pool(site('b1').org('b').borrowerLimit(4), spareA100), { policy: 'srtf' });
  run.submit(job('c-long').org('c').gpus(4, 'h100').runs(30_000), job('a-long').org('a').gpus(4, 'h100').runs(10_000));
  assert.deepEqual(run.pass(0), ['start a-long', 'start c-long']);
  run.submit(job('a-short').org('a').gpus(4, 'h100').at(10).runs(100));
  // c-long has the most remaining time, but stopping it would leave org a at its limit.
  assert.deepEqual(run.pass(10), ['preempt a-long at 10 (priority)', 'start a-short']);
});

test('whatever the policy and the load, no borrowing org exceeds an owner’s limits, and none borrows where it is not lent to', () => {
  fc.assert(
    fc.property(
      fc.constantFrom<PolicyName>(...POLICY_NAMES),
      fc.array(fc.record({ org: fc.constantFrom('a', 'b', 'c'), nodes: fc.integer({ min: 1, max: 3 }), limit: fc.option(fc.integer({ min: 1, max: 16 })), lendTo: fc.constantFrom<'all' | 'none' | string[]>('all', 'none', ['a'], ['b', 'c']) }), { minLength: 1, maxLength: 5 }),
      fc.array(fc.record({ org: fc.constantFrom('a', 'b', 'c', 'd'), gpus: fc.integer({ min: 1, max: 12 }), at: fc.integer({ min: 0, max: 50 }), runs: fc.integer({ min: 1, max: 200 }) }), { minLength: 1, maxLength: 25 }),
      (policy, sites, jobs) => {
        const specs = sites.map((x, i) => {
          const b = site(`${x.org}${i}`).org(x.org).nodes(x.nodes).lendTo(x.lendTo);
          return (x.limit === null ? b : b.borrowerLimit(x.limit)).build();
        });
        const run = new Run(pool(...specs), { policy });
        jobs.forEach((j, i) => run.submit(job(`j${i}`).org(j.org).gpus(j.gpus).at(j.at).runs(j.runs)));
        for (let now = 0; now <= 60; now += 10) {
          run.pass(now);
          for (const s of run.sched.state.sites) {
            const held = new Map<string, number>();
            for (const [seq, gpus] of s.running) {
              const r = run.sched.state.jobs[seq] as JobRecord;
              if (r.org !== s.org) held.set(r.spec.org, (held.get(r.spec.org) ?? 0) + gpus);
            }
            for (const [org, gpus] of held) {
              assert.ok(s.lendsTo(org), `${org} borrows on ${s.spec.id}, which does not lend to it`);
              assert.ok(gpus <= s.borrowerCap(org), `${org} holds ${gpus} on ${s.spec.id}, over its cap ${s.borrowerCap(org)}`);
            }
          }
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('SRTF preempts nothing when the waiting job could still not start (lending limit)', () => {
  // b1 lends at most 4 GPUs; org a borrows all 4 of them.
  const run = new Run(pool(site('b1').org('b').lend(0.5), spareA100), { policy: 'srtf' });
  run.submit(job('a-long').org('a').gpus(4, 'h100').runs(10_000), job('b-long').org('b').gpus(4, 'h100').runs(20_000));
  assert.deepEqual(run.pass(0), ['start a-long', 'start b-long']);
  run.submit(job('a-short').org('a').gpus(4, 'h100').at(10).runs(100));
  const decisions = run.pass(10);
  // Stopping b-long frees a node's GPUs but not the lending limit: a-short still could not start.
  assert.ok(!decisions.includes('preempt b-long at 10 (priority)'), `wasted preemption: ${decisions.join(', ')}`);
  assert.deepEqual(decisions, ['preempt a-long at 10 (priority)', 'start a-short'], 'stopping the other borrower lets it start');
});

test('LAS preempts a job whose attained service put it in a lower queue, not one in the same queue', () => {
  // Default thresholds: 3,600 and 36,000 GPU-seconds.
  const run = new Run(pool(site('a1').org('a'), spareA100), { policy: 'las' });
  run.submit(job('j0').org('a').gpus(8, 'h100').runs(100_000));
  assert.deepEqual(run.pass(0), ['start j0']);
  run.submit(job('early').org('a').gpus(1, 'h100').at(100).runs(10));
  assert.deepEqual(run.pass(100), [], 'j0 has 800 GPU-s: still in the first queue');
  run.submit(job('late').org('a').gpus(1, 'h100').at(1000).runs(10));
  assert.deepEqual(run.pass(1000), ['preempt j0 at 1000 (priority)', 'start early', 'start late'], 'at 8,000 GPU-s j0 is in the second queue');
  const j0 = run.job('j0');
  assert.equal(j0.attainedGpuS, 8000);
  assert.equal(j0.phase, 'queued');
  run.submit(job('fresh').org('a').gpus(8, 'h100').at(1005).runs(10));
  run.finish('early', 1005).finish('late', 1005);
  assert.deepEqual(run.pass(1005), ['start fresh'], 'a job in the first queue goes before j0, though j0 arrived first');
});

test('LAS preempts a job in a lower queue even when no GPU is free anywhere', () => {
  const run = new Run(pool(site('a1').org('a')), { policy: 'las' });
  run.submit(job('j0').org('a').gpus(8).runs(100_000));
  assert.deepEqual(run.pass(0), ['start j0']);
  run.submit(job('late').org('a').gpus(1).at(1000).runs(10));
  assert.deepEqual(run.pass(1000), ['preempt j0 at 1000 (priority)', 'start late']);
});

// --- fair share ------------------------------------------------------------------------------

test('fair share: the org furthest below its contribution goes first', () => {
  // a contributes 16 and uses 8 (0.5); b contributes 8 and uses 2 (0.25). Only a1 has 8 free.
  const run = new Run(pool(site('a1').org('a').nodes(2).reclaim(false), site('b1').org('b').reclaim(false)), { policy: 'fair-share' });
  run.submit(job('a0').org('a').gpus(8).runs(10_000), job('b0').org('b').gpus(2).runs(10_000));
  assert.deepEqual(run.pass(0), ['start a0', 'start b0']);
  run.submit(job('a-next').org('a').gpus(8).at(10), job('b-next').org('b').gpus(8).at(10));
  assert.deepEqual(run.pass(10), ['start b-next'], 'b goes first although a submitted first');
  assert.equal(run.siteOf('b-next'), 'a1', 'borrowing from a');
  assert.equal(run.why('a-next'), '0/2 sites fit: 2 too few free GPUs');
});

test('fair share: borrowers run on idle GPUs of other orgs', () => {
  const run = new Run(pool(site('a1').org('a'), site('b1').org('b')), { policy: 'fair-share' });
  run.submit(job('a0').org('a').gpus(8), job('a1').org('a').gpus(8));
  assert.deepEqual(run.pass(0), ['start a0', 'start a1']);
  assert.equal(run.siteOf('a0'), 'a1', 'own site first');
  assert.equal(run.siteOf('a1'), 'b1');
  const [a1, b1] = run.sched.state.sites;
  assert.equal(a1?.borrowed, 0);
  assert.equal(b1?.borrowed, 8);
  assert.equal(run.sched.state.using[run.sched.state.orgIndex.get('a') ?? -1], 16);
});

test('fair share on mixed generations: an org is entitled to its GPUs × their speed, and holds borrowed GPUs at theirs', () => {
  // a owns 16 A100s at half an H100's speed (8 H100s' worth); b owns 8 H100s.
  const p = { ...pool(site('a1').org('a').nodes(2).type('a100'), site('b1').org('b').type('h100')), gpuSpeeds: { a100: 0.5 } };
  const run = new Run(p, { policy: 'fair-share' });
  const org = (id: string) => run.sched.state.orgIndex.get(id) ?? -1;
  assert.deepEqual([...run.sched.state.contributed], [8, 8]);
  run.submit(job('fast').org('a').gpus(8, 'h100').runs(100_000), job('wide').org('b').gpus(16, 'a100').runs(100_000));
  assert.deepEqual(run.pass(0), ['start fast', 'start wide']);
  assert.equal(run.sched.state.using[org('a')], 8, "a's 8 borrowed H100s are all of its 8 H100s' worth");
  assert.equal(run.sched.state.using[org('b')], 8);
  // Counted in plain GPUs a would hold 8 of its 16 and reclaim a1 for another 8; at its GPUs' worth it is at its share.
  run.submit(job('more').org('a').gpus(8).at(10).runs(1000));
  assert.deepEqual(run.pass(10), [], 'no reclaim for an org already at its share');
});

test('mixed generations: a job that names no type never runs on GPUs slower than its org\'s own; borrowers take the fastest first', () => {
  const p = { ...pool(site('fast1').org('fast').type('h100'), site('slow1').org('slow').type('a100'), site('spare1').org('spare').type('h100')), gpuSpeeds: { a100: 0.5 } };
  const run = new Run(p, { policy: 'fair-share' });
  run.submit(job('f0').org('fast').gpus(8).runs(1000), job('f1').org('fast').gpus(8).runs(1000), job('f2').org('fast').gpus(8).runs(1000));
  assert.deepEqual(run.pass(0), ['start f0', 'start f1']);
  assert.equal(run.siteOf('f1'), 'spare1');
  assert.equal(run.why('f2'), '0/3 sites fit: 2 too few free GPUs, 1 GPU type not allowed', "the idle A100s are slower than fast's own H100s");
  // An org on A100s borrows H100s; an org with no GPUs of its own takes whatever is free.
  const mixed = new Run(p, { policy: 'fair-share' });
  mixed.submit(job('s0').org('slow').gpus(8).runs(1000), job('s1').org('slow').gpus(8).runs(1000), job('g0').org('guest').gpus(8).runs(1000));
  assert.deepEqual(mixed.pass(0), ['start s0', 'start s1', 'start g0']);
  assert.deepEqual([mixed.siteOf('s0'), mixed.siteOf('s1'), mixed.siteOf('g0')], ['slow1', 'fast1', 'spare1']);
  const guest = new Run({ ...pool(site('slow1').org('slow').type('a100'), site('fast1').org('fast').nodes(2).type('h100')), gpuSpeeds: { a100: 0.5 } }, { policy: 'fair-share' });
  guest.submit(job('g1').org('guest').gpus(8).runs(1000));
  assert.deepEqual(guest.pass(0), ['start g1']);
  assert.equal(guest.siteOf('g1'), 'fast1', 'a borrower takes the fastest free GPUs before a tighter fit on slower ones');
});

test('fair share: an owner\'s job that stopping borrowers cannot make room for holds its site once it has waited an hour', () => {
  // b fills its own b1, then borrows all of a1, half of it with a run that may not be stopped.
  const run = new Run(pool(site('a1').org('a'), site('b1').org('b')), { policy: 'fair-share' });
  run.submit(job('b-own').org('b').gpus(8).runs(100_000), job('b-fixed').org('b').gpus(4).preemptible(false).runs(10_000), job('b-short').org('b').gpus(4).runs(5000));
  assert.deepEqual(run.pass(0), ['start b-own', 'start b-fixed', 'start b-short']);
  run.submit(job('a-big').org('a').gpus(8).at(10).runs(1000));
  assert.deepEqual(run.pass(10), [], 'no set of borrowers to stop frees 8 GPUs');
  assert.deepEqual(run.pass(3610), [], 'still waiting, now for an hour: a1 is held for it');
  run.finish('b-short', 5000).submit(job('b-next').org('b').gpus(4).at(5000).runs(100_000));
  assert.deepEqual(run.pass(5000), [], 'the GPUs b-short gave back stay free for a-big, not for the next borrower');
  assert.match(run.why('b-next') ?? '', /reclaimed for the owner's waiting job/);
  run.finish('b-fixed', 10_000);
  assert.deepEqual(run.pass(10_000), ['start a-big']);
  assert.equal(run.siteOf('a-big'), 'a1');
});

test('durations not known: a new job is taken to run as long as its org\'s finished jobs of its size did (their geometric mean)', () => {
  const run = new Run(pool(site('a1').org('a')), { policy: 'sjf', durationsKnown: false });
  // a's 1-GPU jobs have run 100 s and 400 s (geometric mean 200 s); its 8-GPU job 10,000 s.
  run.submit(job('s1').org('a').gpus(1).runs(100), job('s2').org('a').gpus(1).runs(400), job('w1').org('a').gpus(6).runs(10_000));
  assert.deepEqual(run.pass(0), ['start s1', 'start s2', 'start w1']);
  run.finish('s1', 100).finish('s2', 400).finish('w1', 10_000);
  run.submit(job('wide').org('a').gpus(6).at(20_000).runs(10), job('small').org('a').gpus(1).at(20_001).runs(10_000), job('other').org('z').gpus(1).at(20_001).runs(1));
  assert.ok(Math.abs(run.job('small').remainingEstimateS - 200) < 1e-9, `predicted ${run.job('small').remainingEstimateS}`);
  assert.ok(Math.abs(run.job('wide').remainingEstimateS - 10_000) < 1e-6, `predicted ${run.job('wide').remainingEstimateS}`);
  assert.equal(run.job('other').remainingEstimateS, UNKNOWN_DURATION_S, 'an org with nothing finished yet: the default');
});

/** a fills its own a1, then borrows b1 with two 4-GPU jobs (the second newer); b1 reclaims after `notice` s. */
function lentOut(notice: number): Run {
  const run = new Run(pool(site('a1').org('a'), site('b1').org('b').notice(notice), spareA100), { policy: 'fair-share' });
  run.submit(job('a0').org('a').gpus(8, 'h100').runs(100_000), job('old').org('a').gpus(4, 'h100').runs(100_000));
  assert.deepEqual(run.pass(0), ['start a0', 'start old']);
  run.submit(job('new').org('a').gpus(4, 'h100').at(10).runs(100_000));
  assert.deepEqual(run.pass(10), ['start new']);
  assert.equal(run.siteOf('old'), 'b1');
  assert.equal(run.siteOf('new'), 'b1');
  return run;
}

test('fair share: an owner reclaims lent GPUs from the newest borrower, after the site’s notice', () => {
  const run = lentOut(120).submit(job('b0').org('b').gpus(4, 'h100').at(20).runs(1000));
  assert.deepEqual(run.pass(20), ['preempt new at 140 (reclaim)'], 'stops at now + notice; b0 waits for it');
  assert.equal(run.job('new').phase, 'stopping');
  assert.equal(run.job('old').phase, 'running');
  assert.equal(run.job('b0').phase, 'queued');
  assert.deepEqual(run.pass(50), [], 'a stopping job is not preempted twice');
  assert.equal(run.job('new').phase, 'stopping', 'still running out its notice until stop()');
  run.sched.stop(run.job('new'), 140, 'preempted');
  assert.equal(run.job('new').phase, 'queued');
  assert.equal(run.job('new').preemptions, 1);
  assert.equal(run.job('new').lostGpuS, 130 * 4);
  assert.deepEqual(run.pass(140), ['start b0']);
  assert.equal(run.siteOf('b0'), 'b1');
  assert.equal(run.why('new'), '0/3 sites fit: 2 too few free GPUs, 1 GPU type not allowed', 'a is over its share: no reclaim for it');
});

test('fair-srtf: jobs inside their org’s share first, shortest first; then would-be borrowers shortest first, whatever their org', () => {
  // c lends nothing (it owns no GPUs): its job can only borrow. Under fair share a's jobs go first in arrival order.
  const run = new Run(pool(site('a1').org('a').nodes(1).gpusPerNode(8), site('b1').org('b').nodes(1).gpusPerNode(8)), { policy: 'fair-srtf' });
  run.submit(job('a-long').org('a').gpus(8, 'h100').runs(10_000), job('c-mid').org('c').gpus(8, 'h100').runs(100), job('a-short').org('a').gpus(8, 'h100').runs(50));
  assert.deepEqual(run.pass(0), ['start a-short', 'start c-mid'], 'a-short fits a’s share; then c-mid borrows before a-long, which would borrow too');
  assert.equal(run.siteOf('a-short'), 'a1');
  assert.equal(run.siteOf('c-mid'), 'b1');
  assert.equal(run.job('a-long').phase, 'queued');
});

test('fair-srtf: a job stops its own org’s job estimated to run longer, at once (SRTF inside a share), never another org’s', () => {
  const run = new Run(pool(site('a1').org('a').nodes(1).gpusPerNode(8).notice(600)), { policy: 'fair-srtf' });
  run.submit(job('a-long').org('a').gpus(8, 'h100').runs(10_000));
  assert.deepEqual(run.pass(0), ['start a-long']);
  run.submit(job('c-short').org('c').gpus(8, 'h100').at(10).runs(5));
  assert.deepEqual(run.pass(10), [], 'another org’s shorter job waits');
  run.submit(job('a-short').org('a').gpus(8, 'h100').at(20).runs(5));
  assert.deepEqual(run.pass(20), ['preempt a-long at 20 (priority)', 'start a-short'], 'no reclaim notice: the org stops its own job');
});

test('a job that ran past its estimate is taken to need as long again, not nothing: understating does not jump the queue', () => {
  const run = new Run(pool(site('a1').org('a').nodes(1).gpusPerNode(8)), { policy: 'srtf' });
  run.submit(job('liar').gpus(8, 'h100').runs(10_000).estimate(100).checkpoint(100));
  assert.deepEqual(run.pass(0), ['start liar']);
  run.submit(job('honest').gpus(8, 'h100').at(400).runs(300));
  run.sched.stop(run.job('liar'), 500, 'preempted');
  assert.equal(run.job('liar').remainingEstimateS, 500, 'saved 500 s of a 100 s estimate: as long again');
  assert.deepEqual(run.pass(500), ['start honest'], 'the honest job (300 s left) goes before it');
});

test('durations not known: every job is taken for the same run time, so SJF goes by arrival', () => {
  const submitBoth = (run: Run) => run.submit(job('long').gpus(8, 'h100').runs(10_000), job('short').gpus(8, 'h100').at(0).runs(10));
  const one = () => pool(site('a1').org('a').nodes(1).gpusPerNode(8));
  assert.deepEqual(submitBoth(new Run(one(), { policy: 'sjf' })).pass(0), ['start short']);
  const blind = submitBoth(new Run(one(), { policy: 'sjf', durationsKnown: false }));
  assert.deepEqual(blind.pass(0), ['start long']);
  assert.equal(blind.job('long').remainingEstimateS, UNKNOWN_DURATION_S);
});

test('fair-srtf without durations: least attained service inside an org’s share (a new job stops its org’s job that has had more)', () => {
  // a-long has had 8 GPUs × 500 s = 4,000 GPU-s by t = 500: past LAS's first level (3,600). a-new says it runs far longer;
  // with durations that keeps it waiting, without them only service counts.
  const at500 = (durationsKnown: boolean) => {
    const run = new Run(pool(site('a1').org('a').nodes(1).gpusPerNode(8)), { policy: 'fair-srtf', durationsKnown });
    run.submit(job('a-long').org('a').gpus(8, 'h100').runs(1000));
    assert.deepEqual(run.pass(0), ['start a-long']);
    run.submit(job('a-new').org('a').gpus(8, 'h100').at(500).runs(100_000));
    return run.pass(500);
  };
  assert.deepEqual(at500(true), []);
  assert.deepEqual(at500(false), ['preempt a-long at 500 (priority)', 'start a-new']);
});

test('fair share: GPUs reclaimed for an owner go to the owner, not back to a borrower ranked first', () => {
  // A borrower whose org ranks before the owner (both at share 0 once it stops) must not retake the GPUs its
  // preemption freed; otherwise it is preempted again every interval and never finishes (a livelock seen in
  // the conformance suite).
  const run = new Run(pool(site('c1').org('c').nodes(1).gpusPerNode(1).type('a100').lend(0), site('b1').org('b').nodes(2).notice(60)), { policy: 'fair-share' });
  run.submit(job('c-job').org('c').gpus(8, 'h100').runs(10_000));
  assert.deepEqual(run.pass(0), ['start c-job']);
  run.submit(job('b-job').org('b').gpus(12, 'h100').at(10).runs(1000));
  assert.deepEqual(run.pass(10), ['preempt c-job at 70 (reclaim)']);
  run.sched.stop(run.job('c-job'), 70, 'preempted');
  assert.deepEqual(run.pass(70), ['start b-job'], 'the owner takes what it reclaimed');
  assert.equal(run.why('c-job'), "0/2 sites fit: 1 GPU type not allowed, 1 GPUs reclaimed for the owner's waiting job");
});

test('fair share: reclaim is rate-limited per site', () => {
  // Default reclaim interval: 300 s.
  const run = lentOut(0).submit(job('b0').org('b').gpus(4, 'h100').at(20).runs(100_000));
  assert.deepEqual(run.pass(20), ['preempt new at 20 (reclaim)', 'start b0']);
  run.submit(job('b1').org('b').gpus(4, 'h100').at(30).runs(100_000));
  assert.deepEqual(run.pass(30), []);
  assert.deepEqual(run.pass(319), []);
  assert.deepEqual(run.pass(320), ['preempt old at 320 (reclaim)', 'start b1']);
});

test('fair share: an owner reclaims lent GPUs even when no GPU is free anywhere', () => {
  const run = new Run(pool(site('a1').org('a'), site('b1').org('b')), { policy: 'fair-share' });
  run.submit(job('a0').org('a').gpus(8).runs(100_000), job('a1').org('a').gpus(8).runs(100_000));
  assert.deepEqual(run.pass(0), ['start a0', 'start a1']);
  run.submit(job('b0').org('b').gpus(8).at(20));
  assert.deepEqual(run.pass(20), ['preempt a1 at 20 (reclaim)', 'start b0']);
});

// --- checkpoints, failures, never ------------------------------------------------------------

test('preemption loses only the work since the last checkpoint', () => {
  const run = new Run(pool(site('a1').org('a')), { policy: 'fifo' });
  run.submit(job('j').org('a').gpus(2).runs(10_000).checkpoint(3600));
  assert.deepEqual(run.pass(0), ['start j']);
  const j = run.job('j');
  run.sched.stop(j, 5000, 'preempted');
  assert.equal(j.lostGpuS, 1400 * 2, '5,000 s ran, 3,600 s checkpointed');
  assert.equal(j.workDoneS, 3600);
  assert.equal(j.remainingEstimateS, 10_000 - 3600);
  assert.equal(j.attainedGpuS, 5000 * 2, 'attained service counts lost work too');
  assert.equal(j.preemptions, 1);
  assert.equal(j.phase, 'queued');
  assert.equal(run.sched.state.sites[0]?.free, 8);
  assert.deepEqual(run.pass(6000), ['start j']);
  run.sched.stop(j, 8000, 'preempted');
  assert.equal(j.workDoneS, 3600, 'progress 5,600 s: the next checkpoint (7,200 s) was not reached');
  assert.equal(j.lostGpuS, 1400 * 2 + 2000 * 2);
  assert.equal(j.preemptions, 2);
  assert.deepEqual(run.pass(9000), ['start j']);
  run.sched.stop(j, 13_000, 'preempted');
  assert.equal(j.workDoneS, 7200, 'progress 7,600 s: one more checkpoint kept');
  assert.equal(j.lostGpuS, 1400 * 2 + 2000 * 2 + 400 * 2);
});

test('a job that never checkpoints loses everything it ran', () => {
  const run = new Run(pool(site('a1').org('a')), { policy: 'fifo' });
  run.submit(job('j').org('a').gpus(2).runs(10_000).checkpoint(null));
  run.pass(0);
  const j = run.job('j');
  run.sched.stop(j, 5000, 'preempted');
  assert.equal(j.lostGpuS, 5000 * 2);
  assert.equal(j.workDoneS, 0);
  assert.equal(j.remainingEstimateS, 10_000);
});

test('stop is idempotent: a job already back in the queue is not stopped twice', () => {
  const run = new Run(pool(site('a1').org('a')), { policy: 'fifo' });
  run.submit(job('j').org('a').gpus(2).runs(10_000));
  run.pass(0);
  run.sched.stop(run.job('j'), 100, 'preempted');
  run.sched.stop(run.job('j'), 200, 'preempted');
  assert.equal(run.job('j').preemptions, 1);
  assert.equal(run.job('j').lostGpuS, 200);
  assert.equal(run.sched.queued, 1);
  assert.equal(run.sched.state.sites[0]?.free, 8);
});

test('a site going down requeues its jobs; they run elsewhere or wait until it is back', () => {
  const run = new Run(pool(site('a1').org('a'), site('b1').org('b')), { policy: 'fifo' });
  run.submit(job('x').org('a').gpus(4).runs(10_000), job('z').org('a').gpus(2).runs(10_000), job('y').org('b').gpus(4).runs(10_000));
  assert.deepEqual(run.pass(0), ['start x', 'start z', 'start y']);
  const failed = run.sched.siteDown(0, 5000).failed.map((r) => r.spec.id);
  assert.deepEqual(failed.sort(), ['x', 'z']);
  for (const id of ['x', 'z']) {
    assert.equal(run.job(id).phase, 'queued');
    assert.equal(run.job(id).preemptions, 0, 'a failure is not a preemption');
  }
  assert.equal(run.job('x').failedGpuS, 1400 * 4, 'work lost to a failure is counted as such');
  assert.equal(run.job('x').lostGpuS, 0, 'not as lost to preemption');
  assert.equal(run.job('y').phase, 'running', 'other sites are untouched');
  assert.equal(run.sched.state.sites[0]?.free, 8);
  assert.equal(run.sched.state.allocated, 4);
  assert.deepEqual(run.pass(5000), ['start x'], 'x borrows b1');
  assert.equal(run.siteOf('x'), 'b1');
  assert.equal(run.why('z'), '0/2 sites fit: 1 down, 1 too few free GPUs');
  run.sched.siteUp(0);
  assert.deepEqual(run.pass(5001), ['start z']);
  assert.equal(run.siteOf('z'), 'a1');
});

test('a job no site can ever hold is marked `never` at submit and never queued', () => {
  const run = new Run(pool(site('a1').org('a').lend(0), site('b1').org('b').lend(0)), { policy: 'fifo' });
  run.submit(job('huge').org('a').gpus(16), job('closed').org('c').gpus(2), job('typed').org('a').gpus(2, 'v100'), job('ok').org('a').gpus(2));
  assert.deepEqual(['huge', 'closed', 'typed', 'ok'].map((id) => run.job(id).phase), ['never', 'never', 'never', 'queued']);
  assert.equal(run.sched.queued, 1);
  assert.equal(run.why('huge'), '0/2 sites fit: 2 smaller than the job — no site can ever hold this job');
  assert.equal(run.why('closed'), '0/2 sites fit: 2 not shared with this org — no site can ever hold this job');
  assert.equal(run.why('typed'), '0/2 sites fit: 2 GPU type not allowed — no site can ever hold this job');
  assert.deepEqual(run.pass(0), ['start ok'], 'a never job does not block the strict queue');
  assert.equal(run.job('huge').phase, 'never');
});

// --- restore: a driver rebuilding the core from durable state ------------------------------

test('restore puts a running job back on its site: it holds the GPUs, is not queued, and ends like any run', () => {
  const sched = new Scheduler(pool(site('a1').org('a').nodes(2)), { policy: 'fair-share' });
  const r = sched.restore(job('old').org('a').gpus(10).build(), [{ site: 0, gpus: 10 }], 100);
  assert.ok(r);
  assert.equal(r.phase, 'running');
  assert.equal(r.startedAtS, 100);
  assert.equal(sched.queued, 0);
  assert.equal(sched.state.sites[0]?.free, 6);
  assert.equal(sched.state.allocated, 10);
  const waiting = sched.submit(job('big').org('a').gpus(8).build());
  const fits = sched.submit(job('small').org('a').gpus(6).build());
  assert.deepEqual(sched.pass(200).map((d) => `${d.kind} ${d.job.spec.id}`), ['start small']);
  assert.equal(describeDiagnosis(sched.diagnosis(waiting) ?? { sites: 0, reasons: {}, never: false }), '0/1 site fit: 1 too few free GPUs');
  assert.equal(fits.phase, 'running');
  sched.finish(r, 300);
  assert.equal(r.attainedGpuS, 200 * 10, 'attained service counts from the restored start');
  assert.deepEqual(sched.pass(300).map((d) => `${d.kind} ${d.job.spec.id}`), ['start big']);
});

test("restore ignores the lending limit: a borrower admitted under it stays, and counts as borrowed", () => {
  const sched = new Scheduler(pool(site('a1').org('a').lend(0.25)), { policy: 'fair-share' }, ['b']);
  const r = sched.restore(job('lent').org('b').gpus(4).build(), [{ site: 0, gpus: 4 }], 0);
  assert.ok(r);
  assert.equal(sched.state.sites[0]?.borrowed, 4);
  const more = sched.submit(job('more').org('b').gpus(1).build());
  assert.deepEqual(sched.pass(10), []);
  assert.match(describeDiagnosis(sched.diagnosis(more) ?? { sites: 0, reasons: {}, never: false }), /lending limit/);
});

test('restore spreads a job over fragmented nodes, and returns null (changing nothing) when the site is too small now', () => {
  const sched = new Scheduler(pool(site('a1').org('a').nodes(2)), { policy: 'fifo' });
  assert.ok(sched.restore(job('x').org('a').gpus(5).build(), [{ site: 0, gpus: 5 }], 0));
  assert.ok(sched.restore(job('y').org('a').gpus(5).build(), [{ site: 0, gpus: 5 }], 0));
  const spread = sched.restore(job('z').org('a').gpus(6).build(), [{ site: 0, gpus: 6 }], 0);
  assert.ok(spread, 'six GPUs free as 3 + 3 still hold a job that runs there');
  assert.deepEqual([...(spread.allocation?.parts[0]?.counts ?? [])], [3, 3]);
  const jobs = sched.state.jobs.length;
  assert.equal(sched.restore(job('w').org('a').gpus(1).build(), [{ site: 0, gpus: 1 }], 0), null, 'the site is full');
  assert.equal(sched.restore(job('v').org('a').gpus(1).build(), [{ site: 7, gpus: 1 }], 0), null, 'no such site');
  assert.equal(sched.state.jobs.length, jobs);
  assert.equal(sched.state.sites[0]?.free, 0);
});
