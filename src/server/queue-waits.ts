import type { Clock } from '../model/clock.ts';
import type { FirstPlacement, Store } from '../store/types.ts';

/** The queue-wait figures cover the jobs first placed in this last stretch of time. */
export const QUEUE_WAIT_WINDOW_MS = 3_600_000;

/** How long jobs waited from submission to their first placement: how many, the median and the 90th percentile (null: none). */
export interface WaitFigures {
  readonly jobs: number;
  readonly p50Ms: number | null;
  readonly p90Ms: number | null;
}

/** The pool's queue waits over `windowMs`: in all, and per org (only orgs with a job placed in it, in id order). */
export interface QueueWaits {
  readonly windowMs: number;
  readonly total: WaitFigures;
  readonly orgs: readonly (WaitFigures & { readonly orgId: string })[];
}

/** The `p`-th quantile (0 < p ≤ 1) of `sorted` (ascending), by nearest rank: always a wait that happened; null for none. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length))) - 1] ?? null;
}

function figuresOf(waits: number[]): WaitFigures {
  const sorted = waits.sort((a, b) => a - b);
  return { jobs: sorted.length, p50Ms: percentile(sorted, 0.5), p90Ms: percentile(sorted, 0.9) };
}

/** The figures of the first placements given (those of the window: the caller chose them). Pure. */
export function queueWaitsOf(placements: readonly FirstPlacement[], windowMs: number): QueueWaits {
  const byOrg = new Map<string, number[]>();
  for (const p of placements) byOrg.set(p.orgId, [...(byOrg.get(p.orgId) ?? []), Math.max(0, p.placedAt - p.submittedAt)]);
  return {
    windowMs,
    total: figuresOf(placements.map((p) => Math.max(0, p.placedAt - p.submittedAt))),
    orgs: [...byOrg.keys()].sort().map((orgId) => ({ orgId, ...figuresOf(byOrg.get(orgId) ?? []) })),
  };
}

/**
 * The queue waits of the last hour for GET /api/v1/pool, read from the store at most once
 * every `refreshMs` (the pool history's sampling interval): every dashboard polls the pool
 * every few seconds, and a figure over an hour needs no fresher read. Reads in flight are shared.
 */
export class QueueWaitReader {
  private last: { readonly at: number; readonly figures: Promise<QueueWaits> } | null = null;

  constructor(private readonly o: { readonly store: Pick<Store, 'firstPlacements'>; readonly clock: Clock; readonly refreshMs: number }) {}

  read(): Promise<QueueWaits> {
    const now = this.o.clock.now();
    if (this.last === null || now - this.last.at >= this.o.refreshMs || now < this.last.at) {
      const figures = this.o.store.firstPlacements(now - QUEUE_WAIT_WINDOW_MS).then((placements) => queueWaitsOf(placements, QUEUE_WAIT_WINDOW_MS));
      const read = { at: now, figures };
      this.last = read;
      // A failed read is not kept: the next request tries again.
      figures.catch(() => {
        if (this.last === read) this.last = null;
      });
    }
    return this.last.figures;
  }
}
