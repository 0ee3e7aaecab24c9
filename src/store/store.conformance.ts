// The conformance suite every Store implementation runs (STYLE.md §9): embedded PGlite
// in src/store/store.test.ts, PostgreSQL 15 in test/store-postgres.test.ts. Each case
// gets a fresh, empty store from `open` and closes it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { JOB_STATES, StoreConflictError, type Job, type JobDemand, type LedgerEntry, type NewJob, type NewSite, type PlacementPart, type Store, type Transition } from './types.ts';

const demand = (gpus = 8): JobDemand => ({ gpus, gpuTypes: null, gang: true, estimateS: 3600, priority: 0, preemptible: true, checkpointIntervalS: null, command: null, plan: null });

const newJob = (orgId: string, name: string, idempotencyKey: string | null = null, at = 1000): NewJob => ({ orgId, name, demand: demand(), submittedBy: `${orgId}-user`, submittedAt: at, idempotencyKey });

const newSite = (id: string, orgId: string, createdAt = 10): NewSite => ({
  id,
  orgId,
  name: `site ${id}`,
  capacity: [{ gpuType: 'H100', nodes: 4, gpusPerNode: 8 }],
  pricePerGpuHour: 2.5,
  share: { lendFraction: 0.5, reclaim: true, reclaimNoticeS: 600 },
  wanLinks: [{ toSite: 'elsewhere', gbps: 100, latencyMs: 12 }],
  createdAt,
});

const part = (siteId: string, gpus = 8): PlacementPart => ({ siteId, gpuType: 'H100', gpus, nodes: 1 });

/** Orgs a and b, each with one site (sa, sb). */
async function twoOrgs(store: Store): Promise<void> {
  await store.createOrg({ id: 'a', name: 'Org A', createdAt: 1 });
  await store.createOrg({ id: 'b', name: 'Org B', createdAt: 2 });
  await store.createSite(newSite('sa', 'a'));
  await store.createSite(newSite('sb', 'b'));
}

/** Submits one job per name for `orgId` and returns their ids. */
async function submit(store: Store, orgId: string, ...names: string[]): Promise<string[]> {
  return (await store.submitJobs(names.map((n) => newJob(orgId, n)))).map((r) => r.job.id);
}

/** Numbers that strictly increase. */
const increasing = (xs: readonly number[]) => xs.every((x, i) => i === 0 || x > (xs[i - 1] ?? Infinity));

const place = (jobId: string, at: number, siteId = 'sa'): Transition => ({ jobId, from: ['pending'], to: 'placed', at, type: 'placed', placement: [part(siteId)] });
const start = (jobId: string, at: number): Transition => ({ jobId, from: ['placed'], to: 'running', at, type: 'started' });

const conflict = (constraint: RegExp) => (err: unknown) => err instanceof StoreConflictError && constraint.test(err.constraint);

const ids = (jobs: readonly { readonly id: string }[]) => jobs.map((j) => j.id);

/** A ledger entry of `gpuSeconds` ending at `at` on one GPU (attempt 1, succeeded). */
const usageEntry = (jobId: string, siteId: string, consumerOrgId: string, providerOrgId: string, gpuType: string, gpuSeconds: number, at: number): LedgerEntry => ({
  jobId, attempt: 1, siteId, consumerOrgId, providerOrgId, gpuType, gpus: 1, startAt: at - gpuSeconds * 1000, at, gpuSeconds, outcome: 'succeeded',
});

/** Logs every pending entry, as the server would, with stand-in notes and no subtree hashes. */
async function logPending(store: Store, loggedAt = 9000): Promise<void> {
  const pending = await store.pendingUsage({ endedBefore: Number.MAX_SAFE_INTEGER, limit: 10_000 });
  await store.appendLog(await store.logSize(), pending.map((p) => ({ entryId: p.id, note: `record ${p.id}\n`, writer: 'control-plane' as const, loggedAt })), []);
}

const CASES: Record<string, (store: Store) => Promise<void>> = {
  'orgs: create, get, list in creation order; unknown is null': async (store) => {
    assert.deepEqual(await store.createOrg({ id: 'b', name: 'Org B', createdAt: 1 }), { id: 'b', name: 'Org B', createdAt: 1 });
    await store.createOrg({ id: 'a', name: 'Org A', createdAt: 2 });
    assert.deepEqual(await store.getOrg('a'), { id: 'a', name: 'Org A', createdAt: 2 });
    assert.equal(await store.getOrg('nobody'), null);
    assert.deepEqual(ids(await store.listOrgs()), ['b', 'a']);
  },

  'orgs: a duplicate id is a StoreConflictError naming the constraint': async (store) => {
    await store.createOrg({ id: 'a', name: 'Org A', createdAt: 1 });
    await assert.rejects(store.createOrg({ id: 'a', name: 'again', createdAt: 2 }), (err) => conflict(/orgs_pkey/)(err) && (err as StoreConflictError).value === 'a');
    assert.deepEqual(await store.listOrgs(), [{ id: 'a', name: 'Org A', createdAt: 1 }]);
  },

  'tokens: create, find with hash, list by org, count, revoke once': async (store) => {
    await twoOrgs(store);
    const admin = await store.createToken({ id: 't-admin', role: 'admin', orgId: null, siteId: null, name: 'root', secretHash: 'h0', createdAt: 5 });
    assert.deepEqual(admin, { id: 't-admin', role: 'admin', orgId: null, siteId: null, name: 'root', createdAt: 5, revokedAt: null });
    await store.createToken({ id: 't-a', role: 'org-admin', orgId: 'a', siteId: null, name: 'a admin', secretHash: 'h1', createdAt: 6 });
    await store.createToken({ id: 't-agent', role: 'agent', orgId: 'a', siteId: 'sa', name: 'sa agent', secretHash: 'h2', createdAt: 7 });
    await store.createToken({ id: 't-b', role: 'member', orgId: 'b', siteId: null, name: 'b member', secretHash: 'h3', createdAt: 8 });

    const found = await store.findToken('t-agent');
    assert.equal(found?.secretHash, 'h2');
    assert.deepEqual(found?.token, { id: 't-agent', role: 'agent', orgId: 'a', siteId: 'sa', name: 'sa agent', createdAt: 7, revokedAt: null });
    assert.equal('secretHash' in (found?.token ?? {}), false, 'the token itself never carries the hash');
    assert.equal(await store.findToken('nope'), null);
    assert.deepEqual(ids(await store.listTokens('a')), ['t-a', 't-agent']);
    assert.deepEqual(ids(await store.listTokens()), ['t-admin', 't-a', 't-agent', 't-b']);
    assert.equal(await store.countTokens(), 4);

    assert.equal(await store.revokeToken('t-a', 100), true);
    assert.equal(await store.revokeToken('t-a', 200), true);
    assert.equal((await store.findToken('t-a'))?.token.revokedAt, 100, 'the first revocation time stays');
    assert.equal(await store.revokeToken('nope', 100), false);
  },

  'tokens: a duplicate id, an unknown org or site is a StoreConflictError': async (store) => {
    await twoOrgs(store);
    const token = { id: 't', role: 'member', orgId: 'a', siteId: null, name: 'x', secretHash: 'h', createdAt: 1 } as const;
    await store.createToken(token);
    await assert.rejects(store.createToken(token), conflict(/tokens_pkey/));
    await assert.rejects(store.createToken({ ...token, id: 't2', orgId: 'nobody' }), conflict(/org_id/));
    await assert.rejects(store.createToken({ ...token, id: 't3', siteId: 'nowhere' }), (err) => conflict(/site_id/)(err) && (err as StoreConflictError).value === 'nowhere');
    assert.equal(await store.countTokens(), 1);
  },

  'sites: create, get, list by org, update, heartbeat, health': async (store) => {
    await twoOrgs(store);
    const site = newSite('sa2', 'a', 20);
    const fresh = { ...site, health: 'unknown', lastHeartbeatAt: null, reportedCapacity: null, sandboxCapable: null, spanEndpoint: null };
    assert.deepEqual(await store.createSite(site), fresh);
    assert.deepEqual(await store.getSite('sa2'), fresh);
    assert.equal(await store.getSite('nowhere'), null);
    assert.deepEqual(ids(await store.listSites('a')), ['sa', 'sa2']);
    assert.deepEqual(ids(await store.listSites()), ['sa', 'sb', 'sa2']);

    const capacity = [{ gpuType: 'A100', nodes: 2, gpusPerNode: 4 }];
    const updated = await store.updateSite('sa2', { name: 'renamed', capacity, pricePerGpuHour: null });
    assert.deepEqual(updated, { ...fresh, name: 'renamed', capacity, pricePerGpuHour: null });
    assert.deepEqual(await store.updateSite('sa2', {}), updated, 'an empty patch changes nothing');
    assert.equal(await store.updateSite('nowhere', { name: 'x' }), null);
    // Two patches of different share fields at once: both hold (merged in the store, not read and written back).
    await Promise.all([store.updateSite('sa2', { share: { lendFraction: 0.25 } }), store.updateSite('sa2', { share: { reclaimNoticeS: 90 } })]);
    assert.deepEqual((await store.getSite('sa2'))?.share, { ...site.share, lendFraction: 0.25, reclaimNoticeS: 90 });
    const endpoint = { addresses: ['10.1.0.2', 'gw.example'], ports: { from: 29500, to: 29599 } };
    assert.deepEqual((await store.updateSite('sa2', { spanEndpoint: endpoint }))?.spanEndpoint, endpoint, 'where its runs take other sites’ connections');
    assert.deepEqual((await store.updateSite('sa2', { spanEndpoint: null }))?.spanEndpoint, null, 'and none again');
    assert.deepEqual((await store.createSite({ ...newSite('sa3', 'a', 30), spanEndpoint: endpoint })).spanEndpoint, endpoint);

    const reported = [{ gpuType: 'A100', nodes: 1, gpusPerNode: 4 }];
    assert.equal(await store.heartbeat('sa2', 500), true);
    assert.equal((await store.getSite('sa2'))?.lastHeartbeatAt, 500);
    assert.deepEqual((await store.getSite('sa2'))?.reportedCapacity, null, 'nothing reported yet');
    assert.equal(await store.heartbeat('sa2', 600, { capacity: reported, sandboxCapable: true }), true);
    const after = await store.getSite('sa2');
    assert.deepEqual([after?.capacity, after?.reportedCapacity, after?.sandboxCapable], [capacity, reported, true], 'the report is kept apart from the declared capacity');
    assert.equal(await store.heartbeat('sa2', 700, { sandboxCapable: false }), true);
    assert.deepEqual([(await store.getSite('sa2'))?.reportedCapacity, (await store.getSite('sa2'))?.sandboxCapable], [reported, false], 'a report without capacity keeps the last one');
    assert.equal(await store.heartbeat('nowhere', 600), false);
    assert.equal(await store.touchSites([{ siteId: 'sa2', at: 900 }, { siteId: 'nowhere', at: 900 }]), 1, 'many at once; unknown sites skipped');
    assert.equal((await store.getSite('sa2'))?.lastHeartbeatAt, 900);
    assert.deepEqual([(await store.getSite('sa2'))?.reportedCapacity, (await store.getSite('sa2'))?.sandboxCapable], [reported, false], 'only the time');
    assert.equal(await store.touchSites([{ siteId: 'sa2', at: 800 }]), 1);
    assert.equal((await store.getSite('sa2'))?.lastHeartbeatAt, 900, 'a time never moves back');
    assert.equal(await store.touchSites([]), 0);
    assert.deepEqual((await store.siteHeartbeats()).filter((t) => t.siteId === 'sa2'), [{ siteId: 'sa2', at: 900 }]);
    assert.equal((await store.siteHeartbeats()).length, (await store.listSites()).filter((x) => x.lastHeartbeatAt !== null).length, 'sites never heard from are left out');

    assert.equal(await store.setSiteHealth('sa2', 'up'), true);
    assert.equal((await store.getSite('sa2'))?.health, 'up');
    assert.equal(await store.setSiteHealth('sa2', 'lost'), true);
    assert.equal((await store.getSite('sa2'))?.health, 'lost');
    assert.equal(await store.setSiteHealth('nowhere', 'up'), false);
  },

  'leader lease: the first taker holds it; another takes it only once it expired (epoch + 1); a deposed holder cannot renew': async (store) => {
    assert.equal(await store.lease(), null, 'none ever taken');
    const first = await store.takeLease('a', 'http://a', 60_000);
    assert.deepEqual([first.holder, first.url, first.epoch], ['a', 'http://a', 1]);
    assert.ok(first.expiresAt > Date.now() + 50_000, 'expires on the database clock, ttl from now');
    const refused = await store.takeLease('b', 'http://b', 60_000);
    assert.deepEqual([refused.holder, refused.epoch], ['a', 1], 'held: the lease as it stands');
    assert.equal(await store.renewLease('a', 1), true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const taken = await store.takeLease('b', 'http://b', 60_000);
    assert.deepEqual([taken.holder, taken.url, taken.epoch], ['b', 'http://b', 2], 'expired: taken over, the fencing token one more');
    assert.equal(await store.renewLease('a', 60_000), false, 'the old holder holds it no more');
    assert.equal(await store.renewLease('b', 60_000), true);
    assert.deepEqual((await store.lease())?.holder, 'b');
  },

  'org quotas: none set at first; set, merged, removed with null; an unknown org is false': async (store) => {
    await twoOrgs(store);
    assert.deepEqual(await store.orgQuota('a'), {});
    assert.equal(await store.setOrgQuota('a', { sites: 3, gpus: 64 }), true);
    await Promise.all([store.setOrgQuota('a', { nodes: 8 }), store.setOrgQuota('a', { queuedJobs: 100 })]);
    assert.deepEqual(await store.orgQuota('a'), { sites: 3, gpus: 64, nodes: 8, queuedJobs: 100 });
    assert.equal(await store.setOrgQuota('a', { gpus: null, sites: 5 }), true);
    assert.deepEqual(await store.orgQuota('a'), { sites: 5, nodes: 8, queuedJobs: 100 });
    assert.deepEqual(await store.orgQuota('b'), {}, 'another org is untouched');
    assert.equal(await store.setOrgQuota('nobody', { sites: 1 }), false);
  },

  'sites: an unknown org or a duplicate id is a StoreConflictError': async (store) => {
    await twoOrgs(store);
    await assert.rejects(store.createSite(newSite('sx', 'nobody')), conflict(/org_id/));
    await assert.rejects(store.createSite(newSite('sa', 'a')), conflict(/sites_pkey/));
  },

  'submitJobs: results in input order, ids increasing, one submitted event per job': async (store) => {
    await twoOrgs(store);
    const results = await store.submitJobs([newJob('a', 'j1', null, 100), newJob('b', 'j2', 'k', 101), newJob('a', 'j3', null, 102)]);
    assert.deepEqual(results.map((r) => [r.job.name, r.job.orgId, r.created]), [['j1', 'a', true], ['j2', 'b', true], ['j3', 'a', true]]);
    assert.ok(increasing(results.map((r) => Number(r.job.id))), 'ids increase in input order');
    const { id = '' } = results[0]?.job ?? {};
    const job = { id, orgId: 'a', name: 'j1', state: 'pending', demand: demand(), submittedBy: 'a-user', submittedAt: 100, updatedAt: 100, attempts: 0, diagnosis: null };
    assert.deepEqual(results[0]?.job, job);
    assert.deepEqual(await store.getJob(id), job);
    assert.deepEqual(await store.events(id), [{ jobId: id, seq: 1, at: 100, type: 'submitted', fromState: null, toState: 'pending', detail: {} }]);
    const [later = ''] = await submit(store, 'a', 'j4');
    assert.ok(increasing([...results.map((r) => Number(r.job.id)), Number(later)]), 'a later batch gets later ids');
    assert.deepEqual(await store.submitJobs([]), []);
  },

  'submitJobs: an idempotency key names one job, within a batch, across batches, per org': async (store) => {
    await twoOrgs(store);
    const [first, repeat, other] = await store.submitJobs([newJob('a', 'first', 'k1'), newJob('a', 'repeat', 'k1'), newJob('a', 'other', 'k2')]);
    assert.equal(first?.created, true);
    assert.equal(repeat?.created, false, 'the same key again in the batch');
    assert.equal(repeat?.job.id, first?.job.id);
    assert.equal(repeat?.job.name, 'first', 'the first submission wins');
    assert.equal(other?.created, true);

    const [retry, keyless, otherOrg] = await store.submitJobs([newJob('a', 'retry', 'k1'), newJob('a', 'keyless'), newJob('b', 'b too', 'k1')]);
    assert.deepEqual(retry, { job: first?.job, created: false });
    assert.equal(keyless?.created, true);
    assert.equal(otherOrg?.created, true, 'keys are per org');
    assert.notEqual(otherOrg?.job.id, first?.job.id);
    assert.equal((await store.events(first?.job.id ?? '')).length, 1, 'a retry adds no event');
    assert.equal((await store.listJobs({ limit: 100 })).length, 4);
  },

  'submitJobs: concurrent submissions with one key make one job': async (store) => {
    await twoOrgs(store);
    const results = await Promise.all([1, 2, 3, 4].map((i) => store.submitJobs([newJob('a', `try ${i}`, 'same')])));
    const flat = results.flat();
    assert.equal(flat.filter((r) => r.created).length, 1);
    assert.equal(new Set(flat.map((r) => r.job.id)).size, 1);
    assert.equal((await store.listJobs({ limit: 100 })).length, 1);
  },

  'submitJobs: a batch larger than one INSERT keeps order and keys': async (store) => {
    await twoOrgs(store);
    // Odd inputs have no key; even input i has key k(i mod 1100), first seen at input i mod 1100.
    const inputs = Array.from({ length: 2500 }, (_, i) => newJob('a', `j${i}`, i % 2 === 0 ? `k${i % 1100}` : null));
    const results = await store.submitJobs(inputs);
    assert.equal(results.length, 2500);
    results.forEach((r, i) => {
      const first = i % 2 === 1 || i < 1100;
      assert.equal(r.job.name, first ? `j${i}` : `j${i % 1100}`, `input ${i}`);
      assert.equal(r.created, first, `input ${i}`);
    });
    assert.ok(increasing(results.filter((r) => r.created).map((r) => Number(r.job.id))), 'created ids follow input order');
    assert.equal((await store.listJobs({ limit: 5000 })).length, 1250 + 550);
  },

  'submitJobs: a job for an unknown org is a StoreConflictError and the whole batch is undone': async (store) => {
    await twoOrgs(store);
    await assert.rejects(store.submitJobs([newJob('a', 'fine'), newJob('nobody', 'orphan')]), conflict(/org_id/));
    assert.deepEqual(await store.listJobs({ limit: 10 }), []);
  },

  'listJobs: by org, by states, after a cursor, up to a limit': async (store) => {
    await twoOrgs(store);
    const [a1, b1, a2 = '', a3 = ''] = (await store.submitJobs([newJob('a', 'a1'), newJob('b', 'b1'), newJob('a', 'a2'), newJob('a', 'a3')])).map((r) => r.job.id);
    await store.transition([place(a2, 2000)]);
    assert.deepEqual(ids(await store.listJobs({ limit: 10 })), [a1, b1, a2, a3]);
    assert.deepEqual(ids(await store.listJobs({ orgId: 'a', limit: 10 })), [a1, a2, a3]);
    assert.deepEqual(ids(await store.listJobs({ orgId: 'a', states: ['pending'], limit: 10 })), [a1, a3]);
    assert.deepEqual(ids(await store.listJobs({ states: ['placed', 'running'], limit: 10 })), [a2]);
    assert.deepEqual(ids(await store.listJobs({ states: [], limit: 10 })), []);
    assert.deepEqual(ids(await store.listJobs({ orgId: 'a', limit: 2 })), [a1, a2]);
    assert.deepEqual(ids(await store.listJobs({ orgId: 'a', after: a2, limit: 2 })), [a3]);
    assert.deepEqual(ids(await store.listJobs({ after: a3, limit: 2 })), []);
    assert.deepEqual(ids(await store.listJobs({ orgId: 'nobody', limit: 10 })), []);
    await assert.rejects(store.listJobs({ after: 'x1', limit: 2 }), { code: 'invalid_input' });
  },

  'listJobs: newest first, a cursor walking either order, search by id or name in any case with % and _ taken literally': async (store) => {
    await twoOrgs(store);
    const names = ['Render 50%', 'render_v2', 'renderXv2', 'train', 'b job'];
    const [r1 = '', r2 = '', r3 = '', t1 = '', b1 = ''] = (await store.submitJobs(names.map((n) => newJob(n === 'b job' ? 'b' : 'a', n)))).map((r) => r.job.id);
    assert.deepEqual(ids(await store.listJobs({ order: 'newest', limit: 10 })), [b1, t1, r3, r2, r1]);
    assert.deepEqual(ids(await store.listJobs({ order: 'oldest', limit: 10 })), [r1, r2, r3, t1, b1]);
    // Page by page, each order from its cursor: every job once, none skipped.
    for (const order of ['newest', 'oldest'] as const) {
      const seen: string[] = [];
      let page = await store.listJobs({ orgId: 'a', order, limit: 2 });
      while (page.length > 0) {
        seen.push(...ids(page));
        page = await store.listJobs({ orgId: 'a', order, after: page.at(-1)?.id ?? '', limit: 2 });
      }
      assert.deepEqual(seen, order === 'newest' ? [t1, r3, r2, r1] : [r1, r2, r3, t1], order);
    }
    assert.deepEqual(ids(await store.listJobs({ order: 'newest', after: r1, limit: 10 })), []);
    assert.deepEqual(ids(await store.listJobs({ order: 'newest', after: b1, limit: 10 })), [t1, r3, r2, r1]);
    // Search: a case-insensitive substring of the name, or of the id.
    assert.deepEqual(ids(await store.listJobs({ search: 'RENDER', order: 'newest', limit: 10 })), [r3, r2, r1]);
    assert.deepEqual(ids(await store.listJobs({ search: '_', limit: 10 })), [r2], '_ is no wildcard');
    assert.deepEqual(ids(await store.listJobs({ search: '%', limit: 10 })), [r1], '% is no wildcard');
    assert.deepEqual(ids(await store.listJobs({ search: 'r_v', limit: 10 })), [r2]);
    assert.deepEqual(ids(await store.listJobs({ search: '\\', limit: 10 })), [], 'a backslash is no escape either');
    assert.deepEqual(ids(await store.listJobs({ search: t1, limit: 10 })), [t1], 'by id');
    assert.deepEqual(ids(await store.listJobs({ search: 'job', orgId: 'a', limit: 10 })), [], 'within the org');
    assert.deepEqual(ids(await store.listJobs({ search: '', limit: 10 })), [r1, r2, r3, t1, b1], 'empty: every job');
    assert.deepEqual(ids(await store.listJobs({ search: 'render', order: 'newest', after: r3, limit: 10 })), [r2, r1], 'with a cursor');
  },

  'latestPlacements: each job’s latest attempt in one call; none for a job never placed or an id that names none': async (store) => {
    await twoOrgs(store);
    const [j1 = '', j2 = '', j3 = ''] = await submit(store, 'a', 'one', 'two', 'three');
    await store.transition([place(j1, 2000), place(j2, 2000, 'sb')]);
    await store.transition([start(j1, 2500)]);
    // j1 runs, is requeued and placed again: its latest attempt is the second.
    await store.transition([{ jobId: j1, from: ['running'], to: 'pending', at: 3000, type: 'requeued' }]);
    await store.transition([place(j1, 4000, 'sb')]);
    const latest = await store.latestPlacements([j1, j2, j3, 'x', '999999']);
    const byJob = new Map(latest.map((p) => [p.jobId, p]));
    assert.equal(latest.length, 2);
    assert.deepEqual([byJob.get(j1)?.attempt, byJob.get(j1)?.parts.map((p) => p.siteId), byJob.get(j1)?.placedAt, byJob.get(j1)?.startedAt], [2, ['sb'], 4000, null]);
    assert.deepEqual([byJob.get(j2)?.attempt, byJob.get(j2)?.parts.map((p) => p.siteId)], [1, ['sb']]);
    assert.deepEqual(await store.latestPlacements([]), []);
  },

  'tokensById: the tokens that exist among the ids, revoked ones too': async (store) => {
    await twoOrgs(store);
    await store.createToken({ id: 't1', role: 'member', orgId: 'a', siteId: null, name: 'alice', secretHash: 'h', createdAt: 5 });
    await store.createToken({ id: 't2', role: 'admin', orgId: null, siteId: null, name: 'root', secretHash: 'h', createdAt: 6 });
    await store.revokeToken('t2', 7);
    const found = await store.tokensById(['t2', 't1', 't1', 'nobody']);
    assert.deepEqual(found.map((t) => [t.id, t.name, t.orgId, t.revokedAt]).sort(), [['t1', 'alice', 'a', null], ['t2', 'root', null, 7]]);
    assert.deepEqual(await store.tokensById([]), []);
  },

  'getJob, events, placements: an id that names no job gives null or nothing': async (store) => {
    await twoOrgs(store);
    await submit(store, 'a', 'j');
    for (const id of ['999999', 'x', '', '01', '-1', '1e3', '99999999999999999999']) {
      assert.equal(await store.getJob(id), null, id);
      assert.deepEqual(await store.events(id), [], id);
      assert.deepEqual(await store.placements(id), [], id);
    }
  },

  'transition: a job moves through its life; events, placements and attempts follow': async (store) => {
    await twoOrgs(store);
    const [id = ''] = await submit(store, 'b', 'train');
    const [placed] = await store.transition([place(id, 2000)]);
    assert.equal(placed?.state, 'placed');
    assert.equal(placed?.attempts, 1);
    assert.equal(placed?.updatedAt, 2000);
    assert.deepEqual(await store.placements(id), [{ jobId: id, attempt: 1, parts: [part('sa')], placedAt: 2000, startedAt: null, endedAt: null }]);

    const [running] = await store.transition([start(id, 2100)]);
    assert.equal(running?.state, 'running');
    assert.equal((await store.placements(id))[0]?.startedAt, 2100);

    const [preempted] = await store.transition([{ jobId: id, from: ['running'], to: 'preempted', at: 3000, type: 'preempted', detail: { why: 'reclaim' } }]);
    assert.equal(preempted?.state, 'preempted');
    assert.equal((await store.placements(id))[0]?.endedAt, 3000, 'leaving running ends the placement');

    const diagnosis = { reasons: { too_few_free: 2 } };
    const [requeued] = await store.transition([{ jobId: id, from: ['preempted'], to: 'pending', at: 3001, type: 'requeued', diagnosis }]);
    assert.deepEqual(requeued?.diagnosis, diagnosis);
    const [again] = await store.transition([place(id, 4000, 'sb')]);
    assert.equal(again?.attempts, 2);
    assert.equal(again?.diagnosis, null, 'a placed job has no diagnosis');
    // Started and finished in one batch: the second change sees the first.
    const [, finished] = await store.transition([start(id, 4100), { jobId: id, from: ['running'], to: 'succeeded', at: 9000, type: 'finished' }]);
    assert.equal(finished?.state, 'succeeded');
    assert.equal(finished?.attempts, 2);

    assert.deepEqual(await store.placements(id), [
      { jobId: id, attempt: 1, parts: [part('sa')], placedAt: 2000, startedAt: 2100, endedAt: 3000 },
      { jobId: id, attempt: 2, parts: [part('sb')], placedAt: 4000, startedAt: 4100, endedAt: 9000 },
    ]);
    const events = await store.events(id);
    assert.deepEqual(events.map((e) => e.seq), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(events.map((e) => [e.type, e.fromState, e.toState, e.at]), [
      ['submitted', null, 'pending', 1000],
      ['placed', 'pending', 'placed', 2000],
      ['started', 'placed', 'running', 2100],
      ['preempted', 'running', 'preempted', 3000],
      ['requeued', 'preempted', 'pending', 3001],
      ['placed', 'pending', 'placed', 4000],
      ['started', 'placed', 'running', 4100],
      ['finished', 'running', 'succeeded', 9000],
    ]);
    assert.deepEqual(events[3]?.detail, { why: 'reclaim' });
  },

  'transition: applies only from the allowed states; otherwise null and nothing changes': async (store) => {
    await twoOrgs(store);
    const [id1 = '', id2 = ''] = await submit(store, 'a', 'j1', 'j2');
    const before = await store.getJob(id1);
    const results = await store.transition([start(id1, 2000), place(id2, 2000), { jobId: '424242', from: ['pending'], to: 'cancelled', at: 2000, type: 'cancelled' }, { jobId: 'junk', from: ['pending'], to: 'cancelled', at: 2000, type: 'cancelled' }]);
    assert.deepEqual(results.map((j) => j?.state ?? null), [null, 'placed', null, null]);
    assert.deepEqual(await store.getJob(id1), before, 'a transition that did not apply leaves the job as it was');
    assert.equal((await store.events(id1)).length, 1);
    assert.deepEqual(await store.placements(id1), []);
    assert.deepEqual(await store.transition([]), []);
  },

  'transition: with an attempt, applies only while the job is at that attempt (a late report of an earlier run changes nothing)': async (store) => {
    await twoOrgs(store);
    const [id = ''] = await submit(store, 'a', 'j');
    await store.transition([place(id, 2000)]);
    await store.transition([{ jobId: id, from: ['placed'], to: 'preempted', at: 2100, type: 'coallocation_failed' }, { jobId: id, from: ['preempted'], to: 'pending', at: 2100, type: 'requeued' }, place(id, 2200)]);
    const stale = await store.transition([{ ...start(id, 2300), attempt: 1 }]);
    assert.deepEqual(stale, [null], 'attempt 1 is over: its start does not move attempt 2');
    assert.equal((await store.getJob(id))?.state, 'placed');
    const [now] = await store.transition([{ ...start(id, 2400), attempt: 2 }]);
    assert.deepEqual([now?.state, now?.attempts], ['running', 2]);
  },

  'transition: a batch does what its changes do one at a time, in order (property)': async (store) => {
    await twoOrgs(store);
    const change = (jobs: number) =>
      fc.record({
        job: fc.nat({ max: jobs - 1 }),
        from: fc.subarray([...JOB_STATES], { minLength: 1 }),
        to: fc.constantFrom(...JOB_STATES),
        diagnosis: fc.option(fc.option(fc.record({ n: fc.nat() }), { nil: null }), { nil: undefined }),
        detail: fc.option(fc.record({ why: fc.string({ maxLength: 3 }) }), { nil: undefined }),
      });
    const batches = fc.integer({ min: 1, max: 4 }).chain((jobs) => fc.tuple(fc.constant(jobs), fc.array(change(jobs), { minLength: 1, maxLength: 12 })));
    await fc.assert(
      fc.asyncProperty(batches, async ([jobs, drawn]) => {
        const names = Array.from({ length: jobs }, (_, i) => `j${i}`);
        const [batched, oneByOne] = [await submit(store, 'a', ...names), await submit(store, 'b', ...names)];
        const changesFor = (ids: readonly string[]): Transition[] =>
          drawn.map((c, i) => ({
            jobId: ids[c.job] ?? '',
            from: c.from,
            to: c.to,
            at: 2000 + i,
            type: `move ${i}`,
            ...(c.to === 'placed' ? { placement: [part(i % 2 === 0 ? 'sa' : 'sb', i + 1)] } : {}),
            ...(c.diagnosis === undefined ? {} : { diagnosis: c.diagnosis }),
            ...(c.detail === undefined ? {} : { detail: c.detail }),
          }));
        const together = await store.transition(changesFor(batched));
        const apart: (Job | null)[] = [];
        for (const c of changesFor(oneByOne)) apart.push(...(await store.transition([c])));
        // What each side did, with its own job ids and org replaced by the job's number.
        const seen = async (ids: readonly string[], results: readonly (Job | null)[]) => {
          const number = (id: string) => ids.indexOf(id);
          const job = (j: Job | null) => j && { ...j, id: number(j.id), orgId: '', submittedBy: '' };
          return {
            results: results.map(job),
            jobs: await Promise.all(ids.map(async (id) => job(await store.getJob(id)))),
            placements: await Promise.all(ids.map(async (id) => (await store.placements(id)).map((p) => ({ ...p, jobId: number(p.jobId) })))),
            events: await Promise.all(ids.map(async (id) => (await store.events(id)).map((e) => ({ ...e, jobId: number(e.jobId) })))),
          };
        };
        assert.deepEqual(await seen(batched, together), await seen(oneByOne, apart));
      }),
      { numRuns: 25 },
    );
  },

  'transition: a placement comes with a move to placed, and only then, with one part or more': async (store) => {
    await twoOrgs(store);
    const [id = ''] = await submit(store, 'a', 'j');
    const before = await store.getJob(id);
    await assert.rejects(store.transition([{ jobId: id, from: ['pending'], to: 'placed', at: 1, type: 'placed' }]), { code: 'invalid_input' });
    await assert.rejects(store.transition([{ jobId: id, from: ['pending'], to: 'placed', at: 1, type: 'placed', placement: [] }]), { code: 'invalid_input', field: 'placement', message: /no parts/ });
    await assert.rejects(store.transition([{ jobId: id, from: ['pending'], to: 'running', at: 1, type: 'started', placement: [part('sa')] }]), { code: 'invalid_input' });
    assert.deepEqual(await store.getJob(id), before);
  },

  'transition: concurrent moves of one job, exactly one wins': async (store) => {
    await twoOrgs(store);
    const [id = ''] = await submit(store, 'a', 'contested');
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => store.transition([place(id, 2000 + i, i % 2 === 0 ? 'sa' : 'sb')])));
    assert.equal(results.filter(([j]) => j !== null).length, 1);
    assert.equal((await store.getJob(id))?.attempts, 1);
    assert.equal((await store.placements(id)).length, 1);
    assert.deepEqual((await store.events(id)).map((e) => e.seq), [1, 2]);
  },

  'transition: concurrent batches over the same jobs in opposite orders all apply, with gapless seqs': async (store) => {
    await twoOrgs(store);
    const [a = '', b = ''] = await submit(store, 'a', 'a', 'b');
    const requeue = (jobId: string, at: number): Transition => ({ jobId, from: ['pending'], to: 'pending', at, type: 'requeued' });
    for (let round = 0; round < 10; round++) {
      const results = await Promise.all([store.transition([requeue(a, round), requeue(b, round)]), store.transition([requeue(b, round), requeue(a, round)])]);
      assert.equal(results.flat().filter((j) => j === null).length, 0);
    }
    for (const id of [a, b]) assert.deepEqual((await store.events(id)).map((e) => e.seq), Array.from({ length: 21 }, (_, i) => i + 1));
  },

  'transition: a batch that fails midway leaves nothing changed': async (store) => {
    await twoOrgs(store);
    const [id1 = '', id2 = ''] = await submit(store, 'b', 'j1', 'j2');
    const [j1, j2] = [await store.getJob(id1), await store.getJob(id2)];
    const entry = (siteId: string): LedgerEntry => usageEntry(id1, siteId, 'b', 'a', 'H100', 3600, 2000);
    await assert.rejects(store.transition([place(id1, 2000), place(id2, 2000)], [entry('sa'), entry('nowhere')]), conflict(/site_id/));
    assert.deepEqual(await store.getJob(id1), j1);
    assert.deepEqual(await store.getJob(id2), j2);
    assert.equal((await store.events(id1)).length, 1);
    assert.deepEqual(await store.placements(id1), []);
    assert.deepEqual(await store.activePlacements(), []);
    assert.deepEqual(await store.ledger(), []);
  },

  'transitions: concurrent transactions, one rolled back, leave exactly the others': async (store) => {
    await twoOrgs(store);
    const [j1 = '', j2 = '', j3 = ''] = await submit(store, 'b', 'j1', 'j2', 'j3');
    const outcomes = await Promise.allSettled([
      store.submitJobs([newJob('a', 'x1'), newJob('a', 'x2')]),
      store.transition([place(j1, 2000)], [usageEntry(j1, 'nowhere', 'b', 'a', 'H100', 1, 2000)]),
      store.transition([place(j2, 2000)]),
      store.submitJobs([newJob('a', 'y1'), newJob('nobody', 'y2')]),
      store.transition([{ jobId: j3, from: ['pending'], to: 'cancelled', at: 2000, type: 'cancelled' }]),
    ]);
    assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    const jobs = await store.listJobs({ limit: 100 });
    assert.deepEqual(jobs.map((j) => [j.name, j.state]).sort(), [['j1', 'pending'], ['j2', 'placed'], ['j3', 'cancelled'], ['x1', 'pending'], ['x2', 'pending']]);
    assert.equal((await store.events(j1)).length, 1);
    assert.equal((await store.events(j2)).length, 2);
    assert.deepEqual((await store.activePlacements()).map((p) => p.jobId), [j2]);
  },

  'setDiagnoses: updates waiting jobs only, adds no events, null clears': async (store) => {
    await twoOrgs(store);
    const [w = '', p = ''] = await submit(store, 'a', 'waiting', 'placed');
    const waiting = await store.getJob(w);
    await store.transition([place(p, 2000)]);
    const why = { summary: '0/2 sites fit', reasons: { too_few_free: 2 } };
    await store.setDiagnoses(new Map([[w, why], [p, why], ['424242', why], ['junk', why]]));
    assert.deepEqual((await store.getJob(w))?.diagnosis, why);
    assert.equal((await store.getJob(p))?.diagnosis, null);
    assert.equal((await store.events(w)).length, 1);
    assert.equal((await store.getJob(w))?.updatedAt, waiting?.updatedAt);
    await store.setDiagnoses(new Map([[w, null]]));
    assert.equal((await store.getJob(w))?.diagnosis, null);
    await store.setDiagnoses(new Map());
  },

  'setLogTails: each site of an attempt keeps its own newest tail, the last given wins; unknown attempts, jobs and sites are refused': async (store) => {
    await twoOrgs(store);
    const [id = '', other = ''] = await submit(store, 'a', 'placed', 'other');
    await store.transition([place(id, 2000), place(other, 2000)]);
    const tail = (jobId: string, attempt: number, siteId: string, text: string, at: number) => ({ jobId, attempt, siteId, tail: text, at });
    assert.deepEqual(await store.logTails(id), []);
    assert.deepEqual(await store.setLogTails([tail(id, 1, 'sa', 'step 1\n', 3000)]), [true]);
    assert.deepEqual(
      await store.setLogTails([
        tail(id, 1, 'sa', 'step 1\nstep 2\n', 4000), tail(id, 2, 'sa', 'x', 5000), tail(id, 1, 'sb', 'x', 5000), tail(id, 1, 'nowhere', 'x', 5000),
        tail('424242', 1, 'sa', 'x', 5000), tail('junk', 1, 'sa', 'x', 5000), tail(other, 1, 'sa', 'a', 4000), tail(other, 1, 'sa', 'b', 4500),
      ]),
      [true, false, false, false, false, false, true, true],
      'no attempt 2, no part on sb, no site "nowhere", no job 424242, no job "junk"',
    );
    assert.deepEqual(await store.logTails(id), [tail(id, 1, 'sa', 'step 1\nstep 2\n', 4000)]);
    assert.deepEqual(await store.logTails(other), [tail(other, 1, 'sa', 'b', 4500)], 'the last given wins');
    assert.deepEqual(await store.logTails('junk'), []);
    assert.deepEqual(await store.setLogTails([]), []);
  },

  'setLogTails: an attempt across sites keeps a tail per site, and a site that left keeps its last one': async (store) => {
    await twoOrgs(store);
    const [id = ''] = await submit(store, 'b', 'spanning');
    const two = [part('sa'), part('sb')];
    await store.transition([{ jobId: id, from: ['pending'], to: 'placed', at: 2000, type: 'placed', placement: two }]);
    const tail = (siteId: string, text: string, at: number) => ({ jobId: id, attempt: 1, siteId, tail: text, at });
    assert.deepEqual(await store.setLogTails([tail('sb', 'b: step 1\n', 3000), tail('sa', 'a: step 1\n', 3100)]), [true, true], 'two sites in one batch');
    assert.deepEqual(await store.setLogTails([tail('sa', 'a: step 2\n', 3200)]), [true]);
    assert.deepEqual(await store.logTails(id), [tail('sa', 'a: step 2\n', 3200), tail('sb', 'b: step 1\n', 3000)], 'a new tail of one site leaves the other’s');
    assert.equal(await store.updateParts(id, 1, two, [part('sa')], { at: 3300, type: 'shrunk', detail: { site: 'sb' } }), true);
    assert.deepEqual(await store.setLogTails([tail('sb', 'b: late\n', 3400), tail('sa', 'a: step 3\n', 3400)]), [false, true], 'sb has no part any more');
    assert.deepEqual(await store.logTails(id), [tail('sa', 'a: step 3\n', 3400), tail('sb', 'b: step 1\n', 3000)], 'sb keeps where its log ended');
  },

  'updateParts: compare and set on the current placement, with an event and ledger entries in one transaction': async (store) => {
    await twoOrgs(store);
    const [id = ''] = await submit(store, 'b', 'spanning');
    const two = [part('sa'), part('sb')];
    await store.transition([{ jobId: id, from: ['pending'], to: 'placed', at: 2000, type: 'placed', placement: two }]);
    const acked = [{ ...part('sa'), startedAt: 2100 }, part('sb')];
    assert.equal(await store.updateParts(id, 1, two, acked, { at: 2100, type: 'part_started', detail: { site: 'sa' } }), true);
    assert.deepEqual((await store.placements(id))[0]?.parts, acked);
    assert.equal(await store.updateParts(id, 1, two, [part('sb')], { at: 2200, type: 'x', detail: {} }), false, 'the parts changed meanwhile: nothing is written');
    assert.equal(await store.updateParts(id, 2, acked, [part('sb')], { at: 2200, type: 'x', detail: {} }), false, 'no attempt 2');
    assert.equal(await store.updateParts('424242', 1, acked, [], { at: 2200, type: 'x', detail: {} }), false);
    assert.equal(await store.updateParts('junk', 1, acked, [], { at: 2200, type: 'x', detail: {} }), false);
    const used = usageEntry(id, 'sa', 'b', 'a', 'H100', 3600, 2300);
    assert.equal(await store.updateParts(id, 1, acked, [part('sb')], { at: 2300, type: 'shrunk', detail: { site: 'sa' } }, [used]), true);
    await logPending(store);
    const events = await store.events(id);
    assert.deepEqual(events.slice(-2).map((e) => [e.type, e.fromState, e.toState, e.detail]), [['part_started', 'placed', 'placed', { site: 'sa' }], ['shrunk', 'placed', 'placed', { site: 'sa' }]]);
    assert.equal((await store.ledger('b')).find((r) => r.orgId === 'b')?.consumedGpuH, 1);
    // An event alone (a spanning job's new membership), on the current attempt only.
    assert.equal(await store.addEvent(id, 1, { at: 2350, type: 'membership', detail: { generation: 2 } }), true);
    assert.equal(await store.addEvent(id, 2, { at: 2350, type: 'x', detail: {} }), false, 'no attempt 2');
    assert.equal(await store.addEvent('junk', 1, { at: 2350, type: 'x', detail: {} }), false);
    assert.deepEqual((await store.events(id)).at(-1), { jobId: id, seq: events.length + 1, at: 2350, type: 'membership', fromState: 'placed', toState: 'placed', detail: { generation: 2 } });
    await store.transition([{ jobId: id, from: ['placed'], to: 'cancelled', at: 2400, type: 'cancelled' }]);
    assert.equal(await store.updateParts(id, 1, [part('sb')], [], { at: 2500, type: 'x', detail: {} }), false, 'a job no longer placed or running');
    assert.equal(await store.addEvent(id, 1, { at: 2500, type: 'x', detail: {} }), false, 'nor an event alone');
  },

  'span metrics: each part’s outer steps summed, each step once and in order': async (store) => {
    await twoOrgs(store);
    const [id = ''] = await submit(store, 'b', 'spanning');
    const step = (n: number, loss: number | null = 1 / n) => ({ step: n, computeS: 10, syncS: 0.5, waitS: 0.125 * n, loss, at: 5000 + n });
    assert.equal(await store.addSpanStep(id, 1, 'sa', step(2)), false, 'not the first step first');
    assert.equal(await store.addSpanStep(id, 1, 'sa', step(1)), true);
    assert.equal(await store.addSpanStep(id, 1, 'sa', step(1)), false, 'a repeat adds nothing');
    assert.equal(await store.addSpanStep(id, 1, 'sa', step(2)), true);
    assert.equal(await store.addSpanStep(id, 1, 'sa', step(4)), false, 'a gap adds nothing');
    assert.equal(await store.addSpanStep(id, 1, 'sb', step(1, null)), true);
    assert.equal(await store.addSpanStep('junk', 1, 'sa', step(1)), false);
    assert.deepEqual(await store.spanMetrics(id), [
      { jobId: id, attempt: 1, siteId: 'sa', steps: 2, computeS: 20, syncS: 1, waitS: 0.375, firstLoss: 1, lastLoss: 0.5, updatedAt: 5002 },
      { jobId: id, attempt: 1, siteId: 'sb', steps: 1, computeS: 10, syncS: 0.5, waitS: 0.125, firstLoss: null, lastLoss: null, updatedAt: 5001 },
    ]);
    assert.deepEqual(await store.spanMetrics('424242'), []);
  },

  'activeJobs and activePlacements: what the live scheduler reloads': async (store) => {
    await twoOrgs(store);
    const [pending = '', placed = '', running = '', failed = '', cancelled = '', preempted = ''] = await submit(store, 'a', 'pending', 'placed', 'running', 'failed', 'cancelled', 'preempted');
    await store.transition([place(placed, 2000), place(running, 2000), start(running, 2001), place(failed, 2000), start(failed, 2001), place(preempted, 2000)]);
    await store.transition([
      { jobId: failed, from: ['running'], to: 'failed', at: 3000, type: 'failed' },
      { jobId: cancelled, from: ['pending'], to: 'cancelled', at: 3000, type: 'cancelled' },
      { jobId: preempted, from: ['placed'], to: 'preempted', at: 3000, type: 'preempted' },
    ]);
    assert.deepEqual(ids(await store.activeJobs()), [pending, placed, running, preempted]);
    const active = await store.activePlacements();
    assert.deepEqual(active.map((p) => [p.jobId, p.attempt, p.startedAt, p.endedAt]), [[placed, 1, null, null], [running, 1, 2001, null]]);
    // Of some jobs only (what a follower reads for the jobs another replica changed): those of them still active.
    assert.deepEqual(ids(await store.activeJobs([running, failed, 'not-a-job', '99999999', pending])), [pending, running]);
    assert.deepEqual((await store.activePlacements([failed, running, 'x'])).map((p) => p.jobId), [running]);
    assert.deepEqual(await store.activeJobs([]), []);
  },

  'usage log: pending entries, appends at the end only, entries and nodes read back, checkpoints, cosignatures': async (store) => {
    await twoOrgs(store);
    const [aJob = '', bJob = ''] = await submit(store, 'a', 'a job', 'b job');
    await store.transition([], [usageEntry(aJob, 'sa', 'a', 'a', 'H100', 60, 5000), usageEntry(bJob, 'sb', 'a', 'b', 'A100', 120, 6000), usageEntry(bJob, 'sa', 'a', 'a', 'H100', 30, 7000)]);
    const pendingA = await store.pendingUsage({ siteId: 'sa', limit: 10 });
    assert.deepEqual(pendingA.map((p) => [p.jobId, p.gpuSeconds, p.startAt, p.outcome]), [[aJob, 60, -55_000, 'succeeded'], [bJob, 30, -23_000, 'succeeded']]);
    assert.deepEqual((await store.pendingUsage({ endedBefore: 6500, limit: 10 })).map((p) => p.at), [5000, 6000]);
    const [first, second] = pendingA;
    assert.ok(first !== undefined && second !== undefined);
    const sbEntry = (await store.pendingUsage({ siteId: 'sb', limit: 10 }))[0]!.id;
    assert.deepEqual((await store.pendingUsage({ siteId: 'sa', ids: [second.id, sbEntry, 999_999, first.id] })).map((p) => p.id), [first.id, second.id], "by id: the site's own, pending, oldest first");
    assert.deepEqual(await store.pendingUsage({ siteId: 'sa', ids: [] }), []);
    assert.deepEqual((await store.sitesWithPendingUsage()).sort(), ['sa', 'sb'], 'each site once');
    const node = (level: number, index: number, byte: number) => ({ level, index, hash: new Uint8Array(32).fill(byte) });
    await store.appendLog(0, [{ entryId: first.id, note: 'one\n', writer: 'site', loggedAt: 7100 }], [node(0, 0, 1)]);
    await assert.rejects(store.appendLog(0, [{ entryId: second.id, note: 'two\n', writer: 'site', loggedAt: 7200 }], []), conflict(/log_entries_size/), 'not at the end: refused');
    await assert.rejects(store.appendLog(1, [{ entryId: first.id, note: 'again\n', writer: 'site', loggedAt: 7200 }], []), conflict(/ledger_entries_logged_idx|entry_id/), 'an entry logged twice');
    await store.appendLog(1, [{ entryId: second.id, note: 'two\n', writer: 'control-plane', loggedAt: 7300 }], [node(0, 1, 2), node(1, 0, 3)]);
    assert.equal(await store.logSize(), 2);
    assert.deepEqual(await store.pendingUsage({ siteId: 'sa', limit: 10 }), []);
    assert.deepEqual(await store.sitesWithPendingUsage(), ['sb'], 'sa has none left');
    assert.deepEqual((await store.logEntries(0, 5)).map((e) => [e.index, e.note, e.writer, e.loggedAt]), [[0, 'one\n', 'site', 7100], [1, 'two\n', 'control-plane', 7300]]);
    assert.deepEqual((await store.logEntriesOf('b', 0, 10)).map((e) => e.index), [], 'b consumed and provided nothing logged yet');
    assert.deepEqual((await store.logNodes([{ level: 1, index: 0 }, { level: 0, index: 1 }])).map((n) => [n.level, n.index, n.hash[0], n.hash.length]), [[1, 0, 3, 32], [0, 1, 2, 32]]);
    await assert.rejects(store.logNodes([{ level: 2, index: 0 }]), conflict(/log_nodes/));
    assert.deepEqual((await store.ledger('a')).map((r) => [r.gpuType, r.ownGpuH]), [['H100', 90 / 3600]], 'only logged entries count');
    assert.deepEqual((await store.ledger('a', 1)).map((r) => [r.gpuType, r.ownGpuH]), [['H100', 60 / 3600]], 'as of the log at size 1: its first entry only');
    assert.deepEqual(await store.ledger(undefined, 0), []);

    assert.equal(await store.checkpoint(), null);
    await store.saveCheckpoint({ size: 1, note: 'cp1\n', at: 7150 });
    await store.saveCheckpoint({ size: 2, note: 'cp2\n', at: 7350 });
    await assert.rejects(store.saveCheckpoint({ size: 2, note: 'other\n', at: 7400 }), conflict(/log_checkpoints/), 'a size is checkpointed once');
    assert.deepEqual(await store.checkpoint(), { size: 2, note: 'cp2\n', at: 7350 });
    assert.deepEqual(await store.checkpoint(1), { size: 1, note: 'cp1\n', at: 7150 });
    assert.equal(await store.addCosignature(2, 'w1', '— w1 AAAA\n', 7400), true);
    assert.equal(await store.addCosignature(2, 'w1', '— w1 BBBB\n', 7500), true);
    assert.equal(await store.addCosignature(3, 'w1', '— w1 CCCC\n', 7500), false, 'no such checkpoint');
    assert.deepEqual(await store.cosignatures(2), [{ witness: 'w1', line: '— w1 BBBB\n', at: 7500 }]);
  },

  'site keys: added, listed per site, revoked once': async (store) => {
    await twoOrgs(store);
    await store.addSiteKey({ siteId: 'sa', keyHash: 'aabbccdd', verifierKey: 'sa+aabbccdd+AQ', createdAt: 100 });
    await store.addSiteKey({ siteId: 'sb', keyHash: '11223344', verifierKey: 'sb+11223344+AQ', createdAt: 200 });
    await assert.rejects(store.addSiteKey({ siteId: 'sa', keyHash: 'aabbccdd', verifierKey: 'x', createdAt: 300 }), conflict(/site_keys/));
    assert.deepEqual((await store.siteKeys('sa')).map((k) => [k.keyHash, k.revokedAt]), [['aabbccdd', null]]);
    assert.equal(await store.revokeSiteKey('sa', 'aabbccdd', 400), true);
    assert.equal(await store.revokeSiteKey('sa', 'aabbccdd', 500), true);
    assert.equal(await store.revokeSiteKey('sa', 'nope', 500), false);
    assert.deepEqual((await store.siteKeys()).map((k) => [k.siteId, k.revokedAt]), [['sa', 400], ['sb', null]]);
  },

  'witness keys: registered once per name and hash, by one org; listed per org; revoked once, and kept': async (store) => {
    await twoOrgs(store);
    await store.addWitnessKey({ name: 'witness.a', keyHash: 'aabbccdd', orgId: 'a', verifierKey: 'witness.a+aabbccdd+BA', createdAt: 100 });
    await store.addWitnessKey({ name: 'witness.b', keyHash: '11223344', orgId: 'b', verifierKey: 'witness.b+11223344+BA', createdAt: 200 });
    await store.addWitnessKey({ name: 'witness.a', keyHash: '55667788', orgId: 'a', verifierKey: 'witness.a+55667788+BA', createdAt: 50 });
    await assert.rejects(store.addWitnessKey({ name: 'witness.a', keyHash: 'aabbccdd', orgId: 'b', verifierKey: 'x', createdAt: 300 }), conflict(/witness_keys_pkey/), 'one key, one org');
    await assert.rejects(store.addWitnessKey({ name: 'w', keyHash: '00000000', orgId: 'nobody', verifierKey: 'x', createdAt: 300 }), conflict(/witness_keys_org_id/));
    assert.deepEqual((await store.witnessKeys()).map((k) => [k.name, k.keyHash, k.orgId, k.createdAt]), [['witness.a', '55667788', 'a', 50], ['witness.a', 'aabbccdd', 'a', 100], ['witness.b', '11223344', 'b', 200]]);
    assert.deepEqual((await store.witnessKeys('b')).map((k) => [k.verifierKey, k.revokedAt]), [['witness.b+11223344+BA', null]]);
    assert.equal(await store.revokeWitnessKey('witness.a', 'aabbccdd', 400), true);
    assert.equal(await store.revokeWitnessKey('witness.a', 'aabbccdd', 500), true, 'again: still true, the first time stays');
    assert.equal(await store.revokeWitnessKey('witness.b', 'aabbccdd', 500), false, 'the hash of another name');
    assert.deepEqual((await store.witnessKeys('a')).map((k) => [k.keyHash, k.revokedAt]), [['55667788', null], ['aabbccdd', 400]]);
    await assert.rejects(store.addWitnessKey({ name: 'witness.a', keyHash: 'aabbccdd', orgId: 'a', verifierKey: 'witness.a+aabbccdd+BA', createdAt: 600 }), conflict(/witness_keys_pkey/), 'a revoked key is not registered again');
  },

  'ledger: contributed, consumed and own GPU-hours per org and GPU type': async (store) => {
    await twoOrgs(store);
    const [aJob = ''] = await submit(store, 'a', 'a job');
    const [bJob = ''] = await submit(store, 'b', 'b job');
    const entry = (jobId: string, siteId: string, consumerOrgId: string, providerOrgId: string, gpuType: string, gpuSeconds: number): LedgerEntry => usageEntry(jobId, siteId, consumerOrgId, providerOrgId, gpuType, gpuSeconds, 50_000);
    await store.transition([], [
      entry(bJob, 'sa', 'b', 'a', 'H100', 2 * 3600), // b used 2 h of a's H100s
      entry(bJob, 'sa', 'b', 'a', 'H100', 0.5 * 3600),
      entry(aJob, 'sa', 'a', 'a', 'H100', 3600), // a on its own site
      entry(aJob, 'sb', 'a', 'b', 'A100', 1800), // a used half an hour of b's A100s
    ]);
    assert.deepEqual(await store.ledger(), [], 'entries count once they are in the usage log');
    await logPending(store);
    const row = (orgId: string, gpuType: string, contributedGpuH: number, consumedGpuH: number, ownGpuH: number) => ({ orgId, gpuType, contributedGpuH, consumedGpuH, ownGpuH, creditsGpuH: contributedGpuH - consumedGpuH });
    const aRows = [row('a', 'A100', 0, 0.5, 0), row('a', 'H100', 2.5, 0, 1)];
    const bRows = [row('b', 'A100', 0.5, 0, 0), row('b', 'H100', 0, 2.5, 0)];
    assert.deepEqual(await store.ledger(), [...aRows, ...bRows]);
    assert.deepEqual(await store.ledger('a'), aRows);
    assert.deepEqual(await store.ledger('b'), bRows);
    assert.deepEqual(await store.ledger('nobody'), []);
  },

  'transition: a run ends once — ledger entries of a move that did not apply are not written (two agents reporting the end at once)': async (store) => {
    await twoOrgs(store);
    const [job = '', other = ''] = await submit(store, 'a', 'spans two sites', 'another');
    await store.transition([place(job, 1000), start(job, 1100)]);
    const end = (at: number): Transition => ({ jobId: job, from: ['running'], to: 'succeeded', at, type: 'succeeded' });
    const usage = (at: number) => [usageEntry(job, 'sa', 'a', 'a', 'H100', 60, at), usageEntry(job, 'sb', 'a', 'b', 'A100', 60, at)];
    const [first, second] = await Promise.all([store.transition([end(9000)], usage(9000)), store.transition([end(9001)], usage(9001))]);
    assert.equal([first?.[0], second?.[0]].filter((j) => j !== null).length, 1, 'one of the two moves applied');
    // Entries of a job no transition names are written as given.
    await store.transition([end(9002)], [...usage(9002), usageEntry(other, 'sb', 'a', 'b', 'A100', 30, 9002)]);
    const pending = await store.pendingUsage({ endedBefore: Number.MAX_SAFE_INTEGER, limit: 100 });
    assert.deepEqual(pending.map((p) => [p.jobId, p.siteId]).sort(), [[job, 'sa'], [job, 'sb'], [other, 'sb']].sort(), 'the run’s usage once, the other job’s as given');
  },
  'ledgerHistory: the ledger per org and time bucket, over GPU types, sorted by bucket then org': async (store) => {
    await twoOrgs(store);
    await store.createOrg({ id: 'B', name: 'Org B upper', createdAt: 3 }); // sorts before 'b' bytewise, after it in most locales
    const [aJob = ''] = await submit(store, 'a', 'a job');
    const [bJob = ''] = await submit(store, 'b', 'b job');
    const [upperJob = ''] = await submit(store, 'B', 'B job');
    const HOUR = 3_600_000;
    const day = (n: number) => n * 24 * HOUR;
    const entry = usageEntry;
    await store.transition([], [
      entry(bJob, 'sa', 'b', 'a', 'H100', 2 * 3600, day(1) + 5 * HOUR), // day 1: b used 2 h of a's H100s
      entry(bJob, 'sa', 'b', 'a', 'A100', 3600, day(1) + 23 * HOUR), // and 1 h of another type, the same day
      entry(aJob, 'sa', 'a', 'a', 'H100', 1800, day(1)), // a on its own site, at the bucket's first ms
      entry(aJob, 'sb', 'a', 'b', 'H100', 3 * 3600, day(3) - 1), // the last ms of day 2
      entry(upperJob, 'sb', 'B', 'b', 'H100', 3600, day(3)), // day 3
    ]);
    await logPending(store);
    const point = (orgId: string, at: number, contributedGpuH: number, consumedGpuH: number, ownGpuH: number) => ({ orgId, at, contributedGpuH, consumedGpuH, ownGpuH });
    const daily = [
      point('a', day(1), 3, 0, 0.5), point('b', day(1), 0, 3, 0),
      point('a', day(2), 0, 3, 0), point('b', day(2), 3, 0, 0),
      point('B', day(3), 0, 1, 0), point('b', day(3), 1, 0, 0),
    ];
    assert.deepEqual(await store.ledgerHistory(day(1)), daily);
    assert.deepEqual(await store.ledgerHistory(day(1), 'a'), daily.filter((p) => p.orgId === 'a'));
    assert.deepEqual(await store.ledgerHistory(day(1), 'b'), daily.filter((p) => p.orgId === 'b'));
    assert.deepEqual(await store.ledgerHistory(day(1), 'nobody'), []);
    assert.deepEqual(await store.ledgerHistory(HOUR, 'b'), [point('b', day(1) + 5 * HOUR, 0, 2, 0), point('b', day(1) + 23 * HOUR, 0, 1, 0), point('b', day(3) - HOUR, 3, 0, 0), point('b', day(3), 1, 0, 0)]);
    // Summed over all buckets, the history is the ledger summed over GPU types.
    const sums = new Map<string, number[]>();
    for (const p of await store.ledgerHistory(7 * 24 * HOUR)) {
      const [c = 0, u = 0, o = 0] = sums.get(p.orgId) ?? [];
      sums.set(p.orgId, [c + p.contributedGpuH, u + p.consumedGpuH, o + p.ownGpuH]);
    }
    const totals = new Map<string, number[]>();
    for (const r of await store.ledger()) {
      const [c = 0, u = 0, o = 0] = totals.get(r.orgId) ?? [];
      totals.set(r.orgId, [c + r.contributedGpuH, u + r.consumedGpuH, o + r.ownGpuH]);
    }
    assert.deepEqual(sums, totals);
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await assert.rejects(store.ledgerHistory(bad), (err: Error & { code?: string }) => err.code === 'invalid_input', String(bad));
    }
  },
  'ledger, ledgerHistory and ledgerJobs in a range of booking times: from its start (included) to its end (not); ledgerJobs per job, site and GPU type, newest first': async (store) => {
    await twoOrgs(store);
    const [aJob = ''] = await submit(store, 'a', 'a job');
    const [bJob = '', bOther = ''] = await submit(store, 'b', 'b job', 'b other');
    await store.transition([], [
      usageEntry(bJob, 'sa', 'b', 'a', 'H100', 3600, 1000), // b borrows a's H100 for an hour
      usageEntry(bJob, 'sa', 'b', 'a', 'H100', 1800, 2000), // and half an hour more: one row with the first
      usageEntry(aJob, 'sa', 'a', 'a', 'H100', 7200, 3000), // a on its own site
      usageEntry(bOther, 'sb', 'b', 'b', 'A100', 3600, 4000), // b on its own site: nothing of a's
    ]);
    await store.transition([], [usageEntry(aJob, 'sb', 'a', 'b', 'A100', 360, 5000)]); // pending: counts nowhere until logged
    const pending = await store.pendingUsage({ endedBefore: Number.MAX_SAFE_INTEGER, limit: 10 });
    await store.appendLog(0, pending.filter((p) => p.at < 5000).map((p, i) => ({ entryId: p.id, note: `record ${i}\n`, writer: 'control-plane' as const, loggedAt: 9000 })), []);
    const gpuH = (rows: readonly { orgId: string; gpuType: string; contributedGpuH: number; consumedGpuH: number; ownGpuH: number }[]) => rows.map((r) => [r.orgId, r.gpuType, r.contributedGpuH, r.consumedGpuH, r.ownGpuH]);
    assert.deepEqual(gpuH(await store.ledger(undefined, undefined, { from: 2000, to: 4000 })), [['a', 'H100', 0.5, 0, 2], ['b', 'H100', 0, 0.5, 0]], 'from 2000 up to, not including, 4000');
    assert.deepEqual(gpuH(await store.ledger('b', undefined, { to: 2000 })), [['b', 'H100', 0, 1, 0]]);
    assert.deepEqual(gpuH(await store.ledger('b', undefined, { from: 4000 })), [['b', 'A100', 0, 0, 1]]);
    assert.deepEqual(await store.ledger(undefined, undefined, { from: 4001 }), []);
    assert.deepEqual((await store.ledgerHistory(1000, 'a', { from: 1000, to: 3000 })).map((p) => [p.at, p.contributedGpuH, p.ownGpuH]), [[1000, 1, 0], [2000, 0.5, 0]]);
    const job = (jobId: string, jobName: string, siteId: string, consumerOrgId: string, providerOrgId: string, gpuType: string, gpuH: number, lastAt: number) => ({ jobId, jobName, siteId, consumerOrgId, providerOrgId, gpuType, gpuH, lastAt });
    const all = [
      job(bOther, 'b other', 'sb', 'b', 'b', 'A100', 1, 4000),
      job(aJob, 'a job', 'sa', 'a', 'a', 'H100', 2, 3000),
      job(bJob, 'b job', 'sa', 'b', 'a', 'H100', 1.5, 2000),
    ];
    assert.deepEqual(await store.ledgerJobs(undefined, {}, 100), all, 'logged entries only, newest first; a job’s entries on one site summed');
    assert.deepEqual(await store.ledgerJobs('a', {}, 100), all.slice(1), 'what a consumed or provided');
    assert.deepEqual(await store.ledgerJobs(undefined, {}, 2), all.slice(0, 2));
    assert.deepEqual(await store.ledgerJobs('b', { from: 1000, to: 2000 }, 100), [job(bJob, 'b job', 'sa', 'b', 'a', 'H100', 1, 1000)]);
    assert.deepEqual(await store.ledgerJobs('nobody', {}, 100), []);
  },

  'firstPlacements: jobs first placed since a time, with their org and submission time; a second attempt is no first placement': async (store) => {
    await twoOrgs(store);
    const [early = '', late = '', requeued = ''] = await submit(store, 'a', 'placed before', 'placed after', 'placed twice');
    const [other = '', waiting = ''] = await submit(store, 'b', 'b placed after', 'still waiting');
    await store.transition([place(early, 1999), place(late, 2000), place(requeued, 1500), place(other, 5000, 'sb')]);
    await store.transition([{ jobId: requeued, from: ['placed'], to: 'pending', at: 2500, type: 'requeued' }]);
    await store.transition([place(requeued, 3000)]);
    const byTime = (a: { placedAt: number }, b: { placedAt: number }) => a.placedAt - b.placedAt;
    assert.deepEqual((await store.firstPlacements(2000)).sort(byTime), [
      { orgId: 'a', submittedAt: 1000, placedAt: 2000 },
      { orgId: 'b', submittedAt: 1000, placedAt: 5000 },
    ]);
    assert.deepEqual(await store.firstPlacements(5001), []);
    assert.equal((await store.firstPlacements(0)).length, 4, `every first placement, none of ${waiting}`);
  },

  'close: safe to call twice': async (store) => {
    await store.close();
    await store.close();
  },
};

/** Registers one node:test test per case, each on a fresh store from `open`. */
export function storeConformance(name: string, open: () => Promise<Store>): void {
  for (const [title, body] of Object.entries(CASES)) {
    // The runner awaits what test() registers; there is nothing to await here.
    void test(`store conformance (${name}): ${title}`, async () => {
      const store = await open();
      try {
        await body(store);
      } finally {
        await store.close();
      }
    });
  }
}
