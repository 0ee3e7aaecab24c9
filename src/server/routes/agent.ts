import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Job, JobState, LedgerEntry, LogTail, PendingUsage, Placement, PlacementPart } from '../../store/types.ts';
import { outcomeOf, usage, type Change } from '../job-lifecycle.ts';
import { accessOf, secured, type Api, type ControlPlane } from '../control-plane.ts';
import { dropUnreadBody, RateByKey } from '../flood.ts';
import { RateLimitedError } from '../auth.ts';
import { ApiError, errorBody, notFound, toApiError } from '../errors.ts';
import type { Access } from '../permissions.ts';
import { ErrorResponse, HeartbeatBody, SHARE_RULE_DEFAULTS, SiteResponse, siteJson, storableText } from '../schemas.ts';
import { heartbeat } from './sites.ts';
import { fromBase64, readUint32, utf8 } from '../../ledger/encoding.ts';
import { keyId, type NoteSignature } from '../../ledger/note.ts';
import { formatUsageRecord } from '../../ledger/usage-record.ts';
import { nativeVerifier, type NativeVerifier } from '../log-keys.ts';
import type { UsageItem } from '../usage-log.ts';
import { partSites } from '../rendezvous.ts';

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
/**
 * A long poll is answered the moment its site's bell rings (a placement on it, a run of
 * it to stop); it also looks this often anyway, ms: a safety net, and how soon it
 * notices that its caller went away.
 */
const RECHECK_MS = 1000;
/** Most log bytes kept with a report (in the job's event). */
const LOG_TAIL_CHARS = 4096;
/**
 * Most runs one heartbeat may list, whatever the site: the schema's bound. A site
 * holds at most a run per GPU (each run has one at least), plus runs being stopped
 * while new ones start, so a heartbeat is refused before it is validated when it
 * lists more than `runsAllowed` of its site; its answer is computed from memory, O(runs).
 */
const MAX_RUNS_PER_HEARTBEAT = 100_000;
const runsAllowed = (declaredGpus: number) => Math.max(64, 2 * declaredGpus);
/**
 * Heartbeats per site: 10 at once, then 5 a second. An agent heartbeats every few
 * seconds (5 by default); a flood of them, each as heavy as its site allows (tens of
 * ms to check and answer at 30,000 runs), gets 429s past this.
 */
const HEARTBEATS = { perSecond: 5, burst: 10 } as const;
/**
 * Reports per site: as many a second as the site declares GPUs (20 at least), 5 s of
 * them at once. An agent reports each run's start and end and its log every 5 s, and
 * a site runs at most a run per GPU, so an honest site stays well under it.
 */
const reportRate = (declaredGpus: number) => ({ perSecond: Math.max(20, declaredGpus), burst: 5 * Math.max(20, declaredGpus) });
/**
 * Batches of reports per site: 100 a second, 200 at once. An agent sends one batch at a time (the next when the last
 * is answered): as many as a second's worth of round trips when its runs are short and many. What a batch may cost
 * is bounded per report (those that move no run forward, by `reportRate`; the others, by the runs placed on the site).
 */
const BATCHES = { perSecond: 100, burst: 200 } as const;

/** Refuses (429, Retry-After) a request of the agent's site past its allowance, before its body is read. */
async function withinRate(rates: RateByKey, req: FastifyRequest, reply: FastifyReply, what: string, rate: (siteId: string) => Promise<{ perSecond: number; burst: number }>): Promise<void> {
  const siteId = accessOf(req).principal.siteId;
  if (siteId === null) return;
  const { perSecond, burst } = await rate(siteId);
  const waitMs = rates.take(siteId, perSecond, burst);
  if (waitMs === 0) return;
  const err = new RateLimitedError(waitMs, `${what} of site "${siteId}" come faster than ${perSecond} a second`);
  dropUnreadBody(req.raw, reply);
  await reply.header('retry-after', String(err.retryAfterS)).code(err.status).send(errorBody(err));
}

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
  span: z.object({
    sites: z.array(z.string()), index: z.number(),
    rendezvous_token: z.string().describe("this part's rendezvous token (the run gets it as SUANLI_RENDEZVOUS_TOKEN, with SUANLI_RENDEZVOUS_URL)"),
  }).nullable().describe("a job across sites: all its sites in placement order (other orgs' by their neutral labels), and this site's position (the run gets them as SUANLI_SPAN_SITES and SUANLI_SPAN_INDEX)"),
  org_id: z.string().describe('the org whose job this is'),
  borrowed: z.boolean().describe("another org's job on this site"),
  sandbox: z.boolean().describe("the site's policy requires this run to be sandboxed"),
  network: z.enum(['none', 'host']).describe('the network a sandboxed run gets: none (a private loopback) or the host’s'),
});
const Stop = z.object({
  job_id: z.string(), attempt: z.number(),
  after_s: z.number().describe('seconds of notice left: stop the run now (0) or this much later (an owner reclaiming its GPUs with notice)'),
  reason: z.string(),
});
export const AssignmentsResponse = z.object({
  site_id: z.string(), assignments: z.array(Assignment),
  stop: z.array(Stop).describe('runs of the site to stop, told as soon as the control plane moved past them (heartbeats name them too)'),
});

const RunRef = z.strictObject({ job_id: z.string().min(1).max(128), attempt: z.number().int().min(1) });
export const AgentHeartbeatBody = HeartbeatBody.extend({
  runs: z.array(RunRef).max(MAX_RUNS_PER_HEARTBEAT).optional().describe('the runs the agent has going; the answer says which of them to stop'),
  site_key: z.string().min(1).max(300).optional().describe("the verifier key of the site's record key (a signed-note Ed25519 key): the first the site presents is taken; another only once its org-admin revoked the last"),
  usage_signatures: z.array(z.strictObject({ id: z.number().int().min(1), signature: z.string().min(1).max(200).describe('base64(key hash ‖ Ed25519 signature) of the record text, as on a signed-note line') })).max(1000).optional()
    .describe('signatures of usage records the last answer asked for'),
  usage_refused: z.array(z.strictObject({ id: z.number().int().min(1), reason: storableText(500) })).max(1000).optional().describe('records the agent will not sign, and why'),
});
export const AgentHeartbeatResponse = SiteResponse.extend({
  stop: z.array(Stop).describe('runs of the site that are no longer their job’s current attempt'),
  lease_s: z.number().nullable().describe(
    'fencing: the agent must have stopped all its runs within this many seconds of sending the last heartbeat the control plane answered (after that the site may be marked lost and its jobs run elsewhere); null: no site timeout, no lease',
  ),
  capacity_cut: z.array(z.string()).describe('what of the reported capacity counts for nothing: more than the site declares, or a GPU type it does not declare'),
  site_key: z.object({ status: z.enum(['active', 'refused', 'revoked', 'none']), detail: z.string() }).describe("what the control plane made of the site key the agent presented"),
  usage_to_sign: z.array(z.object({ id: z.number(), record: z.string().describe('the usage record text (suanli/usage-record/v1)') })).describe("usage records of this site's runs for its agent to sign or refuse in the next heartbeat"),
});

export const RunReportBody = z.strictObject({
  job_id: z.string().min(1).max(128),
  attempt: z.number().int().min(1),
  state: z.enum(['running', 'succeeded', 'failed', 'lost', 'stopped']).describe('stopped: a run the control plane said to stop has stopped (its GPUs are free again)'),
  exit_code: z.number().int().nullable().optional(),
  reason: z.enum(['exit_code', 'cancelled_outside', 'engine']).optional().describe('why a failed run failed: its exit status, stopped outside Suanli, or ended by its engine'),
  detail: storableText(2000).optional(),
  log_tail: storableText(64 * 1024, LOG_TAIL_CHARS).optional().describe(`the end of the run's log, of which the last ${LOG_TAIL_CHARS} characters are kept; characters the store cannot hold (NUL, lone surrogates) become U+FFFD`),
});
/** Most reports one batch carries. */
const MAX_REPORTS_PER_BATCH = 256;
export const RunReportBatchBody = z.strictObject({
  reports: z.array(RunReportBody).min(1).max(MAX_REPORTS_PER_BATCH).describe('reports of runs on the agent’s site, applied in order (a run’s `running` before its end)'),
});
export const RunReportResponse = z.object({
  /** Whether this report changed the job (false: a repeat, or too late). */
  applied: z.boolean(),
  /** Whether the attempt is still the job's current one and not finished: false tells the agent to stop the run. */
  current: z.boolean(),
  state: z.string(),
});

export const RunReportBatchResponse = z.object({
  results: z.array(z.union([RunReportResponse, ErrorResponse.extend({ status: z.number().describe('the HTTP status /agent/reports would have answered this report with') })]))
    .describe('per report, in order: its answer as /agent/reports gives it, or its error (`{status, error: {code, message, field?}}`: 404 not the site’s run, 429 too many reports that move no run forward)'),
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
const acrossSites = (p: Placement | undefined) => p !== undefined && partSites(p).length > 1;
/** The job's sites in placement order, and this site's position among them. */
function spanOfPlacement(p: Placement, siteId: string): { sites: string[]; index: number } {
  const sites = partSites(p);
  return { sites, index: sites.indexOf(siteId) };
}

/**
 * A run handed to the agent is offered again only after this long, ms, if it has not
 * been reported running by then (the answer that carried it may have been lost). Sooner,
 * every long poll would return at once with the run the agent just started.
 */
const REOFFER_MS = 5000;

/**
 * The placed jobs with a part on the site not yet started, and not handed to the
 * agent within REOFFER_MS, from the control plane's in-memory mirror of the active jobs
 * (no store reads until there is one), with what the site's policy, as stored now,
 * says of containing each.
 */
async function assignments(cp: ControlPlane, siteId: string, handedAt: ReadonlyMap<string, number>): Promise<z.infer<typeof Assignment>[]> {
  const waiting: { job: Job; p: Placement; parts: PlacementPart[] }[] = [];
  const now = cp.clock.now();
  for (const p of cp.active.placementsOn(siteId)) {
    const parts = onSite(p, siteId);
    if (parts.length === 0) continue;
    const job = cp.active.get(p.jobId);
    // Running means acknowledged: the agent reported it started (for a job across sites, this site's part did).
    if (job?.state !== 'placed' || job.attempts !== p.attempt || parts.every((part) => part.startedAt !== undefined)) continue;
    if (now - (handedAt.get(handedKey(siteId, job.id, p.attempt)) ?? -Infinity) < REOFFER_MS) continue;
    waiting.push({ job, p, parts });
  }
  if (waiting.length === 0) return [];
  const site = await cp.sites.entry(siteId);
  if (site === undefined) throw notFound('site', siteId);
  const out: z.infer<typeof Assignment>[] = [];
  for (const { job, p, parts } of waiting) {
    const borrowed = job.orgId !== site.orgId;
    const span = acrossSites(p) ? spanOfPlacement(p, siteId) : null;
    if (span !== null) await cp.sites.ensure(span.sites);
    out.push({
      job_id: job.id, attempt: p.attempt, command: job.demand.command === null ? null : [...job.demand.command],
      parts: parts.map((part) => ({ gpu_type: part.gpuType, gpus: part.gpus, nodes: part.nodes, gpus_per_node: Math.floor(part.gpus / Math.max(1, part.nodes)) })),
      // The lender's agent learns the other sites of a borrower's job by their labels, as members do.
      span: span === null ? null : { ...span, sites: cp.sites.relabel(span.sites, site.orgId), rendezvous_token: cp.rendezvousTokens.mint({ jobId: job.id, attempt: p.attempt, siteId }) },
      org_id: job.orgId, borrowed,
      sandbox: borrowed && (site.share.sandboxBorrowed ?? SHARE_RULE_DEFAULTS.sandbox_borrowed),
      network: borrowed ? (site.share.borrowedNetwork ?? SHARE_RULE_DEFAULTS.borrowed_network) : 'host',
    });
  }
  return out;
}

/**
 * Which of the runs an agent has going it must stop, and when: every run that is not
 * its job's current attempt on this site any more (the job was cancelled, preempted,
 * lost, or finished), or never was. A run preempted with notice (an owner reclaiming
 * lent GPUs) or shrunk off this site stops when the notice ends; any other, now.
 * Answered from memory (the mirror and the runs it moved past), O(runs): a heartbeat
 * naming any number of runs, real or not, costs no store read.
 */
function stopsOf(cp: ControlPlane, siteId: string, runs: readonly z.infer<typeof RunRef>[]): z.infer<typeof Stop>[] {
  const out: z.infer<typeof Stop>[] = [];
  const nowMs = cp.clock.now();
  for (const run of runs) {
    if (isCurrentRun(cp, run.job_id, run.attempt, siteId)) continue;
    const ended = cp.active.endedRun(run.job_id, run.attempt);
    // Another site's job (or none) is not described: the agent only learns to stop it.
    if (ended === undefined || !ended.sites.has(siteId)) out.push({ job_id: run.job_id, attempt: run.attempt, after_s: 0, reason: 'not a run of this site' });
    else out.push({ job_id: run.job_id, attempt: run.attempt, after_s: ended.stopAtMs === null ? 0 : Math.max(0, (ended.stopAtMs - nowMs) / 1000), reason: ended.reason });
  }
  return out;
}

/** Whether (job, attempt) is its job's current, unfinished attempt with a part on the site (from the mirror). */
function isCurrentRun(cp: ControlPlane, jobId: string, attempt: number, siteId: string): boolean {
  const job = cp.active.get(jobId);
  const current = job === undefined ? undefined : cp.active.placement(job.id);
  return job !== undefined && job.attempts === attempt && current?.attempt === attempt && onSite(current, siteId).length > 0;
}

export function agentRoutes(app: Api): void {
  const cp = app.suanli;
  const tags = ['agent'];
  let closing = false;
  app.addHook('preClose', () => {
    closing = true;
    cp.active.bell.ringAll(); // long polls answer now
    return Promise.resolve();
  });

  const heartbeats = new RateByKey();
  /**
   * Usage entries each site refused to sign: not offered to that site again (the control plane logs them alone when
   * their time is up). Per site, so that what one agent says never keeps another site from being asked.
   */
  const refusedUsage = new Map<string, Set<number>>();
  /**
   * What each site's agent was last asked to sign: the entries and their record texts. Its signatures are checked
   * against the text it was shown, which is neither read nor formatted again (a signature of anything else is read
   * from the store, as after a restart).
   */
  const offeredUsage = new Map<string, Map<number, Offered>>();
  const reports = new RateByKey();
  /** When each run (job and attempt) was first handed to an agent, ms: until it is reported running (the dispatch metrics). */
  const handedAt = new Map<string, number>();
  const declaredGpus = async (siteId: string) => (cp.sites.known(siteId) ?? (await cp.sites.entry(siteId)))?.gpus ?? 0;
  app.post('/api/v1/agent/heartbeat', {
    config: { operation: 'agent.heartbeat' },
    // Before the body is read: a site heartbeating far faster than any agent does is refused at once.
    onRequest: (req, reply) => withinRate(heartbeats, req, reply, 'heartbeats', () => Promise.resolve(HEARTBEATS)),
    // Before the body is validated (30,000 runs cost tens of ms to check): a site's agent lists at most what its site can hold.
    preValidation: async (req) => {
      const runs = (req.body as { runs?: unknown } | null)?.runs;
      const siteId = accessOf(req).principal.siteId;
      if (!Array.isArray(runs) || siteId === null) return;
      const gpus = await declaredGpus(siteId);
      if (runs.length > runsAllowed(gpus)) {
        throw new ApiError('invalid_request', `runs: ${runs.length.toLocaleString('en-US')} runs listed; a site of ${gpus.toLocaleString('en-US')} declared GPUs has at most ${runsAllowed(gpus).toLocaleString('en-US')} (a run has a GPU at least)`, { field: 'runs' });
      }
    },
    schema: {
      tags, ...secured, summary: "The agent's site is alive, with the capacity its executor discovered; the answer names the runs to stop",
      body: AgentHeartbeatBody, response: { 200: AgentHeartbeatResponse, '4xx': ErrorResponse },
    },
  }, async (req, reply) => {
    const id = siteOf(accessOf(req));
    const before = await cp.sites.site(id);
    if (before === undefined) throw notFound('site', id);
    const { site, cut } = await heartbeat(cp, before, req.body);
    const b = req.body;
    const key = await siteKey(cp, id, b.site_key);
    if (key.verifier !== null && (b.usage_signatures?.length ?? 0) > 0) await logSigned(cp, id, key.verifier, b.usage_signatures ?? [], offeredUsage.get(id));
    if ((b.usage_refused?.length ?? 0) > 0) noteRefused(refusedUsage, id, (b.usage_refused ?? []).map((r) => r.id));
    if ((b.usage_refused?.length ?? 0) > 0) app.log.warn({ site: id, refused: b.usage_refused }, 'a site refused to sign usage records: they are logged by the control plane alone');
    const toSign = key.verifier === null ? [] : await usageToSign(cp, id, refusedUsage.get(id) ?? NONE_REFUSED);
    offeredUsage.set(id, new Map(toSign.map((o) => [o.entry.id, o])));
    // A run holding GPUs until this site confirms it stopped, that the agent does not list, has stopped (or never ran there).
    if (b.runs !== undefined) {
      const listed = new Set(b.runs.map((r) => `${r.job_id}.${r.attempt}`));
      let released = false;
      for (const r of cp.active.stoppingOnSite(id)) if (!listed.has(`${r.jobId}.${r.attempt}`)) released = cp.active.stopped(r.jobId, r.attempt, id) || released;
      if (released) cp.loop.poke();
    }
    const answer: z.infer<typeof AgentHeartbeatResponse> = {
      ...siteJson(site), stop: stopsOf(cp, id, b.runs ?? []), lease_s: cp.leaseS, capacity_cut: cut, site_key: { status: key.status, detail: key.detail },
      usage_to_sign: toSign.map((o) => ({ id: o.entry.id, record: o.text })),
    };
    // Built here to the response schema (the type says so): sent without checking it again, which costs as much as
    // building it when a heartbeat lists tens of thousands of runs.
    return reply.serializer(JSON.stringify).send(answer);
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
      const rung = cp.active.bell.count(siteId);
      const found = await assignments(cp, siteId, handedAt);
      if (found.length > 0) noteHanded(cp, handedAt, siteId, found);
      const stop = stopsOf(cp, siteId, cp.active.takeStops(siteId).map((r) => ({ job_id: r.jobId, attempt: r.attempt })));
      const left = deadline - performance.now();
      if (found.length > 0 || stop.length > 0 || left <= 0) return { site_id: siteId, assignments: found, stop };
      await cp.active.bell.wait(siteId, rung, Math.min(left, RECHECK_MS));
      // Shutting down (the store closes right after), or the agent went away: answer now, and read nothing more.
      if (closing || req.raw.destroyed) return { site_id: siteId, assignments: [], stop: [] };
    }
  });

  app.post('/api/v1/agent/reports', {
    config: { operation: 'agent.report' },
    onRequest: (req, reply) => withinRate(reports, req, reply, 'reports', async (siteId) => reportRate(await declaredGpus(siteId))),
    schema: {
      tags, ...secured,
      summary: 'The state of one run (job, attempt) on the agent’s site, with the end of its log; a repeated or stale report changes no state',
      body: RunReportBody, response: { 200: RunReportResponse, '4xx': ErrorResponse },
    },
  }, (req) => applyReport(cp, siteOf(accessOf(req)), req.body, handedAt));

  /**
   * Per site, the reports of a batch that move no run forward (a repeat, a stale attempt, a log tail): each costs
   * one of these, at the site's report rate. Reports that move a run forward are bounded by the runs placed on the
   * site, and cost nothing here.
   */
  const idleReports = new RateByKey();
  const batches = new RateByKey();
  app.post('/api/v1/agent/reports/batch', {
    config: { operation: 'agent.report' },
    onRequest: (req, reply) => withinRate(batches, req, reply, 'batches of reports', () => Promise.resolve(BATCHES)),
    schema: {
      tags, ...secured,
      summary: 'Reports of many runs on the agent’s site in one request, applied in order; each answered as by /agent/reports, or with its own error',
      body: RunReportBatchBody, response: { 200: RunReportBatchResponse, '4xx': ErrorResponse },
    },
  }, async (req) => {
    const siteId = siteOf(accessOf(req));
    const rate = reportRate(await declaredGpus(siteId));
    // Those past the rate are answered 429 and go no further.
    const refused = req.body.reports.map((b) => !movesForward(cp, siteId, b) && idleReports.take(siteId, rate.perSecond, rate.burst) > 0);
    const taken = req.body.reports.filter((_, i) => refused[i] !== true);
    // The owners of the runs' sites, for their usage (known from here on).
    await cp.sites.ensure(taken.flatMap((b) => cp.active.placement(b.job_id)?.parts.map((p) => p.siteId) ?? []));
    const answers = await applyReports(cp, siteId, taken, handedAt);
    let next = 0;
    const results: z.infer<typeof RunReportBatchResponse>['results'] = req.body.reports.map((_, i) => {
      const outcome: ReportOutcome | undefined = refused[i] === true
        ? { error: new RateLimitedError(1000, `reports of site "${siteId}" that move no run forward come faster than ${rate.perSecond} a second`) }
        : answers[next++];
      if (outcome !== undefined && 'answer' in outcome) return outcome.answer;
      const e = toApiError(outcome?.error);
      if (e.status >= 500) throw outcome?.error;
      return { status: e.status, ...errorBody(e) };
    });
    return { results };
  });
}

/** Whether the report would move its run forward (from the mirror): a run of the site's, current, in a state the report may come from. */
function movesForward(cp: ControlPlane, siteId: string, b: z.infer<typeof RunReportBody>): boolean {
  if (b.state === 'stopped') return cp.active.stoppingOn(b.job_id, b.attempt, siteId);
  const job = cp.active.get(b.job_id);
  if (job === undefined || !isCurrentRun(cp, b.job_id, b.attempt, siteId)) return false;
  return b.state === 'lost' ? true : REPORTED[b.state].from.includes(job.state);
}

/** What a report's event says. */
const reportDetail = (siteId: string, b: Report) => ({
  site: siteId, attempt: b.attempt,
  ...(b.exit_code === undefined ? {} : { exit_code: b.exit_code }),
  ...(b.reason === undefined ? {} : { reason: b.reason }),
  ...(b.detail === undefined ? {} : { detail: b.detail }),
  ...(b.log_tail === undefined ? {} : { log_tail: b.log_tail }),
});

type Report = z.infer<typeof RunReportBody>;
type ReportResult = z.infer<typeof RunReportResponse>;
/** A report's answer, or what was thrown for it. */
type ReportOutcome = { readonly answer: ReportResult } | { readonly error: unknown };

/**
 * Applies a batch's reports of the agent's site, in order; per report its answer, or the error thrown for it. The
 * common ones go together: the reports of a run of this site alone (not across sites) that start it, end it
 * (succeeded, or failed with no retry to make) or repeat that it runs — their log tails in one statement, their
 * moves and usage in one transaction, as a scheduling pass commits its decisions. Any other report (a part of a
 * job across sites, a lost run, a failure to retry, a run not current), every other report of its run, and any
 * whose job changed meanwhile go one at a time, as single reports do.
 */
async function applyReports(cp: ControlPlane, siteId: string, reports: readonly Report[], handedAt: Map<string, number>): Promise<ReportOutcome[]> {
  const at = cp.clock.now();
  const byRun = new Map<string, number[]>();
  reports.forEach((b, i) => {
    const key = `${b.job_id}.${b.attempt}`;
    byRun.set(key, [...(byRun.get(key) ?? []), i]);
  });
  const changes: Change[] = [];
  const ledger: LedgerEntry[] = [];
  const tails: LogTail[] = [];
  /** Per report taken together: the change it made (an index into changes), or none (a repeat of `running`). */
  const together = new Map<number, number | null>();
  for (const indices of byRun.values()) {
    const first = reports[indices[0] ?? -1];
    const job = first === undefined ? undefined : cp.active.get(first.job_id);
    const placement = job === undefined ? undefined : cp.active.placement(job.id);
    if (first === undefined || job === undefined || placement === undefined || acrossSites(placement) || !isCurrentRun(cp, first.job_id, first.attempt, siteId)) continue;
    // The run's reports in order, from its state now: at most a start, then at most an end, and repeats of `running` while it runs.
    let state: JobState = job.state;
    let startedAt = placement.startedAt;
    const moves: { i: number; change: Change | null }[] = [];
    for (const i of indices) {
      const b = reports[i];
      if (b === undefined) break;
      const ends = b.state === 'succeeded' || (b.state === 'failed' && (job.demand.maxRetries ?? 0) === 0);
      if (b.state === 'running' && state === 'running') moves.push({ i, change: null });
      else if (b.state === 'running' && state === 'placed') {
        moves.push({ i, change: { jobId: job.id, from: 'placed', to: 'running', at, type: REPORTED.running.type, detail: reportDetail(siteId, b), attempt: b.attempt } });
        state = 'running';
        startedAt = at;
      } else if (ends && (state === 'placed' || state === 'running') && (b.state === 'succeeded' || b.state === 'failed')) {
        const to: JobState = b.state;
        moves.push({ i, change: { jobId: job.id, from: state, to, at, type: REPORTED[b.state].type, detail: reportDetail(siteId, b), attempt: b.attempt } });
        if (state === 'running') ledger.push(...usage(job, { ...placement, startedAt }, (id) => cp.sites.known(id)?.orgId, at, outcomeOf(to, to)));
        state = to;
      } else {
        moves.length = 0; // a report the fast way does not take: the whole run goes one report at a time
        break;
      }
    }
    if (moves.length === 0) continue;
    for (const { i, change } of moves) {
      together.set(i, change === null ? null : changes.push(change) - 1);
      const b = reports[i];
      if (b?.log_tail !== undefined) tails.push({ jobId: job.id, attempt: b.attempt, siteId, tail: b.log_tail, at });
    }
  }
  if (tails.length > 0) await cp.store.setLogTails(tails);
  const after = await cp.lifecycle.apply(changes, ledger);
  const out: ReportOutcome[] = [];
  for (const [i, b] of reports.entries()) {
    const taken = together.get(i);
    const moved = taken === undefined || taken === null ? undefined : after[taken];
    if (taken === null) {
      const job = cp.active.get(b.job_id);
      if (job !== undefined && job.state === 'running' && job.attempts === b.attempt) {
        out.push({ answer: { applied: false, current: true, state: job.state } });
        continue;
      }
    } else if (moved != null) {
      if (b.state === 'running') noteRunning(cp, handedAt, siteId, b.job_id, b.attempt);
      else cp.loop.poke();
      out.push({ answer: { applied: true, current: moved.attempts === b.attempt && (moved.state === 'placed' || moved.state === 'running'), state: moved.state } });
      continue;
    }
    // Not taken together, or its job changed meanwhile: as a single report.
    out.push(await applyReport(cp, siteId, b, handedAt).then((answer) => ({ answer }), (error: unknown) => ({ error })));
  }
  return out;
}

/** Applies one report of the agent's site (see RunReportBody); 404 for a run that is not the site's. */
async function applyReport(cp: ControlPlane, siteId: string, b: z.infer<typeof RunReportBody>, handedAt: Map<string, number>): Promise<z.infer<typeof RunReportResponse>> {
  const { store, clock, lifecycle, loop } = cp;
  // Answered from memory unless the run is current: an agent may report only on attempts placed on its site now.
  const job = cp.active.get(b.job_id);
  if (b.state === 'stopped') {
    // A run told to stop has: the GPUs it held until now are free (the next pass may give them to the job waiting).
    const ended = cp.active.endedRun(b.job_id, b.attempt);
    if (ended?.sites.has(siteId) !== true) {
      if (isCurrentRun(cp, b.job_id, b.attempt, siteId)) throw new ApiError('conflict', `run ${b.job_id}.${b.attempt} was not told to stop: report how it ended (succeeded, failed, lost)`, { field: 'state' });
      throw notFound('job', b.job_id);
    }
    const released = cp.active.stopped(b.job_id, b.attempt, siteId);
    if (released) loop.poke();
    return { applied: released, current: false, state: job?.state ?? ended.state };
  }
  const placement = job === undefined ? undefined : cp.active.placement(job.id);
  if (job === undefined || placement === undefined || !isCurrentRun(cp, b.job_id, b.attempt, siteId)) {
    const ended = cp.active.endedRun(b.job_id, b.attempt);
    // A run this site had, that has moved on: nothing to apply (a repeat, or too late), and nothing written.
    if (ended?.sites.has(siteId) === true) return { applied: false, current: false, state: job?.state ?? ended.state };
    // Another site's job (or attempt), or one this server does not know of, is answered as if it did not exist.
    throw notFound('job', b.job_id);
  }
  const current = (j: Job) => j.attempts === b.attempt && (j.state === 'placed' || j.state === 'running');
  // The newest lines of this site's run of the attempt (reports while it runs bring them), whatever the report does.
  if (b.log_tail !== undefined) await store.setLogTails([{ jobId: job.id, attempt: b.attempt, siteId, tail: b.log_tail, at: clock.now() }]);
  const detail = reportDetail(siteId, b);
  let after: Job | null;
  const retry = b.state === 'failed' ? await retryOf(store, job) : null;
  if (acrossSites(placement) && job.state === 'placed' && b.state === 'running') {
    after = await markPart(cp, job, b.attempt, siteId, detail, PART_STEPS.started);
  } else if (acrossSites(placement) && job.state === 'running' && b.state === 'succeeded') {
    after = await markPart(cp, job, b.attempt, siteId, detail, PART_STEPS.succeeded);
  } else if (acrossSites(placement) && job.state === 'placed') {
    // All or nothing: a part that ends (failed, lost, even succeeded) before every site started its own
    // did not train with its peers; the job is released on every site and queued again.
    after = await lifecycle.requeue(job, 'coallocation_failed', { ...detail, part_state: b.state }, b.attempt);
  } else if (b.state === 'lost') {
    // The run vanished: the job goes back to the queue, as when its site is lost.
    after = await lifecycle.requeue(job, 'run_lost', detail, b.attempt);
  } else if (retry !== null) {
    after = await lifecycle.requeue(job, RUN_FAILED, { ...detail, retry: `${retry.next} of ${retry.max}` }, b.attempt);
  } else {
    const r = REPORTED[b.state];
    after = await moveIfAllowed(lifecycle, job, b.state, r.from, r.type, detail, b.attempt);
  }
  // The same path as the admin's hand: the scheduling loop learns of freed GPUs through a pass.
  if (after !== null && b.state !== 'running') loop.poke();
  // Its part on this site started (for a job across sites, perhaps before the others').
  if (after !== null && b.state === 'running' && job.state === 'placed') noteRunning(cp, handedAt, siteId, job.id, b.attempt);
  const now = after ?? (await store.getJob(job.id)) ?? job;
  return { applied: after !== null, current: current(now), state: now.state };
}

/**
 * What a site's report does to its part of a job placed across sites: the part is marked (`mark`), and when every
 * part is, the job moves `from` → `to`. Started: the job runs once every part runs. Succeeded: the job succeeds
 * once every part has (a part that ends well before the others does not end their training; its GPUs stay the
 * job's until the attempt ends).
 */
const PART_STEPS = {
  started: { mark: 'startedAt', event: 'part_started', from: 'placed', to: 'running', type: 'started' },
  succeeded: { mark: 'succeededAt', event: 'part_succeeded', from: 'running', to: 'succeeded', type: 'succeeded' },
} as const satisfies Record<string, { mark: keyof PlacementPart; event: string; from: JobState; to: JobState; type: string }>;

/**
 * One site of a job placed across sites started its part, or its part succeeded: marked on the placement (compare
 * and set, retried, so sites reporting at once keep both marks), and when every part is, the job moves on (PART_STEPS).
 * Null when the report changes nothing (a repeat) or the job is no longer where the step starts at this attempt.
 */
async function markPart(cp: ControlPlane, job: Job, attempt: number, siteId: string, detail: Readonly<Record<string, unknown>>, step: (typeof PART_STEPS)[keyof typeof PART_STEPS]): Promise<Job | null> {
  for (let tries = 0; tries < 10; tries++) {
    const placement = (await cp.store.placements(job.id)).find((p) => p.attempt === attempt);
    const current = await cp.store.getJob(job.id);
    if (placement === undefined || current?.state !== step.from || current.attempts !== attempt) return null;
    const at = cp.clock.now();
    if (onSite(placement, siteId).every((part) => part[step.mark] !== undefined)) return null;
    const parts = placement.parts.map((part) => (part.siteId === siteId && part[step.mark] === undefined ? { ...part, [step.mark]: at } : part));
    const waiting = [...new Set(parts.filter((part) => part[step.mark] === undefined).map((part) => part.siteId))];
    if (!(await cp.lifecycle.updateParts(job.id, attempt, placement.parts, parts, { at, type: step.event, detail: { ...detail, waiting_for: waiting } }))) continue;
    if (waiting.length > 0) return current;
    return await moveIfAllowed(cp.lifecycle, current, step.to, [step.from], step.type, { ...detail, sites: partSites({ parts }) }, attempt);
  }
  throw new ApiError('conflict', `job "${job.id}" keeps changing; try again`);
}

/** Runs whose handing to an agent is remembered, at most: the oldest are forgotten first (a run that never starts). */
const HANDED_KEPT = 100_000;
/** A run's part on one site: what is handed to that site's agent (a job across sites is handed to each). */
const handedKey = (siteId: string, jobId: string, attempt: number) => `${siteId} ${jobId}:${attempt}`;

/** Notes when each run in `found` was first handed to an agent, and how long after its placement (the `received` stage). */
function noteHanded(cp: ControlPlane, handedAt: Map<string, number>, siteId: string, found: readonly { job_id: string; attempt: number }[]): void {
  const now = cp.clock.now();
  for (const a of found) {
    const key = handedKey(siteId, a.job_id, a.attempt);
    const first = !handedAt.has(key);
    // Last handed now (re-offered REOFFER_MS after this); the `received` stage counts from the first time.
    handedAt.delete(key);
    handedAt.set(key, now);
    if (!first) continue;
    const placedAt = cp.active.placement(a.job_id)?.placedAt;
    if (placedAt !== undefined) cp.metrics.dispatchSeconds.observe({ stage: 'received' }, Math.max(0, now - placedAt) / 1000);
  }
  for (const key of handedAt.keys()) {
    if (handedAt.size <= HANDED_KEPT) break;
    handedAt.delete(key);
  }
}

/** A run reported running: how long after it was handed to its agent (the `running` stage). */
function noteRunning(cp: ControlPlane, handedAt: Map<string, number>, siteId: string, jobId: string, attempt: number): void {
  const key = handedKey(siteId, jobId, attempt);
  const at = handedAt.get(key);
  if (at === undefined) return;
  handedAt.delete(key);
  cp.metrics.dispatchSeconds.observe({ stage: 'running' }, Math.max(0, cp.clock.now() - at) / 1000);
}

/** Usage records offered to a site per heartbeat. */
const USAGE_PER_HEARTBEAT = 100;

/**
 * The site's record key: the one it presents is taken when the site has none in force
 * (trust on first use: the site's own agent token presents it); another is refused
 * until the site's org-admin revokes the one in force. Returns the verifier of the key
 * in force (null: none) and what became of the one presented.
 */
async function siteKey(cp: ControlPlane, siteId: string, presented: string | undefined): Promise<{ verifier: NativeVerifier | null; status: 'active' | 'refused' | 'revoked' | 'none'; detail: string }> {
  const keys = await cp.siteKeys.of(siteId);
  const inForce = keys.find((k) => k.revokedAt === null);
  if (presented !== undefined && inForce === undefined) {
    if (keys.some((k) => k.verifierKey === presented)) return { verifier: null, status: 'revoked', detail: 'this key was revoked by the site’s org-admin; start the agent with a new key' };
    let verifier: NativeVerifier;
    try {
      verifier = nativeVerifier(presented);
    } catch (err) {
      throw new ApiError('invalid_request', `site_key: ${err instanceof Error ? err.message : String(err)}`, { field: 'site_key' });
    }
    await cp.siteKeys.add({ siteId, keyHash: keyId(verifier.name, verifier.keyHash), verifierKey: presented, createdAt: cp.clock.now() });
    return { verifier, status: 'active', detail: 'the site’s record key is now this one' };
  }
  if (inForce === undefined) return { verifier: null, status: 'none', detail: 'the site has no record key' };
  let verifier: NativeVerifier;
  try {
    verifier = nativeVerifier(inForce.verifierKey);
  } catch {
    return { verifier: null, status: 'none', detail: `the site's record key ${inForce.keyHash} is not a key; its org-admin revokes it` };
  }
  if (presented === undefined || presented === inForce.verifierKey) return { verifier, status: 'active', detail: '' };
  return { verifier, status: 'refused', detail: `the site’s record key is ${inForce.keyHash}; its org-admin revokes it before another is taken` };
}

const NONE_REFUSED: ReadonlySet<number> = new Set();
/** Refusals remembered per site, at most; the oldest are forgotten first (offered again, and refused again). */
const REFUSALS_KEPT = 10_000;

/** Remembers that `siteId`'s agent refused `ids`. */
function noteRefused(refused: Map<string, Set<number>>, siteId: string, ids: readonly number[]): void {
  let mine = refused.get(siteId);
  if (mine === undefined) refused.set(siteId, (mine = new Set()));
  for (const id of ids) mine.add(id);
  for (const id of mine) {
    if (mine.size <= REFUSALS_KEPT) break;
    mine.delete(id);
  }
}

/** A pending entry offered to its site's agent to sign, and its record's text as offered. */
interface Offered {
  readonly entry: PendingUsage;
  readonly text: string;
}

/** A pending entry with its record's text, as its site's agent is asked to sign it. */
const offerOf = async (cp: ControlPlane, entry: PendingUsage): Promise<Offered> => ({ entry, text: formatUsageRecord(await cp.usage.recordOf(entry, 'site')) });

/** The site's pending usage entries, as records for its agent to sign (the ones it refused left out). */
async function usageToSign(cp: ControlPlane, siteId: string, refused: ReadonlySet<number>): Promise<Offered[]> {
  const found = await cp.pendingUsage.read(siteId, () => cp.store.pendingUsage({ siteId, limit: USAGE_PER_HEARTBEAT + refused.size }));
  const pending = found.filter((p) => !refused.has(p.id)).slice(0, USAGE_PER_HEARTBEAT);
  return Promise.all(pending.map((entry) => offerOf(cp, entry)));
}

/**
 * Logs the pending entries of the site whose signatures verify under its key; the others are left pending (and
 * logged alone in time). `offered`: what the site was last asked to sign, which its signatures are taken from
 * (once: a signature sent again is read from the store, which knows whether it is logged by then).
 */
async function logSigned(cp: ControlPlane, siteId: string, verifier: NativeVerifier, signed: readonly { id: number; signature: string }[], offered: Map<number, Offered> | undefined): Promise<void> {
  const known = new Map<number, Offered>();
  for (const s of signed) {
    const o = offered?.get(s.id);
    if (o === undefined) continue;
    known.set(s.id, o);
    offered?.delete(s.id);
  }
  // The others by id (not a page of the site's pending ones to search).
  const others = signed.filter((s) => !known.has(s.id)).map((s) => s.id);
  for (const entry of others.length === 0 ? [] : await cp.store.pendingUsage({ siteId, ids: others })) {
    known.set(entry.id, await offerOf(cp, entry));
  }
  // Each signature checked off the event loop.
  const checked = await Promise.all(signed.map(async (s): Promise<UsageItem | null> => {
    const o = known.get(s.id);
    const raw = fromBase64(s.signature);
    if (o === undefined || raw === undefined || raw.length < 5) return null;
    const signature: NoteSignature = { name: verifier.name, keyHash: readUint32(raw), base64: s.signature, signature: raw.subarray(4) };
    if (signature.keyHash !== verifier.keyHash || !(await verifier.verifyAsync(utf8(o.text), signature.signature))) return null;
    return { entry: o.entry, site: signature, text: o.text };
  }));
  const items = checked.filter((c) => c !== null);
  if (items.length > 0) await cp.usage.append(items);
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
async function moveIfAllowed(lifecycle: ControlPlane['lifecycle'], job: Job, to: JobState, allowed: readonly JobState[], type: string, detail: Readonly<Record<string, unknown>>, attempt: number): Promise<Job | null> {
  try {
    return await lifecycle.move(job, to, allowed, type, detail, attempt);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'conflict') return null;
    throw err;
  }
}
