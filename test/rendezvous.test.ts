// The rendezvous of a job that spans sites (issue 15): a live control plane with two orgs'
// sites that declare where their runs take the other sites' parts. Through the API: each
// part's token, publishing within the site's declared addresses and ports only, the barrier,
// one membership for all parts, a member's view of it, and tokens worthless once the attempt
// is over. With real agents: both parts of a job run the Python client (examples/rendezvous),
// meet at the barrier and reach each other over TCP at the endpoints they published; the shell
// client does the same.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Agent } from '../src/agent/agent.ts';
import { ControlPlaneClient } from '../src/agent/control-plane-client.ts';
import type { LocalExecutor } from '../src/executors/local.ts';
import { JobResponse } from '../src/server/schemas.ts';
import { inProcess } from './support/cli.ts';
import { LivePool, localAgent, spanEndpoint, waitFor } from './support/live-pool.ts';

const SPAN = { replica_gpus: 8, params: 1e9, bytes_per_param: 1, outer_step_s: 100, min_efficiency: 0.5, max_single_site_wait_s: 0 };
const EXAMPLES = join(import.meta.dirname, '..', 'examples', 'rendezvous');
const PYTHON = '/usr/bin/python3';

interface Membership {
  generation: number;
  ready: boolean;
  index: number | null;
  declared: { addresses: string[]; ports: { from: number; to: number } } | null;
  members: { index: number; site: string; endpoints: string[]; replicas: number; share: number }[];
  waiting_for: string[];
}

describe('the rendezvous of a spanning job, through the API', () => {
  let pool: LivePool;
  let beta: { siteId: string; token: string };
  const rdv = async (token: string, method: 'GET' | 'POST', path: string, body?: object) => {
    const res = await fetch(`${pool.url}/api/v1/rendezvous${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, json: (await res.json()) as Membership & { error?: { code: string; message: string; field?: string } } };
  };

  before(async () => {
    pool = await LivePool.start();
    beta = await pool.addSite('beta', 'beta lab', [{ to_site: pool.siteId, gbps: 10, latency_ms: 5 }]);
    // acme lends to beta's spanning job: its borrowed run keeps the host's network, to reach the other part.
    await pool.hostNetworkForBorrowed(pool.siteId);
  });
  after(async () => {
    await pool.close();
  });

  test('each part gets a token; parts publish within their sites’ declared endpoints, meet at the barrier and see one membership; the tokens are worthless once the attempt is over', async () => {
    const agents = [new ControlPlaneClient({ server: pool.url, token: pool.agentToken }), new ControlPlaneClient({ server: pool.url, token: beta.token })];
    for (const a of agents) await a.call('POST', '/agent/heartbeat', { capacity: [{ gpu_type: 'h100', nodes: 1, gpus_per_node: 8 }] });
    const job = JobResponse.parse(await pool.client.call('POST', '/jobs', { name: 'big', org_id: 'beta', gpus: 16, estimate_s: 600, command: ['true'], span: SPAN })).id;
    await waitFor('the job placed on both sites', async () => ((await pool.client.call<{ state: string }>('GET', `/jobs/${job}`)).state === 'placed' ? true : undefined));
    const tokens: string[] = [];
    for (const a of agents) {
      const { assignments } = await a.call<{ assignments: { job_id: string; span: { rendezvous_token: string } | null }[] }>('GET', '/agent/assignments?wait=0');
      const token = assignments.find((x) => x.job_id === job)?.span?.rendezvous_token;
      assert.ok(token !== undefined && token.startsWith('srz_'), 'the assignment carries the part’s rendezvous token');
      tokens.push(token);
    }
    const [acme = '', betaToken = ''] = tokens;
    assert.doesNotMatch(Buffer.from(acme.slice(4), 'base64url').toString('latin1'), new RegExp(pool.siteId), 'the token does not show the site’s id');

    // Nobody published yet: not ready, both awaited; the caller learns where it may listen.
    const first = await rdv(acme, 'GET', '');
    assert.equal(first.status, 200);
    assert.deepEqual([first.json.ready, first.json.generation, first.json.waiting_for.length, first.json.declared], [false, 0, 2, spanEndpoint(0)]);
    // Endpoints outside what the site declared are refused, naming the endpoint.
    for (const [endpoints, field, why] of [[['10.9.9.9:31000'], 'endpoints[0]', /not among the site's declared addresses/], [['127.0.0.1:31000', '127.0.0.1:80'], 'endpoints[1]', /outside the site's declared ports 31000–31099/], [['nonsense'], 'endpoints[0]', /not host:port/]] as const) {
      const r = await rdv(acme, 'POST', '/publish', { endpoints });
      assert.equal(r.status, 400, JSON.stringify(endpoints));
      assert.equal(r.json.error?.field, field);
      assert.match(r.json.error?.message ?? '', why);
    }
    // A forged or mangled token is refused.
    assert.equal((await rdv(`${acme.slice(0, 20)}${acme[20] === 'A' ? 'B' : 'A'}${acme.slice(21)}`, 'GET', '')).status, 401);
    assert.equal((await rdv(pool.admin, 'GET', '')).status, 401, 'an API token is not a rendezvous token');
    // A hostile program cannot hold the server with barriers, nor flood it: per part, 4 barriers waiting, 20 calls a second.
    const held = await Promise.all(Array.from({ length: 5 }, () => rdv(acme, 'POST', '/barrier', { wait_s: 1 })));
    assert.deepEqual(held.map((r) => r.status).sort(), [200, 200, 200, 200, 429]);
    const flood = await Promise.all(Array.from({ length: 60 }, () => rdv(acme, 'GET', '')));
    assert.ok(flood.some((r) => r.status === 429) && flood.some((r) => r.status === 200), flood.map((r) => r.status).join(' '));
    await new Promise((r) => setTimeout(r, 2100)); // the part's allowance fills again

    assert.equal((await rdv(acme, 'POST', '/publish', { endpoints: ['127.0.0.1:31007'] })).status, 200);
    // acme's part waits at the barrier; beta's publish answers it.
    const waiting = rdv(acme, 'POST', '/barrier', { wait_s: 10 });
    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.now();
    assert.equal((await rdv(betaToken, 'POST', '/publish', { endpoints: ['127.0.0.1:31105'] })).status, 200);
    const met = (await waiting).json;
    assert.ok(performance.now() - t0 < 1000, 'the barrier answers when the last part publishes');
    const other = await rdv(betaToken, 'POST', '/barrier', { wait_s: 0 });
    assert.equal(met.ready, true);
    assert.equal(met.generation, 1);
    assert.deepEqual([met.index, other.json.index], [0, 1]);
    assert.deepEqual(met.members, other.json.members, 'every part sees the same membership');
    assert.deepEqual(met.members.map((m) => [m.index, m.endpoints, m.replicas, m.share]), [[0, ['127.0.0.1:31007'], 1, 0.5], [1, ['127.0.0.1:31105'], 1, 0.5]]);
    assert.ok(met.members.every((m) => /^[a-z0-9-]+:site-\d+$/.test(m.site)), 'sites by their neutral labels');

    // A part reports its outer steps: each once, in order; anything else is refused naming the field.
    const metrics = (step: number, body: object = {}) => fetch(`${pool.url}/api/v1/rendezvous/metrics`, { method: 'POST', headers: { authorization: `Bearer ${acme}`, 'content-type': 'application/json' }, body: JSON.stringify({ step, compute_s: 1.5, sync_s: 0.5, loss: 0.3, ...body }) });
    const refusedStep = await metrics(2);
    assert.deepEqual([refusedStep.status, ((await refusedStep.json()) as { error: { field?: string } }).error.field], [409, 'step']);
    assert.equal((await metrics(1)).status, 200);
    assert.equal((await metrics(1)).status, 409, 'a repeat');
    assert.equal((await metrics(2, { compute_s: -1 })).status, 400);
    assert.equal((await metrics(2, { extra: 1 })).status, 400, 'unknown fields refused');
    const tooLong = await metrics(2, { wait_s: 0.6 });
    assert.deepEqual([tooLong.status, ((await tooLong.json()) as { error: { field?: string } }).error.field], [400, 'wait_s'], 'waiting is part of the synchronization');
    // A member of the job's org reads the membership; another org's member does not see the job.
    const members = await pool.client.call<Membership>('GET', `/jobs/${job}/members`);
    assert.deepEqual([members.generation, members.index, members.declared, members.members.length], [1, null, null, 2]);
    const cli = await inProcess(['job', 'members', job, '--server', pool.url, '--token', pool.admin]);
    assert.equal(cli.code, 0, cli.err);
    assert.match(cli.out, new RegExp(`job ${job} attempt 1: generation 1, every part published\n.*part +site +listens at +replicas +share\n.*0 +acme:site-1 +127\.0\.0\.1:31007 +1 +50.0%`, 's'));
    const none = await inProcess(['job', 'members', '999999', '--server', pool.url, '--token', pool.admin]);
    assert.notEqual(none.code, 0);
    assert.match(none.err, /999999/);
    const rival = await pool.client.call<{ token: string }>('POST', '/tokens', { name: 'acme member', role: 'member', org_id: 'acme' });
    const seen = await fetch(`${pool.url}/api/v1/jobs/${job}/members`, { headers: { authorization: `Bearer ${rival.token}` } });
    assert.equal(seen.status, 404);

    // The attempt ends: its tokens are worthless.
    await pool.client.call('POST', `/jobs/${job}/cancel`);
    const gone = await rdv(acme, 'POST', '/barrier', { wait_s: 0 });
    assert.equal(gone.status, 410);
    assert.match(gone.json.error?.message ?? '', /is over.*worthless/);
  });

  test('a spanning job waits while too few sites declare where their runs take other sites’ parts, and says so', async () => {
    await pool.client.call('PATCH', `/sites/${beta.siteId}`, { span_endpoint: null });
    try {
      const job = JobResponse.parse(await pool.client.call('POST', '/jobs', { name: 'big', org_id: 'beta', gpus: 16, estimate_s: 600, command: ['true'], span: SPAN })).id;
      const why = await waitFor('a diagnosis', async () => {
        const j = await pool.client.call<{ state: string; diagnosis: { message: string } | null }>('GET', `/jobs/${job}`);
        return j.diagnosis?.message.includes('span_endpoint') === true ? j.diagnosis.message : undefined;
      });
      assert.match(why, /8 more on 1 site that declares no address for other sites' parts \(span_endpoint\)/);
      await pool.client.call('POST', `/jobs/${job}/cancel`);
    } finally {
      await pool.client.call('PATCH', `/sites/${beta.siteId}`, { span_endpoint: spanEndpoint(1) });
    }
    // A bad declaration is refused naming the field.
    for (const [bad, field] of [[{ addresses: [], ports: { from: 31_000, to: 31_010 } }, 'span_endpoint.addresses'], [{ addresses: ['not a host!'], ports: { from: 31_000, to: 31_010 } }, 'span_endpoint.addresses[0]'], [{ addresses: ['10.0.0.1'], ports: { from: 80, to: 90 } }, 'span_endpoint.ports.from'], [{ addresses: ['10.0.0.1'], ports: { from: 30_000, to: 40_000 } }, 'span_endpoint.ports.to']] as const) {
      const res = await fetch(`${pool.url}/api/v1/sites/${beta.siteId}`, { method: 'PATCH', headers: { authorization: `Bearer ${pool.admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ span_endpoint: bad }) });
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.equal(((await res.json()) as { error: { field?: string } }).error.field, field);
    }
  });
});

const noPython = existsSync(PYTHON) ? undefined : `${PYTHON} is not installed`;
/** Why the DiLoCo example cannot run here (Debian's python3-torch missing), or undefined. */
const noTorch = () => (spawnSync(PYTHON, ['-c', 'import torch.distributed as d; assert d.is_gloo_available()']).status === 0 ? undefined : 'PyTorch with gloo is not installed for /usr/bin/python3 (Debian: python3-torch)');

describe('the rendezvous of a spanning job, with real agents', { skip: process.env.CI === 'true' ? false : noPython }, () => {
  let pool: LivePool;
  let dir: string;
  let beta: { siteId: string; token: string };
  const agents: { agent: Agent; executor: LocalExecutor }[] = [];

  before(async () => {
    if (noPython !== undefined) throw new Error(noPython);
    pool = await LivePool.start();
    dir = mkdtempSync(join(tmpdir(), 'suanli-rendezvous-'));
    beta = await pool.addSite('beta', 'beta lab', [{ to_site: pool.siteId, gbps: 10, latency_ms: 5 }]);
    await pool.hostNetworkForBorrowed(pool.siteId, beta.siteId);
    for (const [name, token] of [['acme', pool.agentToken], ['beta', beta.token]] as const) {
      const a = localAgent(pool, join(dir, name), { token });
      agents.push(a);
      await a.agent.start();
    }
  });
  afterEach(async () => {
    await waitFor('no active job', () => Promise.resolve(pool.app.suanli.active.size === 0 ? true : undefined), 20_000);
  });
  after(async () => {
    for (const a of agents.splice(0)) {
      await a.agent.stop();
      await a.executor.close();
    }
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs a 16-GPU spanning job with `command` and resolves with both parts' logs once it succeeded. */
  const run = async (command: string[]): Promise<string[]> => {
    const job = JobResponse.parse(await pool.client.call('POST', '/jobs', { name: 'meet', org_id: 'beta', gpus: 16, estimate_s: 600, command, span: SPAN })).id;
    const state = await waitFor('the job ended', async () => {
      const j = await pool.client.call<{ state: string }>('GET', `/jobs/${job}`);
      return ['succeeded', 'failed', 'cancelled'].includes(j.state) ? j.state : undefined;
    }, 60_000);
    const logs = ['acme', 'beta'].map((name) => {
      const path = join(dir, name, 'logs', `${job}.1.log`);
      return existsSync(path) ? readFileSync(path, 'utf8') : '';
    });
    assert.equal(state, 'succeeded', logs.join('\n---\n'));
    return logs;
  };

  test('both parts run the Python client: they meet at the barrier and reach each other over TCP at the endpoints they published', async () => {
    const logs = await run([PYTHON, join(EXAMPLES, 'suanli_rendezvous.py'), 'demo']);
    // Each part prints the one membership (the parts in placement order, which the ring decides), and the second hears the first.
    for (const log of logs) {
      assert.match(log, /part [01] of 2, generation 1: /);
      assert.match(log, /acme:site-1@127\.0\.0\.1:310\d\d share 0\.50/);
      assert.match(log, /beta:site-1@127\.0\.0\.1:311\d\d share 0\.50/);
    }
    assert.match(logs.join('\n'), /part 1 heard: \['hello from 0'\]/);
  });

  test('a part leaves (its lender reclaims the site): the other part gets a new membership generation without it, and the job’s history records both', async () => {
    const job = JobResponse.parse(await pool.client.call('POST', '/jobs', { name: 'follow', org_id: 'beta', gpus: 16, estimate_s: 600, command: [PYTHON, join(EXAMPLES, 'suanli_rendezvous.py'), 'follow', '30'], span: SPAN })).id;
    await pool.until(job, 'running');
    await waitFor('generation 1', async () => ((await pool.job(job)).events.some((e) => e.type === 'membership') ? true : undefined));
    // acme takes its GPUs back for a job of its own: beta's part there stops, the job shrinks onto beta.
    const own = JobResponse.parse(await pool.client.call('POST', '/jobs', { name: 'own', org_id: 'acme', gpus: 8, estimate_s: 60, command: ['true'] })).id;
    const done = await pool.until(job, 'succeeded');
    await pool.until(own, 'succeeded');
    const memberships = done.events.filter((e) => e.type === 'membership').map((e) => [e.detail.generation, e.detail.sites]);
    assert.deepEqual(memberships, [[1, [pool.siteId, beta.siteId]], [2, [beta.siteId]]]);
    const log = readFileSync(join(dir, 'beta', 'logs', `${job}.1.log`), 'utf8');
    assert.match(log, /part [01]: generation 1, 2 parts\npart 0: generation 2, 1 parts: beta:site-1/);
  });

  test('DiLoCo across the two parts (examples/diloco, PyTorch on CPU, gloo): the loss falls, and the job shows the utilization its parts measured next to the planned one', { skip: process.env.CI === 'true' ? false : noTorch() }, async () => {
    const [acme = '', betaLog = ''] = await run([PYTHON, join(EXAMPLES, '..', 'diloco', 'diloco.py'), '--outer-steps', '8', '--inner-steps', '10', '--hidden', '64', '--int8']);
    for (const log of [acme, betaLog]) assert.match(log, /part [01] of 2 \(share 0\.50\), generation 1/);
    const losses = [...acme.matchAll(/outer step \d+: loss ([\d.]+)/g)].map((x) => Number(x[1]));
    assert.equal(losses.length, 8, acme);
    assert.ok((losses.at(-1) ?? 1) < (losses[0] ?? 0) * 0.8, `the loss falls: ${losses.join(', ')}`);
    const jobs = await pool.client.call<{ jobs: { id: string }[] }>('GET', '/jobs?org=beta&limit=500');
    const detail = await pool.job(jobs.jobs.at(-1)?.id ?? '');
    const m = detail.measured;
    assert.ok(m !== null);
    assert.equal(m.outer_steps, 8);
    assert.equal(m.parts.length, 2);
    assert.ok(m.utilization > 0 && m.utilization < 1, String(m.utilization));
    assert.ok(m.planned_utilization !== null && m.planned_utilization > 0.9);
    assert.ok(m.first_loss !== null && m.last_loss !== null && m.last_loss < m.first_loss);
    const shown = await inProcess(['job', 'show', detail.id, '--server', pool.url, '--token', pool.admin]);
    assert.match(shown.out, /measured \(attempt 1, 8 outer steps\): utilization \d+\.\d%, planned \d+\.\d%; loss /);
    console.log(`DiLoCo on loopback: ${shown.out.match(/measured.*$/m)?.[0] ?? ''}`);
  });

  // acme's job this time, on beta's lent GPUs: a site is reclaimed at most once in five minutes (fair share's rate
  // limit), and acme's was reclaimed above.
  test('DiLoCo shrinks for real: the lender of one part reclaims it mid-run, the other meets under generation 2 alone and trains on from the outer model to the end', { skip: process.env.CI === 'true' ? false : noTorch() }, async () => {
    const job = JobResponse.parse(await pool.client.call('POST', '/jobs', { name: 'diloco', org_id: 'acme', gpus: 16, estimate_s: 600, command: [PYTHON, join(EXAMPLES, '..', 'diloco', 'diloco.py'), '--outer-steps', '40', '--inner-steps', '20', '--hidden', '128'], span: SPAN })).id;
    await waitFor('a few outer steps', async () => (((await pool.job(job)).measured?.outer_steps ?? 0) >= 3 ? true : undefined)).catch(async (err: unknown) => {
      const j = await pool.job(job);
      const logs = ['acme', 'beta'].map((name) => { const p = join(dir, name, 'logs', `${job}.1.log`); return existsSync(p) ? readFileSync(p, 'utf8') : '(none)'; });
      throw new Error(`${String(err)}: ${j.state} ${JSON.stringify(j.measured)} ${JSON.stringify(j.events.map((e) => e.type))}\n${logs.join('\n---\n')}`);
    });
    const own = JobResponse.parse(await pool.client.call('POST', '/jobs', { name: 'own', org_id: 'beta', gpus: 8, estimate_s: 60, command: ['true'] })).id;
    const done = await waitFor('the job ended', async () => {
      const j = await pool.job(job);
      return ['succeeded', 'failed', 'cancelled'].includes(j.state) ? j : undefined;
    }, 120_000);
    const log = readFileSync(join(dir, 'acme', 'logs', `${job}.1.log`), 'utf8');
    assert.equal(done.state, 'succeeded', log);
    await pool.until(own, 'succeeded');
    assert.deepEqual(done.events.filter((e) => e.type === 'membership').map((e) => e.detail.generation), [1, 2]);
    assert.match(log, /a part left .*; meeting the others again\npart 0 of 1 \(share 1\.00\), generation 2/);
    const losses = [...log.matchAll(/outer step \d+: loss ([\d.]+)/g)].map((x) => Number(x[1]));
    assert.ok(losses.length >= 40 && (losses.at(-1) ?? 1) < (losses[0] ?? 0) * 0.5, `it trained on to the end and the loss fell: ${losses.length} steps, ${losses[0]} → ${losses.at(-1)}`);
    assert.equal(done.measured?.parts.find((p) => p.site_id === pool.siteId)?.steps, 40, 'every step reported once');
  });

  test('a spanning job succeeds once every part has (a part done first does not end the others’ training); a part that crashes ends the attempt per the job’s retry policy', async () => {
    // Part 0 is done after a second (once both parts started: a part that ends before the others start fails the
    // co-allocation), part 1 three seconds later: the job runs on until both are.
    const both = JobResponse.parse(await pool.client.call('POST', '/jobs', { name: 'uneven', org_id: 'beta', gpus: 16, estimate_s: 600, command: ['sh', '-c', 'if [ "$SUANLI_SPAN_INDEX" = 0 ]; then sleep 1; else sleep 4; fi'], span: SPAN })).id;
    const done = await waitFor('the job ended', async () => {
      const j = await pool.job(both);
      return ['succeeded', 'failed', 'cancelled'].includes(j.state) ? j : undefined;
    });
    assert.equal(done.state, 'succeeded');
    const first = done.events.find((e) => e.type === 'part_succeeded');
    const end = done.events.find((e) => e.type === 'succeeded');
    assert.ok(first !== undefined && end !== undefined, JSON.stringify(done.events.map((e) => e.type)));
    assert.equal((first.detail.waiting_for as string[]).length, 1, 'the first part waits for the other');
    assert.equal(first.to_state, 'running', 'and the job runs on');
    assert.ok(Date.parse(end.at) - Date.parse(first.at) >= 2000, `the job succeeded when the last part did: ${first.at} → ${end.at}`);
    assert.deepEqual((end.detail.sites as string[]).length, 2);
    assert.ok(done.placements.at(-1)?.parts.every((p) => p.succeeded_at !== undefined && p.started_at !== undefined), JSON.stringify(done.placements.at(-1)));

    // Part 1 crashes; part 0 would train for a minute: each attempt ends at the crash, and is tried once more (max_retries 1).
    const crash = JobResponse.parse(await pool.client.call('POST', '/jobs', { name: 'crash', org_id: 'beta', gpus: 16, estimate_s: 600, max_retries: 1, command: ['sh', '-c', '[ "$SUANLI_SPAN_INDEX" = 1 ] && exit 3; sleep 60'], span: SPAN })).id;
    const t0 = Date.now();
    const failed = await waitFor('the job ended', async () => {
      const j = await pool.job(crash);
      return ['succeeded', 'failed', 'cancelled'].includes(j.state) ? j : undefined;
    }, 40_000);
    assert.equal(failed.state, 'failed');
    assert.ok(Date.now() - t0 < 40_000, 'the other part did not run on');
    assert.deepEqual(failed.events.filter((e) => ['run_failed', 'failed', 'succeeded', 'part_succeeded'].includes(e.type)).map((e) => [e.type, e.detail.exit_code]), [['run_failed', 3], ['failed', 3]]);
    assert.equal(failed.attempts, 2);
  });

  test('the shell client: both parts publish and meet', async () => {
    const script = `. ${join(EXAMPLES, 'rendezvous.sh')} && suanli_publish "$(suanli_address):$(suanli_first_port)" && suanli_barrier 60`;
    const logs = await run(['sh', '-c', script]);
    for (const log of logs) {
      const last = log.trim().split('\n').at(-1) ?? '';
      assert.ok(last.startsWith('{'), log);
      const m = JSON.parse(last) as Membership;
      assert.deepEqual([m.ready, m.members.length, m.members.map((x) => x.endpoints[0]).sort()], [true, 2, ['127.0.0.1:31000', '127.0.0.1:31100']], log);
    }
  });
});
