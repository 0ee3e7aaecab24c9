// The scheduler core alone (no simulator): one full pass over a long queue on a
// large, busy pool (target: 100,000 jobs on 500,000 GPUs in ≤ 100 ms), and placement
// throughput on an idle pool (target ≥ 20,000 jobs/s), each at three sizes.
import { jobId, orgId } from '../src/model/ids.ts';
import { jobDefaults, type JobSpec } from '../src/model/job.ts';
import type { PoolSpec } from '../src/model/pool.ts';
import type { PolicyName } from '../src/sched/policies/registry.ts';
import { Scheduler } from '../src/sched/scheduler.ts';
import { nationalPool, DEFAULT_NATIONAL_PARAMS } from '../src/sim/pools/national.ts';
import { Rng } from '../src/sim/rng.ts';
import { report, summarize, type BenchResult } from './harness.ts';

const SIZES = [1, 1, 1, 2, 4, 8, 8, 16, 32, 64];

function jobs(pool: PoolSpec, n: number, rng: Rng, prefix: string, durationS: number): JobSpec[] {
  const orgs = [...new Set(pool.sites.map((s) => s.org as string))];
  return Array.from({ length: n }, (_, i) => ({
    ...jobDefaults(),
    id: jobId(`${prefix}${i}`),
    org: orgId(rng.pick(orgs)),
    gpus: rng.pick(SIZES),
    submitS: 0,
    estimateS: durationS,
    durationS,
  }));
}

/** A national-style pool of `gpus` GPUs in 200 orgs, none over a quarter of the pool. */
function benchPool(gpus: number, rng: Rng): PoolSpec {
  return nationalPool({ ...DEFAULT_NATIONAL_PARAMS, gpus, maxOrgGpus: Math.min(16_384, gpus / 4) }, rng.fork('pool'));
}

/** A pool filled to the brim by long jobs, then `queue` more jobs waiting: the time of one full pass. */
function passOverQueue(gpus: number, queue: number, policy: PolicyName, rounds: number): BenchResult {
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const rng = new Rng(11 + r);
    const pool = benchPool(gpus, rng);
    const sched = new Scheduler(pool, { policy });
    for (const j of jobs(pool, Math.ceil(gpus / 2), rng.fork('fill'), 'fill-', 1e9)) sched.submit(j);
    sched.pass(0); // fills the pool
    for (const j of jobs(pool, queue, rng.fork('queue'), 'q-', 3600)) sched.submit({ ...j, submitS: 1 });
    sched.pass(1); // admits what still fits; the rest waits
    const running = sched.state.jobs.find((j) => j.phase === 'running');
    if (running) sched.finish(running, 2); // frees GPUs, so the next pass walks the whole queue
    const t0 = performance.now();
    sched.pass(2);
    times.push(performance.now() - t0);
  }
  return summarize(`full pass, ${policy}: ${queue.toLocaleString('en-US')} queued on ${gpus.toLocaleString('en-US')} GPUs`, 'ms', times);
}

/** Jobs placed per second when they all fit: one pass placing `n` jobs on an idle pool. */
function placementRate(gpus: number, n: number, policy: PolicyName, rounds: number): BenchResult {
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const rng = new Rng(23 + r);
    const pool = benchPool(gpus, rng);
    const sched = new Scheduler(pool, { policy });
    for (const j of jobs(pool, n, rng.fork('jobs'), 'p-', 3600)) sched.submit(j);
    const t0 = performance.now();
    const placed = sched.pass(0).filter((d) => d.kind === 'start').length;
    rates.push(placed / ((performance.now() - t0) / 1000));
  }
  return summarize(`placement, ${policy}: ${n.toLocaleString('en-US')} jobs on ${gpus.toLocaleString('en-US')} idle GPUs`, 'jobs/s', rates);
}

export function benchSched(rounds = 5): void {
  const results: BenchResult[] = [];
  for (const policy of ['fifo', 'sjf', 'fair-share'] as const) {
    for (const queue of [10_000, 50_000, 100_000]) results.push(passOverQueue(500_000, queue, policy, rounds));
    for (const gpus of [50_000, 200_000]) results.push(passOverQueue(gpus, 100_000, policy, rounds));
  }
  for (const policy of ['fifo', 'fair-share'] as const) {
    for (const gpus of [50_000, 200_000, 500_000]) results.push(placementRate(gpus, Math.floor(gpus / 25), policy, rounds));
  }
  report('sched', results);
}
