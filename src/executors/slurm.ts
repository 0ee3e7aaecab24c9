/**
 * The Slurm executor: one run is one batch job, submitted through slurmrestd
 * (OpenAPI v0.0.38, Slurm 22.05). A run over N nodes is one job of `-N N
 * --ntasks-per-node=1 --gres=gpu:<type>:<k>` whose script `srun`s the command once
 * per node, with `--kill-on-bad-exit` so a failed rank ends the whole gang.
 *
 * How runs are found again (the agent restarted): the job's name is
 * `suanli-<runId>` and its comment a small JSON `{"suanli":<instance>,"run":<runId>,
 * "log":<path>}`; `list()` and idempotent `start()` look them up among slurmctld's
 * jobs (finished jobs stay there for MinJobAge, 300 s by default). `status()` of a
 * job slurmctld no longer has (purged, or its state lost) is read from accounting
 * (slurmdbd, through slurmrestd's /slurmdb API) when there is one; sites should set
 * `AccountingStoreFlags=job_comment` so the comment is kept there too. Slurm 22.05's
 * accounting API reports every exit code as 0, so a failure read from accounting
 * has no exit code. `cancel()` first adds `"cancelled":true` to the comment, so a job
 * cancelled by anyone else (scancel) is told apart: it is `failed` with reason
 * `cancelled_outside`.
 *
 * Work and log directories must be on a filesystem both the agent and the compute
 * nodes see (the usual shared home or scratch): the agent creates them and reads
 * log tails; the job writes there.
 */
import { mkdirSync } from 'node:fs';
import type { Capacity } from '../model/capacity.ts';
import { capacityOf, checkCanEverFit, type EngineNode } from './capacity.ts';
import { ExecutorError } from './errors.ts';
import { readTail } from './log-file.ts';
import { checkContainable, checkRunRequest, checkTailBytes, exitStatus, logPath, runEnv, shellQuote } from './run-request.ts';
import { API, checked, DB_API, hasError, SLURM_ERRORS, SlurmRestClient, type SlurmRestOptions } from './slurm-rest.ts';
import { SUANLI_ENV, type Containment, type Executor, type RunHandle, type RunId, type RunRecord, type RunRequest, type RunStatus } from './types.ts';

export interface SlurmExecutorOptions extends SlurmRestOptions {
  /** The partition to run in and to discover (default: the cluster's default partition, and every node). */
  readonly partition?: string;
  /**
   * Tags this executor's jobs (in the comment); `list()` returns only jobs with this
   * tag, so two Suanli sites may share a cluster (default `default`).
   */
  readonly instance?: string;
  /**
   * Environment of every job, under the request's own. Jobs submitted through
   * slurmrestd inherit no environment, so the default passes this process's PATH.
   */
  readonly baseEnv?: Readonly<Record<string, string>>;
  /** Time limit of every job in minutes (default: the partition's). */
  readonly timeLimitMinutes?: number;
  /** Whether to ask accounting about jobs slurmctld no longer has (default true; answers nothing without slurmdbd). */
  readonly accounting?: boolean;
}

/** The fields of a v0.0.38 job the executor reads. */
export interface SlurmJob {
  readonly job_id: number;
  readonly name: string;
  readonly comment?: string;
  readonly job_state: string;
  readonly state_reason?: string;
  /** The batch script's wait status: exit code << 8, or the signal in the low 7 bits. */
  readonly exit_code?: number;
  /** The highest wait status of the job's steps (the command's ranks), encoded the same way. */
  readonly derived_exit_code?: number;
  readonly standard_output?: string;
  readonly nodes?: string;
}

/** The fields of a v0.0.38 node the executor reads. */
export interface SlurmNode {
  readonly name: string;
  readonly gres?: string;
  readonly state?: string;
  readonly state_flags?: readonly string[];
  readonly partitions?: readonly string[];
}

/** The fields of a v0.0.38 accounting (slurmdb) job the executor reads. */
interface SlurmDbJob {
  readonly job_id: number;
  readonly name: string;
  readonly comment?: { readonly job?: string | null };
  readonly state?: { readonly current?: string; readonly reason?: string };
  readonly exit_code?: SlurmDbExit;
  readonly derived_exit_code?: SlurmDbExit;
  readonly nodes?: string;
  readonly time?: { readonly submission?: number };
}

interface SlurmDbExit {
  readonly status?: string;
  readonly return_code?: number;
  readonly signal?: { readonly signal_id?: number };
}

/** What the executor writes in a job's comment. */
interface SuanliComment {
  readonly suanli: string;
  readonly run: string;
  /** The log file, for log tails once slurmctld has forgotten the job. */
  readonly log?: string;
  readonly cancelled?: true;
}

const PENDING = new Set(['PENDING', 'CONFIGURING', 'REQUEUED', 'REQUEUE_FED', 'REQUEUE_HOLD', 'RESV_DEL_HOLD', 'POWER_UP_NODE']);
const RUNNING = new Set(['RUNNING', 'COMPLETING', 'SUSPENDED', 'STOPPED', 'RESIZING', 'SIGNALING', 'STAGE_OUT', 'UPDATE_DB']);
/** Node state flags that keep a node from taking work. */
const UNUSABLE_FLAGS = new Set(['DRAIN', 'DRAINED', 'DRAINING', 'FAIL', 'FAILING', 'MAINTENANCE', 'NOT_RESPONDING', 'POWERED_DOWN', 'POWER_DOWN', 'POWERING_DOWN', 'REBOOT_ISSUED', 'RESERVED']);
const USABLE_STATES = new Set(['idle', 'mixed', 'allocated', 'completing']);

export class SlurmExecutor implements Executor {
  readonly kind = 'slurm';
  private readonly client: SlurmRestClient;
  private readonly instance: string;
  /** start() calls in flight, by run id: a concurrent second call joins the first. */
  private readonly starting = new Map<RunId, Promise<RunHandle>>();

  constructor(private readonly options: SlurmExecutorOptions) {
    this.client = new SlurmRestClient(options);
    this.instance = options.instance ?? 'default';
  }

  async discover(): Promise<Capacity[]> {
    return capacityOf(await this.nodes());
  }

  async start(run: RunRequest): Promise<RunHandle> {
    const id = checkRunRequest(run);
    const inFlight = this.starting.get(id);
    if (inFlight !== undefined) return inFlight;
    const starting = this.submit(id, run).finally(() => this.starting.delete(id));
    this.starting.set(id, starting);
    return starting;
  }

  async status(handle: RunHandle): Promise<RunStatus> {
    const found = await this.job(handle);
    if (found === null) return { state: 'lost', detail: `Slurm has no job ${handle.engineId} for run ${handle.runId}` };
    if (found.accounted && isActive(found.job)) {
      // Accounting will never see it end: slurmctld, which ran it, has forgotten it.
      return { state: 'lost', detail: `slurmctld has no job ${handle.engineId}; accounting last saw it ${found.job.job_state}` };
    }
    return slurmStatus(found.job, found.accounted);
  }

  async cancel(handle: RunHandle): Promise<void> {
    const found = await this.job(handle);
    if (found === null || found.accounted || !isActive(found.job)) return;
    const { job } = found;
    // Mark first: a job that ends CANCELLED without the mark was cancelled by someone else.
    const comment: SuanliComment = { ...parseComment(job.comment), suanli: this.instance, run: handle.runId, cancelled: true };
    await this.client.ok('POST', `${API}/job/${job.job_id}`, { comment: JSON.stringify(comment) });
    const reply = await this.client.call('DELETE', `${API}/job/${job.job_id}`);
    // Ended meanwhile: nothing left to cancel.
    if (!hasError(reply, SLURM_ERRORS.alreadyDone) && !hasError(reply, SLURM_ERRORS.invalidJobId)) checked(reply, `cancel of Slurm job ${job.job_id}`);
  }

  async logTail(handle: RunHandle, bytes: number): Promise<string> {
    checkTailBytes(bytes);
    const job = (await this.job(handle))?.job;
    const log = job?.standard_output ?? parseComment(job?.comment)?.log ?? '';
    return log === '' ? '' : readTail(log, bytes);
  }

  async list(): Promise<RunRecord[]> {
    return (await this.ourJobs()).map(({ job, comment }) => ({ handle: { runId: comment.run as RunId, engineId: String(job.job_id) }, status: slurmStatus(job) }));
  }

  containment(): Promise<Containment> {
    return Promise.resolve({ available: false, detail: 'not yet: the Slurm executor does not contain runs' });
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.starting.values());
  }

  private async submit(id: RunId, run: RunRequest): Promise<RunHandle> {
    await checkContainable(run, this);
    checkCanEverFit(run, await this.nodes(true), this.options.partition === undefined ? 'Slurm' : `Slurm partition ${this.options.partition}`);
    const existing = (await this.ourJobs()).find(({ comment }) => comment.run === id);
    if (existing !== undefined) return { runId: id, engineId: String(existing.job.job_id) };
    mkdirSync(run.workDir, { recursive: true });
    mkdirSync(run.logDir, { recursive: true });
    const reply = await this.client.ok<{ job_id?: number }>('POST', `${API}/job/submit`, submission(run, this.instance, this.options));
    if (typeof reply.job_id !== 'number') throw new ExecutorError('slurm', 'unavailable', `submit of ${id} answered no job_id`);
    return { runId: id, engineId: String(reply.job_id) };
  }

  /**
   * The job behind a handle, from slurmctld or else from accounting; null when
   * neither has it. A job id is reused after slurmctld loses its state, so a job
   * counts only if its name and comment say it is this run.
   */
  private async job(handle: RunHandle): Promise<{ job: SlurmJob; accounted: boolean } | null> {
    if (!/^\d+$/.test(handle.engineId)) return null;
    const reply = await this.client.call<{ jobs?: SlurmJob[] }>('GET', `${API}/job/${handle.engineId}`);
    if (!hasError(reply, SLURM_ERRORS.invalidJobId)) {
      const job = checked(reply, `status of Slurm job ${handle.engineId}`).jobs?.[0];
      if (job !== undefined && job.name === jobName(handle.runId) && parseComment(job.comment)?.run === handle.runId) return { job, accounted: false };
    }
    const job = this.options.accounting === false ? null : await this.accountedJob(handle);
    return job === null ? null : { job, accounted: true };
  }

  /** The newest accounting record of the run under the handle's job id; null without slurmdbd or a record. */
  private async accountedJob(handle: RunHandle): Promise<SlurmJob | null> {
    const reply = await this.client.call<{ jobs?: SlurmDbJob[] }>('GET', `${DB_API}/job/${handle.engineId}`);
    // No /slurmdb API (slurmrestd runs without slurmdbd), or no record. Any other trouble
    // throws: reading `lost` because accounting is down would get the run retried.
    if (reply.status === 404 || hasError(reply, SLURM_ERRORS.nothingFound)) return null;
    const { jobs = [] } = checked(reply, `accounting of Slurm job ${handle.engineId}`);
    // The comment says whose a record is. The name is a fallback for clusters without
    // AccountingStoreFlags=job_comment: Slurm itself renames records to "allocation"
    // when slurmctld restarts without its job state (seen with 22.05).
    const commentOf = (j: SlurmDbJob) => j.comment?.job ?? undefined;
    const mine = jobs.filter((j) => (commentOf(j) === undefined ? j.name === jobName(handle.runId) : parseComment(commentOf(j))?.run === handle.runId));
    const newest = mine.sort((a, b) => (b.time?.submission ?? 0) - (a.time?.submission ?? 0))[0];
    if (newest === undefined) return null;
    const comment = commentOf(newest);
    return {
      job_id: newest.job_id,
      name: newest.name,
      ...(comment === undefined ? {} : { comment }),
      job_state: newest.state?.current ?? 'UNKNOWN',
      state_reason: newest.state?.reason ?? 'None',
      exit_code: waitStatus(newest.exit_code),
      derived_exit_code: waitStatus(newest.derived_exit_code),
      ...(newest.nodes === undefined ? {} : { nodes: newest.nodes }),
    };
  }

  private async ourJobs(): Promise<{ job: SlurmJob; comment: SuanliComment }[]> {
    const { jobs = [] } = await this.client.ok<{ jobs?: SlurmJob[] }>('GET', `${API}/jobs`);
    return jobs.flatMap((job) => {
      const comment = parseComment(job.comment);
      return comment !== null && comment.suanli === this.instance ? [{ job, comment }] : [];
    });
  }

  /** The partition's nodes with their GPUs; `all` keeps nodes that cannot take work now. */
  private async nodes(all = false): Promise<EngineNode[]> {
    const { nodes = [] } = await this.client.ok<{ nodes?: SlurmNode[] }>('GET', `${API}/nodes`);
    const partition = this.options.partition;
    return nodes.filter((n) => partition === undefined || (n.partitions ?? []).includes(partition)).map(engineNode).filter((n) => all || n.usable);
  }
}

/** The submit body for a run: name, comment, resources, and the srun script (stack-notes §5 pitfall 9). */
export function submission(run: RunRequest, instance: string, options: Pick<SlurmExecutorOptions, 'partition' | 'baseEnv' | 'timeLimitMinutes'> = {}): unknown {
  const id = checkRunRequest(run);
  const comment: SuanliComment = { suanli: instance, run: id, log: logPath(run) };
  const gpus = run.gpusPerNode === 0 ? {} : { gres: run.gpuType === undefined ? `gpu:${run.gpusPerNode}` : `gpu:${run.gpuType}:${run.gpusPerNode}` };
  return {
    script: script(run.command),
    job: {
      name: jobName(id),
      comment: JSON.stringify(comment),
      ...(options.partition === undefined ? {} : { partition: options.partition }),
      // An integer: 22.05 reads the documented [min, max] pair as 1 node.
      nodes: run.nodes,
      tasks_per_node: 1,
      ...gpus,
      ...(options.timeLimitMinutes === undefined ? {} : { time_limit: options.timeLimitMinutes }),
      // Suanli retries through the control plane; Slurm must not run an attempt twice.
      requeue: false,
      current_working_directory: run.workDir,
      standard_output: logPath(run),
      environment: { ...(options.baseEnv ?? { PATH: process.env.PATH ?? '/usr/bin:/bin' }), ...run.env, ...runEnv(run) },
    },
  };
}

/** The batch script: one task per node, each exporting its rank and node name, then the command. */
export function script(command: readonly string[]): string {
  const rankEnv = `export ${SUANLI_ENV.nodeRank}="$SLURM_NODEID" ${SUANLI_ENV.nodeName}="$SLURMD_NODENAME"; exec "$@"`;
  return ['#!/bin/sh', `exec srun --kill-on-bad-exit=1 --ntasks-per-node=1 /bin/sh -c ${shellQuote(rankEnv)} suanli-rank ${command.map(shellQuote).join(' ')}`, ''].join('\n');
}

/** The job name of a run: also how accounting records are matched to runs. */
export const jobName = (id: RunId): string => `suanli-${id}`;

/** An accounting exit code as the wait status slurmctld reports. */
function waitStatus(exit: SlurmDbExit | undefined): number {
  if (exit?.status === 'SIGNALED') return (exit.signal?.signal_id ?? 0) & 0x7f;
  return (exit?.return_code ?? 0) << 8;
}

function parseComment(comment: string | undefined | null): SuanliComment | null {
  if (typeof comment !== 'string' || !comment.startsWith('{')) return null;
  try {
    const parsed = JSON.parse(comment) as Partial<SuanliComment>;
    return typeof parsed.suanli === 'string' && typeof parsed.run === 'string' ? (parsed as SuanliComment) : null;
  } catch {
    return null;
  }
}

const isActive = (job: SlurmJob) => PENDING.has(job.job_state) || RUNNING.has(job.job_state);

/** A v0.0.38 job's state as a RunStatus (see the module comment for cancellations); `accounted`: read from accounting. */
export function slurmStatus(job: SlurmJob, accounted = false): RunStatus {
  const where = `Slurm job ${job.job_id}${accounted ? ' (from accounting)' : ''}`;
  const reason = job.state_reason !== undefined && job.state_reason !== 'None' ? ` (${job.state_reason})` : '';
  if (PENDING.has(job.job_state)) return { state: 'pending', detail: `${where} is ${job.job_state}${reason}` };
  if (RUNNING.has(job.job_state)) return { state: 'running', detail: `${where} is ${job.job_state} on ${job.nodes ?? '?'}` };
  // The ranks' status says what the command did; the script's (srun's) says only how srun ended.
  const raw = job.derived_exit_code !== undefined && job.derived_exit_code !== 0 ? job.derived_exit_code : (job.exit_code ?? 0);
  const exitCode = (raw & 0x7f) !== 0 ? 128 + (raw & 0x7f) : raw >> 8;
  switch (job.job_state) {
    case 'COMPLETED':
    case 'FAILED':
      if (job.job_state === 'COMPLETED' || exitCode !== 0) return exitStatus(exitCode, where);
      return { state: 'failed', reason: 'engine', exitCode: null, detail: `${where} FAILED${reason}` };
    case 'CANCELLED':
      return parseComment(job.comment)?.cancelled === true
        ? { state: 'cancelled', detail: `${where} cancelled by Suanli` }
        : { state: 'failed', reason: 'cancelled_outside', exitCode: null, detail: `${where} was cancelled outside Suanli (scancel or an administrator)` };
    default: // TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, PREEMPTED, BOOT_FAIL, DEADLINE, …
      return { state: 'failed', reason: 'engine', exitCode: null, detail: `${where} ended ${job.job_state}${reason}` };
  }
}

/** A node's GPUs from its GRES (`gpu:h100:8(S:0-1),shard:…`); untyped GPUs are of type `gpu`. */
export function engineNode(node: SlurmNode): EngineNode {
  let gpuType = 'gpu';
  let gpus = 0;
  for (const gres of (node.gres ?? '').split(',')) {
    const match = /^gpu(?::([^:(]+))?:(\d+)/.exec(gres.trim());
    if (match === null || Number(match[2]) <= gpus) continue;
    gpus = Number(match[2]);
    gpuType = match[1] ?? 'gpu';
  }
  const usable = USABLE_STATES.has((node.state ?? '').toLowerCase()) && !(node.state_flags ?? []).some((f) => UNUSABLE_FLAGS.has(f.toUpperCase()));
  return { name: node.name, gpuType, gpus, usable };
}
