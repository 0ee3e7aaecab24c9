import { randomBytes } from 'node:crypto';
import type { Job, JobDemand, JobState } from '../../store/types.ts';
import { accessOf, secured, type Api, type ControlPlane } from '../control-plane.ts';
import { ApiError, notFound } from '../errors.ts';
import type { Access } from '../permissions.ts';
import { demandFromPlan, runPlan } from '../planning.ts';
import { jobSpec, placementParts, rebuildScheduler } from '../pool-snapshot.ts';
import {
  DryRunResponse, ErrorResponse, IdParams, IdempotencyHeaders, JobDetailResponse, JobListQuery, JobListResponse, JobResponse, JobStateBody, JobSubmitBody,
  diagnosisJson, jobDetailJson, jobJson, jobListItemJson, partJson, spanOf, submitterName, type JobSubmit,
} from '../schemas.ts';

/** The org a submission is for and what it asks for, from the request body (sized by the planner when it carries a plan). */
async function demandOf(cp: ControlPlane, access: Access, b: JobSubmit): Promise<{ orgId: string; demand: JobDemand }> {
  const orgId = access.targetOrg(b.org_id);
  // An org caller's own org exists (its token refers to it); an admin may name any.
  if (access.scope === 'all' && (await cp.store.getOrg(orgId)) === null) throw notFound('org', orgId);
  const sized = b.plan === undefined ? undefined : demandFromPlan(runPlan(b.plan, 'plan.'));
  return {
    orgId,
    demand: {
      gpus: b.gpus ?? sized?.gpus ?? 1,
      gpuTypes: b.gpu_types !== undefined ? b.gpu_types : (sized?.gpuTypes ?? null),
      gang: b.gang,
      estimateS: b.estimate_s ?? sized?.estimateS ?? 1,
      priority: b.priority,
      preemptible: b.preemptible,
      checkpointIntervalS: b.checkpoint_interval_s,
      command: b.command,
      maxRetries: b.max_retries,
      plan: b.plan === undefined ? null : { ...b.plan },
      ...(b.span === undefined ? {} : { span: spanOf(b.span) }),
    },
  };
}

/**
 * JSON with every object's keys sorted, of the value as JSON would carry it: the same
 * for a request and for what the store gives back of it (jsonb reorders keys and
 * drops none but the undefined ones JSON drops too).
 */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v));
}

/** The state changes an admin may make by hand until agents report runs, and where each may come from. */
const BY_HAND: Readonly<Record<'running' | 'succeeded' | 'failed', readonly JobState[]>> = {
  running: ['placed'],
  succeeded: ['running'],
  failed: ['placed', 'running'],
};

export function jobRoutes(app: Api): void {
  const cp = app.suanli;
  const { store, clock, loop, lifecycle, submissions } = cp;
  const tags = ['jobs'];
  const params = IdParams;
  const owner = (j: { orgId: string }) => ({ orgId: j.orgId });

  /** Submissions under way per org, not yet in the mirror's queue count: the queued-jobs quota counts them too. */
  const submitting = new Map<string, number>();

  app.post('/api/v1/jobs', {
    config: { operation: 'jobs.submit' },
    schema: {
      tags, ...secured,
      summary: 'Submit a job: an explicit demand, or a planner request it is sized from',
      description: 'With an `Idempotency-Key` header, a retried submission (same org, same key) returns the first job with 200 instead of creating a second (201). The same key with another request (another name or demand; key order and the case of GPU types do not count) is a 422 `idempotency_mismatch` naming `header.idempotency-key`.',
      body: JobSubmitBody, headers: IdempotencyHeaders, response: { 200: JobResponse, 201: JobResponse, '4xx': ErrorResponse },
    },
  }, async (req, reply) => {
    const access = accessOf(req);
    const { orgId, demand } = await demandOf(cp, access, req.body);
    const limit = (await cp.quotas.of(orgId)).queuedJobs;
    const waiting = cp.active.queuedOf(orgId) + (submitting.get(orgId) ?? 0);
    if (waiting >= limit) {
      throw new ApiError('quota_exceeded', `org "${orgId}" has ${waiting.toLocaleString('en-US')} jobs waiting, its quota of queued jobs (the pool's admin sets quotas: PATCH /api/v1/orgs/${orgId}/quota)`);
    }
    const key = req.headers['idempotency-key'] ?? null;
    submitting.set(orgId, (submitting.get(orgId) ?? 0) + 1);
    try {
      const result = await submissions.submit({ orgId, name: req.body.name, demand, submittedBy: access.principal.tokenId, submittedAt: clock.now(), idempotencyKey: key });
      // A key names one request: used again with another, it is refused rather than answered with a job that is not the one asked for.
      if (!result.created && canonical({ name: result.job.name, demand: result.job.demand }) !== canonical({ name: req.body.name, demand })) {
        throw new ApiError('idempotency_mismatch', `header.idempotency-key: "${key ?? ''}" was used for another submission (job ${result.job.id}); give a new key for a new job`, { field: 'header.idempotency-key' });
      }
      return await reply.code(result.created ? 201 : 200).send(jobJson(result.job));
    } finally {
      submitting.set(orgId, (submitting.get(orgId) ?? 1) - 1);
    }
  });

  /** The tokens the jobs were submitted with, by id, in one read: whose names `submitterName` may show. */
  const submitters = async (jobs: readonly Job[]) => new Map((await store.tokensById(jobs.map((j) => j.submittedBy))).map((t) => [t.id, t]));

  app.get('/api/v1/jobs', {
    config: { operation: 'jobs.list' },
    schema: {
      tags, ...secured,
      summary: 'List jobs, oldest or newest first, a page at a time, with where and when each one’s latest attempt ran and who submitted it',
      querystring: JobListQuery, response: { 200: JobListResponse, '4xx': ErrorResponse },
    },
  }, async (req) => {
    const q = req.query;
    const access = accessOf(req);
    const org = access.listOrg(q.org);
    const jobs = await store.listJobs({
      ...(org === undefined ? {} : { orgId: org }), ...(q.state === undefined ? {} : { states: q.state }), ...(q.q === undefined ? {} : { search: q.q }),
      ...(q.after === undefined ? {} : { after: q.after }), order: q.order, limit: q.limit + 1,
    });
    const page = jobs.slice(0, q.limit);
    // One read each for the page's placements and submitters, not one per job.
    const [latest, names] = await Promise.all([store.latestPlacements(page.map((j) => j.id)), submitters(page)]);
    const owners = await cp.sites.owners(latest.flatMap((p) => p.parts.map((part) => part.siteId)));
    const byJob = new Map(latest.map((p) => [p.jobId, p]));
    const items = page.map((j) => jobListItemJson(j, byJob.get(j.id), owners, submitterName(j, names, access.principal.orgId)));
    return viewed(cp, access, { jobs: items, next: jobs.length > q.limit ? (page[page.length - 1]?.id ?? null) : null });
  });

  app.get('/api/v1/jobs/:id', {
    config: { operation: 'jobs.show' },
    schema: { tags, ...secured, summary: 'Show a job with its placements, its event history and why it waits', params, response: { 200: JobDetailResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const access = accessOf(req);
    const job = access.require('job', req.params.id, await store.getJob(req.params.id), owner);
    const [placements, events, metrics, names, tails] = await Promise.all([
      store.placements(job.id), store.events(job.id), job.demand.span === undefined ? [] : store.spanMetrics(job.id), submitters([job]), store.logTails(job.id),
    ]);
    const owners = await cp.sites.owners([...placements.flatMap((p) => p.parts.map((part) => part.siteId)), ...tails.map((t) => t.siteId)]);
    return viewed(cp, access, jobDetailJson(job, placements, events, owners, submitterName(job, names, access.principal.orgId), metrics, tails));
  });

  app.post('/api/v1/jobs/:id/cancel', {
    config: { operation: 'jobs.cancel' },
    schema: { tags, ...secured, summary: 'Cancel a job that has not finished', params, response: { 200: JobResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const access = accessOf(req);
    const job = access.require('job', req.params.id, await store.getJob(req.params.id), owner);
    const after = await lifecycle.move(job, 'cancelled', ['pending', 'placed', 'running', 'preempted'], 'cancelled', { by: access.principal.tokenId });
    loop.poke();
    return jobJson(after);
  });

  app.post('/api/v1/jobs/dry-run', {
    config: { operation: 'jobs.dry-run' },
    schema: {
      tags, ...secured,
      summary: 'What would happen to this job if it were submitted now: where it would start, or why it would wait. Nothing is committed.',
      body: JobSubmitBody, response: { 200: DryRunResponse, '4xx': ErrorResponse },
    },
  }, async (req) => {
    const { orgId, demand } = await demandOf(cp, accessOf(req), req.body);
    const now = clock.now();
    // The same rebuild as a scheduling pass, plus the would-be job at the back of the queue.
    const rebuilt = rebuildScheduler(await loop.snapshot(), cp.scheduler, loop.siteMemory, [orgId]);
    const record = rebuilt.sched.submit(jobSpec({ id: `dry-run-${randomBytes(6).toString('hex')}`, orgId, demand, submittedAt: now }));
    const decisions = rebuilt.sched.pass(now / 1000);
    const at = decisions.findIndex((d) => d.kind === 'start' && d.job === record);
    // Preemptions made for this job come right before its start.
    let wouldPreempt = 0;
    for (let i = at - 1; i >= 0 && decisions[i]?.kind === 'preempt'; i--) wouldPreempt++;
    const diagnosis = at >= 0 ? undefined : (rebuilt.sched.diagnosis(record) ?? rebuilt.sched.explain(record, now / 1000));
    const owners = new Map(rebuilt.poolSites.map((p) => [p.site.id, p.site.orgId]));
    return viewed(cp, accessOf(req), {
      outcome: at >= 0 ? ('place' as const) : ('wait' as const),
      placement: at >= 0 ? placementParts(rebuilt, record).map((p) => partJson(p, owners)) : null,
      would_preempt: wouldPreempt,
      diagnosis: diagnosis === undefined ? null : diagnosisJson(diagnosis),
      gpus: demand.gpus,
      estimate_s: demand.estimateS,
    });
  });

  app.post('/api/v1/internal/jobs/:id/state', {
    config: { operation: 'jobs.set-state' },
    schema: {
      tags: ['internal'], ...secured,
      summary: 'Move a job by hand (admin): placed → running → succeeded or failed. Stands in for agent reports until the agent protocol exists.',
      params, body: JobStateBody, response: { 200: JobResponse, '4xx': ErrorResponse },
    },
  }, async (req) => {
    const job = accessOf(req).require('job', req.params.id, await store.getJob(req.params.id), owner);
    const to = req.body.state;
    const after = await lifecycle.move(job, to, BY_HAND[to], to === 'running' ? 'started' : to, { by: 'admin' });
    // The admin's hand stands in for the site's agent: what the run used is logged now, as the control plane's alone.
    if (to !== 'running') await cp.usage.logJobAlone(job.id);
    if (to !== 'running') loop.poke();
    return jobJson(after);
  });
}

/**
 * A response as the caller may see it: another org's sites (in parts, events,
 * diagnoses) by their neutral labels for every caller but the admin.
 */
async function viewed<T>(cp: ControlPlane, access: Access, json: T): Promise<T> {
  if (access.scope === 'all') return json;
  await cp.sites.ensure(json);
  return cp.sites.relabel(json, access.principal.orgId);
}
