// The conformance suite every scheduling policy runs (STYLE.md §9): each policy in
// the registry, with and without EASY backfill, on small generated pools and
// workloads, through the simulator. Whatever the policy decides, these must hold.
//
// It lives in test/ rather than beside the policies because it drives them through
// src/sim's simulate(), and the layer rules forbid src/sched from importing src/sim.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { JobSpec } from '../src/model/job.ts';
import type { PoolSpec, SiteSpec } from '../src/model/pool.ts';
import { POLICY_NAMES, type PolicyName } from '../src/sched/policies/registry.ts';
import { job, pool, site } from '../src/sched/test-builders.ts';
import { simulate, type Simulation } from '../src/sim/engine.ts';
import { summarize } from '../src/sim/metrics.ts';

/** Policies whose rules may stop a running job. The others never preempt. */
const PREEMPTING: ReadonlySet<PolicyName> = new Set(['srtf', 'las', 'fair-share', 'fair-srtf']);

interface Workload {
  readonly pool: PoolSpec;
  readonly jobs: readonly JobSpec[];
}

const siteArb = fc.record({
  org: fc.constantFrom('a', 'b', 'c'),
  nodes: fc.integer({ min: 1, max: 3 }),
  gpusPerNode: fc.constantFrom(1, 2, 4, 8),
  type: fc.constantFrom('h100', 'a100'),
  lend: fc.constantFrom(0, 0.5, 1),
  reclaim: fc.boolean(),
  notice: fc.constantFrom(0, 60, 600),
});

const jobArb = fc.record({
  org: fc.constantFrom('a', 'b', 'c', 'd'), // d owns no site: it can only borrow
  gpus: fc.integer({ min: 1, max: 16 }),
  submit: fc.integer({ min: 0, max: 20_000 }),
  duration: fc.integer({ min: 1, max: 20_000 }),
  /** The estimate as a multiple of the true run time: mostly exact (the traces' oracle), sometimes off. */
  estimateFactor: fc.constantFrom(1, 1, 0.5, 2),
  types: fc.constantFrom<string[] | null>(null, null, ['h100'], ['a100'], ['h100', 'a100']),
  checkpoint: fc.constantFrom(null, 600, 3600),
  preemptible: fc.boolean(),
  priority: fc.integer({ min: 0, max: 2 }),
});

const workloadArb: fc.Arbitrary<Workload> = fc
  .record({ sites: fc.array(siteArb, { minLength: 1, maxLength: 4 }), jobs: fc.array(jobArb, { minLength: 1, maxLength: 60 }) })
  .map(({ sites, jobs }) => ({
    pool: pool(...sites.map((s, i) => site(`s${i}`).org(s.org).nodes(s.nodes).gpusPerNode(s.gpusPerNode).type(s.type).lend(s.lend).reclaim(s.reclaim).notice(s.notice))),
    jobs: [...jobs]
      .sort((x, y) => x.submit - y.submit)
      .map((j, i) =>
        job(`j${i}`)
          .org(j.org)
          .gpus(j.gpus, ...(j.types ?? []))
          .at(j.submit)
          .runs(j.duration)
          .estimate(Math.max(1, Math.round(j.duration * j.estimateFactor)))
          .checkpoint(j.checkpoint)
          .preemptible(j.preemptible)
          .priority(j.priority)
          .build(),
      ),
  }));

const total = (s: SiteSpec) => s.nodes * s.gpusPerNode;
const lendCap = (s: SiteSpec) => Math.floor(s.share.lendFraction * total(s));

/** Some site accepts the job's GPU type, is large enough, and is its org's or lends it enough. */
function canEverRun(j: JobSpec, p: PoolSpec): boolean {
  return p.sites.some((s) => (j.gpuTypes === null || j.gpuTypes.includes(s.gpuType)) && total(s) >= j.gpus && (s.org === j.org || lendCap(s) >= j.gpus));
}

function checkInvariants(w: Workload, sim: Simulation, policy: PolicyName): void {
  const specs = new Map(w.jobs.map((j) => [j.id as string, j]));
  assert.equal(sim.outcomes.length, w.jobs.length, 'one outcome per job');
  let doneWork = 0;
  for (const o of sim.outcomes) {
    const spec = specs.get(o.id);
    assert.ok(spec, `outcome for unknown job ${o.id}`);
    // 1. Without outages every job that some site may hold completes; the others are `never`.
    assert.equal(o.status, canEverRun(spec, w.pool) ? 'done' : 'never', `${o.id} (${spec.gpus} GPUs of org ${spec.org}, types ${spec.gpuTypes?.join('|') ?? 'any'})`);
    if (o.status === 'never') {
      assert.equal(o.start_s, null);
      continue;
    }
    // 2. Nothing starts before it is submitted; nothing ends sooner than it runs.
    assert.ok(o.start_s !== null && o.end_s !== null && o.jct_s !== null);
    assert.ok(o.start_s >= spec.submitS, `${o.id} started at ${o.start_s}, submitted at ${spec.submitS}`);
    // Times are floating-point seconds (LAS wakes at fractional instants): allow rounding, nothing more.
    const slack = 1e-9 * Math.max(1, o.end_s);
    assert.ok(o.jct_s >= spec.durationS - slack, `${o.id}: JCT ${o.jct_s} < duration ${spec.durationS}`);
    assert.ok(o.end_s - o.start_s >= spec.durationS - slack, `${o.id}: ran ${o.end_s - o.start_s} s of ${spec.durationS}`);
    assert.equal(o.queue_s, o.start_s - o.submit_s);
    assert.ok(o.lost_gpu_s >= 0);
    // 3. Only preempting policies preempt, and only preempted jobs lose work (there are no outages).
    if (!PREEMPTING.has(policy)) assert.equal(o.preemptions, 0, `${policy} preempted ${o.id}`);
    if (o.preemptions === 0) assert.equal(o.lost_gpu_s, 0, `${o.id} lost work without being preempted`);
    doneWork += spec.gpus * spec.durationS;
  }
  if (!PREEMPTING.has(policy)) assert.equal(sim.decisions.preemptions, 0);
  assert.equal(sim.decisions.failures, 0);

  // 4. The pool never has more GPUs allocated than it has, nor fewer than none, and all are given back.
  const { times, gpus } = sim.allocation;
  for (let i = 0; i < gpus.length; i++) {
    const g = gpus[i] ?? 0;
    assert.ok(g >= 0 && g <= sim.totalGpus, `allocation ${g} of ${sim.totalGpus} GPUs at ${times[i]}`);
    if (i > 0) assert.ok((times[i] ?? 0) > (times[i - 1] ?? 0), 'the allocation series moves forward in time');
  }
  assert.equal(gpus[gpus.length - 1] ?? 0, 0, 'every GPU is released at the end');

  // 5. The GPU time used covers at least the work done; without preemption, exactly.
  const used = summarize(sim).gpu_hours_used * 3600;
  assert.ok(used >= doneWork - 1e-6 * Math.max(1, doneWork), `GPU-seconds used ${used} < work done ${doneWork}`);
  if (!PREEMPTING.has(policy)) assert.ok(Math.abs(used - doneWork) <= 1e-6 * Math.max(1, doneWork), `GPU-seconds used ${used} ≠ work done ${doneWork}`);

  // 6. Without preemption each job runs once, on one site: no site ever holds more than it has.
  if (!PREEMPTING.has(policy)) {
    for (const s of w.pool.sites) {
      const edges = sim.outcomes
        .filter((o) => o.site === s.id && o.start_s !== null && o.end_s !== null)
        .flatMap((o) => [[o.start_s ?? 0, o.gpus] as const, [o.end_s ?? 0, -o.gpus] as const])
        .sort((x, y) => x[0] - y[0] || x[1] - y[1]); // releases before starts at the same instant
      let held = 0;
      for (const [t, d] of edges) {
        held += d;
        assert.ok(held >= 0 && held <= total(s), `site ${s.id} holds ${held} of ${total(s)} GPUs at ${t}`);
      }
    }
  }
}

for (const policy of POLICY_NAMES) {
  for (const backfill of [false, true]) {
    test(`${policy}${backfill ? ' with backfill' : ''}: conformance on generated pools and workloads`, () => {
      fc.assert(
        fc.property(workloadArb, (w) => {
          const run = () => simulate({ pool: w.pool, jobs: w.jobs, scheduler: { policy, backfill } });
          const sim = run();
          checkInvariants(w, sim, policy);
          // 7. Determinism: the same input gives the same outcome, decision for decision.
          const again = run();
          assert.deepEqual(again.outcomes, sim.outcomes);
          assert.deepEqual([...again.allocation.times], [...sim.allocation.times]);
          assert.deepEqual([...again.allocation.gpus], [...sim.allocation.gpus]);
          assert.deepEqual(again.decisions, sim.decisions);
        }),
        // A fixed seed keeps CI repeatable; FC_SEED=<n> explores other workloads.
        { numRuns: 80, seed: Number(process.env.FC_SEED ?? 20_261_126) },
      );
    });
  }
}

test('the suite covers every registered policy', () => {
  assert.deepEqual([...POLICY_NAMES].sort(), ['fair-share', 'fair-srtf', 'fifo', 'las', 'sjf', 'srtf']);
  for (const p of PREEMPTING) assert.ok(POLICY_NAMES.includes(p));
});
