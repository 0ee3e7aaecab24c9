// Replicas of the control plane on a real PostgreSQL server (issue 17): three `suanli serve`
// processes on one database, a real agent (local executor) given all three URLs, and a
// client submitting through any replica with idempotency keys, moving on when one fails.
// The leader is killed (SIGKILL) during a submission burst, a follower is killed, and a
// leader is paused (SIGSTOP) past its lease and resumed. Each time: another replica leads
// within 10 s, no acknowledged job is lost, none is stored twice, no run (job, attempt)
// runs twice, and the agent carries on by itself. The figures are printed.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { newKeyPair } from '../src/server/log-keys.ts';
import { BIN } from './support/cli.ts';
import { FailoverClient } from './support/failover-client.ts';
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
  readonly replica?: { readonly id: string; readonly role: string; readonly leader: string | null; readonly epoch: number | null; readonly feed: string; readonly took_over: string | null };
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
    const ranDir = mkdtempSync(join(tmpdir(), 'suanli-replicas-ran-'));
    const ran = join(ranDir, 'ran');
    let client: FailoverClient;

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
    /** Waits until the new leader is another than `old`; resolves with the seconds it took from `since`. */
    const newLeader = async (old: number, since: number): Promise<{ replica: Replica; epoch: number; seconds: number }> => {
      for (;;) {
        const l = await leader();
        if (l !== null && l.epoch > old) return { ...l, seconds: (performance.now() - since) / 1000 };
        if (performance.now() - since > 30_000) throw new Error('no new leader within 30 s');
        await sleep(50);
      }
    };
    before(async () => {
      pg = await startPostgres();
      databaseUrl = await pg.createDatabase('replicas');
      client = new FailoverClient(() => live().map((r) => r.running.url), ADMIN, 'acme', ran);
      const call = client.call.bind(client);
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
      for (const d of [...dirs, ranDir]) rmSync(d, { recursive: true, force: true });
    });

    test('the leader killed (SIGKILL) during a submission burst: another leads within 10 s; no acknowledged job lost or stored twice; no run twice; the agent carries on', async () => {
      const before = await leader();
      assert.ok(before !== null);
      let failover = 0;
      let tookOver: string | null | undefined;
      await client.burst(120, 40, async () => {
        // The followers' copies are current from the change feed: the new leader takes over from it.
        for (const r of live()) if (r !== before.replica) assert.equal((await readyz(r.running.url))?.replica?.feed, 'current', r.name);
        const t0 = performance.now();
        before.replica.running.child.kill('SIGKILL');
        before.replica.alive = false;
        const next = await newLeader(before.epoch, t0);
        failover = next.seconds;
        tookOver = (await readyz(next.replica.running.url))?.replica?.took_over;
        console.log(`leader ${before.replica.name} killed: ${next.replica.name} leads after ${next.seconds.toFixed(2)} s (epoch ${before.epoch} → ${next.epoch}), its state ${tookOver === 'feed' ? 'current from the change feed' : 'loaded whole'}`);
      });
      assert.ok(failover > 0 && failover < 10, `a new leader within 10 s: ${failover.toFixed(2)} s`);
      assert.equal(tookOver, 'feed', 'the new leader took over from the change feed');
      await client.allRanOnce('after the leader was killed', () => agentLog);
    });

    test('a follower killed: the leader stays, and the jobs go on', async () => {
      const current = await leader();
      assert.ok(current !== null);
      const follower = live().find((r) => r !== current.replica);
      assert.ok(follower !== undefined);
      await client.burst(30, 10, () => {
        follower.running.child.kill('SIGKILL');
        follower.alive = false;
        return Promise.resolve();
      });
      await client.allRanOnce('after a follower was killed', () => agentLog);
      assert.equal((await leader())?.epoch, current.epoch, 'the same leader');
    });

    test('the leader paused (SIGSTOP) past its lease, then resumed: another leads, the resumed one follows and commits nothing', async () => {
      await startReplica('d');
      const paused = await leader();
      assert.ok(paused !== null);
      let resumedRole = '';
      await client.burst(60, 20, async () => {
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
      await client.allRanOnce('after the leader was paused and resumed', () => agentLog);
    });
  });
}
