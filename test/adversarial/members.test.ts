// A hostile member and a hostile org-admin against a live control plane (listening,
// on the embedded store): each test names the attack as a rival member tried it,
// and holds the fix. The hostile agent's attacks are in agent-*.test.ts beside this.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LivePool, spanEndpoint } from '../support/live-pool.ts';

/** The value at a path such as `error.field` or `placements.0.parts` of a JSON answer; undefined where there is none. */
function dig(json: unknown, path: string): unknown {
  let v = json;
  for (const key of path.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}

/** One HTTP request to the live server as `token`; the status, the raw body and the JSON (null if none). */
async function call(pool: LivePool, token: string | null, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${pool.url}/api/v1${path}`, {
    method,
    headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, text, json, headers: res.headers, at: (path: string) => dig(json, path), str: (path: string) => String(dig(json, path)) };
}

/** Org `id` with a site of `capacity` (default 1 × 8 h100), its org-admin's and a member's tokens. */
async function member(pool: LivePool, id: string, site: Record<string, unknown> = {}) {
  const admin = pool.admin;
  await call(pool, admin, 'POST', '/orgs', { id, name: `Org ${id}` });
  const orgAdmin = (await call(pool, admin, 'POST', '/tokens', { name: `${id} admin`, role: 'org-admin', org_id: id })).str('token');
  const memberToken = (await call(pool, admin, 'POST', '/tokens', { name: `${id} member`, role: 'member', org_id: id })).str('token');
  const created = await call(pool, orgAdmin, 'POST', '/sites', { name: `${id} lab`, capacity: [{ gpu_type: 'h100', nodes: 1, gpus_per_node: 8 }], span_endpoint: spanEndpoint(0), ...site });
  assert.equal(created.status, 201, created.text);
  return { orgAdmin, member: memberToken, siteId: created.at('id') as string };
}

const SPAN = { replica_gpus: 8, params: 1e9, bytes_per_param: 1, outer_step_s: 100, min_efficiency: 0.8, max_single_site_wait_s: 0 };

describe('a hostile org-admin declaring sites and links', () => {
  let pool: LivePool;
  before(async () => {
    pool = await LivePool.start({ schedule: false });
  });
  after(() => pool.close());

  test('item 3: a WAN link counts only when both sites declare it, at the lower figure; bad links are refused by name', async () => {
    // Borrowed runs keep the host's network: a spanning job's parts on lent GPUs must reach each other.
    const l20 = { capacity: [{ gpu_type: 'l20', nodes: 1, gpus_per_node: 8 }], share: { borrowed_network: 'host' } };
    const a = await member(pool, 'wan-a', l20);
    const b = await member(pool, 'wan-b', l20);
    await member(pool, 'wan-c', { capacity: [{ gpu_type: 'a100', nodes: 1, gpus_per_node: 8 }] });
    // A declares a huge link to B's site; B has declared nothing: the link does not exist.
    assert.equal((await call(pool, a.orgAdmin, 'PATCH', `/sites/${a.siteId}`, { wan_links: [{ to_site: b.siteId, gbps: 100_000, latency_ms: 0 }] })).status, 200);
    const job = { name: 'big', gpus: 16, estimate_s: 3600, span: SPAN, gpu_types: ['l20'] };
    const oneSided = await call(pool, pool.admin, 'POST', '/jobs/dry-run', { ...job, org_id: 'wan-c' });
    assert.equal(oneSided.at('outcome'), 'wait');
    assert.match(oneSided.str('diagnosis.message'), /across sites: no WAN link between/);
    // B declares its real, tiny link: the lower figure holds, and a job that needs 80% efficiency cannot span it.
    assert.equal((await call(pool, b.orgAdmin, 'PATCH', `/sites/${b.siteId}`, { wan_links: [{ to_site: a.siteId, gbps: 0.01, latency_ms: 30 }] })).status, 200);
    const agreed = await call(pool, pool.admin, 'POST', '/jobs/dry-run', { ...job, org_id: 'wan-c' });
    assert.equal(agreed.at('outcome'), 'wait');
    assert.match(agreed.str('diagnosis.message'), /across sites: .*reaches \d+% utilization, below the job's 80%/);
    // With a fair link on both sides the same job spans.
    await call(pool, b.orgAdmin, 'PATCH', `/sites/${b.siteId}`, { wan_links: [{ to_site: a.siteId, gbps: 10, latency_ms: 5 }] });
    assert.equal((await call(pool, pool.admin, 'POST', '/jobs/dry-run', { ...job, org_id: 'wan-c' })).at('outcome'), 'place');
    // Links to the site itself, to a site that does not exist, and twice to one site are refused, naming the link.
    const bad = (wan_links: unknown[]) => call(pool, a.orgAdmin, 'PATCH', `/sites/${a.siteId}`, { wan_links });
    const self = await bad([{ to_site: a.siteId, gbps: 1, latency_ms: 1 }]);
    assert.deepEqual([self.at('error.code'), self.at('error.field')], ['invalid_request', 'wan_links[0].to_site']);
    const unknown = await bad([{ to_site: b.siteId, gbps: 1, latency_ms: 1 }, { to_site: 'nowhere-0badc0de', gbps: 1, latency_ms: 1 }]);
    assert.equal(unknown.at('error.field'), 'wan_links[1].to_site');
    assert.match(unknown.str('error.message'), /no site "nowhere-0badc0de"/);
    const twice = await bad([{ to_site: b.siteId, gbps: 1, latency_ms: 1 }, { to_site: b.siteId, gbps: 2, latency_ms: 1 }]);
    assert.equal(twice.at('error.field'), 'wan_links[1].to_site');
  });

  test('item 4: sites, nodes, GPUs and queued jobs are bounded by per-org quotas the admin sets; a clear 403 names what', async () => {
    const o = await member(pool, 'greedy');
    const huge = { name: 'huge', capacity: Array.from({ length: 16 }, (_, i) => ({ gpu_type: `t${i}`, nodes: 65_536, gpus_per_node: 64 })) };
    const refused = await call(pool, o.orgAdmin, 'POST', '/sites', huge);
    assert.equal(refused.status, 403);
    assert.deepEqual([refused.at('error.code'), refused.at('error.field')], ['quota_exceeded', 'capacity']);
    assert.match(refused.str('error.message'), /org "greedy" would have 1,048,577 nodes declared, over its quota of 16,384/);
    // Growing an existing site past the quota is refused the same way; nothing is stored.
    const grow = await call(pool, o.orgAdmin, 'PATCH', `/sites/${o.siteId}`, { capacity: [{ gpu_type: 'h100', nodes: 20_000, gpus_per_node: 8 }] });
    assert.deepEqual([grow.status, grow.at('error.code')], [403, 'quota_exceeded']);
    assert.deepEqual((await call(pool, o.orgAdmin, 'GET', `/sites/${o.siteId}`)).at('capacity'), [{ gpu_type: 'h100', nodes: 1, gpus_per_node: 8 }]);
    // Only the pool's admin sets quotas; the org sees its own, and what it uses.
    assert.equal((await call(pool, o.orgAdmin, 'PATCH', '/orgs/greedy/quota', { sites: 1000 })).status, 403);
    const set = await call(pool, pool.admin, 'PATCH', '/orgs/greedy/quota', { sites: 2, queued_jobs: 3 });
    assert.deepEqual([set.status, set.at('limits.sites'), set.at('set')], [200, 2, ['queued_jobs', 'sites']]);
    const seen = await call(pool, o.member, 'GET', '/orgs/greedy/quota');
    assert.deepEqual([seen.at('used.sites'), seen.at('used.gpus'), seen.at('limits.queued_jobs')], [1, 8, 3]);
    assert.equal((await call(pool, o.orgAdmin, 'POST', '/sites', { name: 'second', capacity: [{ gpu_type: 'h100', nodes: 1, gpus_per_node: 8 }] })).status, 201);
    const third = await call(pool, o.orgAdmin, 'POST', '/sites', { name: 'third', capacity: [{ gpu_type: 'h100', nodes: 1, gpus_per_node: 8 }] });
    assert.deepEqual([third.status, third.at('error.code')], [403, 'quota_exceeded']);
    assert.match(third.str('error.message'), /would have 3 sites, over its quota of 2/);
    // Queued jobs: three wait (no pass runs here), the fourth is refused; another org is not held up.
    for (let i = 0; i < 3; i++) assert.equal((await call(pool, o.member, 'POST', '/jobs', { name: `j${i}`, gpus: 1, estimate_s: 60 })).status, 201);
    const fourth = await call(pool, o.member, 'POST', '/jobs', { name: 'j3', gpus: 1, estimate_s: 60 });
    assert.deepEqual([fourth.status, fourth.at('error.code')], [403, 'quota_exceeded']);
    assert.equal((await call(pool, pool.admin, 'POST', '/jobs', { name: 'other', org_id: 'acme', gpus: 1, estimate_s: 60 })).status, 201);
    // Back to the default with null.
    assert.deepEqual((await call(pool, pool.admin, 'PATCH', '/orgs/greedy/quota', { queued_jobs: null })).at('set'), ['sites']);
  });

  test('a lender decides who borrows, how much each may hold, and that borrowed work is contained; diagnoses say so', async () => {
    await member(pool, 'friend', { capacity: [{ gpu_type: 'a100', nodes: 1, gpus_per_node: 8 }] });
    await member(pool, 'stranger', { capacity: [{ gpu_type: 'a100', nodes: 1, gpus_per_node: 8 }] });
    const lender = await member(pool, 'lender', { capacity: [{ gpu_type: 'h200', nodes: 1, gpus_per_node: 8 }], share: { lend_to: ['friend'], borrower_gpu_limits: { friend: 4 } } });
    const dry = (org: string, gpus: number) => call(pool, pool.admin, 'POST', '/jobs/dry-run', { org_id: org, gpus, estimate_s: 60, gpu_types: ['h200'] });
    assert.match((await dry('stranger', 1)).str('diagnosis.message'), /not lent to this org \(the owner's choice\)/);
    assert.match((await dry('friend', 8)).str('diagnosis.message'), /at the owner's limit for this org/);
    assert.equal((await dry('friend', 4)).at('outcome'), 'place');
    assert.equal((await dry('lender', 8)).at('outcome'), 'place', 'the owner is never refused its own site');
    // An org the policy names must exist: a typo would lend to nobody, silently.
    const typo = await call(pool, lender.orgAdmin, 'PATCH', `/sites/${lender.siteId}`, { share: { lend_to: ['frend'] } });
    assert.deepEqual([typo.status, typo.at('error.field')], [400, 'share.lend_to[0]']);
    // The site requires borrowed runs sandboxed (the default) and its agent says it cannot: it lends nothing.
    const agent = (await call(pool, pool.admin, 'POST', '/tokens', { name: 'agent', role: 'agent', org_id: 'lender', site_id: lender.siteId })).str('token');
    assert.equal((await call(pool, agent, 'POST', '/agent/heartbeat', { sandbox_capable: false })).status, 200);
    assert.match((await dry('friend', 1)).str('diagnosis.message'), /cannot contain borrowed work \(its agent has no sandbox\)/);
    assert.equal((await dry('lender', 8)).at('outcome'), 'place');
    await call(pool, lender.orgAdmin, 'PATCH', `/sites/${lender.siteId}`, { share: { sandbox_borrowed: false } });
    assert.equal((await dry('friend', 1)).at('outcome'), 'place', 'the lender may let borrowed work run unsandboxed');
  });
});

describe('a hostile member reading what it should not', () => {
  let pool: LivePool;
  let acmeSite: string;
  before(async () => {
    pool = await LivePool.start({ schedule: false, metricsToken: 'metrics-secret-0123456789' });
    acmeSite = pool.siteId;
  });
  after(() => pool.close());

  test("item 7: a member never sees another org's site ids — placements, events, diagnoses, dry runs — only a label and the lender", async () => {
    const beta = await member(pool, 'beta', { capacity: [{ gpu_type: 'a100', nodes: 1, gpus_per_node: 8 }] });
    // beta's job can only run on acme's h100 site: placed there by a pass.
    const job = await call(pool, beta.member, 'POST', '/jobs', { name: 'borrow', gpus: 8, estimate_s: 60, gpu_types: ['h100'] });
    await pool.app.suanli.loop.runPass();
    const shown = await call(pool, beta.member, 'GET', `/jobs/${job.str('id')}`);
    assert.equal(shown.at('state'), 'placed');
    assert.deepEqual([shown.at('placements.0.parts.0.site_id'), shown.at('placements.0.parts.0.lender_org_id'), shown.at('placements.0.parts.1')], ['acme:site-1', 'acme', undefined]);
    assert.ok(!shown.text.includes(acmeSite), `acme's site id leaks: ${shown.text}`);
    // The admin sees the real id; acme, the owner, sees its own id.
    assert.ok((await call(pool, pool.admin, 'GET', `/jobs/${job.str('id')}`)).text.includes(acmeSite));
    const dry = await call(pool, beta.member, 'POST', '/jobs/dry-run', { name: 'x', gpus: 8, estimate_s: 60, gpu_types: ['h100'] });
    assert.ok(!dry.text.includes(acmeSite), dry.text);
    const spanning = await call(pool, beta.member, 'POST', '/jobs', { name: 'span', gpus: 16, estimate_s: 60, span: SPAN });
    await pool.app.suanli.loop.runPass();
    const waiting = await call(pool, beta.member, 'GET', `/jobs/${spanning.str('id')}`);
    assert.match(waiting.str('diagnosis.message'), /across sites/);
    for (const r of [waiting, await call(pool, beta.member, 'GET', '/jobs?limit=100')]) assert.ok(!r.text.includes(acmeSite), r.text);
  });

  test('item 7: /metrics without its token shows no org and no site; its scheme is case-insensitive', async () => {
    const open = await fetch(`${pool.url}/metrics`);
    assert.equal(open.status, 401);
    const scheme = await fetch(`${pool.url}/metrics`, { headers: { authorization: 'bearer metrics-secret-0123456789' } });
    assert.equal(scheme.status, 200);
    const full = await scheme.text();
    assert.match(full, /org="beta"/, 'the operator sees per-org figures');
    const publicPool = await LivePool.start({ schedule: false });
    try {
      await publicPool.app.suanli.loop.runPass();
      const text = await (await fetch(`${publicPool.url}/metrics`)).text();
      assert.match(text, /suanli_queue_length/);
      assert.doesNotMatch(text, /org="|site="|acme/, text);
    } finally {
      await publicPool.close();
    }
  });

  test('item 9: names with terminal escapes or bidi overrides are refused, naming the field', async () => {
    const token = (await call(pool, pool.admin, 'POST', '/tokens', { name: 'm', role: 'member', org_id: 'acme' })).str('token');
    for (const name of ['evil\u001b[2J', 'ring\u0007', 'two\r\nlines', 'gnp.\u202Eexe']) {
      const r = await call(pool, token, 'POST', '/jobs', { name, gpus: 1, estimate_s: 60 });
      assert.deepEqual([r.status, r.at('error.field')], [400, 'name'], name);
      assert.match(r.str('error.message'), /must not contain control or bidi characters/);
    }
    const org = await call(pool, pool.admin, 'POST', '/orgs', { id: 'bidi', name: 'Acme\u202Egnp' });
    assert.deepEqual([org.status, org.at('error.field')], [400, 'name']);
  });

  test('item 10: bounds that escaped, case duplicates, a foreign charset, raw database text, a reused idempotency key', async () => {
    const token = (await call(pool, pool.admin, 'POST', '/tokens', { name: 'm2', role: 'member', org_id: 'acme' })).str('token');
    const plan = await call(pool, token, 'POST', '/jobs', { name: 'p', plan: { kind: 'video', width: 1280, height: 720, seconds: 5, gpus: 1, efficiency: 1e-300 } });
    assert.equal(plan.status, 400);
    assert.match(plan.str('error.field'), /^plan/);
    const types = await call(pool, token, 'POST', '/jobs', { name: 't', gpus: 1, estimate_s: 60, gpu_types: ['H100', 'h100'] });
    assert.deepEqual([types.status, types.at('error.field')], [400, 'gpu_types[1]']);
    const utf16 = await call(pool, token, 'POST', '/jobs', JSON.stringify({ name: 'u', gpus: 1, estimate_s: 60 }), { 'content-type': 'application/json; charset=utf-16' });
    assert.deepEqual([utf16.status, utf16.at('error.field')], [415, 'header.content-type']);
    const dup = await call(pool, pool.admin, 'POST', '/orgs', { id: 'acme', name: 'again' });
    assert.deepEqual([dup.status, dup.at('error.message'), dup.at('error.field')], [409, 'id: an org "acme" exists already', 'id']);
    assert.doesNotMatch(dup.text, /duplicate key|constraint|pkey/);
    const key = { 'idempotency-key': 'once' };
    assert.equal((await call(pool, token, 'POST', '/jobs', { name: 'a', gpus: 1, estimate_s: 60 }, key)).status, 201);
    assert.equal((await call(pool, token, 'POST', '/jobs', { name: 'a', gpus: 1, estimate_s: 60 }, key)).status, 200, 'the same request again: the first job');
    const other = await call(pool, token, 'POST', '/jobs', { name: 'a', gpus: 2, estimate_s: 60 }, key);
    assert.deepEqual([other.status, other.at('error.code'), other.at('error.field')], [422, 'idempotency_mismatch', 'header.idempotency-key']);
  });
});

describe('a hostile member guessing tokens', () => {
  let pool: LivePool;
  before(async () => {
    pool = await LivePool.start({ schedule: false });
  });
  after(() => pool.close());

  test('item 8: a wrong secret costs the same for a real and an unknown id; failures are rate-limited; a valid token keeps working', async () => {
    const real = pool.agentToken.split('_')[1] ?? '';
    const wrong = (id: string) => `sl_${id}_${'x'.repeat(48)}`;
    const timed = async (bearer: string) => {
      const t0 = performance.now();
      const r = await fetch(`${pool.url}/api/v1/whoami`, { headers: { authorization: `Bearer ${bearer}` } });
      await r.text();
      return { ms: performance.now() - t0, status: r.status };
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 6; i++) {
      known.push((await timed(wrong(real))).ms);
      unknown.push((await timed(wrong(`deadbeef${i}`))).ms);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const ratio = median(unknown) / median(known);
    assert.ok(ratio > 0.5 && ratio < 2, `unknown id ${median(unknown).toFixed(1)} ms vs real id ${median(known).toFixed(1)} ms`);
    // The valid admin token has signed in before: a flood of wrong ones from the same address does not lock it out.
    assert.equal((await timed(pool.admin)).status, 200);
    const statuses = new Set<number>();
    for (let i = 0; i < 30; i++) statuses.add((await timed(wrong(`ffff${i}`))).status);
    assert.ok(statuses.has(429), `no rate limit after 42 failures: ${[...statuses].join(', ')}`);
    const limited = await fetch(`${pool.url}/api/v1/whoami`, { headers: { authorization: `Bearer ${wrong('eeee')}` } });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1, 'Retry-After says when');
    const ok = await timed(pool.admin);
    assert.equal(ok.status, 200, 'a token that signed in before still works during the flood');
  });
});
