/**
 * A site's agent: beside the site's engine, connected out to the control plane.
 * Three loops, each surviving the control plane's absence (retrying with backoff):
 * 1. heartbeat: every `heartbeatMs`, the capacity the executor discovers and the runs
 *    going; the answer names the runs to stop (now, or when an owner's notice ends);
 * 2. assignments: long-polls the jobs placed on the site and starts each through the
 *    executor as run `${jobId}.${attempt}` — the executor is idempotent on run ids, so
 *    an assignment delivered twice (or again after a restart) runs once. The answer
 *    also names runs to stop as soon as the control plane moved past them;
 * 3. watch: every `watchMs`, and at once when a run starts or the executor says one
 *    changed (`onChange`), each run's status, reported per (job, attempt) until its
 *    final state is acknowledged, with the log's new lines every `logEveryMs` while it
 *    runs. A round's reports go in one request (report-batcher.ts). Reports are
 *    idempotent on the server, so a report sent again after a lost answer changes nothing.
 * On start the agent recovers the executor's runs (`executor.list()`) and reports them
 * again, and logs what its executor can do to contain runs; on stop it leaves them
 * running for the next agent.
 *
 * Containment: each run carries its tenant (whose it is, whether it is borrowed, its
 * network); it is contained when the assignment says the site's policy requires it,
 * or when the agent's own `sandbox` mode does (`tenantOf`). The executor contains it
 * or refuses it, and a refused run is reported failed. Heartbeats say whether the
 * executor can contain runs at all (`sandbox_capable`).
 *
 * Fencing: a run may go on only while its agent holds the site's lease. Each
 * heartbeat the control plane answers renews it (`lease_s`: the site timeout, after
 * which the site may be marked lost and its jobs placed elsewhere). An agent that has
 * had no heartbeat answered for half the lease stops every run, so that with the
 * executor's kill grace inside the other half no attempt runs after its job was
 * requeued: never two attempts at once. Stopped so, a run is reported `lost` once the
 * control plane answers again. The lease is kept in `<workDir>/lease.json`, so that a
 * restarted agent fences the runs it recovers too.
 *
 * One run's report the control plane refuses (4xx) never holds up the others: it is
 * sent again without its log and detail, then dropped with a warning. Such a run is
 * not taken up again when its job is offered anew (the control plane, never told it
 * started, offers it until it is): its reports would be refused again, forever.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Executor, RunHandle, RunRecord, RunRequest, RunState, RunTenant } from '../executors/types.ts';
import { runId, FINAL_RUN_STATES } from '../executors/types.ts';
import type { Capacity } from '../model/capacity.ts';
import { AgentHttpError, ControlPlaneClient, type ControlPlaneClientOptions } from './control-plane-client.ts';
import { ReportBatcher } from './report-batcher.ts';
import { UsageSigner, type UsageReview, type UsageToSign } from './usage-signer.ts';

export interface AgentLogger {
  info(message: string): void;
  warn(message: string): void;
}

/**
 * Which runs the agent contains besides those the site's policy (the assignment)
 * says to: `policy` none, `borrowed` every other org's run, `all` its own org's too.
 */
export const SANDBOX_MODES = ['policy', 'borrowed', 'all'] as const;
export type SandboxMode = (typeof SANDBOX_MODES)[number];

export interface AgentOptions extends ControlPlaneClientOptions {
  readonly executor: Executor;
  /** Which runs to contain whatever the policy says (default `policy`: as the assignment says). */
  readonly sandbox?: SandboxMode;
  /** Runs' working directories go under it (`<workDir>/<runId>`), and their logs in `<workDir>/logs`. */
  readonly workDir: string;
  readonly heartbeatMs?: number;
  readonly watchMs?: number;
  /** Long-poll wait, seconds (the server caps it). */
  readonly waitS?: number;
  /** How often a running run's new log lines are sent, ms (default 5000). */
  readonly logEveryMs?: number;
  /** Longest pause between retries when the control plane is unreachable, ms. */
  readonly maxBackoffMs?: number;
  readonly logger?: AgentLogger;
}

/** A spanning part's run request: its sites and index, and where its program meets the other parts (the rendezvous). */
const spanOf = (span: NonNullable<AssignmentWire['span']>, server: string): NonNullable<RunRequest['span']> => ({
  sites: span.sites, index: span.index,
  ...(span.rendezvous_token === undefined ? {} : { rendezvous: { url: `${server}/api/v1/rendezvous`, token: span.rendezvous_token } }),
});

export interface AssignmentWire {
  readonly job_id: string;
  readonly attempt: number;
  readonly command: readonly string[] | null;
  readonly parts: readonly { gpu_type: string; gpus: number; nodes: number; gpus_per_node: number }[];
  /** Set for a part of a job spanning sites. */
  readonly span?: { readonly sites: readonly string[]; readonly index: number; readonly rendezvous_token?: string } | null;
  // The four below are absent from older control planes: then the run is the site's own, uncontained, with the host's network.
  /** The org whose job this is. */
  readonly org_id?: string;
  /** Another org's job on this site. */
  readonly borrowed?: boolean;
  /** The site's policy (its org-admin's) requires this run contained. */
  readonly sandbox?: boolean;
  /** A contained run's network: none (a private loopback only) or the host's. */
  readonly network?: 'none' | 'host';
}

/**
 * The tenant of an assignment's run: contained when the site's policy says so, or
 * when `mode` does (`borrowed`: every borrowed run; `all`: every run). A value the
 * wire should not carry is passed on as is, for the executor to refuse naming it.
 */
export function tenantOf(a: AssignmentWire, mode: SandboxMode): RunTenant {
  const borrowed = a.borrowed ?? false;
  const agentSays = mode === 'all' || (mode === 'borrowed' && borrowed);
  const policy: unknown = a.sandbox ?? false;
  // Not a boolean: passed on as is, so that the run is refused rather than run uncontained.
  const sandbox = (typeof policy === 'boolean' ? policy || agentSays : policy) as boolean;
  return { org: a.org_id ?? '', borrowed, sandbox, network: a.network ?? 'host' };
}

/** What the control plane last acknowledged for a run. */
type Reported = 'none' | 'running' | 'final';

interface Watched {
  readonly jobId: string;
  readonly attempt: number;
  readonly handle: RunHandle;
  reported: Reported;
  /** When the control plane said to stop the run (Date.now() ms), and why; it is cancelled then. */
  stopAt?: number;
  stopReason?: string;
  /** Cancel was called; the run is forgotten once the executor says it stopped. */
  cancelling?: boolean;
  /** Stopped by the agent itself when it lost its lease: reported `lost` once it has stopped. */
  fenced?: string;
  /** The log tail last sent while the run runs, and when (Date.now() ms). */
  sentTail?: string;
  sentTailAt?: number;
}

/** What a heartbeat's answer says, of what the agent reads. */
interface HeartbeatAnswer {
  readonly id: string;
  readonly stop: StopWire[];
  readonly lease_s?: number | null;
  readonly capacity_cut?: string[];
  /** Usage records of this site's runs for its agent to sign (or refuse). */
  readonly usage_to_sign?: UsageToSign[];
  readonly site_key?: { readonly status: string; readonly detail: string };
}

interface StopWire {
  readonly job_id: string;
  readonly attempt: number;
  readonly after_s: number;
  readonly reason: string;
}

const LOG_TAIL_BYTES = 4096;
/** Runs whose report was dropped, remembered (the oldest forgotten first): far more than a site runs at once. */
const DROPPED_KEPT = 10_000;

/** `<workDir>/lease.json`: when a heartbeat was last answered (epoch ms, at its sending) and the lease it gave (s; null: none). */
interface LeaseFile {
  readonly answeredAt: number;
  readonly leaseS: number | null;
}
/** The agent's loops. */
const LOOPS = ['heartbeat', 'assignments', 'watch'] as const;
type LoopName = (typeof LOOPS)[number];
const RUN_ID = /^([A-Za-z0-9_-]+)\.([0-9]+)$/;

/** A 4xx other than 408 and 429 (sending again may help those): the control plane will never take this request as it is. */
const refused = (status: number | null): boolean => status !== null && status >= 400 && status < 500 && status !== 408 && status !== 429;

/** The lease an earlier agent of this work dir kept, if any (a file that cannot be read counts as none). */
function readLease(path: string): LeaseFile | null {
  try {
    const lease = JSON.parse(readFileSync(path, 'utf8')) as Partial<LeaseFile>;
    return typeof lease.answeredAt === 'number' && (lease.leaseS === null || typeof lease.leaseS === 'number') ? { answeredAt: lease.answeredAt, leaseS: lease.leaseS ?? null } : null;
  } catch {
    return null;
  }
}

export class Agent {
  private readonly client: ControlPlaneClient;
  /** Reports go through it: those made together (a watch round's) share one request. */
  private readonly reports: ReportBatcher;
  private readonly runs = new Map<string, Watched>();
  private stopping = false;
  private loops: Promise<void>[] = [];
  /** Per loop, what ends its sleep now; and the loops woken while not asleep (their next sleep ends at once). */
  private readonly wakers = new Map<LoopName, Set<() => void>>();
  private readonly woken = new Set<LoopName>();
  private readonly log: AgentLogger;
  /** The site this agent's token is bound to, once the control plane has said. */
  siteId: string | null = null;
  /** The site's record key and what this agent saw of its runs: it signs usage records against it (usage-signer.ts). */
  private readonly usage: UsageSigner;
  /** Signatures and refusals of the records the last heartbeat's answer asked for, sent with the next. */
  private review: UsageReview = { signatures: [], refused: [] };
  private keyStatus = 'active';
  /** The lease as last renewed (null before any heartbeat, here or by an earlier agent, was answered). */
  private lease: LeaseFile | null = null;
  /** What of its capacity the control plane last said counts for nothing (logged when it changes). */
  private capacityCut = '';
  /** Runs a report of which the control plane refused twice and was dropped: never taken up again from an assignment. */
  private readonly dropped = new Set<string>();

  constructor(private readonly o: AgentOptions) {
    this.client = new ControlPlaneClient(o);
    this.reports = new ReportBatcher(this.client);
    this.usage = new UsageSigner(join(o.workDir, 'site.key'));
    this.log = o.logger ?? { info: () => undefined, warn: () => undefined };
  }

  /** Recovers the executor's runs and the lease, says what containment it has, then starts the loops. */
  async start(): Promise<void> {
    this.lease = readLease(this.leasePath());
    for (const record of await this.o.executor.list()) this.recover(record);
    const mode = this.o.sandbox ?? 'policy';
    const containment = await this.o.executor.containment();
    this.log.info(`suanli agent: containment (${this.o.executor.kind}): ${containment.available ? 'available' : 'not available'}: ${containment.detail}; --sandbox ${mode}`);
    if (!containment.available && mode !== 'policy') this.log.warn(`suanli agent: --sandbox ${mode} asks to contain runs, and this ${this.o.executor.kind} executor cannot: those runs will fail`);
    // A run that ends is reported at once when the executor says so (and at the watch loop's next round anyway).
    this.o.executor.onChange?.(() => this.wake('watch'));
    this.loops = [this.forever('heartbeat', () => this.heartbeat(), this.o.heartbeatMs ?? 5000), this.forever('assignments', () => this.pollAssignments(), 0), this.forever('watch', () => this.watch(), this.o.watchMs ?? 500)];
  }

  /** Stops the loops (aborting a long poll); runs keep going. Idempotent. The executor is the caller's to close. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.client.abortAll();
    for (const loop of LOOPS) this.wake(loop);
    await Promise.all(this.loops);
  }

  /** The runs this agent watches, by run id (for tests and logs). */
  watched(): string[] {
    return [...this.runs.keys()];
  }

  private recover(record: RunRecord): void {
    const m = RUN_ID.exec(record.handle.runId);
    if (m === null || this.runs.has(record.handle.runId)) return;
    this.runs.set(record.handle.runId, { jobId: m[1] ?? '', attempt: Number(m[2]), handle: record.handle, reported: 'none' });
  }

  /** Runs `step` until stopped, `everyMs` apart; a failing step waits longer each time (up to maxBackoffMs). */
  private async forever(name: LoopName, step: () => Promise<void>, everyMs: number): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        await step();
        failures = 0;
      } catch (err) {
        if (this.stopping) break;
        failures++;
        if (failures === 1 || failures % 10 === 0) this.log.warn(`suanli agent: ${name}: ${err instanceof Error ? err.message : String(err)} (retrying)`);
      }
      await this.sleep(name, failures === 0 ? everyMs : Math.min(this.o.maxBackoffMs ?? 10_000, 200 * 2 ** Math.min(failures, 10)));
    }
  }

  /** Sleeps `ms` in loop `name`, or less if the loop is woken (or was, since its last sleep). */
  private sleep(name: LoopName, ms: number): Promise<void> {
    if (this.woken.delete(name) || this.stopping || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      let mine = this.wakers.get(name);
      if (mine === undefined) this.wakers.set(name, (mine = new Set()));
      const set = mine;
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }

  private async heartbeat(): Promise<void> {
    const capacity: Capacity[] = await this.o.executor.discover();
    const runs = [...this.runs.values()].filter((r) => r.fenced === undefined).map((r) => ({ job_id: r.jobId, attempt: r.attempt }));
    const sandboxCapable = (await this.o.executor.containment()).available;
    const sentAt = Date.now();
    const review = this.review;
    const site = await this.client.call<HeartbeatAnswer>('POST', '/agent/heartbeat', {
      capacity: capacity.map((c) => ({ gpu_type: c.gpuType, nodes: c.nodes, gpus_per_node: c.gpusPerNode })), runs, sandbox_capable: sandboxCapable,
      site_key: this.usage.verifierKey, usage_signatures: review.signatures, usage_refused: review.refused,
    });
    this.renewLease({ answeredAt: sentAt, leaseS: site.lease_s ?? null });
    // What this heartbeat carried is delivered; the records asked for now go with the next one.
    this.review = await this.reviewUsage(site.usage_to_sign ?? []);
    const keyStatus = site.site_key?.status ?? 'active';
    if (keyStatus === 'revoked') {
      // The site's org-admin revoked the key (it may have leaked): a new one, taken at the next heartbeat.
      const kept = this.usage.rotate();
      this.log.warn(`suanli agent: the site's org-admin revoked its record key; made a new one (${this.usage.verifierKey}), the old one kept at ${kept}`);
    } else if (keyStatus !== this.keyStatus && keyStatus !== 'active') {
      this.log.warn(`suanli agent: the control plane does not take this site's record key (${keyStatus}): ${site.site_key?.detail ?? ''}`);
    }
    this.keyStatus = keyStatus;
    const cut = (site.capacity_cut ?? []).join('; ');
    if (cut !== this.capacityCut && cut !== '') this.log.warn(`suanli agent: the site's declared capacity bounds what counts of this report: ${cut}`);
    this.capacityCut = cut;
    if (this.siteId === null) this.log.info(`suanli agent: connected as site ${site.id} (${this.o.executor.kind} executor)`);
    this.siteId = site.id;
    this.stopWhenTold(site.stop);
  }

  /**
   * Runs the control plane said to stop (a heartbeat's answer, or a long poll's as soon
   * as it moved past them): each is cancelled by the watch loop when its notice ends,
   * which is woken then.
   */
  private stopWhenTold(stops: readonly StopWire[]): void {
    let now = false;
    for (const s of stops) {
      const run = this.runs.get(runId(s.job_id, s.attempt));
      if (run === undefined || run.stopAt !== undefined) continue;
      run.stopAt = Date.now() + s.after_s * 1000;
      run.stopReason = s.reason;
      this.log.info(`suanli agent: ${run.handle.runId}: ${s.reason}; stopping it${s.after_s > 0 ? ` in ${Math.ceil(s.after_s)} s (notice)` : ''}`);
      if (s.after_s > 0) setTimeout(() => this.wake('watch'), s.after_s * 1000).unref();
      else now = true;
    }
    if (now) this.wake('watch');
  }

  private async pollAssignments(): Promise<void> {
    const wait = this.o.waitS ?? 25;
    const { assignments, stop } = await this.client.call<{ assignments: AssignmentWire[]; stop?: StopWire[] }>('GET', `/agent/assignments?wait=${wait}`, undefined, (wait + 30) * 1000);
    this.stopWhenTold(stop ?? []);
    let started = 0;
    for (const a of assignments) if (await this.begin(a)) started++;
    // What started is reported running by the watch loop, woken for it now rather than at its next round.
    if (started > 0) this.wake('watch');
    // Offered again until reported running: runs waiting in the engine for GPUs would make every poll return at once.
    if (assignments.length > 0 && started === 0) await this.sleep('assignments', this.o.watchMs ?? 500);
  }

  /** Starts an assignment's run unless this agent already watches it (the executor would not start it twice anyway); true when it was new. */
  private async begin(a: AssignmentWire): Promise<boolean> {
    const id = runId(a.job_id, a.attempt);
    // Nothing new starts without the lease: the assignment may be for a job already requeued elsewhere.
    if (this.runs.has(id) || this.dropped.has(id) || this.fenceReason() !== null) return false;
    const part = a.parts[0];
    const request: RunRequest = {
      jobId: a.job_id, attempt: a.attempt, command: a.command ?? ['true'],
      ...(part === undefined || part.gpu_type === '' ? {} : { gpuType: part.gpu_type }),
      gpusPerNode: part?.gpus_per_node ?? 0, nodes: part?.nodes ?? 1,
      workDir: `${this.o.workDir}/${id}`, logDir: `${this.o.workDir}/logs`,
      ...(a.span == null ? {} : { span: spanOf(a.span, this.client.server) }),
      tenant: tenantOf(a, this.o.sandbox ?? 'policy'),
    };
    try {
      const handle = await this.o.executor.start(request);
      this.runs.set(id, { jobId: a.job_id, attempt: a.attempt, handle, reported: 'none' });
      this.usage.assigned(id, a.parts.reduce((n, p) => n + p.gpus, 0));
      const tenant = request.tenant;
      const whose = tenant?.borrowed === true ? ` for ${tenant.org || 'another org'}` : '';
      this.log.info(`suanli agent: started ${id}${whose}${tenant?.sandbox === true ? ` contained (network ${tenant.network})` : ''}`);
      return true;
    } catch (err) {
      // A request this site can never run: the job fails rather than coming back forever.
      if ((err as { code?: unknown }).code !== 'invalid_input') throw err;
      await this.report(a.job_id, a.attempt, { state: 'failed', exit_code: null, detail: err instanceof Error ? err.message : String(err) });
      return true;
    }
  }

  /** Cuts the loop's sleep short (the watch loop has runs to report, or stops to carry out); asleep or not, it goes round once more now. */
  private wake(name: LoopName): void {
    const sleeping = this.wakers.get(name);
    if (sleeping === undefined || sleeping.size === 0) this.woken.add(name);
    else for (const wake of [...sleeping]) wake();
  }

  /**
   * Reports every watched run whose state moved past what the control plane
   * acknowledged, and cancels those the control plane said to stop once their notice
   * ends — or every run, when the lease is lost (fencing). A run whose report fails
   * waits for the next round; the others go on.
   */
  private async watch(): Promise<void> {
    const fence = this.fenceReason();
    // Every run at once: their reports go together (report-batcher.ts), and one run's executor call or report
    // that fails holds up no other.
    const outcomes = await Promise.allSettled([...this.runs].map(([id, run]) => (this.stopping ? Promise.resolve() : this.watchRun(id, run, fence))));
    const failed = outcomes.find((o) => o.status === 'rejected');
    // The loop backs off (and logs) as for any failed step, once every run had its turn.
    if (failed !== undefined) throw failed.reason instanceof Error ? failed.reason : new Error(JSON.stringify(failed.reason));
  }

  private async watchRun(id: string, run: Watched, fence: string | null): Promise<void> {
    if (fence !== null && run.cancelling !== true) {
      run.fenced = fence;
      run.stopAt = Date.now();
      run.stopReason = fence;
    }
    if (run.stopAt !== undefined && Date.now() >= run.stopAt && run.cancelling !== true) {
      await this.o.executor.cancel(run.handle);
      run.cancelling = true;
      this.log.info(`suanli agent: ${id} stopped (${run.stopReason ?? 'told to'})`);
    }
    const status = await this.o.executor.status(run.handle);
    if (status.state !== 'pending') this.usage.started(id);
    if (FINAL_RUN_STATES.has(status.state)) this.usage.ended(id);
    // A stopped run is not reported (the control plane has moved past it), unless the agent stopped it on its own.
    if (run.cancelling === true) {
      if (!FINAL_RUN_STATES.has(status.state)) return;
      // Stopped on its own (fenced): lost. Stopped as told: said so, and the control plane counts its GPUs free.
      if (run.fenced !== undefined) await this.report(run.jobId, run.attempt, { state: 'lost', detail: `stopped by its agent: ${run.fenced}` });
      else await this.report(run.jobId, run.attempt, { state: 'stopped', detail: status.detail });
      this.runs.delete(id);
      return;
    }
    const state: RunState = status.state;
    if (state === 'pending' || state === 'cancelled') {
      if (state === 'cancelled') this.runs.delete(id);
      return;
    }
    const ended = FINAL_RUN_STATES.has(state);
    let end: Record<string, unknown> | null = null;
    if (ended) {
      const tail = await this.o.executor.logTail(run.handle, LOG_TAIL_BYTES);
      const failure = status.state === 'failed' ? { exit_code: status.exitCode, reason: status.reason } : { exit_code: state === 'succeeded' ? 0 : null };
      end = { state, ...failure, detail: status.detail, log_tail: tail };
    }
    // A run that ended before its start was reported: the start and the end made together, so that they go in one
    // batch, which the control plane applies in one transaction (one request, not two in turn).
    const start = run.reported === 'none' ? this.report(run.jobId, run.attempt, { state: 'running', detail: status.detail }) : null;
    const finish = end === null ? null : this.report(run.jobId, run.attempt, end);
    finish?.catch(() => undefined); // awaited below, unless the start fails first
    if (start !== null) {
      const r = await start;
      run.reported = 'running';
      if (!r.current) {
        // A recovered run the control plane has moved past: stop it if it still runs, and forget it.
        if (ended) this.runs.delete(id);
        else await this.abandon(id, run);
        return;
      }
    }
    if (finish === null) {
      await this.sendTail(run);
      return;
    }
    await finish;
    this.runs.delete(id);
    this.log.info(`suanli agent: ${id} ${state}`);
  }

  /** Signs or refuses the usage records the control plane asks for, against what this agent saw (and its executor knows). */
  private async reviewUsage(items: readonly UsageToSign[]): Promise<UsageReview> {
    if (items.length === 0) return { signatures: [], refused: [] };
    const known = new Set([...this.runs.keys(), ...(await this.o.executor.list()).map((r) => r.handle.runId as string)]);
    return this.usage.review(items, (id) => known.has(id));
  }

  /**
   * Why every run must stop now, or null: no heartbeat has been answered for half the
   * lease (the other half is for the executor's kill grace, before the control plane
   * may mark the site lost and place the jobs elsewhere).
   */
  private fenceReason(): string | null {
    const lease = this.lease;
    if (lease === null || lease.leaseS === null) return null;
    const silentMs = Date.now() - lease.answeredAt;
    if (silentMs < (lease.leaseS * 1000) / 2) return null;
    return `no heartbeat answered for ${Math.round(silentMs / 1000)} s (the site's lease is ${lease.leaseS} s): the control plane may run its jobs elsewhere`;
  }

  private leasePath(): string {
    return join(this.o.workDir, 'lease.json');
  }

  /** Keeps the renewed lease, on disk too (a restarted agent must fence the runs it recovers). */
  private renewLease(lease: LeaseFile): void {
    const wasFenced = this.fenceReason() !== null;
    this.lease = lease;
    mkdirSync(this.o.workDir, { recursive: true });
    writeFileSync(`${this.leasePath()}.tmp`, JSON.stringify(lease), { mode: 0o600 });
    renameSync(`${this.leasePath()}.tmp`, this.leasePath());
    if (wasFenced) this.log.warn('suanli agent: the control plane answers again: the lease is renewed, and new runs may start');
  }

  /** Sends the run's log tail while it runs, every `logEveryMs` at most, when it changed. */
  private async sendTail(run: Watched): Promise<void> {
    if (run.reported !== 'running' || Date.now() - (run.sentTailAt ?? 0) < (this.o.logEveryMs ?? 5000)) return;
    run.sentTailAt = Date.now();
    const tail = await this.o.executor.logTail(run.handle, LOG_TAIL_BYTES);
    if (tail === (run.sentTail ?? '')) return;
    await this.report(run.jobId, run.attempt, { state: 'running', log_tail: tail });
    run.sentTail = tail;
  }

  /** The control plane moved on (the job was cancelled, requeued or finished): stop the run. */
  private async abandon(id: string, run: Watched): Promise<void> {
    await this.o.executor.cancel(run.handle);
    this.runs.delete(id);
    this.log.info(`suanli agent: ${id} is no longer the job's current attempt; stopped`);
  }

  /**
   * Sends one report. The job not (or no longer) this site's: nothing to report, and
   * nothing to keep running. A report the control plane refuses as bad input goes
   * again without its log and detail (what a run wrote is the likely culprit), and if
   * that is refused too it is dropped: it must not be sent again forever, holding up
   * the run's later reports. Unreachable, or the server failing: thrown, retried later.
   */
  private async report(jobId: string, attempt: number, body: Record<string, unknown>): Promise<{ applied: boolean; current: boolean }> {
    const send = (b: Record<string, unknown>) => this.reports.report({ job_id: jobId, attempt, ...b });
    try {
      return await send(body);
    } catch (err) {
      if (!(err instanceof AgentHttpError) || !refused(err.status)) throw err;
      if (err.status === 404) return { applied: false, current: false };
      const bare = Object.fromEntries(Object.entries(body).filter(([k]) => k !== 'log_tail' && k !== 'detail'));
      this.log.warn(`suanli agent: ${runId(jobId, attempt)}: the control plane refused a report (${err.message}); sending it without its log`);
      try {
        return await send({ ...bare, detail: 'the report with the log was refused by the control plane' });
      } catch (again) {
        if (!(again instanceof AgentHttpError) || !refused(again.status)) throw again;
        this.log.warn(`suanli agent: ${runId(jobId, attempt)}: the control plane refused the report again (${again.message}); dropping it`);
        this.dropped.add(runId(jobId, attempt));
        if (this.dropped.size > DROPPED_KEPT) this.dropped.delete(this.dropped.values().next().value as string);
        return { applied: false, current: again.status !== 404 };
      }
    }
  }
}
