import type { JobSpec } from '../model/job.ts';
import type { PoolSpec } from '../model/pool.ts';
import type { SchedulerOptions } from '../sched/scheduler.ts';
import { simulate, type JobOutcome, type Outage, type Simulation } from './engine.ts';
import { fairness, summarize, type Fairness, type Summary } from './metrics.ts';

/**
 * The pooling experiment: the same jobs on the same GPUs, once pooled (one queue
 * over every site, borrowing allowed as each site's share policy says) and once
 * siloed (every org alone on its own sites, as separate clusters), then each org's
 * finish-time fairness ρ = JCT pooled ÷ JCT alone.
 */

export type Mode = 'pooled' | 'siloed';

export interface ExperimentInput {
  readonly pool: PoolSpec;
  readonly jobs: readonly JobSpec[];
  readonly scheduler: Partial<SchedulerOptions> & Pick<SchedulerOptions, 'policy'>;
  readonly modes: readonly Mode[];
  readonly outages?: readonly Outage[];
  readonly onProgress?: (mode: Mode, done: number, total: number) => void;
}

export interface ModeResult {
  readonly summary: Summary;
  readonly simulation: Simulation;
}

export interface ExperimentResult {
  readonly pooled?: ModeResult;
  readonly siloed?: ModeResult;
  /** Present when both modes ran. */
  readonly fairness?: Fairness;
}

export function runExperiment(input: ExperimentInput): ExperimentResult {
  const run = (mode: Mode): ModeResult => {
    const onProgress = input.onProgress ? (d: number, t: number) => input.onProgress?.(mode, d, t) : undefined;
    const simulation = mode === 'pooled'
      ? simulate({ pool: input.pool, jobs: input.jobs, scheduler: input.scheduler, ...(input.outages ? { outages: input.outages } : {}), ...(onProgress ? { onProgress } : {}) })
      : simulateSiloed(input, onProgress);
    return { summary: summarize(simulation), simulation };
  };
  const pooled = input.modes.includes('pooled') ? run('pooled') : undefined;
  const siloed = input.modes.includes('siloed') ? run('siloed') : undefined;
  return {
    ...(pooled ? { pooled } : {}),
    ...(siloed ? { siloed } : {}),
    ...(pooled && siloed ? { fairness: fairness(pooled.simulation.outcomes, siloed.simulation.outcomes) } : {}),
  };
}

/**
 * Every org alone: one independent simulation per org on its own sites (lending
 * nothing); an org without sites cannot run anything alone. Outcomes come back in
 * the order of `input.jobs`; the allocation series is the sum of the orgs'.
 */
function simulateSiloed(input: ExperimentInput, onProgress?: (done: number, total: number) => void): Simulation {
  const jobsByOrg = new Map<string, JobSpec[]>();
  for (const j of input.jobs) {
    const list = jobsByOrg.get(j.org) ?? [];
    list.push(j);
    jobsByOrg.set(j.org, list);
  }
  const outcomeById = new Map<string, JobOutcome>();
  const changes: { t: number; delta: number }[] = [];
  let done = 0;
  let passes = 0;
  const decisions = { starts: 0, preemptions: 0, failures: 0, shrinks: 0 };
  for (const [org, jobs] of jobsByOrg) {
    const sites = input.pool.sites.filter((s) => s.org === org).map((s) => ({ ...s, share: { ...s.share, lendFraction: 0 } }));
    const sim = simulate({
      pool: { ...input.pool, orgs: input.pool.orgs.filter((o) => o.id === org), sites },
      jobs,
      scheduler: input.scheduler,
      ...(input.outages ? { outages: input.outages.filter((o) => sites.some((s) => s.id === o.site)) } : {}),
    });
    for (const o of sim.outcomes) outcomeById.set(o.id, o);
    let prev = 0;
    for (let i = 0; i < sim.allocation.times.length; i++) {
      const v = sim.allocation.gpus[i] ?? 0;
      changes.push({ t: sim.allocation.times[i] ?? 0, delta: v - prev });
      prev = v;
    }
    passes += sim.passes;
    decisions.starts += sim.decisions.starts;
    decisions.preemptions += sim.decisions.preemptions;
    decisions.failures += sim.decisions.failures;
    decisions.shrinks += sim.decisions.shrinks;
    done += jobs.length;
    onProgress?.(done, input.jobs.length);
  }
  changes.sort((a, b) => a.t - b.t);
  const times: number[] = [];
  const gpus: number[] = [];
  let level = 0;
  for (const c of changes) {
    level += c.delta;
    if (times.length > 0 && times[times.length - 1] === c.t) gpus[gpus.length - 1] = level;
    else {
      times.push(c.t);
      gpus.push(level);
    }
  }
  return {
    outcomes: input.jobs.map((j) => outcomeById.get(j.id) as JobOutcome),
    allocation: { times: Float64Array.from(times), gpus: Float64Array.from(gpus) },
    totalGpus: input.pool.sites.reduce((n, s) => n + s.nodes * s.gpusPerNode, 0),
    decisions,
    passes,
  };
}
