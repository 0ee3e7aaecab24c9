// `suanli serve` serves the web dashboard's build at every path the API does not own
// (src/server/dashboard.ts): files of the build, index.html for the app's own paths,
// and a 503 that says how to build it when it is not built. The API keeps its JSON 404s.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NOT_BUILT_MESSAGE } from '../src/server/dashboard.ts';
import { TestServer } from './support/server.ts';

const INDEX = '<!doctype html><div id="root"></div>';

describe('the dashboard served from a build', () => {
  let root = '';
  let s: TestServer;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'suanli-web-root-'));
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'index.html'), INDEX);
    writeFileSync(join(root, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(root, 'favicon.svg'), '<svg/>');
    writeFileSync(join(tmpdir(), 'suanli-outside.txt'), 'secret');
    s = await TestServer.start({ webRoot: root });
  });
  after(async () => {
    await s.close();
    rmSync(root, { recursive: true, force: true });
    rmSync(join(tmpdir(), 'suanli-outside.txt'), { force: true });
  });
  const get = (url: string) => s.app.inject({ method: 'GET', url });

  test('/ and the app’s own paths answer index.html, never cached', async () => {
    for (const url of ['/', '/jobs', '/jobs/42', '/ledger?x=1', '/jobs/new']) {
      const r = await get(url);
      assert.equal(r.statusCode, 200, url);
      assert.equal(r.body, INDEX, url);
      assert.match(String(r.headers['content-type']), /text\/html/);
      assert.equal(r.headers['cache-control'], 'no-cache', url);
    }
    assert.equal((await s.app.inject({ method: 'HEAD', url: '/jobs' })).statusCode, 200);
  });

  test('files of the build are served; hashed assets are cached for a year', async () => {
    const js = await get('/assets/index-abc123.js');
    assert.equal(js.statusCode, 200);
    assert.equal(js.body, 'console.log(1)');
    assert.match(String(js.headers['content-type']), /javascript/);
    assert.match(String(js.headers['cache-control']), /max-age=31536000.*immutable/);
    assert.equal((await get('/favicon.svg')).body, '<svg/>');
  });

  test('a missing asset is a 404, not the app; nothing outside the build is reachable', async () => {
    assert.equal((await get('/assets/gone.js')).statusCode, 404);
    for (const url of ['/../suanli-outside.txt', '/%2e%2e/suanli-outside.txt', '/..%2fsuanli-outside.txt', '/assets/..%2f..%2fsuanli-outside.txt']) {
      const r = await get(url);
      assert.notEqual(r.body, 'secret', url);
    }
  });

  test('the API, health and metrics are unchanged; unknown API paths stay JSON 404s', async () => {
    const missing = await get('/api/v1/nope');
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(missing.json(), { error: { code: 'not_found', message: 'no route GET /api/v1/nope' } });
    assert.equal((await get('/api')).statusCode, 404);
    assert.equal((await get('/healthz')).json<{ status: string }>().status, 'ok');
    assert.equal((await get('/metrics')).statusCode, 200);
    assert.equal((await s.req('GET', '/api/v1/orgs')).status, 200);
    assert.equal((await s.app.inject({ method: 'POST', url: '/jobs' })).statusCode, 404, 'only GET and HEAD reach the app');
  });

  test('the OpenAPI document lists no route of the dashboard', async () => {
    const doc = (await get('/api/v1/openapi.json')).json<{ paths: Record<string, unknown> }>();
    const paths = Object.keys(doc.paths);
    assert.ok(paths.includes('/api/v1/jobs'));
    assert.deepEqual(paths.filter((p) => !p.startsWith('/api/v1/') && !['/healthz', '/readyz'].includes(p)), []);
  });
});

test('without a build, / answers 503 saying how to build it, and the API works', async () => {
  const s = await TestServer.start({ webRoot: join(tmpdir(), 'suanli-no-such-build') });
  try {
    const r = await s.app.inject({ method: 'GET', url: '/jobs/1' });
    assert.equal(r.statusCode, 503);
    assert.equal(r.body, NOT_BUILT_MESSAGE);
    assert.match(r.body, /npm run build:web/);
    assert.match(String(r.headers['content-type']), /text\/plain/);
    assert.equal((await s.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  } finally {
    await s.close();
  }
});
