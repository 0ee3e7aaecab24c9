// A follower keeps its copy of the state current through PostgreSQL's change feed (issue 17):
// two replicas in this process on one PostgreSQL 15 database. What the leader changes — jobs
// submitted and cancelled, a site, a token revoked — reaches the follower's copies without it
// loading anything whole; a revocation holds at the follower at once (not when its cache would
// expire); a feed cut is noticed and mended; and when the leader goes, the follower takes over
// from the feed rather than by loading the state again.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildServer } from '../src/server/app.ts';
import type { Api } from '../src/server/control-plane.ts';
import { newKeyPair } from '../src/server/log-keys.ts';
import { openStore } from '../src/store/index.ts';
import type { Store } from '../src/store/types.ts';
import { postgresMissing, skipWithoutPostgres, startPostgres, type Postgres } from './support/postgres.ts';

const ADMIN = `sl_follower_${'f'.repeat(40)}`;
const LEASE_MS = 1000;
/** Every replica signs the usage log with the one key (a takeover under another is refused). */
const LOG_KEY = newKeyPair('suanli-ledger').signerKey;

interface Replica {
  readonly app: Api;
  readonly store: Store;
  readonly url: string;
}

interface Ready {
  readonly replica?: { readonly role: string; readonly feed: string; readonly changes_applied: number; readonly took_over: string | null };
}

/** Polls `check` until it holds (or fails after `ms`, saying `what`). */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const t0 = performance.now();
  while (!(await check())) {
    if (performance.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const missing = postgresMissing();
if (missing !== undefined) {
  test('a follower keeps its state from the change feed', (t) => skipWithoutPostgres(t, missing));
} else {
  describe('a follower keeps its state from the change feed', () => {
    let pg: Postgres;
    let a: Replica;
    let b: Replica;
    const start = async (databaseUrl: string, id: string): Promise<Replica> => {
      const store = await openStore({ databaseUrl, replica: id });
      const app = await buildServer({ store, adminToken: ADMIN, logKey: LOG_KEY, replica: { id, leaseMs: LEASE_MS }, passIntervalMs: 50 });
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      await app.suanli.replica?.start(url);
      return { app, store, url };
    };
    const call = async (r: Replica, method: 'GET' | 'POST' | 'DELETE', url: string, body?: object, token = ADMIN) => {
      const res = await r.app.inject({ method, url: `/api/v1${url}`, headers: { authorization: `Bearer ${token}` }, ...(body === undefined ? {} : { payload: body }) });
      return { status: res.statusCode, json: res.json<Record<string, unknown>>() };
    };
    const ready = async (r: Replica) => (await r.app.inject({ method: 'GET', url: '/readyz' })).json<Ready>().replica;

    before(async () => {
      pg = await startPostgres();
      const url = await pg.createDatabase('follower');
      a = await start(url, 'a');
      b = await start(url, 'b');
      assert.equal((await ready(a))?.role, 'leader');
      assert.equal((await ready(b))?.role, 'follower');
    });
    after(async () => {
      for (const r of [a, b]) {
        await r?.app.close();
        await r?.store.close();
      }
      await pg?.stop();
    });

    test('what the leader changes reaches the follower’s copies: jobs submitted, placed and cancelled, a site created; a revoked token is refused by the follower at once', async () => {
      assert.equal((await ready(b))?.feed, 'current');
      assert.equal((await call(a, 'POST', '/orgs', { id: 'acme', name: 'Acme' })).status, 201);
      const site = (await call(a, 'POST', '/sites', { name: 'lab', org_id: 'acme', capacity: [{ gpu_type: 'h100', nodes: 1, gpus_per_node: 8 }] })).json as { id: string };
      await until('the follower knows the new site', () => b.app.suanli.sites.known(site.id) !== undefined);
      const member = (await call(a, 'POST', '/tokens', { name: 'member', role: 'member', org_id: 'acme' })).json as { id: string; token: string };
      const jobs: string[] = [];
      for (let i = 0; i < 5; i++) jobs.push(((await call(a, 'POST', '/jobs', { name: `j${i}`, org_id: 'acme', gpus: 1, estimate_s: 60 }, member.token)).json as { id: string }).id);
      await until('the follower holds the five active jobs', () => jobs.every((id) => b.app.suanli.active.get(id) !== undefined));
      // No agent has heartbeated: the site is not up, nothing is placed. Cancel one at the leader.
      assert.equal((await call(a, 'POST', `/jobs/${jobs[0] ?? ''}/cancel`, {}, member.token)).status, 200);
      await until('the follower dropped the cancelled job', () => b.app.suanli.active.get(jobs[0] ?? '') === undefined);
      assert.equal(b.app.suanli.active.size, a.app.suanli.active.size);

      // The follower verified the member's token (cached: a minute by default); revoked at the leader, it is refused there at once.
      const bearer = `Bearer ${member.token}`;
      assert.equal((await b.app.suanli.auth.authenticate(bearer, '127.0.0.1')).tokenId, member.id);
      assert.equal((await call(a, 'DELETE', `/tokens/${member.id}`)).status, 200);
      const refused = async () => b.app.suanli.auth.authenticate(bearer, '127.0.0.1').then(() => false, () => true);
      await until('the follower refuses the revoked token', refused, 2000);
      assert.ok(((await ready(b))?.changes_applied ?? 0) >= 8, 'the changes came through the feed');
    });

    test('a follower answers the reads the store and its copies serve itself (a revoked token refused there too), and forwards the rest to the leader', async () => {
      const member = (await call(a, 'POST', '/tokens', { name: 'reader', role: 'member', org_id: 'acme' })).json as { id: string; token: string };
      const job = ((await call(a, 'POST', '/jobs', { name: 'read me', org_id: 'acme', gpus: 1, estimate_s: 60 }, member.token)).json as { id: string }).id;
      const at = async (r: Replica, method: string, path: string, token = member.token) => {
        const res = await fetch(`${r.url}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) }, ...(method === 'POST' ? { body: JSON.stringify({ name: 'via b', org_id: 'acme', gpus: 1, estimate_s: 60 }) } : {}) });
        return { status: res.status, by: res.headers.get('x-suanli-replica'), body: (await res.json()) as Record<string, unknown> };
      };
      const shown = await at(b, 'GET', `/jobs/${job}`);
      assert.deepEqual([shown.status, shown.by, shown.body.id], [200, 'b', job], 'a job acknowledged by the leader, read at the follower, by the follower');
      for (const path of ['/jobs?org=acme', '/orgs/acme', '/orgs/acme/quota', '/sites', '/whoami', '/ledger/history']) assert.deepEqual(((r) => [r.status, r.by])(await at(b, 'GET', path)), [200, 'b'], path);
      for (const [method, path] of [['GET', '/pool'], ['GET', '/ledger/checkpoint'], ['POST', '/jobs']] as const) assert.equal((await at(b, method, path)).by, 'a', `${method} ${path}: the leader's`);
      // A rival org's member gets at the follower what it gets at the leader: not acme's job, not acme's list.
      assert.equal((await call(a, 'POST', '/orgs', { id: 'rival', name: 'Rival' })).status, 201);
      const rival = ((await call(a, 'POST', '/tokens', { name: 'rival', role: 'member', org_id: 'rival' })).json as { token: string }).token;
      for (const r of [a, b]) {
        assert.deepEqual(((x) => [x.status, x.by])(await at(r, 'GET', `/jobs/${job}`, rival)), [404, r === a ? 'a' : 'b'], 'another org’s job does not exist for it');
        assert.equal((await at(r, 'GET', '/jobs?org=acme', rival)).status, 404);
        assert.equal((await at(r, 'GET', '/orgs/acme/quota', rival)).status, 404);
      }
      assert.equal((await call(a, 'DELETE', `/tokens/${member.id}`)).status, 200);
      await until('the follower refuses the revoked token', async () => (await at(b, 'GET', `/jobs/${job}`)).status === 401, 2000);
    });

    test('a cut feed is noticed and mended: the follower opens it again and loads its copies whole once', async () => {
      await pg.sql(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'suanli-feed:b'`);
      await until('the follower sees its feed lost', async () => (await ready(b))?.feed !== 'current', 5000);
      await until('the follower is current again', async () => (await ready(b))?.feed === 'current', 10_000);
      const job = ((await call(a, 'POST', '/jobs', { name: 'after the cut', org_id: 'acme', gpus: 1, estimate_s: 60 })).json as { id: string }).id;
      await until('a job submitted after the cut reaches the follower', () => b.app.suanli.active.get(job) !== undefined);
    });

    test('the leader goes: the follower takes over from the feed, not by loading the state again, and has every active job', async () => {
      const job = ((await call(a, 'POST', '/jobs', { name: 'last before the takeover', org_id: 'acme', gpus: 1, estimate_s: 60 })).json as { id: string }).id;
      await a.app.close(); // gives the lease up
      await until('the follower leads', async () => (await ready(b))?.role === 'leader', 10 * LEASE_MS);
      assert.equal((await ready(b))?.took_over, 'feed');
      const stored = (await b.store.activeJobs()).map((j) => j.id).sort();
      assert.deepEqual(b.app.suanli.active.snapshot().jobs.map((j: { id: string }) => j.id).sort(), stored);
      assert.ok(stored.includes(job));
      // It serves: a submission now is its own.
      assert.equal((await call(b, 'POST', '/jobs', { name: 'after the takeover', org_id: 'acme', gpus: 1, estimate_s: 60 })).status, 201);
    });
  });
}
