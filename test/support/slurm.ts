// A throwaway single-machine Slurm 22.05 for integration tests, started and stopped
// with the project's own scripts (test/support/slurm/start-slurm.sh, stop-slurm.sh)
// in a new temporary directory, on ports nobody listens on; with accounting
// (slurmdbd on a private MariaDB) when asked. Tests call
// `slurmMissing` first; without the binaries (or without root, which slurmd needs to
// run jobs) they are skipped with a message saying why, except under CI=true, where
// .ci/run installs Slurm and its absence is a failure.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { scontrolToken } from '../../src/executors/slurm-rest.ts';
import { isRunning } from '../../src/store/data-dir-lock.ts';

const SCRIPTS = join(import.meta.dirname, 'slurm');
const NEEDED = ['munged', 'mungekey', 'munge', 'unmunge', 'slurmctld', 'slurmd', 'slurmrestd', 'sinfo', 'scontrol', 'scancel', 'srun', 'curl'];
const NEEDED_FOR_ACCOUNTING = ['slurmdbd', 'sacctmgr', 'sacct', 'mariadbd', 'mariadb-install-db', 'mariadb', 'mariadb-admin'];
const SEARCH = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];

export interface Slurm {
  /** The instance's directory (config, logs, spool); removed by stop. */
  readonly dir: string;
  /** Environment for the Slurm commands (SLURM_CONF, PATH with sbin). */
  readonly env: NodeJS.ProcessEnv;
  /** slurmrestd with JWT auth, e.g. http://127.0.0.1:20004. */
  readonly restUrl: string;
  /** slurmrestd with rest_auth/local (jobs run as `nobody`). */
  readonly restSocket: string;
  /** JWTs for root from `scontrol token`. */
  readonly token: () => Promise<string>;
  /** Runs a Slurm command (scancel, squeue…) against this instance; its stdout. */
  command(program: string, ...args: string[]): Promise<string>;
  /**
   * Restarts slurmctld without its saved jobs, as after a lost state directory: it
   * knows no job, numbers new ones from 1 again, and accounting keeps the old ones.
   * Waits first until no job runs and accounting has every record.
   */
  forgetJobs(): Promise<void>;
  /** Stops every daemon and job and deletes the directory; safe to call twice. */
  stop(): Promise<void>;
}

export interface SlurmShape {
  readonly nodes?: number;
  readonly gpusPerNode?: number;
  readonly gpuType?: string;
  /** Start slurmdbd and MariaDB for sacct and the /slurmdb API (about 3 s more). */
  readonly accounting?: boolean;
}

/** Why Slurm tests cannot run here, or undefined when they can. */
export function slurmMissing(options: { readonly accounting?: boolean } = {}): string | undefined {
  const needed = options.accounting === true ? [...NEEDED, ...NEEDED_FOR_ACCOUNTING] : NEEDED;
  const missing = needed.filter((b) => !SEARCH.some((dir) => dir !== '' && existsSync(join(dir, b))));
  if (missing.length > 0) {
    const accounting = options.accounting === true ? ' slurmdbd mariadb-server' : '';
    return `needs Slurm 22.05, munge and curl (missing ${missing.join(', ')}): apt-get install -y slurm-wlm slurmrestd munge slurm-client curl${accounting}`;
  }
  if (process.getuid?.() !== 0) return 'needs root: slurmd runs jobs as their users only as root';
  return undefined;
}

/** Marks `t` skipped, saying why; under CI=true, fails it instead. */
export function skipWithoutSlurm(t: TestContext, why: string): void {
  if (process.env.CI === 'true') throw new Error(`Slurm missing under CI: ${why}`);
  t.skip(`skipped: ${why}`);
}

const run = promisify(execFile);

/**
 * Starts munged, [MariaDB, slurmdbd,] slurmctld, one slurmd per node and slurmrestd
 * (JWT on TCP, local on a unix socket). On failure the script has already stopped
 * what it started; this throws with its output and the daemons' logs.
 */
export async function startSlurm(shape: SlurmShape = {}): Promise<Slurm> {
  const nodes = shape.nodes ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'suanli-slurm-'));
  const base = await freePortBase(nodes);
  const env = {
    ...process.env,
    PATH: SEARCH.filter((d) => d !== '').join(delimiter),
    SLURM_TEST_DIR: dir,
    SLURM_TEST_PORT_BASE: String(base),
    SLURM_TEST_NODES: String(nodes),
    SLURM_TEST_GPUS: String(shape.gpusPerNode ?? 8),
    SLURM_TEST_GPU_TYPE: shape.gpuType ?? 'h100',
  };
  try {
    await run(join(SCRIPTS, 'start-slurm.sh'), shape.accounting === true ? [] : ['--no-dbd'], { env, timeout: 120_000 });
  } catch (err) {
    const out = err as { stdout?: string; stderr?: string };
    const logs = existsSync(join(dir, 'log')) ? readLogs(dir) : '';
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not start Slurm in ${dir}: ${out.stderr ?? ''}${out.stdout ?? ''}${logs}`, { cause: err });
  }
  const slurmEnv = { ...env, SLURM_CONF: join(dir, 'etc', 'slurm.conf') };
  const command = async (program: string, ...args: string[]) => (await run(program, args, { env: slurmEnv })).stdout;
  let stopped = false;
  return {
    dir,
    env: slurmEnv,
    restUrl: `http://127.0.0.1:${base + 4}`,
    restSocket: join(dir, 'rest', 'slurmrestd.sock'),
    token: scontrolToken({ user: 'root', env: slurmEnv }),
    command,
    forgetJobs: async () => {
      // First let accounting catch up: a controller stopped with jobs still completing or
      // records still queued for slurmdbd replays them on restart and garbles those
      // records (their name becomes "allocation").
      await until(async () => (await command('squeue', '-h', '-t', 'CG,R,PD')).trim() === '', 'jobs to end');
      await until(async () => /DBD Agent queue size: 0\b/.test(await command('sdiag')), 'the slurmdbd queue to drain');
      const pidFile = join(dir, 'run', 'slurmctld.pid');
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      process.kill(pid, 'SIGTERM');
      await until(() => !isRunning(pid), 'slurmctld to stop');
      for (const f of readdirSync(join(dir, 'state')).filter((f) => f.startsWith('job_state'))) rmSync(join(dir, 'state', f));
      await command('slurmctld');
      await until(async () => (await command('scontrol', 'ping').catch(() => '')).includes('UP'), 'slurmctld to answer');
      await until(async () => (await command('sinfo', '-h', '-N', '-t', 'idle', '-o', '%N')).trim().split('\n').length === nodes, `${nodes} idle nodes`);
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await run(join(SCRIPTS, 'stop-slurm.sh'), [], { env, timeout: 120_000 });
    },
  };
}

/** Polls `check` every 100 ms for up to 30 s. */
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(100);
  }
}

function readLogs(dir: string): string {
  return ['slurmctld.log', 'slurmd-gpu1.log', 'slurmrestd-jwt.log']
    .map((f) => join(dir, 'log', f))
    .filter((f) => existsSync(f))
    .map((f) => `\n--- ${f}\n${readFileSync(f, 'utf8').split('\n').slice(-20).join('\n')}`)
    .join('');
}

/** A port base whose ports (+0…+4 for the daemons, +10… for the nodes) are all free now. */
async function freePortBase(nodes: number): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20_000 + 20 * Math.floor(Math.random() * 500);
    const ports = [0, 1, 2, 3, 4, ...Array.from({ length: nodes }, (_, k) => 10 + k)].map((o) => base + o);
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) return base;
  }
  throw new Error('no free port range for Slurm between 20000 and 30000');
}

async function isFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
