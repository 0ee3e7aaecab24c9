import { z } from 'zod';
import type { Job, JobState, Placement } from '../../store/types.ts';
import { accessOf, secured, type Api, type ControlPlane } from '../control-plane.ts';
import { ApiError, notFound } from '../errors.ts';
import type { Access } from '../permissions.ts';
import { ErrorResponse, HeartbeatBody, SiteResponse, capacityOf, siteJson } from '../schemas.ts';

/**
 * The agent protocol: a site's agent connects out to the control plane with its
 * site's agent token, heartbeats with the capacity it discovered, long-polls for the
 * jobs placed on its site, and reports each run's state per (job, attempt).
 *
 * Delivery is at least once on both sides: an assignment is offered again until the
 * agent reports the run `running` (the executor is idempotent on the run id), and a
 * report is applied only from the states it may come from, so a report delivered
 * twice applies once and a stale one (an older attempt) applies never.
 */

/** Longest a long poll waits, seconds. */
const MAX_WAIT_S = 60;
/** How often a long poll looks for new placements, ms. */
const POLL_MS = 100;
/** Most log bytes kept with a report (in the job's event). */
const LOG_TAIL_CHARS = 4096;

export const AssignmentsQuery = z.strictObject({
  wait: z.coerce.number().min(0).max(MAX_WAIT_S).default(0).describe('seconds to wait for an assignment when there is none yet (long poll)'),
});

const AssignmentPart = z.object({ gpu_type: z.string(), gpus: z.number(), nodes: z.number(), gpus_per_node: z.number() });
export const Assignment = z.object({
  job_id: z.string(),
  attempt: z.number(),
  command: z.array(z.string()).nullable(),
  /** The parts of the placement on this agent's site. */
  parts: z.array(AssignmentPart),
});
export const AssignmentsResponse = z.object({ site_id: z.string(), assignments: z.array(Assignment) });

export const RunReportBody = z.strictObject({
  job_id: z.string().min(1).max(128),
  attempt: z.number().int().min(1),
  state: z.enum(['running', 'succeeded', 'failed', 'lost']),
  exit_code: z.number().int().nullable().optional(),
  detail: z.string().max(2000).optional(),
  log_tail: z.string().max(64 * 1024).optional(),
});
export const RunReportResponse = z.object({
  /** Whether this report changed the job (false: a repeat, or too late). */
  applied: z.boolean(),
  /** Whether the attempt is still the job's current one and not finished: false tells the agent to stop the run. */
  current: z.boolean(),
  state: z.string(),
});

/** Where each reported state may come from, and what the job becomes. */
const REPORTED: Readonly<Record<'running' | 'succeeded' | 'failed', { readonly from: readonly JobState[]; readonly type: string }>> = {
  running: { from: ['placed'], type: 'started' },
  succeeded: { from: ['placed', 'running'], type: 'succeeded' },
  failed: { from: ['placed', 'running'], type: 'failed' },
};

/** The agent's own site (agent tokens are bound to one). */
function siteOf(access: Access): string {
  const site = access.principal.siteId;
  if (site === null) throw new ApiError('forbidden', 'this token is bound to no site; agents use their site’s agent token');
  return site;
}

const onSite = (p: Placement | undefined, siteId: string) => (p?.parts ?? []).filter((part) => part.siteId === siteId);

async function assignments(cp: ControlPlane, siteId: string): Promise<z.infer<typeof Assignment>[]> {
  const out: z.infer<typeof Assignment>[] = [];
  for (const p of await cp.store.activePlacements()) {
    const parts = onSite(p, siteId);
    if (parts.length === 0) continue;
    const job = await cp.store.getJob(p.jobId);
    // Running means acknowledged: the agent reported it started.
    if (job?.state !== 'placed' || job.attempts !== p.attempt) continue;
    out.push({
      job_id: job.id, attempt: p.attempt, command: job.demand.command === null ? null : [...job.demand.command],
      parts: parts.map((part) => ({ gpu_type: part.gpuType, gpus: part.gpus, nodes: part.nodes, gpus_per_node: Math.floor(part.gpus / Math.max(1, part.nodes)) })),
    });
  }
  return out;
}

export function agentRoutes(app: Api): void {
  const cp = app.suanli;
  const { store, clock, loop, lifecycle } = cp;
  const tags = ['agent'];
  let closing = false;
  app.addHook('preClose', () => {
    closing = true;
    return Promise.resolve();
  });

  app.post('/api/v1/agent/heartbeat', {
    config: { operation: 'agent.heartbeat' },
    schema: { tags, ...secured, summary: "The agent's site is alive, with the capacity its executor discovered", body: HeartbeatBody, response: { 200: SiteResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const id = siteOf(accessOf(req));
    const before = await store.getSite(id);
    if (before === null) throw notFound('site', id);
    const capacity = req.body.capacity === undefined ? undefined : capacityOf(req.body.capacity);
    await store.heartbeat(id, clock.now(), capacity);
    // A site that reports is up again, whatever it was (a lost site's agent is back).
    if (before.health !== 'up') await store.setSiteHealth(id, 'up');
    const site = await store.getSite(id);
    if (site === null) throw notFound('site', id);
    if (capacity !== undefined || before.health !== 'up') loop.poke();
    return siteJson(site);
  });

  app.get('/api/v1/agent/assignments', {
    config: { operation: 'agent.assignments' },
    schema: {
      tags, ...secured,
      summary: 'The jobs placed on the agent’s site that it has not reported started; waits up to `wait` seconds for one',
      querystring: AssignmentsQuery, response: { 200: AssignmentsResponse, '4xx': ErrorResponse },
    },
  }, async (req) => {
    const siteId = siteOf(accessOf(req));
    const deadline = performance.now() + req.query.wait * 1000;
    for (;;) {
      const found = await assignments(cp, siteId);
      if (found.length > 0 || performance.now() >= deadline) return { site_id: siteId, assignments: found };
      await new Promise((r) => setTimeout(r, POLL_MS));
      // Shutting down (the store closes right after), or the agent went away: answer now, and read nothing more.
      if (closing || req.raw.destroyed) return { site_id: siteId, assignments: [] };
    }
  });

  app.post('/api/v1/agent/reports', {
    config: { operation: 'agent.report' },
    schema: {
      tags, ...secured,
      summary: 'The state of one run (job, attempt) on the agent’s site; a repeated or stale report changes nothing',
      body: RunReportBody, response: { 200: RunReportResponse, '4xx': ErrorResponse },
    },
  }, async (req) => {
    const siteId = siteOf(accessOf(req));
    const b = req.body;
    const job = await store.getJob(b.job_id);
    const placement = job === null ? undefined : (await store.placements(job.id)).find((p) => p.attempt === b.attempt);
    // Another site's job (or attempt) is answered as if it did not exist.
    if (job === null || onSite(placement, siteId).length === 0) throw notFound('job', b.job_id);
    const current = (j: Job) => j.attempts === b.attempt && (j.state === 'placed' || j.state === 'running');
    if (job.attempts !== b.attempt) return { applied: false, current: false, state: job.state };
    const detail = {
      site: siteId, attempt: b.attempt,
      ...(b.exit_code === undefined ? {} : { exit_code: b.exit_code }),
      ...(b.detail === undefined ? {} : { detail: b.detail }),
      ...(b.log_tail === undefined ? {} : { log_tail: b.log_tail.slice(-LOG_TAIL_CHARS) }),
    };
    let after: Job | null;
    if (b.state === 'lost') {
      // The run vanished: the job goes back to the queue, as when its site is lost.
      after = await moveIfAllowed(lifecycle, job, 'preempted', ['placed', 'running'], 'run_lost', detail);
      if (after !== null) after = await moveIfAllowed(lifecycle, after, 'pending', ['preempted'], 'requeued', {});
    } else {
      const r = REPORTED[b.state];
      after = await moveIfAllowed(lifecycle, job, b.state, r.from, r.type, detail);
    }
    // The same path as the admin's hand: the scheduling loop learns of freed GPUs through a pass.
    if (after !== null && b.state !== 'running') loop.poke();
    const now = after ?? (await store.getJob(job.id)) ?? job;
    return { applied: after !== null, current: current(now), state: now.state };
  });
}

/** lifecycle.move, with "not from this state" (a repeated report) as null rather than a conflict. */
async function moveIfAllowed(lifecycle: ControlPlane['lifecycle'], job: Job, to: JobState, allowed: readonly JobState[], type: string, detail: Readonly<Record<string, unknown>>): Promise<Job | null> {
  try {
    return await lifecycle.move(job, to, allowed, type, detail);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'conflict') return null;
    throw err;
  }
}
