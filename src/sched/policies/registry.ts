import { InvalidInputError } from '../../model/errors.ts';
import type { PolicyProfile, PreemptionRule } from '../policy.ts';
import type { JobRecord, PoolState } from '../state.ts';
import { FairShareOrder, nextReclaimTime, reclaimRule } from './fair-share.ts';
import { KeyedOrder } from './keyed-order.ts';
import { chooseVictims, type RankFn } from './victims.ts';

/** Options every policy may read; each reads only what it needs. */
export interface PolicyOptions {
  /** Seconds between two reclaims on one site (fair share). */
  readonly reclaimIntervalS: number;
  /** Attained-service thresholds between LAS queues, GPU-seconds, ascending. */
  readonly lasThresholdsGpuS: readonly number[];
}

export const DEFAULT_POLICY_OPTIONS: PolicyOptions = { reclaimIntervalS: 300, lasThresholdsGpuS: [3_600, 36_000] };

/** Remaining estimated run time of a running job at `now`. */
const remainingAt = (j: JobRecord, now: number) => j.remainingEstimateS - (j.startedAtS >= 0 ? now - j.startedAtS : 0);

function lasLevel(attainedGpuS: number, thresholds: readonly number[]): number {
  let level = 0;
  while (level < thresholds.length && attainedGpuS >= (thresholds[level] ?? Infinity)) level++;
  return level;
}

/** When the next running job's attained service crosses an LAS threshold (and may become preemptible by waiting jobs). */
function nextLevelCrossing(state: PoolState, now: number, thresholds: readonly number[]): number {
  let t = Infinity;
  for (const s of state.sites) {
    for (const j of s.running.keys()) {
      const r = state.jobs[j];
      if (!r || r.startedAtS < 0) continue;
      const attained = r.attainedGpuS + (now - r.startedAtS) * r.spec.gpus;
      const next = thresholds.find((x) => x > attained);
      if (next !== undefined) t = Math.min(t, now + (next - attained) / r.spec.gpus);
    }
  }
  return t;
}

/**
 * Preempt running jobs that rank after the waiting one: `after(victim, waiting)` is
 * true. `rank` orders victims, highest first, and `after` must hold for a leading
 * run of that order (it does when both read the same priority).
 */
function priorityRule(after: (victim: JobRecord, waiting: JobRecord, now: number) => boolean, rank: RankFn): PreemptionRule {
  return {
    why: 'priority',
    victims: (job, ctx) => chooseVictims(job, ctx, ctx.candidates, (v) => after(v, job, ctx.now), rank, true),
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
      preemption: priorityRule((v, w, now) => remainingAt(v, now) > w.remainingEstimateS, Object.assign((v: JobRecord, now: number) => remainingAt(v, now), { timeInvariant: true })),
    }),
  },
  las: {
    description: 'Tiresias-style discretized 2D least attained service (GPUs × time); needs no duration; preempts jobs in lower queues',
    create: (o: PolicyOptions): PolicyProfile => {
      const level = (j: JobRecord, now: number) => lasLevel(j.attainedGpuS + (j.phase === 'running' && j.startedAtS >= 0 ? (now - j.startedAtS) * j.spec.gpus : 0), o.lasThresholdsGpuS);
      return {
        name: 'las',
        order: new KeyedOrder((j) => lasLevel(j.attainedGpuS, o.lasThresholdsGpuS), false),
        preemption: priorityRule((v, w, now) => level(v, now) > level(w, now), level),
        wakeAt: (state, now) => nextLevelCrossing(state, now, o.lasThresholdsGpuS),
      };
    },
  },
  'fair-share': {
    description: 'fair share by contribution: orgs furthest below what they contribute go first, borrow idle GPUs, and owners reclaim lent GPUs by preemption (rate-limited)',
    create: (o: PolicyOptions): PolicyProfile => ({ name: 'fair-share', order: new FairShareOrder(), preemption: reclaimRule(o.reclaimIntervalS), wakeAt: nextReclaimTime }),
  },
} as const satisfies Record<string, { description: string; create: (o: PolicyOptions) => PolicyProfile }>;

export type PolicyName = keyof typeof POLICIES;
export const POLICY_NAMES = Object.keys(POLICIES) as PolicyName[];

export function policyByName(name: string): PolicyName {
  if (!(name in POLICIES)) throw new InvalidInputError('policy', `unknown policy "${name}"`, POLICY_NAMES.join(', '));
  return name as PolicyName;
}
