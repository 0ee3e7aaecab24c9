/**
 * The port between a site agent and the engine that runs work at its site: local
 * processes, Slurm or Kubernetes. The agent receives placements from the control
 * plane and turns each attempt of a job into one *run* through an Executor; one
 * conformance suite (executor.conformance.ts) holds every implementation to the
 * contracts written here.
 */
import type { Capacity } from '../model/capacity.ts';

export type { Capacity } from '../model/capacity.ts';

/**
 * One attempt of one job: `${jobId}.${attempt}`, e.g. `42.1`. It names the run in the
 * engine (Slurm job name and comment, Kubernetes labels, the local state directory),
 * which is how an executor finds its runs again after the agent restarts.
 */
export type RunId = string & { readonly __brand: 'RunId' };

export const runId = (jobId: string, attempt: number): RunId => `${jobId}.${attempt}` as RunId;

/** What to run, where its files go, and on how many GPUs. Checked by `checkRunRequest`. */
export interface RunRequest {
  /** The control plane's job id: 1–48 of `A-Z a-z 0-9 _ -` (it must fit engine names and labels). */
  readonly jobId: string;
  /** 1 for the first placement of the job, 2 for the next, …: a retry is a new run. */
  readonly attempt: number;
  /** argv of the command; run once per node of the run, without a shell. */
  readonly command: readonly string[];
  /**
   * Extra environment for the command. `CUDA_VISIBLE_DEVICES` and names starting
   * `SUANLI_` are the executor's to set (see `SUANLI_ENV`) and are refused here.
   */
  readonly env?: Readonly<Record<string, string>>;
  /** The GPU type to run on, when the site has several; any type when absent. */
  readonly gpuType?: string;
  /** GPUs on each node of the run (0 for a CPU-only run). */
  readonly gpusPerNode: number;
  /** Nodes of the run: more than 1 is a gang, started together as one multi-node job. */
  readonly nodes: number;
  /** Absolute working directory of the command; created if missing. Slurm: on the shared filesystem. */
  readonly workDir: string;
  /**
   * Absolute directory for the run's log, `<logDir>/<runId>.log` (stdout and stderr of
   * every node); created if missing. Kubernetes keeps logs in the cluster and ignores it.
   */
  readonly logDir: string;
  /**
   * For one part of a job spanning sites: every site of the job in placement order,
   * and which of them this run is. Its processes meet their peers through it
   * (SUANLI_SPAN_SITES, SUANLI_SPAN_INDEX).
   */
  readonly span?: { readonly sites: readonly string[]; readonly index: number; readonly rendezvous?: { readonly url: string; readonly token: string } };
  /**
   * Whose run this is, and whether it must be contained on this site. Absent: the
   * site's own work, run as before. With `sandbox` true the executor contains the run
   * (what that means per engine: `containment()` and README.md) or, when it cannot,
   * `start` throws InvalidInputError on `run.tenant.sandbox` naming why — it never
   * runs a run uncontained that should be contained. With `sandbox` false the run is
   * started as any other, whoever's it is.
   */
  readonly tenant?: RunTenant;
}

/** The org behind a run and what the site's policy asks for it (see `RunRequest.tenant`). */
export interface RunTenant {
  /**
   * The org whose job it is: 1–63 of `A-Z a-z 0-9 . _ -`, or '' when the control plane
   * did not say (an older server). Executors that contain by org (Slurm accounts,
   * Kubernetes namespaces) refuse a contained run they cannot map.
   */
  readonly org: string;
  /** Another org's job on this site (borrowed GPUs). */
  readonly borrowed: boolean;
  /** Contain this run. */
  readonly sandbox: boolean;
  /** A contained run's network: `none` (a private loopback only) or the host's. Ignored when `sandbox` is false. */
  readonly network: 'none' | 'host';
}

/**
 * What an executor can do to contain a run, for the agent's logs and its heartbeat
 * (`sandbox_capable`). `detail` says how in words ("bubblewrap 0.8.0: …") or why not.
 */
export interface Containment {
  readonly available: boolean;
  readonly detail: string;
}

/**
 * How the executor finds a run again: plain data the agent may store and hand to
 * another instance of the same executor (after a restart).
 */
export interface RunHandle {
  readonly runId: RunId;
  /** The engine's own name for the run: a Slurm job id, a Kubernetes Job name, the local run directory. */
  readonly engineId: string;
}

export type RunState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'lost';

/** Runs in these states never change again. */
export const FINAL_RUN_STATES: ReadonlySet<RunState> = new Set(['succeeded', 'failed', 'cancelled', 'lost']);

/**
 * Why a run failed:
 * - `exit_code`: the command ended with a non-zero status (`exitCode`; 128+N when killed by signal N).
 * - `cancelled_outside`: the engine stopped it, but not through this executor
 *   (scancel, kubectl delete): the agent may retry it as a failure.
 * - `engine`: the engine ended it for its own reasons (node failure, time limit, out
 *   of memory, preemption by the engine) or could not run it.
 */
export type FailureReason = 'exit_code' | 'cancelled_outside' | 'engine';

/** Every status explains itself in `detail`, for logs and the dashboard. */
export type RunStatus =
  | { readonly state: 'pending' | 'running' | 'succeeded'; readonly detail: string }
  | { readonly state: 'failed'; readonly reason: FailureReason; readonly exitCode: number | null; readonly detail: string }
  /** Stopped through this executor's `cancel`. */
  | { readonly state: 'cancelled'; readonly detail: string }
  /** The engine has no trace of the run, or its processes vanished without an exit status. */
  | { readonly state: 'lost'; readonly detail: string };

export interface RunRecord {
  readonly handle: RunHandle;
  readonly status: RunStatus;
}

/**
 * Environment every executor sets for the command, on each node of the run
 * (the engine's own variables, like SLURM_* or JOB_COMPLETION_INDEX, come too).
 */
export const SUANLI_ENV = {
  /** The run id, `${jobId}.${attempt}`. */
  runId: 'SUANLI_RUN_ID',
  /** How many nodes the run has. */
  nodes: 'SUANLI_NODES',
  /** This node's rank in the run, 0 … nodes-1. */
  nodeRank: 'SUANLI_NODE_RANK',
  /** The engine's name of this node (Slurm node, Kubernetes node, `local-K`). */
  nodeName: 'SUANLI_NODE',
  /** A part of a job spanning sites: the job's sites, comma-separated, in placement order… */
  spanSites: 'SUANLI_SPAN_SITES',
  /** …and this part's position among them, 0 … sites-1. */
  spanIndex: 'SUANLI_SPAN_INDEX',
  /** Where the part's program publishes its endpoints and meets the other parts (POST …/publish, …/barrier)… */
  rendezvousUrl: 'SUANLI_RENDEZVOUS_URL',
  /** …with this token, scoped to the part's job attempt (worthless once it ends). */
  rendezvousToken: 'SUANLI_RENDEZVOUS_TOKEN',
} as const;

/**
 * Contracts every implementation keeps:
 * - Every method may be called from a fresh instance over the same engine (the
 *   agent restarted): runs are found in the engine or in durable state, not memory.
 * - `start` is idempotent by run id; `cancel` is idempotent and a no-op on a
 *   finished run.
 * - Engine trouble (unreachable, refused) throws `ExecutorError`; a bad request
 *   throws `InvalidInputError` naming the field. A run's outcome is never thrown:
 *   it is a `RunStatus`.
 * - A run with `tenant.sandbox` is contained or refused, never run as an own run.
 */
export interface Executor {
  /** Which engine this is, for logs: `local`, `slurm`, `kubernetes`. */
  readonly kind: string;

  /**
   * What the engine has now: one entry per (GPU type, GPUs per node), counting
   * nodes that can take work (not down or drained). The agent reports it as the
   * site's capacity.
   */
  discover(): Promise<Capacity[]>;

  /**
   * Hands the run to the engine and returns at once; the run is `pending` until the
   * engine has the GPUs, then `running`. Starting a run id the engine already has
   * (from this instance, a previous one, or a concurrent call) returns the existing
   * handle and runs nothing new. Throws InvalidInputError for a request the engine
   * can never satisfy (more GPUs per node or nodes than it has, an unknown GPU type).
   */
  start(run: RunRequest): Promise<RunHandle>;

  /** Where the run is now. A handle the engine does not know is `lost`, not an error. */
  status(handle: RunHandle): Promise<RunStatus>;

  /**
   * Asks the engine to stop the run and returns; `status` says `cancelled` once
   * the engine has stopped it (a run that ends before the stop keeps its own outcome).
   * Idempotent; a no-op on a finished or unknown run.
   */
  cancel(handle: RunHandle): Promise<void>;

  /**
   * The last `bytes` bytes of the run's log (stdout and stderr of every node),
   * decoded as UTF-8; '' when there is no log yet.
   */
  logTail(handle: RunHandle, bytes: number): Promise<string>;

  /** Every run of this executor the engine still knows, finished ones included (for recovery). */
  list(): Promise<RunRecord[]>;

  /**
   * Whether this executor can contain runs (`RunRequest.tenant.sandbox`), and how.
   * Cheap after the first call (the answer is kept); never throws: a check that fails
   * is `available: false` with the failure in `detail`.
   */
  containment(): Promise<Containment>;

  /**
   * Optional: calls `listener` soon after a run's state may have changed (a process
   * exited), so that the agent reports it at once rather than at its next poll. A hint
   * only: `status` still finds every change, and engines without it are polled.
   */
  onChange?(listener: () => void): void;

  /** Stops this instance's background work. Runs keep going; a new instance finds them. */
  close(): Promise<void>;
}
