import type { Capacity, OrgQuota, Site, Store } from '../store/types.ts';
import { ApiError } from './errors.ts';
import { ReadCache } from './read-cache.ts';

/**
 * Per-org quotas: what one org may declare (sites, nodes, GPUs) and keep waiting
 * (queued jobs), so that no member can grow the pool's state — and every scheduling
 * pass and dry run with it — without bound. The admin sets them per org
 * (PATCH /api/v1/orgs/:id/quota); a quota not set takes the server's default.
 *
 * The defaults hold a large member's whole estate: 16,384 nodes are 131,072 GPUs at
 * 8 per node, more than any single company's cluster today, while four sites of the
 * largest shape the API accepts (16 types × 65,536 nodes) would be 4 million nodes.
 */
export const DEFAULT_ORG_QUOTA: OrgQuota = { sites: 100, nodes: 16_384, gpus: 131_072, queuedJobs: 10_000 };

export const QUOTA_NAMES = ['sites', 'nodes', 'gpus', 'queuedJobs'] as const satisfies readonly (keyof OrgQuota)[];

/**
 * Every org's quotas: those the admin set, the defaults for the rest. Read from the
 * store once per org and kept (the leading replica is the store's only writer, its
 * sets go through `set`, and another replica's reach a follower through the change
 * feed), so that checking a submission costs no store read.
 */
export class QuotaBook {
  private readonly cache = new ReadCache<Partial<OrgQuota>>();

  constructor(private readonly store: Store, readonly defaults: OrgQuota) {}

  /** The quotas in force for the org. */
  async of(orgId: string): Promise<OrgQuota> {
    return { ...this.defaults, ...(await this.explicit(orgId)) };
  }

  /** Only the quotas the admin set for the org. */
  explicit(orgId: string): Promise<Partial<OrgQuota>> {
    return this.cache.get(orgId, () => this.store.orgQuota(orgId));
  }

  /** Forgets the org's quotas (every org's, without one): another replica changed them, or may have. */
  forget(orgId?: string): void {
    this.cache.forget(orgId);
  }

  /** Sets the named quotas (null: back to the default); false when the org does not exist. */
  async set(orgId: string, patch: { readonly [K in keyof OrgQuota]?: number | null }): Promise<boolean> {
    this.cache.forget(orgId);
    const ok = await this.store.setOrgQuota(orgId, patch);
    this.cache.forget(orgId);
    return ok;
  }
}

/** What an org's sites declare in all. */
export function declared(sites: readonly Pick<Site, 'capacity'>[]): { sites: number; nodes: number; gpus: number } {
  let nodes = 0;
  let gpus = 0;
  for (const s of sites) for (const c of s.capacity) {
    nodes += c.nodes;
    gpus += c.nodes * c.gpusPerNode;
  }
  return { sites: sites.length, nodes, gpus };
}

/**
 * Refuses (403 quota_exceeded, naming `field`) a change after which the org's sites
 * would declare more than its quotas allow. `others` are the org's sites the change
 * leaves as they are; `capacity` is the new or changed site's.
 */
export function checkSiteQuota(orgId: string, quota: OrgQuota, others: readonly Pick<Site, 'capacity'>[], capacity: readonly Capacity[], field: string): void {
  const after = declared([...others, { capacity }]);
  const over = (what: string, n: number, limit: number, f?: string) =>
    new ApiError('quota_exceeded', `${f === undefined ? '' : `${f}: `}org "${orgId}" would have ${n.toLocaleString('en-US')} ${what}, over its quota of ${limit.toLocaleString('en-US')} (the pool's admin sets quotas: PATCH /api/v1/orgs/${orgId}/quota)`, f === undefined ? {} : { field: f });
  if (after.sites > quota.sites) throw over('sites', after.sites, quota.sites);
  if (after.nodes > quota.nodes) throw over('nodes declared', after.nodes, quota.nodes, field);
  if (after.gpus > quota.gpus) throw over('GPUs declared', after.gpus, quota.gpus, field);
}

/**
 * One change to an org's sites at a time, in this process: a quota check and the
 * write it guards are not interleaved with another's (two creates could otherwise
 * both fit, together over the quota).
 */
export class OrgSerializer {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(orgId: string, fn: () => Promise<T>): Promise<T> {
    const before = this.tails.get(orgId) ?? Promise.resolve();
    const result = before.then(fn, fn);
    const tail = result.catch(() => undefined);
    this.tails.set(orgId, tail);
    void tail.then(() => {
      if (this.tails.get(orgId) === tail) this.tails.delete(orgId);
    });
    return result;
  }
}
