import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signIn } from '../sign-in.ts';
import { ApiRequestError, createApiClient } from './client.ts';
import { tokenIdOf } from './identity.ts';

const TOKEN = `sl_ab12cd34_${'s'.repeat(32)}`;

/** A fetch that answers from `routes` (by "METHOD path") and records each request. */
function fakeFetch(routes: Record<string, { status: number; body?: unknown; text?: string }>) {
  const requests: { method: string; url: string; headers: Record<string, string>; body: unknown }[] = [];
  const fetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = init?.method ?? 'GET';
    requests.push({ method, url, headers: (init?.headers ?? {}) as Record<string, string>, body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined });
    const answer = routes[`${method} ${url.replace(/^\/api\/v1/, '')}`] ?? { status: 404, body: { error: { code: 'not_found', message: `no route ${method} ${url}` } } };
    return Promise.resolve(new Response(answer.text ?? JSON.stringify(answer.body), { status: answer.status }));
  };
  return { fetch, requests };
}

const refused = (code: string) => ({ status: code === 'unauthorized' ? 401 : 403, body: { error: { code, message: `${code}!` } } });

test('requests carry the bearer token; JSON bodies only when there is one', async () => {
  const { fetch, requests } = fakeFetch({ 'GET /jobs': { status: 200, body: { jobs: [], next: null } }, 'POST /jobs/7/cancel': { status: 200, body: { id: '7' } } });
  const client = createApiClient({ token: TOKEN, fetch });
  await client.get('/jobs');
  await client.post('/jobs/7/cancel');
  assert.equal(requests[0]?.headers.authorization, `Bearer ${TOKEN}`);
  assert.equal(requests[1]?.headers['content-type'], undefined, 'no body, no content type: the API refuses an empty JSON body');
  assert.equal(requests[1]?.body, undefined);
});

test('a PATCH carries its JSON body; a DELETE carries none (the API refuses an empty JSON body)', async () => {
  const { fetch, requests } = fakeFetch({ 'PATCH /sites/a': { status: 200, body: { id: 'a' } }, 'DELETE /tokens/t1': { status: 200, body: { id: 't1' } } });
  const client = createApiClient({ token: TOKEN, fetch });
  assert.deepEqual(await client.patch('/sites/a', { share: { lend_fraction: 0.5 } }), { id: 'a' });
  assert.deepEqual(await client.delete('/tokens/t1'), { id: 't1' });
  assert.deepEqual([requests[0]?.method, requests[0]?.headers['content-type'], requests[0]?.body], ['PATCH', 'application/json', { share: { lend_fraction: 0.5 } }]);
  assert.deepEqual([requests[1]?.method, requests[1]?.headers['content-type'], requests[1]?.body], ['DELETE', undefined, undefined]);
  assert.equal(requests[1]?.headers.authorization, `Bearer ${TOKEN}`);
});

test('a POST may carry an Idempotency-Key (a resubmission sent twice makes one job); others carry none', async () => {
  const { fetch, requests } = fakeFetch({ 'POST /jobs': { status: 201, body: { id: '8' } } });
  const client = createApiClient({ token: TOKEN, fetch });
  await client.post('/jobs', { gpus: 1 }, { idempotencyKey: 'k-1' });
  await client.post('/jobs', { gpus: 1 });
  assert.equal(requests[0]?.headers['idempotency-key'], 'k-1');
  assert.equal(requests[1]?.headers['idempotency-key'], undefined);
});

test('the API’s error body becomes an ApiRequestError with its code, message and field; a 401 ends the session', async () => {
  let refusedCalls = 0;
  const { fetch } = fakeFetch({
    'POST /jobs': { status: 400, body: { error: { code: 'invalid_request', message: 'gpus: too big', field: 'gpus' } } },
    'GET /ledger': refused('unauthorized'),
    'GET /sites': { status: 502, text: '<html>bad gateway</html>' },
  });
  const client = createApiClient({ token: TOKEN, fetch, onUnauthorized: () => refusedCalls++ });
  await assert.rejects(client.post('/jobs', { gpus: 1e9 }), (e: unknown) => e instanceof ApiRequestError && e.code === 'invalid_request' && e.field === 'gpus' && e.status === 400);
  await assert.rejects(client.get('/ledger'), (e: unknown) => e instanceof ApiRequestError && e.code === 'unauthorized');
  assert.equal(refusedCalls, 1);
  await assert.rejects(client.get('/sites'), (e: unknown) => e instanceof ApiRequestError && e.code === 'unexpected' && e.message.includes('bad gateway'));
});

test('no answer at all is a network error', async () => {
  const client = createApiClient({ token: TOKEN, fetch: () => Promise.reject(new TypeError('fetch failed')) });
  await assert.rejects(client.get('/jobs'), (e: unknown) => e instanceof ApiRequestError && e.code === 'network');
});

test('the token id is the <id> of sl_<id>_<secret>', () => {
  assert.equal(tokenIdOf(` ${TOKEN} `), 'ab12cd34');
  assert.equal(tokenIdOf('hunter2'), null);
});

const whoami = (role: string, org: string | null, id = 'ab12cd34') => ({ status: 200, body: { id, name: 'ops', role, org_id: org, site_id: role === 'agent' ? 'lab' : null } });

test('sign-in asks the server who the token is (GET /whoami)', async () => {
  const admin = await signIn(TOKEN, () => undefined, { fetch: fakeFetch({ 'GET /whoami': whoami('admin', null) }).fetch });
  assert.deepEqual(admin.kind === 'signed-in' && admin.session.identity, { role: 'admin', orgId: null, tokenName: 'ops' });

  const orgAdmin = await signIn(TOKEN, () => undefined, { fetch: fakeFetch({ 'GET /whoami': whoami('org-admin', 'acme') }).fetch });
  assert.deepEqual(orgAdmin.kind === 'signed-in' && orgAdmin.session.identity, { role: 'org-admin', orgId: 'acme', tokenName: 'ops' });

  const member = await signIn(TOKEN, () => undefined, { fetch: fakeFetch({ 'GET /whoami': whoami('member', 'beta') }).fetch });
  assert.deepEqual(member.kind === 'signed-in' && member.session.identity, { role: 'member', orgId: 'beta', tokenName: null });

  const agent = await signIn(TOKEN, () => undefined, { fetch: fakeFetch({ 'GET /whoami': whoami('agent', 'acme') }).fetch });
  assert.equal(agent.kind, 'agent-token');

  const confused = await signIn(TOKEN, () => undefined, { fetch: fakeFetch({ 'GET /whoami': whoami('admin', null, 'someoneelse') }).fetch });
  assert.equal(confused.kind, 'failed', 'an answer for another token is not trusted');
});

test('sign-in refuses a malformed token without asking, and reports a refused one; only later 401s end the session', async () => {
  const { fetch, requests } = fakeFetch({ 'GET /whoami': refused('unauthorized') });
  let ended = 0;
  assert.equal((await signIn('not a token', () => ended++, { fetch })).kind, 'malformed');
  assert.equal(requests.length, 0);
  const result = await signIn(TOKEN, () => ended++, { fetch });
  assert.equal(result.kind === 'failed' && result.error instanceof ApiRequestError && result.error.code, 'unauthorized');
  assert.equal(ended, 0, 'a refusal at sign-in is the result, not a session ending');

  const routes: Record<string, { status: number; body?: unknown }> = { 'GET /whoami': whoami('admin', null) };
  const later = await signIn(TOKEN, () => ended++, { fetch: fakeFetch(routes).fetch });
  assert.ok(later.kind === 'signed-in');
  routes['GET /jobs'] = refused('unauthorized');
  await assert.rejects(later.session.client.get('/jobs'));
  assert.equal(ended, 1, 'a 401 once signed in ends the session');
});
