import type { PlacementContext } from './placement.ts';
import type { JobRecord, PoolState } from './state.ts';

/**
 * The plugin points of the scheduler (STYLE.md §4): a queue order and, optionally,
 * a preemption rule. A policy is a named profile that combines them; backfill is an
 * option on any profile.
 */

export interface OrderView {
  readonly state: PoolState;
  readonly now: number;
  /** False for job sizes that cannot start if tried now; orders may skip them. Re-ask: it changes during a pass. */
  mayFit(gpus: number): boolean;
}

/** Which queued job is tried first. */
export interface QueueOrder {
  /** Strict orders stop at the first job that cannot start (head-of-line blocking); others skip it. */
  readonly strict: boolean;
  /** Called when a job joins the queue (on arrival, or requeued after a preemption). */
  add(job: JobRecord): void;
  /** Called when a job leaves the queue (started, or can never start). Must tolerate a job already gone. */
  remove(job: JobRecord): void;
  readonly size: number;
  /**
   * The queued jobs in the order to try them, leaving out sizes for which
   * `view.mayFit` is false. The pass may start jobs between yields, which can change the
   * order of the rest (fair share): implementations re-read the view lazily. The
   * Scheduler makes no add or remove until the walk ends.
   */
  order(view: OrderView): Iterable<JobRecord>;
  /** The same order for a few jobs at once (those that just arrived): negative when `a` goes first. */
  compare(a: JobRecord, b: JobRecord, view: OrderView): number;
}

/** Which running jobs may be stopped so that a waiting job starts. */
export interface PreemptionRule {
  /** `why` names the rule in decisions and results; a rule that combines others says in each answer which one chose. */
  readonly why: 'priority' | 'reclaim';
  /**
   * Victims to stop for `job`, all on one site, or null when there are none worth
   * stopping. Victims are running, preemptible and not already stopping. Pure: the
   * Scheduler stops them.
   */
  victims(job: JobRecord, ctx: PlacementContext & { readonly candidates: readonly number[] }): { readonly site: number; readonly jobs: readonly JobRecord[]; readonly why?: 'priority' | 'reclaim' } | null;
}

export interface PolicyProfile {
  readonly name: string;
  readonly order: QueueOrder;
  readonly preemption: PreemptionRule | null;
  /**
   * For rules that depend on time passing, not only on events: the next time at
   * which a pass could decide differently although nothing happened (a running
   * job crossing an LAS threshold, a reclaim rate limit running out).
   */
  readonly wakeAt?: (state: PoolState, now: number) => number;
  /** Told of every start, so that a time-based trigger can follow the running jobs without scanning them. */
  readonly started?: (job: JobRecord, now: number) => void;
}
