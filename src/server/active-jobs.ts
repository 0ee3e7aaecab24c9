import { FINAL_STATES, type Job, type JobState, type PartsEvent, type Placement, type PlacementPart, type Store, type Transition } from '../store/types.ts';

/** Who made a change: the scheduling loop (its core already knows) or anything else (a cancel, an agent's report). */
export type ChangeOrigin = 'scheduler' | 'other';

/**
 * A run (job, attempt) this server has moved past: the sites it ran on, the job's
 * state then, why, and when its agents are to stop it (a reclaim's notice; null: now).
 * What an agent's heartbeat and reports about such a run are answered from.
 */
export interface EndedRun {
  readonly sites: ReadonlySet<string>;
  readonly state: JobState;
  readonly reason: string;
  readonly stopAtMs: number | null;
}

/**
 * A run this server moved past (preempted, cancelled, requeued, or shrunk off some of its sites) while it ran, whose
 * agents have not yet confirmed they stopped it: its GPUs on those sites are still busy, and the scheduler counts
 * them so (pool-snapshot.ts) until each site's agent reports it stopped, or heartbeats without it, or the site is lost.
 */
export interface StoppingRun {
  /** The job as it was when the run was moved past (what the scheduler restores the held GPUs as). */
  readonly job: Job;
  readonly attempt: number;
  /** The run's parts on the sites that have not confirmed yet. */
  readonly parts: readonly PlacementPart[];
  /** When it started, epoch ms. */
  readonly startedAt: number;
}

/** Events of a requeue that an agent's report of the run's end caused (routes/agent.ts): the reporting site's part is over. */
const ENDS_REPORTED: ReadonlySet<string> = new Set(['run_lost', 'run_failed', 'coallocation_failed']);

/** Ended runs remembered (the oldest forgotten first): far more than agents hold on to between heartbeats. */
const ENDED_RUNS_KEPT = 100_000;

const runKey = (jobId: string, attempt: number) => `${jobId}.${attempt}`;

/** Runs to stop kept per site until its agent's long poll takes them, at most (the oldest forgotten first: its heartbeats name them too). */
const STOPS_KEPT = 10_000;

/**
 * Wakes what waits for news of a site: its agent's long poll, when the site gets a
 * placement or one of its runs must stop. Each site has a count of rings, so that a
 * waiter that read it before looking misses no ring that came in between.
 */
export class SiteBell {
  private readonly rings = new Map<string, number>();
  private readonly waiting = new Map<string, Set<() => void>>();
  private everyone = 0;

  /** How many times the site's bell rang so far (pass it to `wait`). */
  count(siteId: string): number {
    return (this.rings.get(siteId) ?? 0) + this.everyone;
  }

  ring(siteId: string): void {
    this.rings.set(siteId, (this.rings.get(siteId) ?? 0) + 1);
    for (const wake of [...(this.waiting.get(siteId) ?? [])]) wake();
  }

  /** Rings every site's bell (the mirror was reloaded, or the server is closing). */
  ringAll(): void {
    this.everyone++;
    for (const set of [...this.waiting.values()]) for (const wake of [...set]) wake();
  }

  /** Resolves when the site's bell rings after it had rung `seen` times (at once if it has since), or after `ms`. */
  wait(siteId: string, seen: number, ms: number): Promise<void> {
    if (this.count(siteId) !== seen) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.waiting.get(siteId);
      if (set === undefined) this.waiting.set(siteId, (set = new Set()));
      const mine = set;
      const wake = () => {
        clearTimeout(timer);
        mine.delete(wake);
        if (mine.size === 0 && this.waiting.get(siteId) === mine) this.waiting.delete(siteId);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      mine.add(wake);
    });
  }
}

/** An ISO time in an event's detail (`stop_at`) as epoch ms; null when absent. */
function stopAtOf(detail: Readonly<Record<string, unknown>> | undefined): number | null {
  const at = typeof detail?.stop_at === 'string' ? Date.parse(detail.stop_at) : Number.NaN;
  return Number.isFinite(at) ? at : null;
}

/** Why a run stopped being its job's current one, as an agent is told. */
function endedReason(job: Job, change: Pick<Transition, 'type' | 'detail'>): string {
  if (FINAL_STATES.has(job.state)) return `the job is ${job.state}`;
  const why = change.detail?.why;
  return typeof why === 'string' ? `the job was preempted: ${why}` : `the job was requeued (${change.type})`;
}

/** Placements by job id, also indexed by the sites they have parts on (a site's long poll looks at its own). */
class PlacementsBySite extends Map<string, Placement> {
  private readonly bySite = new Map<string, Map<string, Placement>>();

  override set(jobId: string, p: Placement): this {
    this.unindex(jobId);
    super.set(jobId, p);
    for (const part of p.parts) {
      let on = this.bySite.get(part.siteId);
      if (on === undefined) this.bySite.set(part.siteId, (on = new Map<string, Placement>()));
      on.set(jobId, p);
    }
    return this;
  }

  override delete(jobId: string): boolean {
    this.unindex(jobId);
    return super.delete(jobId);
  }

  override clear(): void {
    this.bySite.clear();
    super.clear();
  }

  onSite(siteId: string): Iterable<Placement> {
    return this.bySite.get(siteId)?.values() ?? [];
  }

  private unindex(jobId: string): void {
    for (const part of this.get(jobId)?.parts ?? []) {
      const on = this.bySite.get(part.siteId);
      on?.delete(jobId);
      if (on?.size === 0) this.bySite.delete(part.siteId);
    }
  }
}

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
 * it did not, and the loop reloads. A replica that does not lead keeps it from the
 * store's change feed instead (`synced`, change-follower.ts).
 */
export class ActiveJobs {
  private readonly jobs = new Map<string, Job>();
  private readonly placements = new PlacementsBySite();
  private arrived: Job[] = [];
  /** Jobs whose runs ended as their agents reported, since the last takeChanges. */
  private finished: string[] = [];
  private changed = true;
  private readonly ended = new Map<string, EndedRun>();
  /** Pending jobs per org: what the queued-jobs quota counts. */
  private readonly queued = new Map<string, number>();
  /** Jobs that arrived while a reload was reading: the reads may predate them. */
  private arrivedDuringReload: Job[] | null = null;
  /** Per site, the runs its agent must stop that its long poll has not taken yet (by run key). */
  private readonly stopsDue = new Map<string, Map<string, { jobId: string; attempt: number }>>();
  /** Rung for a site when it gets a placement or a run of it must stop. */
  readonly bell = new SiteBell();
  /** Runs moved past while they ran, not yet confirmed stopped on all their sites, by run key. */
  private readonly stopping = new Map<string, StoppingRun>();

  async reload(store: Store): Promise<void> {
    this.arrivedDuringReload = [];
    try {
      const jobs = await store.activeJobs();
      const placements = await store.activePlacements();
      const late = this.arrivedDuringReload;
      this.jobs.clear();
      this.placements.clear();
      this.queued.clear();
      for (const j of jobs) this.put(j);
      for (const j of late) if (!this.jobs.has(j.id)) this.put(j);
      for (const p of placements) this.placements.set(p.jobId, p);
      this.arrived = [];
      this.changed = true;
    } finally {
      this.arrivedDuringReload = null;
    }
    this.bell.ringAll();
  }

  /**
   * Jobs another replica changed, as the store holds them now (a follower keeping its copy: change-feed.ts): `jobs`
   * and `placements` are those of `ids` still active, so the others have ended.
   */
  synced(ids: readonly string[], jobs: readonly Job[], placements: readonly Placement[]): void {
    const active = new Map(jobs.map((j) => [j.id, j]));
    const placed = new Map(placements.map((p) => [p.jobId, p]));
    for (const id of ids) {
      const job = active.get(id);
      if (job === undefined) this.drop(id);
      else this.put(job);
      const p = placed.get(id);
      if (p === undefined) this.placements.delete(id);
      else this.placements.set(id, p);
    }
    this.changed = true;
  }

  /** Jobs just committed by a submission (a repeated idempotent submission is ignored). */
  arrive(jobs: readonly Job[]): void {
    for (const j of jobs) {
      if (this.jobs.has(j.id) || FINAL_STATES.has(j.state)) continue;
      this.put(j);
      this.arrived.push(j);
      this.arrivedDuringReload?.push(j);
    }
  }

  /** A transition that applied, and the job after it. */
  applied(job: Job, change: Pick<Transition, 'to' | 'at' | 'placement' | 'type' | 'detail'>, origin: ChangeOrigin): void {
    const current = this.placements.get(job.id);
    if (origin === 'other') {
      // Its agent says a run started: the core has held the job as running since it placed it. Its agent says a
      // run ended: the core frees its GPUs (nothing holds them: the run is over there). Anything else rebuilds it.
      if (change.to === 'running' && current !== undefined) {
        // nothing for the core
      } else if ((job.state === 'succeeded' || job.state === 'failed') && current !== undefined) this.finished.push(job.id);
      else this.changed = true;
    }
    if (current !== undefined && job.state !== 'placed' && job.state !== 'running') {
      const sites = new Set(current.parts.map((p) => p.siteId));
      this.remember(job.id, current.attempt, { sites, state: job.state, reason: endedReason(job, change), stopAtMs: stopAtOf(change.detail) });
      // A run that ended as its agent reported (succeeded, failed) is over there already; any other end is news to its
      // sites, and a run that ran holds its GPUs until they confirm it stopped.
      if (job.state !== 'succeeded' && job.state !== 'failed') {
        this.stopOn(sites, job.id, current.attempt);
        // A site whose agent reported the run's end there (lost, failed, a part that ended early, a part that succeeded
        // while the others trained on) holds nothing; nor does one lost (its agent fenced its runs) or too small now
        // (the GPUs are not counted anyway).
        const reportedBy = ENDS_REPORTED.has(change.type) ? change.detail?.site : undefined;
        if (change.type !== 'site_lost') this.holdUntilStopped(job, current.attempt, current.parts.filter((p) => p.siteId !== reportedBy && p.succeededAt === undefined), current.startedAt);
      }
    }
    if (FINAL_STATES.has(job.state)) {
      this.drop(job.id);
      this.placements.delete(job.id);
      return;
    }
    this.put(job);
    if (change.to === 'placed') {
      const parts = change.placement ?? [];
      this.placements.set(job.id, { jobId: job.id, attempt: job.attempts, parts, placedAt: change.at, startedAt: null, endedAt: null });
      for (const siteId of new Set(parts.map((p) => p.siteId))) this.bell.ring(siteId);
    } else if (change.to === 'running' && current !== undefined) this.placements.set(job.id, { ...current, startedAt: change.at });
    else if (job.state !== 'placed' && job.state !== 'running') this.placements.delete(job.id);
  }

  /** A placement's parts just changed in the store (a part started, or a spanning job shrank: `event` says why). */
  partsChanged(id: string, parts: Placement['parts'], event?: PartsEvent): void {
    const current = this.placements.get(id);
    if (current === undefined) return;
    const left = new Set(current.parts.filter((p) => !parts.some((q) => q.siteId === p.siteId)).map((p) => p.siteId));
    if (left.size > 0) {
      const why = typeof event?.detail.why === 'string' ? event.detail.why : (event?.type ?? 'shrunk');
      this.remember(id, current.attempt, { sites: left, state: this.jobs.get(id)?.state ?? 'running', reason: `the job shrank: this site's part was reclaimed (${why})`, stopAtMs: stopAtOf(event?.detail) });
      this.stopOn(left, id, current.attempt);
      const job = this.jobs.get(id);
      if (job !== undefined) this.holdUntilStopped(job, current.attempt, current.parts.filter((p) => left.has(p.siteId)), current.startedAt);
    }
    this.placements.set(id, { ...current, parts });
  }

  /** What this server knows of a run it moved past (recently: the oldest are forgotten), if anything. */
  endedRun(jobId: string, attempt: number): EndedRun | undefined {
    return this.ended.get(runKey(jobId, attempt));
  }

  /** Runs moved past while they ran whose GPUs are still busy: not yet confirmed stopped on some of their sites. */
  stoppingRuns(): StoppingRun[] {
    return [...this.stopping.values()];
  }

  /**
   * The site's agent confirmed the run stopped (it reported so, or heartbeated without it, or the site is lost):
   * its GPUs there are free. True when that released any (the scheduler's core must be rebuilt).
   */
  stopped(jobId: string, attempt: number, siteId: string): boolean {
    const key = runKey(jobId, attempt);
    const run = this.stopping.get(key);
    if (run === undefined || !run.parts.some((p) => p.siteId === siteId)) return false;
    const parts = run.parts.filter((p) => p.siteId !== siteId);
    if (parts.length === 0) this.stopping.delete(key);
    else this.stopping.set(key, { ...run, parts });
    this.changed = true;
    return true;
  }

  /** Whether the run holds GPUs on the site until its agent confirms it stopped. */
  stoppingOn(jobId: string, attempt: number, siteId: string): boolean {
    return this.stopping.get(runKey(jobId, attempt))?.parts.some((p) => p.siteId === siteId) === true;
  }

  /** The runs holding GPUs on the site until its agent confirms they stopped. */
  stoppingOnSite(siteId: string): { jobId: string; attempt: number }[] {
    return [...this.stopping.values()].filter((r) => r.parts.some((p) => p.siteId === siteId)).map((r) => ({ jobId: r.job.id, attempt: r.attempt }));
  }

  private holdUntilStopped(job: Job, attempt: number, parts: readonly PlacementPart[], startedAt: number | null): void {
    if (startedAt === null || parts.length === 0) return; // never ran: nothing runs to stop
    const key = runKey(job.id, attempt);
    const before = this.stopping.get(key);
    this.stopping.set(key, { job, attempt, parts: [...(before?.parts ?? []), ...parts.filter((p) => !(before?.parts ?? []).some((q) => q.siteId === p.siteId && q.gpuType === p.gpuType))], startedAt });
    if (this.stopping.size > STOPS_KEPT) this.stopping.delete(this.stopping.keys().next().value as string);
  }

  /** The runs the site's agent must stop that its long poll has not taken yet; taken, they are not given again (its heartbeats name them too). */
  takeStops(siteId: string): { jobId: string; attempt: number }[] {
    const due = this.stopsDue.get(siteId);
    if (due === undefined) return [];
    this.stopsDue.delete(siteId);
    return [...due.values()];
  }

  /** The run (job, attempt) must stop on these sites: news for their long polls. */
  private stopOn(sites: ReadonlySet<string>, jobId: string, attempt: number): void {
    for (const siteId of sites) {
      let due = this.stopsDue.get(siteId);
      if (due === undefined) this.stopsDue.set(siteId, (due = new Map<string, { jobId: string; attempt: number }>()));
      due.set(runKey(jobId, attempt), { jobId, attempt });
      if (due.size > STOPS_KEPT) due.delete(due.keys().next().value as string);
      this.bell.ring(siteId);
    }
  }

  /** Jobs of the org waiting to be placed. */
  queuedOf(orgId: string): number {
    return this.queued.get(orgId) ?? 0;
  }

  private remember(jobId: string, attempt: number, run: EndedRun): void {
    const key = runKey(jobId, attempt);
    const before = this.ended.get(key);
    // A run shrunk off one site and later ended on the others is remembered on all of them.
    this.ended.delete(key);
    this.ended.set(key, before === undefined ? run : { ...run, sites: new Set([...before.sites, ...run.sites]), stopAtMs: run.stopAtMs ?? before.stopAtMs });
    if (this.ended.size > ENDED_RUNS_KEPT) this.ended.delete(this.ended.keys().next().value as string);
  }

  /** Keeps the job, counting it as queued while it is pending. */
  private put(job: Job): void {
    this.drop(job.id);
    this.jobs.set(job.id, job);
    if (job.state === 'pending') this.queued.set(job.orgId, (this.queued.get(job.orgId) ?? 0) + 1);
  }

  private drop(id: string): void {
    const before = this.jobs.get(id);
    if (before?.state === 'pending') this.queued.set(before.orgId, (this.queued.get(before.orgId) ?? 1) - 1);
    this.jobs.delete(id);
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
  snapshot(): { jobs: Job[]; placements: ReadonlyMap<string, Placement>; stopping: StoppingRun[] } {
    return { jobs: [...this.jobs.values()], placements: this.placements, stopping: this.stoppingRuns() };
  }

  /** The current placements of the placed and running jobs, by job id (live: read it, do not keep it). */
  currentPlacements(): ReadonlyMap<string, Placement> {
    return this.placements;
  }

  /** How many jobs are active. */
  get size(): number {
    return this.jobs.size;
  }

  /** The current placements with a part on the site (live: read it, do not keep it): O(those), not O(all). */
  placementsOn(siteId: string): Iterable<Placement> {
    return this.placements.onSite(siteId);
  }

  /** The current placement of a placed or running job. */
  placement(id: string): Placement | undefined {
    return this.placements.get(id);
  }

  /**
   * What happened since the last call: the jobs that arrived, those whose runs ended as their agents reported
   * (their GPUs free at once), and whether anything else changed.
   */
  takeChanges(): { arrived: Job[]; finished: string[]; changed: boolean } {
    const out = { arrived: this.arrived, finished: this.finished, changed: this.changed };
    this.arrived = [];
    this.finished = [];
    this.changed = false;
    return out;
  }

  /** Marks the mirror as changed beyond arrivals (the loop rebuilds its core at the next pass). */
  invalidate(): void {
    this.changed = true;
  }
}
