// Job submissions per second through `suanli serve` (the real command, in its own
// process), with durable commits, measured by autocannon (in another process) on
// localhost: a saturating run and a run at the target rate (2,000/s), each giving
// throughput and p50/p99 latency, as medians over SUANLI_BENCH_ROUNDS rounds (3).
// Embedded PGlite always; PostgreSQL too when SUANLI_BENCH_DATABASE_URL is set. Afterwards the server is killed with SIGKILL,
// restarted, and the jobs it holds are counted against what autocannon was told.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { report, summarize, type BenchResult } from './harness.ts';

export const ROOT = join(import.meta.dirname, '..');
export const ADMIN = `sl_bench_${'b'.repeat(40)}`;
export const SECONDS = Number(process.env.SUANLI_BENCH_SECONDS ?? 10);
/** Rounds of each load (saturating, then at the target rate); the figures are their medians. */
export const ROUNDS = Number(process.env.SUANLI_BENCH_ROUNDS ?? 3);

export interface Server {
  readonly url: string;
  readonly child: ChildProcess;
}

/** SUANLI_BENCH_PROFILE=<dir>: the server writes a V8 CPU profile there when it stops (open it in Chrome DevTools). */
const PROFILE = process.env.SUANLI_BENCH_PROFILE;

/** `extra`: more `suanli serve` options; `env`: more variables. */
export function startServer(dataDir: string, databaseUrl: string | undefined, extra: readonly string[] = [], moreEnv: Readonly<Record<string, string>> = {}): Promise<Server> {
  const env = { ...process.env, SUANLI_ADMIN_TOKEN: ADMIN, DATABASE_URL: databaseUrl ?? '', ...moreEnv };
  const profile = PROFILE === undefined || PROFILE === '' ? [] : ['--cpu-prof', '--cpu-prof-dir', PROFILE];
  const child = spawn(process.execPath, [...profile, join(ROOT, 'bin', 'suanli.js'), 'serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn', ...extra], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m?.[1] !== undefined) resolve({ url: m[1], child });
    });
    child.on('exit', (code) => reject(new Error(`suanli serve exited (${code ?? 'signal'}) before listening:\n${out}`)));
  });
}

export async function stop(server: Server, signal: NodeJS.Signals): Promise<void> {
  const exited = new Promise((r) => server.child.once('exit', r));
  server.child.kill(signal);
  await exited;
}

export async function api<T>(server: Server, method: string, path: string, token: string, body?: unknown): Promise<T> {
  const res = await fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export interface Cannon {
  readonly requests: { readonly average: number };
  readonly latency: { readonly p50: number; readonly p99: number };
  readonly '2xx': number;
  readonly non2xx: number;
  readonly errors: number;
}

/** One autocannon run submitting jobs; `rate` caps requests per second (latencies then correct for coordinated omission). */
export async function cannon(server: Server, token: string, seconds: number, connections: number, rate?: number): Promise<Cannon> {
  const body = JSON.stringify({ name: 'bench', gpus: 1, estimate_s: 3600 });
  const args = [join(ROOT, 'node_modules', 'autocannon', 'autocannon.js'), '-c', String(connections), '-d', String(seconds), '-m', 'POST', '-H', 'content-type=application/json', '-H', `authorization=Bearer ${token}`, '-b', body, '-j', '-n', ...(rate === undefined ? [] : ['-R', String(rate)]), `${server.url}/api/v1/jobs`];
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 64 << 20 });
  return JSON.parse(stdout) as Cannon;
}

/** Submissions a second, p50 and p99 of autocannon runs at `connections`: medians over the runs. */
export function submissionFigures(what: string, connections: number, runs: readonly Cannon[]): BenchResult[] {
  return [
    summarize(`${what} (${connections} connections) submissions/s`, 'req/s', runs.map((r) => r.requests.average)),
    summarize(`${what} p50`, 'ms', runs.map((r) => r.latency.p50)),
    summarize(`${what} p99`, 'ms', runs.map((r) => r.latency.p99)),
  ];
}

/** Jobs the store holds for `org`, counted page by page. */
async function countJobs(server: Server, org: string): Promise<number> {
  let n = 0;
  let after: string | null = null;
  do {
    const page: { jobs: unknown[]; next: string | null } = await api(server, 'GET', `/api/v1/jobs?org=${org}&limit=500${after === null ? '' : `&after=${after}`}`, ADMIN);
    n += page.jobs.length;
    after = page.next;
  } while (after !== null);
  return n;
}

/**
 * A busy pool on `server`: an org allowed any number of queued jobs, its one site of
 * 512 GPUs all held by one placed job, and a member token of the org. Submissions then
 * queue behind the filler, and each pass diagnoses the newcomers.
 */
export async function busyPool(server: Server): Promise<{ readonly org: string; readonly token: string }> {
  const org = `bench-${Date.now()}`;
  await api(server, 'POST', '/api/v1/orgs', ADMIN, { id: org, name: org });
  // Each round adds tens of thousands of waiting jobs: far over an org's default quota of queued jobs.
  await api(server, 'PATCH', `/api/v1/orgs/${org}/quota`, ADMIN, { queued_jobs: 100_000_000 });
  await api(server, 'POST', '/api/v1/sites', ADMIN, { name: 'bench', org_id: org, capacity: [{ gpu_type: 'h100', nodes: 64, gpus_per_node: 8 }] });
  const { token } = await api<{ token: string }>(server, 'POST', '/api/v1/tokens', ADMIN, { name: 'bench', role: 'member', org_id: org });
  const filler = await api<{ id: string }>(server, 'POST', '/api/v1/jobs', token, { name: 'filler', gpus: 512, estimate_s: 86_400 });
  while ((await api<{ state: string }>(server, 'GET', `/api/v1/jobs/${filler.id}`, token)).state !== 'placed') await new Promise((r) => setTimeout(r, 50));
  return { org, token };
}

async function benchStore(label: string, databaseUrl: string | undefined): Promise<BenchResult[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'suanli-bench-'));
  try {
    let server = await startServer(dataDir, databaseUrl);
    const { org, token } = await busyPool(server);
    const warm = await cannon(server, token, 2, 16);
    const saturate: Cannon[] = [];
    const target: Cannon[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      saturate.push(await cannon(server, token, SECONDS, 32));
      target.push(await cannon(server, token, SECONDS, 64, 2000));
    }
    const runs = [...saturate, ...target];
    const told = 1 + warm['2xx'] + runs.reduce((n, r) => n + r['2xx'], 0);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const batch = (name: string) => Number(new RegExp(`^suanli_submit_batch_size_${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
    const passes = (name: string) => Number(new RegExp(`^suanli_scheduling_pass_seconds_${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
    console.log(`${label}: ${batch('count')} commits of ${(batch('sum') / batch('count')).toFixed(1)} submissions on average; ${passes('count')} scheduling passes of ${((passes('sum') / passes('count')) * 1000).toFixed(1)} ms on average`);
    const before = await countJobs(server, org);
    await stop(server, 'SIGKILL');
    server = await startServer(dataDir, databaseUrl);
    const after = await countJobs(server, org);
    await stop(server, 'SIGTERM');
    // autocannon stops with one request in flight per connection, committed but not counted.
    const inFlight = 16 + (32 + 64) * ROUNDS;
    const ok = before >= told && before <= told + inFlight && after === before;
    console.log(`${label}: ${told} submissions acknowledged (warm-up and filler included, up to ${inFlight} more in flight at the ends); the store held ${before} of the org's jobs, ${after} after SIGKILL and restart${ok ? '' : ' — MISMATCH'}`);
    // Each round also grows the queue the passes diagnose: later rounds run against more jobs.
    return [
      ...submissionFigures('saturating', 32, saturate),
      ...submissionFigures('at 2,000/s', 64, target),
      summarize('non-2xx or errors, all rounds', 'count', [runs.reduce((n, r) => n + r.non2xx + r.errors, 0)]),
    ].map((r) => ({ ...r, name: `${label}: ${r.name}` }));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchServe(): Promise<void> {
  const results = await benchStore('embedded PGlite', undefined);
  const pg = process.env.SUANLI_BENCH_DATABASE_URL;
  if (pg !== undefined && pg !== '') results.push(...(await benchStore('PostgreSQL', pg)));
  report('serve', results);
}
