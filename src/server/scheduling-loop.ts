import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../model/clock.ts';
import type { Diagnosis } from '../sched/diagnosis.ts';
import type { Decision, SchedulerOptions } from '../sched/scheduler.ts';
import type { JobRecord } from '../sched/state.ts';
import type { Job, LedgerEntry, PlacementPart, Site, Store } from '../store/types.ts';
import type { ActiveJobs } from './active-jobs.ts';
import { outcomeOf, usage, type Change, type JobLifecycle } from './job-lifecycle.ts';
import type { ServerMetrics } from './metrics.ts';
import { jobSpec, placementParts, rebuildScheduler, siteMemory, type PoolSnapshot, type RebuiltScheduler, type SiteMemory } from './pool-snapshot.ts';
import { diagnosisJson } from './schemas.ts';

export interface SchedulingLoopOptions {
  readonly store: Store;
  /**
   * Where passes read the sites and mark silent ones lost (default: the store); the server's SiteDirectory, which
   * holds the newest heartbeat times, and whose `version` changes whenever anything a placement depends on does (so
   * a pass need not compare every site's fields to know whether to rebuild the core).
   */
  readonly sites?: SiteSource;
  readonly clock: Clock;
  readonly lifecycle: JobLifecycle;
  readonly active: ActiveJobs;
  readonly metrics: ServerMetrics;
  readonly logger: FastifyBaseLogger;
  readonly scheduler: Partial<SchedulerOptions> & Pick<SchedulerOptions, 'policy'>;
  /** A pass runs at least this often, ms (besides the passes `poke` asks for). */
  readonly intervalMs: number;
  /**
   * How long one pass's commit should hold the store, ms: while it runs, every
   * submission waits (embedded, the whole process does). A pass commits as many of
   * the core's decisions as fit, by the commit time per decision measured so far;
   * the rest wait in a backlog that the next passes, which follow at once, commit first.
   */
  readonly commitBudgetMs: number;
  /** Most decisions one pass commits, whatever the budget. */
  readonly maxDecisionsPerPass: number;
  /** The active-jobs mirror is reloaded from the store this often, ms: a safety net, as this server is the store's only writer. */
  readonly reloadIntervalMs: number;
  /** A site that heartbeated once and then fell silent for this long, ms, is marked lost (its jobs are requeued by the same pass). */
  readonly siteTimeoutMs?: number;
  /**
   * A job placed across sites whose agents have not all reported their parts
   * started within this long, ms, is released on every site and requeued
   * (all-or-nothing co-allocation: no site keeps half of it).
   */
  readonly coallocationTimeoutMs: number;
}

export type SiteSource = Pick<Store, 'listSites' | 'setSiteHealth'> & { readonly version?: () => number };

export interface PassReport {
  /** Decisions committed (a decision whose job changed meanwhile is not). */
  readonly started: number;
  readonly preempted: number;
  /** Placed or running jobs put back in the queue because their site is lost or too small now. */
  readonly requeued: number;
  /** Jobs still pending after the pass. */
  readonly waiting: number;
  /** Whether the core was rebuilt from the snapshot (rather than kept, with the new arrivals added). */
  readonly rebuilt: boolean;
  readonly seconds: number;
}

/** How long passes asked for by pokes take the sites the last pass read, ms (their heartbeat times, which tell a silent site, are that old at most). */
const SITES_KEPT_MS = 1000;

/** Jobs a kept core may hold beyond twice the active ones (it keeps the ended ones too) before it is rebuilt. */
const KEPT_JOBS_SLACK = 10_000;

/** The core kept between passes while the store changes only by arrivals, and the sites it was built from. */
type LiveCore = RebuiltScheduler & { readonly sitesKey: string };

/** What about the sites the core depends on: a change to any of it rebuilds the core (a source without a version). */
const sitesKey = (sites: readonly Site[]): string => JSON.stringify(sites.map((s) => [s.id, s.orgId, s.health, s.capacity, s.reportedCapacity, s.sandboxCapable, s.share, s.wanLinks, s.spanEndpoint]));

/**
 * The live driver of the scheduler core (the simulator is the other one). Each
 * pass, as a recipe:
 * 1. read the sites from the store and the active jobs from their mirror;
 * 2. rebuild the core from that snapshot (pool-snapshot.ts) — or, when nothing but
 *    new submissions and runs ended by their agents changed since the last pass,
 *    keep it, submit those and free the GPUs of these: a rebuild costs O(sites +
 *    active jobs), and under a stream of submissions and reports that would be
 *    every pass, while the kept core is the one a rebuild would give;
 * 3. run one pass of the core at the clock's `now`;
 * 4. commit its decisions in one transaction: a start places the job; a preemption
 *    stops it (with a ledger entry if it ran) and requeues it; jobs whose site is
 *    lost or too small now are requeued the same way. Decisions beyond the commit
 *    budget wait in a backlog for the next pass, which follows at once;
 * 5. store the diagnoses of waiting jobs that changed, and update the metrics.
 * Passes never overlap: asking for one while one runs gets the next.
 *
 * Every decision is guarded by the state its job had in the snapshot, so a job
 * cancelled meanwhile is simply not placed (and the next pass rebuilds the core from
 * the store). Until agents report runs, a placed job stays placed.
 */
export class SchedulingLoop {
  private current: Promise<PassReport> | null = null;
  private next: Promise<PassReport> | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Cancels the pass a `poke` asked for and that has not begun; null when none is due. */
  private cancelPoke: (() => void) | null = null;
  /** A poke came while a pass ran: another follows it. */
  private pokedDuring = false;
  /** When the last pass ended (performance.now()) and how long it took, ms: the next one waits as long after it. */
  private lastEndedAt = -Infinity;
  private lastPassMs = 0;
  /**
   * The sites as the last pass read them (performance.now() of the read), for the passes a poke asks for: under a
   * stream of submissions those follow one another, and the sites change far less often. Every pass of the timer,
   * every pass run by hand, and the next pass after `sitesChanged` read them again.
   */
  private sites: { readonly at: number; readonly list: Site[]; readonly key: string } | null = null;
  /** Diagnoses not yet written: passes that take the sites they kept leave them for the next pass that reads the sites. */
  private unwritten = new Map<string, Record<string, unknown>>();
  private stopped = true;
  private core: LiveCore | null = null;
  private memory: ReadonlyMap<string, SiteMemory> = new Map();
  private loadedAt: number;
  private reloadNeeded = false;
  /** Jobs waiting per org, as of the last pass: counted whole after a full pass, else updated by arrivals. */
  private waiting = new Map<string, number>();
  /** Decisions the core made that are not committed yet, in order; they hold in the kept core, and are dropped with it. */
  private backlog: Decision[] = [];
  /** Commit time per decision, ms: a moving average that sizes the commits to the budget (it starts pessimistic). */
  private msPerDecision = 5;
  /** The diagnosis last stored per job, by identity: the core reuses one object while a job's diagnosis stands. */
  private stored = new WeakMap<JobRecord, Diagnosis>();

  private readonly siteSource: SiteSource;

  /** `o.active` must have been loaded from the store. */
  constructor(private readonly o: SchedulingLoopOptions) {
    this.loadedAt = o.clock.now();
    this.siteSource = o.sites ?? o.store;
  }

  /** What the next pass would start from (the dry run rebuilds a core of its own from it). */
  async snapshot(): Promise<PoolSnapshot> {
    return { sites: await this.siteSource.listSites(), ...this.o.active.snapshot() };
  }

  /** The site memory the next pass starts from. */
  get siteMemory(): ReadonlyMap<string, SiteMemory> {
    return this.memory;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /**
   * Something changed that may let a job start (a submission, a run's end, a cancel):
   * asks for a pass. On an idle pool it runs at once — in the event loop's next turn,
   * so that what arrives in this one joins it; while a pass runs, one more follows it
   * for all that arrived meanwhile. No pass begins sooner after the last one than that
   * one took: under load the loop holds the store at most half the time, and
   * submissions keep their turn between passes (as they do within one, by the commit budget).
   */
  poke(): void {
    if (this.stopped || this.cancelPoke !== null) return;
    if (this.current !== null) {
      this.pokedDuring = true;
      return;
    }
    const run = () => {
      this.cancelPoke = null;
      this.runPass(false).catch(() => undefined); // logged by the pass
    };
    const delayMs = this.lastEndedAt + this.lastPassMs - performance.now();
    if (delayMs <= 0) {
      const immediate = setImmediate(run);
      this.cancelPoke = () => clearImmediate(immediate);
    } else {
      const timer = setTimeout(run, delayMs);
      timer.unref();
      this.cancelPoke = () => clearTimeout(timer);
    }
  }

  /** A site changed in a way that may change what can be placed (capacity, health, policy): the next pass reads them all again, and comes at once. */
  sitesChanged(): void {
    this.sites = null;
    this.poke();
  }

  /**
   * Runs a pass now, or right after the one under way. Resolves when it has committed. `readSites`: read the sites
   * from the store (default), rather than take those the last pass read unless they changed or are a second old.
   */
  runPass(readSites = true): Promise<PassReport> {
    if (readSites) this.sites = null;
    if (this.current === null) {
      const startedAt = performance.now();
      this.cancelPoke?.();
      this.cancelPoke = null;
      this.current = this.pass().finally(() => {
        this.current = null;
        this.lastEndedAt = performance.now();
        this.lastPassMs = this.lastEndedAt - startedAt;
        if (this.pokedDuring) {
          this.pokedDuring = false;
          this.poke();
        }
      });
      return this.current;
    }
    this.next ??= this.current
      .catch(() => undefined)
      .then(() => {
        this.next = null;
        return this.runPass();
      });
    return this.next;
  }

  /** Stops the timers and waits for a pass under way. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.cancelPoke?.();
    this.cancelPoke = null;
    await this.next?.catch(() => undefined);
    await this.current?.catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.runPass()
        .catch(() => undefined)
        .finally(() => this.schedule(this.o.intervalMs));
    }, delayMs);
    this.timer.unref();
  }

  private async reload(): Promise<void> {
    await this.o.active.reload(this.o.store);
    this.loadedAt = this.o.clock.now();
    this.reloadNeeded = false;
  }

  /**
   * Sites up whose last heartbeat is older than the timeout become lost, in the store
   * and in the returned list (a new one; the same when none did): the rebuild then leaves them out, and their placed and
   * running jobs come back unrestored and are requeued with guarded transitions, so
   * exactly once however many passes see the site lost.
   */
  private async markSilentSitesLost(sites: Site[], nowMs: number): Promise<Site[]> {
    const timeout = this.o.siteTimeoutMs;
    if (timeout === undefined) return sites;
    const out: Site[] = [];
    let marked = false;
    for (const site of sites) {
      const silent = site.health === 'up' && site.lastHeartbeatAt !== null && nowMs - site.lastHeartbeatAt > timeout;
      if (silent && (await this.siteSource.setSiteHealth(site.id, 'lost'))) {
        this.o.logger.warn({ site: site.id, lastHeartbeatAt: site.lastHeartbeatAt }, 'site silent: marked lost');
        // Its agent has stopped every run by now (fencing): what it was told to stop holds nothing any more.
        for (const r of this.o.active.stoppingOnSite(site.id)) this.o.active.stopped(r.jobId, r.attempt, site.id);
        out.push({ ...site, health: 'lost' });
        marked = true;
      } else out.push(site);
    }
    return marked ? out : sites;
  }

  /** Jobs placed across sites longer than the co-allocation timeout with parts not yet started, and the sites they wait for. */
  private coallocationExpired(nowMs: number): { job: Job; waiting: string[] }[] {
    const out: { job: Job; waiting: string[] }[] = [];
    for (const [id, p] of this.o.active.currentPlacements()) {
      if (p.parts.length < 2 || p.startedAt !== null || nowMs - p.placedAt < this.o.coallocationTimeoutMs) continue;
      const job = this.o.active.get(id);
      if (job?.state === 'placed') out.push({ job, waiting: p.parts.filter((part) => part.startedAt === undefined).map((part) => part.siteId) });
    }
    return out;
  }

  /** Commits the core's decision that a spanning job gives back one site's part (an owner reclaiming it). */
  private shrink(core: RebuiltScheduler, d: Extract<Decision, { kind: 'shrink' }>, owners: ReadonlyMap<string, string>, nowMs: number): Promise<boolean> {
    const leaving = core.poolSites[d.site];
    if (leaving === undefined) return Promise.resolve(false);
    const detail = { site: leaving.site.id, gpu_type: leaving.gpuType, why: d.why, stop_at: new Date(d.atS * 1000).toISOString(), efficiency: d.job.allocation?.efficiency ?? null };
    return this.dropParts(d.job.spec.id, (p) => p.siteId === leaving.site.id && p.gpuType === leaving.gpuType, detail, owners, nowMs);
  }

  /**
   * Drops the parts `gone` picks from a job's current placement: a `shrunk` event with
   * `detail`, and a ledger entry for the GPU time they used if the job ran, in one
   * transaction. Their agents are told to stop them (when `detail.stop_at` comes, if
   * given). False when the job changed meanwhile.
   */
  private async dropParts(jobId: string, gone: (p: PlacementPart) => boolean, detail: Readonly<Record<string, unknown>>, owners: ReadonlyMap<string, string>, nowMs: number): Promise<boolean> {
    const job = this.o.active.get(jobId);
    const placement = this.o.active.placement(jobId);
    if (job === undefined || placement === undefined) return false;
    const kept = placement.parts.filter((p) => !gone(p));
    const ledger = usage(job, { ...placement, parts: placement.parts.filter(gone) }, (id) => owners.get(id), nowMs, 'shrunk');
    return this.o.lifecycle.updateParts(job.id, placement.attempt, placement.parts, kept, { at: nowMs, type: 'shrunk', detail }, ledger);
  }

  private async pass(): Promise<PassReport> {
    const { store, clock, lifecycle, active, metrics, logger } = this.o;
    const t0 = performance.now();
    try {
      const nowMs = clock.now();
      // 1. the snapshot
      const kept = this.sites !== null && performance.now() - this.sites.at < SITES_KEPT_MS ? this.sites : null;
      // The source's version, read before its sites: a change after the read shows as a newer version next time.
      const version = kept === null ? this.siteSource.version?.() : undefined;
      const read = kept?.list ?? (await this.siteSource.listSites());
      const sites = await this.markSilentSitesLost(read, nowMs);
      const base = kept?.key ?? (version === undefined ? sitesKey(sites) : `v${version}`);
      // Sites this pass marked lost change what the core may hold: a key of its own, so that it is rebuilt now.
      const key = sites === read ? base : `${base}:lost@${nowMs}`;
      this.sites = { at: kept?.at ?? performance.now(), list: sites, key };
      if (this.reloadNeeded || nowMs - this.loadedAt >= this.o.reloadIntervalMs) await this.reload();
      const { arrived, finished, changed } = active.takeChanges();
      // 2. the core: rebuilt, or kept with the arrivals added and the ended runs' GPUs freed
      let core = this.core;
      let unrestored: readonly Job[] = [];
      let shrunkByLoss: RebuiltScheduler['shrunk'] = [];
      let rebuilt = false;
      const ended = core === null ? [] : finished.map((id) => core?.records.get(id));
      // A run the core does not hold as running (outgrown: its view is off), or a core grown far past the jobs active (it keeps every job it
      // was given), is rebuilt rather than kept.
      const outgrown = ended.some((r) => r?.phase !== 'running') || (core !== null && core.sched.state.jobs.length > 2 * active.size + KEPT_JOBS_SLACK);
      if (core === null || changed || outgrown || core.sitesKey !== key) {
        const fresh = rebuildScheduler({ sites, ...active.snapshot() }, this.o.scheduler, this.memory);
        core = { ...fresh, sitesKey: key };
        unrestored = fresh.unrestored;
        shrunkByLoss = fresh.shrunk;
        rebuilt = true;
        this.stored = new WeakMap();
        this.backlog = [];
      } else {
        for (const r of ended) {
          if (r === undefined) continue;
          core.sched.finish(r, nowMs / 1000);
          core.records.delete(r.spec.id);
        }
        for (const job of arrived) if (job.state === 'pending' && !core.records.has(job.id)) core.records.set(job.id, core.sched.submit(jobSpec(job)));
      }
      this.core = core;
      // 3. one pass. A kept core tries only the jobs that arrived since the last pass, unless a time-based
      //    trigger is due (Scheduler.pass: GPUs freed or a site back would also widen it, but those rebuild the core).
      const full = rebuilt || ended.length > 0 || nowMs / 1000 >= core.sched.wakeAt;
      this.backlog.push(...core.sched.pass(nowMs / 1000));

      // 4. its decisions (the backlog first, as many as the budget allows), committed together
      const owners = new Map(sites.map((s) => [s.id, s.orgId]));
      const changes: Change[] = [];
      /** What each change stands for, to count those that applied. */
      const kinds: ('start' | 'preempt' | 'lost' | 'requeue' | 'timeout')[] = [];
      const ledger: LedgerEntry[] = [];
      const requeue = (job: Job, kind: 'preempt' | 'lost' | 'timeout', type: string, detail: Record<string, unknown>) => {
        if (job.state !== 'placed' && job.state !== 'running') return;
        if (job.state === 'running') ledger.push(...usage(job, active.placement(job.id), (id) => owners.get(id), nowMs, outcomeOf('preempted', type)));
        changes.push({ jobId: job.id, from: job.state, to: 'preempted', at: nowMs, type, detail });
        changes.push({ jobId: job.id, from: 'preempted', to: 'pending', at: nowMs, type: 'requeued', diagnosis: null });
        kinds.push(kind, 'requeue');
      };
      for (const job of unrestored) requeue(job, 'lost', 'site_lost', { reason: 'the site is lost, gone, or has too few GPUs for this job now' });
      for (const { job, waiting } of this.coallocationExpired(nowMs)) {
        requeue(job, 'timeout', 'coallocation_timeout', { reason: `not every site started its part within ${this.o.coallocationTimeoutMs / 1000} s: released on all`, waiting_for: waiting });
      }
      const room = Math.min(this.o.maxDecisionsPerPass, Math.max(1, Math.floor(this.o.commitBudgetMs / this.msPerDecision)));
      const committed = this.backlog.splice(0, room);
      const shrinks: Extract<Decision, { kind: 'shrink' }>[] = [];
      for (const d of committed) {
        const job = active.get(d.job.spec.id);
        if (job === undefined) continue;
        if (d.kind === 'start') {
          // A start decided in an earlier pass and committed only now (the budget carried it over) reads the job's
          // allocation as the core holds it now: none, if a later decision preempted it meanwhile. That start is
          // stale (the core has the job queued again); committing it placed the job on no site at all.
          if ((d.job.allocation?.parts.length ?? 0) === 0) continue;
          const across = (d.job.allocation?.parts.length ?? 0) > 1 ? { efficiency: d.job.allocation?.efficiency ?? 1, wan_gbps: d.job.allocation?.wan?.gbps ?? 0 } : {};
          changes.push({ jobId: job.id, from: 'pending', to: 'placed', at: nowMs, type: 'placed', placement: placementParts(core, d.job), detail: { policy: core.sched.profile.name, ...across } });
          kinds.push('start');
        } else if (d.kind === 'shrink') shrinks.push(d);
        else requeue(job, 'preempt', 'preempted', { why: d.why, stop_at: new Date(d.atS * 1000).toISOString() });
      }
      // A preempted job is requeued in the store at once, even when its site gives notice (the agent protocol
      // carries the notice); so is a shrink. The core, which would hold the GPUs until then, is rebuilt from the store.
      // Jobs released by the co-allocation timeout are held by the kept core too: it is rebuilt likewise.
      const preempting = committed.some((d) => d.kind === 'preempt' || d.kind === 'shrink') || kinds.includes('timeout');
      const commitStart = performance.now();
      const results = await lifecycle.apply(changes, ledger, 'scheduler');
      let stale = false;
      for (const d of shrinks) if (!(await this.shrink(core, d, owners, nowMs))) stale = true;
      // Running jobs across sites that lost a site go on without it (the rebuilt core holds them so already).
      for (const { job, lost } of shrunkByLoss) {
        for (const siteId of new Set(lost.map((p) => p.siteId))) {
          const detail = { site: siteId, why: 'site_lost', efficiency: core.records.get(job.id)?.allocation?.efficiency ?? null };
          if (!(await this.dropParts(job.id, (p) => p.siteId === siteId, detail, owners, nowMs))) stale = true;
        }
      }
      if (changes.length > 0) this.msPerDecision = 0.7 * this.msPerDecision + (0.3 * (performance.now() - commitStart)) / changes.length;
      const applied = (kind: string) => results.filter((r, i) => r !== null && kinds[i] === kind).length;
      // Requeued jobs the core never held join its queue now.
      for (const job of unrestored) {
        const after = active.get(job.id);
        if (after?.state === 'pending') core.records.set(job.id, core.sched.submit(jobSpec(after)));
      }
      // The store disagreed with the mirror (a job changed meanwhile), or a preemption: start again from the store.
      if (results.includes(null) || stale || preempting) {
        this.core = null;
        this.backlog = [];
        if (results.includes(null) || stale) this.reloadNeeded = true;
        this.poke();
      } else if (this.backlog.length > 0) this.poke();

      // 5. diagnoses of the jobs still waiting, where they changed, and the queue per org. After a full pass every
      //    queued job may have a new diagnosis; after another, only those that arrived (the others were not tried),
      //    so the work is O(arrivals), not O(queue).
      const tried = full ? core.records : new Map(arrived.map((j) => [j.id, core.records.get(j.id)] as const));
      if (full) this.waiting = new Map(sites.map((s) => [s.orgId, 0]));
      const diagnoses = new Map<string, Record<string, unknown>>();
      for (const [id, record] of tried) {
        if (record === undefined || (record.phase !== 'queued' && record.phase !== 'never')) continue;
        const job = active.get(id);
        if (job?.state !== 'pending') continue;
        this.waiting.set(job.orgId, (this.waiting.get(job.orgId) ?? 0) + 1);
        // Jobs the pass skipped (larger than any free space) keep their last diagnosis; new ones get one now.
        const d = core.sched.diagnosis(record) ?? (job.diagnosis === null ? core.sched.explain(record, nowMs / 1000) : undefined);
        if (d === undefined || this.stored.get(record) === d) continue;
        this.stored.set(record, d);
        const json = diagnosisJson(d);
        if (job.diagnosis?.message !== json.message) diagnoses.set(id, json);
      }
      // The mirror has them at once; the store (in chunks, letting requests in between) with the next pass that
      // reads the sites, within a second: under a stream of submissions a pass per arrival wrote one each.
      for (const [id, d] of diagnoses) {
        active.diagnosed(id, d);
        this.unwritten.set(id, d);
      }
      if (kept === null && this.unwritten.size > 0) {
        const writing = this.unwritten;
        this.unwritten = new Map();
        await store.setDiagnoses(writing);
      }
      this.memory = siteMemory(core);
      const seconds = (performance.now() - t0) / 1000;
      metrics.recordPass(seconds, this.waiting, core.sched.state.sites.map((s, i) => ({ site: core.poolSites[i]?.site.id ?? '', gpuType: core.poolSites[i]?.gpuType ?? '', gpus: s.total - s.free })));
      const report: PassReport = { started: applied('start'), preempted: applied('preempt'), requeued: applied('lost'), waiting: [...this.waiting.values()].reduce((a, b) => a + b, 0), rebuilt, seconds };
      if (report.started + report.preempted + report.requeued > 0) logger.info({ pass: report }, 'scheduling pass');
      return report;
    } catch (err) {
      this.core = null;
      this.sites = null;
      this.reloadNeeded = true;
      logger.error({ err }, 'scheduling pass failed');
      throw err;
    }
  }
}
