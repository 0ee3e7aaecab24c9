// Builders for the dashboard's tests: API answers as the server sends them, with only
// what a test is about spelled out (`site('a', { h100: [2, 8] })`, `running('1', 'acme', [...])`).
import type { JobDetailJson, JobJson, SiteJson } from '../api/types.ts';

const AT = '2026-11-26T15:10:34.000Z';

/** A site of `orgId` with `capacity` as gpu type → [nodes, GPUs per node]. */
export function site(id: string, orgId: string, capacity: Readonly<Record<string, readonly [number, number]>>, extra: Partial<SiteJson> = {}): SiteJson {
  return {
    id, org_id: orgId, name: `${id} lab`,
    capacity: Object.entries(capacity).map(([gpu_type, [nodes, gpus_per_node]]) => ({ gpu_type, nodes, gpus_per_node })),
    price_per_gpu_hour: null, share: { lend_fraction: 1, reclaim: false, reclaim_notice_s: 0 }, wan_links: [],
    health: 'up', last_heartbeat_at: AT, created_at: AT, ...extra,
  };
}

export function job(id: string, orgId: string, extra: Partial<JobJson> = {}): JobJson {
  return {
    id, org_id: orgId, name: `job-${id}`, state: 'pending', gpus: 1, gpu_types: null, gang: true, estimate_s: 3600, priority: 0, preemptible: true,
    checkpoint_interval_s: 3600, command: null, max_retries: 0, plan: null, submitted_by: 'tok1', submitted_at: AT, updated_at: AT, attempts: 0, diagnosis: null, ...extra,
  };
}

/** A job holding `parts` ([site, gpu type, GPUs]) in its current placement, in `state` (running by default). */
export function holding(id: string, orgId: string, parts: readonly (readonly [string, string, number])[], extra: Partial<JobDetailJson> = {}): JobDetailJson {
  return {
    ...job(id, orgId, { state: 'running', gpus: parts.reduce((n, p) => n + p[2], 0), attempts: 1 }),
    placements: [{ attempt: 1, parts: parts.map(([site_id, gpu_type, gpus]) => ({ site_id, gpu_type, gpus, nodes: 1 })), placed_at: AT, started_at: AT, ended_at: null, log_tail: null, log_at: null }],
    events: [],
    ...extra,
  };
}
