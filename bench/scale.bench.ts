// A national pool's load on one control plane (issue 17): `suanli serve` (embedded store, or
// PostgreSQL with SUANLI_BENCH_DATABASE_URL) in its own process, and S emulated agents in this
// one (no executor): S sites of 8 × 8 GPUs in 20 orgs, each agent heartbeating every 5 s with its
// runs and signing its usage records, long-polling for assignments and reporting each run's start
// and end in batches; 20 submissions a second of 1–16 GPUs running 20–120 s. After a warm-up
// (every agent connected: its token's first check), a measured window of SUANLI_BENCH_SCALE_SECONDS
// (90). Sizes: SUANLI_BENCH_SCALE_SITES (200,1000,5000); SUANLI_BENCH_ROUNDS rounds of each (1).
// With SUANLI_BENCH_DATABASE_URL, on that PostgreSQL server, and SUANLI_BENCH_SCALE_REPLICAS (1)
// replicas of `suanli serve` on it: agents and submissions spread over them round-robin (the
// followers forward to the leader), the server CPU being all replicas' together; each round
// on a new database of that server. SUANLI_BENCH_SCALE_READS (0) reads a second besides: members
// showing one of their jobs and listing their org's, spread over the replicas likewise (a follower
// answers those itself).
//
// Per size: heartbeat, submission and report-batch latency (p50 / p99 / max, from the client);
// placement → agent (the job's placed_at to the long poll's answer arriving); the server's CPU
// (a share of one core) and this process's; sites the control plane marked lost (every agent is
// healthy, so any is wrong) and runs handed out twice (a job's second attempt, or a run handed
// again after it was reported running).
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { UsageSigner } from '../src/agent/usage-signer.ts';
import { newKeyPair } from '../src/server/log-keys.ts';
import { report, summarize, type BenchResult } from './harness.ts';
import { ADMIN, api, startServer, stop, type Server } from './serve.bench.ts';

const SIZES = (process.env.SUANLI_BENCH_SCALE_SITES ?? '200,1000,5000').split(',').map(Number);
const SECONDS = Number(process.env.SUANLI_BENCH_SCALE_SECONDS ?? 90);
const ROUNDS = Number(process.env.SUANLI_BENCH_ROUNDS ?? 1);
const REPLICAS = Number(process.env.SUANLI_BENCH_SCALE_REPLICAS ?? 1);
const READS_PER_S = Number(process.env.SUANLI_BENCH_SCALE_READS ?? 0);
/** The log key of every replica of every round: a database keeps the log of the rounds before, which a new key would fork (a new leader refuses to). */
const LOG_KEY = newKeyPair('suanli-ledger').signerKey;
const ORGS = 20;
const HEARTBEAT_MS = 5000;
const SUBMISSIONS_PER_S = 20;
const LONG_POLL_S = 25;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Keep-alive sockets, as many as asked for: one long poll per site stays open. */
const http = new Agent({ keepAlive: true, maxSockets: Infinity });

interface Answer<T> {
  readonly status: number;
  readonly body: T;
}

/** One request; resolves with the status and parsed body (never rejects on a status). */
function call<T>(url: URL, method: string, path: string, token: string, body?: unknown): Promise<Answer<T>> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request({ agent: http, host: url.hostname, port: url.port, method, path, headers: { authorization: `Bearer ${token}`, ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        try {
          resolve({ status: res.statusCode ?? 0, body: (text === '' ? null : JSON.parse(text)) as T });
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Latencies of one kind, ms. */
class Samples {
  readonly ms: number[] = [];
  errors = 0;
  add(ms: number): void {
    this.ms.push(ms);
  }
  quantile(q: number): number {
    const s = [...this.ms].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  }
}

/** CPU seconds a process has used (utime + stime, from /proc). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Run {
  readonly jobId: string;
  readonly attempt: number;
  readonly gpus: number;
  ended: boolean;
}

interface Measure {
  on: boolean;
  readonly heartbeat: Samples;
  readonly report: Samples;
  readonly submit: Samples;
  readonly read: Samples;
  /** job id → when its (first) assignment reached an agent (epoch ms), and which attempt it was. */
  readonly received: Map<string, { readonly at: number; readonly attempt: number }>;
  twice: number;
}

/** One site's agent, emulated: heartbeats, long polls, reports, signatures, and runs that just sleep. */
class EmulatedAgent {
  private readonly runs = new Map<string, Run>();
  private readonly queue: { job_id: string; attempt: number; state: string }[] = [];
  private sending = false;
  private review: { signatures: { id: number; signature: string }[]; refused: { id: number; reason: string }[] } = { signatures: [], refused: [] };
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  connected = false;

  constructor(private readonly url: URL, private readonly token: string, private readonly signer: UsageSigner, private readonly m: Measure) {}

  start(): void {
    this.later(Math.random() * HEARTBEAT_MS, () => void this.heartbeatLoop());
    void this.pollLoop();
  }

  halt(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private async heartbeatLoop(): Promise<void> {
    if (this.stopped) return;
    const t0 = performance.now();
    const review = this.review;
    try {
      const a = await call<{ stop: { job_id: string; attempt: number; after_s: number }[]; usage_to_sign: { id: number; record: string }[] }>(this.url, 'POST', '/api/v1/agent/heartbeat', this.token, {
        capacity: [{ gpu_type: 'h100', nodes: 8, gpus_per_node: 8 }], sandbox_capable: false,
        runs: [...this.runs.values()].filter((r) => !r.ended).map((r) => ({ job_id: r.jobId, attempt: r.attempt })),
        site_key: this.signer.verifierKey, usage_signatures: review.signatures, usage_refused: review.refused,
      });
      if (a.status === 200) {
        if (this.m.on && this.connected) this.m.heartbeat.add(performance.now() - t0);
        this.connected = true;
        this.review = this.signer.review(a.body.usage_to_sign, () => false);
        this.stopRuns(a.body.stop);
      } else if (this.m.on) this.m.heartbeat.errors++;
    } catch {
      if (this.m.on) this.m.heartbeat.errors++;
    }
    this.later(HEARTBEAT_MS, () => void this.heartbeatLoop());
  }

  private async pollLoop(): Promise<void> {
    while (!this.stopped) {
      try {
        const a = await call<{ assignments: { job_id: string; attempt: number; command: string[] | null; parts: { gpus: number }[] }[]; stop: { job_id: string; attempt: number; after_s: number }[] }>(this.url, 'GET', `/api/v1/agent/assignments?wait=${LONG_POLL_S}`, this.token);
        if (a.status !== 200) {
          await sleep(1000);
          continue;
        }
        const now = Date.now();
        for (const as of a.body.assignments) this.begin(as, now);
        this.stopRuns(a.body.stop);
      } catch {
        if (!this.stopped) await sleep(1000);
      }
    }
  }

  private begin(as: { job_id: string; attempt: number; command: string[] | null; parts: { gpus: number }[] }, now: number): void {
    const key = `${as.job_id}.${as.attempt}`;
    // Offered again before the control plane saw it running (the protocol's re-offer): ours already runs.
    if (this.runs.has(key)) return;
    if (this.m.received.has(as.job_id)) this.m.twice++;
    else this.m.received.set(as.job_id, { at: now, attempt: as.attempt });
    const gpus = as.parts.reduce((g, p) => g + p.gpus, 0);
    const run: Run = { jobId: as.job_id, attempt: as.attempt, gpus, ended: false };
    this.runs.set(key, run);
    this.signer.assigned(key, gpus);
    this.signer.started(key);
    this.send({ job_id: as.job_id, attempt: as.attempt, state: 'running' });
    const seconds = Number(as.command?.[1] ?? 30);
    this.later(seconds * 1000, () => {
      if (run.ended) return;
      run.ended = true;
      this.signer.ended(key);
      this.send({ job_id: as.job_id, attempt: as.attempt, state: 'succeeded' });
    });
  }

  private stopRuns(stop: readonly { job_id: string; attempt: number; after_s: number }[]): void {
    for (const s of stop) {
      const key = `${s.job_id}.${s.attempt}`;
      const run = this.runs.get(key);
      if (run === undefined || run.ended) continue;
      this.later(s.after_s * 1000, () => {
        if (run.ended) return;
        run.ended = true;
        this.signer.ended(key);
        this.send({ job_id: s.job_id, attempt: s.attempt, state: 'stopped' });
      });
    }
  }

  /** Reports go in batches, one batch in flight at a time (as the real agent's). */
  private send(r: { job_id: string; attempt: number; state: string }): void {
    this.queue.push(r);
    if (!this.sending) void this.flush();
  }

  private async flush(): Promise<void> {
    this.sending = true;
    while (this.queue.length > 0 && !this.stopped) {
      const reports = this.queue.splice(0, 256);
      const t0 = performance.now();
      try {
        const a = await call(this.url, 'POST', '/api/v1/agent/reports/batch', this.token, { reports });
        if (this.m.on) {
          if (a.status === 200) this.m.report.add(performance.now() - t0);
          else this.m.report.errors++;
        }
        if (a.status === 429 || a.status >= 500) {
          this.queue.unshift(...reports);
          await sleep(1000);
        }
      } catch {
        if (this.m.on) this.m.report.errors++;
        this.queue.unshift(...reports);
        await sleep(1000);
      }
    }
    this.sending = false;
  }
}

/** A new, empty database on the server `databaseUrl` names (its user must be allowed to create one), as a URL. */
async function freshDatabase(databaseUrl: string): Promise<string> {
  const name = `suanli_scale_${Date.now().toString(36)}`;
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return url.href;
}

/** Runs `fn` over `items`, `width` at a time. */
async function inParallel<T, R>(items: readonly T[], width: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  }));
  return out;
}

interface RoundFigures {
  readonly heartbeat: Samples;
  readonly submit: Samples;
  readonly report: Samples;
  readonly dispatch: Samples;
  readonly read: Samples;
  readonly serverCpu: number;
  /** The first replica's (the leader's) CPU alone. */
  readonly leaderCpu: number;
  readonly benchCpu: number;
  readonly lost: number;
  readonly twice: number;
  readonly setupS: number;
  readonly connectS: number;
}

async function round(sites: number, databaseUrl: string | undefined): Promise<RoundFigures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'suanli-scale-'));
  const servers: Server[] = [];
  const agents: EmulatedAgent[] = [];
  try {
    // On PostgreSQL, a database of the round's own: the jobs and sites of a round before would be loaded with it.
    const url = databaseUrl === undefined ? undefined : await freshDatabase(databaseUrl);
    for (let r = 0; r < (url === undefined ? 1 : REPLICAS); r++) servers.push(await startServer(join(dataDir, `r${r}`), url, ['--site-timeout', '15s'], { SUANLI_LOG_KEY: LOG_KEY }));
    const server = servers[0] as Server;
    const urls = servers.map((s) => new URL(s.url));
    const t0 = performance.now();
    // Names of this round's own (a PostgreSQL database keeps the rounds before).
    const tag = Date.now().toString(36);
    const orgs = Array.from({ length: ORGS }, (_, i) => `o${tag}-${String(i + 1).padStart(2, '0')}`);
    const members = await inParallel(orgs, 4, async (org) => {
      await api(server, 'POST', '/api/v1/orgs', ADMIN, { id: org, name: org });
      await api(server, 'PATCH', `/api/v1/orgs/${org}/quota`, ADMIN, { sites: 100_000, nodes: 10_000_000, gpus: 100_000_000, queued_jobs: 1_000_000 });
      return (await api<{ token: string }>(server, 'POST', '/api/v1/tokens', ADMIN, { name: 'member', role: 'member', org_id: org })).token;
    });
    const keys = mkdtempSync(join(tmpdir(), 'suanli-scale-keys-'));
    const tokens = await inParallel(Array.from({ length: sites }, (_, i) => i), 8, async (i) => {
      const org = orgs[i % ORGS] ?? 'org01';
      const site = await api<{ id: string }>(server, 'POST', '/api/v1/sites', ADMIN, { name: `s${i}`, org_id: org, capacity: [{ gpu_type: 'h100', nodes: 8, gpus_per_node: 8 }] });
      return (await api<{ token: string }>(server, 'POST', '/api/v1/tokens', ADMIN, { name: `agent-${i}`, role: 'agent', org_id: org, site_id: site.id })).token;
    });
    const setupS = (performance.now() - t0) / 1000;
    const m: Measure = { on: false, heartbeat: new Samples(), report: new Samples(), submit: new Samples(), read: new Samples(), received: new Map(), twice: 0 };
    for (const [i, token] of tokens.entries()) agents.push(new EmulatedAgent(urls[i % urls.length] as URL, token, new UsageSigner(join(keys, `site-${i}.key`)), m));
    rmSync(keys, { recursive: true, force: true });
    const t1 = performance.now();
    for (const a of agents) a.start();
    // Warm-up: every agent connected (its token checked once), and one more heartbeat period.
    while (agents.some((a) => !a.connected)) await sleep(200);
    const connectS = (performance.now() - t1) / 1000;
    await sleep(HEARTBEAT_MS);
    const pids = servers.map((s) => s.child.pid ?? 0);
    const cpuOfServers = () => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    const cpu0 = cpuOfServers();
    const leader0 = cpuSeconds(pids[0] ?? 0);
    const own0 = process.cpuUsage();
    const w0 = performance.now();
    m.on = true;
    // Submissions at a steady rate, each timed; the window ends when the last is answered.
    const submitted: string[] = [];
    const submittedBy: number[] = [];
    // Reads at their own steady rate until the last submission is sent: a job of the reader's org, or its org's list.
    let reading = READS_PER_S > 0;
    const reads = (async () => {
      const inFlight: Promise<void>[] = [];
      for (let n = 0; reading; n++) {
        const wait = w0 + (n * 1000) / READS_PER_S - performance.now();
        if (wait > 0) await sleep(wait);
        const pick = submitted.length === 0 ? -1 : (n * 7919) % submitted.length;
        const org = pick < 0 ? n % ORGS : (submittedBy[pick] ?? 0);
        const path = pick < 0 || n % 2 === 1 ? `/api/v1/jobs?org=${orgs[org] ?? ''}&limit=20` : `/api/v1/jobs/${submitted[pick] ?? ''}`;
        const r0 = performance.now();
        inFlight.push(call(urls[n % urls.length] as URL, 'GET', path, members[org] ?? '').then(
          (a) => (a.status === 200 ? m.read.add(performance.now() - r0) : void m.read.errors++),
          () => void m.read.errors++,
        ));
      }
      await Promise.all(inFlight);
    })();
    const total = SECONDS * SUBMISSIONS_PER_S;
    let rng = 42;
    const rand = () => ((rng = (rng * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const inFlight: Promise<void>[] = [];
    for (let n = 0; n < total; n++) {
      const due = w0 + (n * 1000) / SUBMISSIONS_PER_S;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const org = n % ORGS;
      const gpus = [1, 2, 4, 8, 16][Math.floor(rand() * 5)] ?? 1;
      const seconds = 20 + Math.floor(rand() * 101);
      const s0 = performance.now();
      inFlight.push(call<{ id: string }>(urls[n % urls.length] as URL, 'POST', '/api/v1/jobs', members[org] ?? '', { name: 'scale', gpus, estimate_s: seconds, command: ['sleep', String(seconds)] }).then(
        (a) => {
          if (a.status === 201) {
            m.submit.add(performance.now() - s0);
            submitted.push(a.body.id);
            submittedBy.push(org);
          } else m.submit.errors++;
        },
        () => void m.submit.errors++,
      ));
    }
    await Promise.all(inFlight);
    reading = false;
    await reads;
    const windowS = (performance.now() - w0) / 1000;
    m.on = false;
    const serverCpu = (cpuOfServers() - cpu0) / windowS;
    const leaderCpu = (cpuSeconds(pids[0] ?? 0) - leader0) / windowS;
    const own = process.cpuUsage(own0);
    const benchCpu = (own.user + own.system) / 1e6 / windowS;
    for (const a of agents) a.halt();
    // Placement → agent, from each job's placement time (same machine, same clock).
    const dispatch = new Samples();
    await inParallel([...m.received], 8, async ([id, { at, attempt }]) => {
      const job = await api<{ placements?: { attempt: number; placed_at: string }[] }>(server, 'GET', `/api/v1/jobs/${id}`, ADMIN);
      const placedAt = Date.parse(job.placements?.find((p) => p.attempt === attempt)?.placed_at ?? '');
      if (Number.isFinite(placedAt)) dispatch.add(at - placedAt);
    });
    const listed = await api<{ sites: { health: string }[] }>(server, 'GET', '/api/v1/sites', ADMIN);
    const lost = listed.sites.filter((s) => s.health !== 'up').length;
    console.log(`${sites} sites: set up in ${setupS.toFixed(0)} s, all agents connected in ${connectS.toFixed(1)} s; ${submitted.length} jobs submitted in ${windowS.toFixed(0)} s, ${m.received.size} handed to agents`);
    return { heartbeat: m.heartbeat, submit: m.submit, report: m.report, dispatch, read: m.read, serverCpu, leaderCpu, benchCpu, lost, twice: m.twice, setupS, connectS };
  } finally {
    for (const a of agents) a.halt();
    for (const s of servers) await stop(s, 'SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(x < 10 ? 1 : 0)} ms`);

export async function benchScale(): Promise<void> {
  const databaseUrl = process.env.SUANLI_BENCH_DATABASE_URL;
  const store = databaseUrl === undefined || databaseUrl === '' ? 'embedded PGlite' : `PostgreSQL, ${REPLICAS} replica${REPLICAS === 1 ? '' : 's'}`;
  const results: BenchResult[] = [];
  const rows: string[][] = [];
  for (const sites of SIZES) {
    const rounds: RoundFigures[] = [];
    for (let r = 0; r < ROUNDS; r++) rounds.push(await round(sites, databaseUrl === '' ? undefined : databaseUrl));
    const fig = (name: string, unit: string, f: (x: RoundFigures) => number) => {
      const s = summarize(`${store}, ${sites} sites: ${name}`, unit, rounds.map(f));
      results.push(s);
      return s.median;
    };
    const hb50 = fig('heartbeat p50', 'ms', (x) => x.heartbeat.quantile(0.5));
    const hb99 = fig('heartbeat p99', 'ms', (x) => x.heartbeat.quantile(0.99));
    const hbMax = fig('heartbeat max', 'ms', (x) => x.heartbeat.quantile(1));
    const sub99 = fig('submission p99', 'ms', (x) => x.submit.quantile(0.99));
    const rep99 = fig('report batch p99', 'ms', (x) => x.report.quantile(0.99));
    const dis99 = fig('placement → agent p99', 'ms', (x) => x.dispatch.quantile(0.99));
    const read99 = READS_PER_S > 0 ? fig('read p99', 'ms', (x) => x.read.quantile(0.99)) : NaN;
    const cpu = fig('server CPU', 'cores', (x) => x.serverCpu);
    const leaderCpu = REPLICAS > 1 ? fig('leader CPU', 'cores', (x) => x.leaderCpu) : NaN;
    const bench = fig('emulator CPU', 'cores', (x) => x.benchCpu);
    const errors = fig('errors (heartbeat, submission, report, read)', 'count', (x) => x.heartbeat.errors + x.submit.errors + x.report.errors + x.read.errors);
    const lost = fig('sites marked lost', 'count', (x) => x.lost);
    const twice = fig('runs handed twice', 'count', (x) => x.twice);
    const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
    rows.push([String(sites), (sites * 64).toLocaleString('en-US'), `${ms(hb50)} / ${ms(hb99)} (max ${ms(hbMax)})`, ms(sub99), ms(rep99), ms(dis99), ...(READS_PER_S > 0 ? [ms(read99)] : []), REPLICAS > 1 ? `${pct(cpu)} (leader ${pct(leaderCpu)})` : pct(cpu), pct(bench), String(errors), `${lost} / ${twice}`]);
  }
  const head = ['sites', 'GPUs', 'heartbeat p50 / p99', 'submission p99', 'report p99', 'placement → agent p99', ...(READS_PER_S > 0 ? ['read p99'] : []), 'server CPU', 'emulator CPU', 'errors', 'lost / twice'];
  console.log(`\n${store}, ${SECONDS} s at ${SUBMISSIONS_PER_S} submissions/s${READS_PER_S > 0 ? ` and ${READS_PER_S} reads/s` : ''} (medians of ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}):\n| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}`);
  report('scale', results);
}
