import type { FastifyBaseLogger } from 'fastify';
import type { ChangeTable, ChangeWatch, StoreChange } from '../store/change-feed.ts';
import type { Site, Store } from '../store/types.ts';
import type { ActiveJobs } from './active-jobs.ts';
import type { Authenticator } from './auth.ts';
import type { SiteKeyBook } from './log-keys.ts';
import type { QuotaBook } from './quotas.ts';
import type { SiteDirectory } from './site-directory.ts';

/** What a replica keeps in memory of the store: its copies, and the caches of what it read. */
export interface Mirrors {
  readonly active: ActiveJobs;
  readonly sites: SiteDirectory;
  readonly auth: Pick<Authenticator, 'forget'>;
  readonly siteKeys: Pick<SiteKeyBook, 'forget'>;
  readonly quotas: Pick<QuotaBook, 'forget'>;
}

/** `current`: the copies hold every change seen on the feed; `behind`: they will be loaded whole; `off`: no feed. */
export type FeedState = 'off' | 'behind' | 'current';

/** How a replica came to lead: its copies brought up to date from the change feed, or loaded whole. */
export type TakeOver = 'feed' | 'reloaded';

export interface FollowerOptions {
  /** How long changes are gathered before they are read, ms: a burst's are read together. */
  readonly gatherMs?: number;
  /** After the feed was lost, or could not be opened, how long before it is opened again, ms. */
  readonly retryMs?: number;
  /** After this replica stopped leading, how long before its copies are loaded whole again, ms (its last writes settle first). */
  readonly resyncAfterMs?: number;
}

/**
 * A replica's copies of the store kept current through PostgreSQL while another replica leads: the change feed
 * (change-feed.ts, migration 0010) announces each row the leader changes, and the follower reads just those rows —
 * the active jobs and their placements, the sites — and forgets what it cached of changed tokens (a revocation
 * elsewhere holds here at once), site keys and quotas. So a takeover does not load the state again: the new
 * leader waits for the feed to deliver everything committed before it took the lease (a barrier), applies it, and
 * reads only the sites' heartbeat times, which the feed leaves out (every site's is written each second).
 *
 * The copies are loaded whole only when they cannot be trusted: when the feed was opened (or opened again after its
 * connection was lost: changes in between went unseen), after a read of changes failed, and some time after this
 * replica stopped leading (what it applied as leader may not all have committed). While it leads, the changes on the
 * feed are its own, applied as it made them, and ignored.
 */
export class ChangeFollower {
  private watch: ChangeWatch | null = null;
  private current = false;
  private leading = false;
  private stopped = true;
  private pending = new Map<ChangeTable, Set<string>>();
  /** Reads and what they apply, one at a time: a copy never goes back to an older read. */
  private work: Promise<void> = Promise.resolve();
  private gatherTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private resyncTimer: NodeJS.Timeout | null = null;
  private appliedCount = 0;
  private readonly gatherMs: number;
  private readonly retryMs: number;
  private readonly resyncAfterMs: number;

  constructor(
    private readonly store: Store,
    private readonly mirrors: Mirrors,
    private readonly log: FastifyBaseLogger,
    options: FollowerOptions = {},
  ) {
    this.gatherMs = options.gatherMs ?? 5;
    this.retryMs = options.retryMs ?? 1000;
    this.resyncAfterMs = options.resyncAfterMs ?? 5000;
  }

  get state(): FeedState {
    return this.watch === null ? 'off' : this.current ? 'current' : 'behind';
  }

  /** Changes read and applied since start. */
  get applied(): number {
    return this.appliedCount;
  }

  /** Opens the feed and loads the copies whole; should the feed not open, tries again in the background. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.open();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of [this.gatherTimer, this.retryTimer, this.resyncTimer]) if (t !== null) clearTimeout(t);
    const watch = this.watch;
    this.watch = null;
    this.current = false;
    await watch?.close();
    await this.work;
  }

  /**
   * This replica took the lease: brings the copies up to every change committed before it (from the feed when they
   * are current, else by loading them whole; a failure rejects, and the takeover fails). From now on the changes on
   * the feed are this replica's own.
   */
  async takeOver(): Promise<TakeOver> {
    if (this.resyncTimer !== null) clearTimeout(this.resyncTimer);
    this.resyncTimer = null;
    let how: TakeOver = 'reloaded';
    const watch = this.watch;
    if (watch !== null && this.current) {
      try {
        await watch.barrier();
        await this.flush();
        if (this.current) how = 'feed';
      } catch (err) {
        this.log.warn({ err }, 'replica: the change feed failed while taking over; loading the state whole');
      }
    }
    if (how === 'feed') {
      await this.work;
      this.mirrors.sites.heard(await this.store.siteHeartbeats());
    } else {
      const reload = this.work.then(() => this.reloadAll());
      this.work = reload.catch(() => undefined);
      await reload;
    }
    this.leading = true;
    return how;
  }

  /** This replica leads no more: the feed's changes are applied again, and the copies loaded whole once its last writes settled. */
  steppedDown(): void {
    this.leading = false;
    this.current = false;
    this.pending.clear();
    if (this.stopped) return;
    this.resyncTimer = setTimeout(() => {
      this.resyncTimer = null;
      if (!this.leading) void this.serially(() => this.reloadAll());
    }, this.resyncAfterMs);
    this.resyncTimer.unref();
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    try {
      this.watch = await this.store.watchChanges({ change: (c) => this.heard(c), lost: (err) => this.lost(err) });
    } catch (err) {
      this.log.error({ err }, 'replica: the change feed could not be opened; trying again');
      this.retryLater();
      return;
    }
    // Whatever changed before the feed was open is in what this reads. A leader's copies are its own: they are
    // loaded whole once it leads no more (steppedDown).
    if (!this.leading) await this.serially(() => this.reloadAll());
  }

  private lost(err: Error): void {
    this.watch = null;
    this.current = false;
    // Changes from now on go unseen: a revoked token must not stay cached here.
    this.forgetCached();
    if (this.stopped) return;
    this.log.warn({ err }, 'replica: the change feed was lost; opening it again');
    this.retryLater();
  }

  private retryLater(): void {
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.open();
    }, this.retryMs);
    this.retryTimer.unref();
  }

  private heard(change: StoreChange): void {
    if (this.leading) return;
    let keys = this.pending.get(change.table);
    if (keys === undefined) this.pending.set(change.table, (keys = new Set()));
    keys.add(change.key);
    this.gatherTimer ??= setTimeout(() => {
      this.gatherTimer = null;
      void this.flush();
    }, this.gatherMs);
  }

  /** Reads the rows changed since the last flush and applies them (after any read under way). */
  private flush(): Promise<void> {
    return this.serially(async () => {
      const pending = this.pending;
      this.pending = new Map();
      const keys = (table: ChangeTable) => [...(pending.get(table) ?? [])];
      for (const id of keys('tokens')) this.mirrors.auth.forget(id);
      for (const id of keys('site_keys')) this.mirrors.siteKeys.forget(id);
      for (const id of keys('org_quotas')) this.mirrors.quotas.forget(id);
      const jobIds = [...new Set([...keys('jobs'), ...keys('placements')])];
      const siteIds = keys('sites');
      const [jobs, placements, sites] = await Promise.all([
        jobIds.length === 0 ? [] : this.store.activeJobs(jobIds),
        jobIds.length === 0 ? [] : this.store.activePlacements(jobIds),
        Promise.all(siteIds.map((id) => this.store.getSite(id))),
      ]);
      if (jobIds.length > 0) this.mirrors.active.synced(jobIds, jobs, placements);
      await this.mirrors.sites.synced(sites.filter((s): s is Site => s !== null));
      for (const k of pending.values()) this.appliedCount += k.size;
    });
  }

  private async reloadAll(): Promise<void> {
    const watch = this.watch;
    this.forgetCached();
    await this.mirrors.active.reload(this.store);
    await this.mirrors.sites.refresh();
    // Current only if the feed that was open before the reads still is: else changes in between went unseen.
    if (watch !== null && this.watch === watch) this.current = true;
  }

  private forgetCached(): void {
    this.mirrors.auth.forget();
    this.mirrors.siteKeys.forget();
    this.mirrors.quotas.forget();
  }

  /** Runs `task` after those before it; one that fails leaves the copies behind (loaded whole at the next takeover). */
  private serially(task: () => Promise<void>): Promise<void> {
    this.work = this.work.then(task).catch((err: unknown) => {
      this.current = false;
      this.log.error({ err }, 'replica: reading the store’s changes failed; the state will be loaded whole');
    });
    return this.work;
  }
}
