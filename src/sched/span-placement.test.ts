import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { PoolSpec } from '../model/pool.ts';
import { gbpsForEfficiency, ringSyncS, spanEfficiency } from '../model/span.ts';
import { describeDiagnosis } from './diagnosis.ts';
import { Scheduler, type Decision } from './scheduler.ts';
import type { JobRecord } from './state.ts';
import { job, pool, site, testSpan, wan } from './test-builders.ts';

/** Spanning jobs in the scheduler core: all-or-nothing across sites, WAN links as a resource, shrink on reclaim. */

const show = (d: Decision) => (d.kind === 'start' ? `start ${d.job.spec.id}` : `${d.kind} ${d.job.spec.id}`);
const why = (s: Scheduler, r: JobRecord) => describeDiagnosis(s.diagnosis(r) ?? { sites: 0, reasons: {}, never: false });
const sitesOf = (s: Scheduler, r: JobRecord) => (r.allocation?.parts ?? []).map((p) => `${s.state.sites[p.site]?.spec.id}:${p.gpus}`);
const linkUse = (s: Scheduler) => [...s.state.links.values()].map((l) => Number(l.used.toFixed(3)));

/** Two orgs' one-node sites, each too small for a 16-GPU job, joined by a 10 Gb/s link. */
const twoSites = (link = 'a1-b1:10:0'): PoolSpec => ({ ...pool(site('a1'), site('b1')), links: wan(link) });

test('the span model: ring time, efficiency and the bandwidth for an efficiency agree', () => {
  const span = testSpan();
  // 2 sites: 2 steps of 0.5 GB at 1.25 GB/s = 0.8 s.
  assert.equal(ringSyncS(span, 2, 10, 0), 0.8);
  assert.equal(ringSyncS(span, 1, 10, 0), 0, 'one site synchronizes over its own network');
  assert.equal(spanEfficiency(span, 2, 10, 0), 100 / 100.8);
  assert.equal(spanEfficiency({ ...span, hiddenS: 1 }, 2, 10, 0), 1, 'overlap hides a sync shorter than its window');
  const g = gbpsForEfficiency(span, 3, 20, 0.9);
  assert.ok(Math.abs(spanEfficiency(span, 3, g, 20) - 0.9) < 1e-9);
  assert.equal(gbpsForEfficiency(span, 3, 10_000, 0.9), Infinity, 'latency alone rules the efficiency out');
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 32 }), fc.double({ min: 0.01, max: 400, noNaN: true }), fc.double({ min: 0.01, max: 400, noNaN: true }), fc.double({ min: 0, max: 200, noNaN: true }), (sites, g1, g2, ms) => {
      const [lo, hi] = g1 < g2 ? [g1, g2] : [g2, g1];
      return spanEfficiency(span, sites, hi, ms) >= spanEfficiency(span, sites, lo, ms);
    }),
  );
});

test('a spannable job no site can hold starts on two sites at once, at its ring efficiency, holding bandwidth on the link', () => {
  const s = new Scheduler(twoSites(), { policy: 'fifo' }, ['c']);
  const r = s.submit(job('big').org('c').gpus(16).spans().build());
  assert.equal(r.phase, 'queued', 'not "never": across sites the pool can hold it');
  assert.deepEqual(s.pass(0).map(show), ['start big']);
  assert.deepEqual(sitesOf(s, r), ['a1:8', 'b1:8']);
  assert.ok(r.allocation !== null && r.allocation.efficiency > 0.95 && r.allocation.efficiency < 1);
  assert.equal(r.rate, r.allocation.efficiency);
  // It holds what brings it to 95% (8 s·Gb/s ÷ 5.26 s = 1.52 Gb/s), not the whole 10 Gb/s link.
  assert.deepEqual(linkUse(s), [1.52]);
  assert.equal(s.state.allocated, 16);
  s.finish(r, 1000);
  assert.deepEqual(linkUse(s), [0]);
  assert.equal(s.state.allocated, 0);
});

test('all or nothing: when the free GPUs across sites fall short, nothing is taken, and the diagnosis says how short', () => {
  const s = new Scheduler(twoSites(), { policy: 'fifo' }, ['c']);
  const small = s.submit(job('small').org('a').gpus(2).build());
  const big = s.submit(job('big').org('c').gpus(16).spans().build());
  assert.deepEqual(s.pass(0).map(show), ['start small']);
  assert.equal(big.phase, 'queued');
  assert.equal(s.state.sites[1]?.free, 8, 'no half reservation is left on b1');
  assert.deepEqual(linkUse(s), [0]);
  assert.equal(why(s, big), '0/2 sites fit: 2 smaller than the job; across sites: 8 of 16 GPUs free in whole replicas of 8 on 1 site');
  s.finish(small, 10);
  assert.deepEqual(s.pass(10).map(show), ['start big']);
});

test('a site whose runs accept no connections from other sites takes no part of a spanning job, and the diagnosis says so', () => {
  const spec = twoSites();
  const s = new Scheduler({ ...spec, sites: spec.sites.map((x) => (x.id === 'b1' ? { ...x, spanReachable: false } : x)) }, { policy: 'fifo' }, ['c']);
  const big = s.submit(job('big').org('c').gpus(16).spans().build());
  assert.deepEqual(s.pass(0).map(show), []);
  assert.equal(why(s, big), "0/2 sites fit: 2 smaller than the job; across sites: 8 of 16 GPUs free in whole replicas of 8 on 1 site; 8 more on 1 site that declares no address for other sites' parts (span_endpoint) or give borrowed runs no network (share.borrowed_network)");
  const both = new Scheduler(spec, { policy: 'fifo' }, ['c']);
  both.submit(job('big').org('c').gpus(16).spans().build());
  assert.deepEqual(both.pass(0).map(show), ['start big'], 'both reachable: it starts');
});

test('a site whose borrowed runs get no network takes no borrower’s part of a spanning job, but its own org’s', () => {
  const spec = twoSites();
  const isolated = { ...spec, sites: spec.sites.map((x) => (x.id === 'b1' ? { ...x, share: { ...x.share, isolatesBorrowed: true } } : x)) };
  const borrower = new Scheduler(isolated, { policy: 'fifo' }, ['c']);
  const big = borrower.submit(job('big').org('c').gpus(16).spans().build());
  assert.deepEqual(borrower.pass(0).map(show), []);
  assert.match(why(borrower, big), /8 more on 1 site that declares no address .* or give borrowed runs no network/);
  const owner = new Scheduler(isolated, { policy: 'fifo' }, ['b']);
  owner.submit(job('own').org('b').gpus(16).spans().build());
  assert.deepEqual(owner.pass(0).map(show), ['start own'], 'b1 isolates only what it lends: b’s own part there is fine');
});

test('a spanning job needs a WAN link for every step of its ring, and a ring fast enough for its minimum efficiency', () => {
  const noLink = new Scheduler({ ...pool(site('a1'), site('b1')), links: [] }, { policy: 'fifo' }, ['c']);
  const r1 = noLink.submit(job('big').org('c').gpus(16).spans().build());
  noLink.pass(0);
  assert.equal(why(noLink, r1), '0/2 sites fit: 2 smaller than the job; across sites: no WAN link between a1 and b1');

  const slow = new Scheduler(twoSites('a1-b1:0.1:0'), { policy: 'fair-share' }, ['c']);
  const r2 = slow.submit(job('big').org('c').gpus(16).spans().build());
  slow.pass(0);
  // 8 s per sync over 0.1 Gb/s → 100 / 180 = 56%.
  assert.equal(why(slow, r2), "0/2 sites fit: 2 smaller than the job; across sites: the best ring (2 sites) reaches 56% utilization, below the job's 80%");
  const relaxed = slow.submit(job('relaxed').org('c').gpus(16).spans({ minEfficiency: 0.5 }).build());
  assert.deepEqual(slow.pass(1).map(show), ['start relaxed'], 'a job content with 50% spans over the same link');
  assert.ok(Math.abs((relaxed.allocation?.efficiency ?? 0) - 100 / 180) < 1e-9);
});

test('WAN links are a resource: two spanning jobs cannot both assume the whole of one link', () => {
  // Each job holds the 1.52 Gb/s that brings it to 95%; 0.28 Gb/s are left, below the 0.32 Gb/s that 80% needs.
  const p: PoolSpec = { ...pool(site('a1').nodes(2), site('b1').nodes(2)), links: wan('a1-b1:1.8:0') };
  const s = new Scheduler(p, { policy: 'fair-share' }, ['c']);
  const own = [s.submit(job('a-own').org('a').gpus(8).build()), s.submit(job('b-own').org('b').gpus(8).build())];
  s.pass(0);
  const first = s.submit(job('first').org('c').gpus(16).spans().build());
  assert.deepEqual(s.pass(1).map(show), ['start first']);
  assert.equal(first.allocation?.parts.length, 2, 'one node free on each site: it spans');
  for (const r of own) s.finish(r, 2);
  const second = s.submit(job('second').org('c').gpus(16).spans().build());
  assert.deepEqual(s.pass(2).map(show), []);
  assert.match(why(s, second), /across sites: the best ring \(2 sites\) reaches 7\d% utilization, below the job's 80%/);
  assert.equal(s.state.sites[0]?.free, 8, 'GPUs are free: only the link holds the second job back');
  s.finish(first, 100);
  assert.deepEqual(s.pass(100).map(show), ['start second']);
  assert.ok((second.allocation?.efficiency ?? 0) >= 0.95 - 1e-9);
});

test('a spannable job waits for one site when that site is expected to start it within its limit', () => {
  const p: PoolSpec = { ...pool(site('a1').nodes(2), site('b1')), links: wan('a1-b1:10:0') };
  const s = new Scheduler(p, { policy: 'fair-share' }, ['c']);
  s.submit(job('busy').org('a').gpus(8).runs(600).build());
  s.pass(0);
  const patient = s.submit(job('patient').org('c').gpus(16).runs(3600).spans({ maxSingleSiteWaitS: 3600 }).build());
  assert.deepEqual(s.pass(1).map(show), [], 'b1 and the free half of a1 would do, but a1 alone frees up in 10 min');
  assert.match(why(s, patient), /across sites: not tried: one site is expected to start the job in 10 min, within its 60 min limit/);
  const eager = s.submit(job('eager').org('c').gpus(16).runs(3600).spans({ maxSingleSiteWaitS: 60 }).build());
  assert.deepEqual(s.pass(2).map(show), ['start eager']);
  assert.equal(eager.allocation?.parts.length, 2);
});

test('the pool can never hold a spannable job larger than every site together: never, with the reason', () => {
  const s = new Scheduler(twoSites(), { policy: 'fifo' }, ['c']);
  const r = s.submit(job('huge').org('c').gpus(32).spans().build());
  assert.equal(r.phase, 'never');
  assert.equal(why(s, r), '0/2 sites fit: 2 smaller than the job; across sites: the pool could hold 16 of its 32 GPUs in whole replicas of 8 — the pool can never hold this job');
});

test("an owner's reclaim shrinks a spanning job: it gives back that site's part and runs on, slower, with the rest", () => {
  const p: PoolSpec = { ...pool(site('a1'), site('b1'), site('d1')), links: wan('a1-b1:10:0', 'b1-d1:10:0', 'a1-d1:10:0') };
  const s = new Scheduler(p, { policy: 'fair-share' }, ['c']);
  const big = s.submit(job('big').org('c').gpus(24).runs(10_000).spans({ minEfficiency: 0.5 }).build());
  assert.deepEqual(s.pass(0).map(show), ['start big']);
  assert.equal(big.allocation?.parts.length, 3);
  const rate3 = big.rate;
  s.submit(job('owner').org('a').gpus(8).at(100).build());
  assert.deepEqual(s.pass(100).map(show), ['shrink big', 'start owner']);
  assert.deepEqual(sitesOf(s, big), ['b1:8', 'd1:8']);
  assert.equal(big.phase, 'running');
  assert.equal(big.preemptions, 0);
  assert.equal(big.lostGpuS, 0, 'no work is lost: the other replicas hold the model');
  assert.ok(Math.abs(big.workDoneS - 100 * rate3) < 1e-9);
  assert.ok(big.rate < rate3 && Math.abs(big.rate - ((big.allocation?.efficiency ?? 0) * 16) / 24) < 1e-12);
  assert.deepEqual(linkUse(s).filter((u) => u > 0).length, 1, 'a ring of two holds one link');
});

test('a spanning job whose other parts cannot form a ring without the reclaimed site is preempted as a whole', () => {
  // The ring a1-b1-d1-e1: without a1, b1 and e1 have no link between them.
  const p: PoolSpec = { ...pool(site('a1'), site('b1'), site('d1'), site('e1')), links: wan('a1-b1:10:0', 'b1-d1:10:0', 'd1-e1:10:0', 'a1-e1:10:0') };
  const s = new Scheduler(p, { policy: 'fair-share' }, ['c']);
  const big = s.submit(job('big').org('c').gpus(32).spans({ minEfficiency: 0.5 }).build());
  assert.deepEqual(s.pass(0).map(show), ['start big']);
  s.submit(job('owner').org('a').gpus(8).at(50).build());
  assert.deepEqual(s.pass(50).map(show), ['preempt big', 'start owner']);
  assert.equal(big.phase, 'queued');
  assert.deepEqual(linkUse(s), [0, 0, 0, 0], 'its bandwidth is given back with its GPUs');
  assert.match(describeDiagnosis(s.explain(big, 50) ?? { sites: 0, reasons: {}, never: false }), /across sites: 24 of 32 GPUs free/);
});

test('a spanning job may shrink to one site: it runs on there, at the GPUs it keeps', () => {
  const s = new Scheduler(twoSites(), { policy: 'fair-share' }, ['c']);
  const big = s.submit(job('big').org('c').gpus(16).spans().build());
  s.pass(0);
  s.submit(job('owner').org('a').gpus(8).at(50).build());
  assert.deepEqual(s.pass(50).map(show), ['shrink big', 'start owner']);
  assert.deepEqual(sitesOf(s, big), ['b1:8']);
  assert.equal(big.rate, 0.5, 'half its GPUs, no WAN: half the speed');
  assert.deepEqual(linkUse(s), [0]);
});

test('a reclaim with notice: the spanning job leaves the site when the notice runs out, and is not picked twice', () => {
  const p: PoolSpec = { ...pool(site('a1').notice(300), site('b1'), site('d1')), links: wan('a1-b1:10:0', 'b1-d1:10:0', 'a1-d1:10:0') };
  const s = new Scheduler(p, { policy: 'fair-share' }, ['c']);
  const big = s.submit(job('big').org('c').gpus(24).spans({ minEfficiency: 0.5 }).build());
  s.pass(0);
  s.submit(job('owner').org('a').gpus(8).at(10).build());
  const decisions = s.pass(10);
  assert.deepEqual(decisions.map((d) => (d.kind === 'shrink' ? `shrink ${d.job.spec.id} at ${d.atS}` : show(d))), ['shrink big at 310']);
  assert.equal(big.leaving, 0);
  assert.deepEqual(s.pass(20).map(show), [], 'no second reclaim of the same part');
  assert.equal(s.shrink(big, 0, 310), true);
  assert.deepEqual(s.pass(310).map(show), ['start owner']);
  assert.equal(big.allocation?.parts.length, 2);
});

test('a site failure shrinks a spanning job that can go on, and fails one that cannot', () => {
  const p: PoolSpec = { ...pool(site('a1'), site('b1'), site('d1')), links: wan('a1-b1:10:0', 'b1-d1:10:0', 'a1-d1:10:0') };
  const s = new Scheduler(p, { policy: 'fifo' }, ['c']);
  const big = s.submit(job('big').org('c').gpus(24).spans({ minEfficiency: 0.5 }).build());
  s.pass(0);
  const down = s.siteDown(1, 100);
  assert.deepEqual(down.failed, []);
  assert.deepEqual(down.shrunk, [big]);
  assert.deepEqual(sitesOf(s, big), ['a1:8', 'd1:8']);
  assert.deepEqual(s.siteDown(0, 200).shrunk, [big], 'down to one site');
  assert.deepEqual(linkUse(s), [0, 0, 0]);
  assert.deepEqual(s.siteDown(2, 300).failed, [big], 'its last part is gone: it fails and is requeued');
  assert.equal(big.phase, 'queued');
});

test('restore puts a spanning job back on its sites with its ring; a part on a missing site cannot be restored', () => {
  const s = new Scheduler(twoSites(), { policy: 'fifo' }, ['c']);
  const r = s.restore(job('big').org('c').gpus(16).spans().build(), [{ site: 0, gpus: 8 }, { site: 1, gpus: 8 }], 50);
  assert.ok(r);
  assert.equal(r.allocation?.parts.length, 2);
  assert.deepEqual(linkUse(s), [1.52]);
  assert.equal(s.restore(job('x').org('c').gpus(16).spans().build(), [{ site: 0, gpus: 8 }, { site: 7, gpus: 8 }], 50), null);
  assert.equal(s.restore(job('y').org('c').gpus(8).build(), [{ site: 0, gpus: 4 }, { site: 1, gpus: 4 }], 50), null, 'only a spannable job may have parts on two sites');
});

test('property: spanning never overbooks a link or a site, and every running spanning job meets its minimum', () => {
  const arbitrary = fc.record({
    sites: fc.array(fc.record({ nodes: fc.integer({ min: 1, max: 3 }), org: fc.constantFrom('a', 'b', 'c'), region: fc.constantFrom('n', 's') }), { minLength: 2, maxLength: 6 }),
    gbps: fc.array(fc.double({ min: 0.05, max: 20, noNaN: true }), { minLength: 15, maxLength: 15 }),
    jobs: fc.array(fc.record({ gpus: fc.constantFrom(8, 16, 24, 32), span: fc.boolean(), min: fc.constantFrom(0.5, 0.8, 0.95), org: fc.constantFrom('a', 'b', 'c'), runs: fc.integer({ min: 10, max: 500 }) }), { minLength: 1, maxLength: 12 }),
    downAt: fc.integer({ min: 0, max: 5 }),
  });
  fc.assert(
    fc.property(arbitrary, ({ sites, gbps, jobs, downAt }) => {
      const specs = sites.map((x, i) => site(`${x.org}${i}`).org(x.org).nodes(x.nodes).region(x.region));
      const ids = specs.map((b) => b.build().id);
      const links = ids.flatMap((a, i) => ids.slice(i + 1).map((b, k) => `${a}-${b}:${gbps[(i * 5 + k) % gbps.length]}:5`));
      const s = new Scheduler({ ...pool(...specs), links: wan(...links) }, { policy: 'fair-share' });
      const records = jobs.map((j, i) => {
        const b = job(`j${i}`).org(j.org).gpus(j.gpus).runs(j.runs).at(i);
        return s.submit((j.span ? b.spans({ minEfficiency: j.min }) : b).build());
      });
      for (let t = 0; t < 8; t++) {
        if (t === downAt) s.siteDown(0, t * 100);
        if (t === downAt + 1) s.siteUp(0);
        for (const d of s.pass(t * 100)) if (d.kind === 'preempt' && d.atS === t * 100 && d.job.phase === 'stopping') s.stop(d.job, t * 100, 'preempted');
        for (const r of records) if (r.phase === 'running' && r.startedAtS + r.spec.durationS / r.rate <= t * 100 + 100) s.finish(r, t * 100 + 50);
        for (const l of s.state.links.values()) if (l.used > l.gbps + 1e-9 || l.used < -1e-9) return false;
        for (const site of s.state.sites) if (site.free < 0 || site.free > site.total) return false;
        for (const r of records) {
          if (r.phase !== 'running' || r.allocation === null) continue;
          const gpus = r.allocation.parts.reduce((n, p) => n + p.gpus, 0);
          if (gpus !== r.allocation.gpus) return false;
          if (r.allocation.parts.length > 1 && (!r.spec.span || r.allocation.efficiency < r.spec.span.minEfficiency - 1e-9)) return false;
        }
      }
      return true;
    }),
    { numRuns: 200 },
  );
});
