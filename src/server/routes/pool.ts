import type { z } from 'zod';
import type { Org } from '../../store/types.ts';
import { accessOf, secured, type Api } from '../control-plane.ts';
import type { PoolSample } from '../pool-history.ts';
import { summarizePool, type PoolSummary } from '../pool-summary.ts';
import { QueueWaitReader, type QueueWaits, type WaitFigures } from '../queue-waits.ts';
import { ErrorResponse, PoolResponse } from '../schemas.ts';

const iso = (ms: number): string => new Date(ms).toISOString();

export function poolRoutes(app: Api): void {
  const { store, loop, clock, poolHistory } = app.suanli;
  const queueWaits = new QueueWaitReader({ store, clock, refreshMs: poolHistory.intervalMs });
  app.get('/api/v1/pool', {
    config: { operation: 'pool.show' },
    schema: {
      tags: ['pool'], ...secured,
      summary: "The whole pool's GPUs (total, allocated, idle) by GPU type and by org, each org's queue and queue waits, who lends to whom now, the caller's own sites in detail, and the utilization history",
      response: { 200: PoolResponse, '4xx': ErrorResponse },
    },
  }, async (req) => {
    const access = accessOf(req);
    const [snapshot, orgs, waits] = await Promise.all([loop.snapshot(), store.listOrgs(), queueWaits.read()]);
    const summary = summarizePool(snapshot);
    // The details are the caller's own sites; everything else is a total.
    const own = access.scope === 'all' ? null : access.principal.orgId;
    return poolJson(summary, orgs, {
      at: clock.now(),
      sites: summary.sites.filter((s) => access.owns(s.orgId)),
      borrowed: own === null ? 0 : (summary.orgs.find((o) => o.orgId === own)?.borrowed ?? 0),
      queueWaits: waits,
      history: { intervalMs: poolHistory.intervalMs, samples: poolHistory.samples() },
    });
  });
}

/** The summary as GET /api/v1/pool answers it: every org named (those with no site or job too), the given sites and history. */
export function poolJson(
  summary: PoolSummary,
  orgs: readonly Org[],
  part: { readonly at: number; readonly sites: PoolSummary['sites']; readonly borrowed: number; readonly queueWaits: QueueWaits; readonly history: { readonly intervalMs: number; readonly samples: readonly PoolSample[] } },
): z.infer<typeof PoolResponse> {
  const counted = new Map(summary.orgs.map((o) => [o.orgId, o]));
  const names = new Map(orgs.map((o) => [o.id, o.name]));
  const orgIds = [...new Set([...names.keys(), ...counted.keys()])].sort();
  const counts = (c: { gpus: number; allocated: number; idle: number; unavailable: number }) => ({ gpus: c.gpus, allocated: c.allocated, idle: c.idle, unavailable: c.unavailable });
  return {
    at: iso(part.at),
    total: { ...counts(summary.total), active_jobs: summary.total.activeJobs, queued_jobs: summary.total.queuedJobs, queued_gpus: summary.total.queuedGpus },
    gpu_types: summary.gpuTypes.map((g) => ({ gpu_type: g.gpuType, ...counts(g) })),
    orgs: orgIds.map((id) => {
      const o = counted.get(id);
      return {
        org_id: id, name: names.get(id) ?? id, ...(o === undefined ? { gpus: 0, allocated: 0, idle: 0, unavailable: 0 } : counts(o)),
        borrowed_gpus: o?.borrowed ?? 0, lent_gpus: o?.lent ?? 0, queued_jobs: o?.queuedJobs ?? 0, queued_gpus: o?.queuedGpus ?? 0,
      };
    }),
    lending: summary.lending.map((l) => ({ lender_org_id: l.lenderOrgId, borrower_org_id: l.borrowerOrgId, gpus: l.gpus })),
    sites: part.sites.map((s) => ({ site_id: s.siteId, name: s.siteName, org_id: s.orgId, health: s.health, gpu_type: s.gpuType, ...counts(s) })),
    borrowed_gpus: part.borrowed,
    queue_wait: { window_s: part.queueWaits.windowMs / 1000, ...waitJson(part.queueWaits.total), orgs: part.queueWaits.orgs.map((o) => ({ org_id: o.orgId, ...waitJson(o) })) },
    history: {
      interval_s: part.history.intervalMs / 1000,
      samples: part.history.samples.map((s) => ({ at: iso(s.at), gpus: s.gpus, allocated: s.allocated, gpu_types: s.gpuTypes.map((g) => ({ gpu_type: g.gpuType, gpus: g.gpus, allocated: g.allocated })) })),
    },
  };
}

const seconds = (ms: number | null): number | null => (ms === null ? null : ms / 1000);
const waitJson = (w: WaitFigures) => ({ placed_jobs: w.jobs, p50_s: seconds(w.p50Ms), p90_s: seconds(w.p90Ms) });
