import { gpuSecondsOf } from '../ledger/usage-record.ts';
import type { Clock } from '../model/clock.ts';
import type { Job, JobState, LedgerEntry, PartsEvent, Placement, PlacementPart, Store, Transition, UsageOutcome } from '../store/types.ts';
import type { ActiveJobs, ChangeOrigin } from './active-jobs.ts';
import { ApiError } from './errors.ts';
import type { ServerMetrics } from './metrics.ts';

/** A state change from one known state (so that the transitions counter can say from where). */
export type Change = Omit<Transition, 'from'> & { readonly from: JobState };

/**
 * GPU time a run used, for the ledger: one entry per placement part, GPU-seconds
 * from the run's start to `atMs`, consumed by the job's org and contributed by the
 * site's, ended so (`outcome`). A placement that never started used nothing. Parts on
 * a site whose owner is unknown (it cannot be: sites are never deleted) are left out.
 */
export function usage(job: Job, placement: Placement | null | undefined, ownerOf: (siteId: string) => string | undefined, atMs: number, outcome: UsageOutcome): LedgerEntry[] {
  if (placement?.startedAt == null) return [];
  const startAt = Math.min(placement.startedAt, atMs);
  return placement.parts.flatMap((p) => {
    const provider = ownerOf(p.siteId);
    if (provider === undefined) return [];
    return [{ jobId: job.id, attempt: placement.attempt, siteId: p.siteId, consumerOrgId: job.orgId, providerOrgId: provider, gpuType: p.gpuType, gpus: p.gpus, startAt, at: atMs, gpuSeconds: gpuSecondsOf(p.gpus, startAt, atMs), outcome }];
  });
}

/** How a run ended, for its usage record: the state its job moves to, or the event that requeued it. */
export function outcomeOf(to: JobState, type: string): UsageOutcome {
  if (to === 'succeeded' || to === 'failed' || to === 'cancelled') return to;
  if (type === 'run_lost' || type === 'site_lost') return 'lost';
  if (type === 'run_failed' || type === 'coallocation_failed') return 'failed';
  return 'preempted';
}

/**
 * Every job state change the server makes goes through here, and every change of a
 * placement's parts: one store transaction per call, the transitions counter bumped
 * and the active-jobs mirror updated for those that applied, and a ledger entry
 * whenever a job leaves `running` (or a part of a running job is dropped).
 */
export class JobLifecycle {
  /**
   * `owners`: the org owning each of the given sites (the site directory, which caches them). `onUsage`: told of
   * ledger entries written (each waits for its site's signature: UsagePending).
   */
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly metrics: ServerMetrics,
    private readonly active: ActiveJobs,
    private readonly owners: (siteIds: Iterable<string>) => Promise<ReadonlyMap<string, string>>,
    private readonly onUsage: (entries: readonly LedgerEntry[]) => void = () => undefined,
  ) {}

  /** Applies the changes in one transaction; per change, the job after it, or null when its job was no longer in `from`. */
  async apply(changes: readonly Change[], ledger: readonly LedgerEntry[] = [], origin: ChangeOrigin = 'other'): Promise<(Job | null)[]> {
    if (changes.length === 0) return [];
    const results = await this.store.transition(changes.map((c) => ({ ...c, from: [c.from] })), ledger).finally(() => this.onUsage(ledger));
    results.forEach((job, i) => {
      const c = changes[i];
      if (job === null || c === undefined) return;
      this.metrics.transitions.inc({ from: c.from, to: c.to });
      if (c.to === 'placed' && job.attempts === 1) this.metrics.dispatchSeconds.observe({ stage: 'placed' }, Math.max(0, c.at - job.submittedAt) / 1000);
      this.active.applied(job, c, origin);
    });
    return results;
  }

  /**
   * Moves one job to `to` if it is in one of `allowed` (a cancel, or the admin's
   * hand until agents report runs). Retries when the job changed under it; a job
   * in a state that does not allow the move is a conflict naming that state. With
   * `attempt` (what a run of that attempt reported), a job that has moved on to
   * another attempt is a conflict too.
   */
  async move(job: Job, to: JobState, allowed: readonly JobState[], type: string, detail: Readonly<Record<string, unknown>> = {}, attempt?: number): Promise<Job> {
    let current = job;
    for (let tries = 0; tries < 5; tries++) {
      if (!allowed.includes(current.state)) {
        throw new ApiError('conflict', `job "${job.id}" is ${current.state}; it can become ${to} only from ${allowed.join(', ')}`, { field: 'state' });
      }
      if (attempt !== undefined && current.attempts !== attempt) throw new ApiError('conflict', `job "${job.id}" is at attempt ${current.attempts}, not ${attempt}`, { field: 'attempt' });
      const at = this.clock.now();
      const ledger = current.state === 'running' ? await this.ledgerFor(current, at, outcomeOf(to, type)) : [];
      const [after] = await this.apply([{ jobId: current.id, from: current.state, to, at, type, detail, ...(attempt === undefined ? {} : { attempt }) }], ledger);
      if (after != null) return after;
      const reread = await this.store.getJob(job.id);
      if (reread === null) throw new ApiError('not_found', `job "${job.id}" not found`);
      current = reread;
    }
    throw new ApiError('conflict', `job "${job.id}" keeps changing; try again`);
  }

  /**
   * Ends the job's current run and queues the job again, in one transaction: placed or
   * running → preempted (an event of `type`) → pending. Null when the job is neither
   * placed nor running (it finished, or was requeued already), or, with `attempt` (what
   * a run of that attempt reported), when it has moved on to another attempt.
   */
  async requeue(job: Job, type: string, detail: Readonly<Record<string, unknown>> = {}, attempt?: number): Promise<Job | null> {
    let current: Job | null = job;
    for (let tries = 0; tries < 5 && current !== null; tries++) {
      if (current.state !== 'placed' && current.state !== 'running') return null;
      if (attempt !== undefined && current.attempts !== attempt) return null;
      const at = this.clock.now();
      const ledger = current.state === 'running' ? await this.ledgerFor(current, at, outcomeOf('preempted', type)) : [];
      const [, after] = await this.apply([
        { jobId: current.id, from: current.state, to: 'preempted', at, type, detail, ...(attempt === undefined ? {} : { attempt }) },
        { jobId: current.id, from: 'preempted', to: 'pending', at, type: 'requeued', diagnosis: null },
      ], ledger);
      if (after != null) return after;
      current = await this.store.getJob(job.id);
    }
    if (current === null) throw new ApiError('not_found', `job "${job.id}" not found`);
    throw new ApiError('conflict', `job "${job.id}" keeps changing; try again`);
  }

  /**
   * The parts of the job's current placement become `parts` if they are still `expected` (compare and set), with
   * `event` and `ledger` (the usage of parts dropped from a running job), and the mirror follows. False when the job
   * or its placement changed meanwhile.
   */
  async updateParts(jobId: string, attempt: number, expected: readonly PlacementPart[], parts: readonly PlacementPart[], event: PartsEvent, ledger: readonly LedgerEntry[] = []): Promise<boolean> {
    const ok = await this.store.updateParts(jobId, attempt, expected, parts, event, ledger).finally(() => this.onUsage(ledger));
    if (ok) this.active.partsChanged(jobId, [...parts], event);
    return ok;
  }

  /** The usage of the job's current run, from the mirror's placement (the store's, should the mirror not have it). */
  private async ledgerFor(job: Job, atMs: number, outcome: UsageOutcome): Promise<LedgerEntry[]> {
    const mirrored = this.active.placement(job.id);
    const current = mirrored?.attempt === job.attempts ? mirrored : (await this.store.placements(job.id)).reduce<Placement | null>((a, p) => (a === null || p.attempt > a.attempt ? p : a), null);
    const owners = await this.owners((current?.parts ?? []).map((p) => p.siteId));
    return usage(job, current, (id) => owners.get(id), atMs, outcome);
  }
}
