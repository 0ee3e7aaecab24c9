import type { JobSpec } from '../model/job.ts';
import type { PoolSpec } from '../model/pool.ts';
import { describeDiagnosis } from '../sched/diagnosis.ts';
import { Scheduler, type SchedulerOptions } from '../sched/scheduler.ts';
import type { JobRecord } from '../sched/state.ts';
import { EventHeap } from '../sched/event-heap.ts';

/**
 * The discrete-event simulator: replays a trace against a pool on a virtual clock,
 * driving the same Scheduler the control plane drives. It never sleeps and reads
 * no clock; the same inputs give the same outcome.
 */

/** A site unavailable from `startS` to `endS`: its running jobs fail and are requeued. */
export interface Outage {
  readonly site: string;
  readonly startS: number;
  readonly endS: number;
  /** A maintenance window is announced; an outage is not. Both stop the site's jobs. */
  readonly kind: 'outage' | 'maintenance';
}

export interface SimulationInput {
  readonly pool: PoolSpec;
  /** Sorted by submit time. */
  readonly jobs: readonly JobSpec[];
  readonly scheduler: Partial<SchedulerOptions> & Pick<SchedulerOptions, 'policy'>;
  readonly outages?: readonly Outage[];
  /** Called every `progressEvery` events with (jobs finished or given up, jobs total). */
  readonly onProgress?: (done: number, total: number) => void;
  /** Called at every start, after the scheduler placed the job (its allocation is set). */
  readonly onStart?: (job: JobRecord, now: number) => void;
  readonly progressEvery?: number;
}

export type JobStatus = 'done' | 'never' | 'unfinished';

/** What became of one job. Times in seconds of simulated time. */
export interface JobOutcome {
  readonly id: string;
  readonly org: string;
  readonly gpus: number;
  readonly submit_s: number;
  /** First start, or null if it never started. */
  readonly start_s: number | null;
  readonly end_s: number | null;
  readonly jct_s: number | null;
  readonly queue_s: number | null;
  readonly preemptions: number;
  /** GPU-seconds of work lost to preemptions (work since the last checkpoint). */
  readonly lost_gpu_s: number;
  /** GPU-seconds of work lost to site failures. */
  readonly failed_gpu_s: number;
  readonly status: JobStatus;
  /** Why it waited (its last diagnosis), or null if it never waited for a reason. */
  readonly wait_reason: string | null;
  /** Site of its last run. */
  readonly site: string | null;
}

export interface Simulation {
  readonly outcomes: readonly JobOutcome[];
  /** Allocated GPUs over time: (time, GPUs allocated from then on), a step function. */
  readonly allocation: { readonly times: Float64Array; readonly gpus: Float64Array };
  readonly totalGpus: number;
  /** Every scheduling decision count, for the record. */
  readonly decisions: { readonly starts: number; readonly preemptions: number; readonly failures: number; readonly shrinks: number };
  readonly passes: number;
}

type SimEvent =
  | { readonly kind: 'finish'; readonly job: JobRecord; readonly epoch: number }
  | { readonly kind: 'stop'; readonly job: JobRecord; readonly epoch: number }
  /** A spanning job's notice to leave `site` ran out. */
  | { readonly kind: 'shrink'; readonly job: JobRecord; readonly epoch: number; readonly site: number }
  | { readonly kind: 'down'; readonly site: number }
  | { readonly kind: 'up'; readonly site: number }
  /** A time-based trigger of the policy is due: run a pass. */
  | { readonly kind: 'wake' };

/** Grows a pair of Float64Arrays by doubling; the allocation series can reach millions of points. */
class Series {
  times = new Float64Array(1024);
  values = new Float64Array(1024);
  n = 0;
  add(t: number, v: number): void {
    if (this.n > 0 && this.values[this.n - 1] === v) return;
    if (this.n > 0 && this.times[this.n - 1] === t) {
      this.values[this.n - 1] = v;
      return;
    }
    if (this.n === this.times.length) {
      const t2 = new Float64Array(this.n * 2);
      t2.set(this.times);
      this.times = t2;
      const v2 = new Float64Array(this.n * 2);
      v2.set(this.values);
      this.values = v2;
    }
    this.times[this.n] = t;
    this.values[this.n] = v;
    this.n++;
  }
}

export function simulate(input: SimulationInput): Simulation {
  const { pool, jobs } = input;
  const sched = new Scheduler(pool, input.scheduler, jobs.map((j) => j.org));
  const heap = new EventHeap<SimEvent>();
  const siteIndex = new Map(pool.sites.map((s, i) => [s.id as string, i]));
  for (const o of input.outages ?? []) {
    const site = siteIndex.get(o.site);
    if (site === undefined) continue;
    heap.push(o.startS, { kind: 'down', site });
    heap.push(o.endS, { kind: 'up', site });
  }
  const records: JobRecord[] = [];
  const series = new Series();
  let next = 0;
  let settled = 0;
  let events = 0;
  let passes = 0;
  let starts = 0;
  let preemptions = 0;
  let failures = 0;
  let shrinks = 0;
  let lastWake = Infinity;
  const every = input.progressEvery ?? 10_000;
  /** When the job's current run ends, at its rate (below 1 across sites or after a shrink). */
  const finishAt = (job: JobRecord, now: number) => heap.push(now + (job.spec.durationS - job.workDoneS) / job.rate, { kind: 'finish', job, epoch: job.epoch });

  // The recipe per instant: 1. admit arrivals, 2. apply events, 3. one pass, 4. schedule the decisions' consequences.
  while (next < jobs.length || heap.size > 0) {
    const t = Math.min(jobs[next]?.submitS ?? Infinity, heap.peekTime());
    const arrivedFrom = records.length;
    while (next < jobs.length && (jobs[next]?.submitS ?? Infinity) <= t) {
      const r = sched.submit(jobs[next] as JobSpec);
      records.push(r);
      if (r.phase === 'never') settled++;
      next++;
      events++;
    }
    while (heap.peekTime() <= t) {
      const e = heap.pop() as SimEvent;
      events++;
      switch (e.kind) {
        case 'finish':
          // A job finishing during a reclaim notice is done, not preempted.
          if (e.job.epoch === e.epoch && (e.job.phase === 'running' || e.job.phase === 'stopping')) {
            sched.finish(e.job, t);
            settled++;
          }
          break;
        case 'stop':
          if (e.job.epoch === e.epoch && e.job.phase === 'stopping') sched.stop(e.job, t, 'preempted');
          break;
        case 'shrink':
          if (e.job.epoch !== e.epoch || e.job.leaving !== e.site) break;
          // The rest of the job goes on when it still can; otherwise it stops as a preempted job would.
          if (sched.shrink(e.job, e.site, t)) finishAt(e.job, t);
          else sched.stop(e.job, t, 'preempted');
          break;
        case 'down': {
          const { failed, shrunk } = sched.siteDown(e.site, t);
          failures += failed.length;
          shrinks += shrunk.length;
          for (const j of shrunk) finishAt(j, t);
          break;
        }
        case 'up':
          sched.siteUp(e.site);
          break;
        case 'wake':
          break;
      }
      if (events % every === 0) input.onProgress?.(settled, jobs.length);
    }
    const decisions = sched.pass(t);
    passes++;
    // Jobs that arrived now and could not start get their diagnosis now, even if a pass skipped them.
    for (let i = arrivedFrom; i < records.length; i++) {
      const r = records[i] as JobRecord;
      if (r.phase === 'queued' && sched.diagnosis(r) === undefined) sched.explain(r, t);
    }
    for (const d of decisions) {
      if (d.kind === 'start') {
        starts++;
        finishAt(d.job, t);
        input.onStart?.(d.job, t);
      } else if (d.kind === 'shrink') {
        shrinks++;
        if (d.atS > t) heap.push(d.atS, { kind: 'shrink', job: d.job, epoch: d.job.epoch, site: d.site });
        else finishAt(d.job, t);
      } else {
        preemptions++;
        if (d.atS > t) heap.push(d.atS, { kind: 'stop', job: d.job, epoch: d.job.epoch });
      }
    }
    const wake = sched.wakeAt;
    if (wake > t && wake < Infinity && wake !== lastWake) {
      heap.push(wake, { kind: 'wake' });
      lastWake = wake;
    }
    series.add(t, sched.state.allocated);
    if (events % every === 0) input.onProgress?.(settled, jobs.length);
  }
  input.onProgress?.(jobs.length, jobs.length);

  const siteIds = pool.sites.map((s) => s.id as string);
  const outcomes = records.map((r): JobOutcome => {
    const done = r.phase === 'done';
    const diag = sched.diagnosis(r);
    const started = r.firstStartS >= 0;
    return {
      id: r.spec.id,
      org: r.spec.org,
      gpus: r.spec.gpus,
      submit_s: r.spec.submitS,
      start_s: started ? r.firstStartS : null,
      end_s: done ? r.endS : null,
      jct_s: done ? r.endS - r.spec.submitS : null,
      queue_s: started ? r.firstStartS - r.spec.submitS : null,
      preemptions: r.preemptions,
      lost_gpu_s: r.lostGpuS,
      failed_gpu_s: r.failedGpuS,
      status: done ? 'done' : r.phase === 'never' ? 'never' : 'unfinished',
      wait_reason: diag ? describeDiagnosis(diag) : null,
      site: siteIds[r.lastSite] ?? null,
    };
  });
  return {
    outcomes,
    allocation: { times: series.times.slice(0, series.n), gpus: series.values.slice(0, series.n) },
    totalGpus: sched.state.totalGpus(),
    decisions: { starts, preemptions, failures, shrinks },
    passes,
  };
}
