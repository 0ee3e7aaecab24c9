// A hostile (or merely careless) member against the agent protocol's reports and
// heartbeats, live: a listening control plane on an embedded store and real agents
// with the local executor. Each attack is stated as the member would try it; each
// test holds the fix that makes it fail harmlessly, and fails without it.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { AgentHeartbeatResponse, RunReportResponse } from '../../src/server/routes/agent.ts';
import { openStore } from '../../src/store/index.ts';
import { LivePool, waitFor } from '../support/live-pool.ts';
import { liveScene, orgSite, send, submitAs } from '../support/hostile.ts';

type Report = { job_id: string; attempt: number; state: string; log_tail?: string; detail?: string };

describe('a run that prints a NUL byte', () => {
  const scene = liveScene({ agents: ['acme'] });

  // Attack: a member's run prints a NUL byte, which the store cannot hold. Before the fix
  // every report of the run failed with a 500; the agent sent it again forever, and the
  // site's next job stayed `placed`: one printf stalled a whole site.
  test('the run succeeds with U+FFFD where the NUL was, and the next job on the site runs too', async () => {
    const { pool } = scene;
    const nul = await pool.submit(['sh', '-c', "printf 'a\\000b\\n'"]);
    const next = await pool.submit(['sh', '-c', 'echo next']);
    const done = await pool.until(nul, 'succeeded');
    assert.equal(done.placements[0]?.log_tail, 'a\uFFFDb\n');
    assert.equal(done.events.find((e) => e.type === 'succeeded')?.detail.log_tail, 'a\uFFFDb\n');
    const second = await pool.until(next, 'succeeded');
    assert.equal(second.placements[0]?.log_tail, 'next\n');
  });

  // Attack: an agent sends, by hand, reports whose log tail and detail hold NUL and a lone
  // UTF-16 surrogate (which no shell prints, but JSON carries as \ud800), hoping for a 500.
  test('reports by hand with NUL and lone surrogates in log_tail and detail are 200, stored as U+FFFD', async () => {
    const { pool } = scene;
    const beta = await orgSite(pool, 'beta', [{ gpu_type: 'a100', nodes: 1, gpus_per_node: 8 }]);
    const id = await submitAs(pool, 'beta', 8, ['true'], { gpu_types: ['a100'] });
    await pool.until(id, 'placed');
    const report = (body: Omit<Report, 'job_id'>) => send(pool, beta.token, 'POST', '/agent/reports', { job_id: id, ...body });
    const running = await report({ attempt: 1, state: 'running', detail: 'x\u0000y\ud800', log_tail: 'p\u0000q\udc00r' });
    assert.equal(running.status, 200, JSON.stringify(running.body));
    assert.deepEqual(RunReportResponse.parse(running.body), { applied: true, current: true, state: 'running' });
    const shown = await pool.job(id);
    assert.equal(shown.placements[0]?.log_tail, 'p\uFFFDq\uFFFDr');
    assert.equal(shown.events.find((e) => e.type === 'started')?.detail.detail, 'x\uFFFDy\uFFFD');
    const ended = await report({ attempt: 1, state: 'succeeded', detail: '\u0000', log_tail: 'end\u0000\udfff' });
    assert.equal(ended.status, 200, JSON.stringify(ended.body));
    const done = await pool.until(id, 'succeeded');
    assert.deepEqual([done.placements[0]?.log_tail, done.events.find((e) => e.type === 'succeeded')?.detail.log_tail], ['end\uFFFD\uFFFD', 'end\uFFFD\uFFFD']);
  });
});

describe('a run ends once, however many report its end at once', () => {
  const scene = liveScene({ agents: [] });

  // Attack: an agent reports its run's end many times at once, hoping each report that
  // races the others bills the run again. Before the fix each report that lost the race
  // to end the run still wrote its own ledger entries: the lender was credited, and the
  // borrower charged, several times for one run.
  test('concurrent reports that a run succeeded: one move applies, and one usage entry is written', async () => {
    const { pool } = scene;
    const beta = await orgSite(pool, 'beta', [{ gpu_type: 'a100', nodes: 1, gpus_per_node: 8 }]);
    const id = await submitAs(pool, 'beta', 8, ['true'], { gpu_types: ['a100'] });
    await pool.until(id, 'placed');
    const report = (state: string) => send(pool, beta.token, 'POST', '/agent/reports', { job_id: id, attempt: 1, state });
    assert.equal((await report('running')).status, 200);
    // As many at once as the site's allowance of reports takes (the rest are 429s).
    const ends = (await Promise.all(Array.from({ length: 20 }, () => report('succeeded')))).filter((e) => e.status !== 429);
    assert.ok(ends.length >= 2, `several raced: ${ends.length}`);
    assert.deepEqual(ends.map((e) => e.status), ends.map(() => 200));
    assert.equal(ends.filter((e) => RunReportResponse.parse(e.body).applied).length, 1, 'one report ended the run');
    const usage = await pool.store.pendingUsage({ jobId: id, limit: 100 });
    assert.equal(usage.length, 1, `one usage entry for the one run: ${JSON.stringify(usage)}`);
  });
});

describe('a batch of reports is no way around the rules of single reports', () => {
  const scene = liveScene({ agents: [] });

  // Attack: an agent packs another site's run, and hundreds of repeats of its own, into batches (one request
  // each, as far as the request rate goes), hoping the batch route checks less than the single one.
  test("another site's run is that report's 404; repeats that move nothing are 429s past the site's report rate, and the rest apply", async () => {
    const { pool } = scene;
    const beta = await orgSite(pool, 'beta', [{ gpu_type: 'a100', nodes: 1, gpus_per_node: 8 }]);
    const mine = await submitAs(pool, 'beta', 8, ['true'], { gpu_types: ['a100'] });
    const theirs = await pool.submit(['true'], 1);
    await pool.until(mine, 'placed');
    await pool.until(theirs, 'placed');
    type Result = { applied?: boolean; status?: number; error?: { code: string } };
    const batch = async (reports: Record<string, unknown>[]) => {
      const r = await send<{ results: Result[] }>(pool, beta.token, 'POST', '/agent/reports/batch', { reports });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.results;
    };
    const [own, other] = await batch([{ job_id: mine, attempt: 1, state: 'running' }, { job_id: theirs, attempt: 1, state: 'running' }]);
    assert.equal(own?.applied, true);
    assert.deepEqual([other?.status, other?.error?.code], [404, 'not_found']);
    assert.equal((await pool.job(theirs)).state, 'placed', "the other site's job is untouched");
    // 8 declared GPUs: 20 reports a second, 100 at once, of those that move no run forward.
    const repeats = await batch(Array.from({ length: 256 }, () => ({ job_id: mine, attempt: 1, state: 'running', log_tail: 'again' })));
    const limited = repeats.filter((r) => r.status === 429).length;
    assert.ok(limited >= 256 - 110 && limited <= 256 - 90, `${limited} of 256 repeats refused`);
    assert.equal(repeats.filter((r) => r.applied === true).length, 0, 'a repeat applies nothing');
    const [end] = await batch([{ job_id: mine, attempt: 1, state: 'succeeded', exit_code: 0 }]);
    assert.equal(end?.applied, true, 'a report that moves the run forward is never refused for the rate');
    assert.deepEqual(await send(pool, beta.token, 'POST', '/agent/reports/batch', { reports: [] }).then((r) => r.status), 400);
  });
});

describe('a caller that goes away mid-request gives its slot back', () => {
  /** Heartbeats of the site named here wait this long in their handler: long enough to hang up on. */
  let slowSite = '';
  const scene = liveScene({
    agents: [],
    configure: (app) => {
      app.addHook('preHandler', async (req: FastifyRequest) => {
        if (req.url === '/api/v1/agent/heartbeat' && req.access?.principal.siteId === slowSite) await new Promise((r) => setTimeout(r, 300));
      });
    },
  });

  // Attack (or a flaky link, as a proxy that resets connections): an agent's heartbeat is
  // cut off while the control plane handles it. Before the fix the request's slot in the
  // token's allowance of heartbeats under way (one) was never given back: every later
  // heartbeat was a 429 "1 requests under way", and the site stayed lost for good.
  test('a heartbeat whose connection is reset while it is handled: the next heartbeats are answered', async () => {
    const { pool } = scene;
    const beta = await orgSite(pool, 'beta', [{ gpu_type: 'a100', nodes: 1, gpus_per_node: 8 }]);
    slowSite = beta.siteId;
    for (let round = 0; round < 3; round++) {
      const body = JSON.stringify({ capacity: [{ gpu_type: 'a100', nodes: 1, gpus_per_node: 8 }], runs: [] });
      const { port } = new URL(pool.url);
      const socket = connect(Number(port), '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(`POST /api/v1/agent/heartbeat HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${beta.token}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      await new Promise((r) => setTimeout(r, 100)); // in the handler now
      socket.resetAndDestroy();
      await new Promise((r) => setTimeout(r, 400)); // the handler done, its answer to nobody
    }
    slowSite = '';
    const next = await send(pool, beta.token, 'POST', '/agent/heartbeat', { capacity: [{ gpu_type: 'a100', nodes: 1, gpus_per_node: 8 }], runs: [] });
    assert.equal(next.status, 200, JSON.stringify(next.body));
  });
});

describe('the store outlives every handler, even one whose caller went away', () => {
  // Attack (or an agent stopping: it aborts its requests): a heartbeat is cut off while
  // the control plane handles it, and the server is shut down meanwhile. Before the fix
  // the server closed as soon as no connection was open, and the caller closed the store
  // under the handler, which went on to use it ("the driver has already been destroyed").
  test('app.close() resolves only after a heartbeat handler whose connection was reset has finished with the store', async () => {
    const inner = await openStore({ memory: true });
    let slowSite = '';
    let closed = false;
    const late: string[] = [];
    // The store as the server sees it: getSite of the slow site takes 300 ms; any call after close is noted.
    const store = new Proxy(inner, {
      get(target, key, receiver) {
        const value: unknown = Reflect.get(target, key, receiver);
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          if (key === 'getSite' && args[0] === slowSite) await new Promise((r) => setTimeout(r, 300));
          if (closed) late.push(String(key));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const pool = await LivePool.start({ store });
    try {
      const beta = await orgSite(pool, 'beta', [{ gpu_type: 'a100', nodes: 1, gpus_per_node: 8 }]);
      slowSite = beta.siteId;
      const body = JSON.stringify({ capacity: [{ gpu_type: 'a100', nodes: 1, gpus_per_node: 8 }], runs: [] });
      const socket = connect(Number(new URL(pool.url).port), '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(`POST /api/v1/agent/heartbeat HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${beta.token}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      await new Promise((r) => setTimeout(r, 100)); // in the handler now, waiting on getSite
      socket.resetAndDestroy();
      await pool.app.close();
      closed = true;
      await new Promise((r) => setTimeout(r, 500)); // what the handler would still do
      assert.deepEqual(late, [], 'no store call after the server closed');
    } finally {
      await inner.close();
    }
  });
});

describe('one refused report does not hold up the others', () => {
  /** The job whose reports the control plane refuses, and each report it refused. */
  let refusedJob = '';
  const refused: Report[] = [];
  // The control plane refuses every report of one run (as it would refuse what a run
  // wrote that it cannot take), with a 400.
  // In a batch, its reports are taken out before the handler and answered with that 400 in their places after.
  const refusal = { error: { code: 'invalid_request', message: 'refused by the test' } };
  const refusedAt = new WeakMap<FastifyRequest, number[]>();
  const scene = liveScene({
    configure: (app) => {
      app.addHook('preHandler', async (req: FastifyRequest, reply) => {
        if (req.url === '/api/v1/agent/reports/batch') {
          const batch = req.body as { reports: Report[] };
          const at = batch.reports.flatMap((r, i) => (r.job_id === refusedJob ? [i] : []));
          if (at.length === 0) return;
          refused.push(...at.map((i) => batch.reports[i] as Report));
          refusedAt.set(req, at);
          batch.reports = batch.reports.filter((r) => r.job_id !== refusedJob);
          if (batch.reports.length === 0) await reply.send({ results: [] });
          return;
        }
        const body = req.body as Report | undefined;
        if (req.url !== '/api/v1/agent/reports' || body?.job_id !== refusedJob) return;
        refused.push(body);
        await reply.code(400).send(refusal);
      });
      app.addHook('onSend', async (req, _reply, payload) => {
        const at = refusedAt.get(req);
        if (at === undefined || typeof payload !== 'string') return payload;
        const results = (JSON.parse(payload) as { results: unknown[] }).results;
        for (const i of at) results.splice(i, 0, { status: 400, ...refusal });
        return JSON.stringify({ results });
      });
    },
  });

  // Attack: a run writes what the control plane refuses, so each of its reports is a 400.
  // Before the fix the agent sent the refused report again every round, forever, and the
  // round stopped at it: the agent's other runs were never reported. And while the job
  // stays `placed` (the control plane never heard it started), it is offered again: the
  // agent took the finished run up again and sent its four refused reports anew, some
  // 30 a second for ever, until it learned to keep the runs it dropped (agent.ts `dropped`).
  test("another run's reports still arrive and its job succeeds; the refused one is tried a bounded number of times", async () => {
    const { pool, fleet } = scene;
    const { agent, executor } = await fleet.start('acme');
    refusedJob = await pool.submit(['sh', '-c', 'echo refused; sleep 1']);
    // The refused run is the agent's first: each round of its watch loop meets it before the other.
    await waitFor('the refused run watched', () => Promise.resolve(refused.length > 0 ? true : undefined));
    const fine = await pool.submit(['sh', '-c', 'echo fine']);
    const done = await pool.until(fine, 'succeeded');
    assert.equal(done.placements[0]?.log_tail, 'fine\n');
    // The refused run ends; the agent forgets it once its last report is dropped.
    await waitFor('the refused run ended and forgotten', async () => {
      const run = (await executor.list()).find((r) => r.handle.runId === `${refusedJob}.1`);
      return run?.status.state === 'succeeded' && !agent.watched().includes(`${refusedJob}.1`) ? true : undefined;
    });
    const tries = refused.length;
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(refused.length, tries, `no report of the refused run is sent again after it was dropped: ${JSON.stringify(refused.slice(tries))}`);
    // Each report went once as it was and once without its log and detail, then was dropped.
    const states = refused.map((r) => `${r.state}${r.log_tail === undefined ? '' : '+log'}`);
    assert.equal(refused.filter((r) => r.log_tail !== undefined || r.detail !== 'the report with the log was refused by the control plane').length * 2, refused.length, states.join(', '));
    assert.deepEqual([states[0], states[1], states.at(-2), states.at(-1)], ['running', 'running', 'succeeded+log', 'succeeded'], states.join(', '));
    assert.ok(tries <= 12, `tried ${tries} times: ${states.join(', ')}`);
  });
});

describe('a stale or foreign report writes nothing', () => {
  const scene = liveScene({ agents: ['acme'] });

  // Attack: acme's agent, which once ran beta's job, rewrites that job's log after it
  // finished ("training diverged"), or reports on jobs it never ran: another site's
  // current attempt, an attempt that never was, a job that does not exist. Before the
  // fix the log tail was written before the report was checked.
  test("an agent cannot write the log of another org's finished job that ran on its site, nor touch another site's jobs", async () => {
    const { pool } = scene;
    await pool.client.call('POST', '/orgs', { id: 'beta', name: 'Beta' });
    const borrowed = await submitAs(pool, 'beta', 8, ['sh', '-c', 'echo genuine']);
    const finished = await pool.until(borrowed, 'succeeded');
    assert.equal(finished.placements[0]?.parts[0]?.site_id, pool.siteId, "beta's job ran on acme's site");
    const forge = (job: string, attempt: number, state: string) => send(pool, pool.agentToken, 'POST', '/agent/reports', { job_id: job, attempt, state, log_tail: 'training diverged', detail: 'forged' });
    for (const state of ['running', 'succeeded', 'failed', 'lost']) {
      const r = await forge(borrowed, 1, state);
      assert.ok(r.status === 404 || (r.status === 200 && RunReportResponse.parse(r.body).applied === false && RunReportResponse.parse(r.body).current === false), `${state}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    const after = await pool.job(borrowed);
    assert.deepEqual([after.state, after.placements[0]?.log_tail, after.placements[0]?.log_at, after.events.length], ['succeeded', 'genuine\n', finished.placements[0]?.log_at, finished.events.length]);

    // gamma's site (no agent): one job placed there now, one that finished there.
    const gamma = await orgSite(pool, 'gamma', [{ gpu_type: 'a100', nodes: 1, gpus_per_node: 8 }]);
    const ended = await submitAs(pool, 'gamma', 4, ['true'], { gpu_types: ['a100'] });
    await pool.until(ended, 'placed');
    await send(pool, gamma.token, 'POST', '/agent/reports', { job_id: ended, attempt: 1, state: 'succeeded', exit_code: 0, log_tail: 'gamma ok' });
    const current = await submitAs(pool, 'gamma', 4, ['true'], { gpu_types: ['a100'] });
    await pool.until(current, 'placed');
    for (const [job, attempt, what] of [[current, 1, "another site's current attempt"], [current, 2, 'an attempt that never was'], [ended, 1, 'a job that finished on another site'], ['nosuchjob', 1, 'a job that does not exist']] as const) {
      const r = await forge(job, attempt, 'running');
      assert.equal(r.status, 404, `${what}: ${JSON.stringify(r.body)}`);
    }
    const [placed, gone] = [await pool.job(current), await pool.job(ended)];
    assert.deepEqual([placed.state, placed.placements[0]?.log_tail, gone.state, gone.placements[0]?.log_tail], ['placed', null, 'succeeded', 'gamma ok']);
  });
});

describe('a heartbeat flood of fake runs', () => {
  // A site big enough to list 30,000 runs (a heartbeat lists at most twice its declared GPUs).
  const scene = liveScene({ capacity: [{ gpu_type: 'h100', nodes: 2000, gpus_per_node: 8 }] });

  // Attack: acme's agent (a site of 16,000 GPUs) lists 30,000 runs in one heartbeat —
  // its own, another site's, and made-up ones — to make the control plane look each up
  // in the store while other orgs wait. Before the fix, beta's one-row job list took
  // 22 s behind it. (A small site's agent may not list that many at all.)
  test('30,000 runs in one heartbeat are answered from memory in well under a second, and other orgs are not held up', async (t) => {
    const { pool } = scene;
    const gamma = await orgSite(pool, 'gamma', [{ gpu_type: 'a100', nodes: 1, gpus_per_node: 8 }]);
    await pool.client.call('POST', '/orgs', { id: 'beta', name: 'Beta' });
    const beta = (await pool.client.call<{ token: string }>('POST', '/tokens', { name: 'beta member', role: 'member', org_id: 'beta' })).token;
    const finished = await pool.submit(['true'], 2);
    await pool.until(finished, 'placed');
    await send(pool, pool.agentToken, 'POST', '/agent/reports', { job_id: finished, attempt: 1, state: 'succeeded', exit_code: 0 });
    const current = await pool.submit(['true'], 2);
    await pool.until(current, 'placed');
    const elsewhere = await submitAs(pool, 'gamma', 8, ['true'], { gpu_types: ['a100'] });
    await pool.until(elsewhere, 'placed');
    assert.ok(gamma.siteId !== pool.siteId);

    // Made-up ids shaped as real ones (numbers), so that none is refused before a lookup.
    const made = Array.from({ length: 30_000 - 3 }, (_, i) => ({ job_id: String(100_000 + i), attempt: 1 + (i % 3) }));
    const runs = [{ job_id: current, attempt: 1 }, { job_id: finished, attempt: 1 }, { job_id: elsewhere, attempt: 1 }, ...made];
    const bytes = Buffer.byteLength(JSON.stringify({ runs }));
    assert.ok(bytes < 1024 * 1024, `the body is ${bytes} bytes, under the 1 MiB limit`);
    // Both tokens signed in before (a first sign-in costs a scrypt, not what is measured).
    assert.equal((await send(pool, pool.agentToken, 'POST', '/agent/heartbeat', { runs: [] })).status, 200);
    assert.equal((await send(pool, beta, 'GET', '/jobs?limit=1')).status, 200);

    const flood = send(pool, pool.agentToken, 'POST', '/agent/heartbeat', { runs });
    const other = send(pool, beta, 'GET', '/jobs?limit=1');
    const [hb, list] = await Promise.all([flood, other]);
    t.diagnostic(`heartbeat of ${runs.length} runs (${bytes} bytes): ${hb.ms.toFixed(0)} ms; beta's GET /jobs?limit=1 at the same time: ${list.ms.toFixed(0)} ms`);
    assert.equal(hb.status, 200);
    assert.equal(list.status, 200);
    const { stop } = AgentHeartbeatResponse.parse(hb.body);
    assert.equal(stop.length, runs.length - 1, 'a stop for every run but the current one');
    assert.ok(!stop.some((s) => s.job_id === current));
    assert.deepEqual(stop.slice(0, 2).map((s) => [s.job_id, s.after_s, s.reason]), [[finished, 0, 'the job is succeeded'], [elsewhere, 0, 'not a run of this site']]);
    assert.ok(stop.slice(2).every((s, i) => s.job_id === made[i]?.job_id && s.reason === 'not a run of this site'));
    assert.ok(hb.ms < 1000, `the heartbeat took ${hb.ms.toFixed(0)} ms`);
    assert.ok(list.ms < 1000, `beta waited ${list.ms.toFixed(0)} ms`);

    const small = await send(pool, gamma.token, 'POST', '/agent/heartbeat', { runs });
    assert.deepEqual([small.status, (small.body as { error?: { field?: string } }).error?.field], [400, 'runs'], 'a site of 8 GPUs lists at most 64 runs');
  });
});
