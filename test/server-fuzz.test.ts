// Generated bad requests against every endpoint: wrong types, missing and unknown
// fields, random JSON, malformed JSON, huge bodies, unknown ids, strange query
// strings and content types, bad or missing tokens. Whatever arrives, the answer is
// a 4xx with an {error: {code, message}} body (or, for a request that happens to
// be valid, a 2xx) — never a 5xx, never a crash.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { ErrorResponse, JobResponse, TokenCreatedResponse } from '../src/server/schemas.ts';
import { type Reply, TestServer } from './support/server.ts';

/** A fixed seed keeps CI repeatable; FC_SEED=<n> explores other requests. */
const SEED = Number(process.env.FC_SEED ?? 20_261_126);

let s: TestServer;
let site = '';
let job = '';
let token = '';
let agent = '';

interface Endpoint {
  readonly method: string;
  /** With `{id}` where the object's id goes. */
  readonly path: string;
  /** The id of an object that exists, for paths with `{id}`. */
  readonly id?: () => string;
  /** A valid body, which the generators break. */
  readonly body?: () => Record<string, unknown>;
  /** The token of a caller the endpoint admits (default: the admin's). */
  readonly token?: () => string;
}

const as = (e: Endpoint): { token?: string } => (e.token === undefined ? {} : { token: e.token() });
const urlOf = (e: Endpoint, id = e.id?.() ?? ''): string => e.path.replace('{id}', id);

const capacity = [{ gpu_type: 'h100', nodes: 2, gpus_per_node: 8 }];
const ENDPOINTS: readonly Endpoint[] = [
  { method: 'POST', path: '/api/v1/orgs', body: () => ({ name: 'Fuzz Org' }) },
  { method: 'GET', path: '/api/v1/orgs' },
  { method: 'GET', path: '/api/v1/orgs/{id}', id: () => 'acme' },
  { method: 'POST', path: '/api/v1/tokens', body: () => ({ name: 't', role: 'member', org_id: 'acme' }) },
  { method: 'GET', path: '/api/v1/tokens' },
  { method: 'DELETE', path: '/api/v1/tokens/{id}', id: () => token },
  { method: 'POST', path: '/api/v1/sites', body: () => ({ name: 's', org_id: 'acme', capacity, price_per_gpu_hour: 2, share: { lend_fraction: 0.5, reclaim: true, reclaim_notice_s: 60 }, wan_links: [{ to_site: 'x', gbps: 10, latency_ms: 20 }] }) },
  { method: 'GET', path: '/api/v1/sites' },
  { method: 'GET', path: '/api/v1/sites/{id}', id: () => site },
  { method: 'PATCH', path: '/api/v1/sites/{id}', id: () => site, body: () => ({ name: 'renamed', capacity }) },
  { method: 'POST', path: '/api/v1/sites/{id}/heartbeat', id: () => site, body: () => ({ capacity }), token: () => agent },
  { method: 'POST', path: '/api/v1/jobs', body: () => ({ org_id: 'acme', name: 'j', gpus: 2, estimate_s: 60, gpu_types: ['h100'], gang: true, priority: 1, preemptible: false, checkpoint_interval_s: 600, command: ['true'] }) },
  { method: 'GET', path: '/api/v1/jobs' },
  { method: 'GET', path: '/api/v1/jobs/{id}', id: () => job },
  { method: 'POST', path: '/api/v1/jobs/{id}/cancel', id: () => job },
  { method: 'POST', path: '/api/v1/jobs/dry-run', body: () => ({ org_id: 'acme', gpus: 2, estimate_s: 60 }) },
  { method: 'POST', path: '/api/v1/internal/jobs/{id}/state', id: () => job, body: () => ({ state: 'running' }) },
  { method: 'GET', path: '/api/v1/ledger' },
  { method: 'GET', path: '/api/v1/ledger/history' },
  { method: 'GET', path: '/api/v1/ledger/jobs' },
  { method: 'GET', path: '/api/v1/pool' },
  { method: 'POST', path: '/api/v1/plan', body: () => ({ kind: 'video', width: 640, height: 480, seconds: 2, gpus: 1 }) },
  { method: 'POST', path: '/api/v1/plan', body: () => ({ kind: 'train', mix: [{ width: 640, height: 480, seconds: 2, clips: 1000 }], gpus: 8 }) },
];

/** A 4xx with the error body, or (when the request may by chance be valid) any status below 500 with a well-formed error body if it is an error. */
function check(r: Reply, mustFail: boolean, what: string): void {
  assert.ok(r.status < 500, `${what}: got ${r.status} ${r.text.slice(0, 300)}`);
  if (mustFail) assert.ok(r.status >= 400, `${what}: expected a 4xx, got ${r.status} ${r.text.slice(0, 200)}`);
  if (r.status >= 400) {
    const e = ErrorResponse.safeParse(r.body);
    assert.ok(e.success, `${what}: not an error body: ${r.text.slice(0, 200)}`);
    assert.ok(e.data.error.message.length > 0, what);
  }
}

/** The error code of a reply. */
const codeOf = (r: Reply): string | undefined => ErrorResponse.safeParse(r.body).data?.error.code;

const endpointArb = fc.constantFrom(...ENDPOINTS);
/** Values of every JSON type (and some the schemas find awkward), for a field that wants another. */
const wrongValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, -1, 0, 1e308, -1e308, 2 ** 53, 0.5, '', ' ', 'x'.repeat(5000), [], {}, true, '__proto__', '1e3', '١٢'),
);
const keyArb = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('__proto__', 'constructor', 'prototype', 'org_id', 'gpus', 'kind', 'capacity'));

before(async () => {
  s = await TestServer.start();
  await s.org('acme');
  site = await s.site('acme', 2, 8);
  job = (await s.ok(JobResponse, 201, 'POST', '/api/v1/jobs', { body: { org_id: 'acme', gpus: 1, estimate_s: 60 } })).id;
  agent = await s.token('agent', 'acme', site);
  token = (await s.ok(TokenCreatedResponse, 201, 'POST', '/api/v1/tokens', { body: { name: 'victim', role: 'member', org_id: 'acme' } })).id;
});
after(() => s.close());

test('a valid body with one field set to a value of the wrong type, removed, or an unknown field added', async () => {
  await fc.assert(
    fc.asyncProperty(endpointArb.filter((e) => e.body !== undefined), fc.nat(), wrongValue, keyArb, fc.constantFrom('replace', 'remove', 'add', 'nest'), async (e, pick, value, key, how) => {
      const body = e.body?.() ?? {};
      const keys = Object.keys(body);
      const field = keys[pick % keys.length] ?? 'x';
      if (how === 'replace') body[field] = value;
      else if (how === 'remove') delete body[field];
      else if (how === 'add') body[key === field ? `${key}_` : key] = value;
      else body[field] = { [key]: value, nested: [value] };
      check(await s.req(e.method, urlOf(e), { body, ...as(e) }), false, `${e.method} ${urlOf(e)} ${how} ${field}=${JSON.stringify(value)?.slice(0, 80) ?? 'undefined'}`);
    }),
    { numRuns: 300, seed: SEED },
  );
});

test('any JSON value as the body', async () => {
  await fc.assert(
    fc.asyncProperty(endpointArb, fc.jsonValue({ maxDepth: 3 }), async (e, body) => {
      const r = await s.req(e.method, urlOf(e), { raw: JSON.stringify(body), headers: { 'content-type': 'application/json' }, ...as(e) });
      check(r, false, `${e.method} ${urlOf(e)} body ${JSON.stringify(body).slice(0, 80)}`);
    }),
    { numRuns: 200, seed: SEED },
  );
});

test('malformed JSON is a 400 naming the body', async () => {
  const notJson = fc.string({ minLength: 1, maxLength: 200 }).filter((t) => {
    try {
      JSON.parse(t);
      return false;
    } catch {
      return true;
    }
  });
  await fc.assert(
    fc.asyncProperty(endpointArb.filter((e) => e.method !== 'GET'), notJson, async (e, raw) => {
      const r = await s.req(e.method, urlOf(e), { raw, headers: { 'content-type': 'application/json' }, ...as(e) });
      check(r, true, `${e.method} ${urlOf(e)} raw ${JSON.stringify(raw)}`);
      assert.equal(r.status, 400);
      assert.equal(codeOf(r), 'invalid_request');
    }),
    { numRuns: 100, seed: SEED },
  );
});

test('bodies over the limit are a 413; other content types a 415', async () => {
  for (const e of ENDPOINTS.filter((x) => x.method !== 'GET')) {
    const huge = JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 10) });
    const r = await s.req(e.method, urlOf(e), { raw: huge, headers: { 'content-type': 'application/json' }, ...as(e) });
    check(r, true, `${e.method} ${urlOf(e)} huge`);
    assert.equal(r.status, 413);
    assert.equal(codeOf(r), 'payload_too_large');
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) {
      const t = await s.req(e.method, urlOf(e), { raw: '{"name":"x"}', headers: { 'content-type': type }, ...as(e) });
      check(t, true, `${e.method} ${urlOf(e)} as ${type}`);
      assert.equal(t.status, 415, `${e.method} ${urlOf(e)} as ${type}`);
    }
  }
});

test('a JSON body that declares a charset other than UTF-8 is a 415 naming the header; UTF-8, said or not, is read', async () => {
  for (const e of ENDPOINTS.filter((x) => x.body !== undefined)) {
    const json = JSON.stringify(e.body?.() ?? {});
    for (const [type, raw] of [['application/json; charset=utf-16', Buffer.from(json, 'utf16le')], ['application/json;charset=UTF-16LE', Buffer.from(json, 'utf16le')], ['application/json; charset="iso-8859-1"', Buffer.from(json, 'latin1')], ['application/json; charset=utf8', json]] as const) {
      const r = await s.req(e.method, urlOf(e), { raw, headers: { 'content-type': type }, ...as(e) });
      check(r, true, `${e.method} ${urlOf(e)} as ${type}`);
      assert.equal(r.status, 415, `${e.method} ${urlOf(e)} as ${type}`);
      assert.deepEqual([codeOf(r), ErrorResponse.parse(r.body).error.field], ['unsupported_media_type', 'header.content-type'], `${e.method} ${urlOf(e)} as ${type}`);
    }
  }
  for (const type of ['application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8', 'Application/JSON; Charset="Utf-8"']) {
    const r = await s.req('POST', '/api/v1/jobs/dry-run', { raw: JSON.stringify({ org_id: 'acme', name: '算力', gpus: 1, estimate_s: 60 }), headers: { 'content-type': type } });
    assert.equal(r.status, 200, `${type}: ${r.text}`);
  }
});

test('unknown or strange ids in the path are a 4xx (404 for ids that could exist)', async () => {
  const idArb = fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.constantFrom('..', '\0', 'a\0b', 'a'.repeat(129), 'a'.repeat(300), 'a'.repeat(5000), '💥', ' ', 'null', '0'));
  await fc.assert(
    fc.asyncProperty(endpointArb.filter((e) => e.id !== undefined), idArb, async (e, id) => {
      const url = urlOf(e, encodeURIComponent(id));
      const r = await s.req(e.method, url, { ...(e.body === undefined ? {} : { body: e.body() }), ...as(e) });
      check(r, true, `${e.method} ${url}`);
      if (/^[a-z0-9-]{1,40}$/.test(id)) assert.equal(r.status, 404, `${e.method} ${url}`);
    }),
    { numRuns: 150, seed: SEED },
  );
});

test('strange query strings are a 4xx or ignored, never a 5xx', async () => {
  const queryArb = fc.array(fc.tuple(fc.oneof(keyArb, fc.constantFrom('state', 'org', 'after', 'limit', 'q', 'order')), fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('-1', '0', '501', '1e9', 'NaN', 'pending,,x', 'pending,running', '%ZZ'))), { maxLength: 4 });
  await fc.assert(
    fc.asyncProperty(endpointArb, queryArb, async (e, pairs) => {
      const qs = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${v.startsWith('%') ? v : encodeURIComponent(v)}`).join('&');
      const url = `${urlOf(e)}?${qs}`;
      check(await s.req(e.method, url, { ...(e.body === undefined ? {} : { body: e.body() }), ...as(e) }), false, `${e.method} ${url}`);
    }),
    { numRuns: 200, seed: SEED },
  );
});

test('missing, malformed, unknown and wrong-secret tokens are a 401 on every endpoint, or a 429 once the failures pass the limit', async () => {
  const [, id] = /^sl_([0-9a-f]+)_/.exec(s.admin) ?? [];
  const tokenArb = fc.oneof(
    fc.constant(null),
    fc.string({ maxLength: 80 }).map((t) => t.replace(/[\r\n]/g, '')),
    fc.stringMatching(/^sl_[0-9a-z]{4,20}_[0-9A-Za-z]{32,64}$/),
    fc.stringMatching(/^[0-9A-Za-z]{32,64}$/).map((secret) => `sl_${id ?? 'x'}_${secret}`),
  );
  const statuses = new Set<number>();
  await fc.assert(
    fc.asyncProperty(endpointArb, tokenArb, fc.constantFrom('Bearer ', 'bearer ', 'Basic ', '', 'Bearer  '), async (e, t, scheme) => {
      const headers: Record<string, string> = t === null ? {} : { authorization: `${scheme}${t}` };
      const r = await s.req(e.method, urlOf(e), { token: null, headers, ...(e.body === undefined ? {} : { body: e.body() }) });
      const what = `${e.method} ${urlOf(e)} with ${JSON.stringify(headers)}`;
      check(r, true, what);
      statuses.add(r.status);
      if (r.status === 429) {
        assert.equal(codeOf(r), 'rate_limited', what);
        assert.match(String(r.headers['retry-after']), /^[1-9]\d*$/, what);
      } else assert.equal(r.status, 401, what);
    }),
    { numRuns: 120, seed: SEED },
  );
  assert.deepEqual([...statuses].sort(), [401, 429], 'all from one address: the limit on failures is reached');
});

test('a query the schema refuses is a 400 naming the parameter: the ledger history’s bucket', async () => {
  for (const bucket of ['week', 'HOUR', '', '3600', 'day,hour']) {
    const r = await s.req('GET', `/api/v1/ledger/history?bucket=${encodeURIComponent(bucket)}`);
    check(r, true, `bucket=${bucket}`);
    assert.equal(r.status, 400, `bucket=${bucket}`);
    assert.equal(ErrorResponse.parse(r.body).error.field, 'query.bucket', `bucket=${bucket}`);
  }
  const both = await s.req('GET', '/api/v1/ledger/history?bucket=day&bucket=hour');
  check(both, true, 'bucket given twice');
  const unknown = await s.req('GET', '/api/v1/ledger/history?since=2026-01-01');
  check(unknown, true, 'an unknown parameter');
  assert.equal(ErrorResponse.parse(unknown.body).error.field, 'query.since');
});

// GET of any other path is the web dashboard (test/server-dashboard.test.ts).
test('unknown routes and methods are a 404 with the error body', async () => {
  for (const [method, url] of [['GET', '/api/v1/nothing'], ['PUT', '/api/v1/jobs'], ['DELETE', '/api/v1/orgs/acme'], ['GET', '/api/nothing'], ['POST', '/'], ['POST', '/healthz']] as const) {
    const r = await s.req(method, url);
    check(r, true, `${method} ${url}`);
    assert.equal(r.status, 404);
  }
});
