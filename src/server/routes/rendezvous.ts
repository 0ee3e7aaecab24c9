import type { FastifyBaseLogger } from 'fastify';
import { z } from 'zod';
import type { Job, Placement, SpanEndpoint } from '../../store/types.ts';
import { bearerOf, RateLimitedError } from '../auth.ts';
import { RateByKey } from '../flood.ts';
import { accessOf, secured, type Api, type ControlPlane } from '../control-plane.ts';
import { ApiError } from '../errors.ts';
import { checkEndpoints, MAX_ENDPOINTS, partSites, type Membership, type PartRef } from '../rendezvous.ts';
import { ErrorResponse, IdParams, spanEndpointJson } from '../schemas.ts';

/** Longest a barrier waits before answering "not ready yet", s. */
const MAX_BARRIER_WAIT_S = 60;
/** What one part may ask of the rendezvous: calls a second (and a burst), and barriers waiting at once. */
const PART_RATE = { perSecond: 20, burst: 40 };
const PART_WAITS = 4;

const Member = z.object({
  index: z.number().describe('the part’s position, 0 … parts-1: its rank among the parts'),
  site: z.string().describe('the site’s neutral label'),
  endpoints: z.array(z.string()).describe('host:port where the part listens, as it published them'),
  replicas: z.number().describe('replicas of the job on the site'),
  share: z.number().describe('its share of the job’s replicas (what its updates weigh)'),
});
export const MembershipResponse = z.object({
  job_id: z.string(), attempt: z.number(),
  generation: z.number().describe('0 until every part published; then one more for each new set of parts (after a takeover of the control plane it starts again: compare for change)'),
  ready: z.boolean().describe('every current part has published'),
  index: z.number().nullable().describe('the calling part’s index (null for a member reading the membership)'),
  declared: z.object({ addresses: z.array(z.string()), ports: z.object({ from: z.number(), to: z.number() }) }).nullable()
    .describe('where the calling part may listen: its site’s declared addresses and ports (null for a member reading the membership)'),
  members: z.array(Member),
  waiting_for: z.array(z.string()).describe('the parts not published yet'),
});
const PublishBody = z.strictObject({
  endpoints: z.array(z.string().max(300)).min(1).max(MAX_ENDPOINTS).describe("host:port where this part listens, within its site's declared addresses and ports (span_endpoint)"),
});
const MetricsBody = z.strictObject({
  step: z.number().int().min(1).max(10_000_000).describe('the outer step, 1, 2, …: each once, in order'),
  compute_s: z.number().min(0).max(1e7).describe('seconds of its inner steps'),
  sync_s: z.number().min(0).max(1e7).describe('seconds of its synchronization with the other parts'),
  wait_s: z.number().min(0).max(1e7).default(0).describe('of sync_s, the seconds spent waiting for slower parts to finish their inner steps (tells a slow site from a slow network)'),
  loss: z.number().nullable().default(null).describe('the loss after it, if the program has one'),
}).refine((b) => b.wait_s <= b.sync_s, { path: ['wait_s'], message: 'wait_s is part of sync_s: it cannot be more' });
const BarrierBody = z.strictObject({ wait_s: z.number().min(0).max(MAX_BARRIER_WAIT_S).default(30).describe('how long to wait for every part, s') });

/**
 * The rendezvous of a job spanning sites (rendezvous.ts): the parts' own routes, authenticated by their rendezvous
 * token (not an API token), and the members' view of a job's membership. Leader-only, like every write.
 */
export function rendezvousRoutes(app: Api): void {
  const cp = app.suanli;
  const tags = ['rendezvous'];
  // A part's calls are bounded by part (its token names it), whatever its connections: a hostile program cannot hold
  // the server's connections or its store with barriers and metrics.
  const rates = new RateByKey();
  const waiting = new Map<string, number>();
  const part = (authorization: string | undefined) => {
    const p = currentPart(cp, cp.rendezvousTokens.open(bearerOf(authorization)));
    const wait = rates.take(partKey(p.ref), PART_RATE.perSecond, PART_RATE.burst);
    if (wait > 0) throw new RateLimitedError(wait, `this part's rendezvous calls come faster than ${PART_RATE.perSecond} a second`);
    return p;
  };

  app.post('/api/v1/rendezvous/publish', {
    schema: { tags, summary: "A part of a spanning job says where it listens (its rendezvous token: SUANLI_RENDEZVOUS_TOKEN)", body: PublishBody, response: { 200: MembershipResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const p = part(req.headers.authorization);
    const site = await cp.sites.site(p.ref.siteId);
    cp.rendezvous.publish(p.ref, checkEndpoints(req.body.endpoints, site?.spanEndpoint ?? null, 'endpoints'));
    // Attempts that ended are forgotten as new ones publish.
    cp.rendezvous.sweep((jobId, attempt) => cp.active.get(jobId)?.attempts === attempt);
    return membershipJson(cp, app.log, p, site?.spanEndpoint ?? null);
  });

  app.post('/api/v1/rendezvous/barrier', {
    schema: { tags, summary: 'Wait until every part of the attempt has published, then get the membership', body: BarrierBody, response: { 200: MembershipResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const deadline = performance.now() + req.body.wait_s * 1000;
    const first = part(req.headers.authorization);
    const key = partKey(first.ref);
    const held = waiting.get(key) ?? 0;
    if (held >= PART_WAITS) throw new RateLimitedError(1000, `this part has ${held} barriers waiting, the most it may have at once`);
    waiting.set(key, held + 1);
    try {
      for (let p = first; ; p = currentPart(cp, first.ref)) {
        const m = membershipJson(cp, app.log, p, (await cp.sites.site(p.ref.siteId))?.spanEndpoint ?? null);
        const left = deadline - performance.now();
        if (m.ready || left <= 0) return m;
        // Woken by a publish or a part leaving; a look every second besides.
        await cp.rendezvous.wait(p.ref.jobId, p.ref.attempt, Math.min(left, 1000));
      }
    } finally {
      const n = (waiting.get(key) ?? 1) - 1;
      if (n <= 0) waiting.delete(key);
      else waiting.set(key, n);
    }
  });

  app.post('/api/v1/rendezvous/metrics', {
    schema: { tags, summary: 'A part reports an outer step: its compute and synchronization seconds (what the measured utilization comes from)', body: MetricsBody, response: { 200: z.object({ steps: z.number() }), '4xx': ErrorResponse } },
  }, async (req) => {
    const p = part(req.headers.authorization);
    const b = req.body;
    if (!(await cp.store.addSpanStep(p.ref.jobId, p.ref.attempt, p.ref.siteId, { step: b.step, computeS: b.compute_s, syncS: b.sync_s, waitS: b.wait_s, loss: b.loss, at: cp.clock.now() }))) {
      throw new ApiError('conflict', `step: ${b.step} is not this part's next outer step (each is reported once, in order from 1)`, { field: 'step' });
    }
    return { steps: b.step };
  });

  app.get('/api/v1/rendezvous', {
    schema: { tags, summary: 'The membership as it stands, without waiting', response: { 200: MembershipResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const p = part(req.headers.authorization);
    return membershipJson(cp, app.log, p, (await cp.sites.site(p.ref.siteId))?.spanEndpoint ?? null);
  });

  app.get('/api/v1/jobs/:id/members', {
    config: { operation: 'jobs.show' },
    schema: { tags: ['jobs'], ...secured, summary: "A spanning job's rendezvous: its parts, where they listen, and the generation", params: IdParams, response: { 200: MembershipResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const access = accessOf(req);
    const job = access.require('job', req.params.id, await cp.store.getJob(req.params.id), (j) => ({ orgId: j.orgId }));
    const current = cp.active.placement(job.id);
    // A job not placed now has no parts: an empty membership.
    const placement = current !== undefined && current.attempt === job.attempts ? current : { jobId: job.id, attempt: job.attempts, parts: [], placedAt: 0, startedAt: null, endedAt: null };
    return membershipJson(cp, app.log, { ref: { jobId: job.id, attempt: placement.attempt, siteId: '' }, job, placement }, null);
  });
}

const partKey = (ref: PartRef) => `${ref.jobId}.${ref.attempt}.${ref.siteId}`;

interface CurrentPart {
  readonly ref: PartRef;
  readonly job: Job;
  readonly placement: Placement;
}

/** The part the token names, if it is still part of its job's current attempt; 410 otherwise. */
function currentPart(cp: ControlPlane, ref: PartRef): CurrentPart {
  const job = cp.active.get(ref.jobId);
  const placement = job === undefined ? undefined : cp.active.placement(job.id);
  if (job === undefined || placement === undefined || job.attempts !== ref.attempt || placement.attempt !== ref.attempt || !placement.parts.some((p) => p.siteId === ref.siteId)) {
    throw new ApiError('gone', `attempt ${ref.attempt} of job ${ref.jobId} is over, or this part left it: its rendezvous token is worthless`);
  }
  return { ref, job, placement };
}

function membershipJson(cp: ControlPlane, log: FastifyBaseLogger, p: CurrentPart, declared: SpanEndpoint | null): z.infer<typeof MembershipResponse> {
  const labelOf = (id: string) => cp.sites.known(id)?.label ?? 'unknown site';
  // A new set of parts, all published, is a new generation: the job's history records it (its sites by id; a member of another org reads their labels).
  const recordGeneration = (generation: number, sites: readonly string[]) => {
    cp.store.addEvent(p.job.id, p.placement.attempt, { at: cp.clock.now(), type: 'membership', detail: { generation, sites: [...sites] } }).catch((err: unknown) => log.error({ err }, 'recording a membership generation failed'));
  };
  const m: Membership = cp.rendezvous.membership(p.placement, p.job.demand.span?.replicaGpus ?? 1, labelOf, recordGeneration);
  const index = partSites(p.placement).indexOf(p.ref.siteId);
  return {
    job_id: p.job.id, attempt: p.ref.attempt, generation: m.generation, ready: m.ready, index: index < 0 ? null : index, declared: spanEndpointJson(declared),
    members: m.members.map((x) => ({ ...x, endpoints: [...x.endpoints] })), waiting_for: [...m.waitingFor],
  };
}
