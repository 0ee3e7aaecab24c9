// What every executor does the same way with a run: check the request, name its
// log, build the SUANLI_* environment, refuse a run it must contain and cannot, and
// say what an exit status means.
import { isAbsolute, join } from 'node:path';
import { constants } from 'node:os';
import { InvalidInputError } from '../model/errors.ts';
import { runId, SUANLI_ENV, type Executor, type RunId, type RunRequest, type RunStatus } from './types.ts';

const JOB_ID = /^[A-Za-z0-9_-]{1,48}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ORG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const NETWORKS: readonly string[] = ['none', 'host'];

/**
 * Throws InvalidInputError naming the first bad field of `run` (as `run.<field>`);
 * returns the run id. Executors call it first thing in `start`.
 */
export function checkRunRequest(run: RunRequest): RunId {
  if (typeof run.jobId !== 'string' || !JOB_ID.test(run.jobId)) {
    throw new InvalidInputError('run.jobId', `${JSON.stringify(run.jobId)} is not a job id`, '1–48 characters of A-Z a-z 0-9 _ -');
  }
  if (!Number.isSafeInteger(run.attempt) || run.attempt < 1) throw new InvalidInputError('run.attempt', `${String(run.attempt)} is not an attempt number`, 'an integer ≥ 1');
  if (!Array.isArray(run.command) || run.command.length === 0) throw new InvalidInputError('run.command', 'is empty', 'a non-empty argv array of strings');
  run.command.forEach((arg, i) => {
    if (typeof arg !== 'string' || arg.includes('\0')) throw new InvalidInputError(`run.command[${i}]`, 'is not a string without NUL bytes', 'strings without NUL bytes');
  });
  if (run.command[0] === '') throw new InvalidInputError('run.command[0]', 'is empty', 'the program to run');
  for (const [name, value] of Object.entries(run.env ?? {})) {
    if (!ENV_NAME.test(name)) throw new InvalidInputError(`run.env.${name}`, 'is not an environment variable name', 'names of A-Z a-z 0-9 _ not starting with a digit');
    if (name === 'CUDA_VISIBLE_DEVICES' || name.startsWith('SUANLI_')) {
      throw new InvalidInputError(`run.env.${name}`, 'is set by the executor', 'names other than CUDA_VISIBLE_DEVICES and SUANLI_*');
    }
    if (typeof value !== 'string' || value.includes('\0')) throw new InvalidInputError(`run.env.${name}`, 'is not a string without NUL bytes', 'strings without NUL bytes');
  }
  if (run.gpuType !== undefined && (typeof run.gpuType !== 'string' || run.gpuType === '')) throw new InvalidInputError('run.gpuType', 'is empty', 'a GPU type the site has, or no gpuType');
  if (!Number.isSafeInteger(run.gpusPerNode) || run.gpusPerNode < 0) throw new InvalidInputError('run.gpusPerNode', `${String(run.gpusPerNode)} is not a GPU count`, 'an integer ≥ 0');
  if (!Number.isSafeInteger(run.nodes) || run.nodes < 1) throw new InvalidInputError('run.nodes', `${String(run.nodes)} is not a node count`, 'an integer ≥ 1');
  if (run.span !== undefined) {
    const { sites, index } = run.span;
    if (!Array.isArray(sites) || sites.length < 2 || sites.some((s) => typeof s !== 'string' || s === '' || s.includes(','))) {
      throw new InvalidInputError('run.span.sites', 'is not a list of two or more site ids', 'site ids without commas, two or more');
    }
    if (!Number.isSafeInteger(index) || index < 0 || index >= sites.length) throw new InvalidInputError('run.span.index', `${String(index)} is not a position in run.span.sites`, `an integer from 0 to ${sites.length - 1}`);
  }
  if (run.tenant !== undefined) {
    const { org, borrowed, sandbox, network } = run.tenant;
    if (typeof org !== 'string' || (org !== '' && !ORG.test(org))) {
      throw new InvalidInputError('run.tenant.org', `${JSON.stringify(org)} is not an org id`, "1–63 of A-Z a-z 0-9 . _ - starting with a letter or digit, or '' when the control plane did not say");
    }
    if (typeof borrowed !== 'boolean') throw new InvalidInputError('run.tenant.borrowed', `${JSON.stringify(borrowed)} is not a boolean`, 'true or false');
    if (typeof sandbox !== 'boolean') throw new InvalidInputError('run.tenant.sandbox', `${JSON.stringify(sandbox)} is not a boolean`, 'true or false');
    if (!NETWORKS.includes(network)) throw new InvalidInputError('run.tenant.network', `${JSON.stringify(network)} is not a network`, NETWORKS.join(' or '));
  }
  for (const field of ['workDir', 'logDir'] as const) {
    const dir = run[field];
    if (typeof dir !== 'string' || !isAbsolute(dir) || dir.includes('\0')) throw new InvalidInputError(`run.${field}`, `${JSON.stringify(dir)} is not an absolute path`, 'an absolute directory path');
  }
  return runId(run.jobId, run.attempt);
}

/** Whether the run must be contained (`tenant.sandbox`). */
export const mustContain = (run: RunRequest): boolean => run.tenant?.sandbox === true;

/**
 * Throws InvalidInputError on `run.tenant.sandbox` when the run must be contained
 * and `executor` cannot, quoting its `containment()`; executors call it in `start`
 * before anything reaches the engine. Asks nothing for a run that need not be contained.
 */
export async function checkContainable(run: RunRequest, executor: Pick<Executor, 'kind' | 'containment'>): Promise<void> {
  if (!mustContain(run)) return;
  const containment = await executor.containment();
  if (containment.available) return;
  const whose = run.tenant?.borrowed === true ? `${run.tenant.org || 'another org'}'s borrowed run` : 'a run';
  throw new InvalidInputError('run.tenant.sandbox', `${whose} must be contained, but the ${executor.kind} executor cannot contain runs: ${containment.detail}`, 'a site whose executor can contain runs (see suanli agent --help), or a run that need not be contained');
}

/** One word for sh: single-quoted, so nothing in it is expanded. */
export const shellQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/** Where a run's log goes: `<logDir>/<runId>.log`. */
export const logPath = (run: RunRequest): string => join(run.logDir, `${runId(run.jobId, run.attempt)}.log`);

/** The SUANLI_* variables that are the same on every node of the run. */
export function runEnv(run: RunRequest): Record<string, string> {
  return {
    [SUANLI_ENV.runId]: runId(run.jobId, run.attempt), [SUANLI_ENV.nodes]: String(run.nodes),
    ...(run.span === undefined ? {} : { [SUANLI_ENV.spanSites]: run.span.sites.join(','), [SUANLI_ENV.spanIndex]: String(run.span.index) }),
    ...(run.span?.rendezvous === undefined ? {} : { [SUANLI_ENV.rendezvousUrl]: run.span.rendezvous.url, [SUANLI_ENV.rendezvousToken]: run.span.rendezvous.token }),
  };
}

const signalNames = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name]));

/**
 * The status of a run whose command ended with `exitCode`, in the shell's convention
 * (128+N when killed by signal N). `where` names the run in the detail.
 */
export function exitStatus(exitCode: number, where: string): RunStatus {
  if (exitCode === 0) return { state: 'succeeded', detail: `${where} exited with status 0` };
  const signal = exitCode > 128 ? signalNames.get(exitCode - 128) : undefined;
  const how = signal === undefined ? '' : ` (killed by ${signal})`;
  return { state: 'failed', reason: 'exit_code', exitCode, detail: `${where} exited with status ${exitCode}${how}` };
}

/** Decodes the tail of a log; a character cut in half at the start is dropped. */
export function decodeTail(bytes: Buffer): string {
  let start = 0;
  // UTF-8 continuation bytes are 10xxxxxx: skip them to the next character start.
  while (start < bytes.length && start < 4 && ((bytes[start] ?? 0) & 0xc0) === 0x80) start++;
  return bytes.subarray(start).toString('utf8');
}

/** Throws InvalidInputError unless `bytes` is a byte count for `logTail`. */
export function checkTailBytes(bytes: number): void {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new InvalidInputError('bytes', `${String(bytes)} is not a byte count`, 'an integer ≥ 0');
}
