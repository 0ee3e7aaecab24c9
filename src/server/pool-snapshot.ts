import { jobId, orgId, siteId } from '../model/ids.ts';
import type { JobSpec } from '../model/job.ts';
import { boundCapacity } from '../model/capacity.ts';
import type { PoolSpec, SharePolicy, SiteSpec } from '../model/pool.ts';
import type { WanLinkSpec } from '../model/span.ts';
import { Scheduler, type SchedulerOptions } from '../sched/scheduler.ts';
import type { JobRecord } from '../sched/state.ts';
import type { Capacity, Job, Placement, PlacementPart, Site, WanLink } from '../store/types.ts';
import type { StoppingRun } from './active-jobs.ts';
import { SHARE_RULE_DEFAULTS } from './schemas.ts';

/**
 * The bridge between the durable state and the pure scheduler core: a snapshot of
 * the pool, rebuilt into a Scheduler exactly as the live loop and the dry run see
 * it. One pool site per (site, GPU type) capacity entry; lost sites are left out.
 */

export interface PoolSnapshot {
  readonly sites: readonly Site[];
  /** Jobs not in a final state, in submission order. */
  readonly jobs: readonly Job[];
  /** The current placement of each placed or running job. */
  readonly placements: ReadonlyMap<string, Placement>;
  /** Runs moved past whose agents have not confirmed they stopped: their GPUs are busy still. */
  readonly stopping?: readonly StoppingRun[];
}

/** What the core cannot rebuild from the store but must not forget between passes: per pool site. */
export interface SiteMemory {
  /** When the owner may next reclaim here (fair share's rate limit), seconds. */
  readonly nextReclaimS: number;
  /** The owner's waiting job that borrowers were stopped for, by job id. */
  readonly heldFor: string | null;
}

export interface RebuiltScheduler {
  readonly sched: Scheduler;
  /** Per pool site index: the store site and GPU type it stands for. */
  readonly poolSites: readonly { readonly site: Site; readonly gpuType: string }[];
  /** Restored (placed or running) and queued (pending) jobs, by job id; a driver that keeps the core adds the jobs it submits later. */
  readonly records: Map<string, JobRecord>;
  /** Placed or running jobs that could not be restored: their site is lost or gone, or too small now. The driver requeues them. */
  readonly unrestored: readonly Job[];
  /**
   * Running jobs across sites restored without their parts on sites lost or gone,
   * because the rest still meets their minimum efficiency: the driver drops those
   * parts from their placements (they shrank, as the core's siteDown shrinks).
   */
  readonly shrunk: readonly { readonly job: Job; readonly lost: readonly PlacementPart[] }[];
}

export const poolSiteId = (site: string, gpuType: string): string => `${site}/${gpuType}`;

/**
 * The capacity the scheduler may use on a site: what its agent last reported,
 * bounded by what its org-admin declares now; the declaration until the agent reports.
 */
export const usableCapacity = (site: Site): readonly Capacity[] => (site.reportedCapacity === null ? site.capacity : boundCapacity(site.reportedCapacity, site.capacity).capacity);

/** The core's share policy of a site: its owner's rules, and whether it can lend at all given its agent's sandbox. */
export function sharePolicyOf(site: Site): SharePolicy {
  const s = site.share;
  const rules: SharePolicy = {
    lendFraction: s.lendFraction, reclaim: s.reclaim, reclaimNoticeS: s.reclaimNoticeS,
    ...(s.lendTo === undefined ? {} : { lendTo: s.lendTo }),
    ...(s.maxGpusPerBorrower === undefined ? {} : { maxGpusPerBorrower: s.maxGpusPerBorrower }),
    ...(s.borrowerGpuLimits === undefined ? {} : { borrowerGpuLimits: s.borrowerGpuLimits }),
  };
  const contained = s.sandboxBorrowed ?? SHARE_RULE_DEFAULTS.sandbox_borrowed;
  const isolated = contained && (s.borrowedNetwork ?? SHARE_RULE_DEFAULTS.borrowed_network) === 'none' ? { isolatesBorrowed: true } : {};
  // Borrowed runs must be sandboxed and the agent said it cannot: nothing is lent (an agent not heard from yet is trusted to).
  return contained && site.sandboxCapable === false ? { ...rules, ...isolated, containsBorrowed: false } : { ...rules, ...isolated };
}

export function poolOf(sites: readonly Site[]): { pool: PoolSpec; poolSites: { site: Site; gpuType: string }[] } {
  const specs: SiteSpec[] = [];
  const poolSites: { site: Site; gpuType: string }[] = [];
  for (const site of sites) {
    if (site.health === 'lost') continue;
    const share = sharePolicyOf(site);
    for (const c of usableCapacity(site)) {
      if (c.nodes <= 0 || c.gpusPerNode <= 0) continue;
      specs.push({
        id: siteId(poolSiteId(site.id, c.gpuType)), org: orgId(site.orgId), nodes: c.nodes, gpusPerNode: c.gpusPerNode, gpuType: c.gpuType,
        share, ...(site.pricePerGpuHour === null ? {} : { pricePerGpuHour: site.pricePerGpuHour }), ...(site.spanEndpoint === null ? { spanReachable: false } : {}),
      });
      poolSites.push({ site, gpuType: c.gpuType });
    }
  }
  const orgs = [...new Set(sites.map((s) => s.orgId))].map((id) => ({ id: orgId(id) }));
  // A site's WAN links join every pool site of it (one per GPU type) to every pool site of the other. A link counts
  // only when both sites declare it, at the lower bandwidth and the higher latency: one side's claim alone is worth nothing.
  const links: WanLinkSpec[] = [];
  const poolIds = new Map<string, string[]>();
  for (const p of poolSites) poolIds.set(p.site.id, [...(poolIds.get(p.site.id) ?? []), poolSiteId(p.site.id, p.gpuType)]);
  const poolIdsOf = (id: string) => poolIds.get(id) ?? [];
  const declared = new Map<string, WanLink>();
  for (const site of sites) for (const l of site.wanLinks) declared.set(`${site.id}\u0000${l.toSite}`, l);
  for (const site of sites) {
    for (const l of site.wanLinks) {
      const back = declared.get(`${l.toSite}\u0000${site.id}`);
      if (l.toSite === site.id || back === undefined || site.id > l.toSite) continue;
      const agreed = { gbps: Math.min(l.gbps, back.gbps), latencyMs: Math.max(l.latencyMs, back.latencyMs) };
      for (const a of poolIdsOf(site.id)) for (const b of poolIdsOf(l.toSite)) links.push({ a: siteId(a), b: siteId(b), ...agreed });
    }
  }
  return { pool: { orgs, sites: specs, links }, poolSites };
}

/** A stored job as the core sees it; times in epoch seconds. The live run time is unknown: the estimate stands for it. */
export function jobSpec(job: Pick<Job, 'id' | 'orgId' | 'demand' | 'submittedAt'>): JobSpec {
  const d = job.demand;
  return {
    id: jobId(job.id), org: orgId(job.orgId), gpus: d.gpus, gpuTypes: d.gpuTypes, gang: d.gang, submitS: job.submittedAt / 1000,
    estimateS: d.estimateS, durationS: d.estimateS, priority: d.priority, preemptible: d.preemptible, checkpointIntervalS: d.checkpointIntervalS,
    ...(d.span === undefined ? {} : { span: d.span }),
  };
}

/**
 * Rebuilds the core from a snapshot: 1. the pool from the sites; 2. each placed or
 * running job restored on its site, oldest placement first (so the rebuilt layout
 * follows the real one); 3. the GPUs of runs being stopped held; 4. the pending jobs
 * submitted in submission order; 5. the site memory of earlier passes put back.
 */
export function rebuildScheduler(snapshot: PoolSnapshot, options: Partial<SchedulerOptions> & Pick<SchedulerOptions, 'policy'>, memory: ReadonlyMap<string, SiteMemory> = new Map(), extraOrgs: readonly string[] = []): RebuiltScheduler {
  const { pool, poolSites } = poolOf(snapshot.sites);
  const stopping = snapshot.stopping ?? [];
  const sched = new Scheduler(pool, options, [...snapshot.jobs.map((j) => j.orgId), ...stopping.map((r) => r.job.orgId), ...extraOrgs]);
  const indexOf = new Map(poolSites.map((p, i) => [poolSiteId(p.site.id, p.gpuType), i]));
  const records = new Map<string, JobRecord>();
  const unrestored: Job[] = [];
  const shrunk: { job: Job; lost: PlacementPart[] }[] = [];

  const holding = snapshot.jobs.filter((j) => j.state === 'placed' || j.state === 'running');
  const placedAt = (j: Job) => snapshot.placements.get(j.id)?.placedAt ?? j.updatedAt;
  holding.sort((a, b) => placedAt(a) - placedAt(b));
  for (const job of holding) {
    const placement = snapshot.placements.get(job.id);
    // One part per site: several for a job spanning sites. A part on a site lost or gone cannot be restored;
    // a running spanning job goes on without it when the rest still meets its minimum efficiency.
    const all = (placement?.parts ?? []).map((part) => ({ part, site: indexOf.get(poolSiteId(part.siteId, part.gpuType)) ?? -1, gpus: part.gpus }));
    const kept = all.filter((p) => p.site >= 0);
    const lost = all.filter((p) => p.site < 0).map((p) => p.part);
    const startedMs = placement?.startedAt ?? placement?.placedAt ?? job.updatedAt;
    const spec = jobSpec(job);
    const mayShrink = lost.length > 0 && kept.length > 0 && job.state === 'running' && spec.span != null;
    const record = kept.length === 0 || (lost.length > 0 && !mayShrink) ? null : sched.restore(spec, kept, startedMs / 1000, lost.length > 0);
    if (record === null) unrestored.push(job);
    else {
      records.set(job.id, record);
      if (lost.length > 0) shrunk.push({ job, lost });
    }
  }
  // A run being stopped holds its GPUs until its agent confirms: each part stands as a job of its own that the core
  // neither preempts nor reports on (it is in no record the driver reads), restored after the real placements.
  // A site no agent ever heartbeated for runs nothing to stop (its runs were moved by hand).
  const withAgent = new Set(snapshot.sites.filter((s) => s.lastHeartbeatAt !== null).map((s) => s.id));
  for (const run of stopping) {
    // One site each: no span (a part alone forms no ring).
    const { span, ...single } = run.job.demand;
    const spec = jobSpec({ ...run.job, demand: single });
    run.parts.forEach((part, i) => {
      const site = indexOf.get(poolSiteId(part.siteId, part.gpuType));
      if (site !== undefined && withAgent.has(part.siteId)) sched.restore({ ...spec, id: jobId(`${run.job.id}.${run.attempt}~stopping.${i}`), gpus: part.gpus, preemptible: false }, [{ site, gpus: part.gpus }], run.startedAt / 1000);
    });
  }
  for (const job of snapshot.jobs) if (job.state === 'pending') records.set(job.id, sched.submit(jobSpec(job)));

  sched.state.sites.forEach((s, i) => {
    const p = poolSites[i];
    const m = p === undefined ? undefined : memory.get(poolSiteId(p.site.id, p.gpuType));
    if (m === undefined) return;
    s.nextReclaimS = m.nextReclaimS;
    const held = m.heldFor === null ? undefined : records.get(m.heldFor);
    if (held !== undefined && held.phase === 'queued') s.heldFor = held;
  });
  return { sched, poolSites, records, unrestored, shrunk };
}

/** The site memory to carry into the next pass. */
export function siteMemory(rebuilt: RebuiltScheduler): Map<string, SiteMemory> {
  const out = new Map<string, SiteMemory>();
  rebuilt.sched.state.sites.forEach((s, i) => {
    const p = rebuilt.poolSites[i];
    if (p !== undefined) out.set(poolSiteId(p.site.id, p.gpuType), { nextReclaimS: s.nextReclaimS, heldFor: s.heldFor?.spec.id ?? null });
  });
  return out;
}

/** Where a started job runs, as the store records it. */
export function placementParts(rebuilt: RebuiltScheduler, record: JobRecord): PlacementPart[] {
  return (record.allocation?.parts ?? []).map((part) => {
    const p = rebuilt.poolSites[part.site];
    return { siteId: p?.site.id ?? '', gpuType: p?.gpuType ?? '', gpus: part.gpus, nodes: part.nodes.length };
  });
}
