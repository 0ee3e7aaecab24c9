import { InvalidInputError } from '../../model/errors.ts';
import type { PolicyProfile, PreemptionRule } from '../policy.ts';
import type { JobRecord, PoolState, SiteState } from '../state.ts';
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

/** When a job is estimated to end if it keeps running: `now` plus its remaining time, the same at every `now` while it runs. */
const estimatedEnd: RankFn = Object.assign((j: JobRecord) => j.startedAtS + j.remainingEstimateS, { validUntil: () => Infinity });

function lasLevel(attainedGpuS: number, thresholds: readonly number[]): number {
  let level = 0;
  while (level < thresholds.length && attainedGpuS >= (thresholds[level] ?? Infinity)) level++;
  return level;
}

/** GPU-seconds a job has attained by `now`, its current run included. */
const attainedAt = (j: JobRecord, now: number) => j.attainedGpuS + (j.phase === 'running' && j.startedAtS >= 0 ? (now - j.startedAtS) * j.spec.gpus : 0);

/** When a running job's attained service next crosses an LAS threshold, or Infinity. */
function levelCrossing(j: JobRecord, now: number, thresholds: readonly number[]): number {
  const attained = attainedAt(j, now);
  const next = thresholds.find((x) => x > attained);
  return next === undefined ? Infinity : now + (next - attained) / j.spec.gpus;
}

/**
 * Every future threshold crossing of a site's running jobs, ascending, as absolute
 * times: fixed while the jobs run (attained service grows linearly), so cached
 * until a job starts or stops there.
 */
const crossingsCache = new WeakMap<SiteState, { version: number; thresholds: readonly number[]; times: number[] }>();

function siteCrossings(state: PoolState, site: SiteState, thresholds: readonly number[]): number[] {
  const hit = crossingsCache.get(site);
  if (hit && hit.version === site.version && hit.thresholds === thresholds) return hit.times;
  const times: number[] = [];
  for (const j of site.running.keys()) {
    const r = state.jobs[j];
    if (!r || r.startedAtS < 0) continue;
    for (const x of thresholds) if (x > r.attainedGpuS) times.push(r.startedAtS + (x - r.attainedGpuS) / r.spec.gpus);
  }
  times.sort((a, b) => a - b);
  crossingsCache.set(site, { version: site.version, thresholds, times });
  return times;
}

/** When the next running job's attained service crosses an LAS threshold (and may become preemptible by waiting jobs). */
function nextLevelCrossing(state: PoolState, now: number, thresholds: readonly number[]): number {
  let t = Infinity;
  for (const s of state.sites) {
    const times = siteCrossings(state, s, thresholds);
    let lo = 0;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((times[mid] ?? Infinity) > now) hi = mid;
      else lo = mid + 1;
    }
    t = Math.min(t, times[lo] ?? Infinity);
  }
  return t;
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
      const level: RankFn = Object.assign((j: JobRecord, now: number) => lasLevel(attainedAt(j, now), thresholds), {
        validUntil: (j: JobRecord, now: number) => levelCrossing(j, now, thresholds),
      });
      return {
        name: 'las',
        order: new KeyedOrder((j) => lasLevel(j.attainedGpuS, thresholds), false),
        preemption: priorityRule(level, level),
        wakeAt: (state, now) => nextLevelCrossing(state, now, thresholds),
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
