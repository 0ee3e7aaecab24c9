// The store conformance and cost suites on a real PostgreSQL 15 (Debian's server, as
// DATABASE_URL users run it), each case on a fresh database of one throwaway server.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { openDatabase, openStore, storeFromEnv } from '../src/store/index.ts';
import { isFencedError } from '../src/store/types.ts';
import { storeConformance } from '../src/store/store.conformance.ts';
import { storeCostConformance } from '../src/store/store-cost.conformance.ts';
import { postgresMissing, skipWithoutPostgres, startPostgres, type Postgres } from './support/postgres.ts';

const missing = postgresMissing();
if (missing !== undefined) {
  test('store conformance on PostgreSQL 15', (t) => skipWithoutPostgres(t, missing));
} else {
  let server: Postgres | undefined;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
  });
  let databases = 0;
  storeConformance('PostgreSQL 15', async () => {
    if (!server) throw new Error('PostgreSQL did not start');
    return openStore({ databaseUrl: await server.createDatabase(`case_${++databases}`) });
  });
  storeCostConformance('PostgreSQL 15', async () => {
    if (!server) throw new Error('PostgreSQL did not start');
    return openDatabase({ databaseUrl: await server.createDatabase(`case_${++databases}`) });
  });

  test('replicas: a write of a replica that does not hold the leader lease is refused (fenced), whatever the table; one that holds it writes; other sessions are not fenced', async () => {
    if (!server) throw new Error('PostgreSQL did not start');
    const url = await server.createDatabase('fence');
    const [a, b, plain] = [await openStore({ databaseUrl: url, replica: 'a' }), await openStore({ databaseUrl: url, replica: 'b' }), await openStore({ databaseUrl: url })];
    try {
      const org = (id: string) => ({ id, name: id, createdAt: 0 });
      await plain.createOrg(org('tools')); // no replica: not fenced
      const refused = await a.createOrg(org('before')).then(() => 'written', (err: unknown) => err);
      assert.ok(isFencedError(refused), `no lease yet: ${String(refused)}`);
      assert.equal((await a.takeLease('a', 'http://a', 60_000)).holder, 'a');
      await a.createOrg(org('acme'));
      assert.ok(isFencedError(await b.createOrg(org('rival')).then(() => 'written', (err: unknown) => err)), 'b does not hold it');
      assert.ok(isFencedError(await b.heartbeat('nowhere', 1).then(() => 'written', (err: unknown) => err)), 'an update too, even of no row');
      assert.deepEqual((await plain.listOrgs()).map((o) => o.id).sort(), ['acme', 'tools']);
      // a's lease runs out; b takes it over: from then on a's writes are refused, b's are not.
      assert.equal(await a.renewLease('a', 1), true);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal((await b.takeLease('b', 'http://b', 60_000)).epoch, 2);
      assert.ok(isFencedError(await a.createOrg(org('late')).then(() => 'written', (err: unknown) => err)), 'the deposed leader cannot commit');
      await b.createOrg(org('beta'));
    } finally {
      await Promise.all([a.close(), b.close(), plain.close()]);
    }
  });

  test('replicas: a takeover waits for a write the old holder checked before it; one held past the lease (a paused process, mid-transaction) has its sessions ended', async () => {
    if (!server) throw new Error('PostgreSQL did not start');
    const url = await server.createDatabase('fence_wait');
    const { db } = await openDatabase({ databaseUrl: url, replica: 'a' });
    const b = await openStore({ databaseUrl: url, replica: 'b' });
    const a = await openStore({ databaseUrl: url, replica: 'a' });
    try {
      await a.takeLease('a', 'http://a', 300);
      // A transaction of a's that wrote (its fence check holds the lock shared), then stalls past the lease.
      let release: () => void = () => undefined;
      const stalled = db.transaction().execute(async (trx) => {
        await sql`insert into orgs (id, name, created_at) values ('stalled', 'stalled', 0)`.execute(trx);
        await new Promise<void>((resolve) => (release = resolve));
      });
      stalled.catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 400));
      const t0 = performance.now();
      const taken = await b.takeLease('b', 'http://b', 60_000);
      assert.equal(taken.holder, 'b', 'taken once the stalled session was ended');
      assert.ok(performance.now() - t0 >= 1500, 'after the lock timeout');
      release();
      await assert.rejects(stalled, 'its transaction did not commit');
      assert.equal((await b.listOrgs()).some((o) => o.id === 'stalled'), false);
    } finally {
      await Promise.all([a.close(), b.close(), db.destroy()]);
    }
  });

  test('the change feed: a replica’s changes to jobs, placements, sites, tokens, site keys and quotas are announced after they commit, in commit order; heartbeat times, log tails and other sessions’ writes are not; a barrier comes after everything before it', async () => {
    if (!server) throw new Error('PostgreSQL did not start');
    const url = await server.createDatabase('feed');
    const [leader, plain] = [await openStore({ databaseUrl: url, replica: 'a' }), await openStore({ databaseUrl: url })];
    const seen: string[] = [];
    let lost: Error | null = null;
    const watch = await leader.watchChanges({ change: (c) => seen.push(`${c.table} ${c.key}`), lost: (err) => (lost = err) });
    try {
      await leader.takeLease('a', 'http://a', 60_000);
      await leader.createOrg({ id: 'acme', name: 'Acme', createdAt: 1 });
      await leader.createSite({ id: 'lab', orgId: 'acme', name: 'lab', capacity: [{ gpuType: 'H100', nodes: 1, gpusPerNode: 8 }], pricePerGpuHour: null, share: { lendFraction: 1, reclaim: false, reclaimNoticeS: 0 }, wanLinks: [], createdAt: 2 });
      const [job] = await leader.submitJobs([{ orgId: 'acme', name: 'j', demand: { gpus: 8, gpuTypes: null, gang: true, estimateS: 60, priority: 0, preemptible: true, checkpointIntervalS: null, command: null, plan: null }, submittedBy: 'u', submittedAt: 3, idempotencyKey: null }]);
      const id = job?.job.id ?? '';
      await leader.transition([{ jobId: id, from: ['pending'], to: 'placed', at: 4, type: 'placed', placement: [{ siteId: 'lab', gpuType: 'H100', gpus: 8, nodes: 1 }] }]);
      await watch.barrier();
      assert.deepEqual(seen.splice(0), ['sites lab', `jobs ${id}`, `jobs ${id}`, `placements ${id}`], 'orgs are not watched; each job change is announced');
      await leader.touchSites([{ siteId: 'lab', at: 10 }]);
      await leader.setLogTails([{ jobId: id, attempt: 1, siteId: 'lab', tail: 'hello', at: 11 }]);
      await plain.heartbeat('lab', 12, { sandboxCapable: true }); // a session that is no replica's
      await watch.barrier();
      assert.deepEqual(seen.splice(0), [], 'heartbeat times, log tails and other sessions are not announced');
      await leader.heartbeat('lab', 13, { sandboxCapable: false });
      await leader.createToken({ id: 'tok', role: 'member', orgId: 'acme', siteId: null, name: 't', secretHash: 'x', createdAt: 14 });
      await leader.revokeToken('tok', 15);
      await leader.addSiteKey({ siteId: 'lab', keyHash: 'h', verifierKey: 'v', createdAt: 16 });
      await leader.setOrgQuota('acme', { gpus: 64 });
      await watch.barrier();
      assert.deepEqual(seen.splice(0), ['sites lab', 'tokens tok', 'tokens tok', 'site_keys lab', 'org_quotas acme']);
      assert.equal(lost, null);
    } finally {
      await watch.close();
      await Promise.all([leader.close(), plain.close()]);
    }
    assert.equal(lost, null, 'closing is no loss');
  });

  test('the change feed: its connection ended is told (lost), and a barrier then rejects; the embedded store has none and says why', async () => {
    if (!server) throw new Error('PostgreSQL did not start');
    const store = await openStore({ databaseUrl: await server.createDatabase('feed_lost'), replica: 'a' });
    try {
      let told: (err: Error) => void = () => {};
      const lost = new Promise<Error>((resolve) => (told = resolve));
      const watch = await store.watchChanges({ change: () => {}, lost: (err) => told(err) });
      await watch.barrier();
      await server.sql(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'suanli-feed:a'`);
      assert.ok((await lost) instanceof Error);
      await assert.rejects(watch.barrier());
      await watch.close();
    } finally {
      await store.close();
    }
    const embedded = await openStore({ memory: true });
    try {
      await assert.rejects(embedded.watchChanges({ change: () => {}, lost: () => {} }), /embedded store has no change feed.*DATABASE_URL/);
    } finally {
      await embedded.close();
    }
  });

  test('storeFromEnv: DATABASE_URL wins over the data directory', async () => {
    if (!server) throw new Error('PostgreSQL did not start');
    const unused = '/nonexistent/suanli-data';
    const store = await storeFromEnv({ dataDir: unused }, { DATABASE_URL: await server.createDatabase('from_env') });
    try {
      assert.equal(store.kind, 'postgres');
    } finally {
      await store.close();
    }
    assert.equal(existsSync(unused), false);
  });
}
