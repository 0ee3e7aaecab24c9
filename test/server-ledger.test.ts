// GET /api/v1/ledger/history: each org's GPU-hours per hour or UTC day, on a real
// in-memory store. Entries are booked straight into the store at chosen times (and one
// by a run the API moves), then read back by the admin, for one org, and by a member,
// who sees its own org's points only, as on GET /ledger. Then GET /ledger and /history
// in a range of booking times, and GET /ledger/jobs: the jobs behind the figures, with
// the sites' prices, as the admin and as a member (who never sees another org's job names).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { JobResponse, LedgerHistoryResponse, LedgerJobsResponse, LedgerResponse, SiteResponse } from '../src/server/schemas.ts';
import type { LedgerEntry } from '../src/store/types.ts';
import { TestServer } from './support/server.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();

describe('GET /api/v1/ledger/history', () => {
  let s: TestServer;
  /** The day the test server's clock starts on (midnight UTC). */
  let day0 = 0;
  let member = '';
  let acmeSite = '';
  let betaSite = '';
  let acmeJob = '';
  let betaJob = '';

  before(async () => {
    s = await TestServer.start();
    day0 = s.clock.now();
    for (const org of ['acme', 'beta', 'gamma']) await s.org(org);
    acmeSite = await s.site('acme', 1, 8, 'h100');
    betaSite = await s.site('beta', 1, 8, 'a100');
    betaJob = await s.job('beta', 1);
    acmeJob = await s.job('acme', 1);
    member = await s.token('member', 'beta');
    const entry = (jobId: string, siteId: string, consumerOrgId: string, providerOrgId: string, gpuType: string, gpuH: number, at: number): LedgerEntry => ({
      jobId, attempt: 1, siteId, consumerOrgId, providerOrgId, gpuType, gpus: 1, startAt: at - gpuH * HOUR, at, gpuSeconds: gpuH * 3600, outcome: 'succeeded',
    });
    await s.store.transition([], [
      entry(betaJob, acmeSite, 'beta', 'acme', 'h100', 4, day0 + 2 * HOUR + 5), // beta borrows acme's h100s at 02:00
      entry(betaJob, acmeSite, 'beta', 'acme', 'h100', 2, day0 + 2 * HOUR + 59 * 60_000),
      entry(acmeJob, acmeSite, 'acme', 'acme', 'h100', 1.5, day0 + 7 * HOUR), // acme on its own site
      entry(acmeJob, betaSite, 'acme', 'beta', 'a100', 3, day0 + DAY + 1), // the next day, acme borrows beta's a100s
    ]);
    // Nothing counts until it is in the usage log: the control plane logs the entries alone (no agent signs here).
    await s.app.suanli.usage.logAlone(Number.MAX_SAFE_INTEGER);
  });
  after(() => s.close());

  const point = (org_id: string, at: number, contributed: number, consumed: number, own: number) => ({
    org_id, at: iso(at), contributed_gpu_h: contributed, consumed_gpu_h: consumed, own_gpu_h: own, credits_gpu_h: contributed - consumed,
  });

  test('by day (the default): per org and UTC day, summed over GPU types, oldest first', async () => {
    const history = await s.ok(LedgerHistoryResponse, 200, 'GET', '/api/v1/ledger/history');
    assert.equal(history.bucket_s, 86_400);
    assert.deepEqual(history.points, [
      point('acme', day0, 6, 0, 1.5), point('beta', day0, 0, 6, 0),
      point('acme', day0 + DAY, 0, 3, 0), point('beta', day0 + DAY, 3, 0, 0),
    ]);
    assert.deepEqual(await s.ok(LedgerHistoryResponse, 200, 'GET', '/api/v1/ledger/history?bucket=day'), history);
  });

  test('by hour: entries in one hour share its bucket; hours without entries are left out', async () => {
    const history = await s.ok(LedgerHistoryResponse, 200, 'GET', '/api/v1/ledger/history?bucket=hour');
    assert.equal(history.bucket_s, 3600);
    assert.deepEqual(history.points, [
      point('acme', day0 + 2 * HOUR, 6, 0, 0), point('beta', day0 + 2 * HOUR, 0, 6, 0),
      point('acme', day0 + 7 * HOUR, 0, 0, 1.5),
      point('acme', day0 + DAY, 0, 3, 0), point('beta', day0 + DAY, 3, 0, 0),
    ]);
  });

  test('the buckets add up to GET /ledger’s totals', async () => {
    const { points } = await s.ok(LedgerHistoryResponse, 200, 'GET', '/api/v1/ledger/history?bucket=hour');
    const { rows } = await s.ok(LedgerResponse, 200, 'GET', '/api/v1/ledger');
    for (const org of ['acme', 'beta']) {
      const sum = (xs: readonly { org_id: string; credits_gpu_h: number }[]) => xs.filter((x) => x.org_id === org).reduce((n, x) => n + x.credits_gpu_h, 0);
      assert.equal(sum(points), sum(rows), org);
    }
  });

  test('the admin may name one org; an org with no entries has no points', async () => {
    const beta = await s.ok(LedgerHistoryResponse, 200, 'GET', '/api/v1/ledger/history?org=beta');
    assert.deepEqual(beta.points, [point('beta', day0, 0, 6, 0), point('beta', day0 + DAY, 3, 0, 0)]);
    assert.deepEqual((await s.ok(LedgerHistoryResponse, 200, 'GET', '/api/v1/ledger/history?org=gamma')).points, []);
  });

  test('a member sees its own org’s points only, and another org is a 404 as on GET /ledger', async () => {
    const own = await s.req('GET', '/api/v1/ledger/history?bucket=hour', { token: member });
    assert.equal(own.status, 200);
    const history = LedgerHistoryResponse.parse(own.body);
    assert.deepEqual(new Set(history.points.map((p) => p.org_id)), new Set(['beta']));
    assert.deepEqual(history.points, [point('beta', day0 + 2 * HOUR, 0, 6, 0), point('beta', day0 + DAY, 3, 0, 0)]);
    assert.ok(!own.text.includes('acme'), 'nothing of acme, not even its name');
    assert.deepEqual(await s.ok(LedgerHistoryResponse, 200, 'GET', '/api/v1/ledger/history?bucket=hour&org=beta', { token: member }), history);
    assert.equal((await s.fail(404, 'GET', '/api/v1/ledger/history?org=acme', { token: member })).code, 'not_found');
    await s.fail(404, 'GET', '/api/v1/ledger?org=acme', { token: member });
    const agent = await s.token('agent', 'beta', betaSite);
    assert.equal((await s.fail(403, 'GET', '/api/v1/ledger/history', { token: agent })).message, "an agent token may not read the ledger's history");
  });

  test('a bucket other than hour or day is a 400 naming it', async () => {
    const e = await s.fail(400, 'GET', '/api/v1/ledger/history?bucket=week');
    assert.equal(e.field, 'query.bucket');
  });

  test('GET /ledger and /history in a range: entries booked from `from` (a UTC day’s midnight, or a time with its offset) up to, not at, `to`', async () => {
    const rows = async (query: string) => (await s.ok(LedgerResponse, 200, 'GET', `/api/v1/ledger?${query}`)).rows.map((r) => [r.org_id, r.gpu_type, r.contributed_gpu_h, r.consumed_gpu_h, r.own_gpu_h]);
    assert.deepEqual(await rows('from=2026-01-02'), [['acme', 'a100', 0, 3, 0], ['beta', 'a100', 3, 0, 0]], 'the second day only');
    assert.deepEqual(await rows('to=2026-01-02'), [['acme', 'h100', 6, 0, 1.5], ['beta', 'h100', 0, 6, 0]], 'the first day only');
    assert.deepEqual(await rows('from=2026-01-01T05:00:00%2B01:00&to=2026-01-01T07:00:00.001Z'), [['acme', 'h100', 0, 0, 1.5]], '04:00Z up to just after 07:00Z');
    assert.deepEqual(await rows('from=2026-01-01T07:00:00.001Z&to=2026-01-02'), []);
    const { pool } = await s.ok(LedgerResponse, 200, 'GET', '/api/v1/ledger?from=2026-01-02', { token: member });
    assert.deepEqual(pool.map((p) => [p.gpu_type, p.contributed_gpu_h]), [['a100', 3]], 'the pool’s totals in the range too');
    const hourly = await s.ok(LedgerHistoryResponse, 200, 'GET', '/api/v1/ledger/history?bucket=hour&from=2026-01-01&to=2026-01-01T03:00:00Z');
    assert.deepEqual(hourly.points, [point('acme', day0 + 2 * HOUR, 6, 0, 0), point('beta', day0 + 2 * HOUR, 0, 6, 0)]);
    const member2 = await s.ok(LedgerHistoryResponse, 200, 'GET', '/api/v1/ledger/history?from=2026-01-02', { token: member });
    assert.deepEqual(member2.points, [point('beta', day0 + DAY, 3, 0, 0)]);
  });

  test('a range bound that is no ISO 8601 time, or a `to` not after `from`, is a 400 naming the field', async () => {
    for (const path of ['/api/v1/ledger', '/api/v1/ledger/history', '/api/v1/ledger/jobs']) {
      for (const [query, field] of [
        ['from=2026-02-30', 'query.from'], ['from=yesterday', 'query.from'], ['from=2026-1-2', 'query.from'], ['to=2026-01-01T00:00:00', 'query.to'],
        ['from=2026-01-02&to=2026-01-01', 'query.to'], ['from=2026-01-02&to=2026-01-02', 'query.to'],
      ] as const) {
        const e = await s.fail(400, 'GET', `${path}?${query}`);
        assert.equal(e.field, field, `${path}?${query}: ${e.message}`);
      }
    }
    assert.match((await s.fail(400, 'GET', '/api/v1/ledger/jobs?from=2026-01-02&to=2026-01-01')).message, /`to` must come after `from`/);
    assert.equal((await s.fail(400, 'GET', '/api/v1/ledger/jobs?limit=0')).field, 'query.limit');
  });

  test('GET /ledger/jobs: each job’s GPU-hours per site, newest first, with the site’s price and the cost where it has one', async () => {
    await s.ok(SiteResponse, 200, 'PATCH', `/api/v1/sites/${acmeSite}`, { body: { price_per_gpu_hour: 2.5 } });
    const { jobs, truncated } = await s.ok(LedgerJobsResponse, 200, 'GET', '/api/v1/ledger/jobs');
    assert.equal(truncated, false);
    assert.deepEqual(jobs.map((j) => [j.job_id, j.job_name, j.consumer_org_id, j.provider_org_id, j.site, j.gpu_type, j.gpu_h, j.last_at, j.price_per_gpu_hour, j.cost]), [
      [acmeJob, 'job of acme', 'acme', 'beta', betaSite, 'a100', 3, iso(day0 + DAY + 1), null, null],
      [acmeJob, 'job of acme', 'acme', 'acme', acmeSite, 'h100', 1.5, iso(day0 + 7 * HOUR), 2.5, 3.75],
      [betaJob, 'job of beta', 'beta', 'acme', acmeSite, 'h100', 6, iso(day0 + 2 * HOUR + 59 * 60_000), 2.5, 15],
    ]);
    const first = await s.ok(LedgerJobsResponse, 200, 'GET', '/api/v1/ledger/jobs?limit=1');
    assert.deepEqual([first.jobs.length, first.truncated], [1, true]);
    const firstDay = await s.ok(LedgerJobsResponse, 200, 'GET', '/api/v1/ledger/jobs?org=beta&to=2026-01-02');
    assert.deepEqual(firstDay.jobs.map((j) => [j.job_id, j.gpu_h]), [[betaJob, 6]], 'the admin names an org and a range');
  });

  test('GET /ledger/jobs as a member: its own jobs by name, other orgs’ jobs on its sites by id only, other orgs’ sites by their labels', async () => {
    const reply = await s.req('GET', '/api/v1/ledger/jobs', { token: member });
    assert.equal(reply.status, 200);
    const { jobs } = LedgerJobsResponse.parse(reply.body);
    assert.deepEqual(jobs.map((j) => [j.job_id, j.job_name, j.consumer_org_id, j.provider_org_id, j.site, j.cost]), [
      [acmeJob, null, 'acme', 'beta', betaSite, null], // acme's job on beta's site: beta's contribution
      [betaJob, 'job of beta', 'beta', 'acme', 'acme:site-1', 15], // beta's job on acme's site, at acme's price
    ]);
    assert.ok(!reply.text.includes('job of acme') && !reply.text.includes(acmeSite), 'neither acme’s job name nor its site id');
    assert.equal((await s.fail(404, 'GET', '/api/v1/ledger/jobs?org=acme', { token: member })).code, 'not_found');
    const agent = await s.token('agent', 'beta', betaSite);
    assert.equal((await s.fail(403, 'GET', '/api/v1/ledger/jobs', { token: agent })).message, 'an agent token may not read the jobs behind the ledger');
  });

  test('a run the API moves is booked in the bucket of the time it ended', async () => {
    s.clock.ms = day0 + 3 * DAY + 10 * HOUR;
    const job = await s.job('gamma', 2);
    await s.pass();
    await s.ok(JobResponse, 200, 'POST', `/api/v1/internal/jobs/${job}/state`, { body: { state: 'running' } });
    s.clock.advance(45 * 60);
    await s.ok(JobResponse, 200, 'POST', `/api/v1/internal/jobs/${job}/state`, { body: { state: 'succeeded' } });
    await s.app.suanli.usage.logAlone(Number.MAX_SAFE_INTEGER);
    const { points } = await s.ok(LedgerHistoryResponse, 200, 'GET', '/api/v1/ledger/history?bucket=hour&org=gamma');
    assert.equal(points.length, 1);
    const [p] = points;
    assert.equal(p?.at, iso(day0 + 3 * DAY + 10 * HOUR));
    assert.equal(p?.consumed_gpu_h, 1.5, '2 GPUs × 45 min on another org’s site');
    assert.equal(p?.credits_gpu_h, -1.5);
  });
});
