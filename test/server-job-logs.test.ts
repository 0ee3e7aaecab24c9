// A job's log tails, a site each (issue 19): the agents of two orgs' sites report the logs of their parts of one
// job across both; the job's detail gives each site's own tail, named by its site (another org's by its neutral
// label to a member), with the newest as the attempt's `log_tail`. A site with no part in the job adds nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RunReportBatchResponse, RunReportResponse } from '../src/server/routes/agent.ts';
import { JOB_EVENT_TYPES, JobDetailResponse, SiteResponse } from '../src/server/schemas.ts';
import { TestServer } from './support/server.ts';

const iso = (ms: number) => new Date(ms).toISOString();
/** 1 GB per sync, 100 s outer steps: over 10 Gb/s between two sites, 99% efficient. */
const SPAN = { replica_gpus: 8, params: 1e9, bytes_per_param: 1, outer_step_s: 100, min_efficiency: 0.5, max_single_site_wait_s: 0 };
const endpoint = (n: number) => ({ addresses: ['127.0.0.1'], ports: { from: 31_000 + 100 * n, to: 31_099 + 100 * n } });

describe('log tails per site of a job across two orgs’ sites', () => {
  let s: TestServer;
  const sites: Record<'acme' | 'beta' | 'gamma', { id: string; agent: string }> = { acme: { id: '', agent: '' }, beta: { id: '', agent: '' }, gamma: { id: '', agent: '' } };
  before(async () => {
    s = await TestServer.start();
    for (const [n, org] of (['acme', 'beta', 'gamma'] as const).entries()) {
      await s.org(org);
      const id = await s.site(org, 1, 8, 'h100', { span_endpoint: endpoint(n) });
      sites[org] = { id, agent: await s.token('agent', org, id) };
    }
    // acme and beta linked both ways, their borrowed runs on the host's network (a part must reach the other); gamma linked to no one.
    for (const [from, to] of [[sites.acme, sites.beta], [sites.beta, sites.acme]] as const) {
      await s.ok(SiteResponse, 200, 'PATCH', `/api/v1/sites/${from.id}`, { body: { wan_links: [{ to_site: to.id, gbps: 10, latency_ms: 5 }], share: { borrowed_network: 'host' } } });
    }
    // gamma's 8 GPUs go to a job of its own, so the 16-GPU job must span acme's and beta's.
    await s.job('gamma', 8);
    await s.pass();
  });
  after(() => s.close());

  const report = (site: { agent: string }, body: Record<string, unknown>) => s.ok(RunReportResponse, 200, 'POST', '/api/v1/agent/reports', { token: site.agent, body });
  const show = (id: string, token?: string) => s.ok(JobDetailResponse, 200, 'GET', `/api/v1/jobs/${id}`, token === undefined ? {} : { token });

  test('each site’s agent reports its part’s log; the detail gives both, each with its site and lender, the newest as the attempt’s tail', async () => {
    const id = await s.job('acme', 16, { span: SPAN });
    await s.pass();
    const placed = await show(id);
    assert.deepEqual(placed.placements[0]?.parts.map((p) => p.site_id).sort(), [sites.acme.id, sites.beta.id].sort(), `placed across acme’s and beta’s sites: ${JSON.stringify(placed.diagnosis)}`);
    assert.deepEqual(placed.placements[0]?.logs, [], 'no log yet');

    await report(sites.beta, { job_id: id, attempt: 1, state: 'running', log_tail: 'beta: part 1 up\n' });
    const betaAt = s.clock.now();
    s.clock.advance(2);
    await report(sites.acme, { job_id: id, attempt: 1, state: 'running', log_tail: 'acme: part 0 up\n' });
    s.clock.advance(3);
    // A later tail of beta's replaces beta's, not acme's.
    await report(sites.beta, { job_id: id, attempt: 1, state: 'running', log_tail: 'beta: part 1 up\nbeta: step 1\n' });
    const detail = await show(id);
    assert.equal(detail.state, 'running');
    const order = detail.placements[0]?.parts.map((p) => p.site_id) ?? [];
    const expected = {
      [sites.acme.id]: { site_id: sites.acme.id, lender_org_id: 'acme', log_tail: 'acme: part 0 up\n', log_at: iso(betaAt + 2000) },
      [sites.beta.id]: { site_id: sites.beta.id, lender_org_id: 'beta', log_tail: 'beta: part 1 up\nbeta: step 1\n', log_at: iso(s.clock.now()) },
    };
    assert.deepEqual(detail.placements[0]?.logs, order.map((site) => expected[site]), 'a log per site, in placement order');
    assert.equal(detail.placements[0]?.log_tail, 'beta: part 1 up\nbeta: step 1\n', 'the attempt’s tail is the newest of any site');
    assert.equal(detail.placements[0]?.log_at, iso(s.clock.now()));

    // A site with no part in the job cannot add a log to it: 404, as for a job it does not know.
    await s.fail(404, 'POST', '/api/v1/agent/reports', { token: sites.gamma.agent, body: { job_id: id, attempt: 1, state: 'running', log_tail: 'gamma: not mine\n' } });
    assert.deepEqual((await show(id)).placements[0]?.logs.map((l) => l.site_id), order, 'gamma’s report added nothing');

    // acme's member sees its own site by id and beta's by its neutral label, with beta as its lender, in the tail too.
    const member = await s.token('member', 'acme');
    const seen = await show(id, member);
    const label = seen.placements[0]?.parts.find((p) => p.lender_org_id === 'beta')?.site_id ?? '';
    assert.match(label, /^beta:site-\d+$/);
    assert.deepEqual(seen.placements[0]?.logs.map((l) => [l.site_id, l.lender_org_id]), order.map((site) => (site === sites.acme.id ? [site, 'acme'] : [label, 'beta'])));
    assert.ok(!JSON.stringify(seen).includes(sites.beta.id), 'beta’s site id nowhere in what acme’s member sees');

    // Both parts end: each site's tail stays with the attempt.
    await report(sites.acme, { job_id: id, attempt: 1, state: 'succeeded', exit_code: 0, log_tail: 'acme: done\n' });
    await report(sites.beta, { job_id: id, attempt: 1, state: 'succeeded', exit_code: 0, log_tail: 'beta: done\n' });
    const done = await show(id);
    assert.equal(done.state, 'succeeded');
    const known: readonly string[] = JOB_EVENT_TYPES;
    assert.deepEqual(done.events.map((e) => e.type).filter((type) => !known.includes(type)), [], 'every event type written is one the API lists (and the dashboard names)');
    assert.deepEqual(done.placements[0]?.logs.map((l) => [l.site_id, l.log_tail]), order.map((site) => [site, site === sites.acme.id ? 'acme: done\n' : 'beta: done\n']));
  });

  test('a run on one site reported in a batch (the fast path) keeps its tail under its site', async () => {
    const id = await s.job('beta', 8);
    await s.pass();
    const where = (await show(id)).placements[0]?.parts[0]?.site_id ?? '';
    const site = where === sites.acme.id ? sites.acme : sites.beta;
    const batch = await s.ok(RunReportBatchResponse, 200, 'POST', '/api/v1/agent/reports/batch', { token: site.agent, body: { reports: [{ job_id: id, attempt: 1, state: 'running', log_tail: 'one\n' }, { job_id: id, attempt: 1, state: 'running', log_tail: 'one\ntwo\n' }] } });
    assert.equal(batch.results.length, 2);
    const detail = await show(id);
    assert.deepEqual(detail.placements[0]?.logs, [{ site_id: where, lender_org_id: where === sites.acme.id ? 'acme' : 'beta', log_tail: 'one\ntwo\n', log_at: iso(s.clock.now()) }]);
    assert.equal(detail.placements[0]?.log_tail, 'one\ntwo\n');
  });
});
