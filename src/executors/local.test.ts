// The local executor: the conformance suite on a declared inventory of 2 virtual
// nodes × 4 GPUs, then what only local processes have (a run whose processes vanish,
// an executor process that dies, nvidia-smi, the state directory).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { executorConformance } from './executor.conformance.ts';
import { LocalExecutor } from './local.ts';
import { runId, type RunHandle, type RunRequest, type RunStatus } from './types.ts';

const root = mkdtempSync(join(tmpdir(), 'suanli-local-'));
after(() => rmSync(root, { recursive: true, force: true }));

executorConformance('local', () => ({
  open: () => Promise.resolve(new LocalExecutor({ stateDir: join(root, 'state'), inventory: [{ gpuType: 'h100', nodes: 2, gpusPerNode: 4 }], killGraceMs: 2000, pollMs: 200 })),
  scratchDir: join(root, 'scratch'),
  multiNode: true,
}));

const gpus = (n: number) => [{ gpuType: 'h100', nodes: 1, gpusPerNode: n }];
let next = 0;
/** A fresh state directory and a request builder for one test. */
function fixture(name: string) {
  const dir = join(root, `${name}-${next++}`);
  const request = (command: string, overrides: Partial<RunRequest> = {}): RunRequest => ({
    jobId: name,
    attempt: 1,
    command: ['/bin/sh', '-c', command],
    gpusPerNode: 1,
    nodes: 1,
    workDir: join(dir, 'work'),
    logDir: join(dir, 'logs'),
    ...overrides,
  });
  return { stateDir: join(dir, 'state'), request };
}

async function waitUntil(ex: LocalExecutor, handle: RunHandle, state: RunStatus['state'], ms = 10_000): Promise<RunStatus> {
  const deadline = Date.now() + ms;
  for (;;) {
    const status = await ex.status(handle);
    if (status.state === state) return status;
    assert.ok(Date.now() < deadline, `${handle.runId} is ${status.state} (${status.detail}), not ${state}`);
    await delay(50);
  }
}

test('local: a run whose processes vanish without an exit status is lost, and its GPUs are free again', async () => {
  const { stateDir, request } = fixture('vanish');
  const ex = new LocalExecutor({ stateDir, inventory: gpus(1), pollMs: 100 });
  try {
    // Kills its whole process group, the wrapper included, once the next run waits: no exit record is written.
    const handle = await ex.start(request(`while [ ! -e ${join(stateDir, 'go')} ]; do sleep 0.05; done; kill -KILL 0`));
    await waitUntil(ex, handle, 'running');
    const waiting = await ex.start(request('echo second', { jobId: 'vanish-next' }));
    assert.equal((await ex.status(waiting)).state, 'pending');
    writeFileSync(join(stateDir, 'go'), '');
    const lost = await waitUntil(ex, handle, 'lost');
    assert.match(lost.detail, /vanished without an exit status/);
    await waitUntil(ex, waiting, 'succeeded');
  } finally {
    await ex.close();
  }
});

test('local: an exit record cut short (no whole line) is no record: the run is lost, not succeeded', async () => {
  const { stateDir, request } = fixture('cut');
  const ex = new LocalExecutor({ stateDir, inventory: gpus(1), pollMs: 100 });
  try {
    const req = request('true');
    // As if the wrapper had been killed in the middle of writing "0\n": the "0" without its line end, then the whole group gone.
    const exitFile = join(stateDir, 'runs', runId(req.jobId, req.attempt), 'exit.0');
    const handle = await ex.start({ ...req, command: ['/bin/sh', '-c', `printf 0 > ${exitFile}; kill -KILL 0`] });
    const lost = await waitUntil(ex, handle, 'lost');
    assert.match(lost.detail, /vanished without an exit status/);
  } finally {
    await ex.close();
  }
});

test('local: runs outlive the process that started them; a new instance sees them end', async () => {
  const { stateDir, request } = fixture('orphan');
  const script = `
    import { LocalExecutor } from ${JSON.stringify(join(import.meta.dirname, 'local.ts'))};
    const ex = new LocalExecutor({ stateDir: ${JSON.stringify(stateDir)}, inventory: [{ gpuType: 'h100', nodes: 1, gpusPerNode: 1 }] });
    const handle = await ex.start(${JSON.stringify(request('sleep 1; echo finished after the agent died; exit 5'))});
    console.log(JSON.stringify(handle));
    process.kill(process.pid, 'SIGKILL');`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  const handle = JSON.parse(child.stdout) as RunHandle;
  const ex = new LocalExecutor({ stateDir, inventory: gpus(1), pollMs: 100 });
  try {
    assert.equal((await ex.status(handle)).state, 'running');
    const status = await waitUntil(ex, handle, 'failed');
    assert.equal(status.state === 'failed' && status.exitCode, 5);
    assert.match(await ex.logTail(handle, 1000), /finished after the agent died/);
  } finally {
    await ex.close();
  }
});

test('local: cancel sends SIGTERM once (a trap can checkpoint), then SIGKILL after the grace period', async () => {
  const { stateDir, request } = fixture('stubborn');
  const ex = new LocalExecutor({ stateDir, inventory: gpus(1), killGraceMs: 500, pollMs: 20 });
  try {
    // The trap starts a process of its own, as a checkpoint would: a second SIGTERM would stop it.
    const handle = await ex.start(request("trap 'echo got TERM; sleep 0.2; echo checkpointed' TERM; echo ready; while :; do sleep 0.1; done"));
    while (!(await ex.logTail(handle, 100)).includes('ready')) await delay(20);
    await ex.cancel(handle);
    assert.equal((await ex.status(handle)).state, 'running', 'still stopping');
    await waitUntil(ex, handle, 'cancelled', 5000);
    const log = await ex.logTail(handle, 1000);
    assert.match(log, /got TERM\ncheckpointed\n/);
    assert.equal(log.split('got TERM').length, 2, `one SIGTERM: ${log}`);
  } finally {
    await ex.close();
  }
});

test('local: exit statuses: not found is 127, killed by a signal is 128+N and says so', async () => {
  const { stateDir, request } = fixture('exits');
  const ex = new LocalExecutor({ stateDir, inventory: gpus(2), pollMs: 50 });
  try {
    const missing = await ex.start({ ...request(''), jobId: 'missing', command: ['/no/such/program'] });
    const killed = await ex.start(request('kill -KILL $$', { jobId: 'killed' }));
    const notFound = await waitUntil(ex, missing, 'failed');
    assert.equal(notFound.state === 'failed' && notFound.exitCode, 127);
    const bySignal = await waitUntil(ex, killed, 'failed');
    assert.equal(bySignal.state === 'failed' && bySignal.exitCode, 137);
    assert.match(bySignal.detail, /killed by SIGKILL/);
  } finally {
    await ex.close();
  }
});

test('local: without an inventory, GPUs come from nvidia-smi, one virtual node per GPU type', async () => {
  const { stateDir, request } = fixture('smi');
  const smi = join(root, 'fake-nvidia-smi');
  // A stand-in for nvidia-smi: this machine has no GPU. It answers the query the executor makes.
  writeFileSync(smi, `#!/bin/sh\n[ "$1" = --query-gpu=index,name ] && [ "$2" = --format=csv,noheader ] || exit 9\nprintf '0, NVIDIA H100 80GB HBM3\\n1, NVIDIA H100 80GB HBM3\\n2, NVIDIA A100-SXM4-40GB\\n'\n`, { mode: 0o755 });
  const ex = new LocalExecutor({ stateDir, nvidiaSmi: smi, pollMs: 50 });
  try {
    assert.deepEqual(await ex.discover(), [
      { gpuType: 'a100', nodes: 1, gpusPerNode: 1 },
      { gpuType: 'h100', nodes: 1, gpusPerNode: 2 },
    ]);
    const handle = await ex.start(request('echo "$SUANLI_NODE $CUDA_VISIBLE_DEVICES"', { gpuType: 'a100' }));
    await waitUntil(ex, handle, 'succeeded');
    assert.equal(await ex.logTail(handle, 100), 'local-1 2\n');
  } finally {
    await ex.close();
  }
});

test('local: without an inventory or nvidia-smi, CPU-only runs run and GPU runs are refused', async () => {
  const { stateDir, request } = fixture('cpu');
  const ex = new LocalExecutor({ stateDir, nvidiaSmi: join(root, 'no-such-nvidia-smi'), pollMs: 50 });
  try {
    assert.deepEqual(await ex.discover(), []);
    const handle = await ex.start(request('echo "gpus=[$CUDA_VISIBLE_DEVICES]"', { gpusPerNode: 0 }));
    await waitUntil(ex, handle, 'succeeded');
    assert.equal(await ex.logTail(handle, 100), 'gpus=[]\n');
    await assert.rejects(ex.start(request('true', { jobId: 'gpu' })), /run.gpusPerNode: 1 GPUs on one node, but this machine's nodes have at most 0/);
  } finally {
    await ex.close();
  }
});

test('local: a declared inventory is checked field by field', async () => {
  const { stateDir, request } = fixture('inventory');
  const ex = new LocalExecutor({ stateDir, inventory: [{ gpuType: 'h100', nodes: 0, gpusPerNode: 8 }] });
  try {
    await assert.rejects(ex.discover(), /inventory\[0\]\.nodes: 0 is not a node count/);
    await assert.rejects(ex.start(request('true')), /inventory\[0\]\.nodes/);
  } finally {
    await ex.close();
  }
});

test('local: a handle that is not a local run is refused; an unknown run is lost', async () => {
  const { stateDir } = fixture('handles');
  const ex = new LocalExecutor({ stateDir, inventory: gpus(1) });
  try {
    await assert.rejects(ex.status({ runId: runId('x', 1), engineId: '../../etc' }), /handle.engineId/);
    assert.equal((await ex.status({ runId: runId('x', 1), engineId: 'x.1' })).state, 'lost');
    await ex.cancel({ runId: runId('x', 1), engineId: 'x.1' });
    assert.equal(await ex.logTail({ runId: runId('x', 1), engineId: 'x.1' }, 10), '');
  } finally {
    await ex.close();
  }
});
