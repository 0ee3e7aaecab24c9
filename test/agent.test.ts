// The agent protocol end to end: a real control plane (in-process, listening, on an
// in-memory store, its scheduling loop on timers) and real agents with the local
// executor running real small commands; plus the protocol's guards through inject
// (another site's job, repeated reports, a silent site), and TLS with a private CA.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent } from '../src/agent/agent.ts';
import { inventoryFrom } from '../src/cli/agent-command.ts';
import { run } from '../src/cli/main.ts';
import { ControlPlaneClient } from '../src/agent/control-plane-client.ts';
import { LocalExecutor } from '../src/executors/local.ts';
import { runId } from '../src/executors/types.ts';
import { buildServer } from '../src/server/app.ts';
import { JobDetailResponse, JobResponse, LedgerResponse, SiteResponse } from '../src/server/schemas.ts';
import { AgentHeartbeatResponse, RunReportResponse } from '../src/server/routes/agent.ts';
import { openStore } from '../src/store/index.ts';
import { LivePool, localAgent, waitFor } from './support/live-pool.ts';
import { sandboxMissing, skipWithoutSandbox } from './support/sandbox.ts';
import { TestServer } from './support/server.ts';

describe('an agent with the local executor against a live control plane', () => {
  let pool: LivePool;
  let dir: string;
  let agent: Agent;
  let executor: LocalExecutor;
  before(async () => {
    pool = await LivePool.start();
    dir = mkdtempSync(join(tmpdir(), 'suanli-agent-'));
    ({ agent, executor } = localAgent(pool, dir));
    await agent.start();
  });
  after(async () => {
    await agent.stop();
    await executor.close();
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('heartbeats make the site up with the capacity the executor discovered', async () => {
    const site = await waitFor('site up', async () => {
      const s = SiteResponse.parse(await pool.client.call('GET', `/sites/${pool.siteId}`));
      // The agent knows its site once the answer to the heartbeat that made it up arrives: a moment after the store does.
      return s.health === 'up' && s.reported_capacity !== null && agent.siteId !== null ? s : undefined;
    });
    assert.deepEqual(site.reported_capacity, [{ gpu_type: 'h100', nodes: 1, gpus_per_node: 8 }]);
    assert.equal(agent.siteId, pool.siteId);
  });

  test('a job is placed on the site, runs, succeeds; its log tail and the ledger follow', async () => {
    const id = await pool.submit(['sh', '-c', 'echo hi; sleep 0.3']);
    const done = await pool.until(id, 'succeeded');
    assert.equal(done.attempts, 1);
    const types = done.events.map((e) => e.type);
    assert.deepEqual(types.filter((t) => ['placed', 'started', 'succeeded'].includes(t)), ['placed', 'started', 'succeeded']);
    const end = done.events.find((e) => e.type === 'succeeded');
    assert.match(String(end?.detail.log_tail), /hi/);
    assert.equal(end?.detail.exit_code, 0);
    // The run's usage counts once the site's agent has signed its record (a heartbeat or two) and it is logged.
    const ledger = await waitFor('the run in the ledger', async () => {
      const l = LedgerResponse.parse(await pool.client.call('GET', '/ledger'));
      return l.rows.some((r) => r.org_id === 'acme' && r.own_gpu_h > 0) ? l : undefined;
    });
    assert.ok(JSON.stringify(ledger).includes('acme'), 'the ledger has the run');
    const logged = await pool.client.call<{ entries: { note: string; writer: string }[] }>('GET', '/ledger/entries');
    assert.equal(logged.entries.at(-1)?.writer, 'site', 'signed by the site’s agent');
    assert.match(logged.entries.at(-1)?.note ?? '', new RegExp(`^job ${id}$`, 'm'));
  });

  test('a running job’s log tail reaches the control plane while it runs; suanli job logs prints it, --follow until the end', async () => {
    const id = await pool.submit(['sh', '-c', 'echo first; sleep 1.5; echo second; sleep 1.5; echo third']);
    const out: string[] = [];
    const follow = run(['job', 'logs', id, '--follow', '--server', pool.url, '--token', pool.admin], { out: (t) => out.push(t), err: (t) => out.push(t) });
    const running = await waitFor('a log tail while running', async () => {
      const j = await pool.job(id);
      return j.state === 'running' && j.placements[0]?.log_tail?.includes('first') === true ? j : undefined;
    });
    assert.doesNotMatch(running.placements[0]?.log_tail ?? '', /third/);
    assert.equal(await follow, 0);
    assert.deepEqual(out.join('\n').split('\n').filter((l) => l !== ''), ['first', 'second', 'third'], 'each line once, in order');
    const logs: string[] = [];
    assert.equal(await run(['job', 'logs', id, '--server', pool.url, '--token', pool.admin, '--json'], { out: (t) => logs.push(t), err: (t) => logs.push(t) }), 0);
    const json = JSON.parse(logs.join('')) as { attempt: number; log_tail: string; state: string };
    assert.deepEqual([json.attempt, json.state, json.log_tail.trim()], [1, 'succeeded', 'first\nsecond\nthird']);
    const bad: string[] = [];
    assert.equal(await run(['job', 'logs', id, '--attempt', '7', '--server', pool.url, '--token', pool.admin], { out: (t) => bad.push(t), err: (t) => bad.push(t) }), 2);
    assert.match(bad.join('\n'), /--attempt.*no attempt 7/);
  });

  test('a failing command fails the job with its exit code', async () => {
    const id = await pool.submit(['sh', '-c', 'echo oops >&2; exit 3']);
    const done = await pool.until(id, 'failed');
    const end = done.events.find((e) => e.type === 'failed');
    assert.equal(end?.detail.exit_code, 3);
    assert.match(String(end?.detail.log_tail), /oops/);
  });

  test('a failed run starts again per the job’s max_retries, then the job fails for good', async () => {
    const marker = join(dir, 'retries.txt');
    const id = await pool.submit(['sh', '-c', `echo try >> ${marker}; exit 4`], 2, { max_retries: 2 });
    const done = await pool.until(id, 'failed');
    assert.equal(done.attempts, 3);
    assert.equal(readFileSync(marker, 'utf8'), 'try\ntry\ntry\n');
    const retried = done.events.filter((e) => e.type === 'run_failed');
    assert.deepEqual(retried.map((e) => [e.detail.retry, e.detail.exit_code, e.detail.reason]), [['1 of 2', 4, 'exit_code'], ['2 of 2', 4, 'exit_code']]);
  });

  test('a running job cancelled through the API is stopped by its agent', async () => {
    const marker = join(dir, 'cancelled.txt');
    const id = await pool.submit(['sh', '-c', `sleep 30; echo finished > ${marker}`]);
    await pool.until(id, 'running');
    await pool.client.call('POST', `/jobs/${id}/cancel`);
    await waitFor('the run stopped', () => Promise.resolve(agent.watched().includes(`${id}.1`) ? undefined : true), 10_000);
    const status = await executor.status({ runId: runId(id, 1), engineId: `${id}.1` });
    assert.ok(['cancelled', 'lost'].includes(status.state), `the run is stopped: ${JSON.stringify(status)}`);
    assert.equal((await pool.job(id)).state, 'cancelled');
  });

  test('an assignment delivered twice runs once', async () => {
    const marker = join(dir, 'twice.txt');
    const id = await pool.submit(['sh', '-c', `echo run >> ${marker}; sleep 0.5`]);
    await pool.until(id, 'succeeded');
    // The same placement again, as a retried delivery would bring it: the executor knows the run id.
    const detail = await pool.job(id);
    const part = detail.placements[0]?.parts[0];
    assert.ok(part !== undefined);
    await executor.start({ jobId: id, attempt: 1, command: ['sh', '-c', `echo run >> ${marker}`], gpusPerNode: 2, nodes: 1, workDir: join(dir, 'x'), logDir: join(dir, 'logs') });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(readFileSync(marker, 'utf8'), 'run\n');
  });

  test('/metrics tells where the time from submission to running went: placed, received by the agent, running', async () => {
    const id = await pool.submit(['true']);
    await pool.until(id, 'succeeded');
    const text = await (await fetch(`${pool.url}/metrics`)).text();
    for (const stage of ['placed', 'received', 'running']) {
      const count = Number(new RegExp(`^suanli_dispatch_seconds_count\\{stage="${stage}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
      assert.ok(count >= 1, `stage ${stage}: ${count} observations\n${text.split('\n').filter((l) => l.startsWith('suanli_dispatch')).join('\n')}`);
    }
  });
});

describe('agent restarts and repeated reports', () => {
  test('suanli agent killed with SIGKILL mid-job: the next agent recovers the run, which runs once', async () => {
    const pool = await LivePool.start();
    const dir = mkdtempSync(join(tmpdir(), 'suanli-agent-'));
    const cli = join(import.meta.dirname, '..', 'bin', 'suanli.js');
    const spawnAgent = () => {
      const child = spawn(process.execPath, [cli, 'agent', '--server', pool.url, '--gpus', 'h100:8', '--work-dir', dir, '--heartbeat', '0.3'], { env: { ...process.env, SUANLI_AGENT_TOKEN: pool.agentToken }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      return { child, exited, output: () => out };
    };
    const first = spawnAgent();
    let second: ReturnType<typeof spawnAgent> | undefined;
    try {
      const marker = join(dir, 'once.txt');
      const id = await pool.submit(['sh', '-c', `echo start >> ${marker}; sleep 2; echo done`]);
      await pool.until(id, 'running');
      first.child.kill('SIGKILL');
      await first.exited;
      second = spawnAgent();
      const done = await pool.until(id, 'succeeded');
      assert.equal(done.attempts, 1, second.output());
      assert.equal(readFileSync(marker, 'utf8'), 'start\n', 'run once');
      assert.match(String(done.events.find((e) => e.type === 'succeeded')?.detail.log_tail), /done/);
    } finally {
      for (const a of [first, second]) {
        if (a === undefined || a.child.exitCode !== null || a.child.signalCode !== null) continue;
        a.child.kill('SIGTERM');
        await a.exited;
      }
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an agent stopped mid-job and restarted recovers the run without running it twice', async () => {
    const pool = await LivePool.start();
    const dir = mkdtempSync(join(tmpdir(), 'suanli-agent-'));
    try {
      const first = localAgent(pool, dir);
      await first.agent.start();
      const marker = join(dir, 'once.txt');
      const id = await pool.submit(['sh', '-c', `echo start >> ${marker}; sleep 1.5; echo done`]);
      await pool.until(id, 'running');
      await first.agent.stop();
      await first.executor.close();
      const second = localAgent(pool, dir);
      await second.agent.start();
      try {
        const done = await pool.until(id, 'succeeded');
        assert.equal(done.attempts, 1);
        assert.equal(readFileSync(marker, 'utf8'), 'start\n');
        assert.match(String(done.events.find((e) => e.type === 'succeeded')?.detail.log_tail), /done/);
      } finally {
        await second.agent.stop();
        await second.executor.close();
      }
    } finally {
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('containing runs', () => {
  test('suanli agent --sandbox all contains the site’s own runs too: as nobody, without the agent’s token or its state', async (t) => {
    const missing = await sandboxMissing();
    if (missing !== undefined) return skipWithoutSandbox(t, missing);
    const pool = await LivePool.start();
    const dir = mkdtempSync(join(tmpdir(), 'suanli-agent-'));
    const cli = join(import.meta.dirname, '..', 'bin', 'suanli.js');
    const child = spawn(process.execPath, [cli, 'agent', '--server', pool.url, '--gpus', 'h100:8', '--work-dir', dir, '--heartbeat', '0.3', '--sandbox', 'all'], { env: { ...process.env, SUANLI_AGENT_TOKEN: pool.agentToken }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      const id = await pool.submit(['sh', '-c', 'id -u; echo "token=[$SUANLI_AGENT_TOKEN]"; ls ../state || true']);
      const done = await pool.until(id, 'succeeded');
      const tail = String(done.events.find((e) => e.type === 'succeeded')?.detail.log_tail);
      assert.match(tail, /^65534\ntoken=\[\]\nls: cannot access '\.\.\/state': No such file or directory\n$/, `${tail}\n${out}`);
      assert.match(out, /suanli agent: containment \(local\): available: bubblewrap .*; --sandbox all/);
      assert.match(out, new RegExp(`started ${id}\\.1 contained \\(network host\\)`));
    } finally {
      child.kill('SIGTERM');
      await exited;
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the agent protocol through inject', () => {
  let s: TestServer;
  let site: string;
  let agent: string;
  let other: string;
  before(async () => {
    s = await TestServer.start({ siteTimeoutMs: 60_000 });
    await s.org('acme');
    await s.org('beta');
    site = await s.site('acme');
    agent = await s.token('agent', 'acme', site);
    other = await s.token('agent', 'beta', await s.site('beta', 1, 8, 'a100'));
  });
  after(() => s.close());

  const report = (token: string, body: Record<string, unknown>) => s.req('POST', '/api/v1/agent/reports', { token, body });

  test('assignments list the placed job once; reports apply once; another site gets 404', async () => {
    await s.ok(SiteResponse, 200, 'POST', '/api/v1/agent/heartbeat', { token: agent, body: {} });
    const id = await s.job('acme', 4, { command: ['true'], gpu_types: ['h100'] });
    await s.pass();
    const r = await s.req('GET', '/api/v1/agent/assignments?wait=0', { token: agent });
    assert.equal(r.status, 200);
    assert.deepEqual((r.body as { assignments: unknown[] }).assignments, [{ job_id: id, attempt: 1, command: ['true'], parts: [{ gpu_type: 'h100', gpus: 4, nodes: 1, gpus_per_node: 4 }], span: null, org_id: 'acme', borrowed: false, sandbox: false, network: 'host' }]);
    assert.equal((await s.req('GET', '/api/v1/agent/assignments?wait=0', { token: other })).body !== null, true);
    assert.deepEqual(((await s.req('GET', '/api/v1/agent/assignments?wait=0', { token: other })).body as { assignments: unknown[] }).assignments, []);
    assert.equal((await report(other, { job_id: id, attempt: 1, state: 'running' })).status, 404);
    assert.equal((await s.req('GET', '/api/v1/agent/assignments?wait=0', { token: s.admin })).status, 403);

    const first = RunReportResponse.parse((await report(agent, { job_id: id, attempt: 1, state: 'running' })).body);
    const again = RunReportResponse.parse((await report(agent, { job_id: id, attempt: 1, state: 'running' })).body);
    assert.deepEqual([first.applied, again.applied, again.current], [true, false, true]);
    s.clock.advance(60);
    const end = RunReportResponse.parse((await report(agent, { job_id: id, attempt: 1, state: 'succeeded', exit_code: 0 })).body);
    const endAgain = RunReportResponse.parse((await report(agent, { job_id: id, attempt: 1, state: 'succeeded', exit_code: 0 })).body);
    assert.deepEqual([end.applied, endAgain.applied, endAgain.current], [true, false, false]);
    await s.app.suanli.usage.logAlone(Number.MAX_SAFE_INTEGER); // no agent here signs the records: the control plane logs them alone
    const ledger = LedgerResponse.parse((await s.req('GET', '/api/v1/ledger')).body);
    const own = ledger.rows.find((row) => row.org_id === 'acme' && row.gpu_type === 'h100');
    assert.equal(own?.own_gpu_h, (4 * 60) / 3600, 'one ledger entry, from the first report only');
  });

  test('a lost run is requeued once', async () => {
    const id = await s.job('acme', 2, { command: ['true'], gpu_types: ['h100'] });
    await s.pass();
    await report(agent, { job_id: id, attempt: 1, state: 'running' });
    const lost = RunReportResponse.parse((await report(agent, { job_id: id, attempt: 1, state: 'lost' })).body);
    const lostAgain = RunReportResponse.parse((await report(agent, { job_id: id, attempt: 1, state: 'lost' })).body);
    assert.deepEqual([lost.applied, lost.state, lostAgain.applied], [true, 'pending', false]);
    await s.pass();
    const detail = await s.ok(JobDetailResponse, 200, 'GET', `/api/v1/jobs/${id}`);
    assert.deepEqual([detail.state, detail.attempts, detail.events.filter((e) => e.type === 'run_lost').length], ['placed', 2, 1]);
    const stale = RunReportResponse.parse((await report(agent, { job_id: id, attempt: 1, state: 'succeeded' })).body);
    assert.deepEqual([stale.applied, stale.current], [false, false], 'an old attempt changes nothing and is told to stop');
    await report(agent, { job_id: id, attempt: 2, state: 'failed', exit_code: 1 });
  });

  test('a silent site is marked lost after the timeout and its jobs are requeued exactly once', async () => {
    await s.ok(SiteResponse, 200, 'POST', '/api/v1/agent/heartbeat', { token: agent, body: {} });
    const id = await s.job('acme', 8, { command: ['true'], gpu_types: ['h100'] });
    await s.pass();
    await report(agent, { job_id: id, attempt: 1, state: 'running' });
    s.clock.advance(30);
    await s.pass();
    assert.equal((await s.ok(SiteResponse, 200, 'GET', `/api/v1/sites/${site}`)).health, 'up', 'not yet');
    s.clock.advance(31);
    const report1 = await s.pass();
    assert.equal(report1.requeued, 1);
    await s.pass();
    await s.pass();
    assert.equal((await s.ok(SiteResponse, 200, 'GET', `/api/v1/sites/${site}`)).health, 'lost');
    const detail = await s.ok(JobDetailResponse, 200, 'GET', `/api/v1/jobs/${id}`);
    assert.deepEqual([detail.state, detail.events.filter((e) => e.type === 'site_lost').length, detail.events.filter((e) => e.type === 'requeued').length], ['pending', 1, 1]);
    // The agent is back: the site is up and the job placed again.
    await s.ok(SiteResponse, 200, 'POST', '/api/v1/agent/heartbeat', { token: agent, body: {} });
    await s.pass();
    const back = await s.ok(JobDetailResponse, 200, 'GET', `/api/v1/jobs/${id}`);
    assert.deepEqual([back.state, back.attempts], ['placed', 2]);
  });
});

/** Orgs `owner` and `borrower`; the owner's site of 8 h100 lent to all, reclaimed with 120 s of notice. Returns its id. */
async function lendingOwner(s: TestServer): Promise<string> {
  await s.org('owner');
  await s.org('borrower');
  return s.site('owner', 1, 8, 'h100', { share: { lend_fraction: 1, reclaim: true, reclaim_notice_s: 120 } });
}

describe('stops through heartbeats', () => {
  test('a borrower reclaimed with notice is stopped when the notice ends; a cancelled run at once; another site’s run without a word', async () => {
    const s = await TestServer.start();
    try {
      const lent = await lendingOwner(s);
      await s.site('borrower', 1, 8, 'a100');
      const ownerAgent = await s.token('agent', 'owner', lent);
      const heartbeat = async (runs: { job_id: string; attempt: number }[]) =>
        (await s.ok(AgentHeartbeatResponse, 200, 'POST', '/api/v1/agent/heartbeat', { token: ownerAgent, body: { runs } })).stop;

      const borrowed = await s.job('borrower', 8, { command: ['sleep', '600'], gpu_types: ['h100'] });
      await s.pass();
      await s.req('POST', '/api/v1/agent/reports', { token: ownerAgent, body: { job_id: borrowed, attempt: 1, state: 'running' } });
      assert.deepEqual(await heartbeat([{ job_id: borrowed, attempt: 1 }]), [], 'a current run goes on');

      // The owner needs its GPUs back: the borrower is preempted with the site's notice.
      await s.job('owner', 8, { command: ['true'], gpu_types: ['h100'] });
      await s.pass();
      assert.equal((await s.ok(JobDetailResponse, 200, 'GET', `/api/v1/jobs/${borrowed}`)).state, 'pending');
      const [notice] = await heartbeat([{ job_id: borrowed, attempt: 1 }]);
      assert.equal(notice?.after_s, 120);
      assert.match(notice?.reason ?? '', /^the job was preempted/);
      s.clock.advance(100);
      assert.equal((await heartbeat([{ job_id: borrowed, attempt: 1 }]))[0]?.after_s, 20, 'the notice counts down');

      const placed = await s.job('owner', 1, { command: ['true'], gpu_types: ['h100'] });
      await s.req('POST', `/api/v1/jobs/${placed}/cancel`);
      assert.deepEqual(await heartbeat([{ job_id: placed, attempt: 1 }]), [{ job_id: placed, attempt: 1, after_s: 0, reason: 'not a run of this site' }], 'never placed here');
      const other = await s.job('borrower', 1, { command: ['true'], gpu_types: ['a100'] });
      await s.pass();
      assert.deepEqual(await heartbeat([{ job_id: other, attempt: 1 }]), [{ job_id: other, attempt: 1, after_s: 0, reason: 'not a run of this site' }]);
    } finally {
      await s.close();
    }
  });
});

describe('dispatch by events, not by polling', () => {
  let s: TestServer;
  let agent: string;
  before(async () => {
    s = await TestServer.start();
    await s.org('acme');
    agent = await s.token('agent', 'acme', await s.site('acme'));
    await s.ok(SiteResponse, 200, 'POST', '/api/v1/agent/heartbeat', { token: agent, body: {} });
  });
  after(() => s.close());
  const poll = (wait: number) => s.req('GET', `/api/v1/agent/assignments?wait=${wait}`, { token: agent });
  type Polled = { assignments: { job_id: string }[]; stop: { job_id: string; attempt: number; after_s: number; reason: string }[] };
  /** A long poll already waiting when `act` runs; how long after `act` it was answered, and with what. */
  const answerTo = async (act: () => Promise<unknown>): Promise<{ ms: number; body: Polled }> => {
    const waiting = poll(10);
    await new Promise((r) => setTimeout(r, 50)); // the poll is waiting now
    const t0 = performance.now();
    await act();
    const r = await waiting;
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return { ms: performance.now() - t0, body: r.body as Polled };
  };

  // A waiting long poll looks again by itself only once a second: answered sooner, it was woken by the placement.
  test('a waiting long poll is answered the moment its site gets a placement; a run handed out is not offered again until its re-offer time', async () => {
    let id = '';
    const { ms, body } = await answerTo(async () => {
      id = await s.job('acme', 1, { command: ['true'] });
      await s.pass();
    });
    assert.deepEqual(body.assignments.map((a) => a.job_id), [id]);
    assert.ok(ms < 500, `answered ${ms.toFixed(0)} ms after the placement`);
    // The agent started it: the next poll waits rather than handing it over again…
    assert.deepEqual(((await poll(0)).body as Polled).assignments, []);
    // …until its re-offer time passes without its report (the answer may have been lost).
    s.clock.advance(6);
    assert.deepEqual(((await poll(0)).body as Polled).assignments.map((a) => a.job_id), [id]);
    await s.req('POST', '/api/v1/agent/reports', { token: agent, body: { job_id: id, attempt: 1, state: 'succeeded', exit_code: 0 } });
  });

  test('a run the control plane moved past (cancelled) is named to stop in the waiting long poll at once', async () => {
    const id = await s.job('acme', 1, { command: ['sleep', '60'] });
    await s.pass();
    await s.req('POST', '/api/v1/agent/reports', { token: agent, body: { job_id: id, attempt: 1, state: 'running' } });
    const { ms, body } = await answerTo(() => s.req('POST', `/api/v1/jobs/${id}/cancel`));
    assert.deepEqual(body.stop, [{ job_id: id, attempt: 1, after_s: 0, reason: 'the job is cancelled' }]);
    assert.ok(ms < 500, `answered ${ms.toFixed(0)} ms after the cancel`);
    assert.deepEqual(((await poll(0)).body as Polled).stop, [], 'told once (heartbeats name it again while the agent lists it)');
  });

  // A batch's common reports are committed together (one transaction); the rest one at a time, as single reports.
  test('a batch: a start and an end of one run apply in order, a repeat keeps the log, a failure with a retry left requeues', async () => {
    const quick = await s.job('acme', 1, { command: ['true'] });
    const retried = await s.job('acme', 1, { command: ['false'], max_retries: 1 });
    const long = await s.job('acme', 1, { command: ['sleep', '60'] });
    await s.pass();
    await s.req('POST', '/api/v1/agent/reports', { token: agent, body: { job_id: long, attempt: 1, state: 'running' } });
    s.clock.advance(30);
    const r = await s.req('POST', '/api/v1/agent/reports/batch', {
      token: agent,
      body: {
        reports: [
          { job_id: quick, attempt: 1, state: 'running' },
          { job_id: retried, attempt: 1, state: 'running' },
          { job_id: long, attempt: 1, state: 'running', log_tail: 'step 7\n' },
          { job_id: quick, attempt: 1, state: 'succeeded', exit_code: 0, log_tail: 'done\n' },
          { job_id: retried, attempt: 1, state: 'failed', exit_code: 1, reason: 'exit_code' },
        ],
      },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const results = (r.body as { results: { applied: boolean; current: boolean; state: string }[] }).results;
    assert.deepEqual(results.map((x) => [x.applied, x.current, x.state]), [[true, true, 'running'], [true, true, 'running'], [false, true, 'running'], [true, false, 'succeeded'], [true, false, 'pending']]);
    const done = await s.ok(JobDetailResponse, 200, 'GET', `/api/v1/jobs/${quick}`);
    assert.deepEqual([done.state, done.placements[0]?.log_tail, done.events.map((e) => e.type).slice(-2)], ['succeeded', 'done\n', ['started', 'succeeded']]);
    assert.equal((await s.ok(JobDetailResponse, 200, 'GET', `/api/v1/jobs/${long}`)).placements[0]?.log_tail, 'step 7\n');
    const again = await s.ok(JobDetailResponse, 200, 'GET', `/api/v1/jobs/${retried}`);
    assert.deepEqual(again.events.filter((e) => e.type === 'run_failed').map((e) => e.detail.retry), ['1 of 1']);
    // One usage entry for the run that ended, none for the one still running.
    assert.deepEqual((await s.store.pendingUsage({ jobId: quick, limit: 10 })).length, 1);
    assert.deepEqual((await s.store.pendingUsage({ jobId: long, limit: 10 })).length, 0);
    await s.req('POST', `/api/v1/jobs/${long}/cancel`);
  });

  // The agent's watch loop and its executor's poll both look only every 10 s here: a run reported started and
  // ended within seconds was reported because the agent woke its watch loop (the run started; the executor saw it exit).
  test('an agent reports a run started and ended as they happen, not at its next round', async () => {
    const pool = await LivePool.start();
    const dir = mkdtempSync(join(tmpdir(), 'suanli-agent-'));
    const executor = new LocalExecutor({ stateDir: join(dir, 'state'), inventory: [{ gpuType: 'h100', nodes: 1, gpusPerNode: 8 }], pollMs: 10_000 });
    const started = new Agent({ server: pool.url, token: pool.agentToken, executor, workDir: dir, heartbeatMs: 300, watchMs: 10_000, waitS: 5 });
    try {
      await started.start();
      await waitFor('the agent connected', () => Promise.resolve(started.siteId ?? undefined));
      await new Promise((r) => setTimeout(r, 200)); // its first watch round done: the next is 10 s away
      const t0 = Date.now();
      const id = await pool.submit(['sh', '-c', 'sleep 2']);
      await waitFor(`job ${id} running`, async () => ((await pool.job(id)).state === 'running' ? true : undefined), 5000);
      assert.ok(Date.now() - t0 < 1500, `running after ${Date.now() - t0} ms`);
      await waitFor(`job ${id} succeeded`, async () => ((await pool.job(id)).state === 'succeeded' ? true : undefined), 8000);
      assert.ok(Date.now() - t0 < 4000, `succeeded after ${Date.now() - t0} ms`);
      const events = (await pool.job(id)).events.map((e) => e.type);
      assert.deepEqual(events.filter((t) => t === 'started' || t === 'succeeded'), ['started', 'succeeded']);
    } finally {
      await started.stop();
      await executor.close();
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('GPUs follow what the agent confirms', () => {
  // An owner reclaims its lent GPUs with notice. The borrower's job is requeued at once, but its run goes on until the
  // notice ends: its GPUs are not the owner's until the site's agent says the run stopped. Before, the control
  // plane counted them free at once and placed the owner's job on GPUs still busy (an agent held runs for 81 of 64).
  test("a reclaimed borrower's GPUs stay busy until its agent reports it stopped (or heartbeats without it); then the owner's job is placed", async () => {
    const s = await TestServer.start();
    try {
      const lent = await lendingOwner(s);
      const ownerAgent = await s.token('agent', 'owner', lent);
      const report = (body: Record<string, unknown>) => s.req('POST', '/api/v1/agent/reports', { token: ownerAgent, body });
      const state = async (id: string) => (await s.ok(JobDetailResponse, 200, 'GET', `/api/v1/jobs/${id}`)).state;
      await s.ok(AgentHeartbeatResponse, 200, 'POST', '/api/v1/agent/heartbeat', { token: ownerAgent, body: {} }); // the site has an agent
      const reclaimed = async () => {
        const borrowed = await s.job('borrower', 8, { command: ['sleep', '600'], gpu_types: ['h100'], preemptible: true });
        await s.pass();
        assert.equal((await report({ job_id: borrowed, attempt: 1, state: 'running' })).status, 200);
        const owned = await s.job('owner', 8, { command: ['true'], gpu_types: ['h100'] });
        await s.pass();
        assert.equal(await state(borrowed), 'pending', 'the borrower is requeued at once');
        for (let i = 0; i < 3; i++) await s.pass();
        assert.equal(await state(owned), 'pending', "the owner waits: the borrower's run has not stopped yet");
        return { borrowed, owned };
      };

      const first = await reclaimed();
      assert.equal((await report({ job_id: first.owned, attempt: 1, state: 'stopped' })).status, 404, 'a run never placed here');
      const stopped = RunReportResponse.parse((await report({ job_id: first.borrowed, attempt: 1, state: 'stopped' })).body);
      assert.deepEqual([stopped.applied, stopped.current], [true, false]);
      assert.equal(RunReportResponse.parse((await report({ job_id: first.borrowed, attempt: 1, state: 'stopped' })).body).applied, false, 'once');
      await s.pass();
      assert.equal(await state(first.owned), 'placed', 'the GPUs are free: the owner has them');
      const notTold = await report({ job_id: first.owned, attempt: 1, state: 'stopped' });
      assert.deepEqual([notTold.status, (notTold.body as { error: { field: string } }).error.field], [409, 'state'], 'a current run was not told to stop');
      await report({ job_id: first.owned, attempt: 1, state: 'succeeded', exit_code: 0 });
      await s.req('POST', `/api/v1/jobs/${first.borrowed}/cancel`);

      // An agent that heartbeats without the run has stopped it (or never had it) too.
      s.clock.advance(3600); // past the owner's reclaim rate limit
      const second = await reclaimed();
      assert.equal((await report({ job_id: second.owned, attempt: 1, state: 'stopped' })).status, 404);
      await s.ok(AgentHeartbeatResponse, 200, 'POST', '/api/v1/agent/heartbeat', { token: ownerAgent, body: { runs: [{ job_id: second.borrowed, attempt: 1 }] } });
      await s.pass();
      assert.equal(await state(second.owned), 'pending', 'listed: still stopping');
      await s.ok(AgentHeartbeatResponse, 200, 'POST', '/api/v1/agent/heartbeat', { token: ownerAgent, body: { runs: [] } });
      await s.pass();
      assert.equal(await state(second.owned), 'placed');
    } finally {
      await s.close();
    }
  });

  // Live, with a real agent: the stop reaches it in its long poll, it stops the run when the notice ends (to the
  // millisecond), says so, and the owner's job is placed on the GPUs freed and started: never before the notice
  // ends (the site's runs never exceed its GPUs), and within 100 ms of it.
  test("an owner's reclaim with a 1 s notice: the owner's job starts after the borrower stopped, within the notice plus 100 ms", async () => {
    const pool = await LivePool.start({ passIntervalMs: 60_000 });
    const dir = mkdtempSync(join(tmpdir(), 'suanli-agent-'));
    const { agent: started, executor } = localAgent(pool, dir, { heartbeatMs: 5000, killGraceMs: 2000 });
    try {
      await pool.client.call('PATCH', `/sites/${pool.siteId}`, { share: { lend_fraction: 1, reclaim: true, reclaim_notice_s: 1 } });
      await pool.client.call('POST', '/orgs', { id: 'beta', name: 'Beta' });
      await started.start();
      await waitFor('the agent connected', () => Promise.resolve(started.siteId ?? undefined));
      const borrowed = JobResponse.parse(await pool.client.call('POST', '/jobs', { name: 'b', org_id: 'beta', gpus: 8, estimate_s: 600, command: ['sleep', '60'], preemptible: true })).id;
      await pool.until(borrowed, 'running');
      const owned = await pool.submit(['sleep', '5'], 8);
      const running = await pool.until(owned, 'running');
      const at = (type: string, events: readonly { type: string; at: string }[]) => Date.parse(events.find((e) => e.type === type)?.at ?? '');
      const preempted = (await pool.job(borrowed)).events.find((e) => e.type === 'preempted');
      const stopAt = Date.parse(String(preempted?.detail.stop_at));
      const placed = at('placed', running.events);
      const start = at('started', running.events);
      assert.ok(placed >= stopAt, `the owner's job was placed ${stopAt - placed} ms before the borrower's notice ended`);
      assert.ok(start - stopAt <= 100, `the owner's job started ${start - stopAt} ms after the notice ended`);
    } finally {
      await started.stop();
      for (const r of await executor.list()) await executor.cancel(r.handle);
      await executor.close();
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the control plane restarted while an agent runs a job', () => {
  test('the agent reconnects, the run finishes once and is reported, and new work runs', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'suanli-cp-'));
    const dir = mkdtempSync(join(tmpdir(), 'suanli-agent-'));
    const adminToken = 'sl_restart_0123456789abcdef0123456789abcdef';
    const open = async (port: number) => {
      const store = await openStore({ dataDir });
      const app = await buildServer({ store, passIntervalMs: 100, adminToken });
      await app.listen({ host: '127.0.0.1', port });
      return { app, store, port: (app.server.address() as { port: number }).port };
    };
    let cp = await open(0);
    const url = `http://127.0.0.1:${cp.port}`;
    const admin = new ControlPlaneClient({ server: url, token: adminToken });
    await admin.call('POST', '/orgs', { id: 'acme', name: 'Acme' });
    const site = await admin.call<{ id: string }>('POST', '/sites', { name: 'lab', org_id: 'acme', capacity: [{ gpu_type: 'h100', nodes: 1, gpus_per_node: 8 }] });
    const token = (await admin.call<{ token: string }>('POST', '/tokens', { name: 'agent', role: 'agent', org_id: 'acme', site_id: site.id })).token;
    const executor = new LocalExecutor({ stateDir: join(dir, 'state'), inventory: [{ gpuType: 'h100', nodes: 1, gpusPerNode: 8 }], pollMs: 100, killGraceMs: 500 });
    const agent = new Agent({ server: url, token, executor, workDir: dir, heartbeatMs: 300, watchMs: 100, waitS: 2, maxBackoffMs: 300 });
    await agent.start();
    const jobState = async (id: string) => JobDetailResponse.parse(await admin.call('GET', `/jobs/${id}`));
    try {
      const marker = join(dir, 'once.txt');
      const id = JobResponse.parse(await admin.call('POST', '/jobs', { org_id: 'acme', gpus: 2, estimate_s: 60, command: ['sh', '-c', `echo start >> ${marker}; sleep 2; echo done`] })).id;
      await waitFor('running', async () => ((await jobState(id)).state === 'running' ? true : undefined));
      await cp.app.close();
      await cp.store.close();
      // Down while the run ends: the agent's report waits for the control plane.
      await new Promise((r) => setTimeout(r, 2500));
      cp = await open(cp.port);
      const done = await waitFor('succeeded', async () => {
        const j = await jobState(id);
        return j.state === 'succeeded' ? j : undefined;
      });
      assert.equal(done.attempts, 1);
      assert.equal(readFileSync(marker, 'utf8'), 'start\n');
      assert.match(String(done.events.find((e) => e.type === 'succeeded')?.detail.log_tail), /done/);
      const next = JobResponse.parse(await admin.call('POST', '/jobs', { org_id: 'acme', gpus: 2, estimate_s: 60, command: ['true'] })).id;
      await waitFor('the next job succeeded', async () => ((await jobState(next)).state === 'succeeded' ? true : undefined));
    } finally {
      await agent.stop();
      await executor.close();
      await cp.app.close();
      await cp.store.close();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('TLS with a private CA', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'suanli-tls-'));
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    for (const name of ['ca', 'other-ca']) ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-subj', `/CN=${name}`, '-days', '2');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('an agent that trusts the CA runs a job over HTTPS; one given another CA refuses to connect', async () => {
    const ca = readFileSync(join(dir, 'ca.crt'));
    const pool = await LivePool.start({ tls: { cert: readFileSync(join(dir, 'server.crt')), key: readFileSync(join(dir, 'server.key')) } }, ca);
    const work = mkdtempSync(join(tmpdir(), 'suanli-agent-'));
    const { agent, executor } = localAgent(pool, work, { ca });
    try {
      assert.match(pool.url, /^https:/);
      const wrong = new ControlPlaneClient({ server: pool.url, token: pool.agentToken, ca: readFileSync(join(dir, 'other-ca.crt')) });
      await assert.rejects(wrong.call('POST', '/agent/heartbeat', {}), /certificate/);
      const none = new ControlPlaneClient({ server: pool.url, token: pool.agentToken });
      await assert.rejects(none.call('POST', '/agent/heartbeat', {}), /certificate/);
      // The CLI client takes the CA too.
      const cli = async (caFile: string) => {
        const out: string[] = [];
        const code = await run(['org', 'list', '--server', pool.url, '--token', pool.admin, '--ca', caFile, '--json'], { out: (t) => out.push(t), err: (t) => out.push(t) });
        return { code, text: out.join('\n') };
      };
      const trusted = await cli(join(dir, 'ca.crt'));
      assert.deepEqual([trusted.code, trusted.text.includes('"acme"')], [0, true], trusted.text);
      const refused = await cli(join(dir, 'other-ca.crt'));
      assert.equal(refused.code, 1, refused.text);
      assert.match(refused.text, /cannot reach/);
      await agent.start();
      const id = await pool.submit(['sh', '-c', 'echo secure']);
      const done = await pool.until(id, 'succeeded');
      assert.match(String(done.events.find((e) => e.type === 'succeeded')?.detail.log_tail), /secure/);
    } finally {
      await agent.stop();
      await executor.close();
      await pool.close();
      rmSync(work, { recursive: true, force: true });
    }
  });
});

test('suanli agent --gpus: TYPE:GPUS or TYPE:NODESxGPUS, comma-separated', () => {
  assert.deepEqual(inventoryFrom('h100:8,a100:2x4'), [{ gpuType: 'h100', nodes: 1, gpusPerNode: 8 }, { gpuType: 'a100', nodes: 2, gpusPerNode: 4 }]);
  assert.throws(() => inventoryFrom('h100'), /not a GPU inventory/);
});

test('suanli agent --executor: each engine’s flags are checked, and named when wrong', async () => {
  const tried = async (...args: string[]) => {
    const err: string[] = [];
    const code = await run(['agent', '--server', 'http://127.0.0.1:1', '--token', 'sl_x', ...args], { out: () => undefined, err: (s) => err.push(s) });
    return { code, err: err.join('\n') };
  };
  const noRest = await tried('--executor', 'slurm');
  assert.equal(noRest.code, 2);
  assert.match(noRest.err, /--slurmrestd.*required with --executor slurm/);
  assert.match((await tried('--executor', 'slurm', '--slurmrestd', 'login1:6820')).err, /--slurmrestd.*not a URL/);
  assert.match((await tried('--executor', 'kubernetes')).err, /--image.*required with --executor kubernetes/);
  assert.match((await tried('--image', 'pytorch')).err, /--image.*another executor, not --executor local/);
  assert.match((await tried('--executor', 'slurm', '--slurmrestd', 'unix:/x', '--gpus', 'h100:8')).err, /--gpus.*another executor/);
  assert.match((await tried('--executor', 'htcondor')).err, /--executor/);
});

test('suanli agent --sandbox, --tenant-map, --borrowed-namespace-prefix: checked, and named with the file and key when wrong', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'suanli-agent-flags-'));
  const tried = async (...args: string[]) => {
    const err: string[] = [];
    const code = await run(['agent', '--server', 'http://127.0.0.1:1', '--token', 'sl_x', '--work-dir', dir, ...args], { out: () => undefined, err: (s) => err.push(s) });
    return { code, err: err.join('\n') };
  };
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  try {
    const slurm = ['--executor', 'slurm', '--slurmrestd', 'http://127.0.0.1:1', '--slurm-jwt', 'x'];
    const mode = await tried('--sandbox', 'sometimes');
    assert.equal(mode.code, 2);
    assert.match(mode.err, /--sandbox.*unknown value "sometimes".*policy, borrowed, all/);
    assert.match((await tried('--tenant-map', 'x.json')).err, /--tenant-map.*another executor, not --executor local/);
    assert.match((await tried(...slurm, '--tenant-map', join(dir, 'missing.json'))).err, /--tenant-map: .*missing\.json cannot be read \(ENOENT\)/);
    assert.match((await tried(...slurm, '--tenant-map', file('broken.json', '{ "orgs": '))).err, /--tenant-map: .*broken\.json is not JSON/);
    assert.match((await tried(...slurm, '--tenant-map', file('typo.json', '{ "orgs": { "beta": { "qos": "a b" } } }'))).err, /--tenant-map: .*typo\.json: orgs\.beta\.qos: "a b" is not a Slurm or Unix name/);
    const users = file('users.json', '{ "default": { "user": "guest" } }');
    assert.match((await tried('--executor', 'slurm', '--slurmrestd', 'unix:/x.sock', '--tenant-map', users)).err, /--tenant-map: .*users\.json: default\.user: names a user, but slurmrestd is reached over a unix socket/);
    assert.match((await tried(...slurm, '--borrowed-namespace-prefix', 'lent')).err, /--borrowed-namespace-prefix.*another executor, not --executor slurm/);
    assert.match((await tried('--executor', 'kubernetes', '--image', 'x', '--borrowed-namespace-prefix', 'Lent!')).err, /--borrowed-namespace-prefix: "Lent!" is not a namespace prefix/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
