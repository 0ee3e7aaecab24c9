// GET /api/v1/jobs as a daily tool (issue 19): newest or oldest first with a cursor that
// pages either way, a search by id or name, and per job where and when its latest attempt
// ran and the name of the token that submitted it; job detail names the submitter too.
// Org callers still see only their org's jobs, another org's site by its neutral label,
// and no name of the pool admin's tokens. A real in-memory store, passes run by hand.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { z } from 'zod';
import { JobDetailResponse, JobListResponse, JobResponse, TokenCreatedResponse } from '../src/server/schemas.ts';
import { TestServer } from './support/server.ts';

type Page = z.infer<typeof JobListResponse>;

describe('GET /api/v1/jobs: order, search, cursor, and what the columns need', () => {
  let s: TestServer;
  let acmeSite = '';
  let member = '';
  /** beta's jobs, oldest first: submitted by beta's member, then by the admin. */
  let betaJobs: string[] = [];
  let acmeJob = '';
  let lent = '';

  before(async () => {
    s = await TestServer.start();
    await s.org('acme');
    await s.org('beta');
    acmeSite = await s.site('acme', 2, 8, 'h100');
    member = (await s.ok(TokenCreatedResponse, 201, 'POST', '/api/v1/tokens', { body: { name: 'alice laptop', role: 'member', org_id: 'beta' } })).token;
    const submit = async (name: string, token?: string) =>
      (await s.ok(JobResponse, 201, 'POST', '/api/v1/jobs', { ...(token === undefined ? {} : { token }), body: { name, ...(token === undefined ? { org_id: 'beta' } : {}), gpus: 100, estimate_s: 60 } })).id;
    betaJobs = [await submit('Render 50% done', member), await submit('render_v2', member), await submit('renderXv2'), await submit('train big')];
    acmeJob = await s.job('acme', 1, { name: 'acme render secret' });
    // beta's job on acme's lent GPUs (beta has no site): placed, started, succeeded by hand.
    lent = await s.job('beta', 8, { name: 'lent run', gpu_types: ['h100'] });
    await s.pass();
    s.clock.advance(10);
    await s.ok(JobResponse, 200, 'POST', `/api/v1/internal/jobs/${lent}/state`, { body: { state: 'running' } });
    s.clock.advance(90);
    await s.ok(JobResponse, 200, 'POST', `/api/v1/internal/jobs/${lent}/state`, { body: { state: 'succeeded' } });
  });
  after(() => s.close());

  const list = (query: string, token?: string) => s.ok(JobListResponse, 200, 'GET', `/api/v1/jobs?${query}`, token === undefined ? {} : { token });
  const ids = (page: Page) => page.jobs.map((j) => j.id);

  test('newest first or oldest first (the default, as before); a cursor pages on in the same order, every job once', async () => {
    const all = [...betaJobs, acmeJob, lent];
    assert.deepEqual(ids(await list('limit=500')), all, 'oldest first by default (the CLI relies on it)');
    assert.deepEqual(ids(await list('order=oldest&limit=500')), all);
    assert.deepEqual(ids(await list('order=newest&limit=500')), [...all].reverse());
    for (const order of ['newest', 'oldest'] as const) {
      const seen: string[] = [];
      let next: string | null = null;
      do {
        const page: Page = await list(`order=${order}&limit=2${next === null ? '' : `&after=${next}`}`);
        assert.ok(page.jobs.length <= 2);
        seen.push(...ids(page));
        next = page.next;
      } while (next !== null);
      assert.deepEqual(seen, order === 'newest' ? [...all].reverse() : all, order);
    }
  });

  test('search: a case-insensitive part of the name or of the id, % and _ taken literally, with the other filters and the cursor', async () => {
    const [r1, r2, r3, t1] = betaJobs;
    assert.deepEqual(ids(await list('q=RENDER&org=beta&order=newest')), [r3, r2, r1]);
    assert.deepEqual(ids(await list(`q=${encodeURIComponent('50%')}`)), [r1], '% is no wildcard');
    assert.deepEqual(ids(await list('q=r_v')), [r2], '_ is no wildcard');
    assert.deepEqual(ids(await list(`q=${t1 ?? ''}&org=beta`)), [t1], 'by id');
    assert.deepEqual(ids(await list('q=render&state=running')), [], 'with the state filter');
    const first = await list('q=render&order=newest&limit=2');
    assert.deepEqual(ids(first), [acmeJob, r3]);
    assert.deepEqual(ids(await list(`q=render&order=newest&limit=2&after=${first.next ?? ''}`)), [r2, r1]);
    assert.deepEqual(ids(await list('q=')), ids(await list('limit=50')), 'an empty search is none');
  });

  test('bad values are a 400 naming the field', async () => {
    const field = async (query: string) => (await s.fail(400, 'GET', `/api/v1/jobs?${query}`)).field;
    assert.equal(await field('order=sideways'), 'query.order');
    assert.equal(await field(`q=${'x'.repeat(201)}`), 'query.q');
    assert.equal(await field('q=%00'), 'query.q');
    assert.equal(await field('after=abc&order=newest'), 'query.after');
    assert.equal(await field('search=x'), 'query.search', 'an unknown parameter (the search is `q`)');
  });

  test('each job: its latest attempt’s sites, start and end, and who submitted it, by token name', async () => {
    const { jobs } = await list('order=newest&limit=500');
    const run = jobs.find((j) => j.id === lent);
    assert.equal(run?.state, 'succeeded');
    const placement = run?.last_placement;
    assert.deepEqual(placement?.parts.map((p) => [p.site_id, p.lender_org_id, p.gpus]), [[acmeSite, 'acme', 8]]);
    assert.equal(placement?.attempt, 1);
    assert.ok(placement?.started_at !== null && placement?.ended_at !== null);
    assert.equal(Date.parse(placement.ended_at ?? '') - Date.parse(placement.started_at ?? ''), 90_000, 'ran 90 s');
    assert.equal(jobs.find((j) => j.id === betaJobs[0])?.last_placement, null, 'never placed');
    assert.equal(jobs.find((j) => j.id === betaJobs[0])?.submitted_by_name, 'alice laptop');
    const admin = jobs.find((j) => j.id === betaJobs[2])?.submitted_by_name;
    assert.ok(admin !== null && admin !== undefined && admin !== '', 'the admin sees its own token’s name');
    const detail = await s.ok(JobDetailResponse, 200, 'GET', `/api/v1/jobs/${betaJobs[0] ?? ''}`, { token: member });
    assert.equal(detail.submitted_by_name, 'alice laptop', 'job detail names the token');
  });

  test('an org’s member: only its jobs (search too), another org’s site by its label, no name of the admin’s token', async () => {
    const res = await s.req('GET', '/api/v1/jobs?order=newest&limit=500', { token: member });
    assert.equal(res.status, 200);
    const { jobs } = JobListResponse.parse(res.body);
    assert.deepEqual(jobs.map((j) => j.id), [...betaJobs, lent].reverse());
    assert.ok(!res.text.includes(acmeSite), 'acme’s site id is not shown');
    assert.deepEqual(jobs.find((j) => j.id === lent)?.last_placement?.parts.map((p) => p.site_id), ['acme:site-1']);
    assert.equal(jobs.find((j) => j.id === betaJobs[0])?.submitted_by_name, 'alice laptop');
    assert.equal(jobs.find((j) => j.id === betaJobs[2])?.submitted_by_name, null, 'the admin’s token is not named to a member');
    assert.deepEqual(ids(await list('q=secret', member)), [], 'a search finds no other org’s job');
    assert.equal((await s.ok(JobDetailResponse, 200, 'GET', `/api/v1/jobs/${betaJobs[2] ?? ''}`, { token: member })).submitted_by_name, null);
    assert.equal((await s.fail(404, 'GET', '/api/v1/jobs?org=acme', { token: member })).code, 'not_found');
  });
});
