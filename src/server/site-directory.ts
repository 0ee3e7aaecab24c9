import type { Site, SiteReport, Store } from '../store/types.ts';

/**
 * Who owns each site, and the neutral label other orgs know it by.
 *
 * An org never sees another org's site ids (README: "an org never sees another
 * org's sites"): where a member's job ran on a site lent by another org, or a
 * diagnosis names one, it reads `<owner org>:site-<n>` instead, n counting that
 * org's sites in the order they were registered. Labels never change, as sites are
 * never deleted and the order is fixed; so the directory only grows, and a lookup
 * of an id it does not know reloads it once. It also knows each site's declared GPUs
 * (what bounds its agent's heartbeats) and share policy (what a borrowed run handed to
 * its agent must keep to), refreshed whenever a site changes.
 */
export interface SiteEntry {
  readonly orgId: string;
  /** `<org>:site-<n>`: what other orgs see instead of the id. */
  readonly label: string;
  /** GPUs its org-admin declares (as of the last refresh: after every create and update of a site). */
  readonly gpus: number;
  /** Its share policy (as of the last refresh, as `gpus`). */
  readonly share: Site['share'];
}

/** Ids the API gives sites (routes/sites.ts): a slug of the name and 8 hex digits. */
const SITE_ID = /[a-z0-9][a-z0-9-]*-[0-9a-f]{8}/g;

/** Heartbeat times are written to the store this often, ms, all sites' in one statement. */
const LIVENESS_WRITE_MS = 1000;

/**
 * Also the server's view of the sites themselves: every row as last read, with what this
 * server wrote since (it is the store's only writer). A heartbeat that changes nothing but
 * the site's time costs no store statement: the time is kept here, and written with every
 * other site's each second (`touchSites`); one that changes what the site reports, or
 * brings a site back, is written at once. The scheduling loop reads the sites from here
 * (`listSites`, `setSiteHealth`: the store's own signatures), so the times it judges
 * silence by are the newest. After a restart the store's times are at most a second old.
 */
export class SiteDirectory {
  private entries = new Map<string, SiteEntry>();
  /** Every site as last read, with what this server wrote since, in the store's order (created_at, id). */
  private rows = new Map<string, Site>();
  private loaded = false;
  private loading: Promise<void> | null = null;
  /** A read to start once the one under way is done. */
  private queued: Promise<void> | null = null;
  /** Sites written while a read was under way: what that read says of them may be older than what is here. */
  private writtenDuringLoad = new Set<string>();
  /** Heartbeat times not yet in the store. */
  private unwritten = new Map<string, number>();
  private writing: Promise<void> = Promise.resolve();
  /** Bumped whenever anything of a site but its heartbeat time may have changed (what the scheduling loop's core depends on). */
  private changes = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly store: Store) {}

  /**
   * Reads every site again (after one is created or changed). One read at a time: asked while one is under way,
   * which may have read before the change that asks, it reads once more after that one (once, however many ask).
   */
  refresh(): Promise<void> {
    if (this.loading === null) return this.load();
    this.queued ??= this.loading
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.load();
      });
    return this.queued;
  }

  private load(): Promise<void> {
    this.writtenDuringLoad = new Set();
    this.loading = this.store
      .listSites()
      .then((sites) => {
        const rows = new Map<string, Site>();
        for (const read of sites) {
          const mine = this.rows.get(read.id);
          // What this server wrote during the read wins; a heartbeat time never moves back.
          const site = mine !== undefined && this.writtenDuringLoad.has(read.id) ? { ...read, health: mine.health, reportedCapacity: mine.reportedCapacity, sandboxCapable: mine.sandboxCapable } : read;
          rows.set(read.id, { ...site, lastHeartbeatAt: latest(read.lastHeartbeatAt, mine?.lastHeartbeatAt ?? null) });
        }
        this.rows = rows;
        this.entries = labelled(sites);
        this.loaded = true;
        this.changes++;
      })
      .finally(() => {
        this.loading = null;
      });
    return this.loading;
  }

  /**
   * A site this server just created: added as it is, without reading every site again (a pool of thousands of sites
   * registered one by one read them all at each), its label its org's next one — unless it does not sort after every
   * site known (the store's order: created_at, then id), when all are read again.
   */
  async added(site: Site): Promise<void> {
    const last = [...this.rows.values()].at(-1);
    if (!this.loaded || this.loading !== null || (last !== undefined && (last.createdAt > site.createdAt || (last.createdAt === site.createdAt && last.id > site.id)))) {
      await this.refresh();
      return;
    }
    const n = [...this.entries.values()].filter((e) => e.orgId === site.orgId).length + 1;
    this.rows.set(site.id, site);
    this.entries.set(site.id, entryOf(site, `${site.orgId}:site-${n}`));
    this.changes++;
  }

  /**
   * Sites another replica changed, as the store holds them now (a follower keeping its copy: change-feed.ts); a
   * heartbeat time here never moves back.
   */
  async synced(read: readonly Site[]): Promise<void> {
    for (const site of read) {
      const mine = this.rows.get(site.id);
      const label = this.entries.get(site.id)?.label;
      if (mine === undefined || label === undefined) {
        await this.added(site);
        continue;
      }
      this.rows.set(site.id, { ...site, lastHeartbeatAt: latest(site.lastHeartbeatAt, mine.lastHeartbeatAt) });
      this.entries.set(site.id, entryOf(site, label));
      this.changes++;
    }
  }

  /** Heartbeat times another replica heard (read from the store when taking over from it); none moves back. */
  heard(times: readonly { readonly siteId: string; readonly at: number }[]): void {
    for (const t of times) {
      const row = this.rows.get(t.siteId);
      if (row !== undefined) this.rows.set(t.siteId, { ...row, lastHeartbeatAt: latest(t.at, row.lastHeartbeatAt) });
    }
  }

  /** The site as this server knows it now (reads the sites again once for an id not seen yet); undefined when there is none. */
  async site(siteId: string): Promise<Site | undefined> {
    if (!this.rows.has(siteId)) await this.refresh();
    return this.rows.get(siteId);
  }

  /** `site` with its newest heartbeat time (one kept here, not yet written): what a read of the store shows, a second late. */
  withLiveness(site: Site): Site {
    const at = this.rows.get(site.id)?.lastHeartbeatAt ?? null;
    return at === null || (site.lastHeartbeatAt ?? -Infinity) >= at ? site : { ...site, lastHeartbeatAt: at };
  }

  /** Changes whenever anything of a site but its heartbeat time may have: the scheduling loop rebuilds its core then. */
  version(): number {
    return this.changes;
  }

  /** The sites (of one org), as the store lists them, with what this server knows since. */
  async listSites(orgId?: string): Promise<Site[]> {
    if (!this.loaded) await this.refresh();
    const all = [...this.rows.values()];
    return orgId === undefined ? all : all.filter((s) => s.orgId === orgId);
  }

  /** Sets a site's health, in the store and here. */
  async setSiteHealth(siteId: string, health: Site['health']): Promise<boolean> {
    const ok = await this.store.setSiteHealth(siteId, health);
    if (ok) this.note(siteId, { health });
    return ok;
  }

  /**
   * A heartbeat of `before` at `at` with what it reported: what it changes of the site (a report, the site back up)
   * is written now; its time, with every site's each second. Returns the site after, and whether it changed beyond
   * its time (what can be placed on it may have).
   */
  async heartbeat(before: Site, at: number, report: SiteReport): Promise<{ site: Site; changed: boolean }> {
    const reported = (report.capacity !== undefined && JSON.stringify(report.capacity) !== JSON.stringify(before.reportedCapacity)) || (report.sandboxCapable !== undefined && report.sandboxCapable !== before.sandboxCapable);
    if (reported) await this.store.heartbeat(before.id, at, report);
    else this.unwritten.set(before.id, at);
    if (before.health !== 'up') await this.store.setSiteHealth(before.id, 'up');
    this.timer ??= setTimeout(() => void this.writeTimes(), LIVENESS_WRITE_MS).unref();
    // The report is kept only when it changed: the same one again leaves the site (and the version) as it was.
    const kept = reported ? { ...(report.capacity === undefined ? {} : { reportedCapacity: report.capacity }), ...(report.sandboxCapable === undefined ? {} : { sandboxCapable: report.sandboxCapable }) } : {};
    const site = this.note(before.id, { health: 'up', lastHeartbeatAt: latest(at, before.lastHeartbeatAt), ...kept });
    return { site: site ?? before, changed: reported || before.health !== 'up' };
  }

  /** Writes the heartbeat times kept here (at once; then none is pending). */
  writeTimes(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const times = [...this.unwritten].map(([siteId, at]) => ({ siteId, at }));
    this.unwritten = new Map();
    if (times.length === 0) return this.writing;
    // One write at a time; a failed one is tried again with the next (the times stay newest-wins).
    this.writing = this.writing.then(() => this.store.touchSites(times)).then(
      () => undefined,
      () => {
        for (const t of times) if (!this.unwritten.has(t.siteId)) this.unwritten.set(t.siteId, t.at);
      },
    );
    return this.writing;
  }

  private note(siteId: string, change: Partial<Pick<Site, 'health' | 'lastHeartbeatAt' | 'reportedCapacity' | 'sandboxCapable'>>): Site | undefined {
    const row = this.rows.get(siteId);
    if (row === undefined) return undefined;
    const after = { ...row, ...change };
    this.rows.set(siteId, after);
    if (after.health !== row.health || after.reportedCapacity !== row.reportedCapacity || after.sandboxCapable !== row.sandboxCapable) this.changes++;
    if (this.loading !== null) this.writtenDuringLoad.add(siteId);
    return after;
  }

  /** The site's owner and label; reloads once for an id not seen yet; undefined for a site that does not exist. */
  async entry(siteId: string): Promise<SiteEntry | undefined> {
    if (!this.entries.has(siteId)) await this.refresh();
    return this.entries.get(siteId);
  }

  /** The entry of a site as last loaded, without reloading (undefined: not known yet). */
  known(siteId: string): SiteEntry | undefined {
    return this.entries.get(siteId);
  }

  /** The owners of the given sites (what placement parts show as `lender_org_id`). */
  async owners(siteIds: Iterable<string>): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const id of siteIds) {
      const e = await this.entry(id);
      if (e !== undefined) out.set(id, e.orgId);
    }
    return out;
  }

  /**
   * `value` as `viewerOrg` may see it: every string in it (deeply) with the ids of
   * other orgs' sites replaced by their labels. Null viewer (the admin): unchanged.
   * Pure over the directory as loaded: call `ensure` with the ids it may hold first.
   */
  relabel<T>(value: T, viewerOrg: string | null): T {
    if (viewerOrg === null) return value;
    const swap = (text: string): string =>
      text.replace(SITE_ID, (id) => {
        const e = this.entries.get(id);
        return e === undefined || e.orgId === viewerOrg ? id : e.label;
      });
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') return swap(v);
      if (Array.isArray(v)) return v.map(walk);
      if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
      return v;
    };
    return walk(value) as T;
  }

  /** Makes sure every site id `value` holds is known (a site created since the last load). */
  async ensure(value: unknown): Promise<void> {
    const text = JSON.stringify(value) ?? '';
    for (const id of text.match(SITE_ID) ?? []) {
      if (!this.entries.has(id)) {
        await this.refresh();
        return;
      }
    }
  }
}

const latest = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));

const entryOf = (s: Site, label: string): SiteEntry => ({ orgId: s.orgId, label, gpus: s.capacity.reduce((g, c) => g + c.nodes * c.gpusPerNode, 0), share: s.share });

/** Every site's entry: labels count each org's sites in registration order (listSites' order). */
export function labelled(sites: readonly Site[]): Map<string, SiteEntry> {
  const counts = new Map<string, number>();
  const out = new Map<string, SiteEntry>();
  for (const s of [...sites].sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))) {
    const n = (counts.get(s.orgId) ?? 0) + 1;
    counts.set(s.orgId, n);
    out.set(s.id, entryOf(s, `${s.orgId}:site-${n}`));
  }
  return out;
}
