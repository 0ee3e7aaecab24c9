import { isIP } from 'node:net';
import { z } from 'zod';
import { DEFAULT_SHARE_POLICY } from '../model/pool.ts';
import { jobDefaults } from '../model/job.ts';
import { DEFAULT_MIN_SPAN_EFFICIENCY, type SpanSpec } from '../model/span.ts';
import { codePointName, firstHidden } from '../model/text.ts';
import { describeDiagnosis, type Diagnosis } from '../sched/diagnosis.ts';
import { JOB_ORDERS, JOB_STATES, ROLES, type Capacity, type SiteKey, type Job, type JobEvent, type LedgerPoint, type LogTail, type LedgerRow, type Org, type Placement, type PlacementPart, type Share, type Site, type SpanEndpoint, type SpanMetrics, type Token } from '../store/types.ts';
import { API_ERROR_CODES } from './errors.ts';
import { partSites } from './rendezvous.ts';

/**
 * The wire format of /api/v1: zod schemas for every body, query and response
 * (they validate requests and generate the OpenAPI document), and the functions
 * that turn store rows into responses. JSON field names are snake_case with units
 * in the names, like the CLI's --json; times are ISO 8601 strings.
 */

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

// --- shared pieces ------------------------------------------------------------------------

/** A string the database can hold: PostgreSQL's text and jsonb refuse the NUL character. */
const text = (min: number, max: number) => z.string().min(min).max(max).refine((s) => !s.includes('\0'), 'must not contain the NUL character');

/** What PostgreSQL's text and jsonb cannot hold: NUL, and UTF-16 surrogates without their pair. */
const UNSTORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text a program produced (a run's log, its executor's detail), which may hold any
 * character: kept, with what the store cannot hold shown as U+FFFD rather than
 * refused, so that one odd byte never stops a run's reports. Only the last `keep`
 * characters are kept (and looked at).
 */
export const storableText = (max: number, keep = max) => z.string().max(max).transform((s) => s.slice(-keep).replace(UNSTORABLE, '\uFFFD'));

/**
 * A name people read in tables and titles (an org's, a site's, a job's, a token's):
 * one line without the hidden characters (model/text.ts) that would write into a
 * reader's terminal or disguise the name — controls (NUL, newline and tab among
 * them), bidi overrides, invisible format characters.
 */
const nameText = (min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    .superRefine((s, ctx) => {
      const hidden = firstHidden(s);
      if (hidden !== undefined) ctx.addIssue({ code: 'custom', message: `must not contain control or bidi characters (${codePointName(hidden.codePoint)} at character ${hidden.position})` });
    })
    .describe('one line, without control characters (newlines and tabs among them), bidi overrides or invisible format characters');

/** An id in a path or a reference: unknown ids are a 404, not a validation error, so the pattern is loose. */
export const Id = text(1, 128);
const Slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes, starting with a letter or digit, at most 63');
const Name = nameText(1, 200);
const GpuType = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a GPU type id such as h100');
const Timestamp = z.string().describe('ISO 8601');
const JsonObject = z.record(z.string(), z.unknown());

export const IdParams = z.strictObject({ id: Id });

export const ErrorResponse = z.object({
  error: z.object({ code: z.enum(API_ERROR_CODES), message: z.string(), field: z.string().optional() }),
});

// --- orgs ---------------------------------------------------------------------------------

export const OrgCreateBody = z.strictObject({
  id: Slug.optional().describe('defaults to the name, lower-cased, with dashes'),
  name: Name,
});

export const OrgResponse = z.object({ id: z.string(), name: z.string(), created_at: Timestamp });
export const OrgListResponse = z.object({ orgs: z.array(OrgResponse) });
export const orgJson = (o: Org): z.infer<typeof OrgResponse> => ({ id: o.id, name: o.name, created_at: iso(o.createdAt) });

// --- tokens -------------------------------------------------------------------------------

export const TokenCreateBody = z.strictObject({
  name: Name,
  role: z.enum(ROLES),
  org_id: Id.optional().describe("an admin names the org; an org-admin's tokens are for its own org"),
  site_id: Id.optional().describe('agent tokens only: the one site the agent reports for'),
});

export const TokenResponse = z.object({
  id: z.string(), name: z.string(), role: z.enum(ROLES), org_id: z.string().nullable(), site_id: z.string().nullable(),
  created_at: Timestamp, revoked_at: Timestamp.nullable(),
});
export const TokenListResponse = z.object({ tokens: z.array(TokenResponse) });
export const TokenCreatedResponse = TokenResponse.extend({ token: z.string().describe('the bearer token; shown only in this response') });
export const tokenJson = (t: Token): z.infer<typeof TokenResponse> => ({
  id: t.id, name: t.name, role: t.role, org_id: t.orgId, site_id: t.siteId, created_at: iso(t.createdAt), revoked_at: isoOrNull(t.revokedAt),
});

export const WhoAmIResponse = TokenResponse.omit({ created_at: true, revoked_at: true }).describe('the token the request came with: its role, org and (for an agent) site');

export const OrgQuery = z.strictObject({ org: Id.optional() });

// --- quotas -------------------------------------------------------------------------------

const QuotaFigures = { sites: z.number(), nodes: z.number(), gpus: z.number(), queued_jobs: z.number() };
export const QuotaResponse = z.object({
  org_id: z.string(),
  limits: z.object(QuotaFigures).describe("what the org may declare (sites, nodes, GPUs) and keep waiting (jobs)"),
  used: z.object(QuotaFigures).describe('what it declares and has waiting now'),
  set: z.array(z.enum(['sites', 'nodes', 'gpus', 'queued_jobs'])).describe("the limits the pool's admin set for this org; the others are the server's defaults"),
});
const QuotaLimit = z.number().int().min(0).max(100_000_000).nullable();
export const QuotaPatchBody = z
  .strictObject({ sites: QuotaLimit.optional(), nodes: QuotaLimit.optional(), gpus: QuotaLimit.optional(), queued_jobs: QuotaLimit.optional() })
  .refine((p) => Object.keys(p).length > 0, 'give at least one quota to set (null: back to the default)');

// --- sites --------------------------------------------------------------------------------

const CapacityEntry = z.strictObject({
  gpu_type: GpuType,
  // Bounded so that one site's node index (which the scheduler rebuilds every pass) stays small.
  nodes: z.number().int().min(0).max(65_536),
  gpus_per_node: z.number().int().min(1).max(64),
});
const CapacityList = z
  .array(CapacityEntry)
  .max(16)
  .refine((c) => new Set(c.map((e) => e.gpu_type.toLowerCase())).size === c.length, 'one entry per GPU type');
/** The lending rules an owner may add to a share policy (all optional on the wire, with the defaults below). */
const LendTo = z
  .union([z.enum(['all', 'none']), z.array(Id).max(1000).refine((l) => new Set(l).size === l.length, 'each org once')])
  .describe('which orgs may borrow: "all", "none", or a list of org ids');
const GpuLimit = z.number().int().min(0).max(10_000_000);
const ShareFields = {
  lend_fraction: z.number().min(0).max(1),
  reclaim: z.boolean(),
  reclaim_notice_s: z.number().min(0).max(30 * 86_400),
  lend_to: LendTo,
  max_gpus_per_borrower: GpuLimit.nullable().describe('most GPUs any one borrowing org may hold here at once (null: no limit beyond lend_fraction)'),
  borrower_gpu_limits: z.record(Id, GpuLimit).refine((r) => Object.keys(r).length <= 1000, 'at most 1000 orgs').describe('per borrowing org, its own limit (overrides max_gpus_per_borrower)'),
  sandbox_borrowed: z.boolean().describe("borrowed runs must be sandboxed by the site's agent; a site whose agent cannot sandbox lends nothing"),
  borrowed_network: z.enum(['none', 'host']).describe('network of a sandboxed borrowed run: none (a private loopback) or the host’s'),
};
/** The defaults of the lending rules, as the API shows a site that never set them. */
export const SHARE_RULE_DEFAULTS = { lend_to: 'all', max_gpus_per_borrower: null, borrower_gpu_limits: {}, sandbox_borrowed: true, borrowed_network: 'none' } as const;
/** A new site's share policy: a field left out takes its default. */
const ShareBody = z.strictObject({
  lend_fraction: ShareFields.lend_fraction.default(DEFAULT_SHARE_POLICY.lendFraction),
  reclaim: ShareFields.reclaim.default(DEFAULT_SHARE_POLICY.reclaim),
  reclaim_notice_s: ShareFields.reclaim_notice_s.default(DEFAULT_SHARE_POLICY.reclaimNoticeS),
  lend_to: ShareFields.lend_to.default(SHARE_RULE_DEFAULTS.lend_to),
  max_gpus_per_borrower: ShareFields.max_gpus_per_borrower.default(null),
  borrower_gpu_limits: ShareFields.borrower_gpu_limits.default({}),
  sandbox_borrowed: ShareFields.sandbox_borrowed.default(SHARE_RULE_DEFAULTS.sandbox_borrowed),
  borrowed_network: ShareFields.borrowed_network.default(SHARE_RULE_DEFAULTS.borrowed_network),
});
/** A change to a site's share policy: a field left out keeps its stored value (no defaults here). */
const SharePatch = z.strictObject(ShareFields).partial();
const WanLinkBody = z.strictObject({ to_site: Id, gbps: z.number().positive().max(1e6), latency_ms: z.number().min(0).max(1e6) });
const WanLinks = z
  .array(WanLinkBody)
  .max(256)
  .superRefine((links, ctx) => {
    const seen = new Set<string>();
    links.forEach((l, i) => {
      if (seen.has(l.to_site)) ctx.addIssue({ code: 'custom', path: [i, 'to_site'], message: `a second link to "${l.to_site}"; declare each site once` });
      seen.add(l.to_site);
    });
  })
  .describe('links this site declares to other sites; a link counts only when both sites declare it, at the lower bandwidth and the higher latency');
const Price = z.number().min(0).max(1e6).nullable();
/** A DNS name (RFC 1123 labels). */
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const Port = z.number().int().min(1024).max(65_535).describe('an unprivileged TCP port');
/** Ports one site may open to the others at most: a range, not the whole port space. */
export const MAX_SPAN_PORTS = 1024;
export const SpanEndpointBody = z
  .strictObject({
    addresses: z.array(z.string().refine((h) => isIP(h) !== 0 || HOST_NAME.test(h), 'an IP address or a DNS name')).min(1).max(8).describe('where the other sites reach its runs: IP addresses or DNS names they resolve'),
    ports: z.strictObject({ from: Port, to: Port }).refine((p) => p.from <= p.to && p.to - p.from < MAX_SPAN_PORTS, { message: `from ≤ to, at most ${MAX_SPAN_PORTS} ports`, path: ['to'] }).describe('the ports its runs may listen on for them'),
  })
  .nullable()
  .describe("where this site's runs accept connections from the other sites of a job that spans sites; a site without one takes no part of such a job");
export const spanEndpointOf = (e: z.infer<typeof SpanEndpointBody>): SpanEndpoint | null => (e === null ? null : { addresses: e.addresses, ports: e.ports });
export const spanEndpointJson = (e: SpanEndpoint | null) => (e === null ? null : { addresses: [...e.addresses], ports: { ...e.ports } });

export const SiteCreateBody = z.strictObject({
  name: Name,
  org_id: Id.optional().describe("an admin names the owning org; an org-admin's sites are its own org's"),
  capacity: CapacityList.min(1),
  price_per_gpu_hour: Price.default(null),
  share: ShareBody.prefault({}),
  wan_links: WanLinks.default([]),
  span_endpoint: SpanEndpointBody.default(null),
});

export const SitePatchBody = z
  .strictObject({ name: Name.optional(), capacity: CapacityList.optional(), price_per_gpu_hour: Price.optional(), share: SharePatch.optional().describe('only the fields given change'), wan_links: WanLinks.optional(), span_endpoint: SpanEndpointBody.optional() })
  .refine((p) => Object.keys(p).length > 0, 'give at least one field to change');

export const HeartbeatBody = z.strictObject({
  capacity: CapacityList.optional().describe('the capacity the agent discovered; it counts only up to what the site declares (per GPU type, nodes and GPUs per node)'),
  sandbox_capable: z.boolean().optional().describe("whether the agent's executor can sandbox runs (a site whose policy requires it for borrowed runs lends nothing while its agent cannot)"),
});

export const SiteResponse = z.object({
  id: z.string(), org_id: z.string(), name: z.string(),
  capacity: z.array(z.object({ gpu_type: z.string(), nodes: z.number(), gpus_per_node: z.number() })),
  price_per_gpu_hour: z.number().nullable(),
  share: z.object({
    lend_fraction: z.number(), reclaim: z.boolean(), reclaim_notice_s: z.number(),
    lend_to: z.union([z.enum(['all', 'none']), z.array(z.string())]), max_gpus_per_borrower: z.number().nullable(), borrower_gpu_limits: z.record(z.string(), z.number()),
    sandbox_borrowed: z.boolean(), borrowed_network: z.enum(['none', 'host']),
  }),
  wan_links: z.array(z.object({ to_site: z.string(), gbps: z.number(), latency_ms: z.number() })),
  span_endpoint: z.object({ addresses: z.array(z.string()), ports: z.object({ from: z.number(), to: z.number() }) }).nullable().describe("where its runs accept connections from the other sites of a spanning job (null: it takes no part of one)"),
  health: z.enum(['unknown', 'up', 'lost']), last_heartbeat_at: Timestamp.nullable(), created_at: Timestamp,
  reported_capacity: z.array(z.object({ gpu_type: z.string(), nodes: z.number(), gpus_per_node: z.number() })).nullable().describe("what the site's agent last reported, bounded by the declared capacity (null: no report yet); the scheduler uses it"),
  sandbox_capable: z.boolean().nullable().describe("whether the site's agent can sandbox runs, as it last said"),
});
export const SiteListResponse = z.object({ sites: z.array(SiteResponse) });
export const siteJson = (s: Site): z.infer<typeof SiteResponse> => ({
  id: s.id, org_id: s.orgId, name: s.name,
  capacity: capacityJson(s.capacity),
  price_per_gpu_hour: s.pricePerGpuHour,
  share: shareJson(s.share),
  wan_links: s.wanLinks.map((l) => ({ to_site: l.toSite, gbps: l.gbps, latency_ms: l.latencyMs })),
  span_endpoint: spanEndpointJson(s.spanEndpoint),
  health: s.health, last_heartbeat_at: isoOrNull(s.lastHeartbeatAt), created_at: iso(s.createdAt),
  reported_capacity: s.reportedCapacity === null ? null : capacityJson(s.reportedCapacity),
  sandbox_capable: s.sandboxCapable,
});
const capacityJson = (c: readonly Capacity[]) => c.map((e) => ({ gpu_type: e.gpuType, nodes: e.nodes, gpus_per_node: e.gpusPerNode }));
/** A stored share policy on the wire, with the lending rules' defaults where the site never set them. */
export const shareJson = (s: Share): z.infer<typeof SiteResponse>['share'] => ({
  lend_fraction: s.lendFraction, reclaim: s.reclaim, reclaim_notice_s: s.reclaimNoticeS,
  lend_to: s.lendTo === undefined ? SHARE_RULE_DEFAULTS.lend_to : typeof s.lendTo === 'string' ? s.lendTo : [...s.lendTo],
  max_gpus_per_borrower: s.maxGpusPerBorrower ?? null,
  borrower_gpu_limits: { ...s.borrowerGpuLimits },
  sandbox_borrowed: s.sandboxBorrowed ?? SHARE_RULE_DEFAULTS.sandbox_borrowed,
  borrowed_network: s.borrowedNetwork ?? SHARE_RULE_DEFAULTS.borrowed_network,
});

export const SiteKeyParams = z.strictObject({ id: Id, key: text(1, 200).describe('the key as `<name>+<hash>`') });
export const SiteKeysResponse = z.object({
  keys: z.array(z.object({ key: z.string().describe('`<name>+<hash>`'), verifier_key: z.string(), created_at: Timestamp, revoked_at: Timestamp.nullable() })),
});
export const siteKeyJson = (k: SiteKey): z.infer<typeof SiteKeysResponse>['keys'][number] => ({ key: k.keyHash, verifier_key: k.verifierKey, created_at: iso(k.createdAt), revoked_at: isoOrNull(k.revokedAt) });

/** The jobs on one site now (GET /sites/:id/jobs): a row per part of a placed or running job there. */
export const SiteJobsResponse = z.object({
  jobs: z
    .array(z.object({
      job_id: z.string().nullable().describe("null for another org's job (a borrower's) to every caller but the admin: an org sees only its own jobs"),
      name: z.string().nullable().describe('null as job_id is'),
      org_id: z.string().describe("whose job it is: the site's own org, or the borrower"),
      state: z.enum(['placed', 'running']),
      gpu_type: z.string(), gpus: z.number(), nodes: z.number(),
      placed_at: Timestamp,
      started_at: Timestamp.nullable().describe('when its part on this site started (null: not yet)'),
    }))
    .describe('placed or running now, oldest placement first'),
});
/** One part on the site; `visible`: the caller may see the job itself (the admin, or the job's own org). */
export const siteJobJson = (j: Job, p: Placement, part: PlacementPart, visible: boolean): z.infer<typeof SiteJobsResponse>['jobs'][number] => ({
  job_id: visible ? j.id : null, name: visible ? j.name : null, org_id: j.orgId, state: j.state === 'running' ? 'running' : 'placed',
  gpu_type: part.gpuType, gpus: part.gpus, nodes: part.nodes, placed_at: iso(p.placedAt), started_at: isoOrNull(part.startedAt ?? p.startedAt),
});

export const capacityOf = (c: readonly z.infer<typeof CapacityEntry>[]) => c.map((e) => ({ gpuType: e.gpu_type, nodes: e.nodes, gpusPerNode: e.gpus_per_node }));
export const shareOf = (s: z.infer<typeof ShareBody>): Share => sharePatchOf(s) as Share;
/** The share fields a body names, and only those, in the store's terms. */
export const sharePatchOf = (patch: z.infer<typeof SharePatch>): Partial<Share> => ({
  ...(patch.lend_fraction === undefined ? {} : { lendFraction: patch.lend_fraction }),
  ...(patch.reclaim === undefined ? {} : { reclaim: patch.reclaim }),
  ...(patch.reclaim_notice_s === undefined ? {} : { reclaimNoticeS: patch.reclaim_notice_s }),
  ...(patch.lend_to === undefined ? {} : { lendTo: patch.lend_to }),
  ...(patch.max_gpus_per_borrower === undefined ? {} : { maxGpusPerBorrower: patch.max_gpus_per_borrower }),
  ...(patch.borrower_gpu_limits === undefined ? {} : { borrowerGpuLimits: patch.borrower_gpu_limits }),
  ...(patch.sandbox_borrowed === undefined ? {} : { sandboxBorrowed: patch.sandbox_borrowed }),
  ...(patch.borrowed_network === undefined ? {} : { borrowedNetwork: patch.borrowed_network }),
});
/** The orgs a share policy names (lend_to and borrower_gpu_limits), each with the JSON path that names it. */
export function orgsNamedBy(share: z.infer<typeof SharePatch> | undefined): { org: string; field: string }[] {
  const listed = Array.isArray(share?.lend_to) ? share.lend_to.map((org, i) => ({ org, field: `share.lend_to[${i}]` })) : [];
  return [...listed, ...Object.keys(share?.borrower_gpu_limits ?? {}).map((org) => ({ org, field: `share.borrower_gpu_limits.${org}` }))];
}
export const wanLinksOf = (l: readonly z.infer<typeof WanLinkBody>[]) => l.map((w) => ({ toSite: w.to_site, gbps: w.gbps, latencyMs: w.latency_ms }));

// --- the planner --------------------------------------------------------------------------

/** An efficiency: below a thousandth of the peak, a plan's run time is beyond any bound. */
const Fraction = z.number().min(0.001).max(1);

const PlanCommon = {
  model: text(1, 64).optional().describe('video model preset (default wan2.1-t2v-14b)'),
  gpu: text(1, 64).default('h100'),
  fps: z.number().positive().max(240).optional(),
  price_per_gpu_hour: z.number().positive().max(1e6).optional(),
};

export const VideoPlanBody = z.strictObject({
  kind: z.literal('video'),
  ...PlanCommon,
  width: z.number().int().min(16).max(16_384).optional().describe("default: the model's native size"),
  height: z.number().int().min(16).max(16_384).optional(),
  frames: z.number().int().min(1).max(1_000_000).optional(),
  seconds: z.number().positive().max(86_400).optional().describe('give frames or seconds, not both'),
  steps: z.number().int().min(1).max(10_000).optional(),
  gpus: z.number().int().min(1).max(1_000_000).default(1),
  efficiency: Fraction.optional().describe('the fraction of peak FLOPS the GPU reaches'),
  window_s: z.number().positive().max(86_400).optional().describe('attention window instead of full 3D attention'),
});

export const TrainPlanBody = z.strictObject({
  kind: z.literal('train'),
  ...PlanCommon,
  mix: z
    .array(z.strictObject({
      width: z.number().int().min(16).max(16_384), height: z.number().int().min(16).max(16_384),
      frames: z.number().int().min(1).max(1_000_000).optional(), seconds: z.number().positive().max(86_400).optional(),
      clips: z.number().positive().max(1e13),
    }))
    .min(1)
    .max(64),
  epochs: z.number().positive().max(10_000).default(1),
  gpus: z.number().int().min(1).max(1_000_000).default(1024),
  mfu: Fraction.optional().describe('model FLOPS utilization'),
});

export const PlanBody = z.discriminatedUnion('kind', [VideoPlanBody, TrainPlanBody]);
export type PlanRequest = z.infer<typeof PlanBody>;
/** What POST /plan answers, typed for clients (the dashboard): the planner's output as `suanli plan video|train --json` prints it. */
export type { TrainPlan as TrainPlanJson } from '../plan/train-cost.ts';
export type { VideoPlan as VideoPlanJson } from '../plan/video-cost.ts';
export const PlanResponse = JsonObject.describe('the planner output, as `suanli plan video|train --json` prints it (schema suanli.plan.video/1 or suanli.plan.train/1)');

// --- jobs ---------------------------------------------------------------------------------

const d = jobDefaults();
/** The most GPUs and the longest estimate a job may ask for, given or sized by the planner (planning.ts). */
export const JOB_BOUNDS = { gpus: 1_000_000, estimateS: 1e9 } as const;
export const SpanBody = z
  .strictObject({
    replica_gpus: z.number().int().min(1).max(1_000_000).describe('GPUs of one replica: each site takes whole replicas, and `gpus` is a whole number of them'),
    params: z.number().positive().max(1e15).describe('model parameters: a synchronization moves params × bytes_per_param'),
    bytes_per_param: z.number().positive().max(8).default(1).describe('bytes per parameter of the synchronized pseudo-gradient (4 fp32, 2 bf16, 1 int8, 0.5 4-bit)'),
    outer_step_s: z.number().positive().max(1e7).describe('compute seconds of one outer step (H inner steps): `compute_seconds_per_outer_step` of `suanli plan span --json`'),
    hidden_s: z.number().min(0).max(1e7).default(0).describe('seconds of synchronization that overlap hides (0 without overlap)'),
    min_efficiency: z.number().gt(0).max(1).default(DEFAULT_MIN_SPAN_EFFICIENCY).describe('least compute utilization a placement across sites must reach'),
    max_single_site_wait_s: z.number().min(0).max(1e9).default(3600).describe('span only when no single site is expected to start the job within this long'),
  })
  .describe('the job may span sites (DiLoCo-style data parallelism across sites)');

export const spanOf = (b: z.infer<typeof SpanBody>): SpanSpec => ({
  replicaGpus: b.replica_gpus, syncBytes: b.params * b.bytes_per_param, outerStepS: b.outer_step_s, hiddenS: b.hidden_s,
  minEfficiency: b.min_efficiency, maxSingleSiteWaitS: b.max_single_site_wait_s,
});

const SpanResponse = z.object({
  replica_gpus: z.number(), sync_bytes: z.number(), outer_step_s: z.number(), hidden_s: z.number(), min_efficiency: z.number(), max_single_site_wait_s: z.number(),
});
const spanJson = (s: SpanSpec): z.infer<typeof SpanResponse> => ({
  replica_gpus: s.replicaGpus, sync_bytes: s.syncBytes, outer_step_s: s.outerStepS, hidden_s: s.hiddenS, min_efficiency: s.minEfficiency, max_single_site_wait_s: s.maxSingleSiteWaitS,
});

/** The GPU types a job may run on, stored lower-cased: the scheduler compares them so (sched/placement.ts), so each may be given once. */
const JobGpuTypes = z
  .array(GpuType)
  .min(1)
  .max(32)
  .superRefine((types, ctx) => {
    const lower = types.map((t) => t.toLowerCase());
    const twice = lower.findIndex((t, i) => lower.indexOf(t) !== i);
    if (twice >= 0) ctx.addIssue({ code: 'custom', path: [twice], message: `${lower[twice] ?? ''} is given twice (GPU types compare case-insensitively)` });
  })
  .transform((types) => types.map((t) => t.toLowerCase()));

export const JobSubmitBody = z
  .strictObject({
    name: nameText(0, 200).default(''),
    org_id: Id.optional().describe("an admin names the org; others submit for their own org"),
    gpus: z.number().int().min(1).max(JOB_BOUNDS.gpus).optional().describe('GPUs needed at once; taken from the plan when omitted'),
    gpu_types: JobGpuTypes.nullable().optional().describe('GPU types the job may run on, each once, in any case (stored lower-cased); null or omitted: any (or the plan’s GPU)'),
    gang: z.boolean().default(d.gang),
    estimate_s: z.number().positive().max(JOB_BOUNDS.estimateS).optional().describe('expected run time; taken from the plan when omitted'),
    priority: z.number().int().min(-1000).max(1000).default(d.priority),
    preemptible: z.boolean().default(d.preemptible),
    checkpoint_interval_s: z.number().positive().max(1e9).nullable().default(d.checkpointIntervalS),
    command: z.array(text(0, 4096)).min(1).max(256).nullable().default(null),
    max_retries: z.number().int().min(0).max(100).default(0).describe('how many times a failed run is started again (non-zero exit, killed outside Suanli, ended by its engine)'),
    plan: PlanBody.optional().describe(`a planner request the demand is sized from, within the same bounds: at most ${JOB_BOUNDS.gpus.toLocaleString('en-US')} GPUs and an estimate of at most ${JOB_BOUNDS.estimateS} s`),
    span: SpanBody.optional(),
  })
  .superRefine((b, ctx) => {
    if (b.span !== undefined && b.gpus !== undefined && b.gpus % b.span.replica_gpus !== 0) {
      ctx.addIssue({ code: 'custom', path: ['span', 'replica_gpus'], message: `gpus (${b.gpus}) must be a whole number of replicas of ${b.span.replica_gpus}` });
    }
    if (b.plan !== undefined) return;
    if (b.gpus === undefined) ctx.addIssue({ code: 'custom', path: ['gpus'], message: 'required unless a plan is given' });
    if (b.estimate_s === undefined) ctx.addIssue({ code: 'custom', path: ['estimate_s'], message: 'required unless a plan is given' });
  });
export type JobSubmit = z.infer<typeof JobSubmitBody>;

export const IdempotencyHeaders = z.object({
  'idempotency-key': z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces').optional(),
});

/** The longest text a job list is searched for: longer than any id, long enough for a name's telling part. */
export const JOB_SEARCH_MAX = 200;

export const JobListQuery = z.strictObject({
  state: z
    .string()
    .max(200)
    .transform((s, ctx) => {
      const states = s.split(',').map((x) => x.trim()).filter((x) => x !== '');
      const bad = states.find((x) => !(JOB_STATES as readonly string[]).includes(x));
      if (bad !== undefined) ctx.addIssue({ code: 'custom', message: `unknown state "${bad}"; one or more of ${JOB_STATES.join(', ')}, comma-separated` });
      return states as Job['state'][];
    })
    .optional()
    .describe(`comma-separated states: ${JOB_STATES.join(', ')}`),
  org: Id.optional(),
  q: text(0, JOB_SEARCH_MAX).optional().describe(`jobs whose id or name holds this text, in any case (taken literally: % and _ are no wildcards); at most ${JOB_SEARCH_MAX} characters`),
  order: z.enum(JOB_ORDERS).default('oldest').describe('`oldest` first (the default) or `newest` first; `after` pages on in the same order'),
  after: z.string().regex(/^(0|[1-9][0-9]{0,18})$/, 'a job id, as listed').optional().describe('cursor: the `next` of the previous page (of the same order)'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export const DiagnosisResponse = z
  .object({
    message: z.string().describe('"0/12 sites fit: 7 too few free GPUs, 5 at the owner\'s lending limit"'),
    sites: z.number().describe('sites considered'),
    reasons: z.record(z.string(), z.number()).describe('sites ruled out, per reason'),
    never: z.boolean().describe('no site can ever hold the job'),
    blocked_by: z.string().optional().describe('the job a strict queue order waits behind'),
    span: z.string().optional().describe('for a job that may span sites: why no set of sites takes it now'),
  })
  .describe('why a job waits, as the scheduler core explained it');
export type DiagnosisJson = z.infer<typeof DiagnosisResponse>;

/** A diagnosis as stored on the job and shown by the API: the core's counts plus the sentence the CLI prints. */
export function diagnosisJson(d: Diagnosis): DiagnosisJson {
  return {
    message: describeDiagnosis(d), sites: d.sites, reasons: { ...d.reasons }, never: d.never,
    ...(d.blockedBy === undefined ? {} : { blocked_by: d.blockedBy }), ...(d.span === undefined ? {} : { span: d.span }),
  };
}

export const JobResponse = z.object({
  id: z.string(), org_id: z.string(), name: z.string(), state: z.enum(JOB_STATES),
  gpus: z.number(), gpu_types: z.array(z.string()).nullable(), gang: z.boolean(), estimate_s: z.number(), priority: z.number(),
  preemptible: z.boolean(), checkpoint_interval_s: z.number().nullable(), command: z.array(z.string()).nullable(), max_retries: z.number(), plan: JsonObject.nullable(),
  span: SpanResponse.nullable().describe('how the job spans sites, when it may'),
  submitted_by: z.string(), submitted_at: Timestamp, updated_at: Timestamp, attempts: z.number(),
  diagnosis: DiagnosisResponse.nullable().describe('why the job waits, as of the last scheduling pass (null once placed)'),
});
export const jobJson = (j: Job): z.infer<typeof JobResponse> => ({
  id: j.id, org_id: j.orgId, name: j.name, state: j.state,
  gpus: j.demand.gpus, gpu_types: j.demand.gpuTypes === null ? null : [...j.demand.gpuTypes], gang: j.demand.gang, estimate_s: j.demand.estimateS,
  priority: j.demand.priority, preemptible: j.demand.preemptible, checkpoint_interval_s: j.demand.checkpointIntervalS,
  command: j.demand.command === null ? null : [...j.demand.command], max_retries: j.demand.maxRetries ?? 0, plan: j.demand.plan === null ? null : { ...j.demand.plan },
  span: j.demand.span ? spanJson(j.demand.span) : null,
  submitted_by: j.submittedBy, submitted_at: iso(j.submittedAt), updated_at: iso(j.updatedAt), attempts: j.attempts,
  // Only the scheduling loop writes diagnoses, always in this shape (pool-snapshot.ts diagnosisJson).
  diagnosis: j.diagnosis === null ? null : (j.diagnosis as DiagnosisJson),
});


const PlacementPartResponse = z.object({
  site_id: z.string().describe("the site; another org's site by its neutral label (`<org>:site-<n>`), never its id"),
  lender_org_id: z.string().describe('the org whose site it is (the job’s own org, or the org lending it)'),
  gpu_type: z.string(), gpus: z.number(), nodes: z.number(),
  started_at: Timestamp.optional().describe('for a job across sites, once this site’s agent reported its part started'),
  succeeded_at: Timestamp.optional().describe('for a job across sites, once this site’s agent reported its part succeeded (the job succeeds when every part has)'),
});
/** A placement part; `owners` gives each site's org. */
export const partJson = (p: PlacementPart, owners: ReadonlyMap<string, string>): z.infer<typeof PlacementPartResponse> => ({
  site_id: p.siteId, lender_org_id: owners.get(p.siteId) ?? '', gpu_type: p.gpuType, gpus: p.gpus, nodes: p.nodes, ...(p.startedAt === undefined ? {} : { started_at: iso(p.startedAt) }),
  ...(p.succeededAt === undefined ? {} : { succeeded_at: iso(p.succeededAt) }),
});

/** An attempt: where it was placed, when it started (null: not yet) and when it ended (null: not yet). */
const PlacementResponse = z.object({ attempt: z.number(), parts: z.array(PlacementPartResponse), placed_at: Timestamp, started_at: Timestamp.nullable(), ended_at: Timestamp.nullable() });
const placementJson = (p: Placement, owners: ReadonlyMap<string, string>): z.infer<typeof PlacementResponse> => ({
  attempt: p.attempt, parts: p.parts.map((part) => partJson(part, owners)), placed_at: iso(p.placedAt), started_at: isoOrNull(p.startedAt), ended_at: isoOrNull(p.endedAt),
});

/**
 * Who submitted a job, as the caller may see it: the name of the token of the job's own org
 * it came with, for every caller; the name of the pool admin's token only for the admin
 * (org callers cannot list tokens outside their org). `names` holds the submitters' tokens.
 */
export const submitterName = (j: Job, names: ReadonlyMap<string, Pick<Token, 'name' | 'orgId'>>, viewerOrg: string | null): string | null => {
  const token = names.get(j.submittedBy);
  return token === undefined || (viewerOrg !== null && token.orgId !== j.orgId) ? null : token.name;
};
const SubmittedByName = z.string().nullable().describe("the name of the token it was submitted with; null when that is not the caller's to see (the pool admin's token, to an org's caller)");

export const JobListItemResponse = JobResponse.extend({
  submitted_by_name: SubmittedByName,
  last_placement: PlacementResponse.nullable().describe("its latest attempt (null: never placed): where (another org's site by its neutral label), when it started and ended"),
});
export const jobListItemJson = (j: Job, latest: Placement | undefined, owners: ReadonlyMap<string, string>, submitter: string | null): z.infer<typeof JobListItemResponse> => ({
  ...jobJson(j), submitted_by_name: submitter, last_placement: latest === undefined ? null : placementJson(latest, owners),
});
export const JobListResponse = z.object({ jobs: z.array(JobListItemResponse), next: z.string().nullable().describe('pass as `after` for the next page; null on the last') });

/**
 * The types of the events a job's history holds, as the control plane writes them: its submission, the scheduling
 * loop's decisions (placed, preempted, requeued, site_lost, coallocation_timeout, shrunk), its agents' reports
 * (started, part_started, part_succeeded, succeeded, failed, run_lost, run_failed, coallocation_failed), a cancel,
 * and the rendezvous's memberships. The dashboard names each in words (test/web-vocabulary.test.ts).
 */
export const JOB_EVENT_TYPES = [
  'submitted', 'placed', 'started', 'part_started', 'part_succeeded', 'succeeded', 'failed', 'cancelled', 'preempted', 'requeued',
  'site_lost', 'run_lost', 'run_failed', 'coallocation_timeout', 'coallocation_failed', 'shrunk', 'membership',
] as const;

const SiteLogResponse = z.object({
  site_id: z.string().describe("the site whose run it is; another org's site by its neutral label (`<org>:site-<n>`), never its id"),
  lender_org_id: z.string().describe('the org whose site it is'),
  log_tail: z.string().describe('the end of the run’s log (stdout and stderr), as the site’s agent last sent it'),
  log_at: Timestamp.describe('when the agent sent it'),
});
/** An attempt's log tails, a site each: the placement's sites in their order, then any site that left it. */
function logsJson(p: Placement, tails: readonly LogTail[], owners: ReadonlyMap<string, string>): z.infer<typeof SiteLogResponse>[] {
  const order = partSites(p);
  const rank = (siteId: string) => (order.includes(siteId) ? order.indexOf(siteId) : order.length);
  return tails
    .filter((t) => t.attempt === p.attempt)
    .sort((a, b) => rank(a.siteId) - rank(b.siteId) || (a.siteId < b.siteId ? -1 : 1))
    .map((t) => ({ site_id: t.siteId, lender_org_id: owners.get(t.siteId) ?? '', log_tail: t.tail, log_at: iso(t.at) }));
}

export const JobDetailResponse = JobResponse.extend({
  submitted_by_name: SubmittedByName,
  placements: z.array(PlacementResponse.extend({
    logs: z.array(SiteLogResponse).describe('the end of each site’s run of the attempt (one per site: a job across sites has several), in placement order; a site whose part left the attempt keeps the last it sent'),
    log_tail: z.string().nullable().describe('of `logs`, the tail sent last (by whichever site), as `suanli job logs` follows it'),
    log_at: Timestamp.nullable().describe('when that tail was sent'),
    planned: z.object({
      efficiency: z.number().describe('the fraction of compute time its ring was planned to reach (the rest synchronizing over the WAN)'),
      wan_gbps: z.number().describe('the WAN bandwidth between its sites it was planned with, Gbit/s'),
    }).nullable().describe('an attempt across sites as the scheduler planned it when it placed it; null on one site'),
  })),
  events: z.array(z.object({
    seq: z.number(), at: Timestamp, type: z.string().describe(`one of ${JOB_EVENT_TYPES.join(', ')}; a newer server may add others`),
    from_state: z.enum(JOB_STATES).nullable(), to_state: z.enum(JOB_STATES).nullable(), detail: JsonObject,
  })),
  measured: z.object({
    attempt: z.number(),
    outer_steps: z.number().describe('outer steps every part reported'),
    utilization: z.number().describe('compute seconds over compute and synchronization seconds, over every part’s steps'),
    planned_utilization: z.number().nullable().describe('what the scheduler planned for the attempt’s ring when it placed it'),
    per_outer_step: z.object({
      compute_s: z.number(), sync_s: z.number(),
      wait_s: z.number().describe('of sync_s, waiting for slower parts to finish their inner steps; the rest is the exchange itself'),
    }).describe('seconds, averaged over every part’s steps'),
    first_loss: z.number().nullable(), last_loss: z.number().nullable(),
    parts: z.array(z.object({ site_id: z.string(), steps: z.number(), compute_s: z.number(), sync_s: z.number(), wait_s: z.number() })),
  }).nullable().describe('a spanning job’s latest attempt as its parts measured it (their programs report each outer step to the rendezvous), next to the plan'),
});
/** What the scheduler planned for an attempt across sites: the figures its `placed` event (the attempt-th) recorded. */
function plannedJson(events: readonly JobEvent[], attempt: number): z.infer<typeof JobDetailResponse>['placements'][number]['planned'] {
  const detail = events.filter((e) => e.type === 'placed')[attempt - 1]?.detail;
  const [efficiency, gbps] = [detail?.efficiency, detail?.wan_gbps];
  return typeof efficiency === 'number' && typeof gbps === 'number' ? { efficiency, wan_gbps: gbps } : null;
}
/** A spanning attempt as its parts measured it, next to the efficiency the scheduler planned when it placed it. */
function measuredJson(metrics: readonly SpanMetrics[], events: readonly JobEvent[]): z.infer<typeof JobDetailResponse>['measured'] {
  const attempt = metrics.at(-1)?.attempt;
  if (attempt === undefined) return null;
  const parts = metrics.filter((m) => m.attempt === attempt);
  const sum = (of: (p: SpanMetrics) => number) => parts.reduce((s, p) => s + of(p), 0);
  const [compute, sync, steps] = [sum((p) => p.computeS), sum((p) => p.syncS), sum((p) => p.steps)];
  const perStep = (x: number) => (steps > 0 ? x / steps : 0);
  return {
    attempt, outer_steps: Math.min(...parts.map((p) => p.steps)), utilization: compute + sync > 0 ? compute / (compute + sync) : 0,
    planned_utilization: plannedJson(events, attempt)?.efficiency ?? null,
    per_outer_step: { compute_s: perStep(compute), sync_s: perStep(sync), wait_s: perStep(sum((p) => p.waitS)) },
    first_loss: parts[0]?.firstLoss ?? null, last_loss: parts[0]?.lastLoss ?? null,
    parts: parts.map((p) => ({ site_id: p.siteId, steps: p.steps, compute_s: p.computeS, sync_s: p.syncS, wait_s: p.waitS })),
  };
}
/** A job in detail; `owners` gives the org of every site its placements and log tails name. */
export const jobDetailJson = (
  j: Job, placements: readonly Placement[], events: readonly JobEvent[], owners: ReadonlyMap<string, string>, submitter: string | null, metrics: readonly SpanMetrics[] = [], tails: readonly LogTail[] = [],
): z.infer<typeof JobDetailResponse> => ({
  ...jobJson(j),
  submitted_by_name: submitter,
  placements: placements.map((p) => {
    const logs = logsJson(p, tails, owners);
    const newest = logs.reduce<(typeof logs)[number] | null>((a, l) => (a === null || l.log_at > a.log_at ? l : a), null);
    return { ...placementJson(p, owners), logs, log_tail: newest?.log_tail ?? null, log_at: newest?.log_at ?? null, planned: plannedJson(events, p.attempt) };
  }),
  events: events.map((e) => ({ seq: e.seq, at: iso(e.at), type: e.type, from_state: e.fromState, to_state: e.toState, detail: { ...e.detail } })),
  measured: measuredJson(metrics, events),
});

export const JobStateBody = z.strictObject({ state: z.enum(['running', 'succeeded', 'failed']).describe('placed → running → succeeded or failed') });

export const DryRunResponse = z.object({
  outcome: z.enum(['place', 'wait']),
  placement: z.array(PlacementPartResponse).nullable().describe('where the job would start now'),
  would_preempt: z.number().describe('running jobs that would be stopped to make room'),
  diagnosis: DiagnosisResponse.nullable().describe('why it would wait'),
  gpus: z.number(),
  estimate_s: z.number(),
});

// --- the ledger ---------------------------------------------------------------------------

/** `2026-11-25` (that UTC day's midnight) or `2026-11-25T08:00:00Z` (an offset required): an ISO 8601 time in a query, as epoch ms. */
const ISO_TIME = /^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/;
const BookedAt = z.string().max(40).transform((s, ctx) => {
  const date = ISO_TIME.exec(s)?.[1];
  const ms = Date.parse(s.length === 10 ? `${s}T00:00:00Z` : s);
  // A real calendar day: Date.parse takes 2026-02-30 for March 2.
  if (date === undefined || !Number.isFinite(ms) || new Date(Date.parse(`${date}T00:00:00Z`)).toISOString().slice(0, 10) !== date) {
    ctx.addIssue({ code: 'custom', message: 'an ISO 8601 date (2026-11-25, a UTC day) or date and time with its offset (2026-11-25T08:00:00Z)' });
    return z.NEVER;
  }
  return ms;
});
/**
 * Which entries a ledger query counts, by when they were booked (when their run ended or was
 * stopped): `from` (included) and `to` (not included), either left open; `from` before `to`.
 */
const BOOKED_RANGE = {
  from: BookedAt.optional().describe('entries booked at or after this time: a date (its midnight UTC) or a date and time with its offset (default: the first)'),
  to: BookedAt.optional().describe('entries booked before this time, not at it: a date (its midnight UTC, so `to=2026-11-26` ends with Nov 25) or a date and time (default: the last)'),
};
const rangeOrdered = (q: { readonly from?: number | undefined; readonly to?: number | undefined }) => q.from === undefined || q.to === undefined || q.from < q.to;
const RANGE_ORDER = { message: '`to` must come after `from`', path: ['to'] };

export const LedgerQuery = z.strictObject({
  org: Id.optional(),
  size: z.coerce.number().int().min(0).optional().describe("the ledger of the usage log's first `size` entries: as of its checkpoint of that size (default: every logged entry)"),
  ...BOOKED_RANGE,
}).refine(rangeOrdered, RANGE_ORDER);
const LedgerRowResponse = z.object({ org_id: z.string(), gpu_type: z.string(), contributed_gpu_h: z.number(), consumed_gpu_h: z.number(), own_gpu_h: z.number(), credits_gpu_h: z.number() });
const PoolRowResponse = z.object({ gpu_type: z.string(), contributed_gpu_h: z.number(), consumed_gpu_h: z.number(), own_gpu_h: z.number() });
export const LedgerResponse = z.object({
  rows: z.array(LedgerRowResponse).describe("per org and GPU type; an org sees only its own"),
  pool: z.array(PoolRowResponse).describe('pool-wide totals per GPU type, over all orgs'),
});
export function ledgerJson(rows: readonly LedgerRow[], all: readonly LedgerRow[]): z.infer<typeof LedgerResponse> {
  const pool = new Map<string, { contributed_gpu_h: number; consumed_gpu_h: number; own_gpu_h: number }>();
  for (const r of all) {
    const p = pool.get(r.gpuType) ?? { contributed_gpu_h: 0, consumed_gpu_h: 0, own_gpu_h: 0 };
    pool.set(r.gpuType, { contributed_gpu_h: p.contributed_gpu_h + r.contributedGpuH, consumed_gpu_h: p.consumed_gpu_h + r.consumedGpuH, own_gpu_h: p.own_gpu_h + r.ownGpuH });
  }
  return {
    rows: rows.map((r) => ({ org_id: r.orgId, gpu_type: r.gpuType, contributed_gpu_h: r.contributedGpuH, consumed_gpu_h: r.consumedGpuH, own_gpu_h: r.ownGpuH, credits_gpu_h: r.creditsGpuH })),
    pool: [...pool].map(([gpu_type, p]) => ({ gpu_type, ...p })),
  };
}

// --- the usage log (GET /api/v1/ledger/checkpoint, entries, proofs, keys) ----------------

const Base64 = z.string().describe('base64');
export const CheckpointQuery = z.strictObject({ size: z.coerce.number().int().min(1).optional().describe('a checkpoint of this size (default: the latest)') });
/** How many member orgs witnessed a checkpoint (routes/witnesses.ts). */
export const WitnessSummary = z.object({
  cosigned: z.number().describe('member orgs whose registered witness cosigned this checkpoint'),
  registered: z.number().describe('member orgs with a registered witness'),
  cosigned_by: z.array(z.string()).describe('those orgs, by id'),
});
export const CheckpointResponse = z.object({
  origin: z.string().describe("the log's name, the checkpoint's first line"),
  size: z.number(),
  root: Base64.describe("the tree's root hash (RFC 9162)"),
  note: z.string().describe('the checkpoint as a signed note (c2sp.org/tlog-checkpoint), signed by the log key'),
  at: Timestamp,
  log_key: z.string().describe("the log's verifier key, which members pin"),
  cosignatures: z.array(z.object({ witness: z.string(), line: z.string(), at: Timestamp })).describe("witnesses' cosignature lines (c2sp.org/tlog-cosignature) on this checkpoint"),
  witnesses: WitnessSummary.describe('how many member orgs witnessed this checkpoint'),
});
export const LogEntriesQuery = z.strictObject({
  from: z.coerce.number().int().min(0).default(0).describe('the first index'),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
  org: Id.optional().describe("an admin may ask for one org's entries; others get their own org's"),
});
export const LogEntriesResponse = z.object({
  entries: z.array(z.object({ index: z.number(), note: z.string().describe('the signed usage record: the leaf data, as UTF-8'), writer: z.enum(['site', 'control-plane']), logged_at: Timestamp })),
  next: z.number().nullable().describe('pass as `from` for the next page; null on the last'),
});
export const InclusionQuery = z.strictObject({ index: z.coerce.number().int().min(0), size: z.coerce.number().int().min(1) });
/** Inclusion proofs asked for at once, at most (`GET /ledger/proof/inclusions`). */
export const MAX_PROOFS_PER_REQUEST = 500;
export const InclusionsQuery = z.strictObject({
  indices: z.string().max(MAX_PROOFS_PER_REQUEST * 17).regex(new RegExp(`^(0|[1-9][0-9]{0,15})(,(0|[1-9][0-9]{0,15})){0,${MAX_PROOFS_PER_REQUEST - 1}}$`), `comma-separated entry indices, at most ${MAX_PROOFS_PER_REQUEST}`)
    .describe(`the entries, comma-separated (at most ${MAX_PROOFS_PER_REQUEST})`),
  size: z.coerce.number().int().min(1),
});
export const InclusionsResponse = z.object({
  size: z.number(),
  proofs: z.array(z.object({ index: z.number(), hashes: z.array(Base64) })).describe('one proof per index asked for, in that order (RFC 9162 §2.1.3)'),
});
export const ConsistencyQuery = z.strictObject({ from: z.coerce.number().int().min(1), to: z.coerce.number().int().min(1) });
export const ProofResponse = z.object({ hashes: z.array(Base64).describe('the proof (RFC 9162 §2.1.3 / §2.1.4), in order') });
export const LogKeysResponse = z.object({
  origin: z.string(),
  log_key: z.string(),
  sites: z.array(z.object({
    site: z.string().describe("the site as its records name it (its neutral label, `<org>:site-<n>`)"), org_id: z.string(),
    verifier_key: z.string(), created_at: Timestamp, revoked_at: Timestamp.nullable(),
  })).describe("every site's keys, revoked ones too (they still verify the records they signed)"),
});

// --- witnesses (/api/v1/ledger/witnesses, /api/v1/ledger/cosignatures) --------------------

export const WitnessBody = z.strictObject({
  verifier_key: text(1, 400).describe("the witness's cosigner verifier key, `<name>+<hash>+<base64(0x04 ‖ public key)>` (c2sp.org/tlog-cosignature)"),
  org_id: Id.optional().describe("the witness's org: an admin names it; others register their own org's"),
});
export const WitnessKeyParams = z.strictObject({ key: text(1, 300).describe('the key as `<name>+<hash>`') });
export const WitnessResponse = z.object({
  key: z.string().describe('`<name>+<hash>`, as its cosignature lines name it'), name: z.string(), org_id: z.string(),
  verifier_key: z.string(), created_at: Timestamp, revoked_at: Timestamp.nullable(),
});
export const WitnessListResponse = z.object({ witnesses: z.array(WitnessResponse).describe('every witness key, revoked ones too (they still verify what they cosigned)') });
export const CosignatureBody = z.strictObject({
  size: z.number().int().min(0).describe('the size of the checkpoint cosigned'),
  cosignature: text(1, 1000).describe("the witness's signature line on that checkpoint: `— <name> <base64(key hash ‖ timestamp ‖ signature)>`"),
});
export const CosignatureResponse = z.object({
  size: z.number(), witness: z.string().describe('`<name>+<hash>`'), org_id: z.string(),
  cosigned_at: Timestamp.describe('when the witness says it cosigned'), witnesses: WitnessSummary,
});

// --- health -------------------------------------------------------------------------------

export const HealthResponse = z.object({
  status: z.string(),
  replica: z.object({
    id: z.string(), role: z.enum(['follower', 'electing', 'leader']), leader: z.string().nullable().describe('where the leader is reached'), epoch: z.number().nullable().describe('the lease’s fencing token'),
    feed: z.enum(['off', 'behind', 'current']).describe('this replica’s copy of the state: current with the store’s change feed, behind (to be loaded whole), or off (no feed)'),
    changes_applied: z.number().describe('changes read from the feed and applied since start'),
    took_over: z.enum(['feed', 'reloaded']).nullable().describe('how this replica last came to lead: its copy brought up to date from the feed, or loaded whole; null if it never led'),
  }).optional().describe('one of several replicas on a PostgreSQL server: which one this is, and which leads'),
});

// --- the pool (GET /api/v1/pool) ----------------------------------------------------------
// Pool-wide aggregates every role but an agent may read: totals by GPU type and by org
// (org names and totals only, never another org's sites or jobs), the queue per org,
// the GPUs each org lends to each other org now (by org, never by site or job),
// the caller's own sites in detail, the queue waits of the last hour (per org, as the
// queues), and the sampled utilization history.

const PoolGpuCounts = {
  gpus: z.number().describe('GPUs of the sites counted'),
  allocated: z.number().describe('held by placed or running jobs'),
  idle: z.number().describe('not allocated, on sites that are up (or not heard from yet)'),
  unavailable: z.number().describe('not allocated, on sites that are lost'),
};
const PoolQueue = { queued_jobs: z.number().describe('jobs waiting to be placed'), queued_gpus: z.number().describe('GPUs the waiting jobs ask for') };

const QueueWaitFigures = {
  placed_jobs: z.number().describe('jobs first placed in the window'),
  p50_s: z.number().nullable().describe('their median wait, seconds (null: no job)'),
  p90_s: z.number().nullable().describe('their 90th percentile wait, seconds (null: no job)'),
};

export const PoolResponse = z.object({
  at: Timestamp.describe('when these figures were read'),
  total: z.object({ ...PoolGpuCounts, active_jobs: z.number().describe('placed or running jobs'), ...PoolQueue }),
  gpu_types: z.array(z.object({ gpu_type: z.string(), ...PoolGpuCounts })).describe('the whole pool by GPU type'),
  orgs: z.array(z.object({
    org_id: z.string(), name: z.string(), ...PoolGpuCounts,
    borrowed_gpus: z.number().describe("GPUs its jobs hold on other orgs' sites now"),
    lent_gpus: z.number().describe("GPUs of its sites that other orgs' jobs hold now (part of `allocated`)"),
    ...PoolQueue,
  })).describe("every org: its sites' totals, what it lends and borrows now, and its queue; never its sites or jobs"),
  sites: z
    .array(z.object({ site_id: z.string(), name: z.string(), org_id: z.string(), health: SiteResponse.shape.health, gpu_type: z.string(), ...PoolGpuCounts }))
    .describe('per site and GPU type, the sites the caller may see (an org: its own)'),
  borrowed_gpus: z.number().describe("GPUs the caller's org's jobs hold on other orgs' sites now (0 for the admin)"),
  lending: z
    .array(z.object({ lender_org_id: z.string(), borrower_org_id: z.string(), gpus: z.number().describe("GPUs of the lender's sites the borrower's jobs hold") }))
    .describe('who lends to whom now, by lender then borrower, only pairs with GPUs held; orgs only, never their sites or jobs'),
  queue_wait: z.object({
    window_s: z.number().describe('the figures cover the jobs first placed in this many seconds before now'),
    ...QueueWaitFigures,
    orgs: z.array(z.object({ org_id: z.string(), ...QueueWaitFigures })).describe('per org with a job first placed in the window, in id order; orgs only, never their jobs'),
  }).describe("how long jobs waited from submission to their first placement, in the pool and per org (re-read at most once per history interval)"),
  history: z.object({
    interval_s: z.number().describe('seconds between samples'),
    samples: z
      .array(z.object({ at: Timestamp, gpus: z.number(), allocated: z.number(), gpu_types: z.array(z.object({ gpu_type: z.string(), gpus: z.number(), allocated: z.number() })) }))
      .describe('oldest first; kept in memory, so they start again when the server does'),
  }),
});

// --- the ledger's history (GET /api/v1/ledger/history) -----------------------------------
// The ledger per org over time, for the dashboard's chart of credits: each org's GPU-hours
// per bucket (an hour or a UTC day) of the time its entries were booked, over GPU types.

export const LEDGER_BUCKETS = ['hour', 'day'] as const;
export type LedgerBucket = (typeof LEDGER_BUCKETS)[number];
/** Each bucket's length in seconds. */
export const LEDGER_BUCKET_S: Readonly<Record<LedgerBucket, number>> = { hour: 3600, day: 86_400 };

export const LedgerHistoryQuery = z.strictObject({
  bucket: z.enum(LEDGER_BUCKETS).default('day').describe('hour, or day (UTC days; the default)'),
  org: Id.optional().describe("an admin may name one org (default: every org); others see only their own"),
  ...BOOKED_RANGE,
}).refine(rangeOrdered, RANGE_ORDER);
const LedgerPointResponse = z.object({
  org_id: z.string(),
  at: Timestamp.describe("the bucket's start"),
  contributed_gpu_h: z.number(), consumed_gpu_h: z.number(), own_gpu_h: z.number(),
  credits_gpu_h: z.number().describe('contributed − consumed in this bucket; their running sum is the org’s credits over time'),
});
export const LedgerHistoryResponse = z.object({
  bucket_s: z.number().describe('the length of a bucket in seconds'),
  points: z.array(LedgerPointResponse).describe('oldest first, then by org; only buckets in which an org has entries'),
});
export const ledgerHistoryJson = (bucketS: number, points: readonly LedgerPoint[]): z.infer<typeof LedgerHistoryResponse> => ({
  bucket_s: bucketS,
  points: points.map((p) => ({
    org_id: p.orgId, at: iso(p.at), contributed_gpu_h: p.contributedGpuH, consumed_gpu_h: p.consumedGpuH, own_gpu_h: p.ownGpuH, credits_gpu_h: p.contributedGpuH - p.consumedGpuH,
  })),
});

// --- the jobs behind the ledger (GET /api/v1/ledger/jobs) ---------------------------------
// Each job's GPU-hours per site and GPU type, with the price of the site where one is set:
// an org sees the usage it consumed (its own jobs, by name) and the usage of its sites by
// other orgs' jobs (by id only: their names are theirs); others' sites by their neutral labels.

/** Rows GET /ledger/jobs gives at most. */
export const MAX_LEDGER_JOB_ROWS = 1000;
export const LedgerJobsQuery = z.strictObject({
  org: Id.optional().describe("an admin may name one org (default: every org's usage); others get their own org's"),
  ...BOOKED_RANGE,
  limit: z.coerce.number().int().min(1).max(MAX_LEDGER_JOB_ROWS).default(500).describe('rows at most, newest first'),
}).refine(rangeOrdered, RANGE_ORDER);
export const LedgerJobsResponse = z.object({
  jobs: z.array(z.object({
    job_id: z.string(),
    job_name: z.string().nullable().describe("the job's name; null on another org's job (its usage of the caller's sites)"),
    consumer_org_id: z.string().describe('whose job it is: the org that consumed the GPU-hours'),
    provider_org_id: z.string().describe('whose site it ran on: the org that provided them'),
    site: z.string().describe("the site's id, or for another org's site its neutral label (`<org>:site-<n>`)"),
    gpu_type: z.string(),
    gpu_h: z.number().describe('GPU-hours of its entries in the usage log booked in the range'),
    last_at: Timestamp.describe('when its last entry was booked'),
    price_per_gpu_hour: z.number().nullable().describe("the site's price per GPU-hour now (null: none set)"),
    cost: z.number().nullable().describe('gpu_h × price_per_gpu_hour, in the currency of the price; null without a price'),
  })).describe('per job, site and GPU type; newest first (by the last entry), then by job and site'),
  truncated: z.boolean().describe('more rows than `limit` matched: narrow the range to see the rest'),
});
