import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { checkContainable, checkRunRequest, decodeTail, exitStatus, runEnv, shellQuote } from './run-request.ts';
import type { RunRequest, RunTenant } from './types.ts';

const ok: RunRequest = { jobId: 'job-7_a', attempt: 2, command: ['echo', 'hi'], env: { A_1: 'x' }, gpusPerNode: 0, nodes: 1, workDir: '/w', logDir: '/l' };

test('checkRunRequest returns the run id of a good request', () => {
  assert.equal(checkRunRequest(ok), 'job-7_a.2');
  assert.deepEqual(runEnv(ok), { SUANLI_RUN_ID: 'job-7_a.2', SUANLI_NODES: '1' });
  const part = { ...ok, span: { sites: ['acme-lab', 'beta-lab'], index: 1 } };
  assert.equal(checkRunRequest(part), 'job-7_a.2');
  assert.deepEqual(runEnv(part), { SUANLI_RUN_ID: 'job-7_a.2', SUANLI_NODES: '1', SUANLI_SPAN_SITES: 'acme-lab,beta-lab', SUANLI_SPAN_INDEX: '1' });
  const meeting = { ...ok, span: { sites: ['acme-lab', 'beta-lab'], index: 0, rendezvous: { url: 'http://cp:8040/api/v1/rendezvous', token: 'srz_x' } } };
  assert.deepEqual(runEnv(meeting), {
    SUANLI_RUN_ID: 'job-7_a.2', SUANLI_NODES: '1', SUANLI_SPAN_SITES: 'acme-lab,beta-lab', SUANLI_SPAN_INDEX: '0',
    SUANLI_RENDEZVOUS_URL: 'http://cp:8040/api/v1/rendezvous', SUANLI_RENDEZVOUS_TOKEN: 'srz_x',
  }, 'a part that meets the others gets where, and its token');
});

const tenant: RunTenant = { org: 'beta', borrowed: true, sandbox: true, network: 'none' };

test('checkRunRequest takes a tenant, and an empty org from a control plane that did not say', () => {
  assert.equal(checkRunRequest({ ...ok, tenant }), 'job-7_a.2');
  assert.equal(checkRunRequest({ ...ok, tenant: { ...tenant, org: '' } }), 'job-7_a.2');
});

test('checkContainable refuses a run that must be contained where it cannot be, naming the org and why', async () => {
  let asked = 0;
  const executor = (available: boolean) => ({ kind: 'local', containment: () => Promise.resolve({ available, detail: available ? 'bubblewrap' : 'no bwrap on PATH' }).finally(() => asked++) });
  await assert.rejects(
    checkContainable({ ...ok, tenant }, executor(false)),
    (err: { field?: string; message?: string }) => err.field === 'run.tenant.sandbox' && /beta's borrowed run must be contained, but the local executor cannot contain runs: no bwrap on PATH/.test(err.message ?? ''),
  );
  await checkContainable({ ...ok, tenant }, executor(true));
  assert.equal(asked, 2);
  await checkContainable({ ...ok, tenant: { ...tenant, sandbox: false } }, executor(false));
  await checkContainable(ok, executor(false));
  assert.equal(asked, 2, 'a run that need not be contained asks nothing');
});

test('checkRunRequest names the bad field and what it accepts', () => {
  const bad: [Record<string, unknown>, string][] = [
    [{ jobId: 'a.b' }, 'run.jobId'],
    [{ jobId: 'x'.repeat(49) }, 'run.jobId'],
    [{ attempt: 0 }, 'run.attempt'],
    [{ attempt: 1.5 }, 'run.attempt'],
    [{ command: [] }, 'run.command'],
    [{ command: [''] }, 'run.command[0]'],
    [{ command: ['echo', 'a\0b'] }, 'run.command[1]'],
    [{ env: { '1A': 'x' } }, 'run.env.1A'],
    [{ env: { SUANLI_NODE_RANK: '3' } }, 'run.env.SUANLI_NODE_RANK'],
    [{ env: { CUDA_VISIBLE_DEVICES: '0' } }, 'run.env.CUDA_VISIBLE_DEVICES'],
    [{ gpuType: '' }, 'run.gpuType'],
    [{ gpusPerNode: -1 }, 'run.gpusPerNode'],
    [{ nodes: 0 }, 'run.nodes'],
    [{ workDir: 'relative' }, 'run.workDir'],
    [{ logDir: '' }, 'run.logDir'],
    [{ span: { sites: ['a'], index: 0 } }, 'run.span.sites'],
    [{ span: { sites: ['a', 'b,c'], index: 0 } }, 'run.span.sites'],
    [{ span: { sites: ['a', 'b'], index: 2 } }, 'run.span.index'],
    [{ tenant: { ...tenant, org: 'has space' } }, 'run.tenant.org'],
    [{ tenant: { ...tenant, org: 'x'.repeat(64) } }, 'run.tenant.org'],
    [{ tenant: { ...tenant, borrowed: 'yes' } }, 'run.tenant.borrowed'],
    [{ tenant: { ...tenant, sandbox: 1 } }, 'run.tenant.sandbox'],
    [{ tenant: { ...tenant, network: 'bridge' } }, 'run.tenant.network'],
  ];
  for (const [change, field] of bad) {
    assert.throws(() => checkRunRequest({ ...ok, ...change }), (err: { code?: string; field?: string; accepted?: string }) => err.code === 'invalid_input' && err.field === field && (err.accepted ?? '') !== '', field);
  }
});

test('exitStatus: 0 succeeded, else failed with the code; 128+N names the signal', () => {
  assert.equal(exitStatus(0, 'run').state, 'succeeded');
  assert.deepEqual(exitStatus(3, 'run'), { state: 'failed', reason: 'exit_code', exitCode: 3, detail: 'run exited with status 3' });
  assert.equal(exitStatus(137, 'run').detail, 'run exited with status 137 (killed by SIGKILL)');
  assert.equal(exitStatus(143, 'run').detail, 'run exited with status 143 (killed by SIGTERM)');
});

test('decodeTail drops a character cut in half at the start', () => {
  const bytes = Buffer.from('算力 ok');
  assert.equal(decodeTail(bytes.subarray(1)), '力 ok');
  assert.equal(decodeTail(bytes.subarray(3)), '力 ok');
  assert.equal(decodeTail(Buffer.alloc(0)), '');
});

test('shellQuote keeps every argument whole through sh', () => {
  const args = ["it's", '$HOME', 'a b', '"q"', 'back\\slash', 'new\nline', '*', ''];
  const out = spawnSync('/bin/sh', ['-c', `for a in ${args.map(shellQuote).join(' ')}; do printf '<%s>' "$a"; done`], { encoding: 'utf8' });
  assert.equal(out.stdout, args.map((a) => `<${a}>`).join(''));
});
