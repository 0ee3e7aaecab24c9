// The conformance suite every Executor runs (STYLE.md §9): local processes in
// src/executors/local.test.ts, a real Slurm in test/executor-slurm.test.ts. It needs
// an engine that really runs commands (so not the Kubernetes executor against its
// fake API server: see README.md). Cases share the engine, so each uses its own job
// ids and cancels what it started.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { isSuanliError } from '../model/errors.ts';
import { FINAL_RUN_STATES, runId, type Executor, type RunHandle, type RunRequest, type RunState, type RunStatus, type RunTenant } from './types.ts';

export interface ConformanceTarget {
  /** A new executor instance over the same engine and durable state; called again to play an agent restart. */
  open(): Promise<Executor>;
  /** A directory the engine's nodes can read and write, for work and log directories. */
  readonly scratchDir: string;
  /** Whether the engine has two nodes of one GPU type for a 2-node gang. */
  readonly multiNode: boolean;
  /** How long to wait for a run to reach a state (default 30 s). */
  readonly waitMs?: number;
}

/**
 * Registers the suite's tests. `setup` is called inside each test (after the file's
 * before hooks); it returns undefined after marking the test skipped when the engine
 * is not available here.
 */
export function executorConformance(name: string, setup: (t: TestContext) => ConformanceTarget | undefined): void {
  const conformance = (title: string, body: (target: ConformanceTarget, ex: Executor, runs: Runs, t: TestContext) => Promise<void>): void =>
    // The runner awaits what test() registers; there is nothing to await here.
    void test(`${name} conformance: ${title}`, { timeout: 120_000 }, async (t) => {
      const target = setup(t);
      if (target === undefined) return;
      const ex = await target.open();
      const runs = new Runs(target, ex);
      try {
        await body(target, ex, runs, t);
      } finally {
        await runs.cancelAll();
        await runs.executor.close();
      }
    });

  conformance('a short command succeeds and its output is in the log', async (target, ex, runs) => {
    assert.ok((await ex.discover()).length > 0, 'discover() finds GPUs');
    const { handle, request } = await runs.start({ command: sh('echo "hello from $SUANLI_RUN_ID"') });
    assert.equal(handle.runId, runId(request.jobId, request.attempt));
    const status = await runs.waitFor(handle, ['succeeded']);
    assert.equal(status.state, 'succeeded');
    assert.match(await ex.logTail(handle, 4096), new RegExp(`hello from ${handle.runId}`));
  });

  conformance('a failing command is failed with its exit code', async (_target, _ex, runs) => {
    const { handle } = await runs.start({ command: sh('echo about to fail; exit 3') });
    const status = await runs.waitFor(handle, ['failed']);
    assert.deepEqual(status.state === 'failed' && { reason: status.reason, exitCode: status.exitCode }, { reason: 'exit_code', exitCode: 3 }, status.detail);
  });

  conformance('cancel stops a long run: cancelled, and cancelling again changes nothing', async (_target, ex, runs) => {
    const { handle } = await runs.start({ command: sh('echo started; sleep 300') });
    await runs.waitFor(handle, ['running']);
    await ex.cancel(handle);
    assert.equal((await runs.waitFor(handle, ['cancelled'])).state, 'cancelled');
    await ex.cancel(handle);
    assert.equal((await ex.status(handle)).state, 'cancelled');
  });

  conformance('starting the same run id twice (at once, then again) runs it once', async (target, ex, runs) => {
    const marker = join(runs.dir(), 'ran');
    const request = runs.request({ command: sh(`echo ran >> ${marker}`) });
    const [a, b] = await Promise.all([ex.start(request), ex.start(request)]);
    assert.deepEqual(a, b);
    await runs.waitFor(a, ['succeeded']);
    assert.deepEqual(await ex.start(request), a, 'a finished run is still the same run');
    const again = await target.open();
    try {
      assert.deepEqual(await again.start(request), a, 'a new instance finds it too');
    } finally {
      await again.close();
    }
    await delay(500);
    assert.equal(readFileSync(marker, 'utf8'), 'ran\n');
    assert.equal((await ex.list()).filter((r) => r.handle.runId === a.runId).length, 1);
  });

  conformance('GPUs of concurrent runs are disjoint and within capacity; one more run waits', async (_target, ex, runs) => {
    const [capacity] = await ex.discover();
    assert.ok(capacity !== undefined && capacity.gpusPerNode >= 2, 'needs a node type with 2 GPUs or more');
    const per = Math.floor(capacity.gpusPerNode / 2);
    const count = Math.floor(capacity.gpusPerNode / per) * capacity.nodes;
    const gpuRun = () => ({ gpuType: capacity.gpuType, gpusPerNode: per, command: sh('echo "gpus $SUANLI_NODE $CUDA_VISIBLE_DEVICES"; sleep 300') });
    const wave = await Promise.all(Array.from({ length: count }, () => runs.start(gpuRun())));
    for (const { handle } of wave) await runs.waitFor(handle, ['running']);
    const extra = await runs.start(gpuRun());
    const used = new Map<string, Set<string>>();
    for (const { handle } of wave) {
      const [node, gpus] = await runs.gpusOf(handle);
      assert.equal(gpus.length, per, `${handle.runId} got ${per} GPUs`);
      const onNode = used.get(node) ?? new Set();
      for (const g of gpus) {
        assert.ok(!onNode.has(g), `GPU ${g} of ${node} is in two runs`);
        onNode.add(g);
      }
      used.set(node, onNode);
    }
    for (const [node, gpus] of used) assert.ok(gpus.size <= capacity.gpusPerNode, `${node} has ${gpus.size} GPUs in use, more than ${capacity.gpusPerNode}`);
    assert.equal((await ex.status(extra.handle)).state, 'pending', 'a run beyond capacity waits');
    const [first] = wave;
    assert.ok(first !== undefined);
    await ex.cancel(first.handle);
    await runs.waitFor(extra.handle, ['running']);
    const [node, gpus] = await runs.gpusOf(extra.handle);
    const freed = await runs.gpusOf(first.handle);
    assert.deepEqual([node, [...gpus].sort()], [freed[0], [...freed[1]].sort()], 'the waiting run got the freed GPUs');
  });

  conformance('a 2-node gang runs once per node, and fails as a whole when one rank fails', async (target, _ex, runs, t) => {
    if (!target.multiNode) return t.skip('the engine has no two nodes of one GPU type');
    const gang = { nodes: 2, gpusPerNode: 1 };
    const { handle } = await runs.start({ ...gang, command: sh('echo "rank $SUANLI_NODE_RANK of $SUANLI_NODES on $SUANLI_NODE with GPU $CUDA_VISIBLE_DEVICES"') });
    await runs.waitFor(handle, ['succeeded']);
    const lines = [...(await runs.log(handle)).matchAll(/rank (\d) of 2 on (\S+) with GPU (\d+)/g)];
    assert.deepEqual(lines.map((m) => m[1]).sort(), ['0', '1'], 'one line per rank');
    assert.notEqual(lines[0]?.[2], lines[1]?.[2], 'ranks on different nodes');
    const failing = await runs.start({ ...gang, command: sh('if [ "$SUANLI_NODE_RANK" = 1 ]; then exit 4; fi; sleep 300') });
    const status = await runs.waitFor(failing.handle, ['failed']);
    assert.deepEqual(status.state === 'failed' && [status.reason, status.exitCode], ['exit_code', 4], status.detail);
  });

  conformance('a new instance finds the runs of the old one and can cancel them', async (target, ex, runs) => {
    const long = await runs.start({ command: sh('echo long; sleep 300') });
    const short = await runs.start({ command: sh('echo short done') });
    await runs.waitFor(long.handle, ['running']);
    await runs.waitFor(short.handle, ['succeeded']);
    await ex.close();
    const next = await runs.use(target.open());
    const found = new Map((await next.list()).map((r) => [r.handle.runId, r]));
    assert.equal(found.get(long.handle.runId)?.status.state, 'running');
    assert.deepEqual(found.get(short.handle.runId)?.handle, short.handle);
    assert.equal(found.get(short.handle.runId)?.status.state, 'succeeded');
    assert.match(await next.logTail(short.handle, 100), /short done/);
    assert.deepEqual(await next.start(short.request), short.handle);
    await next.cancel(long.handle);
    assert.equal((await runs.waitFor(long.handle, ['cancelled'])).state, 'cancelled');
  });

  conformance('logTail returns the last bytes of the log', async (_target, ex, runs) => {
    const { handle } = await runs.start({ command: sh("i=1; while [ $i -le 200 ]; do printf 'line-%04d\\n' $i; i=$((i+1)); done") });
    await runs.waitFor(handle, ['succeeded']);
    const all = Array.from({ length: 200 }, (_, i) => `line-${String(i + 1).padStart(4, '0')}\n`).join('');
    assert.equal(await ex.logTail(handle, 1_000_000), all);
    assert.equal(await ex.logTail(handle, 100), all.slice(-100));
    assert.equal(await ex.logTail(handle, 0), '');
  });

  conformance('a request the engine can never run is refused, naming the field', async (_target, ex, runs) => {
    const refused = async (overrides: Partial<RunRequest>, field: string) =>
      assert.rejects(ex.start(runs.request(overrides)), (err: unknown) => isSuanliError(err) && err.code === 'invalid_input' && (err as { field?: string }).field === field);
    await refused({ gpusPerNode: 10_000 }, 'run.gpusPerNode');
    await refused({ nodes: 10_000, gpusPerNode: 1 }, 'run.nodes');
    await refused({ gpuType: 'no-such-gpu' }, 'run.gpuType');
    await refused({ jobId: 'not an id' }, 'run.jobId');
    await refused({ command: [] }, 'run.command');
    await refused({ env: { CUDA_VISIBLE_DEVICES: '0' } }, 'run.env.CUDA_VISIBLE_DEVICES');
    await refused({ workDir: 'relative/dir' }, 'run.workDir');
    await refused({ tenant: { ...borrowed, network: 'bridge' as RunTenant['network'] } }, 'run.tenant.network');
  });

  conformance('a borrowed run that need not be contained runs like any other', async (_target, _ex, runs) => {
    const { handle } = await runs.start({ tenant: { ...borrowed, sandbox: false }, command: sh('echo "borrowed $SUANLI_RUN_ID"') });
    await runs.waitFor(handle, ['succeeded']);
    assert.match(await runs.log(handle), new RegExp(`borrowed ${handle.runId}`));
  });

  conformance('containment() says what it can do; a run that must be contained is contained, or refused naming run.tenant.sandbox', async (_target, ex, runs) => {
    const containment = await ex.containment();
    assert.equal(typeof containment.available, 'boolean');
    assert.ok(containment.detail.length > 0, 'containment() explains itself');
    assert.deepEqual(await ex.containment(), containment, 'the same answer when asked again');
    // A work directory of its own: what it may write in (the local executor refuses a shared one). Network
    // host: taking it away is not every engine's to do (Slurm refuses none), and each executor's tests try none.
    const jobId = runs.nextJobId();
    const request = runs.request({ jobId, workDir: join(runs.dir(), jobId), tenant: { ...borrowed, network: 'host' }, command: sh('echo "contained $SUANLI_RUN_ID on $SUANLI_NODE"') });
    if (!containment.available) {
      await assert.rejects(ex.start(request), (err: unknown) => isSuanliError(err) && err.code === 'invalid_input' && (err as { field?: string }).field === 'run.tenant.sandbox' && err.message.includes(containment.detail));
      assert.ok(!(await ex.list()).some((r) => r.handle.runId === runId(request.jobId, request.attempt)), 'nothing was started');
      return;
    }
    const { handle } = await runs.start(request);
    await runs.waitFor(handle, ['succeeded']);
    assert.match(await runs.log(handle), new RegExp(`contained ${handle.runId} on \\S+`));
  });
}

/** Another org's run, which the site's policy wants contained with no network. */
const borrowed: RunTenant = { org: 'beta', borrowed: true, sandbox: true, network: 'none' };

/** The runs one case starts, with unique job ids; cancelled when the case ends. */
class Runs {
  private static next = 0;
  private readonly handles: RunHandle[] = [];
  private readonly id = `c${process.pid}x${Runs.next++}`;
  private count = 0;

  constructor(
    private readonly target: ConformanceTarget,
    private ex: Executor,
  ) {}

  /** The executor the case uses now (closed by the suite at the end). */
  get executor(): Executor {
    return this.ex;
  }

  /** Carries on with a new instance (the old one is closed by the case). */
  async use(next: Promise<Executor>): Promise<Executor> {
    this.ex = await next;
    return this.ex;
  }

  /** A per-case directory under the scratch directory. */
  dir(): string {
    const dir = join(this.target.scratchDir, this.id);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  /** A job id no other request of this case has. */
  nextJobId(): string {
    return `${this.id}-${this.count++}`;
  }

  request(overrides: Partial<RunRequest>): RunRequest {
    return { jobId: this.nextJobId(), attempt: 1, command: sh('true'), gpusPerNode: 1, nodes: 1, workDir: this.dir(), logDir: join(this.dir(), 'logs'), ...overrides };
  }

  async start(overrides: Partial<RunRequest>): Promise<{ handle: RunHandle; request: RunRequest }> {
    const request = this.request(overrides);
    const handle = await this.ex.start(request);
    this.handles.push(handle);
    return { handle, request };
  }

  waitFor(handle: RunHandle, states: readonly RunState[]): Promise<RunStatus> {
    return waitFor(this.ex, handle, states, this.target.waitMs);
  }

  log(handle: RunHandle): Promise<string> {
    return this.ex.logTail(handle, 1_000_000);
  }

  /** The node and GPU indices a run printed as `gpus <node> <CUDA_VISIBLE_DEVICES>`. */
  async gpusOf(handle: RunHandle): Promise<[string, string[]]> {
    const deadline = Date.now() + (this.target.waitMs ?? 30_000);
    for (;;) {
      const match = /gpus (\S+) (\S+)/.exec(await this.log(handle));
      if (match !== null) return [match[1] ?? '', (match[2] ?? '').split(',')];
      if (Date.now() > deadline) assert.fail(`${handle.runId} printed no GPUs: ${await this.log(handle)}`);
      await delay(100);
    }
  }

  async cancelAll(): Promise<void> {
    for (const handle of this.handles) await this.ex.cancel(handle).catch(() => undefined);
  }
}

/** Polls until the run is in one of `states`; fails with its last status otherwise, or when it ends in another state. */
export async function waitFor(ex: Executor, handle: RunHandle, states: readonly RunState[], waitMs = 30_000): Promise<RunStatus> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const status = await ex.status(handle);
    if (states.includes(status.state)) return status;
    if (FINAL_RUN_STATES.has(status.state)) assert.fail(`${handle.runId} ended ${status.state} (${status.detail}), not ${states.join(' or ')}`);
    if (Date.now() > deadline) assert.fail(`${handle.runId} is still ${status.state} (${status.detail}) after ${waitMs} ms, not ${states.join(' or ')}`);
    await delay(100);
  }
}

const sh = (script: string): string[] => ['/bin/sh', '-c', script];

