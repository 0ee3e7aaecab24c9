import { z } from 'zod';
import type { Job, JobState, Placement } from '../../store/types.ts';
import { accessOf, secured, type Api, type ControlPlane } from '../control-plane.ts';
import { ApiError, notFound } from '../errors.ts';
import type { Access } from '../permissions.ts';
import { ErrorResponse, HeartbeatBody, SiteResponse, siteJson } from '../schemas.ts';
import { heartbeat } from './sites.ts';

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
  span: z.object({ sites: z.array(z.string()), index: z.number() }).nullable().describe("a job across sites: all its sites in placement order, and this site's position (the run gets them as SUANLI_SPAN_SITES and SUANLI_SPAN_INDEX)"),
});
export const AssignmentsResponse = z.object({ site_id: z.string(), assignments: z.array(Assignment) });

const RunRef = z.strictObject({ job_id: z.string().min(1).max(128), attempt: z.number().int().min(1) });
export const AgentHeartbeatBody = HeartbeatBody.extend({
  runs: z.array(RunRef).max(100_000).optional().describe('the runs the agent has going; the answer says which of them to stop'),
});
const Stop = z.object({
  job_id: z.string(), attempt: z.number(),
  after_s: z.number().describe('seconds of notice left: stop the run now (0) or this much later (an owner reclaiming its GPUs with notice)'),
  reason: z.string(),
});
export const AgentHeartbeatResponse = SiteResponse.extend({ stop: z.array(Stop).describe('runs of the site that are no longer their job’s current attempt') });

export const RunReportBody = z.strictObject({
  job_id: z.string().min(1).max(128),
  attempt: z.number().int().min(1),
  state: z.enum(['running', 'succeeded', 'failed', 'lost']),
  exit_code: z.number().int().nullable().optional(),
  reason: z.enum(['exit_code', 'cancelled_outside', 'engine']).optional().describe('why a failed run failed: its exit status, stopped outside Suanli, or ended by its engine'),
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
/** A placement on several sites: all-or-nothing, it runs once every site has started its part. */
const acrossSites = (p: Placement | undefined) => new Set((p?.parts ?? []).map((part) => part.siteId)).size > 1;
/** The job's sites in placement order, and this site's position among them. */
function spanOfPlacement(p: Placement, siteId: string): { sites: string[]; index: number } {
  const sites = [...new Set(p.parts.map((part) => part.siteId))];
  return { sites, index: sites.indexOf(siteId) };
}

/**
 * The placed jobs with a part on the site not yet started, from the control plane's
 * in-memory mirror of the active jobs (a long poll asks every 100 ms: no store reads).
 */
function assignments(cp: ControlPlane, siteId: string): z.infer<typeof Assignment>[] {
  const out: z.infer<typeof Assignment>[] = [];
  for (const p of cp.active.currentPlacements().values()) {
    const parts = onSite(p, siteId);
    if (parts.length === 0) continue;
    const job = cp.active.get(p.jobId);
    // Running means acknowledged: the agent reported it started (for a job across sites, this site's part did).
    if (job?.state !== 'placed' || job.attempts !== p.attempt || parts.every((part) => part.startedAt !== undefined)) continue;
    out.push({
      job_id: job.id, attempt: p.attempt, command: job.demand.command === null ? null : [...job.demand.command],
      parts: parts.map((part) => ({ gpu_type: part.gpuType, gpus: part.gpus, nodes: part.nodes, gpus_per_node: Math.floor(part.gpus / Math.max(1, part.nodes)) })),
      span: acrossSites(p) ? spanOfPlacement(p, siteId) : null,
    });
  }
  return out;
}

/**
 * Which of the runs an agent has going it must stop, and when: every run that is not
 * its job's current attempt any more (the job was cancelled, preempted, lost, or
 * finished by hand), or that is not this site's at all. A run preempted with notice
 * (an owner reclaiming lent GPUs) stops when the notice ends; any other, now.
 */
async function stopsOf(cp: ControlPlane, siteId: string, runs: readonly z.infer<typeof RunRef>[]): Promise<z.infer<typeof Stop>[]> {
  const out: z.infer<typeof Stop>[] = [];
  const nowMs = cp.clock.now();
  for (const run of runs) {
    // The common case, a run that is its active job's current attempt on this site, is answered from the mirror.
    const active = cp.active.get(run.job_id);
    const current = active === undefined ? undefined : cp.active.placement(active.id);
    if (active !== undefined && active.attempts === run.attempt && current?.attempt === run.attempt && onSite(current, siteId).length > 0) continue;
    const job = await cp.store.getJob(run.job_id);
    const placement = job === null ? undefined : (await cp.store.placements(job.id)).find((p) => p.attempt === run.attempt);
    const stop = (afterS: number, reason: string) => out.push({ job_id: run.job_id, attempt: run.attempt, after_s: afterS, reason });
    // A job across sites that gave back this site's part: its run here stops when the reclaim's notice ends.
    const shrunk = job === null || onSite(placement, siteId).length > 0 ? undefined : (await cp.store.events(job.id)).findLast((e) => e.type === 'shrunk' && e.detail.site === siteId && e.at >= (placement?.placedAt ?? Infinity));
    if (shrunk !== undefined) stop(secondsUntil(shrunk.detail.stop_at, nowMs), `the job shrank: this site's part was reclaimed (${String(shrunk.detail.why)})`);
    // Another site's job (or none) is not described: the agent only learns to stop it.
    else if (job === null || onSite(placement, siteId).length === 0) stop(0, 'not a run of this site');
    else if (job.attempts === run.attempt && (job.state === 'placed' || job.state === 'running')) continue;
    else if (job.attempts !== run.attempt) stop(0, `attempt ${job.attempts} replaced it`);
    else if (job.state === 'pending' || job.state === 'preempted') {
      const preempted = (await cp.store.events(job.id)).findLast((e) => e.type === 'preempted' && e.at >= (placement?.placedAt ?? 0));
      stop(secondsUntil(preempted?.detail.stop_at, nowMs), preemptedReason(preempted?.detail));
    } else stop(0, `the job is ${job.state}`);
  }
  return out;
}

/** Seconds from `nowMs` to an ISO `stop_at` of an event's detail; 0 when it is past or absent. */
function secondsUntil(stopAt: unknown, nowMs: number): number {
  const at = typeof stopAt === 'string' ? Date.parse(stopAt) : Number.NaN;
  return Number.isFinite(at) ? Math.max(0, (at - nowMs) / 1000) : 0;
}

function preemptedReason(detail: Readonly<Record<string, unknown>> | undefined): string {
  if (detail === undefined) return 'the job was requeued';
  return typeof detail.why === 'string' ? `the job was preempted: ${detail.why}` : 'the job was preempted';
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
    schema: {
      tags, ...secured, summary: "The agent's site is alive, with the capacity its executor discovered; the answer names the runs to stop",
      body: AgentHeartbeatBody, response: { 200: AgentHeartbeatResponse, '4xx': ErrorResponse },
    },
  }, async (req) => {
    const id = siteOf(accessOf(req));
    const before = await store.getSite(id);
    if (before === null) throw notFound('site', id);
    return { ...siteJson(await heartbeat(cp, before, req.body)), stop: await stopsOf(cp, id, req.body.runs ?? []) };
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
      const found = assignments(cp, siteId);
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
      summary: 'The state of one run (job, attempt) on the agent’s site, with the end of its log; a repeated or stale report changes no state',
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
    // The newest lines of the run's log, kept with its placement (reports while it runs bring them), whatever the report does.
    if (b.log_tail !== undefined) await store.setLogTail(job.id, b.attempt, b.log_tail.slice(-LOG_TAIL_CHARS), clock.now());
    if (job.attempts !== b.attempt) return { applied: false, current: false, state: job.state };
    const detail = {
      site: siteId, attempt: b.attempt,
      ...(b.exit_code === undefined ? {} : { exit_code: b.exit_code }),
      ...(b.reason === undefined ? {} : { reason: b.reason }),
      ...(b.detail === undefined ? {} : { detail: b.detail }),
      ...(b.log_tail === undefined ? {} : { log_tail: b.log_tail.slice(-LOG_TAIL_CHARS) }),
    };
    let after: Job | null;
    const retry = b.state === 'failed' ? await retryOf(store, job) : null;
    if (acrossSites(placement) && job.state === 'placed' && b.state === 'running') {
      after = await startPart(cp, job, b.attempt, siteId, detail);
    } else if (acrossSites(placement) && job.state === 'placed') {
      // All or nothing: a part that ends (failed, lost, even succeeded) before every site started its own
      // did not train with its peers; the job is released on every site and queued again.
      after = await lifecycle.requeue(job, 'coallocation_failed', { ...detail, part_state: b.state });
    } else if (b.state === 'lost') {
      // The run vanished: the job goes back to the queue, as when its site is lost.
      after = await lifecycle.requeue(job, 'run_lost', detail);
    } else if (retry !== null) {
      after = await lifecycle.requeue(job, RUN_FAILED, { ...detail, retry: `${retry.next} of ${retry.max}` });
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

/**
 * One site of a job placed across sites started its part: marked on the placement
 * (compare and set, retried, so sites reporting at once keep both marks), and
 * when every part has started, the job runs. Null when the report changes nothing
 * (a repeat) or the job is no longer placed at this attempt.
 */
async function startPart(cp: ControlPlane, job: Job, attempt: number, siteId: string, detail: Readonly<Record<string, unknown>>): Promise<Job | null> {
  for (let tries = 0; tries < 10; tries++) {
    const placement = (await cp.store.placements(job.id)).find((p) => p.attempt === attempt);
    const current = await cp.store.getJob(job.id);
    if (placement === undefined || current?.state !== 'placed' || current.attempts !== attempt) return null;
    const at = cp.clock.now();
    if (onSite(placement, siteId).every((part) => part.startedAt !== undefined)) return null;
    const parts = placement.parts.map((part) => (part.siteId === siteId && part.startedAt === undefined ? { ...part, startedAt: at } : part));
    const waiting = [...new Set(parts.filter((part) => part.startedAt === undefined).map((part) => part.siteId))];
    if (!(await cp.store.updateParts(job.id, attempt, placement.parts, parts, { at, type: 'part_started', detail: { ...detail, waiting_for: waiting } }))) continue;
    cp.active.partsChanged(job.id, parts);
    if (waiting.length > 0) return current;
    return await moveIfAllowed(cp.lifecycle, current, 'running', ['placed'], 'started', { ...detail, sites: [...new Set(parts.map((part) => part.siteId))] });
  }
  throw new ApiError('conflict', `job "${job.id}" keeps changing; try again`);
}

/** The event of a failed run that was started again: counted against the job's `maxRetries`. */
const RUN_FAILED = 'run_failed';

/** The job's next retry, when its failed run is to start again; null when it has none left. */
async function retryOf(store: ControlPlane['store'], job: Job): Promise<{ next: number; max: number } | null> {
  const max = job.demand.maxRetries ?? 0;
  if (max === 0) return null;
  const used = (await store.events(job.id)).filter((e) => e.type === RUN_FAILED).length;
  return used < max ? { next: used + 1, max } : null;
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
