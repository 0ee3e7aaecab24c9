// A job that spans sites, live: a real control plane with two orgs' sites joined by
// a WAN link, real agents with the local executor. All-or-nothing co-allocation
// (every site starts its part, or the job is released on all of them), its failure
// paths (a site that never starts its part, a site that fails to), and a spanning
// job shrinking when an owner reclaims its site.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Agent } from '../src/agent/agent.ts';
import { ControlPlaneClient } from '../src/agent/control-plane-client.ts';
import type { LocalExecutor } from '../src/executors/local.ts';
import { JobResponse, LedgerResponse } from '../src/server/schemas.ts';
import { LivePool, localAgent, waitFor } from './support/live-pool.ts';

/** 1 GB per sync, 100 s outer steps: over 10 Gb/s between two sites, 99% efficient. */
const SPAN = { replica_gpus: 8, params: 1e9, bytes_per_param: 1, outer_step_s: 100, min_efficiency: 0.5, max_single_site_wait_s: 0 };

describe('a job spanning two sites, live', () => {
  let pool: LivePool;
  let dir: string;
  let beta: { siteId: string; token: string };
  const agents: { agent: Agent; executor: LocalExecutor }[] = [];

  const startAgent = async (token: string, name: string) => {
    const a = localAgent(pool, join(dir, `${name}-${agents.length}`), { token });
    agents.push(a);
    await a.agent.start();
    return a;
  };
  const stopAgents = async () => {
    for (const a of agents.splice(0)) {
      await a.agent.stop();
      await a.executor.close();
    }
  };
  const submitted: string[] = [];
  const submit = async (org: string, gpus: number, command: string[], span: Record<string, unknown> | undefined = SPAN) => {
    const id = JobResponse.parse(await pool.client.call('POST', '/jobs', { name: 'big', org_id: org, gpus, estimate_s: 60, command, ...(span === undefined ? {} : { span }) })).id;
    submitted.push(id);
    return id;
  };
  /** Each test starts on an idle pool: what an earlier one left is cancelled (a finished job refuses, which is fine). */
  const cancelAll = async () => {
    for (const id of submitted.splice(0)) await pool.client.call('POST', `/jobs/${id}/cancel`).catch(() => undefined);
  };

  before(async () => {
    pool = await LivePool.start({ coallocationTimeoutMs: 1500 });
    dir = mkdtempSync(join(tmpdir(), 'suanli-span-'));
    beta = await pool.addSite('beta', 'beta lab', [{ to_site: pool.siteId, gbps: 10, latency_ms: 5 }]);
    await pool.hostNetworkForBorrowed(pool.siteId, beta.siteId);
    await pool.client.call('POST', '/orgs', { id: 'gamma', name: 'Gamma (no GPUs of its own)' });
  });
  afterEach(async () => {
    await cancelAll();
    // The runs cancelled hold their GPUs until their agents say they stopped: let them, before the agents go.
    await waitFor('the cancelled runs stopped', () => Promise.resolve(pool.app.suanli.active.stoppingRuns().length === 0 ? true : undefined), 10_000);
    await stopAgents();
  });
  after(async () => {
    await stopAgents();
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a 16-GPU job no site can hold runs on both, once both sites started their parts; the ledger credits both owners', async () => {
    await startAgent(pool.agentToken, 'acme');
    await startAgent(beta.token, 'beta');
    const id = await submit('gamma', 16, ['sh', '-c', 'echo "part $SUANLI_SPAN_INDEX of $SUANLI_SPAN_SITES"; sleep 1']);
    const running = await pool.until(id, 'running');
    const parts = running.placements.at(-1)?.parts ?? [];
    assert.deepEqual(parts.map((p) => [p.site_id, p.gpus]).sort(), [[pool.siteId, 8], [beta.siteId, 8]].sort());
    assert.ok(parts.every((p) => p.started_at !== undefined), 'every part started before the job runs');
    const placed = running.events.find((e) => e.type === 'placed');
    assert.ok(Number(placed?.detail.efficiency) > 0.95, `efficiency ${String(placed?.detail.efficiency)}`);
    const starts = running.events.filter((e) => e.type === 'part_started').map((e) => (e.detail.waiting_for as string[]).length);
    assert.deepEqual(starts, [1, 0], `each site start is recorded: the first waits for the other, the last makes the job run: ${JSON.stringify(running.events)}`);
    assert.deepEqual(running.span, { replica_gpus: 8, sync_bytes: 1e9, outer_step_s: 100, hidden_s: 0, min_efficiency: 0.5, max_single_site_wait_s: 0 });
    const done = await pool.until(id, 'succeeded');
    // Each part's run knows the job's sites and its own place among them, to meet its peers: its own site by its id,
    // the other org's by its neutral label (an org never learns another's site ids).
    const tail = String(done.events.find((e) => e.type === 'succeeded')?.detail.log_tail);
    const own = `(${pool.siteId},beta:site-1|acme:site-1,${beta.siteId}|beta:site-1,${pool.siteId}|${beta.siteId},acme:site-1)`;
    assert.match(tail, new RegExp(`part [01] of ${own}$`, 'm'), tail);
    const of = (ledger: { rows: { org_id: string; contributed_gpu_h: number }[] }, org: string) => ledger.rows.filter((r) => r.org_id === org).reduce((s, r) => s + r.contributed_gpu_h, 0);
    await waitFor('both owners’ contributions in the ledger (each site’s agent signs its part’s record)', async () => {
      const ledger = LedgerResponse.parse(await pool.client.call('GET', '/ledger'));
      return of(ledger, 'acme') > 0 && of(ledger, 'beta') > 0 ? true : undefined;
    });
  });

  test('a site that never starts its part: after the co-allocation timeout the job is released on every site, and runs once that site is back', async () => {
    const acme = await startAgent(pool.agentToken, 'acme');
    // The part runs longer than the timeout: it is stopped, not finished.
    const id = await submit('gamma', 16, ['sh', '-c', 'sleep 4']);
    const released = await waitFor('coallocation timeout', async () => {
      const j = await pool.job(id);
      return j.events.some((e) => e.type === 'coallocation_timeout') ? j : undefined;
    });
    const timeout = released.events.find((e) => e.type === 'coallocation_timeout');
    assert.deepEqual(timeout?.detail.waiting_for, [beta.siteId]);
    assert.ok(released.events.some((e) => e.type === 'part_started' && e.detail.site === pool.siteId), 'acme had started its part');
    // acme's agent is told to stop the part of attempt 1 it started (later attempts may be placed there again).
    await waitFor('acme part stopped', async () => ((await acme.executor.list()).some((r) => r.handle.runId === `${id}.1` && r.status.state !== 'running') ? true : undefined), 10_000);
    await startAgent(beta.token, 'beta');
    const done = await pool.until(id, 'succeeded');
    assert.ok(done.attempts >= 2);
  });

  test('a site that fails to start its part releases the job on every site at once', async () => {
    // No agents: the test reports as beta's agent would.
    const id = await submit('gamma', 16, ['sh', '-c', 'sleep 1']);
    const placed = await pool.until(id, 'placed');
    const agentClient = new ControlPlaneClient({ server: pool.url, token: beta.token });
    await agentClient.call('POST', '/agent/reports', { job_id: id, attempt: placed.attempts, state: 'failed', exit_code: 1, reason: 'exit_code', detail: 'no GPUs after all' });
    const after = await pool.job(id);
    assert.ok(['pending', 'placed'].includes(after.state), `state ${after.state}`);
    const failed = after.events.find((e) => e.type === 'coallocation_failed');
    assert.equal(failed?.detail.site, beta.siteId);
    assert.ok(after.events.some((e) => e.type === 'requeued'));
  });

  test("an owner reclaiming its site shrinks the spanning job: that part stops, the job runs on at the other site", async () => {
    const acme = await startAgent(pool.agentToken, 'acme');
    await startAgent(beta.token, 'beta');
    const big = await submit('gamma', 16, ['sh', '-c', 'sleep 30']);
    await pool.until(big, 'running');
    const own = await submit('acme', 8, ['sh', '-c', 'sleep 0.5'], undefined);
    const shrunk = await waitFor('shrunk', async () => {
      const j = await pool.job(big);
      return j.events.some((e) => e.type === 'shrunk') ? j : undefined;
    });
    assert.equal(shrunk.state, 'running');
    assert.deepEqual(shrunk.placements.at(-1)?.parts.map((p) => p.site_id), [beta.siteId]);
    assert.equal(shrunk.events.find((e) => e.type === 'shrunk')?.detail.site, pool.siteId);
    await pool.until(own, 'succeeded');
    assert.ok((await acme.executor.list()).every((r) => !r.handle.runId.startsWith(`${big}.`) || r.status.state !== 'running'), "the big job's part on acme was stopped");
    await waitFor('the part that left accounted for', async () => {
      const ledger = LedgerResponse.parse(await pool.client.call('GET', '/ledger'));
      return ledger.rows.some((r) => r.org_id === 'acme' && r.contributed_gpu_h > 0) ? true : undefined;
    });
  });

  test('a bad span is refused with 400 naming the field; nothing is stored', async () => {
    const before = (await pool.client.call<{ jobs: unknown[] }>('GET', '/jobs?limit=500')).jobs.length;
    for (const [span, field] of [
      [{ replica_gpus: 8, params: 1e9, outer_step_s: 100 }, 'span.replica_gpus'], // 12 GPUs are not whole replicas of 8
      [{ replica_gpus: 8, outer_step_s: 100 }, 'span.params'],
      [{ replica_gpus: 4, params: 1e9, outer_step_s: 100, min_efficiency: 2 }, 'span.min_efficiency'],
      ['everywhere', 'span'],
    ] as const) {
      const res = await fetch(`${pool.url}/api/v1/jobs`, { method: 'POST', headers: { authorization: `Bearer ${pool.admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ org_id: 'gamma', gpus: 12, estimate_s: 60, span }) });
      assert.equal(res.status, 400, JSON.stringify(span));
      assert.equal(((await res.json()) as { error: { field: string } }).error.field, field);
    }
    assert.equal((await pool.client.call<{ jobs: unknown[] }>('GET', '/jobs?limit=500')).jobs.length, before);
  });

  test('a spanning job without a WAN link waits, and says so', async () => {
    const third = await pool.addSite('delta', 'delta lab');
    await pool.hostNetworkForBorrowed(third.siteId);
    const id = await submit('gamma', 24, ['true']);
    const waiting = await waitFor('diagnosis', async () => {
      const j = await pool.job(id);
      return j.diagnosis !== null ? j : undefined;
    });
    assert.match(waiting.diagnosis?.message ?? '', new RegExp(`across sites: no WAN link between .*${third.siteId}|across sites: no WAN link between ${third.siteId}`));
    assert.equal(waiting.diagnosis?.never, false);
  });
});

describe('a job spanning three sites loses one', () => {
  let pool: LivePool;
  let dir: string;
  const running: { agent: Agent; executor: LocalExecutor }[] = [];
  before(async () => {
    // Long enough that the agents still heartbeating never lose their lease (they stop their runs at half of it) on a loaded machine.
    pool = await LivePool.start({ siteTimeoutMs: 4000 });
    dir = mkdtempSync(join(tmpdir(), 'suanli-span-lost-'));
  });
  after(async () => {
    for (const a of running) {
      await a.agent.stop();
      for (const r of await a.executor.list()) await a.executor.cancel(r.handle);
      await a.executor.close();
    }
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a site that falls silent is lost, and the running job goes on without its part there', async () => {
    const beta = await pool.addSite('beta', 'beta lab', [{ to_site: pool.siteId, gbps: 10, latency_ms: 5 }]);
    const delta = await pool.addSite('delta', 'delta lab', [{ to_site: pool.siteId, gbps: 10, latency_ms: 5 }, { to_site: beta.siteId, gbps: 10, latency_ms: 5 }]);
    await pool.client.call('POST', '/orgs', { id: 'gamma', name: 'Gamma' });
    await pool.hostNetworkForBorrowed(pool.siteId, beta.siteId, delta.siteId);
    for (const [token, name] of [[pool.agentToken, 'acme'], [beta.token, 'beta'], [delta.token, 'delta']] as const) {
      const a = localAgent(pool, join(dir, name), { token });
      running.push(a);
      await a.agent.start();
    }
    const id = JobResponse.parse(await pool.client.call('POST', '/jobs', { name: 'big', org_id: 'gamma', gpus: 24, estimate_s: 600, command: ['sh', '-c', 'sleep 60'], span: SPAN })).id;
    const started = await pool.until(id, 'running');
    assert.equal(started.placements.at(-1)?.parts.length, 3);
    // delta's agent stops heartbeating: after the site timeout delta is lost.
    await running[2]?.agent.stop();
    const shrunk = await waitFor('shrunk after the loss', async () => {
      const j = await pool.job(id);
      return j.events.some((e) => e.type === 'shrunk') ? j : undefined;
    });
    assert.equal(shrunk.state, 'running', 'the job is not requeued');
    assert.equal(shrunk.attempts, 1);
    assert.deepEqual(shrunk.placements.at(-1)?.parts.map((p) => p.site_id).sort(), [pool.siteId, beta.siteId].sort());
    const event = shrunk.events.find((e) => e.type === 'shrunk');
    assert.deepEqual([event?.detail.site, event?.detail.why], [delta.siteId, 'site_lost']);
    await pool.client.call('POST', `/jobs/${id}/cancel`);
  });
});
