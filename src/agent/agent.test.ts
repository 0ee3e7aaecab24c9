// The agent's side of containing borrowed work, without a real control plane: a small stand-in that records heartbeats and
// reports and hands out assignments, and an executor that records what it is asked
// to start and checks it as every executor does.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { checkContainable, checkRunRequest } from '../executors/run-request.ts';
import { runId, type Capacity, type Containment, type Executor, type RunHandle, type RunRecord, type RunRequest, type RunStatus } from '../executors/types.ts';
import { Agent, tenantOf, type AssignmentWire, type SandboxMode } from './agent.ts';

test('tenantOf: the policy’s sandbox, or the agent’s mode; absent fields are an own run with the host’s network', () => {
  const base = { job_id: 'j', attempt: 1, command: ['true'], parts: [] };
  const old: AssignmentWire = base;
  const own: AssignmentWire = { ...base, org_id: 'acme', borrowed: false, sandbox: false, network: 'host' };
  const lent: AssignmentWire = { ...base, org_id: 'beta', borrowed: true, sandbox: false, network: 'none' };
  const required: AssignmentWire = { ...lent, sandbox: true };
  const sandboxOf = (a: AssignmentWire) => (['policy', 'borrowed', 'all'] as const).map((mode) => tenantOf(a, mode).sandbox);
  assert.deepEqual(tenantOf(old, 'policy'), { org: '', borrowed: false, sandbox: false, network: 'host' });
  assert.deepEqual(sandboxOf(old), [false, false, true]);
  assert.deepEqual(sandboxOf(own), [false, false, true], 'a lender’s own run only with --sandbox all');
  assert.deepEqual(sandboxOf(lent), [false, true, true]);
  assert.deepEqual(sandboxOf(required), [true, true, true], 'the policy wins whatever the mode');
  assert.deepEqual(tenantOf(lent, 'borrowed'), { org: 'beta', borrowed: true, sandbox: true, network: 'none' });
  assert.equal(tenantOf({ ...lent, sandbox: 'yes' as unknown as boolean }, 'policy').sandbox, 'yes', 'a malformed value is passed on to be refused, not read as false');
});

/** A stand-in control plane: one site, assignments handed out once, every heartbeat and report recorded. */
class FakeControlPlane {
  readonly heartbeats: Record<string, unknown>[] = [];
  readonly reports: Record<string, unknown>[] = [];
  /** The reports of each batch request, in order. */
  readonly batches: Record<string, unknown>[][] = [];
  assignments: AssignmentWire[] = [];
  /** Without the batch route, as a control plane from before it. */
  noBatchRoute = false;
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = chunks.length === 0 ? {} : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
        const reply = (status: number, value: unknown) => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
        if (req.url === '/api/v1/agent/heartbeat') {
          this.heartbeats.push(body);
          return reply(200, { id: 'site-1', stop: [] });
        }
        if (req.url?.startsWith('/api/v1/agent/assignments') === true) {
          const assignments = this.assignments.splice(0);
          // A long poll with nothing to hand out waits a little, as the real one does.
          return void delay(assignments.length === 0 ? 50 : 0).then(() => reply(200, { site_id: 'site-1', assignments }));
        }
        if (req.url === '/api/v1/agent/reports') {
          this.reports.push(body);
          return reply(200, { applied: true, current: true });
        }
        if (req.url === '/api/v1/agent/reports/batch' && !this.noBatchRoute) {
          const reports = body.reports as Record<string, unknown>[];
          this.reports.push(...reports);
          this.batches.push(reports);
          return reply(200, { results: reports.map(() => ({ applied: true, current: true })) });
        }
        return reply(404, { error: { code: 'not_found', message: `no route ${req.method ?? ''} ${req.url ?? ''}` } });
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server?.close(() => resolve()));
  }
}

/** Records what it is asked to start; checks it as every executor does, containment included. */
class RecordingExecutor implements Executor {
  readonly kind = 'recording';
  readonly started: RunRequest[] = [];
  /** `status`: what every run is said to be (running, unless a test says otherwise). */
  constructor(private readonly canContain: boolean, private readonly status$: RunStatus = { state: 'running', detail: 'recorded' }) {}
  discover(): Promise<Capacity[]> {
    return Promise.resolve([{ gpuType: 'h100', nodes: 1, gpusPerNode: 8 }]);
  }
  async start(run: RunRequest): Promise<RunHandle> {
    const id = checkRunRequest(run);
    await checkContainable(run, this);
    this.started.push(run);
    return { runId: id, engineId: id };
  }
  status(): Promise<RunStatus> {
    return Promise.resolve(this.status$);
  }
  cancel(): Promise<void> {
    return Promise.resolve();
  }
  logTail(): Promise<string> {
    return Promise.resolve('');
  }
  list(): Promise<RunRecord[]> {
    return Promise.resolve([]);
  }
  containment(): Promise<Containment> {
    return Promise.resolve(this.canContain ? { available: true, detail: 'a recording sandbox' } : { available: false, detail: 'no sandbox here' });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const running: (() => Promise<void>)[] = [];
after(async () => {
  for (const stop of running) await stop();
});

async function agentWith(options: { canContain: boolean; sandbox?: SandboxMode; assignments?: AssignmentWire[]; status?: RunStatus; noBatchRoute?: boolean }) {
  const plane = new FakeControlPlane();
  plane.assignments = [...(options.assignments ?? [])];
  plane.noBatchRoute = options.noBatchRoute ?? false;
  const server = await plane.start();
  const executor = new RecordingExecutor(options.canContain, options.status);
  const logs: string[] = [];
  const agent = new Agent({
    server, token: 'sl_agent', executor, workDir: '/tmp/suanli-agent-unit', heartbeatMs: 30, watchMs: 30, waitS: 0, maxBackoffMs: 50,
    ...(options.sandbox === undefined ? {} : { sandbox: options.sandbox }),
    logger: { info: (m) => logs.push(m), warn: (m) => logs.push(`WARN ${m}`) },
  });
  await agent.start();
  const stop = async () => {
    await agent.stop();
    await plane.close();
  };
  running.push(stop);
  return { plane, executor, logs, stop };
}

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await delay(10);
  }
}

test('the agent says at start what containment it has, and in every heartbeat whether it can contain runs', async () => {
  const capable = await agentWith({ canContain: true });
  await until('two heartbeats', () => (capable.plane.heartbeats.length >= 2 ? true : undefined));
  assert.deepEqual(capable.plane.heartbeats.map((h) => h.sandbox_capable).slice(0, 2), [true, true]);
  assert.ok(capable.logs.includes('suanli agent: containment (recording): available: a recording sandbox; --sandbox policy'), capable.logs.join('\n'));
  await capable.stop();

  const unable = await agentWith({ canContain: false, sandbox: 'borrowed' });
  await until('a heartbeat', () => unable.plane.heartbeats[0]);
  assert.equal(unable.plane.heartbeats[0]?.sandbox_capable, false);
  assert.ok(unable.logs.some((l) => l === 'WARN suanli agent: --sandbox borrowed asks to contain runs, and this recording executor cannot: those runs will fail'), unable.logs.join('\n'));
  await unable.stop();
});

test('each run is started with its tenant; one that must be contained where the executor cannot is reported failed, saying why', async () => {
  const base = { command: ['true'], parts: [{ gpu_type: 'h100', gpus: 1, nodes: 1, gpus_per_node: 1 }] };
  const assignments: AssignmentWire[] = [
    { ...base, job_id: 'own', attempt: 1 },
    { ...base, job_id: 'lent', attempt: 1, org_id: 'beta', borrowed: true, sandbox: false, network: 'none' },
    { ...base, job_id: 'required', attempt: 2, org_id: 'gamma', borrowed: true, sandbox: true, network: 'host' },
  ];
  const capable = await agentWith({ canContain: true, sandbox: 'borrowed', assignments });
  await until('three runs started', () => (capable.executor.started.length === 3 ? true : undefined));
  assert.deepEqual(
    capable.executor.started.map((r) => [runId(r.jobId, r.attempt), r.tenant]),
    [
      ['own.1', { org: '', borrowed: false, sandbox: false, network: 'host' }],
      ['lent.1', { org: 'beta', borrowed: true, sandbox: true, network: 'none' }],
      ['required.2', { org: 'gamma', borrowed: true, sandbox: true, network: 'host' }],
    ],
  );
  assert.ok(capable.logs.includes('suanli agent: started lent.1 for beta contained (network none)'), capable.logs.join('\n'));
  await capable.stop();

  const unable = await agentWith({ canContain: false, assignments });
  const failed = await until('a failed report', () => unable.plane.reports.find((r) => r.state === 'failed'));
  assert.deepEqual([failed.job_id, failed.attempt, failed.exit_code], ['required', 2, null]);
  assert.match(String(failed.detail), /^run\.tenant\.sandbox: gamma's borrowed run must be contained, but the recording executor cannot contain runs: no sandbox here/);
  await until('the two others started', () => (unable.executor.started.length === 2 ? true : undefined));
  assert.deepEqual(unable.executor.started.map((r) => r.jobId), ['own', 'lent'], 'with --sandbox policy, a borrowed run the policy does not ask to contain runs as any other');
  await unable.stop();
});

test('a run that ended before its start was reported: its start and its end go in one batch, in that order; to a control plane without batches, one at a time in that order', async () => {
  const assignments: AssignmentWire[] = [{ job_id: 'quick', attempt: 1, command: ['true'], parts: [{ gpu_type: 'h100', gpus: 1, nodes: 1, gpus_per_node: 1 }] }];
  const ended: RunStatus = { state: 'succeeded', detail: 'done at once' };
  const batched = await agentWith({ canContain: true, assignments, status: ended });
  const batch = await until('the run reported', () => batched.plane.batches.find((b) => b.some((r) => r.job_id === 'quick')));
  assert.deepEqual(batch.filter((r) => r.job_id === 'quick').map((r) => r.state), ['running', 'succeeded'], 'one batch: the start, then the end');
  await until('the run forgotten', () => (batched.logs.includes('suanli agent: quick.1 succeeded') ? true : undefined));
  assert.equal(batched.plane.reports.filter((r) => r.job_id === 'quick').length, 2, 'each once');
  await batched.stop();

  const single = await agentWith({ canContain: true, assignments, status: ended, noBatchRoute: true });
  await until('the run reported', () => (single.logs.includes('suanli agent: quick.1 succeeded') ? true : undefined));
  assert.deepEqual(single.plane.reports.filter((r) => r.job_id === 'quick').map((r) => r.state), ['running', 'succeeded']);
  await single.stop();
});
