import { FINAL_STATES, type Job, type Placement, type Store, type Transition } from '../store/types.ts';

/** Who made a change: the scheduling loop (its core already knows) or anything else (a cancel, an agent's report). */
export type ChangeOrigin = 'scheduler' | 'other';

/**
 * The jobs not yet in a final state and their current placements, mirrored in
 * memory so that a scheduling pass need not read them all from the store: loaded
 * whole at start (and on `reload`), then kept up to date by every submission and
 * every transition this server commits. It also tells the loop what changed since
 * its last pass: only arrivals (the core can take them as they are) or more (the
 * core must be rebuilt).
 *
 * This server is the only writer of jobs (the embedded store is locked to one
 * process), so the mirror matches the store; a transition that did not apply shows
 * it did not, and the loop reloads.
 */
export class ActiveJobs {
  private readonly jobs = new Map<string, Job>();
  private readonly placements = new Map<string, Placement>();
  private arrived: Job[] = [];
  private changed = true;
  /** Jobs that arrived while a reload was reading: the reads may predate them. */
  private arrivedDuringReload: Job[] | null = null;

  async reload(store: Store): Promise<void> {
    this.arrivedDuringReload = [];
    try {
      const jobs = await store.activeJobs();
      const placements = await store.activePlacements();
      const late = this.arrivedDuringReload;
      this.jobs.clear();
      this.placements.clear();
      for (const j of jobs) this.jobs.set(j.id, j);
      for (const j of late) if (!this.jobs.has(j.id)) this.jobs.set(j.id, j);
      for (const p of placements) this.placements.set(p.jobId, p);
      this.arrived = [];
      this.changed = true;
    } finally {
      this.arrivedDuringReload = null;
    }
  }

  /** Jobs just committed by a submission (a repeated idempotent submission is ignored). */
  arrive(jobs: readonly Job[]): void {
    for (const j of jobs) {
      if (this.jobs.has(j.id) || FINAL_STATES.has(j.state)) continue;
      this.jobs.set(j.id, j);
      this.arrived.push(j);
      this.arrivedDuringReload?.push(j);
    }
  }

  /** A transition that applied, and the job after it. */
  applied(job: Job, change: Pick<Transition, 'to' | 'at' | 'placement'>, origin: ChangeOrigin): void {
    if (origin === 'other') this.changed = true;
    if (FINAL_STATES.has(job.state)) {
      this.jobs.delete(job.id);
      this.placements.delete(job.id);
      return;
    }
    this.jobs.set(job.id, job);
    const current = this.placements.get(job.id);
    if (change.to === 'placed') this.placements.set(job.id, { jobId: job.id, attempt: job.attempts, parts: change.placement ?? [], placedAt: change.at, startedAt: null, endedAt: null, logTail: null, logAt: null });
    else if (change.to === 'running' && current !== undefined) this.placements.set(job.id, { ...current, startedAt: change.at });
    else if (job.state !== 'placed' && job.state !== 'running') this.placements.delete(job.id);
  }

  /** A placement's parts just changed in the store (a part started, or a spanning job shrank). */
  partsChanged(id: string, parts: Placement['parts']): void {
    const current = this.placements.get(id);
    if (current !== undefined) this.placements.set(id, { ...current, parts });
  }

  /** The diagnosis just stored for a waiting job. */
  diagnosed(id: string, diagnosis: Readonly<Record<string, unknown>>): void {
    const job = this.jobs.get(id);
    if (job !== undefined) this.jobs.set(id, { ...job, diagnosis });
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** All active jobs, in submission order, and the placements of those placed or running. */
  snapshot(): { jobs: Job[]; placements: ReadonlyMap<string, Placement> } {
    return { jobs: [...this.jobs.values()], placements: this.placements };
  }

  /** The current placements of the placed and running jobs, by job id (live: read it, do not keep it). */
  currentPlacements(): ReadonlyMap<string, Placement> {
    return this.placements;
  }

  /** The current placement of a placed or running job. */
  placement(id: string): Placement | undefined {
    return this.placements.get(id);
  }

  /** What happened since the last call: the jobs that arrived, and whether anything else changed. */
  takeChanges(): { arrived: Job[]; changed: boolean } {
    const out = { arrived: this.arrived, changed: this.changed };
    this.arrived = [];
    this.changed = false;
    return out;
  }

  /** Marks the mirror as changed beyond arrivals (the loop rebuilds its core at the next pass). */
  invalidate(): void {
    this.changed = true;
  }
}
