/**
 * The local executor: runs each run as processes on this machine, one per node of
 * the run, with GPUs assigned through CUDA_VISIBLE_DEVICES from a declared inventory
 * or nvidia-smi. It is the embedded default and what the demo pool's agents use.
 *
 * Durable state, so that a new instance (the agent restarted) carries on where the
 * old one stopped: `<stateDir>/runs/<runId>/` holds
 * - `run.json`: the request, when it was accepted, and once started each rank's
 *   node, GPUs and process-group leader (pid and start time);
 * - `exit.<rank>`: the command's exit status, written by the `sh` wrapper that runs
 *   it (so it is recorded even when no executor is alive to see the exit);
 * - `cancelled`: written by `cancel` before it signals the processes;
 * - `final.json`: the outcome once observed, so it never changes again — unless the
 *   exit records alone say it (every rank ended with its record, nothing of the run
 *   was left running, no cancel): then they are the record, and a new instance reads
 *   the same outcome from them.
 * A rank whose process group vanished without an exit record, and without a cancel,
 * is `lost`.
 *
 * GPUs: a run holds its GPUs while it is not final or any process of its groups is
 * alive; a run that does not fit the free GPUs waits (`pending`) and is started,
 * oldest first, as soon as it fits. GPUs are never given to two runs at once.
 *
 * A run with `tenant.sandbox` runs contained, each rank in a bubblewrap sandbox
 * (local-sandbox.ts says what it is made of); the run's work directory is then its
 * own and the only one it may write in.
 *
 * One executor instance per state directory at a time (the agent is one process).
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { InvalidInputError } from '../model/errors.ts';
import type { Capacity } from '../model/capacity.ts';
import { capacityOf, checkCanEverFit, gpuTypeFromName, type EngineNode } from './capacity.ts';
import { ExecutorError } from './errors.ts';
import { readTail } from './log-file.ts';
import { LocalSandbox, OUTSIDE_ENV, type LocalSandboxOptions } from './local-sandbox.ts';
import { groupLeader, ProcessSnapshot, signalGroup, type GroupLeader } from './process-groups.ts';
import { checkContainable, checkRunRequest, checkTailBytes, exitStatus, logPath, mustContain, runEnv } from './run-request.ts';
import { FINAL_RUN_STATES, SUANLI_ENV, type Containment, type Executor, type RunHandle, type RunId, type RunRecord, type RunRequest, type RunStatus } from './types.ts';

export interface LocalExecutorOptions {
  /** Directory for the durable state above; created if missing. */
  readonly stateDir: string;
  /**
   * The GPUs this machine offers, e.g. `[{ gpuType: 'h100', nodes: 1, gpusPerNode: 8 }]`;
   * more than one node splits the machine into virtual nodes for multi-node runs.
   * Absent: nvidia-smi's GPUs (one virtual node per GPU type); without nvidia-smi, none
   * (CPU-only runs).
   */
  readonly inventory?: readonly Capacity[];
  /** The nvidia-smi program to ask when there is no inventory (default `nvidia-smi` on PATH). */
  readonly nvidiaSmi?: string;
  /** Whether commands inherit this process's environment (default true); PATH is always passed. Contained runs never do. */
  readonly inheritEnv?: boolean;
  /** How contained runs are built: what they must not see, and the bwrap program. */
  readonly sandbox?: LocalSandboxOptions;
  /** How long cancelled processes have between SIGTERM and SIGKILL (default 10 s). */
  readonly killGraceMs?: number;
  /** How often to look at the runs: notice ends, start waiting runs (default 1 s). */
  readonly pollMs?: number;
}

/** A virtual node: a slice of this machine's GPUs, by physical index. */
interface LocalNode extends EngineNode {
  readonly gpuIndices: readonly number[];
}

interface LocalRank {
  readonly rank: number;
  readonly node: string;
  readonly gpus: readonly number[];
  /** null when the process could not be spawned. */
  readonly leader: GroupLeader | null;
}

/** run.json */
interface LocalRunFile {
  readonly runId: RunId;
  readonly request: RunRequest;
  readonly logPath: string;
  readonly acceptedAt: number;
  /** null while waiting for GPUs. */
  readonly ranks: readonly LocalRank[] | null;
}

/**
 * What this instance knows of a run that has not settled: read from its directory once
 * (a run of an earlier instance), or made by `start`. Only this instance writes its
 * files while it runs, so what it wrote is what they hold.
 */
interface LocalRun {
  file: LocalRunFile;
  /** run.json holds `file` (false only inside `start`: a run launched at once is written once, with its ranks). */
  saved: boolean;
  /** When `cancel` asked (the `cancelled` file), or null. */
  cancelledAt: number | null;
  /** final.json, or null. */
  final: FinalFile | null;
}

/** final.json */
interface FinalFile {
  readonly status: RunStatus;
  readonly at: number;
  /** Every process of the run is gone, so its GPUs are free. */
  readonly released: boolean;
}

/**
 * Runs each argv, records its exit status, exits with it. $1 is the exit file. The record
 * is one short write (the shell's printf writes its line at once) and counts only once its
 * line is whole (readExit): no temporary file and no `mv`, a process fewer per rank.
 */
const WRAPPER = 'exit_file=$1; shift; "$@"; code=$?; printf \'%s\\n\' "$code" > "$exit_file"; exit "$code"';
/**
 * The wrapper of a contained rank: the same, ignoring SIGTERM, as bwrap does after it
 * (the command inside gets the default back): were either to die of a cancel's SIGTERM,
 * the sandbox would be SIGKILLed before the command could checkpoint.
 */
const CONTAINED_WRAPPER = `trap '' TERM; ${WRAPPER}`;

const ENGINE_ID = /^[A-Za-z0-9_-]+\.[0-9]+$/;
const run$ = promisify(execFile);

export class LocalExecutor implements Executor {
  readonly kind = 'local';
  private readonly runsDir: string;
  private readonly killGraceMs: number;
  private readonly sandbox: LocalSandbox;
  private nodeList: Promise<LocalNode[]> | undefined;
  /** Every state change goes through this chain: one at a time per instance. */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  /** Final runs whose processes are all gone never change: cached by run id. */
  private readonly settled = new Map<string, RunRecord>();
  /** Runs not settled, by id: see LocalRun. */
  private readonly runs = new Map<string, LocalRun>();
  /** A background check is queued: more kicks add nothing. */
  private kicked = false;
  /** A child exited since the last check: the listeners hear of it after the next one. */
  private exited = false;
  private readonly listeners = new Set<() => void>();
  /**
   * The last check's records, while nothing has changed since — no child of this instance exited, no run was
   * started or cancelled — and for at most `pollMs` (runs of an earlier instance are no children of this one:
   * their ends are seen by the next check). Statuses asked for together (an agent's round) cost one check.
   */
  private fresh: { readonly at: number; readonly records: Map<string, RunRecord> } | null = null;
  private readonly pollMs: number;
  /** Pids of ranks this instance spawned whose exit it has not seen: alive, with no need to look. */
  private readonly children = new Set<number>();
  /**
   * The ids of runs not settled, in the state directory as of its last listing, and those started since by this
   * instance: a check looks at these (a settled run never changes: its cost does not grow with the runs that were),
   * and lists the directory again only now and then (the timer's checks, `list`, a status asked of a run it does
   * not know), as only another instance adds runs behind its back.
   */
  private readonly known = new Set<string>();
  private listed = false;
  /** Log directories made already (a run's log goes where its request says; an agent's all go to one). */
  private readonly logDirs = new Set<string>();

  constructor(private readonly options: LocalExecutorOptions) {
    this.runsDir = join(options.stateDir, 'runs');
    mkdirSync(this.runsDir, { recursive: true, mode: 0o700 });
    this.killGraceMs = options.killGraceMs ?? 10_000;
    this.sandbox = new LocalSandbox(options.stateDir, options.sandbox);
    this.pollMs = options.pollMs ?? 1000;
    this.timer = setInterval(() => this.kick(true), this.pollMs).unref();
  }

  async discover(): Promise<Capacity[]> {
    return capacityOf(await this.nodes());
  }

  async start(run: RunRequest): Promise<RunHandle> {
    const id = checkRunRequest(run);
    checkCanEverFit(run, await this.nodes(), 'this machine');
    await checkContainable(run, this);
    return this.exclusive(async () => {
      const handle = { runId: id, engineId: id };
      const dir = join(this.runsDir, id);
      if (this.runs.has(id) || this.settled.has(id) || existsSync(join(dir, 'run.json'))) return handle;
      if (!this.logDirs.has(run.logDir)) {
        mkdirSync(run.logDir, { recursive: true });
        this.logDirs.add(run.logDir); // every run of an agent logs to the same one
      }
      if (mustContain(run)) this.sandbox.claimWorkDir(run);
      else mkdirSync(run.workDir, { recursive: true });
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const local: LocalRun = { file: { runId: id, request: run, logPath: logPath(run), acceptedAt: Date.now(), ranks: null }, saved: false, cancelledAt: null, final: null };
      this.runs.set(id, local);
      this.known.add(id);
      try {
        await this.refresh(); // launches it when its GPUs are free, and writes run.json then
      } finally {
        // Accepted, to be launched when its GPUs free up (or by the next check, had this one failed).
        if (!local.saved) {
          writeJson(join(dir, 'run.json'), local.file);
          local.saved = true;
        }
      }
      return handle;
    });
  }

  async status(handle: RunHandle): Promise<RunStatus> {
    const dir = this.runDir(handle);
    return this.exclusive(async () => {
      // A run the last check did not see (another instance started it since) is looked for anew.
      const record = this.recordIn(await this.current(), handle.engineId) ?? this.recordIn(await this.refresh(true), handle.engineId);
      return record?.handle.runId === handle.runId ? record.status : { state: 'lost', detail: `no local run ${handle.runId} in ${dir}` };
    });
  }

  async cancel(handle: RunHandle): Promise<void> {
    const dir = this.runDir(handle);
    await this.exclusive(async () => {
      const record = this.recordIn(await this.refresh(), handle.engineId);
      if (record === undefined || FINAL_RUN_STATES.has(record.status.state)) return;
      const local = this.run(handle.engineId);
      if (local === null) return;
      const at = Date.now();
      writeFileSync(join(dir, 'cancelled'), `${at}\n`);
      local.cancelledAt = at;
      const procs = new ProcessSnapshot();
      for (const rank of local.file.ranks ?? []) if (rank.leader !== null && procs.alive(rank.leader)) signalGroup(rank.leader.pid, 'SIGTERM');
      await this.refresh();
    });
  }

  async logTail(handle: RunHandle, bytes: number): Promise<string> {
    checkTailBytes(bytes);
    const dir = this.runDir(handle);
    const file = this.runs.get(handle.engineId)?.file ?? (existsSync(join(dir, 'run.json')) ? readRunFile(dir) : null);
    return file === null ? '' : readTail(file.logPath, bytes);
  }

  async list(): Promise<RunRecord[]> {
    return this.exclusive(async () => [...(await this.refresh(true)).values(), ...this.settled.values()]);
  }

  /** bubblewrap, when it builds a working sandbox here (checked once per instance). */
  containment(): Promise<Containment> {
    return this.sandbox.containment();
  }

  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    clearInterval(this.timer);
    await this.chain;
  }

  /** Looks at the runs soon (a child exited, or the poll timer fired); errors wait for the next call. */
  private kick(list = false): void {
    if (this.kicked) return;
    this.kicked = true;
    this.exclusive(async () => {
      this.kicked = false;
      const exited = this.exited;
      this.exited = false;
      await this.refresh(list);
      if (exited) for (const listener of [...this.listeners]) listener();
    }).catch(() => undefined);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.chain.then(fn);
    this.chain = result.catch(() => undefined);
    return result;
  }

  private runDir(handle: RunHandle): string {
    if (typeof handle.engineId !== 'string' || !ENGINE_ID.test(handle.engineId)) {
      throw new InvalidInputError('handle.engineId', `${JSON.stringify(handle.engineId)} is not a local run`, 'an engineId returned by the local executor, like 42.1');
    }
    return join(this.runsDir, handle.engineId);
  }

  private nodes(): Promise<LocalNode[]> {
    this.nodeList ??= this.options.inventory !== undefined ? Promise.resolve(declaredNodes(this.options.inventory)) : nvidiaSmiNodes(this.options.nvidiaSmi ?? 'nvidia-smi');
    return this.nodeList;
  }

  /**
   * The recipe of every check, in this order: (1) observe each run against one
   * snapshot of live processes, recording outcomes and stopping what a finished run
   * left behind; (2) count the GPUs held; (3) start waiting runs, oldest first, that
   * fit the free GPUs. Returns the records of the runs not settled (the others: `settled`). Only ever called
   * inside `exclusive`.
   */
  private async refresh(list = false): Promise<Map<string, RunRecord>> {
    const nodes = await this.nodes();
    // At most one /proc scan per check, and none when no run has processes to look at.
    let snapshot: ProcessSnapshot | undefined;
    const procs = () => (snapshot ??= new ProcessSnapshot(this.children));
    const now = Date.now();
    const records = new Map<string, RunRecord>();
    const held = new Map<string, Set<number>>();
    const waiting: LocalRun[] = [];
    if (list || !this.listed) {
      for (const id of readdirSync(this.runsDir)) if (ENGINE_ID.test(id) && !this.settled.has(id)) this.known.add(id);
      this.listed = true;
    }
    for (const id of this.known) {
      const local = this.run(id);
      if (local === null) continue; // being created by another instance
      const { file } = local;
      const { status, released } = this.observe(join(this.runsDir, id), local, procs, now);
      const record = { handle: { runId: file.runId, engineId: id }, status };
      if (released && FINAL_RUN_STATES.has(status.state)) {
        this.settled.set(id, record);
        this.runs.delete(id);
        this.known.delete(id);
        continue;
      }
      records.set(id, record);
      if (!released) for (const rank of file.ranks ?? []) hold(held, rank.node, rank.gpus);
      if (file.ranks === null && status.state === 'pending') waiting.push(local);
    }
    waiting.sort((a, b) => a.file.acceptedAt - b.file.acceptedAt || a.file.runId.localeCompare(b.file.runId));
    // A new instance checks its sandbox before it launches runs an old one accepted.
    if (waiting.some((w) => mustContain(w.file.request))) await this.sandbox.containment();
    for (const local of waiting) {
      const { file } = local;
      const placement = allocate(file.request, nodes, held);
      if (placement === null) continue;
      const ranks = this.launch(local, placement);
      for (const rank of ranks) hold(held, rank.node, rank.gpus);
      records.set(file.runId, { handle: { runId: file.runId, engineId: file.runId }, status: { state: 'running', detail: `started on ${describe(ranks)}` } });
    }
    this.fresh = { at: performance.now(), records };
    return records;
  }

  /** A run's record: in a check's records (runs not settled), or settled. */
  private recordIn(records: ReadonlyMap<string, RunRecord>, id: string): RunRecord | undefined {
    return records.get(id) ?? this.settled.get(id);
  }

  /** The last check's records (of runs not settled) while they stand (see `fresh`), else a new check's. Only ever called inside `exclusive`. */
  private current(): Promise<Map<string, RunRecord>> {
    const fresh = this.fresh;
    return fresh !== null && performance.now() - fresh.at < this.pollMs ? Promise.resolve(fresh.records) : this.refresh();
  }

  /** The run with id `id`: as this instance knows it, else read from its directory (null: not there, or settled). */
  private run(id: string): LocalRun | null {
    const known = this.runs.get(id);
    if (known !== undefined) return known;
    if (this.settled.has(id)) return null;
    const dir = join(this.runsDir, id);
    if (!existsSync(join(dir, 'run.json'))) return null;
    const finalPath = join(dir, 'final.json');
    const local: LocalRun = {
      file: readRunFile(dir),
      saved: true,
      cancelledAt: readNumber(join(dir, 'cancelled')),
      final: existsSync(finalPath) ? (JSON.parse(readFileSync(finalPath, 'utf8')) as FinalFile) : null,
    };
    this.runs.set(id, local);
    return local;
  }

  /** A run's status now, and whether its GPUs are free; records and enforces outcomes (see refresh). */
  private observe(dir: string, local: LocalRun, procs: () => ProcessSnapshot, now: number): { status: RunStatus; released: boolean } {
    const { file, cancelledAt } = local;
    const finalPath = join(dir, 'final.json');
    const ranks = file.ranks ?? [];
    const alive = ranks.filter((r) => r.leader !== null && procs().alive(r.leader));
    if (local.final !== null) {
      const final = local.final;
      if (final.released) return final;
      if (now - final.at > this.killGraceMs) this.signal(alive, 'SIGKILL');
      if (alive.length === 0) this.finish(local, finalPath, { ...final, released: true });
      return { status: final.status, released: alive.length === 0 };
    }
    // Exit records are read after the process snapshot, of ranks seen gone: the wrapper writes its record before it
    // exits, so a rank seen gone already has its record. (A rank alive counts as not ended, whatever it wrote.)
    const exits = ranks.map((r) => (alive.includes(r) ? null : readExit(join(dir, `exit.${r.rank}`))));
    const where = (r: LocalRank) => `${file.runId} rank ${r.rank} on ${r.node}`;
    let status: RunStatus | undefined;
    if (cancelledAt !== null) {
      if (alive.length === 0) status = { state: 'cancelled', detail: `${file.runId} cancelled` };
      else if (now - cancelledAt > this.killGraceMs) this.signal(alive, 'SIGKILL');
    } else if (file.ranks === null) {
      const { nodes, gpusPerNode, gpuType } = file.request;
      return { status: { state: 'pending', detail: `waiting for ${nodes} node(s) with ${gpusPerNode} free ${gpuType === undefined ? '' : `${gpuType} `}GPUs` }, released: true };
    } else {
      const failedAt = ranks.findIndex((r, i) => r.leader === null || (exits[i] ?? 0) !== 0);
      const vanishedAt = ranks.findIndex((r, i) => exits[i] === null && !alive.includes(r));
      const failed = ranks[failedAt];
      const vanished = ranks[vanishedAt];
      if (failed !== undefined) {
        status = failed.leader === null ? { state: 'failed', reason: 'engine', exitCode: null, detail: `${where(failed)} could not be started` } : exitStatus(exits[failedAt] ?? -1, where(failed));
      } else if (vanished !== undefined) {
        status = { state: 'lost', detail: `${where(vanished)} (pid ${vanished.leader?.pid ?? '?'}) vanished without an exit status` };
      } else if (exits.every((e) => e === 0)) {
        status = exitStatus(0, file.runId);
      }
    }
    if (status === undefined) {
      const detail = cancelledAt !== null ? `stopping ${file.runId}: cancel requested` : `running on ${describe(ranks)}`;
      return { status: { state: 'running', detail }, released: false };
    }
    // Final: a gang does not outlive a failed rank, and nothing outlives its command (as Slurm's step end).
    this.signal(alive, 'SIGTERM');
    const released = alive.length === 0;
    const final = { status, at: now, released };
    // The common end (see the header) writes no file: the exit records say it already.
    if (released && cancelledAt === null && exits.every((e) => e !== null)) local.final = final;
    else this.finish(local, finalPath, final);
    return { status, released };
  }

  /** Records the run's outcome, on disk and here. */
  private finish(local: LocalRun, finalPath: string, final: FinalFile): void {
    writeJson(finalPath, final);
    local.final = final;
  }

  /**
   * Signals the ranks' process groups. A run is sent SIGTERM once (by `cancel`, or when
   * it ends) and SIGKILL once its grace period is over, nothing in between: a command
   * that traps SIGTERM to checkpoint must not see the processes it starts for that
   * stopped by a second SIGTERM.
   */
  private signal(ranks: readonly LocalRank[], signal: 'SIGTERM' | 'SIGKILL'): void {
    for (const rank of ranks) if (rank.leader !== null) signalGroup(rank.leader.pid, signal);
  }

  /** Spawns every rank and records them in the same synchronous step, so no restart can miss a spawned rank. */
  private launch(local: LocalRun, placement: readonly { node: LocalNode; gpus: readonly number[] }[]): LocalRank[] {
    const { file } = local;
    const run = file.request;
    const dir = join(this.runsDir, file.runId);
    const base = this.options.inheritEnv === false ? { PATH: process.env.PATH ?? '/usr/bin:/bin' } : process.env;
    const contained = mustContain(run);
    const ranks = placement.map(({ node, gpus }, rank): LocalRank => {
      const env = { ...run.env, ...runEnv(run), [SUANLI_ENV.nodeRank]: String(rank), [SUANLI_ENV.nodeName]: node.name, CUDA_VISIBLE_DEVICES: gpus.join(',') };
      const exitFile = join(dir, `exit.${rank}`);
      const log = openSync(file.logPath, 'a');
      try {
        let spawned: { args: string[]; env: NodeJS.ProcessEnv };
        try {
          spawned = contained
            ? { args: [CONTAINED_WRAPPER, 'suanli-run', exitFile, ...this.sandbox.rankArgv(run, { ...this.sandbox.baseEnv(run), ...env }, join(dir, `env.${rank}`))], env: OUTSIDE_ENV }
            : { args: [WRAPPER, 'suanli-run', exitFile, ...run.command], env: { ...base, ...env } };
        } catch (err) {
          writeSync(log, `suanli: cannot start ${file.runId} rank ${rank}: ${err instanceof Error ? err.message : String(err)}\n`);
          return { rank, node: node.name, gpus, leader: null };
        }
        const child = spawn('/bin/sh', ['-c', ...spawned.args], { cwd: run.workDir, env: spawned.env, detached: true, stdio: ['ignore', log, log] });
        child.on('error', () => undefined); // seen as a rank that could not start (no pid) or has no exit record
        if (child.pid !== undefined) this.children.add(child.pid);
        child.on('exit', () => {
          if (child.pid !== undefined) this.children.delete(child.pid);
          this.fresh = null;
          this.exited = true;
          this.kick();
        });
        child.unref();
        return { rank, node: node.name, gpus, leader: child.pid === undefined ? null : groupLeader(child.pid) };
      } finally {
        closeSync(log);
      }
    });
    local.file = { ...file, ranks };
    writeJson(join(dir, 'run.json'), local.file);
    local.saved = true;
    return ranks;
  }
}

/**
 * `run.nodes` nodes of one GPU type, each with `run.gpusPerNode` GPUs not in `held`,
 * lowest indices first; null when they are not free now.
 */
function allocate(run: RunRequest, nodes: readonly LocalNode[], held: ReadonlyMap<string, ReadonlySet<number>>): { node: LocalNode; gpus: number[] }[] | null {
  const types = run.gpuType === undefined ? [...new Set(nodes.map((n) => n.gpuType))] : [run.gpuType];
  for (const type of types) {
    const fits = nodes
      .filter((n) => n.gpuType === type)
      .map((node) => ({ node, gpus: node.gpuIndices.filter((i) => !held.get(node.name)?.has(i)).slice(0, run.gpusPerNode) }))
      .filter((c) => c.gpus.length === run.gpusPerNode);
    if (fits.length >= run.nodes) return fits.slice(0, run.nodes);
  }
  return null;
}

function hold(held: Map<string, Set<number>>, node: string, gpus: readonly number[]): void {
  const set = held.get(node) ?? new Set<number>();
  for (const g of gpus) set.add(g);
  held.set(node, set);
}

const describe = (ranks: readonly LocalRank[]) => ranks.map((r) => `${r.node} (GPUs ${r.gpus.join(',') || 'none'})`).join(', ');

/** Declared capacity as virtual nodes with consecutive physical GPU indices. */
function declaredNodes(inventory: readonly Capacity[]): LocalNode[] {
  const nodes: LocalNode[] = [];
  let next = 0;
  inventory.forEach((c, i) => {
    if (typeof c.gpuType !== 'string' || c.gpuType === '') throw new InvalidInputError(`inventory[${i}].gpuType`, 'is empty', 'a GPU type such as h100');
    if (!Number.isSafeInteger(c.nodes) || c.nodes < 1) throw new InvalidInputError(`inventory[${i}].nodes`, `${String(c.nodes)} is not a node count`, 'an integer ≥ 1');
    if (!Number.isSafeInteger(c.gpusPerNode) || c.gpusPerNode < 0) throw new InvalidInputError(`inventory[${i}].gpusPerNode`, `${String(c.gpusPerNode)} is not a GPU count`, 'an integer ≥ 0');
    for (let k = 0; k < c.nodes; k++) {
      const gpuIndices = Array.from({ length: c.gpusPerNode }, (_, j) => next + j);
      next += c.gpusPerNode;
      nodes.push({ name: `local-${nodes.length}`, gpuType: c.gpuType, gpus: c.gpusPerNode, usable: true, gpuIndices });
    }
  });
  return nodes.length > 0 ? nodes : [cpuNode()];
}

/** nvidia-smi's GPUs, one virtual node per GPU type; a CPU-only node when there is no nvidia-smi. */
async function nvidiaSmiNodes(program: string): Promise<LocalNode[]> {
  let stdout: string;
  try {
    ({ stdout } = await run$(program, ['--query-gpu=index,name', '--format=csv,noheader']));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [cpuNode()];
    throw new ExecutorError('local', 'unavailable', `${program} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const byType = new Map<string, number[]>();
  for (const line of stdout.split('\n')) {
    const match = /^\s*(\d+)\s*,\s*(.+?)\s*$/.exec(line);
    if (match === null) continue;
    const type = gpuTypeFromName(match[2] ?? '');
    byType.set(type, [...(byType.get(type) ?? []), Number(match[1])]);
  }
  const nodes = [...byType].map(([gpuType, gpuIndices], k) => ({ name: `local-${k}`, gpuType, gpus: gpuIndices.length, usable: true, gpuIndices }));
  return nodes.length > 0 ? nodes : [cpuNode()];
}

const cpuNode = (): LocalNode => ({ name: 'local-0', gpuType: 'none', gpus: 0, usable: true, gpuIndices: [] });

function readRunFile(dir: string): LocalRunFile {
  const path = join(dir, 'run.json');
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LocalRunFile;
  } catch (err) {
    throw new ExecutorError('local', 'unavailable', `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** A number written by cancel; null when the file is not there. */
function readNumber(path: string): number | null {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

/** A rank's exit status as its wrapper wrote it: null until the file holds a whole line (see WRAPPER). */
function readExit(path: string): number | null {
  try {
    const line = /^(-?[0-9]+)\n$/.exec(readFileSync(path, 'utf8'));
    return line === null ? null : Number(line[1]);
  } catch {
    return null;
  }
}

/** Writes through a temporary file and a rename, so readers never see half a file. */
function writeJson(path: string, value: unknown): void {
  writeFileSync(`${path}.tmp`, `${JSON.stringify(value)}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

