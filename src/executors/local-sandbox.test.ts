// Contained local runs: the argv of a sandbox, then real processes in a real
// bubblewrap sandbox, laid out as an agent lays them out (its work directory holds the
// executor's state, the runs' logs and one directory per run, and here a planted
// token). Without a working bwrap these tests are skipped, saying why, except under
// CI=true, where .ci/run installs bubblewrap and its absence is a failure
// (test/support/sandbox.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { sandboxMissing, skipWithoutSandbox } from '../../test/support/sandbox.ts';
import { waitFor } from './executor.conformance.ts';
import { envFile, sandboxArgv, SANDBOX_UID, type SandboxPlan } from './local-sandbox.ts';
import { LocalExecutor } from './local.ts';
import { type Containment, type RunHandle, type RunRequest, type RunTenant } from './types.ts';

const root = mkdtempSync(join(tmpdir(), 'suanli-sandbox-'));
const agentDir = join(root, 'agent');
const stateDir = join(agentDir, 'state');
const token = 'sl_agent_secret_token';
/** The executor an agent with this work directory makes. */
const executor = (options: { bwrap?: string } = {}) =>
  new LocalExecutor({ stateDir, inventory: [{ gpuType: 'h100', nodes: 2, gpusPerNode: 2 }], pollMs: 50, killGraceMs: 5000, sandbox: { hide: [agentDir, '/home', '/root'], ...options } });

let ex: LocalExecutor;
let containment: Containment;
let missing: string | undefined;

before(async () => {
  mkdirSync(agentDir, { recursive: true });
  writeFileSync(join(agentDir, 'agent-token'), token);
  ex = executor();
  containment = await ex.containment();
  missing = await sandboxMissing();
});
after(async () => {
  await ex.close();
  rmSync(root, { recursive: true, force: true });
});

const borrowed: RunTenant = { org: 'beta', borrowed: true, sandbox: true, network: 'none' };
let next = 0;
/** A run as the agent makes it: its own directory under the agent's, its log beside the others. */
function request(command: string, overrides: Partial<RunRequest> = {}): RunRequest {
  const jobId = `s${next++}`;
  return { jobId, attempt: 1, command: ['/bin/sh', '-c', command], gpusPerNode: 1, nodes: 1, workDir: join(agentDir, `${jobId}.1`), logDir: join(agentDir, 'logs'), tenant: borrowed, ...overrides };
}

/** Whether real sandboxes work here; otherwise marks `t` skipped (failed under CI=true). */
function needBwrap(t: TestContext): boolean {
  if (missing === undefined) return true;
  skipWithoutSandbox(t, missing);
  return false;
}

async function finished(handle: RunHandle, state: 'succeeded' | 'failed' = 'succeeded'): Promise<string> {
  const status = await waitFor(ex, handle, [state], 15_000);
  assert.equal(status.state, state, status.detail);
  return ex.logTail(handle, 100_000);
}

const plan = (overrides: Partial<SandboxPlan> = {}): SandboxPlan => ({
  programs: { bwrap: '/usr/bin/bwrap', setpriv: '/usr/bin/setpriv', env: '/usr/bin/env' },
  asRoot: false, network: 'none', hide: ['/home', '/srv/agent'], devices: [], workDir: '/srv/agent/42.1', envFile: '/srv/agent/state/runs/42.1/env.0', command: ['python', 'train.py'],
  ...overrides,
});
/** The values after each occurrence of `flag` in `argv`. */
const after1 = (argv: readonly string[], flag: string) => argv.flatMap((a, i) => (a === flag ? [argv[i + 1]] : []));

test('sandboxArgv: a user namespace as nobody for an agent that is not root; hidden paths before the work dir is bound back', () => {
  const argv = sandboxArgv(plan());
  assert.equal(argv[0], '/usr/bin/bwrap');
  for (const flag of ['--die-with-parent', '--unshare-user', '--disable-userns', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup', '--unshare-net', '--clearenv']) assert.ok(argv.includes(flag), flag);
  assert.ok(!argv.includes('--new-session'), 'no new session: a cancel signals the process group');
  assert.deepEqual([after1(argv, '--uid'), after1(argv, '--gid')], [['65534'], ['65534']]);
  assert.deepEqual(after1(argv, '--tmpfs'), ['/home', '/srv/agent', '/dev/shm', '/tmp', '/var/tmp', '/run']);
  assert.deepEqual(after1(argv, '--bind'), ['/srv/agent/42.1'], 'the only host directory bound writable');
  assert.ok(argv.indexOf('/srv/agent') < argv.indexOf('--bind'), 'hidden before bound back');
  assert.deepEqual(after1(argv, '--ro-bind'), ['/', '/srv/agent/state/runs/42.1/env.0']);
  assert.deepEqual(after1(argv, '--dir'), ['/srv', '/srv/agent', '/run/suanli']);
  assert.deepEqual(argv.slice(argv.indexOf('--') + 1), ['/bin/sh', '-c', ". /run/suanli/env && exec '/usr/bin/env' --default-signal=TERM -- \"$@\"", 'suanli-sandbox', 'python', 'train.py']);
  assert.ok(!argv.includes('--share-net') && !argv.some((a) => a.includes('setpriv')));
});

test('sandboxArgv: a root agent sets up without a user namespace and drops to nobody with setpriv; host network; GPU devices', () => {
  const argv = sandboxArgv(plan({ asRoot: true, network: 'host', devices: ['/dev/nvidia0', '/dev/nvidiactl'] }));
  assert.ok(!argv.includes('--unshare-user') && !argv.includes('--uid') && !argv.includes('--unshare-net'));
  assert.deepEqual(after1(argv, '--cap-add'), ['CAP_SETUID', 'CAP_SETGID', 'CAP_SETPCAP']);
  assert.deepEqual(after1(argv, '--dev-bind'), ['/dev/nvidia0', '/dev/nvidiactl']);
  const inner = argv.slice(argv.indexOf('--') + 1);
  assert.deepEqual(inner.slice(0, 7), ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--']);
});

test('envFile: every value comes back whole through sh', () => {
  const env = { A: "it's $HOME", B: 'two\nlines', C: '' };
  const out = spawnSync('/bin/sh', ['-c', `${envFile(env)} printf '<%s>' "$A" "$B" "$C"`], { encoding: 'utf8', env: {} });
  assert.equal(out.stdout, `<it's $HOME><two\nlines><>`);
});

test('local sandbox: containment() says bubblewrap works here, as which user', (t) => {
  if (!needBwrap(t)) return;
  assert.match(containment.detail, /^bubblewrap \d/);
  assert.match(containment.detail, process.getuid?.() === 0 ? /uid 65534 on the host too/ : /user namespace/);
});

test('local sandbox: a contained run sees neither the agent’s state nor its token, and runs as nobody without the agent’s environment', async (t) => {
  if (!needBwrap(t)) return;
  process.env.SUANLI_AGENT_TOKEN = token;
  try {
    const probe = 'id -u; cat ../agent-token ../state/runs/*/run.json; ls -a .. ../logs; env; echo "env has $(env | grep -c SUANLI_AGENT_TOKEN) token"';
    const own = await ex.start(request(probe, { tenant: { org: 'acme', borrowed: false, sandbox: false, network: 'host' } }));
    const containedRun = request(probe);
    const contained = await ex.start(containedRun);
    const ownLog = await finished(own);
    assert.ok(ownLog.includes(token), 'the own run, as before, reads the token: so the probe can find it');
    assert.match(ownLog, /env has 1 token/);
    const log = await finished(contained);
    assert.ok(!log.includes(token), log);
    assert.match(log, /^65534$/m);
    assert.match(log, /env has 0 token/);
    assert.doesNotMatch(log, /"jobId"/, 'no run.json of any run');
    assert.match(log, /No such file or directory/);
    const env = new Map([...log.matchAll(/^([A-Z_][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']));
    assert.deepEqual([...env.keys()].sort(), ['CUDA_VISIBLE_DEVICES', 'HOME', 'PATH', 'PWD', 'SUANLI_NODE', 'SUANLI_NODES', 'SUANLI_NODE_RANK', 'SUANLI_RUN_ID', ...(process.env.LANG === undefined ? [] : ['LANG'])].sort());
    assert.equal(env.get('HOME'), containedRun.workDir);
  } finally {
    delete process.env.SUANLI_AGENT_TOKEN;
  }
});

test('local sandbox: a contained run writes in its own directory and its private /tmp, nowhere else', async (t) => {
  if (!needBwrap(t)) return;
  const other = request('sleep 0.1');
  const neighbour = await ex.start(other);
  await finished(neighbour);
  const marker = `sandbox-${process.pid}`;
  const tries = [`/etc/${marker}`, join(agentDir, marker), join(other.workDir, marker), join(stateDir, marker), join(tmpdir(), marker)];
  const script = `echo mine > own.txt && echo own ok; echo t > /tmp/${marker} && echo tmp ok; ${tries.map((p) => `echo x > ${p} 2>/dev/null && echo "wrote ${p}"`).join('; ')}; true`;
  const req = request(script);
  const log = await finished(await ex.start(req));
  assert.match(log, /own ok/);
  assert.match(log, /tmp ok/);
  for (const p of tries) assert.ok(!existsSync(p), `${p} was written on the host (log: ${log})`);
  assert.equal(readFileSync(join(req.workDir, 'own.txt'), 'utf8'), 'mine\n');
  const owner = process.getuid?.() === 0 ? SANDBOX_UID : process.getuid?.();
  assert.equal(statSync(join(req.workDir, 'own.txt')).uid, owner, 'written as nobody on the host when the agent is root');
});

test('local sandbox: a contained run cannot kill another run’s processes, which go on', async (t) => {
  if (!needBwrap(t)) return;
  const victim = await ex.start(request('echo up; sleep 300'));
  await waitFor(ex, victim, ['running'], 15_000);
  while (!(await ex.logTail(victim, 100)).includes('up')) await delay(20);
  const leader = (JSON.parse(readFileSync(join(stateDir, 'runs', victim.runId, 'run.json'), 'utf8')) as { ranks: { leader: { pid: number } }[] }).ranks[0]?.leader.pid;
  assert.ok(leader !== undefined);
  const pids = groupMembers(leader);
  assert.ok(pids.length >= 3, `the victim's wrapper, bwrap and command: ${pids.join(' ')}`);
  const killer = request('while [ ! -e pids ]; do sleep 0.05; done; for p in $(cat pids); do if kill -KILL "$p"; then echo "killed $p"; else echo "refused $p"; fi; done');
  const handle = await ex.start(killer);
  writeFileSync(join(killer.workDir, 'pids'), pids.join(' '));
  const log = await finished(handle);
  assert.doesNotMatch(log, /killed/);
  assert.equal((log.match(/refused/g) ?? []).length, pids.length, log);
  await delay(200);
  assert.equal((await ex.status(victim)).state, 'running', 'the victim goes on');
  await ex.cancel(victim);
  await waitFor(ex, victim, ['cancelled'], 15_000);
});

test('local sandbox: with network none a contained run reaches no port on the host; with host it does', async (t) => {
  if (!needBwrap(t)) return;
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    socket.end('hello\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const connect = `require('net').connect(${port}, '127.0.0.1').on('data', (d) => { console.log('got ' + d); process.exit(0); }).on('error', (e) => { console.log('no connection: ' + e.code); process.exit(4); })`;
    const none = await ex.start(request('', { command: [process.execPath, '-e', connect] }));
    assert.match(await finished(none, 'failed'), /no connection: ECONNREFUSED/);
    assert.equal(connections, 0);
    const host = await ex.start(request('', { command: [process.execPath, '-e', connect], tenant: { ...borrowed, network: 'host' } }));
    assert.match(await finished(host), /got hello/);
    assert.equal(connections, 1);
  } finally {
    server.close();
  }
});

test('local sandbox: cancel reaches the contained command, which can checkpoint before it stops; exit codes come through', async (t) => {
  if (!needBwrap(t)) return;
  const handle = await ex.start(request("trap 'echo got TERM; sleep 0.5; echo checkpointed; exit 9' TERM; echo ready; while :; do sleep 0.1; done"));
  while (!(await ex.logTail(handle, 100)).includes('ready')) await delay(20);
  await ex.cancel(handle);
  await waitFor(ex, handle, ['cancelled'], 15_000);
  const log = await ex.logTail(handle, 1000);
  assert.match(log, /got TERM\ncheckpointed/, 'the command had its grace period');
  assert.equal(readFileSync(join(stateDir, 'runs', handle.runId, 'exit.0'), 'utf8'), '9\n', 'and its exit status was recorded');
  const failed = await waitFor(ex, await ex.start(request('exit 3')), ['failed'], 15_000);
  assert.equal(failed.state === 'failed' && failed.exitCode, 3);
  const killed = await waitFor(ex, await ex.start(request('kill -KILL $$')), ['failed'], 15_000);
  assert.equal(killed.state === 'failed' && killed.exitCode, 137);
});

test('local sandbox: a contained gang runs each rank contained, with its rank', async (t) => {
  if (!needBwrap(t)) return;
  const log = await finished(await ex.start(request('echo "rank $SUANLI_NODE_RANK as $(id -u) on $SUANLI_NODE"', { nodes: 2 })));
  assert.deepEqual(log.trim().split('\n').sort(), ['rank 0 as 65534 on local-0', 'rank 1 as 65534 on local-1']);
});

test('local sandbox: a work directory shared with what the run must not see, or already someone else’s, is refused', async (t) => {
  if (!needBwrap(t)) return;
  const refused = (req: RunRequest, pattern: RegExp) => assert.rejects(ex.start(req), (err: { field?: string; message?: string }) => err.field === 'run.workDir' && pattern.test(err.message ?? ''));
  await refused(request('true', { workDir: agentDir }), /holds .*, which a contained run must not see/);
  await refused(request('true', { workDir: '/' }), /^run\.workDir: \/ holds .*, which a contained run must not see/);
  const logsInside = join(root, 'logs-inside');
  await refused(request('true', { workDir: logsInside, logDir: join(logsInside, 'logs') }), /holds .*logs-inside\/logs, which a contained run must not see/);
  const used = join(root, 'used');
  mkdirSync(used);
  writeFileSync(join(used, 'file'), 'x');
  await refused(request('true', { workDir: used }), /already exists and is not an empty directory/);
});

test('local sandbox: without bwrap, containment() says so and a run that must be contained is refused; own runs go on', async () => {
  const without = executor({ bwrap: join(root, 'no-such-bwrap') });
  try {
    const answer = await without.containment();
    assert.equal(answer.available, false);
    assert.match(answer.detail, /^no executable \/.*\/no-such-bwrap \(install the bubblewrap package\)$/);
    const req = request('true');
    await assert.rejects(without.start(req), (err: { field?: string; message?: string }) => err.field === 'run.tenant.sandbox' && /beta's borrowed run must be contained/.test(err.message ?? ''));
    assert.ok(!existsSync(req.workDir), 'nothing was made for it');
    const own = await without.start(request('echo own', { tenant: { ...borrowed, sandbox: false } }));
    assert.equal((await waitFor(without, own, ['succeeded'], 15_000)).state, 'succeeded');
  } finally {
    await without.close();
  }
  assert.throws(() => new LocalExecutor({ stateDir, sandbox: { hide: ['relative'] } }), /sandbox\.hide\[0\]/);
  assert.throws(() => new LocalExecutor({ stateDir, sandbox: { hide: ['/home', '/'] } }), /sandbox\.hide\[1\]/);
});

test('local sandbox: a new instance launches a contained run the old one accepted and could not place yet', async (t) => {
  if (!needBwrap(t)) return;
  const blocker = await ex.start(request('sleep 300', { gpusPerNode: 2, nodes: 2, tenant: { ...borrowed, sandbox: false } }));
  await waitFor(ex, blocker, ['running'], 15_000);
  const waiting = await ex.start(request('id -u'));
  assert.equal((await ex.status(waiting)).state, 'pending');
  await ex.close();
  ex = executor();
  await ex.cancel(blocker);
  assert.match(await finished(waiting), /^65534$/m);
});

/** Pids of every live process in process group `pgid` (from /proc). */
function groupMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid;
      } catch {
        return false;
      }
    })
    .map(Number);
}
