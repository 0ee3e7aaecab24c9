import type { JobDetailJson, PlacementJson, SiteHealth, SiteJson } from '../api/types.ts';

/**
 * The pool at this moment, from what the caller may read: its sites' capacity and
 * the placements of its placed and running jobs. Pure, so that the overview's
 * figures are tested without a browser.
 *
 * - allocated: GPUs held by placed or running jobs on that site and GPU type
 * - idle: capacity not allocated, on a site that is up (or not yet heard from)
 * - unavailable: capacity not allocated on a site that is lost (its agent is silent)
 */
export interface GpuCounts {
  readonly capacity: number;
  readonly allocated: number;
  readonly idle: number;
  readonly unavailable: number;
}

/** One site's GPUs of one type. */
export interface SiteTypeUsage extends GpuCounts {
  readonly siteId: string;
  readonly siteName: string;
  readonly orgId: string;
  readonly gpuType: string;
  readonly health: SiteHealth;
}

/** An org's GPUs: those of the sites it contributes, and what its own jobs hold anywhere. */
export interface OrgUsage extends GpuCounts {
  readonly orgId: string;
  /** GPUs the org's jobs hold, on its own sites or borrowed on others'. */
  readonly heldByJobs: number;
}

export interface PoolUsage {
  /** By site, then GPU type, in name order. */
  readonly sites: readonly SiteTypeUsage[];
  readonly orgs: readonly OrgUsage[];
  readonly gpuTypes: readonly (GpuCounts & { readonly gpuType: string })[];
  readonly total: GpuCounts;
  /**
   * GPUs that the caller's jobs hold on sites it cannot see: an org sees only its
   * own sites, so this is what it borrows from others. Always 0 for the admin.
   */
  readonly elsewhere: number;
}

/** The placement a job holds now: the latest attempt's, while it has not ended. */
export function currentPlacement(job: Pick<JobDetailJson, 'placements'>): PlacementJson | undefined {
  const latest = job.placements.reduce<PlacementJson | undefined>((a, p) => (a === undefined || p.attempt > a.attempt ? p : a), undefined);
  return latest?.ended_at === null ? latest : undefined;
}

const key = (siteId: string, gpuType: string) => `${siteId}\u0000${gpuType.toLowerCase()}`;

/** The overview's figures; `activeJobs` are the caller's placed and running jobs with their details. */
export function poolUsage(sites: readonly SiteJson[], activeJobs: readonly JobDetailJson[]): PoolUsage {
  const allocatedAt = new Map<string, number>();
  const heldByOrg = new Map<string, number>();
  let elsewhere = 0;
  const visible = new Map(sites.map((s) => [s.id, s]));
  for (const job of activeJobs) {
    if (job.state !== 'placed' && job.state !== 'running') continue;
    for (const part of currentPlacement(job)?.parts ?? []) {
      heldByOrg.set(job.org_id, (heldByOrg.get(job.org_id) ?? 0) + part.gpus);
      if (!visible.has(part.site_id)) elsewhere += part.gpus;
      const k = key(part.site_id, part.gpu_type);
      allocatedAt.set(k, (allocatedAt.get(k) ?? 0) + part.gpus);
    }
  }

  const rows: SiteTypeUsage[] = [];
  for (const site of [...sites].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id))) {
    for (const c of site.capacity) {
      const capacity = c.nodes * c.gpus_per_node;
      const allocated = allocatedAt.get(key(site.id, c.gpu_type)) ?? 0;
      const free = Math.max(0, capacity - allocated);
      const lost = site.health === 'lost';
      rows.push({ siteId: site.id, siteName: site.name, orgId: site.org_id, gpuType: c.gpu_type, health: site.health, capacity, allocated, idle: lost ? 0 : free, unavailable: lost ? free : 0 });
    }
  }

  const orgIds = [...new Set([...rows.map((r) => r.orgId), ...heldByOrg.keys()])].sort();
  const gpuTypes = [...new Set(rows.map((r) => r.gpuType.toLowerCase()))].sort();
  return {
    sites: rows,
    orgs: orgIds.map((orgId) => ({ orgId, ...sum(rows.filter((r) => r.orgId === orgId)), heldByJobs: heldByOrg.get(orgId) ?? 0 })),
    gpuTypes: gpuTypes.map((gpuType) => ({ gpuType, ...sum(rows.filter((r) => r.gpuType.toLowerCase() === gpuType)) })),
    total: sum(rows),
    elsewhere,
  };
}

function sum(rows: readonly GpuCounts[]): GpuCounts {
  return rows.reduce<GpuCounts>(
    (a, r) => ({ capacity: a.capacity + r.capacity, allocated: a.allocated + r.allocated, idle: a.idle + r.idle, unavailable: a.unavailable + r.unavailable }),
    { capacity: 0, allocated: 0, idle: 0, unavailable: 0 },
  );
}

/** The share of the visible capacity allocated now (0 when there is none). */
export const utilization = (counts: GpuCounts): number => (counts.capacity === 0 ? 0 : counts.allocated / counts.capacity);

/** One point of the utilization series the overview collects while it is open. */
export interface UtilizationSample {
  readonly at: number;
  readonly allocated: number;
  readonly capacity: number;
}

/** `samples` with `next` appended, keeping the newest `keep`. */
export function appendSample(samples: readonly UtilizationSample[], next: UtilizationSample, keep: number): UtilizationSample[] {
  return [...samples, next].slice(-keep);
}
