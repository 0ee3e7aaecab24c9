// The wire format the dashboard reads and sends, as types only: inferred from the
// server's zod schemas (src/server/schemas.ts), so that a change there fails tsc
// here. `import type` is erased from the bundle: no server code reaches the browser.
import type { z } from 'zod';
import type {
  CheckpointResponse, DiagnosisResponse, DryRunResponse, ErrorResponse, JOB_EVENT_TYPES, JobDetailResponse, JobListResponse, JobResponse, JobSubmitBody, LedgerBucket, LedgerHistoryResponse, LedgerJobsResponse, LedgerResponse, OrgCreateBody, OrgListResponse, OrgResponse, PlanBody,
  PoolResponse, SiteCreateBody, SiteJobsResponse, SiteListResponse, SitePatchBody, SiteResponse, TokenCreateBody, TokenCreatedResponse, TokenListResponse, TokenResponse, TrainPlanJson, VideoPlanJson, WhoAmIResponse,
} from '../../../src/server/schemas.ts';

export type JobJson = z.infer<typeof JobResponse>;
export type JobState = JobJson['state'];
export type JobDetailJson = z.infer<typeof JobDetailResponse>;
export type PlacementJson = JobDetailJson['placements'][number];
export type JobEventJson = JobDetailJson['events'][number];
/** The event types the server writes (a newer server may send others: `JobEventJson['type']` is any string). */
export type JobEventType = (typeof JOB_EVENT_TYPES)[number];
/** One site's log tail of an attempt, with its site (another org's by its neutral label) and the org lending it. */
export type SiteLogJson = PlacementJson['logs'][number];
export type JobListJson = z.infer<typeof JobListResponse>;
/** A job as the list gives it: with its latest attempt (where, started, ended) and its submitter's token name. */
export type JobListItemJson = JobListJson['jobs'][number];
export type DiagnosisJson = z.infer<typeof DiagnosisResponse>;
export type DryRunJson = z.infer<typeof DryRunResponse>;
/** A submission as the client sends it: fields with server defaults may be left out. */
export type JobSubmitRequest = z.input<typeof JobSubmitBody>;
export type SiteJson = z.infer<typeof SiteResponse>;
export type SiteHealth = SiteJson['health'];
export type SiteListJson = z.infer<typeof SiteListResponse>;
export type OrgListJson = z.infer<typeof OrgListResponse>;
export type TokenListJson = z.infer<typeof TokenListResponse>;

// A site's page and the admin pages (issue 19): the site's jobs, its share policy, orgs, sites and tokens made and revoked.
/** The jobs on a site now (GET /sites/:id/jobs): another org's job by its org only (job_id and name null). */
export type SiteJobsJson = z.infer<typeof SiteJobsResponse>;
export type SiteJobJson = SiteJobsJson['jobs'][number];
export type ShareJson = SiteJson['share'];
/** A change to a site's share policy (PATCH /sites/:id `share`: only the fields given change). */
export type SharePatchRequest = NonNullable<z.input<typeof SitePatchBody>['share']>;
export type OrgJson = z.infer<typeof OrgResponse>;
export type OrgCreateRequest = z.input<typeof OrgCreateBody>;
export type SiteCreateRequest = z.input<typeof SiteCreateBody>;
export type TokenJson = z.infer<typeof TokenResponse>;
export type Role = TokenJson['role'];
export type TokenCreateRequest = z.input<typeof TokenCreateBody>;
/** A new token with its secret (`token`), which the API shows in this answer only. */
export type TokenCreatedJson = z.infer<typeof TokenCreatedResponse>;
export type WhoAmIJson = z.infer<typeof WhoAmIResponse>;
export type LedgerJson = z.infer<typeof LedgerResponse>;
export type LedgerRowJson = LedgerJson['rows'][number];
export type LedgerHistoryJson = z.infer<typeof LedgerHistoryResponse>;
export type LedgerPointJson = LedgerHistoryJson['points'][number];
/** The jobs behind the ledger (GET /ledger/jobs): per job, site and GPU type, with the site's price and the cost. */
export type LedgerJobsJson = z.infer<typeof LedgerJobsResponse>;
export type LedgerJobJson = LedgerJobsJson['jobs'][number];
/** The usage log's latest signed checkpoint (GET /ledger/checkpoint), with how many member orgs witnessed it. */
export type CheckpointJson = z.infer<typeof CheckpointResponse>;
/** What GET /ledger/history sums by: `hour`, or `day` (UTC days). */
export type { LedgerBucket };
export type ApiErrorCode = z.infer<typeof ErrorResponse>['error']['code'];
export type PoolJson = z.infer<typeof PoolResponse>;
export type PoolSiteJson = PoolJson['sites'][number];
export type PoolOrgJson = PoolJson['orgs'][number];
export type PoolGpuTypeJson = PoolJson['gpu_types'][number];
export type PoolSampleJson = PoolJson['history']['samples'][number];
/** GPUs of one org's sites that another org's jobs hold now. */
export type PoolLendingJson = PoolJson['lending'][number];

/** A planner request (POST /plan) as the client sends it: fields with defaults may be left out. */
export type PlanRequestJson = z.input<typeof PlanBody>;

/**
 * The planner's answer. The API passes it on as an open JSON object (PlanResponse),
 * in the shape of `suanli plan video|train --json`: the planner's own output types,
 * re-exported for the dashboard by src/server/schemas.ts.
 */
export type { TrainPlanJson, VideoPlanJson };
export type PlanJson = VideoPlanJson | TrainPlanJson;
