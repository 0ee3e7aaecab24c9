// GET /api/v1/pool: the whole pool's totals for every dashboard role (by GPU type, by
// org, queues), the caller's own sites in detail and nobody else's, and the sampled
// utilization history, on a real in-memory store with passes run by hand.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { JobDetailResponse, PoolResponse, SiteListResponse, SiteResponse } from '../src/server/schemas.ts';
import { TestServer } from './support/server.ts';

describe('GET /api/v1/pool', () => {
  let s: TestServer;
  let acmeSite = '';
  let betaSite = '';
  let member = '';
  let betaJob = '';

  before(async () => {
    s = await TestServer.start({ poolHistorySize: 3 });
    for (const org of ['acme', 'beta', 'gamma']) await s.org(org);
    acmeSite = await s.site('acme', 2, 8, 'h100');
    betaSite = (await s.ok(SiteResponse, 201, 'POST', '/api/v1/sites', {
      body: { name: 'beta secret lab', org_id: 'beta', capacity: [{ gpu_type: 'a100', nodes: 1, gpus_per_node: 8 }, { gpu_type: 'H100', nodes: 1, gpus_per_node: 4 }] },
    })).id;
    member = await s.token('member', 'beta');
    // acme: 6 of its own h100; beta: 8 h100, more than its own 4, so on acme's site; acme: one too large to start.
    await s.job('acme', 6, { gpu_types: ['h100'] });
    betaJob = await s.job('beta', 8, { gpu_types: ['h100'] });
    await s.job('acme', 100);
    await s.pass();
  });
  after(() => s.close());

  test('the admin: totals by GPU type and by org, the queue, every site', async () => {
    const pool = await s.ok(PoolResponse, 200, 'GET', '/api/v1/pool');
    assert.deepEqual(pool.total, { gpus: 28, allocated: 14, idle: 14, unavailable: 0, active_jobs: 2, queued_jobs: 1, queued_gpus: 100 });
    assert.deepEqual(pool.gpu_types, [
      { gpu_type: 'a100', gpus: 8, allocated: 0, idle: 8, unavailable: 0 },
      { gpu_type: 'h100', gpus: 20, allocated: 14, idle: 6, unavailable: 0 },
    ], 'GPU types are counted whatever their case');
    assert.deepEqual(pool.orgs, [
      { org_id: 'acme', name: 'Org acme', gpus: 16, allocated: 14, idle: 2, unavailable: 0, borrowed_gpus: 0, lent_gpus: 8, queued_jobs: 1, queued_gpus: 100 },
      { org_id: 'beta', name: 'Org beta', gpus: 12, allocated: 0, idle: 12, unavailable: 0, borrowed_gpus: 8, lent_gpus: 0, queued_jobs: 0, queued_gpus: 0 },
      { org_id: 'gamma', name: 'Org gamma', gpus: 0, allocated: 0, idle: 0, unavailable: 0, borrowed_gpus: 0, lent_gpus: 0, queued_jobs: 0, queued_gpus: 0 },
    ], 'every org, one without sites or jobs too; acme lends beta 8 of the 14 allocated on its site');
    assert.deepEqual(pool.lending, [{ lender_org_id: 'acme', borrower_org_id: 'beta', gpus: 8 }], 'who lends to whom: acme’s own 6 are no lending');
    assert.deepEqual(pool.sites.map((x) => [x.name, x.gpu_type, x.gpus, x.allocated, x.idle]), [['acme cluster', 'h100', 16, 14, 2], ['beta secret lab', 'a100', 8, 0, 8], ['beta secret lab', 'H100', 4, 0, 4]]);
    assert.equal(pool.borrowed_gpus, 0);
  });

  test('a member sees the same totals, its own sites in detail, what it borrows, and nothing of another org’s sites or jobs', async () => {
    const res = await s.req('GET', '/api/v1/pool', { token: member });
    assert.equal(res.status, 200);
    const pool = PoolResponse.parse(res.body);
    const admin = await s.ok(PoolResponse, 200, 'GET', '/api/v1/pool');
    assert.deepEqual({ ...pool, sites: [], borrowed_gpus: 0, at: '' }, { ...admin, sites: [], at: '' }, 'the aggregates are the pool’s, not the org’s');
    assert.deepEqual([...new Set(pool.sites.map((x) => x.site_id))], [betaSite]);
    assert.equal(pool.borrowed_gpus, 8, 'its job runs on acme’s site');
    assert.deepEqual(pool.lending, [{ lender_org_id: 'acme', borrower_org_id: 'beta', gpus: 8 }], 'who lends to whom, by org: the pool’s, as the admin sees it');
    for (const secret of [acmeSite, 'acme cluster']) assert.ok(!res.text.includes(secret), `the answer names ${secret}`);
    assert.ok(!/"(jobs?|job_id|id)"/.test(res.text) && !res.text.includes(`"${betaJob}"`), 'and no job');
  });

  test('a lost site’s free GPUs are unavailable, not idle', async () => {
    await s.app.suanli.sites.setSiteHealth(betaSite, 'lost');
    const pool = await s.ok(PoolResponse, 200, 'GET', '/api/v1/pool');
    assert.deepEqual(pool.orgs.find((o) => o.org_id === 'beta'), { org_id: 'beta', name: 'Org beta', gpus: 12, allocated: 0, idle: 0, unavailable: 12, borrowed_gpus: 8, lent_gpus: 0, queued_jobs: 0, queued_gpus: 0 });
    await s.app.suanli.sites.setSiteHealth(betaSite, 'up');
  });

  test('the history: a sample at start, then one per interval, the newest kept', async () => {
    const first = await s.ok(PoolResponse, 200, 'GET', '/api/v1/pool');
    assert.equal(first.history.interval_s, 60);
    assert.deepEqual(first.history.samples.map((x) => [x.gpus, x.allocated]), [[0, 0]], 'the first, taken as the server started (no site yet)');
    for (let i = 0; i < 3; i++) {
      s.clock.advance(60);
      await s.app.suanli.poolHistory.sample();
    }
    const later = await s.ok(PoolResponse, 200, 'GET', '/api/v1/pool');
    assert.equal(later.history.samples.length, 3, 'a ring of poolHistorySize');
    assert.deepEqual(later.history.samples.map((x) => [x.gpus, x.allocated]), [[28, 14], [28, 14], [28, 14]]);
    assert.deepEqual(later.history.samples[2]?.gpu_types, [{ gpu_type: 'a100', gpus: 8, allocated: 0 }, { gpu_type: 'h100', gpus: 20, allocated: 14 }]);
    assert.equal(later.history.samples[2]?.at, new Date(s.clock.now()).toISOString());
    assert.ok(Date.parse(later.history.samples[0]?.at ?? '') < Date.parse(later.history.samples[2]?.at ?? ''), 'oldest first');
  });
});

describe('GET /api/v1/pool: who lends to whom now', () => {
  let s: TestServer;
  let across = '';
  let single = '';
  const SPAN = { replica_gpus: 8, params: 1e9, bytes_per_param: 1, outer_step_s: 100, min_efficiency: 0.5, max_single_site_wait_s: 0 };

  before(async () => {
    s = await TestServer.start();
    for (const org of ['acme', 'beta', 'gamma', 'delta']) await s.org(org);
    // Sites that take other sites' parts of a spanning job, and give borrowed runs a network to reach them by.
    const endpoint = (n: number) => ({ span_endpoint: { addresses: ['127.0.0.1'], ports: { from: 31_000 + 100 * n, to: 31_099 + 100 * n } }, share: { borrowed_network: 'host' } });
    const acme = await s.site('acme', 1, 8, 'h100', endpoint(0));
    const beta = await s.site('beta', 1, 8, 'h100', { ...endpoint(1), wan_links: [{ to_site: acme, gbps: 10, latency_ms: 5 }] });
    const gamma = await s.site('gamma', 1, 8, 'h100', { ...endpoint(2), wan_links: [{ to_site: acme, gbps: 10, latency_ms: 5 }, { to_site: beta, gbps: 10, latency_ms: 5 }] });
    // A link counts when both sites declare it.
    await s.ok(SiteResponse, 200, 'PATCH', `/api/v1/sites/${acme}`, { body: { wan_links: [{ to_site: beta, gbps: 10, latency_ms: 5 }, { to_site: gamma, gbps: 10, latency_ms: 5 }] } });
    await s.ok(SiteResponse, 200, 'PATCH', `/api/v1/sites/${beta}`, { body: { wan_links: [{ to_site: acme, gbps: 10, latency_ms: 5 }, { to_site: gamma, gbps: 10, latency_ms: 5 }] } });
    await s.site('delta', 1, 8, 'h100');
    // gamma's job spans its own site and acme's and beta's (as the demo's job across three sites); then acme's job
    // finds room only on delta's site.
    across = await s.job('gamma', 24, { gpu_types: ['h100'], span: SPAN });
    await s.pass();
    const placed = await s.ok(JobDetailResponse, 200, 'GET', `/api/v1/jobs/${across}`);
    assert.equal(placed.state, 'placed', `the job across three sites is placed: ${JSON.stringify(placed.diagnosis)}`);
    single = await s.job('acme', 4, { gpu_types: ['h100'] });
    await s.pass();
  });
  after(() => s.close());

  test('each lender and borrower pair once, a spanning job’s parts on two lenders’ sites, and each org’s lent and borrowed GPUs', async () => {
    const pool = await s.ok(PoolResponse, 200, 'GET', '/api/v1/pool');
    assert.deepEqual(pool.lending, [
      { lender_org_id: 'acme', borrower_org_id: 'gamma', gpus: 8 },
      { lender_org_id: 'beta', borrower_org_id: 'gamma', gpus: 8 },
      { lender_org_id: 'delta', borrower_org_id: 'acme', gpus: 4 },
    ]);
    assert.deepEqual(pool.orgs.map((o) => [o.org_id, o.allocated, o.lent_gpus, o.borrowed_gpus]), [['acme', 8, 8, 4], ['beta', 8, 8, 0], ['delta', 4, 4, 0], ['gamma', 8, 0, 16]]);
  });

  test('a job’s detail: each part’s lender, and an attempt across sites as planned (efficiency, WAN bandwidth); none for one site', async () => {
    const detail = await s.ok(JobDetailResponse, 200, 'GET', `/api/v1/jobs/${across}`);
    assert.deepEqual(detail.placements[0]?.parts.map((p) => p.lender_org_id).sort(), ['acme', 'beta', 'gamma']);
    const planned = detail.placements[0]?.planned;
    const placedEvent = detail.events.find((e) => e.type === 'placed')?.detail;
    assert.ok(planned != null && planned.efficiency >= 0.5 && planned.efficiency <= 1 && planned.wan_gbps > 0 && planned.wan_gbps <= 10, JSON.stringify(planned));
    assert.deepEqual(planned, { efficiency: placedEvent?.efficiency, wan_gbps: placedEvent?.wan_gbps }, 'the figures the scheduler recorded when it placed the attempt');
    const one = await s.ok(JobDetailResponse, 200, 'GET', `/api/v1/jobs/${single}`);
    assert.deepEqual(one.placements.map((p) => [p.parts.map((x) => x.lender_org_id), p.planned]), [[['delta'], null]]);
  });

  test('a member of a borrowing org sees the same pairs, by org only: no site id or job id of another org', async () => {
    const member = await s.token('member', 'acme');
    const res = await s.req('GET', '/api/v1/pool', { token: member });
    assert.equal(res.status, 200);
    const pool = PoolResponse.parse(res.body);
    const admin = await s.ok(PoolResponse, 200, 'GET', '/api/v1/pool');
    assert.deepEqual(pool.lending, admin.lending);
    assert.deepEqual(pool.orgs, admin.orgs);
    assert.equal(pool.borrowed_gpus, 4);
    const others = (await s.ok(SiteListResponse, 200, 'GET', '/api/v1/sites')).sites.filter((x) => x.org_id !== 'acme');
    for (const site of others) assert.ok(!res.text.includes(site.id) && !res.text.includes(site.name), `the answer names ${site.name}`);
    assert.ok(!/"(jobs?|job_id|id|site_id)"/.test(res.text.replaceAll(/"sites":\[[^\]]*\]/g, '')), 'no job or site named outside its own sites');
  });
});
