import { createHash, timingSafeEqual } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Clock } from '../model/clock.ts';
import type { PolicyName } from '../sched/policies/registry.ts';
import { isFencedError, type OrgQuota, type Store } from '../store/types.ts';
import { ActiveJobs } from './active-jobs.ts';
import { HandlersUnderWay, InFlight, dropUnreadBody } from './flood.ts';
import { Authenticator, bearerOf, bootstrapAdminToken, retryAfterS, type AuthenticatorOptions } from './auth.ts';
import type { Api, ControlPlane } from './control-plane.ts';
import { dashboardRoutes } from './dashboard.ts';
import { ApiError, errorBody, toApiError } from './errors.ts';
import { JobLifecycle } from './job-lifecycle.ts';
import { ServerMetrics } from './metrics.ts';
import { Access } from './permissions.ts';
import { PoolHistory } from './pool-history.ts';
import { DEFAULT_ORG_QUOTA, OrgSerializer, QuotaBook } from './quotas.ts';
import { summarizePool } from './pool-summary.ts';
import { agentRoutes } from './routes/agent.ts';
import { jobRoutes } from './routes/jobs.ts';
import { ledgerRoutes } from './routes/ledger.ts';
import { orgRoutes } from './routes/orgs.ts';
import { planRoutes } from './routes/plan.ts';
import { poolRoutes } from './routes/pool.ts';
import { siteRoutes } from './routes/sites.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { witnessRoutes } from './routes/witnesses.ts';
import { ErrorResponse, HealthResponse } from './schemas.ts';
import { SchedulingLoop } from './scheduling-loop.ts';
import { SiteDirectory } from './site-directory.ts';
import { utf8 } from '../ledger/encoding.ts';
import { noteVerifier, openNote } from '../ledger/note.ts';
import { ANSWERED_BY, ANSWERED_BY_ANY_REPLICA, forwardable, Leadership, type ReplicaOptions } from './replication.ts';
import { ChangeFollower, type TakeOver } from './change-follower.ts';
import { PendingBySite, UsageLog } from './usage-log.ts';
import { nativeSigner, newKeyPair, SiteKeyBook, verifierKeyOf } from './log-keys.ts';
import { SubmissionBatcher } from './submission-batcher.ts';
import { Rendezvous, RendezvousTokens } from './rendezvous.ts';
import { rendezvousRoutes } from './routes/rendezvous.ts';

/** Answers with the API's error body for whatever went wrong; returns the error as the API reported it. */
function sendError(reply: FastifyReply, err: unknown): ApiError {
  const e = toApiError(err);
  void reply.code(e.status).send(errorBody(e));
  return e;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface ServerOptions {
  /** An open store whose migrations have run; the caller closes it after the server. */
  readonly store: Store;
  readonly clock?: Clock;
  /** Fastify's (pino) logger options; off unless given. */
  readonly logger?: FastifyServerOptions['logger'];
  /** Log every request (at info); off by default, as it costs more than a submission at full load. */
  readonly logRequests?: boolean;
  /** The admin token to create when the store has no tokens (SUANLI_ADMIN_TOKEN); otherwise one is generated. */
  readonly adminToken?: string;
  readonly policy?: PolicyName;
  readonly backfill?: boolean;
  /** False: the scheduler ignores the submitters' run-time estimates (see PolicyOptions.durationsKnown); default true. */
  readonly durationsKnown?: boolean;
  /** A job placed across sites is released and requeued unless all its parts start within this long (ms, default 120,000). */
  readonly coallocationTimeoutMs?: number;
  /** A scheduling pass runs at least this often (ms, default 1000), and at once after a submission, a cancel or a run's end. */
  readonly passIntervalMs?: number;
  /** How long one pass's commit should hold the store (ms, default 25), and most decisions it commits (default 1000); see SchedulingLoopOptions. */
  readonly commitBudgetMs?: number;
  readonly maxDecisionsPerPass?: number;
  /** How often the in-memory mirror of active jobs is reloaded from the store (ms, default 30 minutes). */
  readonly reloadIntervalMs?: number;
  /** Run the scheduling loop on its timers (default true). Tests that drive passes by hand (`app.suanli.loop.runPass()`) turn it off. */
  readonly schedule?: boolean;
  /** Largest request body, bytes (default 1 MiB). */
  readonly bodyLimit?: number;
  /** The verification cache and the limits on failed sign-ins (auth.ts); the limits count per `req.ip`, see `trustProxy`. */
  readonly auth?: AuthenticatorOptions;
  /**
   * Fastify's `trustProxy`: behind a reverse proxy or load balancer, the proxy's
   * address(es) or hop count, so that `req.ip` (by which failed sign-ins are limited)
   * is the client's, from X-Forwarded-For, and not the proxy's, which would put every
   * client in one bucket. Off by default: a directly exposed server must not believe
   * a header any client can write.
   */
  readonly trustProxy?: FastifyServerOptions['trustProxy'];
  /** Listen with HTTPS: PEM certificate (chain) and key. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** A site whose agent has not heartbeated for this long (ms) is marked lost and its jobs requeued; never when absent. */
  readonly siteTimeoutMs?: number;
  /**
   * When set, /metrics answers only `Authorization: Bearer <metricsToken>` (401
   * otherwise), and with every series, per org and per site. When absent, /metrics
   * is public, as Prometheus scrapes by default, with pool totals only (metrics.ts).
   * Compared without a limit on failures: make it long and random.
   */
  readonly metricsToken?: string;
  /** The built web dashboard served at `/` (default dist/web, as `npm run build:web` writes it). */
  readonly webRoot?: string;
  /** How often the pool's utilization is sampled for GET /api/v1/pool's `history` (ms, default one minute)… */
  readonly poolSampleMs?: number;
  /** …and how many samples are kept in memory (default 1440: a day at one a minute). */
  readonly poolHistorySize?: number;
  /**
   * Most requests one token may have under way at once; more are refused with 429 (default 1024: a member
   * submitting in bulk over many connections is not refused; the requests one caller can make heavy have their
   * own, lower limits, flood.ts).
   */
  readonly maxRequestsInFlightPerToken?: number;
  /**
   * The control plane's log key (`PRIVATE+KEY+…`, a signed-note signer key): it countersigns every usage record
   * and signs the log's checkpoints. Absent: a new key for this process only (a pool of record keeps one:
   * `suanli serve` keeps it in <data dir>/log.key, or takes SUANLI_LOG_KEY).
   */
  readonly logKey?: string;
  /** The usage log's name, the first line of every checkpoint (default `suanli.local/ledger`). */
  readonly ledgerOrigin?: string;
  /** How often a checkpoint is signed while records arrive, and pending entries are looked at (ms, default 2000). */
  readonly checkpointIntervalMs?: number;
  /** An entry its site has not signed this long after it ended is logged by the control plane alone (ms, default 10 minutes). */
  readonly usageAloneAfterMs?: number;
  /** The quotas of an org the admin set none for (default DEFAULT_ORG_QUOTA, quotas.ts); those given replace the defaults'. */
  readonly defaultQuota?: Partial<OrgQuota>;
  /**
   * One of several replicas on a PostgreSQL server (replication.ts; the store must have been opened with the same
   * id as `replica`). Nothing of the leader's runs until `app.suanli.replica.start(url)` wins the lease; until then,
   * API requests are forwarded to the leader. The admin token of a first start is made by the first leader and
   * given to `onAdminToken`.
   */
  readonly replica?: ReplicaOptions;
  readonly onAdminToken?: (token: string) => void;
}

/**
 * The control plane's HTTP server: REST under /api/v1 (OpenAPI at
 * /api/v1/openapi.json, docs at /api/v1/docs), /healthz, /readyz and /metrics,
 * the web dashboard at every other path (dashboard.ts), with the scheduling
 * loop started when the server is ready and stopped (after pending submissions
 * are committed) when it closes. The store stays open: its owner closes it after
 * `app.close()`.
 */
export async function buildServer(options: ServerOptions): Promise<Api> {
  const { store } = options;
  const clock = options.clock ?? systemClock;
  const app: Api = Fastify({
    // HTTPS changes only the raw server's type; routes see the same requests.
    ...(options.tls === undefined ? {} : { https: { cert: options.tls.cert, key: options.tls.key } }),
    logger: options.logger ?? false,
    logController: new LogController({ disableRequestLogging: options.logRequests !== true }),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    ...(options.trustProxy === undefined ? {} : { trustProxy: options.trustProxy }),
    // Errors the router raises before any route runs (a malformed URL, an overlong path parameter) get the API's error body too.
    frameworkErrors: (err, _req, reply) => {
      sendError(reply, err);
    },
  } as FastifyServerOptions).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // JSON only: a text/plain body is refused (415) rather than handed to a JSON schema as a string.
  app.removeContentTypeParser('text/plain');
  // JSON in UTF-8 only (RFC 8259): fastify reads every body as UTF-8, so one that says it is
  // in another charset is refused (415) rather than misread. The JSON parsing is fastify's own.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser<string>('application/json', { parseAs: 'string' }, (req, body, done) => {
    const charset = charsetOf(req.headers['content-type'] ?? '');
    if (charset === undefined || charset.toLowerCase() === 'utf-8') {
      void parseJson(req, body, done);
      return;
    }
    done(new ApiError('unsupported_media_type', `header.content-type: a JSON body must be UTF-8; charset=${charset} is not accepted`, { field: 'header.content-type' }), undefined);
  });

  const metrics = new ServerMetrics();
  const active = new ActiveJobs();
  const sites = new SiteDirectory(store);
  const pendingUsage = new PendingBySite();
  const lifecycle = new JobLifecycle(store, clock, metrics, active, (ids) => sites.owners(ids), (entries) => pendingUsage.written(entries));
  const scheduler = { policy: options.policy ?? 'fair-share', backfill: options.backfill ?? false, durationsKnown: options.durationsKnown ?? true };
  const loop = new SchedulingLoop({
    store, sites, clock, lifecycle, active, metrics, logger: app.log, scheduler,
    intervalMs: options.passIntervalMs ?? 1000,
    commitBudgetMs: options.commitBudgetMs ?? 25, maxDecisionsPerPass: options.maxDecisionsPerPass ?? 1000, reloadIntervalMs: options.reloadIntervalMs ?? 30 * 60_000,
    ...(options.siteTimeoutMs === undefined ? {} : { siteTimeoutMs: options.siteTimeoutMs }),
    coallocationTimeoutMs: options.coallocationTimeoutMs ?? 120_000,
  });
  const logKey = options.logKey ?? newKeyPair('suanli-ledger').signerKey;
  let tookOver: TakeOver | null = null;
  // Its hooks run once the lease is won, after `cp` exists.
  const leadership = options.replica === undefined ? null : new Leadership(store, options.replica, {
    elected: async () => {
      // Every replica must sign with the log's one key: members pinned it, and a checkpoint under another is a fork.
      const last = await store.checkpoint();
      if (last !== null && !openNote(utf8(last.note), [noteVerifier(cp.logVerifierKey)]).ok) {
        throw new Error(`the usage log's checkpoints are signed by another log key than this replica's (${cp.logVerifierKey}): give every replica the same SUANLI_LOG_KEY`);
      }
      const started = performance.now();
      const how = await follower?.takeOver();
      tookOver = how ?? null;
      app.log.warn({ how, ms: Math.round(performance.now() - started) }, how === 'feed' ? 'replica: the state is current from the change feed' : 'replica: the state loaded');
      const token = await bootstrapAdminToken(store, clock, options.adminToken);
      if (token !== null) options.onAdminToken?.(token);
      await cp.usage.start(options.schedule !== false);
      if (options.schedule !== false) loop.start();
    },
    deposed: async () => {
      await loop.stop();
      await cp.usage.stop();
      follower?.steppedDown();
    },
  }, app.log);
  const cp: ControlPlane = {
    store, clock, lifecycle, active, loop, metrics, scheduler,
    auth: new Authenticator(store, clock, options.auth),
    submissions: new SubmissionBatcher(store, metrics, (created) => {
      active.arrive(created);
      loop.poke();
    }),
    adminToken: options.replica === undefined ? await bootstrapAdminToken(store, clock, options.adminToken) : null,
    replica: leadership,
    poolHistory: new PoolHistory({
      read: async () => summarizePool(await loop.snapshot()), clock, logger: app.log,
      intervalMs: options.poolSampleMs ?? 60_000, size: options.poolHistorySize ?? 1440,
    }),
    sites,
    usage: new UsageLog({
      store, clock, logger: app.log, signer: nativeSigner(logKey), origin: options.ledgerOrigin ?? 'suanli.local/ledger',
      labelOf: async (id) => (await sites.entry(id))?.label ?? id,
      intervalMs: options.checkpointIntervalMs ?? 2000, aloneAfterMs: options.usageAloneAfterMs ?? 10 * 60_000,
    }),
    pendingUsage,
    siteKeys: new SiteKeyBook(store),
    rendezvous: new Rendezvous(),
    rendezvousTokens: new RendezvousTokens(logKey),
    logVerifierKey: verifierKeyOf(logKey),
    siteWrites: new OrgSerializer(),
    quotas: new QuotaBook(store, { ...DEFAULT_ORG_QUOTA, ...options.defaultQuota }),
    leaseS: options.siteTimeoutMs === undefined ? null : options.siteTimeoutMs / 1000,
  };
  // A replica keeps its copies current from the store's change feed (it loads them once the feed is open); a single
  // server, the store's only writer, loads them once.
  const follower = leadership === null ? null : new ChangeFollower(store, { active, sites, auth: cp.auth, siteKeys: cp.siteKeys, quotas: cp.quotas }, app.log, { resyncAfterMs: leadership.options.leaseMs });
  if (follower === null) {
    await active.reload(store);
    await sites.refresh();
  } else await follower.start();
  app.decorate('suanli', cp);
  app.decorateRequest('access', null);
  app.decorateRequest('releaseSlot', null);

  // Authentication and the role check, before the body is even parsed; ownership is checked by the handlers.
  // Each token may have a bounded number of requests under way, in all and per operation: one member or agent
  // flooding the server with many connections gets 429s beyond it — before its bodies are even parsed — and every
  // other caller's requests keep their turn.
  const inFlight = new InFlight(options.maxRequestsInFlightPerToken ?? 1024);
  // Every route's handler, counted until it settles: the store is closed after the server, and after them.
  const handlers = new HandlersUnderWay();
  // A replica that does not lead forwards API requests to the leader, before anything else looks at them — but
  // answers the reads that need no more than the store and copies its change feed keeps current. Every answer says
  // which replica gave it.
  if (leadership !== null) {
    app.addHook('onRequest', async (req, reply) => {
      void reply.header(ANSWERED_BY, leadership.id);
      if (leadership.serving || !forwardable(req.url)) return;
      const operation = req.routeOptions.config.operation;
      if (req.method === 'GET' && operation !== undefined && ANSWERED_BY_ANY_REPLICA.has(operation) && follower?.state === 'current') return;
      leadership.forward(req, reply);
      return reply;
    });
  }
  app.addHook('onRoute', (route) => {
    const handler = route.handler;
    route.handler = function (req, reply) {
      return handlers.track(handler.call(this, req, reply));
    };
  });
  app.addHook('onRequest', async (req, reply) => {
    const operation = req.routeOptions.config.operation;
    if (operation === undefined) return;
    try {
      const principal = await cp.auth.authenticate(req.headers.authorization, req.ip);
      // Released when the answer has gone, or the caller went away (the hooks below, and the connection's close: a
      // connection reset while the handler runs fires neither hook, and left the slot taken for good). Idempotent.
      const release = inFlight.take(principal.tokenId, operation);
      req.releaseSlot = release;
      reply.raw.once('close', release);
      req.access = new Access(principal, operation);
    } catch (err) {
      const wait = retryAfterS(err);
      if (wait !== undefined) {
        void reply.header('retry-after', String(wait));
        dropUnreadBody(req.raw, reply);
      }
      throw err;
    }
  });
  const releaseSlot = (req: FastifyRequest) => {
    req.releaseSlot?.();
    return Promise.resolve();
  };
  app.addHook('onResponse', releaseSlot);
  app.addHook('onRequestAbort', releaseSlot);
  app.setErrorHandler((err, req, reply) => {
    if (isFencedError(err)) {
      leadership?.fenced();
      void reply.header('retry-after', '1');
    }
    const e = sendError(reply, err);
    if (e.status >= 500) req.log.error({ err }, 'request failed');
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new ApiError('not_found', `no route ${req.method} ${req.url.split('?')[0] ?? ''}`);
    return reply.code(e.status).send(errorBody(e));
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Suanli control plane', version: '0.1.0', description: 'Pool GPUs across organizations: orgs, tokens, sites, jobs, the ledger and the planner. Bodies are JSON in UTF-8 (`application/json`; a content type naming another charset is a 415). Errors are `{error: {code, message, field?}}`.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'sl_<id>_<secret>' } } },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/api/v1/docs' });

  let closing = false;
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, () => Promise.resolve(app.swagger()));
  app.get('/healthz', { schema: { tags: ['system'], summary: 'The process is up', response: { 200: HealthResponse } } }, () => Promise.resolve({ status: 'ok' }));
  app.get('/readyz', { schema: { tags: ['system'], summary: 'Ready to serve: the store is open and answers', response: { 200: HealthResponse, 503: ErrorResponse } } }, async (_req, reply) => {
    const ready = !closing && (await store.countTokens().then(() => true, () => false));
    const replica = leadership === null || follower === null ? {} : {
      replica: { id: leadership.id, role: leadership.role, leader: leadership.lease?.url ?? null, epoch: leadership.lease?.epoch ?? null, feed: follower.state, changes_applied: follower.applied, took_over: tookOver },
    };
    // A follower serves by forwarding: it is ready once some replica leads.
    if (ready && (leadership === null || leadership.serving || (leadership.lease !== null && leadership.lease.holder !== leadership.id))) return { status: 'ready', ...replica };
    return reply.code(503).send(errorBody(new ApiError('unavailable', closing ? 'shutting down' : !ready ? 'the store does not answer' : 'no replica leads yet')));
  });
  // Pool totals for anyone when there is no metrics token; every series, per org and per site, only for its bearer when there is.
  const metricsToken = options.metricsToken === undefined ? undefined : digest(options.metricsToken);
  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    const given = bearerOf(req.headers.authorization);
    if (metricsToken !== undefined && (given === undefined || !timingSafeEqual(digest(given), metricsToken))) {
      return reply.code(401).header('www-authenticate', 'Bearer').send(errorBody(new ApiError('unauthorized', '/metrics needs `Authorization: Bearer` with the metrics token (SUANLI_METRICS_TOKEN)')));
    }
    const registry = metricsToken === undefined ? metrics.publicRegistry : metrics.fullRegistry;
    return reply.header('content-type', registry.contentType).send(await registry.metrics());
  });

  orgRoutes(app);
  tokenRoutes(app);
  siteRoutes(app);
  jobRoutes(app);
  ledgerRoutes(app);
  witnessRoutes(app);
  poolRoutes(app);
  planRoutes(app);
  agentRoutes(app);
  rendezvousRoutes(app);
  await dashboardRoutes(app, options.webRoot);

  // Which sites have usage to sign, from the store every few seconds (PendingBySite.sync).
  let pendingSync: NodeJS.Timeout | null = null;
  app.addHook('onReady', async () => {
    // A follower answers no heartbeat: the leader's is the list that counts.
    pendingSync = setInterval(() => {
      if (leadership === null || leadership.serving) void pendingUsage.sync(() => store.sitesWithPendingUsage()).catch((err: unknown) => app.log.error({ err }, 'reading the sites with usage to sign failed'));
    }, options.checkpointIntervalMs ?? 2000);
    pendingSync.unref();
    // A replica starts these when it leads.
    if (leadership === null) {
      await cp.usage.start(options.schedule !== false);
      if (options.schedule !== false) loop.start();
    }
    // The first sample is in before the server answers, so the history is never empty.
    await cp.poolHistory.start();
  });
  app.addHook('preClose', () => {
    closing = true;
    return Promise.resolve();
  });
  // Answer every submission already accepted before stopping the loop, and let every handler finish (one whose
  // caller went away too); the store is the caller's to close.
  app.addHook('onClose', async () => {
    if (pendingSync !== null) clearInterval(pendingSync);
    await leadership?.stop();
    await follower?.stop();
    await handlers.idle();
    await cp.submissions.drain();
    await loop.stop();
    await cp.usage.stop();
    await cp.poolHistory.stop();
    await cp.sites.writeTimes();
  });
  return app;
}

/** The charset a Content-Type header names (`application/json; charset="utf-16"` → utf-16), if any. */
const charsetOf = (contentType: string): string | undefined => {
  const m = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType);
  return m === null ? undefined : (m[1] ?? m[2] ?? '');
};

/** SHA-256 of a token: equal-length inputs for timingSafeEqual. */
const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
