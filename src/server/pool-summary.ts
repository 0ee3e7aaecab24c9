import type { SiteHealth } from '../store/types.ts';
import { usableCapacity, type PoolSnapshot } from './pool-snapshot.ts';

/**
 * The pool's figures at one moment, from the snapshot a scheduling pass starts from
 * (the sites in the store, the active jobs and their placements in the mirror):
 * what GET /api/v1/pool answers and its history samples. Pure.
 *
 * - allocated: GPUs held by placed or running jobs, on that site and GPU type
 * - idle: GPUs not allocated on a site that is up (or not heard from yet)
 * - unavailable: GPUs not allocated on a site that is lost (its agent is silent)
 */
export interface GpuCounts {
  readonly gpus: number;
  readonly allocated: number;
  readonly idle: number;
  readonly unavailable: number;
}

/** One site's GPUs of one type. */
export interface SiteTypeCounts extends GpuCounts {
  readonly siteId: string;
  readonly siteName: string;
  readonly orgId: string;
  readonly health: SiteHealth;
  readonly gpuType: string;
}

/** An org's totals: its sites' GPUs, what it lends and borrows now, and its queue. */
export interface OrgCounts extends GpuCounts {
  readonly orgId: string;
  /** GPUs its jobs hold on other orgs' sites. */
  readonly borrowed: number;
  /** GPUs of its sites that other orgs' jobs hold (part of `allocated`). */
  readonly lent: number;
  /** Jobs waiting to be placed, and the GPUs they ask for. */
  readonly queuedJobs: number;
  readonly queuedGpus: number;
}

export interface PoolSummary {
  readonly total: GpuCounts & { readonly activeJobs: number; readonly queuedJobs: number; readonly queuedGpus: number };
  /** By GPU type (lower case), in name order. */
  readonly gpuTypes: readonly (GpuCounts & { readonly gpuType: string })[];
  /** Every org that has a site or an active job, in id order. */
  readonly orgs: readonly OrgCounts[];
  /** By site (name order), then GPU type. */
  readonly sites: readonly SiteTypeCounts[];
  /** Who lends to whom now: GPUs one org's jobs hold on another org's sites, by lender then borrower (no pair with none). */
  readonly lending: readonly Lending[];
}

/** GPUs of `lenderOrgId`'s sites held now by jobs of `borrowerOrgId` (another org). */
export interface Lending {
  readonly lenderOrgId: string;
  readonly borrowerOrgId: string;
  readonly gpus: number;
}

const key = (siteId: string, gpuType: string) => `${siteId}\u0000${gpuType.toLowerCase()}`;

export function summarizePool(snapshot: PoolSnapshot): PoolSummary {
  const siteOrg = new Map(snapshot.sites.map((s) => [s.id, s.orgId]));
  const allocatedAt = new Map<string, number>();
  /** GPUs held on another org's sites, by lender and borrower. */
  const lent = new Map<string, Lending>();
  const queued = new Map<string, { jobs: number; gpus: number }>();
  let activeJobs = 0;
  for (const job of snapshot.jobs) {
    if (job.state === 'pending') {
      const q = queued.get(job.orgId) ?? { jobs: 0, gpus: 0 };
      queued.set(job.orgId, { jobs: q.jobs + 1, gpus: q.gpus + job.demand.gpus });
      continue;
    }
    if (job.state !== 'placed' && job.state !== 'running') continue;
    activeJobs++;
    for (const part of snapshot.placements.get(job.id)?.parts ?? []) {
      const k = key(part.siteId, part.gpuType);
      allocatedAt.set(k, (allocatedAt.get(k) ?? 0) + part.gpus);
      // A part on a site no longer known has no lender to name: it counts as allocated nowhere, so not as lent either.
      const lender = siteOrg.get(part.siteId);
      if (lender === undefined || lender === job.orgId) continue;
      const pair = `${lender}\u0000${job.orgId}`;
      lent.set(pair, { lenderOrgId: lender, borrowerOrgId: job.orgId, gpus: (lent.get(pair)?.gpus ?? 0) + part.gpus });
    }
  }

  const sites: SiteTypeCounts[] = [];
  for (const site of [...snapshot.sites].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id))) {
    for (const c of usableCapacity(site)) {
      const gpus = c.nodes * c.gpusPerNode;
      const allocated = allocatedAt.get(key(site.id, c.gpuType)) ?? 0;
      const free = Math.max(0, gpus - allocated);
      const lost = site.health === 'lost';
      sites.push({ siteId: site.id, siteName: site.name, orgId: site.orgId, health: site.health, gpuType: c.gpuType, gpus, allocated, idle: lost ? 0 : free, unavailable: lost ? free : 0 });
    }
  }

  const lending = [...lent.values()].sort((a, b) => a.lenderOrgId.localeCompare(b.lenderOrgId) || a.borrowerOrgId.localeCompare(b.borrowerOrgId));
  const total = (of: (l: Lending) => string, orgId: string) => lending.reduce((n, l) => (of(l) === orgId ? n + l.gpus : n), 0);
  const orgIds = [...new Set([...sites.map((s) => s.orgId), ...queued.keys(), ...lending.map((l) => l.borrowerOrgId)])].sort();
  const gpuTypes = [...new Set(sites.map((s) => s.gpuType.toLowerCase()))].sort();
  const queuedTotal = [...queued.values()].reduce((a, q) => ({ jobs: a.jobs + q.jobs, gpus: a.gpus + q.gpus }), { jobs: 0, gpus: 0 });
  return {
    total: { ...sum(sites), activeJobs, queuedJobs: queuedTotal.jobs, queuedGpus: queuedTotal.gpus },
    gpuTypes: gpuTypes.map((gpuType) => ({ gpuType, ...sum(sites.filter((s) => s.gpuType.toLowerCase() === gpuType)) })),
    orgs: orgIds.map((orgId) => ({
      orgId, ...sum(sites.filter((s) => s.orgId === orgId)),
      borrowed: total((l) => l.borrowerOrgId, orgId), lent: total((l) => l.lenderOrgId, orgId),
      queuedJobs: queued.get(orgId)?.jobs ?? 0, queuedGpus: queued.get(orgId)?.gpus ?? 0,
    })),
    sites,
    lending,
  };
}

function sum(rows: readonly GpuCounts[]): GpuCounts {
  return rows.reduce<GpuCounts>(
    (a, r) => ({ gpus: a.gpus + r.gpus, allocated: a.allocated + r.allocated, idle: a.idle + r.idle, unavailable: a.unavailable + r.unavailable }),
    { gpus: 0, allocated: 0, idle: 0, unavailable: 0 },
  );
}
