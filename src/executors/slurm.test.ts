// What the Slurm executor derives without a Slurm: job states, node GRES, the
// submit body and its script, tenant maps, and the calls a contained run makes (to a
// small stand-in for slurmrestd that records them). Against a real Slurm:
// test/executor-slurm.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkTenantMap, engineNode, script, SlurmExecutor, slurmStatus, submission, type SlurmJob } from './slurm.ts';
import type { RunRequest, RunTenant } from './types.ts';

const job = (state: string, more: Partial<SlurmJob> = {}): SlurmJob => ({ job_id: 7, name: 'suanli-a.1', comment: '{"suanli":"default","run":"a.1"}', job_state: state, nodes: 'gpu1', ...more });

test('slurmStatus: pending and running states', () => {
  for (const s of ['PENDING', 'CONFIGURING', 'REQUEUED']) assert.equal(slurmStatus(job(s)).state, 'pending', s);
  for (const s of ['RUNNING', 'COMPLETING', 'SUSPENDED']) assert.equal(slurmStatus(job(s)).state, 'running', s);
  assert.equal(slurmStatus(job('PENDING', { state_reason: 'Resources' })).detail, 'Slurm job 7 is PENDING (Resources)');
});

test('slurmStatus: exit codes from the wait status, the ranks’ (derived) before srun’s', () => {
  assert.equal(slurmStatus(job('COMPLETED', { exit_code: 0 })).state, 'succeeded');
  assert.deepEqual(slurmStatus(job('FAILED', { exit_code: 3 << 8 })), { state: 'failed', reason: 'exit_code', exitCode: 3, detail: 'Slurm job 7 exited with status 3' });
  const gang = slurmStatus(job('FAILED', { exit_code: 143 << 8, derived_exit_code: 4 << 8 }));
  assert.equal(gang.state === 'failed' && gang.exitCode, 4, 'a rank exited 4; srun then ended 143');
  const signalled = slurmStatus(job('FAILED', { exit_code: 9 }));
  assert.equal(signalled.state === 'failed' && signalled.exitCode, 137);
  assert.deepEqual(slurmStatus(job('FAILED', { exit_code: 0, state_reason: 'JobLaunchFailure' })), { state: 'failed', reason: 'engine', exitCode: null, detail: 'Slurm job 7 FAILED (JobLaunchFailure)' });
});

test('slurmStatus: CANCELLED is a Suanli cancel only with the mark in the comment', () => {
  assert.equal(slurmStatus(job('CANCELLED', { comment: '{"suanli":"default","run":"a.1","cancelled":true}' })).state, 'cancelled');
  const outside = slurmStatus(job('CANCELLED'));
  assert.deepEqual(outside.state === 'failed' && [outside.reason, outside.exitCode], ['cancelled_outside', null]);
});

test('slurmStatus: the engine’s own ends are failed with reason engine', () => {
  for (const s of ['TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE']) {
    const status = slurmStatus(job(s));
    assert.deepEqual(status.state === 'failed' && [status.reason, status.detail], ['engine', `Slurm job 7 ended ${s}`]);
  }
});

test('engineNode: GPUs from GRES, usable unless down or drained', () => {
  assert.deepEqual(engineNode({ name: 'n1', gres: 'gpu:h100:8(S:0-1)', state: 'idle' }), { name: 'n1', gpuType: 'h100', gpus: 8, usable: true });
  assert.deepEqual(engineNode({ name: 'n2', gres: 'shard:h100:32,gpu:a100:4', state: 'mixed' }), { name: 'n2', gpuType: 'a100', gpus: 4, usable: true });
  assert.deepEqual(engineNode({ name: 'n3', gres: 'gpu:2', state: 'allocated' }), { name: 'n3', gpuType: 'gpu', gpus: 2, usable: true });
  assert.equal(engineNode({ name: 'n4', gres: 'gpu:h100:8', state: 'idle', state_flags: ['DRAIN'] }).usable, false);
  assert.equal(engineNode({ name: 'n5', gres: 'gpu:h100:8', state: 'down' }).usable, false);
  assert.equal(engineNode({ name: 'n6', gres: '', state: 'idle' }).gpus, 0);
});

test('the batch script runs the command once per node through srun, exporting rank and node', () => {
  assert.equal(
    script(['python', 'train.py', "--name=it's"]),
    `#!/bin/sh\nexec srun --kill-on-bad-exit=1 --ntasks-per-node=1 /bin/sh -c 'export SUANLI_NODE_RANK="$SLURM_NODEID" SUANLI_NODE="$SLURMD_NODENAME"; exec "$@"' suanli-rank 'python' 'train.py' '--name=it'\\''s'\n`,
  );
});

test('submission: name, comment, nodes, GRES, directories, environment (a dict: stack-notes pitfall 9)', () => {
  const anyType: RunRequest = { jobId: 'j1', attempt: 2, command: ['true'], env: { A: 'b' }, gpusPerNode: 4, nodes: 2, workDir: '/shared/w', logDir: '/shared/l' };
  const run: RunRequest = { ...anyType, gpuType: 'h100' };
  const body = submission(run, 'site-a', { partition: 'gpu', baseEnv: { PATH: '/usr/bin' }, timeLimitMinutes: 60 }) as { job: Record<string, unknown> };
  assert.deepEqual(body.job, {
    name: 'suanli-j1.2',
    comment: '{"suanli":"site-a","run":"j1.2","log":"/shared/l/j1.2.log"}',
    partition: 'gpu',
    nodes: 2,
    tasks_per_node: 1,
    gres: 'gpu:h100:4',
    time_limit: 60,
    requeue: false,
    current_working_directory: '/shared/w',
    standard_output: '/shared/l/j1.2.log',
    environment: { PATH: '/usr/bin', A: 'b', SUANLI_RUN_ID: 'j1.2', SUANLI_NODES: '2' },
  });
  assert.equal((submission({ ...anyType, gpusPerNode: 1 }, 'x') as { job: { gres?: string } }).job.gres, 'gpu:1');
  assert.equal((submission({ ...anyType, gpusPerNode: 0 }, 'x') as { job: { gres?: string } }).job.gres, undefined);
});

test('submission: a contained run carries its org’s account and QOS; an own run neither', () => {
  const run: RunRequest = { jobId: 'j1', attempt: 1, command: ['true'], gpusPerNode: 1, nodes: 1, workDir: '/shared/w', logDir: '/shared/l' };
  const job = (tenant?: { account?: string; qos?: string }) => (submission(run, 'x', {}, tenant) as { job: Record<string, unknown> }).job;
  assert.deepEqual([job({ account: 'beta-acct', qos: 'borrowed' }).account, job({ account: 'beta-acct', qos: 'borrowed' }).qos], ['beta-acct', 'borrowed']);
  assert.deepEqual([job({ qos: 'borrowed' }).account, job({ qos: 'borrowed' }).qos], [undefined, 'borrowed']);
  assert.ok(!('account' in job()) && !('qos' in job()));
});

test('checkTenantMap: takes every field optional; names the file and the bad key', () => {
  const map = { default: { account: 'guests' }, orgs: { beta: { account: 'beta-acct', qos: 'borrowed', user: 'suanli-beta' }, gamma: {} } };
  assert.deepEqual(checkTenantMap(map, 'tenant-map', 'map.json: '), map);
  assert.deepEqual(checkTenantMap({}, 'tenant-map'), {});
  const bad: [unknown, RegExp][] = [
    [[], /^tenant-map: map\.json: is not a JSON object/],
    [{ users: {} }, /^tenant-map: map\.json: users: is not a key of a tenant map; accepted: default, orgs$/],
    [{ orgs: [] }, /^tenant-map: map\.json: orgs: is not an object/],
    [{ orgs: { beta: 'acct' } }, /^tenant-map: map\.json: orgs\.beta: is not an object/],
    [{ orgs: { beta: { acount: 'x' } } }, /^tenant-map: map\.json: orgs\.beta\.acount: is not a field of a tenant; accepted: account, qos, user$/],
    [{ default: { qos: 'a b' } }, /^tenant-map: map\.json: default\.qos: "a b" is not a Slurm or Unix name/],
    [{ default: { user: 7 } }, /^tenant-map: map\.json: default\.user: 7 is not a Slurm or Unix name/],
  ];
  for (const [value, message] of bad) assert.throws(() => checkTenantMap(value, 'tenant-map', 'map.json: '), (err: Error & { field?: string }) => err.field === 'tenant-map' && message.test(err.message), String(message));
});

/** A stand-in for slurmrestd: one h100 node, no jobs, and every submit recorded with its headers. */
async function fakeSlurmrestd(): Promise<{ url: string; submits: { headers: IncomingHttpHeaders; body: { job: Record<string, unknown> } }[]; close: () => Promise<void> }> {
  const submits: { headers: IncomingHttpHeaders; body: { job: Record<string, unknown> } }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (value: object) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [], ...value }));
      if (req.url === '/slurm/v0.0.38/nodes') return reply({ nodes: [{ name: 'n1', gres: 'gpu:h100:8', state: 'idle' }] });
      if (req.url === '/slurm/v0.0.38/jobs') return reply({ jobs: [] });
      if (req.url === '/slurm/v0.0.38/job/submit') {
        submits.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as { job: Record<string, unknown> } });
        return reply({ job_id: 40 + submits.length });
      }
      return void res.writeHead(404).end('not here');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, submits, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('slurm executor: a contained run is submitted with its org’s account and QOS, as its user, with the agent’s token', async () => {
  const rest = await fakeSlurmrestd();
  const dir = mkdtempSync(join(tmpdir(), 'suanli-slurm-tenant-'));
  const tenantMap = { default: { qos: 'guests' }, orgs: { beta: { account: 'beta-acct', qos: 'borrowed', user: 'nobody' } } };
  const ex = new SlurmExecutor({ url: rest.url, user: 'root', token: 'root-jwt', tenantMap });
  const tenant: RunTenant = { org: 'beta', borrowed: true, sandbox: true, network: 'host' };
  const run = (jobId: string, overrides: Partial<RunRequest> = {}): RunRequest => ({ jobId, attempt: 1, command: ['true'], gpusPerNode: 1, nodes: 1, workDir: join(dir, jobId), logDir: join(dir, 'logs'), tenant, ...overrides });
  try {
    assert.match((await ex.containment()).detail, /tenant map: orgs beta; default qos guests/);
    await ex.start(run('borrowed'));
    await ex.start(run('gamma', { tenant: { ...tenant, org: 'gamma' } }));
    await ex.start(run('own', { tenant: { ...tenant, org: 'acme', borrowed: false, sandbox: false } }));
    const seen = rest.submits.map(({ headers, body }) => [headers['x-slurm-user-name'], headers['x-slurm-user-token'], body.job.account, body.job.qos]);
    assert.deepEqual(seen, [
      ['nobody', 'root-jwt', 'beta-acct', 'borrowed'],
      ['root', 'root-jwt', undefined, 'guests'],
      ['root', 'root-jwt', undefined, undefined],
    ]);
    await assert.rejects(ex.start(run('quiet', { tenant: { ...tenant, network: 'none' } })), (err: Error & { field?: string }) => err.field === 'run.tenant.network' && /cannot enforce/.test(err.message));
    const strict = new SlurmExecutor({ url: rest.url, user: 'root', token: 'root-jwt', tenantMap: { orgs: tenantMap.orgs } });
    await assert.rejects(strict.start(run('delta', { tenant: { ...tenant, org: 'delta' } })), (err: Error & { field?: string }) => err.field === 'run.tenant.org' && /org delta is not in the Slurm tenant map, and the map has no default/.test(err.message));
    assert.equal(rest.submits.length, 3, 'nothing submitted for the refused runs');
  } finally {
    await rest.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('slurm executor: without a tenant map nothing can be contained; a map with users needs a JWT', async () => {
  const without = new SlurmExecutor({ url: 'http://127.0.0.1:1', user: 'root', token: 'x' });
  assert.deepEqual(await without.containment(), { available: false, detail: 'no tenant map: the lender has not said which Slurm account, QOS and user each borrowing org runs as (suanli agent --tenant-map)' });
  assert.equal((await new SlurmExecutor({ url: 'http://127.0.0.1:1', user: 'root', token: 'x', tenantMap: {} }).containment()).available, false, 'an empty map names nobody');
  assert.throws(() => new SlurmExecutor({ socketPath: '/x.sock', tenantMap: { default: { user: 'guest' } } }), /slurm\.tenantMap: default\.user: names a user, but slurmrestd is reached over a unix socket/);
  assert.equal((await new SlurmExecutor({ socketPath: '/x.sock', tenantMap: { default: { account: 'guests' } } }).containment()).available, true);
  assert.throws(() => new SlurmExecutor({ url: 'http://127.0.0.1:1', user: 'root', token: 'x', tenantMap: { orgs: { beta: { qos: '' } } } }), /slurm\.tenantMap: orgs\.beta\.qos/);
});
