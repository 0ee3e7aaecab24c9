// Replicas of the control plane on a real PostgreSQL server (issue 17): three `suanli serve`
// processes on one database, a real agent (local executor) given all three URLs, and a
// client submitting through any replica with idempotency keys, moving on when one fails.
// The leader is killed (SIGKILL) during a submission burst, a follower is killed, and a
// leader is paused (SIGSTOP) past its lease and resumed. Each time: another replica leads
// within 10 s, no acknowledged job is lost, none is stored twice, no run (job, attempt)
// runs twice, and the agent carries on by itself. The figures are printed.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { newKeyPair } from '../src/server/log-keys.ts';
import { BIN } from './support/cli.ts';
import { postgresMissing, skipWithoutPostgres, startPostgres, type Postgres } from './support/postgres.ts';
import { serve, type Running } from './support/serve.ts';

const ADMIN = `sl_replicas_${'r'.repeat(40)}`;
const LEASE_S = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Replica {
  readonly name: string;
  readonly running: Running;
  alive: boolean;
}

interface Ready {
  readonly replica?: { readonly id: string; readonly role: string; readonly leader: string | null; readonly epoch: number | null };
}

async function readyz(url: string): Promise<Ready | null> {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
    return (await res.json()) as Ready;
  } catch {
    return null;
  }
}

const missing = postgresMissing();
if (missing !== undefined) {
  test('replicas on PostgreSQL', (t) => skipWithoutPostgres(t, missing));
} else {
  describe('replicas: failover', () => {
    let pg: Postgres;
    let databaseUrl: string;
    const dirs: string[] = [];
    const replicas: Replica[] = [];
    let agent: ChildProcess | null = null;
    let agentLog = '';
    const logKey = newKeyPair('suanli-ledger').signerKey;
    const ran = join(mkdtempSync(join(tmpdir(), 'suanli-replicas-ran-')), 'ran');
    /** Idempotency key → job id, for every submission acknowledged. */
    const acked = new Map<string, string>();
    let submitted = 0;

    const tmp = (what: string) => {
      const d = mkdtempSync(join(tmpdir(), `suanli-replicas-${what}-`));
      dirs.push(d);
      return d;
    };
    const startReplica = async (name: string): Promise<Replica> => {
      const running = await serve(tmp(name), { DATABASE_URL: databaseUrl, SUANLI_ADMIN_TOKEN: ADMIN, SUANLI_LOG_KEY: logKey }, BIN, ['--lease', `${LEASE_S}s`]);
      const r = { name, running, alive: true };
      replicas.push(r);
      return r;
    };
    const live = () => replicas.filter((r) => r.alive);
    /** The replica that says it leads, when exactly one does. */
    const leader = async (): Promise<{ replica: Replica; epoch: number } | null> => {
      const states = await Promise.all(live().map(async (r) => ({ r, ready: await readyz(r.running.url) })));
      const leading = states.filter((s) => s.ready?.replica?.role === 'leader');
      return leading.length === 1 && leading[0] !== undefined ? { replica: leading[0].r, epoch: leading[0].ready?.replica?.epoch ?? 0 } : null;
    };
    /** One API call through the live replicas, each in turn until one answers other than 5xx or not at all. */
    const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> => {
      for (let round = 0; round < 100; round++) {
        for (const r of live()) {
          try {
            const res = await fetch(`${r.running.url}/api/v1${path}`, {
              method, headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
              ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: AbortSignal.timeout(5000),
            });
            if (res.status < 500) return { status: res.status, json: await res.json() };
          } catch {
            // not answering: the next one
          }
        }
        await sleep(200);
      }
      throw new Error(`${method} ${path}: no replica answered`);
    };
    /** Submits one job with an idempotency key, through whichever replica answers; resolves when acknowledged. */
    const submit = async (): Promise<void> => {
      const key = `job-${++submitted}`;
      const { status, json } = await call('POST', '/jobs', { name: key, org_id: 'acme', gpus: 1, estimate_s: 60, command: ['sh', '-c', `echo "$SUANLI_RUN_ID" >> ${ran}; sleep 0.2`] }, { 'idempotency-key': key });
      assert.ok(status === 201 || status === 200, `${key}: ${status} ${JSON.stringify(json)}`);
      const id = (json as { id: string }).id;
      if (acked.has(key)) assert.equal(acked.get(key), id, 'a retried key names its first job');
      acked.set(key, id);
    };
    /** Submits `n` jobs, `width` at a time; `during` runs once `at` of them are acknowledged. */
    const burst = async (n: number, at: number, during: () => Promise<void>): Promise<void> => {
      let started = 0;
      let done = 0;
      let fired: Promise<void> | null = null;
      await Promise.all(Array.from({ length: 4 }, async () => {
        while (started < n) {
          started++;
          await submit();
          if (++done === at) fired = during();
        }
      }));
      await fired;
    };
    /** Waits until the new leader is another than `old`; resolves with the seconds it took from `since`. */
    const newLeader = async (old: number, since: number): Promise<{ replica: Replica; epoch: number; seconds: number }> => {
      for (;;) {
        const l = await leader();
        if (l !== null && l.epoch > old) return { ...l, seconds: (performance.now() - since) / 1000 };
        if (performance.now() - since > 30_000) throw new Error('no new leader within 30 s');
        await sleep(50);
      }
    };
    /** Every acknowledged job succeeded; none stored twice; no run ran twice. */
    const allRanOnce = async (what: string): Promise<void> => {
      const ids = new Set(acked.values());
      assert.equal(ids.size, acked.size, `${what}: every key its own job`);
      const deadline = performance.now() + 120_000;
      for (;;) {
        const states = await Promise.all([...ids].map(async (id) => ((await call('GET', `/jobs/${id}`)).json as { state: string }).state));
        if (states.every((s) => s === 'succeeded')) break;
        if (performance.now() > deadline) assert.fail(`${what}: not all succeeded: ${JSON.stringify(states.filter((s) => s !== 'succeeded'))}\n${agentLog.slice(-2000)}`);
        await sleep(500);
      }
      const listed = await call('GET', '/jobs?org=acme&limit=500&state=succeeded');
      assert.equal((listed.json as { jobs: unknown[] }).jobs.length, ids.size, `${what}: the store holds each acknowledged job once, and no other`);
      const runs = readFileSync(ran, 'utf8').trim().split('\n');
      assert.equal(new Set(runs).size, runs.length, `${what}: no run (job, attempt) ran twice: ${runs.length} runs`);
      assert.equal(runs.length, ids.size, `${what}: each job ran once`);
    };

    before(async () => {
      pg = await startPostgres();
      databaseUrl = await pg.createDatabase('replicas');
      writeFileSync(ran, '');
      await startReplica('a');
      await startReplica('b');
      await startReplica('c');
      const first = await leader();
      assert.equal(first?.replica.name, 'a', 'the first started leads');
      assert.equal((await call('POST', '/orgs', { id: 'acme', name: 'Acme' })).status, 201);
      const site = (await call('POST', '/sites', { name: 'lab', org_id: 'acme', capacity: [{ gpu_type: 'h100', nodes: 1, gpus_per_node: 8 }] })).json as { id: string };
      const token = ((await call('POST', '/tokens', { name: 'agent', role: 'agent', org_id: 'acme', site_id: site.id })).json as { token: string }).token;
      await call('PATCH', '/orgs/acme/quota', { queued_jobs: 100_000 });
      agent = spawn(process.execPath, [BIN, 'agent', '--server', replicas.map((r) => r.running.url).join(','), '--token', token, '--gpus', 'h100:8', '--work-dir', tmp('agent'), '--heartbeat', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      agent.stdout?.on('data', (c: Buffer) => (agentLog += c.toString()));
      agent.stderr?.on('data', (c: Buffer) => (agentLog += c.toString()));
    });

    after(async () => {
      agent?.kill('SIGTERM');
      await Promise.all(live().map((r) => r.running.stop('SIGTERM')));
      await pg?.stop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    test('the leader killed (SIGKILL) during a submission burst: another leads within 10 s; no acknowledged job lost or stored twice; no run twice; the agent carries on', async () => {
      const before = await leader();
      assert.ok(before !== null);
      let failover = 0;
      await burst(120, 40, async () => {
        const t0 = performance.now();
        before.replica.running.child.kill('SIGKILL');
        before.replica.alive = false;
        const next = await newLeader(before.epoch, t0);
        failover = next.seconds;
        console.log(`leader ${before.replica.name} killed: ${next.replica.name} leads after ${next.seconds.toFixed(2)} s (epoch ${before.epoch} → ${next.epoch})`);
      });
      assert.ok(failover > 0 && failover < 10, `a new leader within 10 s: ${failover.toFixed(2)} s`);
      await allRanOnce('after the leader was killed');
    });

    test('a follower killed: the leader stays, and the jobs go on', async () => {
      const current = await leader();
      assert.ok(current !== null);
      const follower = live().find((r) => r !== current.replica);
      assert.ok(follower !== undefined);
      await burst(30, 10, async () => {
        follower.running.child.kill('SIGKILL');
        follower.alive = false;
      });
      await allRanOnce('after a follower was killed');
      assert.equal((await leader())?.epoch, current.epoch, 'the same leader');
    });

    test('the leader paused (SIGSTOP) past its lease, then resumed: another leads, the resumed one follows and commits nothing', async () => {
      await startReplica('d');
      const paused = await leader();
      assert.ok(paused !== null);
      let resumedRole = '';
      await burst(60, 20, async () => {
        const t0 = performance.now();
        paused.replica.running.child.kill('SIGSTOP');
        const next = await newLeader(paused.epoch, t0);
        console.log(`leader ${paused.replica.name} paused: ${next.replica.name} leads after ${next.seconds.toFixed(2)} s`);
        assert.ok(next.seconds < 10, `${next.seconds.toFixed(2)} s`);
        await sleep(1000);
        paused.replica.running.child.kill('SIGCONT');
        await sleep(LEASE_S * 1000);
        resumedRole = (await readyz(paused.replica.running.url))?.replica?.role ?? 'no answer';
      });
      assert.equal(resumedRole, 'follower', 'the resumed leader knows it was deposed');
      await allRanOnce('after the leader was paused and resumed');
    });
  });
}
