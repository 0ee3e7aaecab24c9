import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { Agent } from '../agent/agent.ts';
import { ControlPlaneClient } from '../agent/control-plane-client.ts';
import { LocalExecutor } from '../executors/local.ts';
import { FINAL_RUN_STATES, type Executor } from '../executors/types.ts';
import { InvalidInputError } from '../model/errors.ts';
import type { Api } from '../server/control-plane.ts';
import { LOCK_FILE, lockDataDir } from '../store/data-dir-lock.ts';
import { ownedGpus, poolSize, summaryJson, summaryText, WorkloadProgress, type DemoSite, type LedgerCheck, type JobDetail, type JobListed, type Ledger, type ProgressLine } from './demo-report.ts';
import { DEMO_JOBS, DEMO_MEMBERS, DEMO_WAN, gpusOf, gpuTypesOf, jobArgv, type DemoJob, type DemoMember } from './demo-workload.ts';
import * as fmt from './format.ts';
import type { Output } from './plan-command.ts';
import { portFrom, shutdownSignal } from './serve-command.ts';

export interface DemoOptions {
  readonly port: number;
  /** Wiped and recreated at start: the store, each site's runs, logs and executor state. */
  readonly dataDir: string;
  readonly exitWhenDone: boolean;
  readonly json: boolean;
}

/** Where the demo prints; whether progress goes to a terminal (`outIsTty`, or `isTty` with --json) decides between a redrawn status and one line per change. */
export type DemoIo = Output & { err(text: string): void; isTty?: boolean; outIsTty?: boolean };

/**
 * Timers of the demo pool: fast enough that a job a few seconds long is placed,
 * started and reported within about a second, and slow enough for two shared cores.
 */
const TIMING = {
  passIntervalMs: 300,
  heartbeatMs: 500,
  watchMs: 200,
  longPollS: 5,
  maxBackoffMs: 1000,
  executorPollMs: 200,
  /** A cancelled run's processes get this long between SIGTERM and SIGKILL. */
  killGraceMs: 1000,
  /** How often progress is polled: each change as a line, or the status redrawn about once a second. */
  lineTickMs: 300,
  statusTickMs: 1000,
  /** Give up waiting for the agents, or for the workload, after this long. */
  sitesUpMs: 30_000,
  workloadMs: 180_000,
  /** How long the agents get to sign the last runs' usage records before the ledger is shown. */
  usageSignedMs: 15_000,
} as const;

/** The file that marks a directory as the demo's own, safe to wipe at the next start. */
const DEMO_MARKER = '.suanli-demo';

/**
 * Refuses a data directory the demo must not wipe: anything but a directory, and a
 * non-empty directory without the marker an earlier demo left, so a mistyped
 * --data-dir never deletes anyone's files. Changes nothing.
 */
function checkDataDir(dir: string): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new InvalidInputError('data-dir', `${dir} is not a directory`, 'a directory the demo may wipe');
  const entries = readdirSync(dir);
  if (entries.length > 0 && !entries.includes(DEMO_MARKER)) {
    throw new InvalidInputError('data-dir', `${dir} is not empty and was not made by \`suanli demo\`, which wipes its data directory`, 'a new or empty directory, or one an earlier `suanli demo` made');
  }
}

/**
 * Makes `dir` an empty demo directory (see checkDataDir), locked to this process
 * until the returned release is called: a demo still running in it keeps its lock,
 * and this one stops with an error naming --data-dir before wiping anything.
 */
function freshDataDir(dir: string): () => void {
  checkDataDir(dir);
  mkdirSync(dir, { recursive: true });
  const release = lockDataDir(dir);
  try {
    for (const entry of readdirSync(dir)) if (entry !== LOCK_FILE) rmSync(join(dir, entry), { recursive: true, force: true });
    writeFileSync(join(dir, DEMO_MARKER), 'made by `suanli demo`, which wipes this directory at every start\n');
  } catch (err) {
    release();
    throw err;
  }
  return release;
}

/** The first SIGINT or SIGTERM: a flag the setup steps check between steps, and a promise the waits race. */
class Interruption {
  signal: string | null = null;
  readonly signalled: Promise<string>;

  constructor(until: Promise<string>) {
    this.signalled = until.then((s) => (this.signal = s));
  }

  /** Resolves after `ms`, or at once when interrupted. */
  async pause(ms: number): Promise<void> {
    if (this.signal !== null) return;
    await Promise.race([sleep(ms), this.signalled]);
  }
}

/** Closes what the demo opened, last opened first; every step runs even if one before it failed. */
class Closers {
  private readonly steps: (() => void | Promise<void>)[] = [];

  add(step: () => void | Promise<void>): void {
    this.steps.push(step);
  }

  /** Runs every step; rethrows the first failure once all have run. */
  async closeAll(): Promise<void> {
    let first: Error | undefined;
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        first ??= err instanceof Error ? err : new Error(String(err));
      }
    }
    if (first !== undefined) throw first;
  }
}

/** A workload job and the id the control plane gave it. */
interface Submitted {
  readonly id: string;
  readonly job: DemoJob;
}

/** A member once enrolled: its site and the tokens the demo made for it. */
interface Enrolled {
  readonly member: DemoMember;
  readonly site: DemoSite;
  readonly agentToken: string;
  readonly memberToken: string;
}

/** Listens on `port` on the loopback; a busy port falls back to a free one, and says so. */
async function listen(app: Api, port: number, note: (s: string) => void): Promise<string> {
  const host = '127.0.0.1';
  try {
    return await app.listen({ host, port });
  } catch (err) {
    if (port === 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    const url = await app.listen({ host, port: 0 });
    note(`suanli demo: port ${port} is in use, so the control plane listens on a free port instead`);
    return url;
  }
}

/** Creates each member's org and site, an agent token bound to the site, and a member token to submit with; all through the REST API as the admin. */
async function enrol(admin: ControlPlaneClient): Promise<Enrolled[]> {
  const enrolled: Enrolled[] = [];
  for (const [i, member] of DEMO_MEMBERS.entries()) {
    await admin.call('POST', '/orgs', { id: member.orgId, name: member.orgName });
    const capacity = member.inventory.map((c) => ({ gpu_type: c.gpuType, nodes: c.nodes, gpus_per_node: c.gpusPerNode }));
    // Every demo site is this machine: its runs take the other sites' parts of a spanning job on loopback, each site on ports of its own.
    const spanEndpoint = { addresses: ['127.0.0.1'], ports: { from: 29500 + 100 * i, to: 29599 + 100 * i } };
    // Borrowed runs keep the host's network (contained all the same): a spanning job's parts on lent GPUs must reach each other.
    const site = await admin.call<{ id: string }>('POST', '/sites', { name: member.siteName, org_id: member.orgId, capacity, span_endpoint: spanEndpoint, share: { borrowed_network: 'host' } });
    const agent = await admin.call<{ token: string }>('POST', '/tokens', { name: `${member.siteName} agent`, role: 'agent', org_id: member.orgId, site_id: site.id });
    const submitter = await admin.call<{ token: string }>('POST', '/tokens', { name: `${member.orgId} demo member`, role: 'member', org_id: member.orgId });
    enrolled.push({
      member, agentToken: agent.token, memberToken: submitter.token,
      site: { id: site.id, orgId: member.orgId, name: member.siteName, gpuType: gpuTypesOf(member), gpus: gpusOf(member) },
    });
  }
  // Then each site declares its WAN links: a link counts only once both of its sites declare it.
  for (const e of enrolled) {
    const wan_links = DEMO_WAN.flatMap((l) => {
      const other = l.a === e.site.name ? l.b : l.b === e.site.name ? l.a : null;
      const peer = enrolled.find((p) => p.site.name === other);
      return peer === undefined ? [] : [{ to_site: peer.site.id, gbps: l.gbps, latency_ms: l.latencyMs }];
    });
    await admin.call('PATCH', `/sites/${e.site.id}`, { wan_links });
  }
  return enrolled;
}

/**
 * Each member's agent, with a local executor declaring the site's GPUs, working under
 * `<dataDir>/sites/<org>`; not started yet. The agents' warnings (the control plane
 * unreachable, say) go to stderr under the site's name.
 */
function agentsFor(url: string, dataDir: string, members: readonly Enrolled[], io: DemoIo): { agent: Agent; executor: Executor }[] {
  return members.map((m) => {
    const workDir = join(dataDir, 'sites', m.member.orgId);
    const executor = new LocalExecutor({ stateDir: join(workDir, 'state'), inventory: m.member.inventory, pollMs: TIMING.executorPollMs, killGraceMs: TIMING.killGraceMs });
    const agent = new Agent({
      server: url, token: m.agentToken, executor, workDir,
      heartbeatMs: TIMING.heartbeatMs, watchMs: TIMING.watchMs, waitS: TIMING.longPollS, maxBackoffMs: TIMING.maxBackoffMs,
      logger: { info: () => undefined, warn: (s) => io.err(`${m.site.name}: ${s}`) },
    });
    return { agent, executor };
  });
}

/** Waits (a few seconds at most) until every usage record is in the usage log, signed by its site's agent. */
async function usageLogged(app: Api, stop: { readonly signal: string | null }): Promise<void> {
  const { store, usage } = app.suanli;
  const deadline = Date.now() + TIMING.usageSignedMs;
  while (stop.signal === null && Date.now() < deadline && (await store.pendingUsage({ endedBefore: Number.MAX_SAFE_INTEGER, limit: 1 })).length > 0) {
    await new Promise((r) => setTimeout(r, 100));
  }
  await usage.checkpoint();
}

/** `suanli ledger verify` as each member runs it, with its member token, its ledger state in `<data dir>/members/<org>/`. */
async function verifyEach(url: string, dataDir: string, members: readonly Enrolled[]): Promise<LedgerCheck[]> {
  // Loaded here: the ledger's crypto would slow every other command's start-up.
  const [{ verifyLedger }, { ApiClient }] = await Promise.all([import('./client/ledger.ts'), import('./client/http.ts')]);
  const checks: LedgerCheck[] = [];
  for (const m of members) {
    const api = new ApiClient({ server: url, token: m.memberToken, serverFrom: 'the demo' });
    const r = await verifyLedger(api, { statePath: join(dataDir, 'members', m.member.orgId, 'ledger-state.json') });
    checks.push({
      org: r.org, verified: r.problems.length === 0, checkpointSize: r.checkpoint.size, logKey: r.pin.logKey,
      records: r.audit.entries.verified, bySite: r.audit.entries.bySite, controlPlaneAlone: r.audit.entries.controlPlaneAlone.length,
      creditsGpuH: r.audit.credits.recomputed.reduce((n, c) => n + c.creditsGpuH, 0), problems: r.problems.map((p) => p.detail),
    });
  }
  return checks;
}

/** Submits the workload in DEMO_JOBS order, each job with its org's member token, as a member would. */
async function submitWorkload(url: string, members: readonly Enrolled[]): Promise<Submitted[]> {
  const submitted: Submitted[] = [];
  for (const job of DEMO_JOBS) {
    const submitter = members.find((m) => m.member.orgId === job.orgId);
    if (submitter === undefined) throw new Error(`demo job ${job.name}: no member ${job.orgId}`);
    const client = new ControlPlaneClient({ server: url, token: submitter.memberToken });
    const created = await client.call<{ id: string }>('POST', '/jobs', { name: job.name, gpus: job.gpus, gpu_types: job.gpuTypes, estimate_s: job.seconds, command: jobArgv(job), ...(job.span === undefined ? {} : { span: job.span }) });
    submitted.push({ id: created.id, job });
  }
  return submitted;
}

/**
 * Cancels the executor's runs that have not ended, then waits (bounded by the kill
 * grace) until their processes are gone, so that none outlives the demo. Returns how
 * many it cancelled.
 */
async function endRuns(executor: Executor): Promise<number> {
  const live = (await executor.list()).filter((r) => !FINAL_RUN_STATES.has(r.status.state));
  for (const run of live) await executor.cancel(run.handle);
  const deadline = Date.now() + TIMING.killGraceMs + 3000;
  while (live.length > 0 && Date.now() < deadline) {
    const states = await Promise.all(live.map(async (run) => (await executor.status(run.handle)).state));
    if (states.every((s) => FINAL_RUN_STATES.has(s))) break;
    await sleep(100);
  }
  return live.length;
}

/** Progress as it reaches the person: one line per change, or a status block a terminal redraws in place. */
interface ProgressView {
  show(lines: readonly ProgressLine[], progress: WorkloadProgress): void;
}

function lineView(print: (s: string) => void): ProgressView {
  return { show: (lines) => lines.forEach((l) => print(l.text)) };
}

/** Changes scroll above the status block, which is erased (cursor up, clear to the end) and drawn again under them. */
function statusView(print: (s: string) => void): ProgressView {
  let drawn = 0;
  return {
    show: (lines, progress) => {
      const block = progress.statusBlock(Date.now()).join('\n').split('\n');
      const text = [...lines.map((l) => l.text), ...block].join('\n');
      print(`${drawn > 0 ? `\x1b[${drawn}A\x1b[J` : ''}${text}`);
      drawn = block.length;
    },
  };
}

/**
 * Polls the jobs until every job that can finish has finished (or the deadline, or
 * an interrupt): the list each tick, and the detail of each job that changed, whose
 * events become the progress lines.
 */
async function follow(admin: ControlPlaneClient, progress: WorkloadProgress, view: ProgressView, tickMs: number, stop: Interruption): Promise<'settled' | 'timeout' | 'interrupted'> {
  const deadline = Date.now() + TIMING.workloadMs;
  while (stop.signal === null) {
    const { jobs } = await admin.call<{ jobs: JobListed[] }>('GET', '/jobs?limit=500');
    const lines: ProgressLine[] = [];
    for (const listed of jobs) {
      const known = progress.job(listed.id);
      const changed = known === undefined || known.updated_at !== listed.updated_at || known.state !== listed.state || known.attempts !== listed.attempts || JSON.stringify(known.diagnosis) !== JSON.stringify(listed.diagnosis);
      if (changed) lines.push(...progress.update(await admin.call<JobDetail>('GET', `/jobs/${listed.id}`)));
    }
    view.show(lines.sort((a, b) => a.atMs - b.atMs), progress);
    if (progress.settled()) return 'settled';
    if (Date.now() > deadline) return 'timeout';
    await stop.pause(tickMs);
  }
  return 'interrupted';
}

/** Resolves once every site's agent has heartbeated (so the first pass sees the sites up); false if interrupted first. */
async function sitesUp(admin: ControlPlaneClient, count: number, stop: Interruption): Promise<boolean> {
  const deadline = Date.now() + TIMING.sitesUpMs;
  while (stop.signal === null) {
    const { sites } = await admin.call<{ sites: { health: string }[] }>('GET', '/sites');
    if (sites.filter((s) => s.health === 'up').length >= count) return true;
    if (Date.now() > deadline) throw new Error(`the demo's agents did not connect within ${TIMING.sitesUpMs / 1000} s`);
    await stop.pause(100);
  }
  return false;
}

/**
 * The demo pool, in one process, until `until` resolves (SIGINT/SIGTERM) or, with
 * `exitWhenDone`, until the summary is printed:
 * 1. a fresh data directory, the embedded store in it, the control plane listening;
 * 2. three members enrolled through the API, and each site's agent started with a
 *    local executor declaring the site's GPUs;
 * 3. the workload submitted by the members, followed until every job that can
 *    finish has finished, and summarized;
 * 4. then everything closed in reverse: agents, their runs (cancelled if any still
 *    run), executors, server, store, the directory's lock.
 */
export async function runDemo(o: DemoOptions, io: DemoIo, until: Promise<string>): Promise<void> {
  const stop = new Interruption(until);
  // With --json, stdout carries the summary document alone: everything else goes to stderr.
  const note = (s: string) => (o.json ? io.err(s) : io.out(s));
  const dataDir = resolve(o.dataDir);
  const closers = new Closers();
  const release = freshDataDir(dataDir);
  closers.add(release);
  try {
    // Loaded here, not at the top: the server and the store would slow every other command's start-up.
    const [{ buildServer }, { openStore }] = await Promise.all([import('../server/app.ts'), import('../store/index.ts')]);
    // 1. The control plane.
    note(`suanli demo: starting a control plane on a new embedded store in ${dataDir} (wiped at every start; a new store takes a few seconds)`);
    const store = await openStore({ dataDir: join(dataDir, 'store') });
    closers.add(() => store.close());
    if (stop.signal !== null) return;
    const app = await buildServer({ store, passIntervalMs: TIMING.passIntervalMs, logger: { level: 'warn', stream: process.stderr } });
    closers.add(() => app.close());
    const url = await listen(app, o.port, note);
    const adminToken = app.suanli.adminToken ?? '';
    const admin = new ControlPlaneClient({ server: url, token: adminToken });

    // 2. The members and their agents.
    const members = await enrol(admin);
    if (stop.signal !== null) return;
    printIntro(note, url, adminToken, members);
    const agents = agentsFor(url, dataDir, members, io);
    // Borrowed runs are sandboxed by default; on a machine without a working bubblewrap the sites let them run
    // unsandboxed rather than lend nothing, and say so.
    const containment = await (agents[0]?.executor.containment() ?? Promise.resolve({ available: true, detail: '' }));
    if (containment.available) note('Borrowed runs are sandboxed on their lender\'s machine (bubblewrap): a read-only system, only their own directory writable, no network, nobody\'s user.');
    else {
      for (const m of members) await admin.call('PATCH', `/sites/${m.site.id}`, { share: { sandbox_borrowed: false } });
      note(`Borrowed runs in this demo are NOT sandboxed: ${containment.detail}. Install bubblewrap (apt install bubblewrap) to see them contained.`);
    }
    closers.add(async () => {
      const cancelled = await Promise.all(agents.map(async ({ agent, executor }) => {
        await agent.stop();
        const n = await endRuns(executor);
        await executor.close();
        return n;
      }));
      const total = cancelled.reduce((a, b) => a + b, 0);
      if (total > 0) note(`suanli demo: cancelled ${fmt.plural(total, 'run')} still going`);
    });
    await Promise.all(agents.map(({ agent }) => agent.start()));
    if (!(await sitesUp(admin, members.length, stop))) return;

    // 3. The workload, as the members submit it.
    const startMs = Date.now();
    const submitted = await submitWorkload(url, members);
    printWorkload(note, submitted, members);
    const roles = new Map(submitted.map((s) => [s.id, s.job.role]));
    const progress = new WorkloadProgress(members.map((m) => m.site), roles, startMs);
    const tty = o.json ? io.isTty === true : io.outIsTty === true;
    const view = tty ? statusView(note) : lineView(note);
    const end = await follow(admin, progress, view, tty ? TIMING.statusTickMs : TIMING.lineTickMs, stop);
    if (end === 'interrupted') return;
    // A run's GPU-hours count once its site's agent has signed its usage record and it is logged (a heartbeat or two).
    await usageLogged(app, stop);
    const ledger = await admin.call<Ledger>('GET', '/ledger');
    const verified = await verifyEach(url, dataDir, members);
    const outcome = { progress, ledger, orgIds: members.map((m) => m.member.orgId), elapsedS: (Date.now() - startMs) / 1000, timedOut: end === 'timeout', verified };
    if (o.json) {
      const connection = { server: url, docs: `${url}/api/v1/docs`, admin_token: adminToken, data_dir: dataDir, members: members.map((m) => ({ org_id: m.member.orgId, site_id: m.site.id, member_token: m.memberToken })) };
      io.out(JSON.stringify(summaryJson(outcome, connection), null, 2));
    } else {
      note('');
      note(summaryText(outcome));
    }
    if (o.exitWhenDone) return;
    note('');
    note(`The control plane keeps running for you to explore: the dashboard at ${url}/, ${url}/api/v1/docs, or the CLI as shown above. Ctrl-C stops everything.`);
    await stop.signalled;
  } finally {
    await closers.closeAll();
    if (stop.signal !== null) note('suanli demo: stopped');
  }
}

function printIntro(note: (s: string) => void, url: string, adminToken: string, members: readonly Enrolled[]): void {
  note(`suanli demo: ${members.length} organizations pool their GPUs through this control plane, all on this machine`);
  note(`admin token: ${adminToken}`);
  note(`dashboard: ${url}/ (sign in with the admin token)   API: ${url}/api/v1   docs: ${url}/api/v1/docs`);
  note('');
  note(fmt.columns([
    ['org', 'site', 'GPUs', 'member token (submits as the org)'],
    ...members.map((m) => [m.member.orgId, m.site.name, `${m.site.gpus} × ${m.site.gpuType}`, m.memberToken]),
  ]));
  note('Each site has its own agent with the local executor: the GPUs are declared, the commands real (CUDA_VISIBLE_DEVICES names the GPUs a run got).');
  note('');
  note('Explore with the CLI from another terminal while it runs (`suanli` is `node bin/suanli.js` in the checkout):');
  note(`  export SUANLI_SERVER=${url} SUANLI_TOKEN=${adminToken}`);
  note('  suanli job list; suanli job show 1; suanli ledger; suanli site list');
  note('  SUANLI_TOKEN=<a member token> suanli job list    # what one org sees');
  note("  SUANLI_TOKEN=<a member token> suanli ledger verify   # check the org's credits against the signed usage log");
}

function printWorkload(note: (s: string) => void, submitted: readonly Submitted[], members: readonly Enrolled[]): void {
  const sites = members.map((m) => m.site);
  const { largestSite } = poolSize(sites);
  note('');
  note(`workload: ${fmt.plural(submitted.length, 'job')} from ${members.length} orgs, each a shell loop of a few seconds`);
  for (const { id, job } of submitted) {
    if (job.role === 'pooled') note(`  #${id} ${job.orgId}/${job.name} needs ${job.gpus} GPUs; ${job.orgId} owns ${ownedGpus(sites, job.orgId)}: it can run only on another member's site`);
    if (job.role === 'spanning') note(`  #${id} ${job.orgId}/${job.name} needs ${job.gpus} GPUs; the largest site has ${largestSite}: it may span sites, and runs on several at once when enough GPUs are free`);
  }
  note('');
}

export function demoCommand(io: DemoIo): Command {
  return new Command('demo')
    .description('run a demo pool on this machine: a control plane, three member organizations with their own agents, and a sample workload of real commands; then keep it running to explore')
    .option('--port <n>', 'port of the control plane (0: any free port; a busy port falls back to a free one)', '8040')
    .option('--data-dir <dir>', "the demo's directory (store, runs, logs); WIPED at every start", './.suanli/demo')
    .option('--exit-when-done', 'stop after the summary instead of running until Ctrl-C')
    .option('--json', 'print the summary as JSON on stdout; progress goes to stderr')
    .addHelpText('after', `
The demo wipes its data directory at every start: it is a demo. It refuses a
non-empty directory that an earlier \`suanli demo\` did not make.

${DEMO_MEMBERS.length} organizations each enrol one site with its own agent:
  ${DEMO_MEMBERS.map((m) => `${m.orgId} (${gpusOf(m)} × ${gpuTypesOf(m)})`).join(', ')}
and submit ${DEMO_JOBS.length} jobs that run real shell commands for a few seconds each. One
job is larger than its org's site and runs on another member's; one is larger than any
site and runs across two sites at once. Then the demo prints where each job
ran and the ledger of GPU-hours contributed and consumed. Ctrl-C stops everything (a
second Ctrl-C: at once).

Examples:
  npm start                                   # the same as: suanli demo
  suanli demo --port 9000 --data-dir /tmp/suanli-demo
  suanli demo --exit-when-done --json > demo.json`)
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const options: DemoOptions = {
        port: portFrom(typeof o.port === 'string' ? o.port : '8040'),
        dataDir: typeof o.dataDir === 'string' ? o.dataDir : './.suanli/demo',
        exitWhenDone: o.exitWhenDone === true,
        json: o.json === true,
      };
      // Before the signal handlers: a refused flag leaves the process as it found it.
      checkDataDir(resolve(options.dataDir));
      const note = (s: string) => (options.json ? io.err(s) : io.out(s));
      const signal = shutdownSignal();
      void signal.then((first) => {
        note(`suanli demo: ${first}, shutting down (again to exit at once)`);
        const now = (second: string) => {
          io.err(`suanli demo: ${second} again, exiting at once; runs still going are left to end by themselves`);
          process.exit(130);
        };
        process.once('SIGINT', now);
        process.once('SIGTERM', now);
      });
      await runDemo(options, io, signal);
    });
}
