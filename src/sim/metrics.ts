import type { JobOutcome, Simulation } from './engine.ts';

/**
 * Metrics as the literature defines them (shared/reference/scheduling-research.md §2.3):
 * JCT = end − submit; queueing delay = first start − submit; makespan = last end −
 * first submit; allocation utilization = allocated GPU-time ÷ (GPUs × makespan);
 * finish-time fairness ρ = JCT pooled ÷ JCT alone.
 */

export interface OrgMetrics {
  readonly org: string;
  readonly jobs: number;
  readonly done: number;
  readonly never_started: number;
  readonly avg_jct_s: number | null;
  readonly avg_queue_s: number | null;
  readonly gpu_hours: number;
}

export interface Summary {
  readonly jobs: number;
  readonly done: number;
  readonly never_started: number;
  readonly unfinished: number;
  readonly avg_jct_s: number | null;
  readonly p50_jct_s: number | null;
  readonly p99_jct_s: number | null;
  readonly avg_queue_s: number | null;
  readonly p99_queue_s: number | null;
  readonly makespan_s: number;
  readonly utilization: number;
  readonly total_gpus: number;
  readonly largest_job_started_gpus: number;
  readonly gpu_hours_used: number;
  readonly gpu_hours_lost_to_preemption: number;
  /** Work lost when sites failed (outages, maintenance) under running jobs. */
  readonly gpu_hours_lost_to_failures: number;
  readonly preemptions: number;
  readonly passes: number;
  readonly orgs: readonly OrgMetrics[];
}

/** The q-quantile (0–1) of sorted values, nearest rank; null for none. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? null;
}

function mean(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** GPU-seconds of a run: GPUs × the time between first start and end (preempted time included). */
function gpuSeconds(o: JobOutcome): number {
  return o.start_s !== null && o.end_s !== null ? o.gpus * (o.end_s - o.start_s) : 0;
}

export function summarize(sim: Simulation): Summary {
  const outcomes = sim.outcomes;
  const jct: number[] = [];
  const queue: number[] = [];
  let firstSubmit = Infinity;
  let lastEnd = -Infinity;
  let largest = 0;
  let lost = 0;
  let failed = 0;
  let preemptions = 0;
  const byOrg = new Map<string, JobOutcome[]>();
  for (const o of outcomes) {
    if (o.jct_s !== null) jct.push(o.jct_s);
    if (o.queue_s !== null) queue.push(o.queue_s);
    firstSubmit = Math.min(firstSubmit, o.submit_s);
    if (o.end_s !== null) lastEnd = Math.max(lastEnd, o.end_s);
    if (o.start_s !== null) largest = Math.max(largest, o.gpus);
    lost += o.lost_gpu_s;
    failed += o.failed_gpu_s;
    preemptions += o.preemptions;
    const list = byOrg.get(o.org) ?? [];
    list.push(o);
    byOrg.set(o.org, list);
  }
  jct.sort((a, b) => a - b);
  queue.sort((a, b) => a - b);
  const makespan = lastEnd > firstSubmit ? lastEnd - firstSubmit : 0;
  const allocated = allocatedGpuSeconds(sim, firstSubmit, lastEnd);
  return {
    jobs: outcomes.length,
    done: jct.length,
    never_started: outcomes.filter((o) => o.status === 'never').length,
    unfinished: outcomes.filter((o) => o.status === 'unfinished').length,
    avg_jct_s: mean(jct),
    p50_jct_s: quantile(jct, 0.5),
    p99_jct_s: quantile(jct, 0.99),
    avg_queue_s: mean(queue),
    p99_queue_s: quantile(queue, 0.99),
    makespan_s: makespan,
    utilization: makespan > 0 && sim.totalGpus > 0 ? allocated / (sim.totalGpus * makespan) : 0,
    total_gpus: sim.totalGpus,
    largest_job_started_gpus: largest,
    gpu_hours_used: allocated / 3600,
    gpu_hours_lost_to_preemption: lost / 3600,
    gpu_hours_lost_to_failures: failed / 3600,
    preemptions,
    passes: sim.passes,
    orgs: [...byOrg].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([org, list]) => {
      const done = list.filter((o) => o.jct_s !== null);
      const started = list.filter((o) => o.queue_s !== null);
      return {
        org,
        jobs: list.length,
        done: done.length,
        never_started: list.filter((o) => o.status === 'never').length,
        avg_jct_s: mean(done.map((o) => o.jct_s ?? 0)),
        avg_queue_s: mean(started.map((o) => o.queue_s ?? 0)),
        gpu_hours: list.reduce((s, o) => s + gpuSeconds(o), 0) / 3600,
      };
    }),
  };
}

/** Integral of the allocation step function over [from, to], GPU-seconds. */
export function allocatedGpuSeconds(sim: Simulation, from: number, to: number): number {
  const { times, gpus } = sim.allocation;
  let total = 0;
  for (let i = 0; i < times.length; i++) {
    const a = Math.max(from, times[i] ?? 0);
    const b = Math.min(to, times[i + 1] ?? to);
    if (b > a) total += (gpus[i] ?? 0) * (b - a);
  }
  return total;
}

/** Allocation utilization in `bins` equal time slices over [from, to], each 0–1. */
export function utilizationSeries(sim: Simulation, from: number, to: number, bins: number): { t: number; utilization: number }[] {
  const width = (to - from) / bins;
  if (!(width > 0) || sim.totalGpus === 0) return [];
  return Array.from({ length: bins }, (_, i) => {
    const a = from + i * width;
    return { t: a, utilization: allocatedGpuSeconds(sim, a, a + width) / (sim.totalGpus * width) };
  });
}

export interface OrgFairness {
  readonly org: string;
  /** Jobs completed in both runs, over which ρ is computed. */
  readonly jobs: number;
  readonly avg_jct_pooled_s: number | null;
  readonly avg_jct_alone_s: number | null;
  /** Mean JCT pooled ÷ mean JCT alone: below 1 the org gains from pooling. */
  readonly rho: number | null;
  /** Jobs that ran pooled but could never start alone. */
  readonly enabled_by_pooling: number;
}

export interface Fairness {
  readonly orgs: readonly OrgFairness[];
  /** Share of jobs (completed in both) whose JCT pooled exceeds alone by more than 1%. */
  readonly jobs_worse_off: number;
  /** Share of orgs with ρ > 1.01. */
  readonly orgs_worse_off: number;
  readonly worst_rho: number | null;
  readonly worst_org: string | null;
}

/** Finish-time fairness of a pooled run against the same jobs run by each org alone. */
export function fairness(pooled: readonly JobOutcome[], alone: readonly JobOutcome[]): Fairness {
  const aloneById = new Map(alone.map((o) => [o.id, o]));
  const perOrg = new Map<string, { pooled: number[]; alone: number[]; enabled: number }>();
  let compared = 0;
  let worse = 0;
  for (const p of pooled) {
    const a = aloneById.get(p.id);
    const org = perOrg.get(p.org) ?? { pooled: [], alone: [], enabled: 0 };
    perOrg.set(p.org, org);
    if (p.jct_s !== null && a?.jct_s !== null && a !== undefined) {
      org.pooled.push(p.jct_s);
      org.alone.push(a.jct_s ?? 0);
      compared++;
      if (p.jct_s > (a.jct_s ?? 0) * 1.01) worse++;
    } else if (p.jct_s !== null && a?.status === 'never') {
      org.enabled++;
    }
  }
  const orgs = [...perOrg].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([org, v]): OrgFairness => {
    const mp = mean(v.pooled);
    const ma = mean(v.alone);
    return { org, jobs: v.pooled.length, avg_jct_pooled_s: mp, avg_jct_alone_s: ma, rho: mp !== null && ma !== null && ma > 0 ? mp / ma : null, enabled_by_pooling: v.enabled };
  });
  const rated = orgs.filter((o) => o.rho !== null);
  const worst = rated.reduce<OrgFairness | null>((w, o) => (w === null || (o.rho ?? 0) > (w.rho ?? 0) ? o : w), null);
  return {
    orgs,
    jobs_worse_off: compared > 0 ? worse / compared : 0,
    orgs_worse_off: rated.length > 0 ? rated.filter((o) => (o.rho ?? 0) > 1.01).length / rated.length : 0,
    worst_rho: worst?.rho ?? null,
    worst_org: worst?.org ?? null,
  };
}
