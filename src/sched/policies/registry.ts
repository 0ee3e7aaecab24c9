import { InvalidInputError } from '../../model/errors.ts';
import type { PolicyProfile, PreemptionRule } from '../policy.ts';
import type { JobRecord } from '../state.ts';
import { EventHeap } from '../event-heap.ts';
import { FairShareOrder, nextReclaimTime, reclaimRule, ShareThenShortestOrder } from './fair-share.ts';
import { KeyedOrder } from './keyed-order.ts';
import { chooseVictims, type RankFn } from './victims.ts';

/** Options every policy may read; each reads only what it needs. */
export interface PolicyOptions {
  /** Seconds between two reclaims on one site (fair share). */
  readonly reclaimIntervalS: number;
  /** Attained-service thresholds between LAS queues, GPU-seconds, ascending. */
  readonly lasThresholdsGpuS: readonly number[];
  /**
   * Whether jobs' estimates say anything. False: nobody gave a run time (the
   * scheduler takes every job for UNKNOWN_DURATION_S, so sorting by it is arrival
   * order), and policies that can do without (las, fair-srtf) go by attained service.
   */
  readonly durationsKnown: boolean;
}

export const DEFAULT_POLICY_OPTIONS: PolicyOptions = { reclaimIntervalS: 300, lasThresholdsGpuS: [3_600, 36_000], durationsKnown: true };

/** What the scheduler takes a job's run time for when durations are not known: an hour, the same for every job. */
export const UNKNOWN_DURATION_S = 3_600;

/** When a job is estimated to end if it keeps running: `now` plus its remaining time, the same at every `now` while it runs. */
const estimatedEnd: RankFn = Object.assign((j: JobRecord) => j.startedAtS + j.remainingEstimateS, { validUntil: () => Infinity });

function lasLevel(attainedGpuS: number, thresholds: readonly number[]): number {
  let level = 0;
  while (level < thresholds.length && attainedGpuS >= (thresholds[level] ?? Infinity)) level++;
  return level;
}

/** GPU-seconds a job has attained by `now`, its current run included. */
const attainedAt = (j: JobRecord, now: number) => j.attainedGpuS + (j.phase === 'running' && j.startedAtS >= 0 ? (now - j.startedAtS) * j.spec.gpus : 0);

/** A job's LAS level at `now` (its current run counted), valid until its next crossing: the rank LAS preempts by. */
const levelRank = (thresholds: readonly number[]): RankFn =>
  Object.assign((j: JobRecord, now: number) => lasLevel(attainedAt(j, now), thresholds), { validUntil: (j: JobRecord, now: number) => levelCrossing(j, now, thresholds) });

/** When a running job's attained service next crosses an LAS threshold, or Infinity. */
function levelCrossing(j: JobRecord, now: number, thresholds: readonly number[]): number {
  const attained = attainedAt(j, now);
  const next = thresholds.find((x) => x > attained);
  return next === undefined ? Infinity : now + (next - attained) / j.spec.gpus;
}

/**
 * The LAS queue boundaries running jobs will cross, soonest first: each start adds
 * the job's crossings (fixed while it runs: attained service grows linearly); ones
 * of runs that ended, or already past, are dropped as they reach the top.
 */
class LevelCrossings {
  private readonly heap = new EventHeap<{ job: JobRecord; epoch: number }>();

  constructor(private readonly thresholds: readonly number[]) {}

  started(job: JobRecord): void {
    for (const x of this.thresholds) if (x > job.attainedGpuS) this.heap.push(job.startedAtS + (x - job.attainedGpuS) / job.spec.gpus, { job, epoch: job.epoch });
  }

  /** The next crossing after `now` of a job still in the run it was added for. */
  next(now: number): number {
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined) return Infinity;
      if (this.heap.peekTime() > now && top.job.epoch === top.epoch && top.job.allocation !== null) return this.heap.peekTime();
      this.heap.pop();
    }
  }
}

/**
 * Preempt running jobs that rank after the waiting one: those whose `rank` is
 * above `threshold(waiting, now)`, highest first.
 */
function priorityRule(threshold: (waiting: JobRecord, now: number) => number, rank: RankFn): PreemptionRule {
  return {
    why: 'priority',
    victims: (job, ctx) => chooseVictims(job, ctx, ctx.candidates, { rankAbove: threshold(job, ctx.now) }, rank),
  };
}

export const POLICIES = {
  fifo: {
    description: 'first in, first out, strictly: a job that cannot start blocks every job behind it (the literature’s baseline)',
    create: (): PolicyProfile => ({ name: 'fifo', order: new KeyedOrder((j) => j.spec.submitS, true), preemption: null }),
  },
  sjf: {
    description: 'shortest job first by (oracle) estimate; skips jobs that do not fit; no preemption',
    create: (): PolicyProfile => ({ name: 'sjf', order: new KeyedOrder((j) => j.remainingEstimateS, false), preemption: null }),
  },
  srtf: {
    description: 'shortest remaining time first by (oracle) estimate; preempts running jobs with more time left',
    create: (): PolicyProfile => ({
      name: 'srtf',
      order: new KeyedOrder((j) => j.remainingEstimateS, false),
      // Running jobs estimated to end after the waiting one would (started now) are stopped, the latest first.
      preemption: priorityRule((w, now) => now + w.remainingEstimateS, estimatedEnd),
    }),
  },
  las: {
    description: 'Tiresias-style discretized 2D least attained service (GPUs × time); needs no duration; preempts jobs in lower queues',
    create: (o: PolicyOptions): PolicyProfile => {
      const thresholds = o.lasThresholdsGpuS;
      const level = levelRank(thresholds);
      const crossings = new LevelCrossings(thresholds);
      return {
        name: 'las',
        order: new KeyedOrder((j) => lasLevel(j.attainedGpuS, thresholds), false),
        preemption: priorityRule(level, level),
        wakeAt: (_state, now) => crossings.next(now),
        started: (job) => crossings.started(job),
      };
    },
  },
  'fair-share': {
    description: 'fair share by contribution: orgs furthest below what they contribute go first, borrow idle GPUs, and owners reclaim lent GPUs by preemption (rate-limited)',
    create: (o: PolicyOptions): PolicyProfile => ({ name: 'fair-share', order: new FairShareOrder(), preemption: reclaimRule(o.reclaimIntervalS), wakeAt: nextReclaimTime }),
  },
  'fair-srtf': {
    description: 'fair share for what each org contributes, shortest remaining first (by estimate; without estimates, least attained service) for the rest: jobs inside their org’s share first, shortest first across orgs, then borrowers shortest first; owners reclaim lent GPUs (rate-limited), and a job stops its own org’s jobs that rank after it',
    create: (o: PolicyOptions): PolicyProfile => {
      const reclaim = reclaimRule(o.reclaimIntervalS);
      // Shortest remaining first: by estimate, or without durations by what the org's finished jobs predict
      // (Scheduler.estimateOf). Without durations a job stops only its org's jobs further served (Tiresias' levels), as
      // a prediction is too rough to stop a run for.
      const thresholds = o.lasThresholdsGpuS;
      const level = levelRank(thresholds);
      const crossings = o.durationsKnown ? null : new LevelCrossings(thresholds);
      const key = (j: JobRecord) => j.remainingEstimateS;
      // Inside its org a job stops the org's own jobs that rank after it: estimated to end later, or further served.
      const ownAfter = (job: JobRecord, now: number) => ({
        test: o.durationsKnown
          ? (v: JobRecord) => v.org === job.org && v.startedAtS + v.remainingEstimateS > now + job.remainingEstimateS
          : (v: JobRecord) => v.org === job.org && level(v, now) > level(job, now),
      });
      return {
        name: 'fair-srtf', order: new ShareThenShortestOrder(key),
        wakeAt: (state, now) => Math.min(nextReclaimTime(state, now), crossings?.next(now) ?? Infinity),
        ...(crossings === null ? {} : { started: (job: JobRecord) => crossings.started(job) }),
        preemption: {
          why: 'reclaim',
          victims: (job, ctx) => {
            const reclaimed = reclaim.victims(job, ctx);
            if (reclaimed !== null) return reclaimed;
            const own = chooseVictims(job, ctx, ctx.candidates, ownAfter(job, ctx.now), o.durationsKnown ? estimatedEnd : level);
            return own === null ? null : { ...own, why: 'priority' };
          },
        },
      };
    },
  },
} as const satisfies Record<string, { description: string; create: (o: PolicyOptions) => PolicyProfile }>;

export type PolicyName = keyof typeof POLICIES;
export const POLICY_NAMES = Object.keys(POLICIES) as PolicyName[];

export function policyByName(name: string): PolicyName {
  if (!(name in POLICIES)) throw new InvalidInputError('policy', `unknown policy "${name}"`, POLICY_NAMES.join(', '));
  return name as PolicyName;
}
