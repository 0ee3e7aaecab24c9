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
 *
 * Contained runs (`tenant.sandbox`): the lender maps each org to a Slurm account,
 * QOS and Unix user (`tenantMap`); such a run is submitted with its org's account and
 * QOS, as its user (`X-SLURM-USER-NAME` with this executor's JWT, which must be
 * root's or SlurmUser's to act for another user), its work directory and log file
 * given to that user when the agent is root. Slurm cannot take a job's network away:
 * a contained run whose network is `none` is refused.
 */
import { execFile } from 'node:child_process';
import { chownSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { promisify } from 'node:util';
import { InvalidInputError } from '../model/errors.ts';
import type { Capacity } from '../model/capacity.ts';
import { capacityOf, checkCanEverFit, type EngineNode } from './capacity.ts';
import { ExecutorError } from './errors.ts';
import { readTail } from './log-file.ts';
import { checkContainable, checkRunRequest, checkTailBytes, exitStatus, logPath, mustContain, runEnv, shellQuote } from './run-request.ts';
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
  /** Who each org's contained runs are on this cluster (see `checkTenantMap`); without it, runs cannot be contained. */
  readonly tenantMap?: SlurmTenantMap;
}

/** How one org's contained runs run on this cluster; what is absent is Slurm's default (the submitting user's). */
export interface SlurmTenant {
  /** The Slurm account the job is charged to. */
  readonly account?: string;
  readonly qos?: string;
  /** The Unix user the job runs as. */
  readonly user?: string;
}

/** The lender's map from org id to `SlurmTenant`; `default` for orgs it does not name. */
export interface SlurmTenantMap {
  readonly default?: SlurmTenant;
  readonly orgs?: Readonly<Record<string, SlurmTenant>>;
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
const TENANT_FIELDS: readonly (keyof SlurmTenant)[] = ['account', 'qos', 'user'];
/** Slurm account and QOS names, Unix user names. */
const SLURM_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;
const execFile$ = promisify(execFile);

export class SlurmExecutor implements Executor {
  readonly kind = 'slurm';
  private readonly client: SlurmRestClient;
  private readonly instance: string;
  /** start() calls in flight, by run id: a concurrent second call joins the first. */
  private readonly starting = new Map<RunId, Promise<RunHandle>>();
  private readonly tenantMap: SlurmTenantMap | undefined;

  constructor(private readonly options: SlurmExecutorOptions) {
    this.client = new SlurmRestClient(options);
    this.instance = options.instance ?? 'default';
    this.tenantMap = options.tenantMap === undefined ? undefined : checkTenantMap(options.tenantMap, 'slurm.tenantMap', '', this.client.jwt);
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

  /** Available with a tenant map: contained runs get their org's account, QOS and user. */
  containment(): Promise<Containment> {
    const map = this.tenantMap;
    const orgs = Object.keys(map?.orgs ?? {});
    if (map === undefined || (orgs.length === 0 && map.default === undefined)) {
      return Promise.resolve({ available: false, detail: 'no tenant map: the lender has not said which Slurm account, QOS and user each borrowing org runs as (suanli agent --tenant-map)' });
    }
    const orgsText = orgs.length === 0 ? 'no org by name' : `orgs ${orgs.join(', ')}`;
    const defaultText = map.default === undefined ? 'no default (other orgs are refused)' : `default ${describeTenant(map.default)}`;
    return Promise.resolve({ available: true, detail: `contained runs are submitted with their org's Slurm account and QOS, as its user (tenant map: ${orgsText}; ${defaultText}); network none is not available (a run that asks for it is refused)` });
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.starting.values());
  }

  private async submit(id: RunId, run: RunRequest): Promise<RunHandle> {
    await checkContainable(run, this);
    const tenant = mustContain(run) ? this.tenantOf(run) : undefined;
    checkCanEverFit(run, await this.nodes(true), this.options.partition === undefined ? 'Slurm' : `Slurm partition ${this.options.partition}`);
    const existing = (await this.ourJobs()).find(({ comment }) => comment.run === id);
    if (existing !== undefined) return { runId: id, engineId: String(existing.job.job_id) };
    mkdirSync(run.workDir, { recursive: true });
    mkdirSync(run.logDir, { recursive: true });
    if (tenant?.user !== undefined) await giveToUser(run, tenant.user);
    const reply = await this.client.ok<{ job_id?: number }>('POST', `${API}/job/submit`, submission(run, this.instance, this.options, tenant), tenant?.user);
    if (typeof reply.job_id !== 'number') throw new ExecutorError('slurm', 'unavailable', `submit of ${id} answered no job_id`);
    return { runId: id, engineId: String(reply.job_id) };
  }

  /** A contained run's account, QOS and user; InvalidInputError when the map has none for its org, or it wants no network. */
  private tenantOf(run: RunRequest): SlurmTenant {
    const org = run.tenant?.org ?? '';
    if (run.tenant?.network === 'none') {
      throw new InvalidInputError('run.tenant.network', `${org === '' ? 'this' : `${org}'s`} contained run must have no network, which the Slurm executor cannot enforce`, "network host for contained runs on this Slurm site (the site's policy), or a site that can take the network away");
    }
    const tenant = (org === '' ? undefined : this.tenantMap?.orgs?.[org]) ?? this.tenantMap?.default;
    if (tenant === undefined) {
      throw new InvalidInputError('run.tenant.org', `${org === '' ? 'the control plane did not say whose run this is' : `org ${org} is not in the Slurm tenant map`}, and the map has no default`, 'an org named in the tenant map, or a default entry');
    }
    return tenant;
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

/**
 * Checks a tenant map (from a file or the caller), throwing InvalidInputError on
 * `field` naming the bad key (`orgs.beta.qos`) after `where` (e.g. the file's name).
 * `canActForUsers`: slurmrestd is reached with a JWT (a unix socket's rest_auth/local
 * runs every job as slurmrestd's user, so a map with users is refused there).
 */
export function checkTenantMap(value: unknown, field: string, where = '', canActForUsers = true): SlurmTenantMap {
  const bad = (key: string, problem: string, accepted: string): never => {
    throw new InvalidInputError(field, `${where}${key === '' ? '' : `${key}: `}${problem}`, accepted);
  };
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const tenant = (v: unknown, key: string): SlurmTenant => {
    if (!isObject(v)) return bad(key, 'is not an object', '{ "account": "...", "qos": "...", "user": "..." }, every field optional');
    for (const [name, item] of Object.entries(v)) {
      if (!(TENANT_FIELDS as readonly string[]).includes(name)) bad(`${key}.${name}`, 'is not a field of a tenant', TENANT_FIELDS.join(', '));
      if (typeof item !== 'string' || !SLURM_NAME.test(item)) bad(`${key}.${name}`, `${JSON.stringify(item)} is not a Slurm or Unix name`, '1–64 of A-Z a-z 0-9 . _ -, not starting with . or -');
      if (name === 'user' && !canActForUsers) bad(`${key}.user`, 'names a user, but slurmrestd is reached over a unix socket (rest_auth/local runs every job as its own user)', 'slurmrestd over TCP with a JWT of root or SlurmUser, or a map without users');
    }
    return v; // every key a tenant field, every value a name: checked above
  };
  if (!isObject(value)) return bad('', 'is not a JSON object', '{ "default": { … }, "orgs": { "<org>": { … } } }');
  for (const key of Object.keys(value)) if (key !== 'default' && key !== 'orgs') bad(key, 'is not a key of a tenant map', 'default, orgs');
  const orgs = value.orgs === undefined || isObject(value.orgs) ? value.orgs : bad('orgs', 'is not an object', '{ "<org>": { "account": "...", "qos": "...", "user": "..." } }');
  return {
    ...(value.default === undefined ? {} : { default: tenant(value.default, 'default') }),
    ...(orgs === undefined ? {} : { orgs: Object.fromEntries(Object.entries(orgs).map(([org, t]) => [org, tenant(t, `orgs.${org}`)])) }),
  };
}

const describeTenant = (t: SlurmTenant): string => TENANT_FIELDS.filter((f) => t[f] !== undefined).map((f) => `${f} ${t[f] ?? ''}`).join(', ') || 'the submitting user’s defaults';

/**
 * Makes the run's work directory and log file its mapped user's, so the job can
 * write them; only an agent running as root can (otherwise the shared filesystem
 * must already let that user write there).
 */
async function giveToUser(run: RunRequest, user: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  let ids: number[];
  try {
    ids = await Promise.all(['-u', '-g'].map(async (flag) => Number((await execFile$('id', [flag, user])).stdout.trim())));
  } catch (err) {
    throw new ExecutorError('slurm', 'rejected', `the tenant map's user ${user} is not known on the agent's machine: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const [uid = -1, gid = -1] = ids;
  chownSync(run.workDir, uid, gid);
  closeSync(openSync(logPath(run), 'a'));
  chownSync(logPath(run), uid, gid);
}

/** The submit body for a run: name, comment, resources, a contained run's account and QOS, and the srun script (stack-notes §5 pitfall 9). */
export function submission(run: RunRequest, instance: string, options: Pick<SlurmExecutorOptions, 'partition' | 'baseEnv' | 'timeLimitMinutes'> = {}, tenant: SlurmTenant = {}): unknown {
  const id = checkRunRequest(run);
  const comment: SuanliComment = { suanli: instance, run: id, log: logPath(run) };
  const gpus = run.gpusPerNode === 0 ? {} : { gres: run.gpuType === undefined ? `gpu:${run.gpusPerNode}` : `gpu:${run.gpuType}:${run.gpusPerNode}` };
  return {
    script: script(run.command),
    job: {
      name: jobName(id),
      comment: JSON.stringify(comment),
      ...(options.partition === undefined ? {} : { partition: options.partition }),
      ...(tenant.account === undefined ? {} : { account: tenant.account }),
      ...(tenant.qos === undefined ? {} : { qos: tenant.qos }),
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
