// The control plane's REST API on a real (in-memory PGlite) store, through
// fastify.inject: the happy paths of every resource, the live scheduling loop
// placing and diagnosing jobs, the ledger, OpenAPI, metrics and health. Every
// response is checked against the API's own response schema.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import type { TrainPlan, VideoPlan } from '../src/plan/index.ts';
import {
  DryRunResponse, HealthResponse, JobDetailResponse, JobListResponse, JobResponse, LedgerResponse, OrgListResponse, OrgResponse, PlanResponse, SiteListResponse, SiteResponse,
  TokenCreatedResponse, TokenListResponse, TokenResponse, WhoAmIResponse,
  SHARE_RULE_DEFAULTS,
} from '../src/server/schemas.ts';
import { RunReportBatchResponse } from '../src/server/routes/agent.ts';
import { systemClock } from '../src/server/app.ts';
import { toApiError } from '../src/server/errors.ts';
import { StoreConflictError } from '../src/store/types.ts';
import { TestServer } from './support/server.ts';
import { waitFor } from './support/live-pool.ts';

const OpenApi = z.object({ openapi: z.string(), paths: z.record(z.string(), z.record(z.string(), z.object({ security: z.unknown().optional(), requestBody: z.unknown().optional() }))) });
const iso = (ms: number) => new Date(ms).toISOString();

describe('the REST API on one server', () => {
  let s: TestServer;
  before(async () => {
    s = await TestServer.start();
    await s.org('acme');
    await s.org('beta');
  });
  after(() => s.close());

  test('orgs: create (id from the name by default), list and show', async () => {
    const created = await s.ok(OrgResponse, 201, 'POST', '/api/v1/orgs', { body: { name: 'Gamma Labs' } });
    assert.deepEqual(created, { id: 'gamma-labs', name: 'Gamma Labs', created_at: iso(s.clock.now()) });
    const { orgs } = await s.ok(OrgListResponse, 200, 'GET', '/api/v1/orgs');
    assert.deepEqual(orgs.map((o) => o.id).sort(), ['acme', 'beta', 'gamma-labs']);
    assert.equal((await s.ok(OrgResponse, 200, 'GET', '/api/v1/orgs/acme')).name, 'Org acme');
    assert.equal((await s.fail(409, 'POST', '/api/v1/orgs', { body: { id: 'acme', name: 'again' } })).code, 'conflict');
  });

  test('a create that breaks a store rule says so in the API’s words, naming the field, never in the database’s', async () => {
    const dup = await s.fail(409, 'POST', '/api/v1/orgs', { body: { id: 'acme', name: 'again' } });
    assert.deepEqual(dup, { code: 'conflict', message: 'id: an org "acme" exists already', field: 'id' });
    assert.deepEqual(await s.fail(409, 'POST', '/api/v1/orgs', { body: { name: 'ACME' } }), dup, 'the id made from the name');
    // Sites and tokens get random ids and are checked before the insert, so only a race breaks their rules: the store's errors as such a race would raise them.
    const site = await s.site('beta');
    const at = s.clock.now();
    const newSite = { id: site, orgId: 'beta', name: 'x', capacity: [], pricePerGpuHour: null, share: { lendFraction: 1, reclaim: true, reclaimNoticeS: 0 }, wanLinks: [], createdAt: at };
    const newToken = { id: 'tok-race', role: 'member' as const, orgId: 'beta', siteId: null, name: 'x', secretHash: 'h', createdAt: at };
    await s.store.createToken(newToken);
    const raced = async (write: Promise<unknown>) => toApiError(await write.then(() => assert.fail('the store took it'), (err: unknown) => err));
    const cases = [
      [raced(s.store.createSite(newSite)), 'conflict', `a site "${site}" exists already; try again`, undefined],
      [raced(s.store.createSite({ ...newSite, id: 'gone-1', orgId: 'gone' })), 'not_found', 'org_id: org "gone" not found', 'org_id'],
      [raced(s.store.createToken(newToken)), 'conflict', 'a token "tok-race" exists already; try again', undefined],
      [raced(s.store.createToken({ ...newToken, id: 'tok-2', orgId: 'gone' })), 'not_found', 'org_id: org "gone" not found', 'org_id'],
      [raced(s.store.createToken({ ...newToken, id: 'tok-3', role: 'agent', siteId: 'nowhere' })), 'not_found', 'site_id: site "nowhere" not found', 'site_id'],
    ] as const;
    for (const [error, code, message, field] of cases) {
      const e = await error;
      assert.deepEqual([e.code, e.message, e.field], [code, message, field]);
    }
    const unknown = toApiError(new StoreConflictError('duplicate key value violates unique constraint "x_pkey"', 'x_pkey'));
    assert.deepEqual([unknown.code, unknown.message, unknown.field], ['conflict', 'the request conflicts with what is stored; try again', undefined], 'a rule without words of its own: no database text');
  });

  test('tokens: the secret is returned once; lists show no secret; a revoked token is refused at once', async () => {
    const created = await s.ok(TokenCreatedResponse, 201, 'POST', '/api/v1/tokens', { body: { name: 'ci', role: 'member', org_id: 'acme' } });
    assert.match(created.token, /^sl_[0-9a-f]+_[0-9a-f]+$/);
    assert.deepEqual([created.role, created.org_id, created.site_id, created.revoked_at], ['member', 'acme', null, null]);
    assert.equal((await s.ok(OrgListResponse, 200, 'GET', '/api/v1/orgs', { token: created.token })).orgs.length, 1, 'the token works (and is now cached)');
    assert.deepEqual(await s.ok(WhoAmIResponse, 200, 'GET', '/api/v1/whoami', { token: created.token }), { id: created.id, name: 'ci', role: 'member', org_id: 'acme', site_id: null });
    assert.equal((await s.ok(WhoAmIResponse, 200, 'GET', '/api/v1/whoami')).role, 'admin');
    const listed = (await s.req('GET', '/api/v1/tokens?org=acme')).text;
    assert.ok(listed.includes(created.id));
    assert.ok(!listed.includes(created.token.split('_')[2] ?? 'secret'), 'no secret in lists');
    assert.ok((await s.ok(TokenListResponse, 200, 'GET', '/api/v1/tokens?org=acme')).tokens.some((t) => t.id === created.id));
    const revoked = await s.ok(TokenResponse, 200, 'DELETE', `/api/v1/tokens/${created.id}`);
    assert.equal(revoked.revoked_at, iso(s.clock.now()));
    assert.equal((await s.fail(401, 'GET', '/api/v1/orgs', { token: created.token })).code, 'unauthorized');
  });

  test('sites: create with defaults, list, show, update, and an agent heartbeat', async () => {
    const site = await s.ok(SiteResponse, 201, 'POST', '/api/v1/sites', { body: { name: 'Beta Cloud', org_id: 'beta', capacity: [{ gpu_type: 'a100', nodes: 2, gpus_per_node: 8 }] } });
    assert.match(site.id, /^beta-cloud-[0-9a-f]{8}$/);
    assert.deepEqual(site.share, { ...SHARE_RULE_DEFAULTS, lend_fraction: 1, reclaim: true, reclaim_notice_s: 0 });
    assert.deepEqual([site.health, site.price_per_gpu_hour, site.last_heartbeat_at], ['unknown', null, null]);
    const updated = await s.ok(SiteResponse, 200, 'PATCH', `/api/v1/sites/${site.id}`, { body: { price_per_gpu_hour: 1.5, share: { lend_fraction: 0.5 } } });
    assert.equal(updated.price_per_gpu_hour, 1.5);
    assert.deepEqual(updated.share, { ...SHARE_RULE_DEFAULTS, lend_fraction: 0.5, reclaim: true, reclaim_notice_s: 0 });
    assert.deepEqual(updated.capacity, site.capacity);
    assert.ok((await s.ok(SiteListResponse, 200, 'GET', '/api/v1/sites?org=beta')).sites.some((x) => x.id === site.id));
    const agent = await s.token('agent', 'beta', site.id);
    s.clock.advance(5);
    const beat = await s.ok(SiteResponse, 200, 'POST', `/api/v1/sites/${site.id}/heartbeat`, { token: agent, body: {} });
    assert.equal(beat.last_heartbeat_at, iso(s.clock.now()));
    assert.equal(beat.health, 'up', 'a site that reports is up');
    assert.equal((await s.ok(SiteResponse, 200, 'GET', `/api/v1/sites/${site.id}`, { token: agent })).id, site.id);
  });

  test('sites: a PATCH with part of the share policy changes only the fields it gives', async () => {
    const share = { lend_fraction: 0.5, reclaim: false, reclaim_notice_s: 600 };
    const site = await s.ok(SiteResponse, 201, 'POST', '/api/v1/sites', { body: { name: 'Terms', org_id: 'beta', capacity: [{ gpu_type: 'a100', nodes: 1, gpus_per_node: 8 }], share } });
    assert.deepEqual(site.share, { ...SHARE_RULE_DEFAULTS, ...share });
    const patch = (body: unknown) => s.ok(SiteResponse, 200, 'PATCH', `/api/v1/sites/${site.id}`, { body });
    assert.deepEqual((await patch({ share: { lend_fraction: 0.25 } })).share, { ...SHARE_RULE_DEFAULTS, ...share, lend_fraction: 0.25 });
    assert.deepEqual((await patch({ share: { reclaim_notice_s: 60 } })).share, { ...SHARE_RULE_DEFAULTS, lend_fraction: 0.25, reclaim: false, reclaim_notice_s: 60 });
    assert.deepEqual((await patch({ name: 'Terms, renamed' })).share, { ...SHARE_RULE_DEFAULTS, lend_fraction: 0.25, reclaim: false, reclaim_notice_s: 60 }, 'no share: unchanged');
    assert.deepEqual((await patch({ share: { reclaim: true } })).share, { ...SHARE_RULE_DEFAULTS, lend_fraction: 0.25, reclaim: true, reclaim_notice_s: 60 });
    assert.deepEqual((await s.ok(SiteResponse, 200, 'GET', `/api/v1/sites/${site.id}`)).share, { ...SHARE_RULE_DEFAULTS, lend_fraction: 0.25, reclaim: true, reclaim_notice_s: 60 }, 'as stored');
    assert.equal((await s.fail(400, 'PATCH', `/api/v1/sites/${site.id}`, { body: { share: { lend_fraction: 2 } } })).code, 'invalid_request');
    assert.equal((await s.fail(400, 'PATCH', `/api/v1/sites/${site.id}`, { body: { share: { lend: 0.5 } } })).code, 'invalid_request', 'an unknown share field');
  });

  test('names with control, bidi or invisible characters are refused on create and update, naming the field and the character', async () => {
    const site = await s.site('acme');
    const creates: readonly [string, string, (name: string) => Record<string, unknown>][] = [
      ['POST', '/api/v1/orgs', (name) => ({ id: 'hostile', name })],
      ['POST', '/api/v1/tokens', (name) => ({ name, role: 'member', org_id: 'acme' })],
      ['POST', '/api/v1/sites', (name) => ({ name, org_id: 'acme', capacity: [{ gpu_type: 'h100', nodes: 1, gpus_per_node: 8 }] })],
      ['PATCH', `/api/v1/sites/${site}`, (name) => ({ name })],
      ['POST', '/api/v1/jobs', (name) => ({ name, org_id: 'acme', gpus: 1, estimate_s: 60 })],
      ['POST', '/api/v1/jobs/dry-run', (name) => ({ name, org_id: 'acme', gpus: 1, estimate_s: 60 })],
    ];
    const hostile: readonly [string, string][] = [['evil\x1b[2J', 'U+001B at character 5'], ['ring\x07', 'U+0007 at character 5'], ['two\r\nlines', 'U+000D at character 4'], ['invoice\u202Efdp.exe', 'U+202E at character 8'], ['ad\u200Bmin', 'U+200B at character 3'], ['a\tb', 'U+0009 at character 2'], ['nul\0', 'U+0000 at character 4']];
    for (const [method, url, body] of creates) {
      for (const [name, where] of hostile) {
        const e = await s.fail(400, method, url, { body: body(name) });
        assert.deepEqual([e.code, e.field, e.message], ['invalid_request', 'name', `name: must not contain control or bidi characters (${where})`], `${method} ${url} ${JSON.stringify(name)}`);
      }
    }
    const jobs = await s.ok(JobListResponse, 200, 'GET', '/api/v1/jobs?org=acme');
    assert.equal(jobs.jobs.length, 0, 'nothing was stored');
    // Every script and emoji (with their joiners) is a name.
    const fine = await s.ok(JobResponse, 201, 'POST', '/api/v1/jobs', { body: { name: '训练 👩‍💻 שלום 🏳️‍🌈', org_id: 'acme', gpus: 1, estimate_s: 60 } });
    assert.equal(fine.name, '训练 👩‍💻 שלום 🏳️‍🌈');
    await s.ok(JobResponse, 200, 'POST', `/api/v1/jobs/${fine.id}/cancel`);
  });

  test('plan: video and train, with the planner’s errors naming the JSON field', async () => {
    const video = (await s.ok(PlanResponse, 200, 'POST', '/api/v1/plan', { body: { kind: 'video', model: 'wan2.1-t2v-14b', width: 1280, height: 720, seconds: 5, gpu: 'h100', gpus: 8 } })) as unknown as VideoPlan;
    assert.equal(video.schema, 'suanli.plan.video/1');
    assert.equal(video.gpus, 8);
    assert.ok(video.wall_seconds > 0);
    const train = (await s.ok(PlanResponse, 200, 'POST', '/api/v1/plan', { body: { kind: 'train', mix: [{ width: 1280, height: 720, seconds: 5, clips: 1e6 }], gpus: 256 } })) as unknown as TrainPlan;
    assert.equal(train.schema, 'suanli.plan.train/1');
    assert.ok(train.gpu_hours > 0);
    const bad = await s.fail(400, 'POST', '/api/v1/plan', { body: { kind: 'video', model: 'no-such-model' } });
    assert.equal(bad.field, 'model');
    assert.match(bad.message, /^model: unknown video model/);
    const wrongType = await s.fail(400, 'POST', '/api/v1/plan', { body: { kind: 'video', gpus: 'eight' } });
    assert.equal(wrongType.field, 'gpus');
    assert.match(wrongType.message, /^gpus: expected number, received string/);
  });

  test('OpenAPI 3 document lists the paths; the docs page is served', async () => {
    const doc = await s.ok(OpenApi, 200, 'GET', '/api/v1/openapi.json', { token: null });
    assert.equal(doc.openapi, '3.0.3');
    for (const path of ['/api/v1/orgs', '/api/v1/orgs/{id}', '/api/v1/tokens', '/api/v1/tokens/{id}', '/api/v1/sites', '/api/v1/sites/{id}', '/api/v1/sites/{id}/heartbeat', '/api/v1/jobs', '/api/v1/jobs/{id}', '/api/v1/jobs/{id}/cancel', '/api/v1/jobs/dry-run', '/api/v1/ledger', '/api/v1/plan', '/healthz', '/readyz']) {
      assert.ok(path in doc.paths, `${path} is documented`);
    }
    assert.match(JSON.stringify(doc.paths['/api/v1/jobs']?.post?.requestBody), /"gpus"/);
    assert.deepEqual(doc.paths['/api/v1/jobs']?.post?.security, [{ bearer: [] }]);
    assert.equal(Object.keys(doc.paths).some((p) => p.includes('/docs')), false, 'the docs page itself is not an API path');
    const docs = await s.req('GET', '/api/v1/docs/', { token: null });
    assert.equal(docs.status, 200);
    assert.match(docs.text, /swagger/i);
  });

  test('health: /healthz and /readyz answer without a token', async () => {
    assert.equal((await s.ok(HealthResponse, 200, 'GET', '/healthz', { token: null })).status, 'ok');
    assert.equal((await s.ok(HealthResponse, 200, 'GET', '/readyz', { token: null })).status, 'ready');
  });
});

describe('jobs and the scheduling loop', () => {
  let s: TestServer;
  let acmeSite: string;
  before(async () => ({ s, acmeSite } = await TestServer.withTwoOrgs(2)));
  after(() => s.close());
  const cancel = (id: string) => s.ok(JobResponse, 200, 'POST', `/api/v1/jobs/${id}/cancel`);

  test('submit, show, and a retried submission with the same Idempotency-Key returns the first job', async () => {
    const member = await s.token('member', 'acme');
    const body = { name: 'train-7b', gpus: 4, estimate_s: 7200, gpu_types: ['h100'], command: ['python', 'train.py'] };
    const headers = { 'idempotency-key': 'k-1' };
    const first = await s.ok(JobResponse, 201, 'POST', '/api/v1/jobs', { token: member, body, headers });
    assert.deepEqual([first.state, first.org_id, first.gpus, first.command], ['pending', 'acme', 4, ['python', 'train.py']]);
    const retry = await s.ok(JobResponse, 200, 'POST', '/api/v1/jobs', { token: member, body, headers });
    assert.equal(retry.id, first.id);
    const other = await s.ok(JobResponse, 201, 'POST', '/api/v1/jobs', { token: member, body, headers: { 'idempotency-key': 'k-2' } });
    assert.notEqual(other.id, first.id);
    const shown = await s.ok(JobDetailResponse, 200, 'GET', `/api/v1/jobs/${first.id}`, { token: member });
    assert.equal(shown.name, 'train-7b');
    assert.deepEqual(shown.placements, []);
    assert.equal(shown.events[0]?.to_state, 'pending');
    await cancel(first.id);
    await cancel(other.id);
  });

  test('the same Idempotency-Key with a different submission is a 422; the same one in another key order is still the first job', async () => {
    const member = await s.token('member', 'acme');
    const body = { name: 'eval', gpus: 2, estimate_s: 600, gpu_types: ['h100', 'a100'], command: ['./eval.sh'], plan: undefined, priority: 3 };
    const headers = { 'idempotency-key': 'nightly-1' };
    const first = await s.ok(JobResponse, 201, 'POST', '/api/v1/jobs', { token: member, body, headers });
    // Keys in another order, defaults spelled out, GPU types in another case: the same request (the store's jsonb reorders keys too).
    const same = { priority: 3, command: ['./eval.sh'], gpu_types: ['H100', 'A100'], estimate_s: 600, gpus: 2, name: 'eval', gang: true, preemptible: true };
    assert.equal((await s.ok(JobResponse, 200, 'POST', '/api/v1/jobs', { token: member, body: same, headers })).id, first.id);
    const changes: Record<string, unknown>[] = [{ name: 'eval-2' }, { gpus: 4 }, { estimate_s: 601 }, { gpu_types: ['a100', 'h100'] }, { command: ['./eval.sh', '--all'] }, { priority: 4 }, { max_retries: 1 }, { plan: { kind: 'video', gpus: 2 }, gpus: undefined, estimate_s: undefined, gpu_types: undefined }];
    for (const change of changes) {
      const e = await s.fail(422, 'POST', '/api/v1/jobs', { token: member, body: { ...body, ...change }, headers });
      assert.deepEqual([e.code, e.field], ['idempotency_mismatch', 'header.idempotency-key'], JSON.stringify(change));
      assert.equal(e.message, `header.idempotency-key: "nightly-1" was used for another submission (job ${first.id}); give a new key for a new job`);
    }
    // The key is the org's: an admin naming the org is refused the same way, another org may use it.
    assert.equal((await s.fail(422, 'POST', '/api/v1/jobs', { body: { ...body, gpus: 8, org_id: 'acme' }, headers })).code, 'idempotency_mismatch');
    const beta = await s.ok(JobResponse, 201, 'POST', '/api/v1/jobs', { body: { ...body, gpus: 8, org_id: 'beta' }, headers });
    const { jobs } = await s.ok(JobListResponse, 200, 'GET', '/api/v1/jobs?limit=500');
    assert.deepEqual(jobs.filter((j) => j.name === 'eval').map((j) => j.id), [first.id, beta.id], 'nothing else was stored');
    await cancel(first.id);
    await cancel(beta.id);
  });

  test('concurrent retries of one submission make one job', async () => {
    const replies = await Promise.all(Array.from({ length: 20 }, () => s.req('POST', '/api/v1/jobs', { body: { org_id: 'beta', gpus: 1, estimate_s: 60 }, headers: { 'idempotency-key': 'burst' } })));
    const ids = new Set(replies.map((r) => JobResponse.parse(r.body).id));
    assert.equal(ids.size, 1);
    assert.deepEqual(replies.map((r) => r.status).sort(), [...Array<number>(19).fill(200), 201]);
    await cancel([...ids][0] ?? '');
  });

  test('many submissions at once are committed in few transactions (group commit), each answered with its own job', async () => {
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => s.req('POST', '/api/v1/jobs', { body: { org_id: 'beta', name: `burst-${i}`, gpus: 1, estimate_s: 60 } })));
    assert.ok(replies.every((r) => r.status === 201));
    const jobs = replies.map((r) => JobResponse.parse(r.body));
    assert.equal(new Set(jobs.map((j) => j.id)).size, 200);
    jobs.forEach((j, i) => assert.equal(j.name, `burst-${i}`));
    const metrics = (await s.req('GET', '/metrics', { token: null })).text;
    const commits = Number(/suanli_submit_batch_size_count (\d+)/.exec(metrics)?.[1]);
    assert.ok(commits < 100, `200 submissions took ${commits} commits`);
    for (const j of jobs) await cancel(j.id);
  });

  test('list: filters by state and org, pages with after/limit and a next cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await s.job('beta', 1, { name: `page-${i}` }));
    const seen: string[] = [];
    let next: string | null = null;
    do {
      const page: z.infer<typeof JobListResponse> = await s.ok(JobListResponse, 200, 'GET', `/api/v1/jobs?org=beta&state=pending&limit=2${next === null ? '' : `&after=${next}`}`);
      assert.ok(page.jobs.length <= 2);
      assert.ok(page.jobs.every((j) => j.state === 'pending' && j.org_id === 'beta'));
      seen.push(...page.jobs.map((j) => j.id));
      next = page.next;
    } while (next !== null);
    assert.deepEqual(seen, ids);
    for (const id of ids) await cancel(id);
    const cancelled = await s.ok(JobListResponse, 200, 'GET', '/api/v1/jobs?state=cancelled,succeeded&limit=500');
    assert.ok(ids.every((id) => cancelled.jobs.some((j) => j.id === id)));
    assert.equal((await s.fail(400, 'GET', '/api/v1/jobs?state=pending,done')).field, 'query.state');
  });

  test('a pass places a job that fits, and explains one that cannot start', async () => {
    const fits = await s.job('acme', 8);
    const tooBig = await s.job('acme', 64);
    const report = await s.pass();
    assert.equal(report.started, 1);
    const placed = await s.ok(JobDetailResponse, 200, 'GET', `/api/v1/jobs/${fits}`);
    assert.deepEqual([placed.state, placed.attempts, placed.diagnosis], ['placed', 1, null]);
    assert.deepEqual(placed.placements[0]?.parts, [{ site_id: acmeSite, lender_org_id: 'acme', gpu_type: 'h100', gpus: 8, nodes: 1 }]);
    const last = placed.events.at(-1);
    assert.deepEqual([last?.type, last?.from_state, last?.to_state], ['placed', 'pending', 'placed']);
    const waiting = await s.ok(JobResponse, 200, 'GET', `/api/v1/jobs/${tooBig}`);
    assert.equal(waiting.state, 'pending');
    assert.equal(waiting.diagnosis?.message, '0/1 site fit: 1 smaller than the job — no site can ever hold this job');
    assert.equal(waiting.diagnosis?.never, true);
    await cancel(tooBig);
    await cancel(fits);
  });

  test('dry run: where a job would start now, or why it would wait; nothing is committed', async () => {
    const count = async () => (await s.ok(JobListResponse, 200, 'GET', '/api/v1/jobs?limit=500')).jobs.length;
    const before = await count();
    const place = await s.ok(DryRunResponse, 200, 'POST', '/api/v1/jobs/dry-run', { body: { org_id: 'acme', gpus: 16, estimate_s: 60 } });
    assert.equal(place.outcome, 'place');
    assert.deepEqual(place.placement, [{ site_id: acmeSite, lender_org_id: 'acme', gpu_type: 'h100', gpus: 16, nodes: 2 }]);
    const wait = await s.ok(DryRunResponse, 200, 'POST', '/api/v1/jobs/dry-run', { body: { org_id: 'acme', gpus: 4, estimate_s: 60, gpu_types: ['b200'] } });
    assert.equal(wait.outcome, 'wait');
    assert.equal(wait.placement, null);
    assert.match(wait.diagnosis?.message ?? '', /GPU type not allowed/);
    assert.equal(await count(), before);
  });

  test('a job sized by the planner: GPUs, estimate and GPU type come from the plan', async () => {
    const job = await s.ok(JobResponse, 201, 'POST', '/api/v1/jobs', { body: { org_id: 'acme', name: 'video', plan: { kind: 'video', width: 832, height: 480, seconds: 5, gpus: 4 } } });
    assert.equal(job.gpus, 4);
    assert.deepEqual(job.gpu_types, ['h100']);
    assert.ok(job.estimate_s > 0);
    assert.equal(job.plan?.kind, 'video');
    const tooSmall = await s.fail(400, 'POST', '/api/v1/jobs', { body: { org_id: 'acme', plan: { kind: 'video', width: 1280, height: 720, seconds: 60, gpus: 1 } } });
    assert.equal(tooSmall.field, 'plan.gpus');
    assert.equal((await s.fail(400, 'POST', '/api/v1/jobs', { body: { org_id: 'acme', gpus: 2 } })).field, 'estimate_s');
    await cancel(job.id);
  });

  test('a job sized by the planner meets the bounds of an explicit one, on submit and dry run; efficiency and MFU have a floor', async () => {
    const before = (await s.ok(JobListResponse, 200, 'GET', '/api/v1/jobs?limit=500')).jobs.length;
    for (const url of ['/api/v1/jobs', '/api/v1/jobs/dry-run']) {
      const tiny = await s.fail(400, 'POST', url, { body: { org_id: 'acme', plan: { kind: 'video', efficiency: 1e-300 } } });
      assert.deepEqual([tiny.code, tiny.field], ['invalid_request', 'plan.efficiency'], url);
      assert.equal((await s.fail(400, 'POST', url, { body: { org_id: 'acme', plan: { kind: 'video', efficiency: 0.0009 } } })).field, 'plan.efficiency', url);
      assert.equal((await s.fail(400, 'POST', url, { body: { org_id: 'acme', plan: { kind: 'train', mix: [{ width: 640, height: 480, seconds: 2, clips: 1000 }], mfu: 1e-300 } } })).field, 'plan.mfu', url);
      // Every field in bounds, but 10¹³ clips for 10,000 epochs run for 5.4e15 s.
      const long = await s.fail(400, 'POST', url, { body: { org_id: 'acme', plan: { kind: 'train', mix: [{ width: 1280, height: 720, seconds: 5, clips: 1e13 }], epochs: 10_000 } } });
      assert.equal(long.field, 'plan', url);
      assert.match(long.message, /^plan: the plan runs 5\.41e\+15 s on 1024 × h100, over the 1e\+9 s an estimate_s may be; plan less work or more GPUs$/, url);
    }
    assert.equal((await s.ok(DryRunResponse, 200, 'POST', '/api/v1/jobs/dry-run', { body: { org_id: 'acme', plan: { kind: 'video', efficiency: 0.001 } } })).gpus, 1, 'the floor itself is a plan');
    assert.equal((await s.ok(JobListResponse, 200, 'GET', '/api/v1/jobs?limit=500')).jobs.length, before, 'nothing was stored');
  });

  test('GPU types are stored lower-cased, as the scheduler compares them; one given twice in any case is refused', async () => {
    const job = await s.ok(JobResponse, 201, 'POST', '/api/v1/jobs', { body: { org_id: 'acme', gpus: 1, estimate_s: 60, gpu_types: ['H100', 'a100', 'Ascend-910B'] } });
    assert.deepEqual(job.gpu_types, ['h100', 'a100', 'ascend-910b']);
    assert.deepEqual((await s.ok(JobDetailResponse, 200, 'GET', `/api/v1/jobs/${job.id}`)).gpu_types, ['h100', 'a100', 'ascend-910b'], 'as stored');
    await cancel(job.id);
    for (const url of ['/api/v1/jobs', '/api/v1/jobs/dry-run']) {
      const twice = await s.fail(400, 'POST', url, { body: { org_id: 'acme', gpus: 1, estimate_s: 60, gpu_types: ['H100', 'h100'] } });
      assert.deepEqual([twice.code, twice.field, twice.message], ['invalid_request', 'gpu_types[1]', 'gpu_types[1]: h100 is given twice (GPU types compare case-insensitively)'], url);
      assert.equal((await s.fail(400, 'POST', url, { body: { org_id: 'acme', gpus: 1, estimate_s: 60, gpu_types: ['a100', 'h100', 'A100'] } })).field, 'gpu_types[2]', url);
    }
  });

  test('cancel: a finished job cannot be cancelled (409), an unknown one is 404', async () => {
    const id = await s.job('acme', 1);
    await cancel(id);
    assert.match((await s.fail(409, 'POST', `/api/v1/jobs/${id}/cancel`)).message, /is cancelled/);
    assert.equal((await s.fail(404, 'POST', '/api/v1/jobs/nope/cancel')).code, 'not_found');
  });
});

describe('runs, preemption, lost sites and the ledger', () => {
  let s: TestServer;
  let acmeSite: string;
  before(async () => ({ s, acmeSite } = await TestServer.withTwoOrgs(1)));
  after(() => s.close());
  const setState = (id: string, state: string) => s.ok(JobResponse, 200, 'POST', `/api/v1/internal/jobs/${id}/state`, { body: { state } });
  const show = (id: string) => s.ok(JobDetailResponse, 200, 'GET', `/api/v1/jobs/${id}`);

  test('a borrower runs on another org’s site; the ledger books its GPU-hours to both orgs; an org sees its own rows and pool totals', async () => {
    const job = await s.job('beta', 4);
    await s.pass();
    await setState(job, 'running');
    s.clock.advance(1800);
    assert.equal((await setState(job, 'succeeded')).state, 'succeeded');
    assert.equal((await show(job)).placements[0]?.ended_at, iso(s.clock.now()));
    const all = await s.ok(LedgerResponse, 200, 'GET', '/api/v1/ledger');
    const row = (org: string) => all.rows.find((r) => r.org_id === org);
    assert.equal(row('beta')?.consumed_gpu_h, 2, '4 GPUs × 0.5 h');
    assert.equal(row('acme')?.contributed_gpu_h, 2);
    assert.equal(row('acme')?.credits_gpu_h, 2);
    const member = await s.token('member', 'beta');
    const own = await s.ok(LedgerResponse, 200, 'GET', '/api/v1/ledger', { token: member });
    assert.deepEqual(own.rows.map((r) => r.org_id), ['beta']);
    assert.deepEqual(own.pool, [{ gpu_type: 'h100', contributed_gpu_h: 2, consumed_gpu_h: 2, own_gpu_h: 0 }]);
    await s.fail(404, 'GET', '/api/v1/ledger?org=acme', { token: member });
    assert.match((await s.fail(409, 'POST', `/api/v1/internal/jobs/${job}/state`, { body: { state: 'running' } })).message, /is succeeded/);
  });

  test('an owner reclaims its lent GPUs: the borrower is preempted (its run booked) and requeued with a diagnosis', async () => {
    const borrower = await s.job('beta', 8);
    await s.pass();
    await setState(borrower, 'running');
    s.clock.advance(3600);
    const owner = await s.job('acme', 8);
    const report = await s.pass();
    assert.deepEqual([report.preempted, report.started], [1, 1]);
    assert.equal((await show(owner)).state, 'placed');
    const b = await show(borrower);
    assert.equal(b.state, 'pending');
    assert.deepEqual(b.events.slice(-2).map((e) => e.type), ['preempted', 'requeued']);
    assert.equal(b.events.at(-2)?.detail.why, 'reclaim');
    await s.pass();
    assert.match((await show(borrower)).diagnosis?.message ?? '', /^0\/1 site fit/);
    const ledger = await s.ok(LedgerResponse, 200, 'GET', '/api/v1/ledger?org=beta');
    assert.equal(ledger.rows[0]?.consumed_gpu_h, 2 + 8, 'the half hour before plus the preempted hour on 8 GPUs');
    await s.ok(JobResponse, 200, 'POST', `/api/v1/jobs/${borrower}/cancel`);
    await s.ok(JobResponse, 200, 'POST', `/api/v1/jobs/${owner}/cancel`);
  });

  test('jobs on a lost site go back to the queue, and are placed again when it is back', async () => {
    const job = await s.job('acme', 2);
    await s.pass();
    assert.equal((await show(job)).state, 'placed');
    await s.app.suanli.sites.setSiteHealth(acmeSite, 'lost');
    assert.equal((await s.pass()).requeued, 1);
    const after = await show(job);
    assert.equal(after.state, 'pending');
    assert.equal(after.events.at(-2)?.type, 'site_lost');
    await s.pass();
    assert.match((await show(job)).diagnosis?.message ?? '', /^0\/0 sites fit/);
    await s.app.suanli.sites.setSiteHealth(acmeSite, 'up');
    await s.pass();
    const again = await show(job);
    assert.deepEqual([again.state, again.attempts], ['placed', 2]);
  });

  test('metrics: the four families are exported as pool totals, with no org or site', async () => {
    const text = (await s.req('GET', '/metrics', { token: null })).text;
    for (const name of ['suanli_queue_length', 'suanli_gpus_allocated', 'suanli_scheduling_pass_seconds_bucket', 'suanli_job_transitions_total']) assert.match(text, new RegExp(`^${name}`, 'm'), name);
    assert.match(text, /^suanli_gpus_allocated\{gpu_type="h100"\} 2$/m);
    assert.match(text, /^suanli_queue_length 0$/m);
    assert.doesNotMatch(text, /\b(org|site)="|acme|beta/, 'no org or site is named');
    assert.match(text, /suanli_job_transitions_total\{from="pending",to="placed"\} \d+/);
    assert.match(text, /suanli_job_transitions_total\{from="none",to="pending"\} \d+/);
  });
});

describe('first start and the timed loop', () => {
  test('SUANLI_ADMIN_TOKEN becomes the admin token on a first start', async () => {
    const given = `sl_first_${'a'.repeat(40)}`;
    const s = await TestServer.start({ adminToken: given });
    try {
      assert.equal(s.app.suanli.adminToken, given);
      await s.ok(OrgListResponse, 200, 'GET', '/api/v1/orgs', { token: given });
    } finally {
      await s.close();
    }
  });

  test('with the loop on its timers, a submitted job is placed without anyone asking for a pass', async () => {
    const s = await TestServer.start({ schedule: true, passIntervalMs: 50 });
    try {
      await s.org('acme');
      await s.site('acme');
      const id = await s.job('acme', 1);
      let state = 'pending';
      for (let i = 0; i < 100 && state === 'pending'; i++) {
        await new Promise((r) => setTimeout(r, 20));
        state = (await s.ok(JobResponse, 200, 'GET', `/api/v1/jobs/${id}`)).state;
      }
      assert.equal(state, 'placed');
    } finally {
      await s.close();
    }
  });

  // Event-driven: the submission itself asks for a pass, which runs at once on an idle pool (no debounce, and
  // the timer's next pass is a minute away). A pool that waited 200 ms before each pass placed it after 200 ms at least.
  test('on an idle pool a submission is placed at once, not at the next timed pass', async () => {
    const s = await TestServer.start({ schedule: true, passIntervalMs: 60_000, clock: systemClock });
    try {
      await s.org('acme');
      await s.site('acme');
      await new Promise((r) => setTimeout(r, 300)); // the first pass (at start) long done: the pool is idle
      const lags: number[] = [];
      for (let i = 0; i < 5; i++) {
        const id = await s.job('acme', 1);
        const placed = await waitFor(`job ${id} placed`, async () => {
          const j = await s.ok(JobDetailResponse, 200, 'GET', `/api/v1/jobs/${id}`);
          return j.state === 'placed' ? j : undefined;
        }, 5000);
        const at = placed.events.find((e) => e.type === 'placed')?.at ?? '';
        lags.push(Date.parse(at) - Date.parse(placed.submitted_at));
      }
      lags.sort((x, y) => x - y);
      assert.ok((lags[2] ?? Infinity) < 100, `median submission → placed ${lags[2]} ms (all: ${lags.join(', ')})`);
    } finally {
      await s.close();
    }
  });
});

describe('a start the commit budget carried over, whose job a later decision preempted', () => {
  // One decision committed per pass: the borrower's second start waits in the backlog while the owner's
  // reclaim, decided by the next pass, preempts it in the core. Committing that start as it stood then placed
  // the job on no site at all (its allocation, read at commit, was none); the loop now skips it.
  test('is skipped: no pass fails, and no job is placed without parts', async () => {
    const s = await TestServer.start({ maxDecisionsPerPass: 1 });
    try {
      await s.org('owner');
      await s.org('borrower');
      await s.site('owner', 1, 8, 'h100', { share: { lend_fraction: 1, reclaim: true, reclaim_notice_s: 0 } });
      const a = await s.job('borrower', 4, { gpu_types: ['h100'], preemptible: true });
      const b = await s.job('borrower', 4, { gpu_types: ['h100'], preemptible: true });
      const first = await s.pass();
      assert.equal(first.started, 1, 'the budget commits one start; the other waits in the backlog');
      const owner = await s.job('owner', 8, { gpu_types: ['h100'] });
      for (let i = 0; i < 6; i++) await s.pass(); // rejects if a pass fails (the store refuses a placement without parts)
      const jobs = await Promise.all([a, b, owner].map((id) => s.ok(JobDetailResponse, 200, 'GET', `/api/v1/jobs/${id}`)));
      for (const j of jobs) for (const p of j.placements) assert.ok(p.parts.length > 0, `job ${j.id} attempt ${p.attempt} placed on no site`);
      assert.equal(jobs.flatMap((j) => j.events).filter((e) => e.type === 'site_lost').length, 0, 'no site was lost');
    } finally {
      await s.close();
    }
  });
});

describe('the loop keeps its core between passes, and rebuilds it from the store when it must', () => {
  let s: TestServer;
  before(async () => {
    s = await TestServer.start({ maxDecisionsPerPass: 2 });
    await s.org('acme');
    await s.site('acme', 1, 8);
  });
  after(() => s.close());
  const state = async (id: string) => (await s.ok(JobResponse, 200, 'GET', `/api/v1/jobs/${id}`)).state;

  test('arrivals alone keep the core; a cancel (a change the core did not make) rebuilds it', async () => {
    assert.equal((await s.pass()).rebuilt, true, 'the first pass builds it');
    const a = await s.job('acme', 1);
    const kept = await s.pass();
    assert.deepEqual([kept.rebuilt, kept.started], [false, 1]);
    assert.equal(await state(a), 'placed');
    await s.ok(JobResponse, 200, 'POST', `/api/v1/jobs/${a}/cancel`);
    assert.equal((await s.pass()).rebuilt, true);
  });

  test('a pass commits at most maxDecisionsPerPass decisions; the next passes commit the rest from the backlog, keeping the core', async () => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await s.job('acme', 1));
    const passes = [await s.pass(), await s.pass(), await s.pass()];
    assert.deepEqual(passes.map((p) => p.started), [2, 2, 1]);
    assert.deepEqual(passes.map((p) => p.rebuilt), [false, false, false]);
    for (const id of ids) assert.equal(await state(id), 'placed');
    for (const id of ids) await s.ok(JobResponse, 200, 'POST', `/api/v1/jobs/${id}/cancel`);
  });

  test('runs started and ended by their agents keep the core: the GPUs an ended run frees go to the next job in the next pass', async () => {
    const site = (await s.ok(SiteListResponse, 200, 'GET', '/api/v1/sites')).sites[0]?.id ?? '';
    const agent = await s.token('agent', 'acme', site);
    const report = (id: string, state: string) => s.ok(RunReportBatchResponse, 200, 'POST', '/api/v1/agent/reports/batch', { token: agent, body: { reports: [{ job_id: id, attempt: 1, state }] } });
    await s.pass();
    const first = await s.job('acme', 8);
    const second = await s.job('acme', 8);
    assert.deepEqual([(await s.pass()).started, await state(first)], [1, 'placed']);
    await report(first, 'running');
    const running = await s.pass();
    assert.deepEqual([running.started, running.waiting, running.rebuilt], [0, 1, false]);
    await report(first, 'succeeded');
    const after = await s.pass();
    assert.deepEqual([after.started, after.rebuilt], [1, false]);
    assert.equal(await state(second), 'placed');
    await s.ok(JobResponse, 200, 'POST', `/api/v1/jobs/${second}/cancel`);
  });

  test('a job changed behind the server’s back is not placed; the mirror is reloaded and the GPUs go to another job', async () => {
    await s.pass();
    const gone = await s.job('acme', 8);
    const next = await s.job('acme', 8);
    // Cancelled in the store directly, as another process would: the server's mirror still has it pending.
    await s.store.transition([{ jobId: gone, from: ['pending'], to: 'cancelled', at: s.clock.now(), type: 'cancelled' }]);
    const first = await s.pass();
    assert.equal(first.started, 0, 'the placement of the cancelled job did not apply');
    assert.equal(await state(gone), 'cancelled');
    await s.pass();
    assert.equal(await state(next), 'placed');
    assert.equal(await state(gone), 'cancelled');
  });
});
