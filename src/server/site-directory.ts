import type { Site, Store } from '../store/types.ts';

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

export class SiteDirectory {
  private entries = new Map<string, SiteEntry>();
  private loading: Promise<void> | null = null;
  /** A read to start once the one under way is done. */
  private queued: Promise<void> | null = null;

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
    this.loading = this.store
      .listSites()
      .then((sites) => {
        this.entries = labelled(sites);
      })
      .finally(() => {
        this.loading = null;
      });
    return this.loading;
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

/** Every site's entry: labels count each org's sites in registration order (listSites' order). */
export function labelled(sites: readonly Site[]): Map<string, SiteEntry> {
  const counts = new Map<string, number>();
  const out = new Map<string, SiteEntry>();
  for (const s of [...sites].sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id))) {
    const n = (counts.get(s.orgId) ?? 0) + 1;
    counts.set(s.orgId, n);
    out.set(s.id, { orgId: s.orgId, label: `${s.orgId}:site-${n}`, gpus: s.capacity.reduce((g, c) => g + c.nodes * c.gpusPerNode, 0), share: s.share });
  }
  return out;
}
