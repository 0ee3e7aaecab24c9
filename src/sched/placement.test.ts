import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobSpec } from '../model/job.ts';
import type { PoolSpec } from '../model/pool.ts';
import { describeDiagnosis, type Diagnosis } from './diagnosis.ts';
import { candidateSites, isChoice, place, type Choice, type Reservation } from './placement.ts';
import { Scheduler } from './scheduler.ts';
import type { JobRecord, SiteState } from './state.ts';
import { job, pool, site } from './test-builders.ts';

/**
 * A pool to place jobs on. Jobs are submitted to a Scheduler only to get their
 * records; no pass runs, so nothing starts unless a test takes GPUs itself.
 */
class Bench {
  readonly sched: Scheduler;
  private fillers = 100_000;

  constructor(p: PoolSpec, ownSitesOnly = false) {
    this.sched = new Scheduler(p, { policy: 'fifo', ownSitesOnly });
  }

  site(id: string): SiteState {
    const s = this.sched.state.sites.find((x) => x.spec.id === id);
    assert.ok(s, `no site ${id}`);
    return s;
  }

  /** Takes `gpus` GPUs on site `id` (best fit), as the owner's job or as a borrower's. */
  take(id: string, gpus: number, borrower = false): this {
    const s = this.site(id);
    const c = s.choose(gpus);
    assert.ok(c !== null, `cannot take ${gpus} on ${id}`);
    s.commit(this.fillers++, c.nodes, c.counts, borrower ? -1 : s.org);
    return this;
  }

  record(spec: JobSpec): JobRecord {
    return this.sched.submit(spec);
  }

  place(spec: JobSpec | JobRecord, opts: { now?: number; reservation?: Reservation | null } = {}): Choice | Diagnosis {
    const r = 'spec' in spec ? spec : this.record(spec);
    const ctx = { state: this.sched.state, now: opts.now ?? 0, ownSitesOnly: this.sched.options.ownSitesOnly, reservation: opts.reservation ?? null };
    return place(ctx, r, candidateSites(this.sched.state, r, new Map()));
  }

  /** The id of the site the job would start on, or the diagnosis text. */
  where(spec: JobSpec | JobRecord, opts: { now?: number; reservation?: Reservation | null } = {}): string {
    const result = this.place(spec, opts);
    return isChoice(result) ? result.site.spec.id : describeDiagnosis(result);
  }
}

test('a job starts on its own org’s sites first, even when another site fits it more tightly', () => {
  const b = new Bench(pool(site('a1').org('a'), site('b1').org('b'))).take('b1', 4);
  assert.equal(b.where(job('own').org('a').gpus(4).build()), 'a1');
  assert.equal(b.where(job('guest').org('c').gpus(4).build()), 'b1', 'an org without sites gets the best fit');
});

test('across sites the best fit wins: the site left with the fewest free GPUs', () => {
  const b = new Bench(pool(site('b1').org('b'), site('c1').org('c'), site('d1').org('d'))).take('c1', 3).take('d1', 5);
  // free: b1 8, c1 5, d1 3
  assert.equal(b.where(job('x').org('z').gpus(3).build()), 'd1');
  assert.equal(b.where(job('x').org('z').gpus(4).build()), 'c1');
  assert.equal(b.where(job('x').org('z').gpus(6).build()), 'b1');
  const own = new Bench(pool(site('a1').org('a'), site('a2').org('a'))).take('a2', 4);
  assert.equal(own.where(job('x').org('a').gpus(4).build()), 'a2', 'best fit among own sites too');
});

test('a placement inside a site is its best-fit node choice, and placing takes nothing', () => {
  const b = new Bench(pool(site('a1').org('a').nodes(3))).take('a1', 5).take('a1', 6); // free per node: 3, 2, 8
  const before = [...b.site('a1').nodeFree];
  const result = b.place(job('x').org('a').gpus(3).build());
  assert.ok(isChoice(result));
  assert.deepEqual(result.counts, [3]);
  assert.equal(b.site('a1').nodeFree[result.nodes[0] ?? -1], 3, 'the node with exactly 3 free');
  assert.deepEqual([...b.site('a1').nodeFree], before);
});

test('GPU types are respected: a job goes only to sites of a type it accepts', () => {
  const b = new Bench(pool(site('a1').org('a').type('h100'), site('b1').org('b').type('a100')));
  assert.equal(b.where(job('x').org('a').gpus(2, 'a100').build()), 'b1', 'not its own site, which is the wrong type');
  assert.equal(b.where(job('x').org('a').gpus(2, 'h100', 'a100').build()), 'a1', 'either type: own site first');
  assert.equal(b.where(job('x').org('a').gpus(2, 'v100').build()), '0/2 sites fit: 2 GPU type not allowed — no site can ever hold this job');
});

test('a job’s GPU types match the site’s whatever their case', () => {
  // Traces lower-case the types they read (csv.ts) and candidateSites lower-cases the job's list,
  // but a pool file may spell the site's type as its vendor does.
  const b = new Bench(pool(site('a1').org('a').type('H100')));
  assert.equal(b.where(job('lower').org('a').gpus(2, 'h100').build()), 'a1');
  assert.equal(b.where(job('same').org('a').gpus(2, 'H100').build()), 'a1', 'the very spelling of the site');
});

test('borrowers may hold at most the owner’s lending limit; the owner may use every GPU', () => {
  const b = new Bench(pool(site('b1').org('b').nodes(2).lend(0.5))); // lend cap 8 of 16
  assert.equal(b.where(job('x').org('a').gpus(12).build()), "0/1 site fit: 1 at the owner's lending limit — no site can ever hold this job");
  b.take('b1', 6, true);
  assert.equal(b.where(job('x').org('a').gpus(4).build()), "0/1 site fit: 1 at the owner's lending limit");
  assert.equal(b.where(job('x').org('a').gpus(2).build()), 'b1', '6 + 2 borrowed is within the cap');
  assert.equal(b.where(job('x').org('b').gpus(10).build()), 'b1', 'the owner is not limited');
  const closed = new Bench(pool(site('b1').org('b').lend(0)));
  assert.equal(closed.where(job('x').org('a').gpus(1).build()), '0/1 site fit: 1 not shared with this org — no site can ever hold this job');
});

test('an owner lends only to the orgs it lists, or to none; its own jobs are never refused', () => {
  const b = new Bench(pool(site('b1').org('b').lendTo(['a']), site('c1').org('c').lendTo('none')));
  assert.equal(b.where(job('x').org('a').gpus(4).build()), 'b1');
  assert.equal(b.where(job('x').org('z').gpus(4).build()), "0/2 sites fit: 2 not lent to this org (the owner's choice) — no site can ever hold this job");
  assert.equal(b.where(job('x').org('c').gpus(4).build()), 'c1', 'lending to none does not bar the owner');
});

test('an owner’s limit per borrowing org: for every borrower, or one org’s own', () => {
  const b = new Bench(pool(site('b1').org('b').nodes(4).borrowerLimit(8).borrowerLimit(16, 'big')));
  assert.equal(b.where(job('x').org('a').gpus(12).build()), "0/1 site fit: 1 at the owner's limit for this org — no site can ever hold this job");
  assert.equal(b.where(job('x').org('big').gpus(12).build()), 'b1', 'its own, higher limit');
  const a = b.record(job('a1').org('a').gpus(6).build());
  b.sched.pass(0);
  assert.equal(a.phase, 'running');
  assert.equal(b.where(job('x').org('a').gpus(4).build()), "0/1 site fit: 1 at the owner's limit for this org", '6 held + 4 is over 8');
  assert.equal(b.where(job('x').org('a').gpus(2).build()), 'b1');
  assert.equal(b.where(job('x').org('c').gpus(8).build()), 'b1', 'another borrower has its own 8');
});

test('a site that must contain borrowed work and cannot lends nothing, and says why', () => {
  const b = new Bench(pool(site('b1').org('b').noContainment()));
  assert.equal(b.where(job('x').org('a').gpus(1).build()), '0/1 site fit: 1 cannot contain borrowed work (its agent has no sandbox) — no site can ever hold this job');
  assert.equal(b.where(job('x').org('b').gpus(1).build()), 'b1');
});

test('the siloed baseline uses only the job’s own org’s sites', () => {
  const b = new Bench(pool(site('a1').org('a'), site('b1').org('b')), true).take('a1', 8);
  assert.equal(b.where(job('x').org('a').gpus(1).build()), '0/2 sites fit: 1 too few free GPUs, 1 not shared with this org');
  assert.equal(b.where(job('x').org('c').gpus(1).build()), '0/2 sites fit: 2 not shared with this org — no site can ever hold this job');
});

test('down sites are skipped, and say so', () => {
  const b = new Bench(pool(site('a1').org('a'), site('b1').org('b')));
  b.site('a1').up = false;
  assert.equal(b.where(job('x').org('a').gpus(4).build()), 'b1', 'borrows while its own site is down');
  b.site('b1').up = false;
  const d = b.place(job('x').org('a').gpus(4).build());
  assert.ok(!isChoice(d));
  assert.deepEqual(d, { sites: 2, reasons: { site_down: 2 }, never: false });
  assert.equal(describeDiagnosis(d), '0/2 sites fit: 2 down');
});

test('a diagnosis counts each site once, under the reason that ruled it out, most common first', () => {
  const b = new Bench(pool(site('a1').org('a').type('h100'), site('b1').org('b').type('h100'), site('c1').org('c').type('a100'))).take('a1', 6).take('b1', 5);
  const d = b.place(job('x').org('a').gpus(4, 'h100').build());
  assert.ok(!isChoice(d));
  assert.deepEqual(d, { sites: 3, reasons: { gpu_type: 1, too_few_free: 2 }, never: false });
  assert.equal(describeDiagnosis(d), '0/3 sites fit: 2 too few free GPUs, 1 GPU type not allowed');
});

test('free GPUs split across nodes are reported as such, and one site is "site"', () => {
  const b = new Bench(pool(site('a1').org('a').nodes(2).gpusPerNode(4))).take('a1', 3).take('a1', 3);
  assert.equal(b.where(job('x').org('a').gpus(2).build()), '0/1 site fit: 1 free GPUs split across nodes');
  assert.equal(b.where(job('x').org('a').gpus(1).build()), 'a1');
});

test('a job no site can ever hold is `never`, with the reasons', () => {
  const b = new Bench(pool(site('a1').org('a'), site('b1').org('b').lend(0.25)));
  const d = b.place(job('x').org('a').gpus(16).build());
  assert.ok(!isChoice(d));
  assert.equal(d.never, true);
  assert.equal(describeDiagnosis(d), '0/2 sites fit: 2 smaller than the job — no site can ever hold this job');
  const r = b.record(job('huge').org('a').gpus(16).build());
  assert.equal(r.phase, 'never', 'the Scheduler marks it at submit');
  assert.equal(describeDiagnosis(b.sched.diagnosis(r) ?? { sites: 0, reasons: {}, never: false }), '0/2 sites fit: 2 smaller than the job — no site can ever hold this job');
  const busy = b.take('a1', 8).take('b1', 2, true).place(job('y').org('a').gpus(4).build());
  assert.ok(!isChoice(busy));
  assert.equal(busy.never, false, 'a job that fits once GPUs are freed is not `never`');
  assert.equal(describeDiagnosis(busy), "0/2 sites fit: 1 too few free GPUs, 1 at the owner's lending limit");
});

test('a backfill reservation keeps later jobs off its GPUs unless they end before its shadow time', () => {
  const b = new Bench(pool(site('a1').org('a'))).take('a1', 6);
  const head = b.record(job('head').org('a').gpus(8).build());
  const reservation: Reservation = { site: 0, job: head, shadowS: 1000, extra: 0 };
  assert.equal(b.where(job('short').org('a').gpus(1).runs(500).build(), { now: 100, reservation }), 'a1', 'ends at 600, before the shadow time');
  assert.equal(b.where(job('exact').org('a').gpus(1).runs(900).build(), { now: 100, reservation }), 'a1', 'ends exactly at the shadow time');
  assert.equal(b.where(job('long').org('a').gpus(1).runs(5000).build(), { now: 100, reservation }), '0/1 site fit: 1 GPUs reserved for an earlier job (backfill)');
  assert.equal(b.where(job('long').org('a').gpus(2).runs(5000).build(), { now: 100, reservation: { ...reservation, extra: 2 } }), 'a1', 'within the GPUs the reserved job leaves over');
  assert.equal(b.where(head, { now: 100, reservation }), '0/1 site fit: 1 too few free GPUs', 'the reservation does not hold back its own job');
});
