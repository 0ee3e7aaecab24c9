// Appending signed usage records to the usage log while members submit jobs (issue 14's
// target: appends keep pace with issue 4's 2,000 jobs a second, ≥ 2,000 records/s on
// embedded PGlite, and raise submission p99 by at most 10%). The real `suanli serve`
// in its own process, and in each round, side by side, autocannon submitting at
// 2,000/s (as the serve suite does) (a) with the usage log idle and (b) while the
// agents of SITES sites heartbeat, each sending the signatures of the usage records
// its last answer asked for (usage_to_sign, at most 100 a heartbeat), which the
// server checks and appends: the agents' path, from this process. Their runs are
// booked into the store beforehand (with the server stopped): pending ledger entries,
// as runs that ended leave them. Figures: submissions/s, p50 and p99 in (a) and (b),
// records appended per second in (b), p99(b)/p99(a); medians over SUANLI_BENCH_ROUNDS
// rounds (3) of SUANLI_BENCH_SECONDS (10) each, (a) and (b) taking turns to go first.
// Then, the server stopped, the UsageLog's append alone, in this process, on what is
// still pending: the most it takes with nothing else to do. Embedded PGlite always;
// PostgreSQL too when SUANLI_BENCH_DATABASE_URL is set. SUANLI_BENCH_APPEND_RATE sets
// the offered records/s (2,000); SUANLI_BENCH_PROFILE=<dir>, a CPU profile of the server.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpuSecondsOf } from '../src/ledger/usage-record.ts';
import type { NoteSigner } from '../src/ledger/note.ts';
import { buildServer } from '../src/server/app.ts';
import { keyFile } from '../src/server/log-keys.ts';
import { openStore } from '../src/store/index.ts';
import type { LedgerEntry } from '../src/store/types.ts';
import { bookRuns, logPending, recordSignature, siteRecordKey } from '../test/support/usage-log.ts';
import { report, summarize, type BenchResult } from './harness.ts';
import { ADMIN, api, busyPool, cannon, ROUNDS, SECONDS, startServer, stop, submissionFigures, type Cannon, type Server } from './serve.bench.ts';

/** Records a second the sites' heartbeats offer to append during (b). */
const RATE = Number(process.env.SUANLI_BENCH_APPEND_RATE ?? 2000);
/** What one heartbeat's answer asks a site to sign, at most (USAGE_PER_HEARTBEAT in src/server/routes/agent.ts). */
const PER_HEARTBEAT = 100;
/** Heartbeats a second per site: under the server's limit of 5 a second per site. */
const HEARTBEATS_PER_S = 4;
const SITES = Math.ceil(RATE / (PER_HEARTBEAT * HEARTBEATS_PER_S));
/** Each site's heartbeat period, ms: SITES sites, 100 records each, make RATE a second. */
const PERIOD_MS = (SITES * PER_HEARTBEAT * 1000) / RATE;
/** Runs booked per job (attempts 1…): fewer jobs to make and cancel. */
const ATTEMPTS = 100;
const CAPACITY = [{ gpu_type: 'a100', nodes: 1, gpus_per_node: 8 }];
const DEMAND = { gpus: 1, gpuTypes: ['a100'], gang: true, estimateS: 3600, priority: 0, preemptible: true, checkpointIntervalS: null, command: null, plan: null };

interface LenderSite {
  readonly id: string;
  readonly token: string;
  readonly key: { readonly signer: NoteSigner; readonly verifierKey: string };
}

/** What the sites' heartbeats did while they ran. */
interface Delivered {
  readonly records: number;
  readonly seconds: number;
  readonly heartbeatMs: readonly number[];
  /** Heartbeats answered other than 200 (a 429: faster than the site's allowance), or not answered. */
  readonly failed: number;
  /** Answers that asked a site to sign fewer than PER_HEARTBEAT records: its booked runs ran out. */
  readonly short: number;
  /** CPU this process used meanwhile (signing, HTTP), in cores. */
  readonly benchCores: number;
}

/**
 * The agents of the lender sites, as far as the usage log sees them: each heartbeats
 * every PERIOD_MS with its site key, the capacity it declares and the signatures of the
 * records the last answer asked for (signed with native Ed25519: the server's cost, not
 * the agent's, is measured); the next signatures wait while the sites are idle.
 */
class SiteAgents {
  private readonly next = new Map<string, { id: number; signature: string }[]>();
  private running: Promise<void>[] = [];
  private on = false;
  private records = 0;
  private failed = 0;
  private short = 0;
  private heartbeatMs: number[] = [];
  private began = 0;
  private cpu = process.cpuUsage();

  constructor(private readonly server: Server, private readonly sites: readonly LenderSite[]) {}

  start(): void {
    this.on = true;
    this.records = this.failed = this.short = 0;
    this.heartbeatMs = [];
    this.began = performance.now();
    this.cpu = process.cpuUsage();
    // Staggered, so that the sites' heartbeats spread over each period.
    this.running = this.sites.map((site, i) => this.loop(site, (i * PERIOD_MS) / this.sites.length));
  }

  async stop(): Promise<Delivered> {
    this.on = false;
    await Promise.all(this.running);
    const seconds = (performance.now() - this.began) / 1000;
    const cpu = process.cpuUsage(this.cpu);
    return { records: this.records, seconds, heartbeatMs: this.heartbeatMs, failed: this.failed, short: this.short, benchCores: (cpu.user + cpu.system) / 1e6 / seconds };
  }

  private async loop(site: LenderSite, delayMs: number): Promise<void> {
    await sleep(delayMs);
    while (this.on) {
      const begin = performance.now();
      await this.heartbeat(site);
      await sleep(begin + PERIOD_MS - performance.now());
    }
  }

  private async heartbeat(site: LenderSite): Promise<void> {
    const signatures = this.next.get(site.id) ?? [];
    const begin = performance.now();
    const res = await fetch(`${this.server.url}/api/v1/agent/heartbeat`, {
      method: 'POST', headers: { authorization: `Bearer ${site.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ capacity: CAPACITY, runs: [], sandbox_capable: false, site_key: site.key.verifierKey, usage_signatures: signatures, usage_refused: [] }),
    }).catch(() => null);
    if (res?.status !== 200) {
      this.failed++;
      await res?.text();
      return;
    }
    const answer = (await res.json()) as { usage_to_sign: { id: number; record: string }[] };
    this.heartbeatMs.push(performance.now() - begin);
    this.records += signatures.length;
    if (answer.usage_to_sign.length < PER_HEARTBEAT) this.short++;
    this.next.set(site.id, answer.usage_to_sign.map((u) => ({ id: u.id, signature: recordSignature(site.key.signer, u.record).base64 })));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** CPU seconds a process has used (Linux /proc; NaN elsewhere). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime: clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

/** Where the server's store is: embedded PGlite in its data directory, or a PostgreSQL database. */
const storeOf = (dataDir: string, databaseUrl: string | undefined) => openStore(databaseUrl === undefined ? { dataDir } : { databaseUrl });

/**
 * Waits until the server is nearly idle (under a fifth of a core over half a second, 30 s
 * at most): what one phase left to do (its queue's passes, a backlog) is not the next one's.
 */
async function settle(server: Server): Promise<void> {
  for (let tries = 0; tries < 60; tries++) {
    const cpu0 = cpuSeconds(server.child.pid);
    await sleep(500);
    const cores = (cpuSeconds(server.child.pid) - cpu0) / 0.5;
    if (!(cores >= 0.2)) return;
  }
}

/**
 * Books `n` finished runs of `org`'s jobs on the lender sites into the server's store
 * (the server stopped: embedded PGlite has one process at a time): the jobs are made
 * and cancelled (none waits in the queue), their runs left pending in the ledger.
 */
async function bookPendingRuns(dataDir: string, databaseUrl: string | undefined, org: string, lender: string, sites: readonly LenderSite[], n: number): Promise<void> {
  const store = await storeOf(dataDir, databaseUrl);
  try {
    // The usage log logs alone what ended over 10 minutes ago: these runs end ahead of the clock, so none is, however long the bench.
    const t0 = Date.now() + 3_600_000;
    const ids: string[] = [];
    for (let j = 0; j < Math.ceil(n / ATTEMPTS); j += 1000) {
      const batch = Array.from({ length: Math.min(1000, Math.ceil(n / ATTEMPTS) - j) }, (_, k) => ({ orgId: org, name: `run ${j + k}`, demand: DEMAND, submittedBy: 'bench', submittedAt: Date.now(), idempotencyKey: null }));
      const made = (await store.submitJobs(batch)).map((s) => s.job.id);
      await store.transition(made.map((jobId) => ({ jobId, from: ['pending'], to: 'cancelled', at: Date.now(), type: 'cancelled' })));
      ids.push(...made);
    }
    const entries: LedgerEntry[] = Array.from({ length: n }, (_, i) => {
      const gpus = 1 + (i % 8);
      const startAt = t0 + i;
      const at = startAt + 60_000 + ((i * 7919) % 3_600_000);
      return { jobId: ids[Math.floor(i / ATTEMPTS)] ?? '', attempt: 1 + (i % ATTEMPTS), siteId: sites[i % sites.length]?.id ?? '', consumerOrgId: org, providerOrgId: lender, gpuType: 'a100', gpus, startAt, at, gpuSeconds: gpuSecondsOf(gpus, startAt, at), outcome: 'succeeded' };
    });
    await bookRuns(store, entries);
  } finally {
    await store.close();
  }
}

/**
 * The UsageLog's own path, without HTTP or the check of the sites' signatures: the runs
 * still pending after the rounds logged through the server's UsageLog in this process (the
 * served one stopped), a heartbeat's worth at a time, each append timed.
 */
async function appendDirectly(dataDir: string, databaseUrl: string | undefined, sites: readonly LenderSite[]): Promise<{ records: number; rates: number[] }> {
  const store = await storeOf(dataDir, databaseUrl);
  const app = await buildServer({ store, logKey: keyFile(join(dataDir, 'log.key'), 'suanli-ledger').signerKey, schedule: false });
  try {
    await app.ready();
    const rates: number[] = [];
    const records = await logPending(store, app.suanli.usage, new Map(sites.map((s) => [s.id, s.key.signer])), { batch: PER_HEARTBEAT, onBatch: (n, ms) => rates.push((n * 1000) / ms) });
    return { records, rates };
  } finally {
    await app.close();
    await store.close();
  }
}

const logSize = async (server: Server) => (await api<{ size: number }>(server, 'GET', '/api/v1/ledger/checkpoint', ADMIN)).size;

async function benchOn(label: string, databaseUrl: string | undefined): Promise<BenchResult[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'suanli-bench-append-'));
  const say = (line: string) => console.log(`ledger-append, ${label}: ${line}`);
  try {
    // The pool of the serve suite, and a lender org whose sites lend nothing (the submissions stay queued behind the filler).
    let server = await startServer(dataDir, databaseUrl);
    const { org, token } = await busyPool(server);
    const lender = `lender-${Date.now()}`;
    await api(server, 'POST', '/api/v1/orgs', ADMIN, { id: lender, name: lender });
    const sites: LenderSite[] = [];
    for (let k = 0; k < SITES; k++) {
      const { id } = await api<{ id: string }>(server, 'POST', '/api/v1/sites', ADMIN, { name: `lender ${k}`, org_id: lender, capacity: CAPACITY, share: { lend_fraction: 0, lend_to: 'none' } });
      const agent = await api<{ token: string }>(server, 'POST', '/api/v1/tokens', ADMIN, { name: `agent ${k}`, role: 'agent', org_id: lender, site_id: id });
      sites.push({ id, token: agent.token, key: siteRecordKey() });
    }
    await stop(server, 'SIGTERM');
    // Enough runs for every round at the offered rate, a fifth more, and the warm-up's.
    const runs = Math.ceil(RATE * (SECONDS + 2) * ROUNDS * 1.2 + RATE * 4);
    let t0 = performance.now();
    await bookPendingRuns(dataDir, databaseUrl, org, lender, sites, runs);
    say(`booked ${runs.toLocaleString('en-US')} pending runs on ${SITES} sites in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    server = await startServer(dataDir, databaseUrl);
    const size0 = await logSize(server);

    // Warm-up: the first heartbeats present the site keys (taken at first use) and get the first records to sign.
    const agents = new SiteAgents(server, sites);
    agents.start();
    await cannon(server, token, 2, 16);
    const warm = await agents.stop();
    say(`warm-up, ${warm.records} records appended by ${SITES} sites' heartbeats`);

    const idle: Cannon[] = [];
    const busy: Cannon[] = [];
    const appended: Delivered[] = [];
    const serverCores: { idle: number[]; busy: number[] } = { idle: [], busy: [] };
    const phase = async (appending: boolean) => {
      await settle(server);
      const cpu0 = cpuSeconds(server.child.pid);
      t0 = performance.now();
      if (appending) agents.start();
      const run = await cannon(server, token, SECONDS, 64, 2000);
      if (appending) appended.push(await agents.stop());
      (appending ? busy : idle).push(run);
      serverCores[appending ? 'busy' : 'idle'].push((cpuSeconds(server.child.pid) - cpu0) / ((performance.now() - t0) / 1000));
      const d = appending ? appended.at(-1) : undefined;
      console.log(`  ${appending ? '(b) appending' : '(a) log idle '}: ${run.requests.average.toFixed(0)} submissions/s, p50 ${run.latency.p50} ms, p99 ${run.latency.p99} ms, server ${serverCores[appending ? 'busy' : 'idle'].at(-1)?.toFixed(2)} cores` +
        (d === undefined ? '' : `; ${(d.records / d.seconds).toFixed(0)} records/s appended, heartbeat p99 ${percentile(d.heartbeatMs, 0.99).toFixed(0)} ms, ${d.failed} heartbeats failed, ${d.short} answers short, this process ${d.benchCores.toFixed(2)} cores`));
    };
    for (let round = 0; round < ROUNDS; round++) {
      say(`round ${round + 1} of ${ROUNDS}`);
      // Each round grows the queue the passes diagnose: (a) and (b) take turns to go first.
      for (const appending of round % 2 === 0 ? [false, true] : [true, false]) await phase(appending);
    }

    // Every signature delivered is in the log once the next checkpoint is signed (every 2 s).
    const delivered = warm.records + appended.reduce((n, d) => n + d.records, 0);
    await sleep(2500);
    const logged = (await logSize(server)) - size0;
    say(`${delivered.toLocaleString('en-US')} site signatures delivered; the log grew by ${logged.toLocaleString('en-US')} records${logged === delivered ? '' : ' — MISMATCH'}`);
    await stop(server, 'SIGTERM');
    const direct = await appendDirectly(dataDir, databaseUrl, sites);
    say(`UsageLog.append alone, in-process, the rest of the booked runs (${direct.records.toLocaleString('en-US')}) in batches of ${PER_HEARTBEAT}: ${summarize('', '', direct.rates).median.toFixed(0)} records/s (median batch)`);

    const p99 = (runs: readonly Cannon[]) => summarize('', 'ms', runs.map((r) => r.latency.p99)).median;
    const ratio = p99(busy) / p99(idle);
    say(`p99(b)/p99(a), of the medians: ${ratio.toFixed(3)} (target ≤ 1.10)`);
    const runsAll = [...idle, ...busy];
    return [
      ...submissionFigures('(a) usage log idle, at 2,000/s', 64, idle),
      ...submissionFigures('(b) appending, at 2,000/s', 64, busy),
      summarize(`(b) usage records appended/s (heartbeats of ${SITES} sites, ≤ ${PER_HEARTBEAT} signatures each, ${HEARTBEATS_PER_S}/s a site)`, 'records/s', appended.map((d) => d.records / d.seconds)),
      summarize('(b) heartbeat p99 (answer to a heartbeat carrying 100 signatures)', 'ms', appended.map((d) => percentile(d.heartbeatMs, 0.99))),
      { name: 'p99(b)/p99(a), of the medians (target ≤ 1.10)', unit: 'ratio', median: ratio, min: ratio, max: ratio, rounds: ROUNDS },
      summarize('p99(b)/p99(a), per round', 'ratio', idle.map((a, i) => (busy[i]?.latency.p99 ?? NaN) / a.latency.p99)),
      summarize(`UsageLog.append alone, in-process, nothing else running, batches of ${PER_HEARTBEAT} (site signatures made beforehand, not checked)`, 'records/s', direct.rates),
      summarize('server CPU, (a) usage log idle', 'cores', serverCores.idle),
      summarize('server CPU, (b) appending', 'cores', serverCores.busy),
      summarize('non-2xx or errors (submissions), all rounds', 'count', [runsAll.reduce((n, r) => n + r.non2xx + r.errors, 0)]),
      summarize('failed heartbeats, all rounds', 'count', [appended.reduce((n, d) => n + d.failed, 0)]),
    ].map((r) => ({ ...r, name: `${label}: ${r.name}` }));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Embedded PGlite always; PostgreSQL too when SUANLI_BENCH_DATABASE_URL is set (as the serve suite). */
export async function benchLedgerAppend(): Promise<void> {
  const load = () => loadavg().map((l) => l.toFixed(2)).join(', ');
  const load0 = load();
  const results = await benchOn('embedded PGlite', undefined);
  const pg = process.env.SUANLI_BENCH_DATABASE_URL;
  if (pg !== undefined && pg !== '') results.push(...(await benchOn('PostgreSQL', pg)));
  console.log(`ledger-append: load average ${load()} at the end, ${load0} at the start (the 2 cores are shared with other work, which raises every figure)`);
  report('ledger-append', results);
}

function percentile(xs: readonly number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}
