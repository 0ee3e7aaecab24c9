import type { Rendezvous, RendezvousTokens } from './rendezvous.ts';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Clock } from '../model/clock.ts';
import type { SchedulerOptions } from '../sched/scheduler.ts';
import type { Store } from '../store/types.ts';
import type { ActiveJobs } from './active-jobs.ts';
import type { Authenticator } from './auth.ts';
import { ApiError } from './errors.ts';
import type { JobLifecycle } from './job-lifecycle.ts';
import type { ServerMetrics } from './metrics.ts';
import type { Access, Operation } from './permissions.ts';
import type { PoolHistory } from './pool-history.ts';
import type { OrgSerializer, QuotaBook } from './quotas.ts';
import type { SchedulingLoop } from './scheduling-loop.ts';
import type { SiteDirectory } from './site-directory.ts';
import type { PendingBySite, UsageLog } from './usage-log.ts';
import type { SiteKeyBook } from './log-keys.ts';
import type { Leadership } from './replication.ts';
import type { SubmissionBatcher } from './submission-batcher.ts';

/** The parts of a running control plane that routes use; `app.suanli` on the Fastify instance. */
export interface ControlPlane {
  readonly store: Store;
  readonly clock: Clock;
  readonly auth: Authenticator;
  readonly lifecycle: JobLifecycle;
  /** The active jobs and their placements, mirrored in memory (this server is the store's only writer). */
  readonly active: ActiveJobs;
  readonly loop: SchedulingLoop;
  readonly submissions: SubmissionBatcher;
  readonly metrics: ServerMetrics;
  /** The core's options the loop and the dry run both use. */
  readonly scheduler: Partial<SchedulerOptions> & Pick<SchedulerOptions, 'policy'>;
  /** The admin token created at this start, to show once; null when the store already had tokens. */
  readonly adminToken: string | null;
  /** The sampled utilization GET /pool charts: started when the server is ready, stopped when it closes. */
  readonly poolHistory: PoolHistory;
  /** Every site's owner and the label other orgs see it by. */
  readonly sites: SiteDirectory;
  /** The usage log: what the ledger counts, as signed records in a Merkle log with signed checkpoints. */
  readonly usage: UsageLog;
  /** Which sites may have usage entries waiting for their agent's signature. */
  readonly pendingUsage: PendingBySite;
  /** Each site's record keys (every heartbeat checks its site's). */
  readonly siteKeys: SiteKeyBook;
  /** How the parts of spanning jobs find each other (rendezvous.ts), and their tokens. */
  readonly rendezvous: Rendezvous;
  readonly rendezvousTokens: RendezvousTokens;
  /** The verifier key of the log's signing key, which members pin to check checkpoints and records. */
  readonly logVerifierKey: string;
  /** Changes to one org's sites, one at a time (the quota check and the write together). */
  readonly siteWrites: OrgSerializer;
  /** Every org's quotas. */
  readonly quotas: QuotaBook;
  /** One of several replicas (replication.ts); null for a single server. */
  readonly replica: Leadership | null;
  /** Fencing: seconds after its last answered heartbeat by which an agent must have stopped its runs (the site timeout); null without one. */
  readonly leaseS: number | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    suanli: ControlPlane;
  }
  interface FastifyContextConfig {
    /** The permission-table entry a route is guarded by; routes without one are public. */
    operation?: Operation;
  }
  interface FastifyRequest {
    /** Set by the auth hook on guarded routes. */
    access: Access | null;
    /** Gives back the caller's slot among the requests under way (flood.ts), once the answer has gone. */
    releaseSlot: (() => void) | null;
  }
}

/** The Fastify instance with zod schemas as its type provider. */
export type Api = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

/** The caller's access on a guarded route (the auth hook has checked the role). */
export function accessOf(request: FastifyRequest): Access {
  if (request.access === null) throw new ApiError('internal', `route ${request.url} has no operation in the permission table`);
  return request.access;
}

/** OpenAPI bits every guarded route carries. */
export const secured = { security: [{ bearer: [] }] };
