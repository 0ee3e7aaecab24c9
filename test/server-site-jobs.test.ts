// GET /api/v1/sites/:id/jobs (issue 19's site page): the jobs placed or running on a site
// now. The site's org sees its own jobs there in full and a borrower's only by its org and
// GPUs (never its id or name); the admin sees every job; another org's site is a 404.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SiteJobsResponse } from '../src/server/schemas.ts';
import { TestServer } from './support/server.ts';

let s: TestServer;
let acmeSite = '';
let own = '';
let borrowed = '';

before(async () => {
  ({ s, acmeSite } = await TestServer.withTwoOrgs(1));
  await s.site('beta', 0, 8, 'h100');
  own = await s.job('acme', 2);
  borrowed = await s.job('beta', 4);
  // Pending: not on any site yet, so never listed.
  await s.job('acme', 64);
  await s.pass();
});
after(() => s.close());

const jobsOn = (site: string, token?: string) => s.ok(SiteJobsResponse, 200, 'GET', `/api/v1/sites/${site}/jobs`, token === undefined ? {} : { token });

test('the admin sees every job on a site, the borrower’s too, oldest placement first', async () => {
  const { jobs } = await jobsOn(acmeSite);
  assert.deepEqual(jobs.map((j) => [j.job_id, j.name, j.org_id, j.state, j.gpu_type, j.gpus]), [
    [own, 'job of acme', 'acme', 'placed', 'h100', 2],
    [borrowed, 'job of beta', 'beta', 'placed', 'h100', 4],
  ]);
  assert.equal(jobs[0]?.started_at, null, 'placed, not started yet');
});

test('a member of the site’s org sees its own jobs in full and a borrower’s only by its org and GPUs', async () => {
  const member = await s.token('member', 'acme');
  const { jobs } = await jobsOn(acmeSite, member);
  assert.deepEqual(jobs.map((j) => [j.job_id, j.name, j.org_id, j.gpus]), [[own, 'job of acme', 'acme', 2], [null, null, 'beta', 4]]);
  assert.doesNotMatch(JSON.stringify(jobs), new RegExp(`"${borrowed}"|job of beta`));
  // A job started: its start is given.
  await s.req('POST', `/api/v1/internal/jobs/${own}/state`, { body: { state: 'running' } });
  const started = (await jobsOn(acmeSite, member)).jobs[0];
  assert.equal(started?.state, 'running');
  assert.equal(started?.started_at, new Date(s.clock.now()).toISOString());
});

test('another org’s site is a 404 like an unknown one; an agent may not list jobs', async () => {
  const beta = await s.token('org-admin', 'beta');
  const refused = await s.fail(404, 'GET', `/api/v1/sites/${acmeSite}/jobs`, { token: beta });
  assert.equal(refused.code, 'not_found');
  assert.match(refused.message, new RegExp(acmeSite));
  assert.deepEqual(await s.fail(404, 'GET', '/api/v1/sites/no-such-site/jobs', { token: beta }).then((e) => e.code), 'not_found');
  const agent = await s.token('agent', 'acme', acmeSite);
  assert.equal((await s.fail(403, 'GET', `/api/v1/sites/${acmeSite}/jobs`, { token: agent })).message, 'an agent token may not list the jobs on a site');
});
