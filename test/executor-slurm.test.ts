// The Slurm executor against a real Slurm 22.05 (3 nodes × 8 fake h100 GPUs, with
// accounting) started and stopped here by the project's own scripts: the conformance
// suite over slurmrestd with a JWT, then what only Slurm has (a job cancelled behind
// Suanli's back, the unix-socket transport, errors, a borrowed run under its org's
// account, QOS and user, and last, because it wipes slurmctld's jobs, runs read back
// from accounting).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { executorConformance } from '../src/executors/executor.conformance.ts';
import { SlurmExecutor, type SlurmExecutorOptions } from '../src/executors/slurm.ts';
import { runId, type Executor, type RunHandle, type RunRequest, type RunStatus } from '../src/executors/types.ts';
import { skipWithoutSlurm, slurmMissing, startSlurm, type Slurm } from './support/slurm.ts';

const missing = slurmMissing({ accounting: true });
let slurm: Slurm | undefined;
const scratch = mkdtempSync(join(tmpdir(), 'suanli-slurm-runs-'));

before(async () => {
  if (missing === undefined) slurm = await startSlurm({ nodes: 3, gpusPerNode: 8, gpuType: 'h100', accounting: true });
});
after(async () => {
  await slurm?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** The running Slurm, or undefined after marking `t` skipped (failed under CI). */
function needSlurm(t: TestContext): Slurm | undefined {
  if (missing !== undefined) {
    skipWithoutSlurm(t, missing);
    return undefined;
  }
  if (slurm === undefined) throw new Error('Slurm did not start (see the before hook)');
  return slurm;
}

const overJwt = (s: Slurm, extra: Partial<SlurmExecutorOptions> = {}) => new SlurmExecutor({ url: s.restUrl, user: 'root', token: s.token, ...extra });

executorConformance('slurm', (t) => {
  const s = needSlurm(t);
  return s && { open: () => Promise.resolve(overJwt(s)), scratchDir: scratch, multiNode: true };
});

const request = (jobId: string, command: string, overrides: Partial<RunRequest> = {}): RunRequest => ({
  jobId,
  attempt: 1,
  command: ['/bin/sh', '-c', command],
  gpusPerNode: 2,
  nodes: 1,
  workDir: join(scratch, jobId),
  logDir: join(scratch, jobId, 'logs'),
  ...overrides,
});

async function waitUntil(ex: Executor, handle: RunHandle, state: RunStatus['state'], ms = 30_000): Promise<RunStatus> {
  const deadline = Date.now() + ms;
  for (;;) {
    const status = await ex.status(handle);
    if (status.state === state) return status;
    assert.ok(Date.now() < deadline, `${handle.runId} is ${status.state} (${status.detail}), not ${state}`);
    await delay(100);
  }
}

test('slurm: a job scancelled outside Suanli is failed (cancelled_outside), unlike a Suanli cancel', async (t) => {
  const s = needSlurm(t);
  if (s === undefined) return;
  const ex = overJwt(s);
  const outside = await ex.start(request('outside', 'sleep 300'));
  const inside = await ex.start(request('inside', 'sleep 300'));
  await waitUntil(ex, outside, 'running');
  await waitUntil(ex, inside, 'running');
  await s.command('scancel', outside.engineId);
  await ex.cancel(inside);
  const external = await waitUntil(ex, outside, 'failed');
  assert.deepEqual(external.state === 'failed' && [external.reason, external.exitCode], ['cancelled_outside', null], external.detail);
  assert.match(external.detail, /cancelled outside Suanli/);
  assert.equal((await waitUntil(ex, inside, 'cancelled')).state, 'cancelled');
});

test('slurm: over the unix socket (rest_auth/local) too; another instance tag sees none of these runs', async (t) => {
  const s = needSlurm(t);
  if (s === undefined) return;
  const local = new SlurmExecutor({ socketPath: s.restSocket, instance: 'other-site' });
  assert.deepEqual(await local.discover(), [{ gpuType: 'h100', nodes: 3, gpusPerNode: 8 }]);
  assert.deepEqual(await local.list(), []);
  const dir = mkdtempSync(join(tmpdir(), 'suanli-nobody-'));
  // rest_auth/local runs jobs as slurmrestd's user (nobody), who needs a writable directory.
  await s.command('chmod', '1777', dir);
  const handle = await local.start(request('socket', 'echo "as $(id -un) on $SUANLI_NODE"', { workDir: dir, logDir: dir }));
  await waitUntil(local, handle, 'succeeded');
  assert.match(await local.logTail(handle, 200), /as nobody on gpu\d/);
  assert.deepEqual((await local.list()).map((r) => r.handle), [handle]);
  rmSync(dir, { recursive: true, force: true });
});

test('slurm: an unknown job is lost; a bad token is unauthorized; an unreachable slurmrestd is unavailable', async (t) => {
  const s = needSlurm(t);
  if (s === undefined) return;
  const ex = overJwt(s);
  assert.equal((await ex.status({ runId: (await ex.list())[0]?.handle.runId ?? ('x.1' as RunHandle['runId']), engineId: '999999' })).state, 'lost');
  await ex.cancel({ runId: 'x.1' as RunHandle['runId'], engineId: '999999' });
  const noToken = new SlurmExecutor({ url: s.restUrl, user: 'root', token: '' });
  await assert.rejects(noToken.discover(), (err: Error & { code?: string }) => err.code === 'unauthorized');
  const nobody = new SlurmExecutor({ url: 'http://127.0.0.1:1', user: 'root', token: 'x' });
  await assert.rejects(nobody.discover(), (err: Error & { code?: string }) => err.code === 'unavailable' && /did not answer/.test(err.message));
});

test('slurm: a contained borrowed run lands in Slurm with its org’s account and QOS, as its user', async (t) => {
  const s = needSlurm(t);
  if (s === undefined) return;
  // slurmd runs a job as its user only if the user exists here: a system user for this test alone (Slurm tests run as root).
  const user = `sl-beta-${process.pid}`;
  const run$ = promisify(execFile);
  await run$('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user]);
  const dir = mkdtempSync(join(tmpdir(), 'suanli-borrowed-'));
  try {
    chmodSync(dir, 0o755); // the mapped user reaches its directory and log, which the executor gives it
    await s.command('sacctmgr', '-i', 'add', 'account', 'beta-acct');
    await s.command('sacctmgr', '-i', 'add', 'qos', 'borrowed');
    await s.command('sacctmgr', '-i', 'add', 'user', user, 'Account=beta-acct');
    const ex = overJwt(s, { tenantMap: { orgs: { beta: { account: 'beta-acct', qos: 'borrowed', user } } } });
    assert.equal((await ex.containment()).available, true);
    const tenant = { org: 'beta', borrowed: true, sandbox: true, network: 'host' } as const;
    const handle = await ex.start(request('borrowed', 'echo "as $(id -un)" > mine.txt; cat mine.txt', { workDir: join(dir, 'work'), logDir: join(dir, 'logs'), tenant }));
    await waitUntil(ex, handle, 'succeeded');
    const job = await s.command('scontrol', 'show', 'job', handle.engineId);
    assert.match(job, new RegExp(`UserId=${user}\\(`), job);
    assert.match(job, /Account=beta-acct QOS=borrowed/, job);
    assert.equal(await ex.logTail(handle, 200), `as ${user}\n`);
    await assert.rejects(ex.start(request('unmapped', 'true', { tenant: { ...tenant, org: 'gamma' } })), /run\.tenant\.org: org gamma is not in the Slurm tenant map/);
  } finally {
    await run$('userdel', [user]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('slurm: runs slurmctld has forgotten are read from accounting, and a reused job id is not taken for them', async (t) => {
  const s = needSlurm(t);
  if (s === undefined) return;
  const ex = overJwt(s);
  const ok = await ex.start(request('acct-ok', 'echo accounted'));
  const failed = await ex.start(request('acct-failed', 'exit 3'));
  const cancelled = await ex.start(request('acct-cancelled', 'sleep 300'));
  const outside = await ex.start(request('acct-outside', 'sleep 300'));
  await waitUntil(ex, ok, 'succeeded');
  await waitUntil(ex, failed, 'failed');
  await waitUntil(ex, cancelled, 'running');
  await waitUntil(ex, outside, 'running');
  await ex.cancel(cancelled);
  await s.command('scancel', outside.engineId);
  await waitUntil(ex, cancelled, 'cancelled');
  await waitUntil(ex, outside, 'failed');

  await s.forgetJobs();
  const fresh = overJwt(s);
  assert.deepEqual(await fresh.list(), [], 'slurmctld knows no job now');
  const expected = [
    [ok, 'succeeded', null],
    [failed, 'failed', 'engine'], // 22.05's accounting API reports exit code 0 for every job
    [cancelled, 'cancelled', null],
    [outside, 'failed', 'cancelled_outside'],
  ] as const;
  for (const [handle, state, reason] of expected) {
    const status = await fresh.status(handle);
    const accounting = (): Promise<string> => s.command('sacct', '--duplicates', '-n', '-X', '-P', '-o', 'JobID,JobName,State,Submit,Comment', '-j', handle.engineId);
    assert.deepEqual([status.state, status.state === 'failed' ? status.reason : null], [state, reason], `${status.detail}; accounting: ${await accounting()}`);
    assert.match(status.detail, /from accounting/);
  }
  assert.equal(await fresh.logTail(ok, 100), 'accounted\n', 'the log path comes from the comment');

  // Job ids start from 1 again: job 1 is now another run, which a handle of an old run must not take for its own.
  const reused = await fresh.start(request('acct-new', 'echo new'));
  assert.equal(reused.engineId, '1');
  await waitUntil(fresh, reused, 'succeeded');
  assert.doesNotMatch((await fresh.status(reused)).detail, /from accounting/);
  assert.equal((await fresh.status({ runId: runId('acct-never', 1), engineId: reused.engineId })).state, 'lost');
});
