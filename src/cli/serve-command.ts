import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { InvalidInputError } from '../model/errors.ts';
import { POLICY_NAMES, policyByName, type PolicyName } from '../sched/policies/registry.ts';
import * as parse from './parse.ts';
import type { Output } from './plan-command.ts';

export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  /** The embedded store's directory; unused when `databaseUrl` is set. */
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly adminToken: string | undefined;
  /** Required of /metrics scrapers as a bearer token, when set (SUANLI_METRICS_TOKEN). */
  readonly metricsToken: string | undefined;
  readonly policy: PolicyName;
  /** False: the scheduler goes by no run-time estimate (`--estimates none`). */
  readonly durationsKnown: boolean;
  readonly passIntervalMs: number;
  readonly logLevel: string;
  /** PEM files: listen with HTTPS. */
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  /** Mark a site lost after this long without a heartbeat, ms. */
  readonly siteTimeoutMs?: number;
  /** Release a job placed across sites unless all its parts start within this long, ms. */
  readonly coallocationTimeoutMs?: number;
  /** The log key (SUANLI_LOG_KEY); absent: the one kept in <data dir>/log.key, made there at the first start. */
  readonly logKey?: string;
  /** The usage log's name (--ledger-origin). */
  readonly ledgerOrigin?: string;
  /** The addresses of reverse proxies to trust for X-Forwarded-For (failed sign-ins are limited per client address). */
  readonly trustProxy?: string[];
  /** On PostgreSQL: how long the leader lease holds without renewal, ms (replicas). */
  readonly leaseMs?: number;
  /** On PostgreSQL: where the other replicas reach this one (default: the URL it listens on). */
  readonly advertiseUrl?: string;
}

/** Resolves on the first SIGINT or SIGTERM. */
export function shutdownSignal(): Promise<string> {
  return new Promise((done) => {
    const on = (signal: string) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      done(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/**
 * Runs the control plane until `until` resolves: opens the store (migrating it),
 * listens, prints the URL and, on a first start, the admin token once; then closes
 * the server (answering submissions already accepted) and the store.
 */
export async function serve(o: ServeOptions, io: Output, until: Promise<unknown>): Promise<void> {
  // Loaded here, not at the top: the server and the store would slow every other command's start-up.
  const [{ buildServer }, { openStore }, { keyFile, verifierKeyOf }] = await Promise.all([import('../server/app.ts'), import('../store/index.ts'), import('../server/log-keys.ts')]);
  // The log key signs every checkpoint members pin: kept across restarts (a new key would be a new log to them).
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const logKey = o.logKey ?? keyFile(join(o.dataDir, 'log.key'), 'suanli-ledger').signerKey;
  // On a server, every process is a replica: it leads (one at a time, by a lease in the store) or forwards to the leader.
  const replica = o.databaseUrl === undefined ? undefined : { id: randomBytes(6).toString('hex'), leaseMs: o.leaseMs ?? 5000 };
  const store = await openStore(o.databaseUrl !== undefined ? { databaseUrl: o.databaseUrl, ...(replica === undefined ? {} : { replica: replica.id }) } : { dataDir: o.dataDir });
  try {
    const tls = o.tlsCert === undefined || o.tlsKey === undefined ? {} : { tls: { cert: readFileSync(o.tlsCert), key: readFileSync(o.tlsKey) } };
    const adminTokenLine = (token: string) => io.out(o.adminToken === undefined ? `admin token (shown only now; keep it safe): ${token}` : 'admin token: the one in SUANLI_ADMIN_TOKEN');
    const app = await buildServer({ store, logger: { level: o.logLevel }, ...tls, ...(replica === undefined ? {} : { replica, onAdminToken: adminTokenLine }), ...(o.siteTimeoutMs === undefined ? {} : { siteTimeoutMs: o.siteTimeoutMs }), ...(o.coallocationTimeoutMs === undefined ? {} : { coallocationTimeoutMs: o.coallocationTimeoutMs }), ...(o.adminToken === undefined ? {} : { adminToken: o.adminToken }), ...(o.metricsToken === undefined ? {} : { metricsToken: o.metricsToken }), policy: o.policy, durationsKnown: o.durationsKnown, passIntervalMs: o.passIntervalMs, ...(o.trustProxy === undefined ? {} : { trustProxy: o.trustProxy }), logKey, ...(o.ledgerOrigin === undefined ? {} : { ledgerOrigin: o.ledgerOrigin }) });
    try {
      const url = await app.listen({ host: o.host, port: o.port });
      const where = o.databaseUrl !== undefined ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${resolve(o.dataDir)}`;
      // The token comes first: whoever waits for the URL line has it by then (a replica's first leader prints it).
      await app.suanli.replica?.start(o.advertiseUrl ?? url);
      const token = app.suanli.adminToken;
      if (token !== null) adminTokenLine(token);
      const leadership = app.suanli.replica;
      if (leadership !== null) io.out(`suanli serve: replica ${leadership.id}, ${leadership.role === 'leader' ? 'leading' : `following the leader at ${leadership.lease?.url ?? '(none yet)'}`} (lease ${(leadership.options.leaseMs / 1000).toString()} s)`);
      io.out(`suanli serve: listening on ${url} — dashboard ${url}/, API ${url}/api/v1, docs ${url}/api/v1/docs, metrics ${url}/metrics${o.metricsToken === undefined ? ' (public)' : ' (bearer SUANLI_METRICS_TOKEN)'}; store: ${where}; policy: ${o.policy}${o.durationsKnown ? '' : ' (no run-time estimates)'}`);
      io.out(`suanli serve: ledger ${app.suanli.usage.origin}, log key ${verifierKeyOf(logKey)} (members pin it: suanli ledger verify)`);
      const signal = await until;
      io.out(`suanli serve: ${typeof signal === 'string' ? `${signal}, ` : ''}shutting down`);
    } finally {
      await app.close();
    }
  } finally {
    await store.close();
  }
}

/** A TCP port; 0 asks the system for a free one (the URL printed says which). */
export function portFrom(text: string): number {
  const port = parse.wholeNumber('port', text);
  if (port > 65_535) throw new InvalidInputError('port', `${port} is not a TCP port`, 'an integer from 0 to 65535 (0: any free port)');
  return port;
}

/** --advertise-url: an http(s) origin (scheme, host, port) that the other replicas can reach. */
function advertiseUrl(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || url.pathname !== '/' || url.search !== '') {
    throw new InvalidInputError('advertise-url', `"${text}" is not an http(s) origin`, 'scheme, host and port only, such as http://cp-2.internal:8040');
  }
  return url.origin;
}

function tlsOptions(cert: string | undefined, key: string | undefined): { tlsCert?: string; tlsKey?: string } {
  if ((cert === undefined) !== (key === undefined)) throw new InvalidInputError(cert === undefined ? 'tls-cert' : 'tls-key', 'is missing', 'both --tls-cert and --tls-key, or neither');
  return cert === undefined || key === undefined ? {} : { tlsCert: cert, tlsKey: key };
}

export function serveCommand(io: Output): Command {
  return new Command('serve')
    .description('run the control plane: the REST API (OpenAPI at /api/v1/openapi.json), the live scheduling loop and /metrics, on an embedded store or PostgreSQL (DATABASE_URL)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on (0: any free port)', '8040')
    .option('--data-dir <dir>', 'directory of the embedded store (ignored when DATABASE_URL is set)', './.suanli')
    .option('--policy <name>', `scheduling policy (${POLICY_NAMES.join(', ')})`, 'fair-share')
    .addOption(new Option('--estimates <level>', 'what the scheduler goes by for run times: the submitters\' estimates (estimate_s), or none at all (duration-sorting policies go by arrival, las and fair-srtf by the service each job has had)').choices(['user', 'none']).default('user'))
    .option('--pass-interval <seconds>', 'seconds between scheduling passes (a pass also runs soon after each submission or cancel)', '1')
    .option('--tls-cert <file>', 'PEM certificate (chain): listen with HTTPS (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--site-timeout <duration>', 'mark a site lost, and requeue its jobs, after this long without a heartbeat from its agent', '60s')
    .option('--ledger-origin <name>', "the usage log's name, the first line of its checkpoints (default suanli.local/ledger; a pool's own, e.g. pool.example.org/ledger)")
    .option('--trust-proxy <addresses>', 'behind a reverse proxy: its addresses or CIDR ranges, comma-separated, whose X-Forwarded-For gives the client address (failed sign-ins are limited per client address); never on a server clients reach directly')
    .option('--lease <duration>', 'on PostgreSQL (replicas): how long the leader lease holds without renewal; another replica leads within about this long after the leader dies', '5s')
    .option('--advertise-url <url>', 'on PostgreSQL (replicas): where the other replicas reach this one (default: the URL it listens on)')
    .option('--coallocation-timeout <duration>', 'release a job placed across sites on all of them, and requeue it, unless every site starts its part within this long', '2m')
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'))
    .addHelpText('after', `
Environment:
  DATABASE_URL          postgres://… — use a PostgreSQL ≥ 15 server instead of the embedded store
  SUANLI_ADMIN_TOKEN    the admin token to create on the first start (sl_<id>_<secret>); otherwise one is generated and printed once
  SUANLI_LOG_KEY        the log key (PRIVATE+KEY+…) that signs the usage log's checkpoints; otherwise <data dir>/log.key, made at the first start
  SUANLI_METRICS_TOKEN  when set, /metrics answers only \`Authorization: Bearer <it>\` (Prometheus: authorization.credentials)

Examples:
  suanli serve
  suanli serve --host 0.0.0.0 --port 8040 --data-dir /var/lib/suanli
  DATABASE_URL=postgres://suanli@db/suanli suanli serve --policy fair-share --pass-interval 0.5
  # replicas: the same command on several machines, with the same SUANLI_LOG_KEY; one leads, the others forward to it
  DATABASE_URL=postgres://suanli@db/suanli SUANLI_LOG_KEY=… suanli serve --host 0.0.0.0 --advertise-url http://cp-2.internal:8040 --lease 5s`)
    .action(async (o: Record<string, string>) => {
      await serve({
        host: o.host ?? '127.0.0.1',
        port: portFrom(o.port ?? ''),
        dataDir: o.dataDir ?? './.suanli',
        databaseUrl: process.env.DATABASE_URL || undefined,
        adminToken: process.env.SUANLI_ADMIN_TOKEN || undefined,
        metricsToken: process.env.SUANLI_METRICS_TOKEN || undefined,
        policy: policyByName(o.policy ?? ''),
        durationsKnown: o.estimates !== 'none',
        passIntervalMs: parse.number('pass-interval', o.passInterval ?? '') * 1000,
        logLevel: o.logLevel ?? 'info',
        ...tlsOptions(o.tlsCert, o.tlsKey),
        siteTimeoutMs: parse.duration('site-timeout', o.siteTimeout ?? '60s') * 1000,
        coallocationTimeoutMs: parse.duration('coallocation-timeout', o.coallocationTimeout ?? '2m') * 1000,
        ...(o.trustProxy === undefined ? {} : { trustProxy: parse.list('trust-proxy', o.trustProxy, (_flag, a) => a) }),
        ...(process.env.SUANLI_LOG_KEY ? { logKey: process.env.SUANLI_LOG_KEY } : {}),
        ...(o.ledgerOrigin === undefined ? {} : { ledgerOrigin: o.ledgerOrigin }),
        leaseMs: parse.duration('lease', o.lease ?? '5s') * 1000,
        ...(o.advertiseUrl === undefined ? {} : { advertiseUrl: advertiseUrl(o.advertiseUrl) }),
      }, io, shutdownSignal());
    });
}
