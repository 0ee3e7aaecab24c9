/**
 * How the local executor contains a run: each rank's command runs in a bubblewrap
 * (`bwrap`) sandbox built from Linux namespaces, with no daemon. The exit-status `sh`
 * wrapper stays outside (it runs `bwrap … -- <command>`), so exit records, the log
 * (stdout and stderr are the wrapper's file descriptors) and cancel work as for any
 * run. Inside:
 * - the host's filesystem read-only (`--ro-bind / /`), a new /dev and /proc, private
 *   /tmp, /var/tmp, /dev/shm and /run;
 * - empty tmpfs over the executor's state directory, the run's log directory and
 *   the paths to hide (the agent's work directory: other runs' directories and logs,
 *   its state; /home, /root), then the run's own work directory bound back: the only
 *   writable place besides its private temporary directories;
 * - its own pid, ipc, uts and cgroup namespaces, and a network namespace with only a
 *   private loopback unless the run's network is `host`;
 * - uid and gid 65534 (nobody), no capabilities, no_new_privs; GPU device nodes
 *   (/dev/nvidia*) for runs with GPUs;
 * - an environment of its own: PATH, LANG, HOME (its work directory), the run's env,
 *   SUANLI_* and CUDA_VISIBLE_DEVICES — nothing else of the agent's (whose token may
 *   be in SUANLI_AGENT_TOKEN).
 *
 * Who the run is on the host depends on who the agent is:
 * - agent as root: bwrap sets up the sandbox as root without a user namespace (in
 *   one, root would be the only mapped uid), and inside it `setpriv` drops to uid
 *   and gid 65534 with no capabilities at all before the command runs. The run is
 *   nobody on the host too; its work directory is chowned to 65534.
 * - agent as another user: bwrap needs unprivileged user namespaces; the run is
 *   uid 65534 in a user namespace (no further user namespaces inside), which is the
 *   agent's own uid on the host: the work directory, the agent's, is writable as is.
 *
 * Signals: a cancel SIGTERMs the run's process group, which the sandbox shares (no
 * `--new-session`). The wrapper and bwrap ignore SIGTERM — were bwrap to die of it,
 * `--die-with-parent` would SIGKILL the command before it could checkpoint — and
 * `env --default-signal=TERM` gives the command the default back; SIGKILL after the
 * grace period ends everything.
 *
 * The run's environment reaches it through a file bound read-only at
 * /run/suanli/env and sourced by `sh` inside the sandbox: never through the
 * environment of bwrap and setpriv (which run as root when the agent is: LD_PRELOAD
 * and the like must not reach them) nor their argv (visible to every host user).
 */
import { execFile } from 'node:child_process';
import { accessSync, chownSync, constants, existsSync, mkdirSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { InvalidInputError } from '../model/errors.ts';
import { ExecutorError } from './errors.ts';
import { shellQuote } from './run-request.ts';
import type { Containment, RunRequest } from './types.ts';

export interface LocalSandboxOptions {
  /**
   * Directories a contained run must not see, each hidden under an empty tmpfs
   * (default `/home` and `/root`; paths that do not exist are skipped). The agent
   * adds its work directory. The executor's state directory and the run's log
   * directory are always hidden.
   */
  readonly hide?: readonly string[];
  /** The bubblewrap program (default `bwrap` on PATH). */
  readonly bwrap?: string;
}

/** nobody: the uid and gid of a contained run inside the sandbox, and on the host when the agent is root. */
export const SANDBOX_UID = 65534;

/** Where the run's environment file is bound inside the sandbox. */
const ENV_DIR = '/run/suanli';
/** Runs inside the sandbox as the sandbox user: the run's environment, then the command with SIGTERM's default action restored. */
const sandboxEntry = (env: string) => `. ${ENV_DIR}/env && exec ${shellQuote(env)} --default-signal=TERM -- "$@"`;
/** The outside processes' (wrapper, bwrap, setpriv) only environment. */
export const OUTSIDE_ENV: Readonly<Record<string, string>> = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
const DEFAULT_HIDE = ['/home', '/root'];
const run$ = promisify(execFile);

/** Absolute paths of the programs a sandbox is built with. */
export interface SandboxPrograms {
  readonly bwrap: string;
  /** Only when the agent is root. */
  readonly setpriv?: string;
  /** GNU env (coreutils ≥ 8.31, for --default-signal). */
  readonly env: string;
}

/** Everything the sandbox of one rank depends on; paths absolute and real (no symlinks). */
export interface SandboxPlan {
  readonly programs: SandboxPrograms;
  /** The agent is root: set up as root, then setpriv to nobody (see the module comment). */
  readonly asRoot: boolean;
  readonly network: 'none' | 'host';
  /** Hidden under empty tmpfs, parents before children. */
  readonly hide: readonly string[];
  /** Device nodes bound in (GPUs). */
  readonly devices: readonly string[];
  readonly workDir: string;
  /** The rank's environment file (see `envFile`), bound read-only at /run/suanli/env. */
  readonly envFile: string;
  readonly command: readonly string[];
}

/** The argv that runs `plan.command` contained: bwrap, its options, then the command. */
export function sandboxArgv(plan: SandboxPlan): string[] {
  const namespaces = [
    ...(plan.asRoot ? [] : ['--unshare-user', '--disable-userns', '--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_UID)]),
    '--unshare-ipc', '--unshare-pid', '--unshare-uts', '--unshare-cgroup',
    ...(plan.network === 'none' ? ['--unshare-net'] : []),
  ];
  // setpriv needs these three to drop to nobody; it then clears them and every other capability.
  const rootSetup = plan.asRoot ? ['--cap-add', 'CAP_SETUID', '--cap-add', 'CAP_SETGID', '--cap-add', 'CAP_SETPCAP'] : [];
  const dropToNobody = plan.asRoot
    ? [plan.programs.setpriv ?? 'setpriv', `--reuid=${SANDBOX_UID}`, `--regid=${SANDBOX_UID}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--']
    : [];
  return [
    plan.programs.bwrap,
    '--die-with-parent',
    ...namespaces,
    ...rootSetup,
    '--ro-bind', '/', '/',
    // Hidden first: a private /tmp mounted later covers what is hidden under it anyway.
    ...plan.hide.flatMap((path) => ['--tmpfs', path]),
    '--dev', '/dev',
    '--perms', '1777', '--tmpfs', '/dev/shm',
    '--proc', '/proc',
    '--perms', '1777', '--tmpfs', '/tmp',
    '--perms', '1777', '--tmpfs', '/var/tmp',
    '--tmpfs', '/run',
    ...plan.devices.flatMap((path) => ['--dev-bind', path, path]),
    // bwrap would make missing parents (in a tmpfs) 0700 root: the run could not reach its directory.
    ...ancestors(plan.workDir).flatMap((path) => ['--perms', '0755', '--dir', path]),
    '--bind', plan.workDir, plan.workDir,
    '--perms', '0755', '--dir', ENV_DIR,
    '--ro-bind', plan.envFile, `${ENV_DIR}/env`,
    '--chdir', plan.workDir,
    '--clearenv',
    '--',
    ...dropToNobody,
    '/bin/sh', '-c', sandboxEntry(plan.programs.env), 'suanli-sandbox',
    ...plan.command,
  ];
}

/** Whether `path` is `dir` or inside it (both absolute and real). */
const isWithin = (path: string, dir: string): boolean => path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

/** `/a/b/c` → `/a`, `/a/b`. */
const ancestors = (path: string): string[] => path.split('/').slice(1, -1).map((_, i, parts) => `/${parts.slice(0, i + 1).join('/')}`);

/** A rank's environment file: one `export NAME='value'` line per variable (names are checked by checkRunRequest). */
export function envFile(env: Readonly<Record<string, string>>): string {
  return Object.entries(env).map(([name, value]) => `export ${name}=${shellQuote(value)}\n`).join('');
}

/**
 * Builds sandboxes for one local executor: checks once that they work here
 * (`containment`), prepares a contained run's work directory, and gives each rank
 * its argv.
 */
export class LocalSandbox {
  private readonly hidden: readonly string[];
  private readonly asRoot = process.getuid?.() === 0;
  private check: Promise<Containment> | undefined;
  /** Set once a check has built a sandbox that works. */
  private programs: SandboxPrograms | undefined;

  constructor(
    private readonly stateDir: string,
    private readonly options: LocalSandboxOptions = {},
  ) {
    const hide = options.hide ?? DEFAULT_HIDE;
    hide.forEach((path, i) => {
      if (typeof path !== 'string' || !isAbsolute(path) || resolve(path) === '/') {
        throw new InvalidInputError(`sandbox.hide[${i}]`, `${JSON.stringify(path)} is not a directory to hide`, 'absolute paths other than /, e.g. /home');
      }
    });
    this.hidden = [...hide, stateDir];
  }

  /** Whether sandboxes work here: a real one is built once and must run a command that writes in its work directory. */
  containment(): Promise<Containment> {
    this.check ??= this.probe();
    return this.check;
  }

  /**
   * Makes `run.workDir` the contained run's own (call it before the run is recorded):
   * refuses a work directory that holds something the run must not see, or that
   * already exists and is not an empty one of the sandbox user's; chowns a new one to
   * nobody when the agent is root.
   */
  claimWorkDir(run: RunRequest): void {
    const created = mkdirSync(run.workDir, { recursive: true });
    const workDir = realpathSync(run.workDir);
    const secret = this.hiddenFor(run).find((path) => isWithin(path, workDir));
    if (secret !== undefined) {
      throw new InvalidInputError('run.workDir', `${run.workDir} holds ${secret}, which a contained run must not see`, 'a directory of its own, beside the agent’s state and logs');
    }
    const owner = this.asRoot ? SANDBOX_UID : (process.getuid?.() ?? -1);
    if (created === undefined && (statSync(workDir).uid !== owner || readdirSync(workDir).length > 0)) {
      throw new InvalidInputError('run.workDir', `${run.workDir} already exists and is not an empty directory of uid ${owner}`, 'a new directory: the only one a contained run may write in is its own');
    }
    if (this.asRoot) chownSync(workDir, SANDBOX_UID, SANDBOX_UID);
  }

  /** The environment a contained rank gets before the run's own variables: of the agent's, only PATH and LANG. */
  baseEnv(run: RunRequest): Record<string, string> {
    return { PATH: process.env.PATH ?? OUTSIDE_ENV.PATH ?? '', ...(process.env.LANG === undefined ? {} : { LANG: process.env.LANG }), HOME: run.workDir };
  }

  /**
   * The argv of one rank of a contained run, after writing its environment to
   * `envPath` (readable by the sandbox user only). Throws ExecutorError unless a
   * `containment()` check has found that sandboxes work.
   */
  rankArgv(run: RunRequest, env: Readonly<Record<string, string>>, envPath: string): string[] {
    if (this.programs === undefined) throw new ExecutorError('local', 'unavailable', 'no working sandbox (see containment())');
    writeFileSync(envPath, envFile(env), { mode: 0o600 });
    if (this.asRoot) chownSync(envPath, SANDBOX_UID, SANDBOX_UID);
    const devices = run.gpusPerNode > 0 ? gpuDevices() : [];
    return sandboxArgv({ programs: this.programs, asRoot: this.asRoot, network: run.tenant?.network ?? 'none', hide: this.realHidden(run), devices, workDir: realpathSync(run.workDir), envFile: envPath, command: run.command });
  }

  private hiddenFor(run: RunRequest): string[] {
    return [...this.hidden, run.logDir].filter((path) => existsSync(path)).map((path) => realpathSync(path));
  }

  /** The existing hidden paths, real, without those inside another hidden path, parents first. */
  private realHidden(run: RunRequest): string[] {
    const paths = [...new Set(this.hiddenFor(run))].sort();
    return paths.filter((path) => !paths.some((other) => other !== path && isWithin(path, other)));
  }

  /** Finds the programs and runs a real sandbox, in a scratch work directory under the state directory. */
  private async probe(): Promise<Containment> {
    const bwrap = this.options.bwrap ?? 'bwrap';
    const found = { bwrap: findProgram(bwrap), setpriv: this.asRoot ? findProgram('setpriv') : undefined, env: findProgram('env') };
    if (found.bwrap === undefined) return unavailable(`${bwrap.includes('/') ? `no executable ${bwrap}` : `no ${bwrap} on PATH`} (install the bubblewrap package)`);
    if (this.asRoot && found.setpriv === undefined) return unavailable('no setpriv on PATH (util-linux), which a root agent needs to run contained runs as nobody');
    if (found.env === undefined) return unavailable('no env on PATH (coreutils)');
    const programs: SandboxPrograms = { bwrap: found.bwrap, env: found.env, ...(found.setpriv === undefined ? {} : { setpriv: found.setpriv }) };
    const dir = join(this.stateDir, 'sandbox-check');
    const run: RunRequest = { jobId: 'sandbox-check', attempt: 1, command: ['/bin/sh', '-c', ': > "$HOME/written"'], gpusPerNode: 0, nodes: 1, workDir: join(dir, 'work'), logDir: join(dir, 'logs'), tenant: { org: '', borrowed: false, sandbox: true, network: 'none' } };
    try {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.claimWorkDir(run);
      this.programs = programs;
      const [program = '', ...args] = this.rankArgv(run, this.baseEnv(run), join(dir, 'env'));
      await run$(program, args, { env: OUTSIDE_ENV, timeout: 10_000 });
      if (!existsSync(join(run.workDir, 'written'))) throw new Error('the command ran but could not write in its work directory');
      const { stdout } = await run$(program, ['--version'], { env: OUTSIDE_ENV, timeout: 10_000 });
      const who = this.asRoot ? 'uid 65534 on the host too (setpriv: the agent is root)' : `uid 65534 in a user namespace (uid ${process.getuid?.() ?? '?'} on the host)`;
      return { available: true, detail: `${stdout.trim() || 'bubblewrap'} (${program}): read-only system, private /tmp, own pid/ipc/uts/cgroup namespaces and network unless host, as ${who}; hidden: ${this.hidden.join(', ')}` };
    } catch (err) {
      this.programs = undefined;
      const out = err as { stderr?: string; message?: string };
      return unavailable(`${programs.bwrap} could not build a sandbox: ${(out.stderr ?? '').trim() || out.message || String(err)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

const unavailable = (detail: string): Containment => ({ available: false, detail });

/** `name` if it is a path to an executable, else the first executable `name` on PATH or in the sbin directories; undefined when there is none. */
function findProgram(name: string): string | undefined {
  const candidates = name.includes('/') ? [resolve(name)] : [...(process.env.PATH ?? '').split(delimiter), ...(OUTSIDE_ENV.PATH ?? '').split(delimiter)].filter((d) => d !== '').map((d) => join(d, name));
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return statSync(path).isFile();
    } catch {
      return false;
    }
  });
}

/** NVIDIA device nodes (/dev/nvidia0, /dev/nvidiactl, /dev/nvidia-uvm, …) present on this machine. */
function gpuDevices(): string[] {
  try {
    return readdirSync('/dev').filter((name) => name.startsWith('nvidia')).map((name) => `/dev/${name}`);
  } catch {
    return [];
  }
}
