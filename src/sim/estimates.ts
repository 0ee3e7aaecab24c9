import { InvalidInputError } from '../model/errors.ts';
import type { JobSpec } from '../model/job.ts';
import type { Rng } from './rng.ts';

/**
 * What the scheduler knows of each job's run time: the three information levels a
 * policy is measured at.
 * - `oracle`: the true duration (what the trace recorded), as SJF and SRTF papers assume;
 * - `user`: a submitter's estimate — the true duration times a log-normal error, seeded,
 *   median 1 (as often too long as too short), `sigma` in natural-log units. Users'
 *   estimates are often off by an order of magnitude (Tiresias, NSDI'19; the Helios
 *   study, SC'21); the default σ = 1 puts half of them off by more than 2× and one in
 *   ten by more than 5×;
 * - `none`: nobody gave a run time: the scheduler takes every job for the same
 *   (UNKNOWN_DURATION_S), and policies that can do without (las, fair-srtf) go by the
 *   service each job has had.
 */
export const ESTIMATE_LEVELS = ['oracle', 'user', 'none'] as const;
export type EstimateLevel = (typeof ESTIMATE_LEVELS)[number];

export const DEFAULT_ESTIMATE_SIGMA = 1;

/** An information level with its error model: σ applies to `user` only. */
export interface Estimates {
  readonly level: EstimateLevel;
  readonly sigma: number;
}

/** How the level is shown: `oracle`, `user (σ=1)`, `none`. */
export const estimatesLabel = (e: Estimates): string => (e.level === 'user' ? `user (σ=${e.sigma})` : e.level);

/**
 * The jobs as the scheduler sees them at `estimates`, and whether their estimates say
 * anything (the scheduler's `durationsKnown`). `rng` draws the users' errors: the same
 * seed, the same estimates. True durations are never changed.
 */
export function jobsWithEstimates(jobs: readonly JobSpec[], estimates: Estimates, rng: Rng): { jobs: readonly JobSpec[]; durationsKnown: boolean } {
  if (estimates.level === 'oracle') return { jobs: jobs.map((j) => (j.estimateS === j.durationS ? j : { ...j, estimateS: j.durationS })), durationsKnown: true };
  if (estimates.level === 'none') return { jobs, durationsKnown: false };
  if (!(Number.isFinite(estimates.sigma) && estimates.sigma >= 0)) throw new InvalidInputError('estimate-error', `σ must be zero or more, got ${estimates.sigma}`, 'a number such as 1');
  return { jobs: jobs.map((j) => ({ ...j, estimateS: Math.max(1, j.durationS * Math.exp(estimates.sigma * rng.normal())) })), durationsKnown: true };
}
