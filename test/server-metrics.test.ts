// The control plane's /metrics, fetched over HTTP from listening servers after some
// activity (submissions, passes that place and diagnose, runs that start and end) and
// checked by Prometheus's own `promtool check metrics`: the text parses, and it passes
// promtool's lint (help on every family, counters ending in _total, base units). Both
// views: the public one (pool totals only, no metrics token set) and the full one
// (per org and per site too, for the bearer of the metrics token).
// Without promtool (Debian's prometheus package) the test is skipped, saying why,
// except under CI=true, where CI installs it and its absence is a failure.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { JobResponse } from '../src/server/schemas.ts';
import { TestServer } from './support/server.ts';

/** promtool's path on PATH, or undefined. */
function findPromtool(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const path = join(dir, 'promtool');
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** promtool's path, or undefined after marking `t` skipped (outside CI) when it is missing. */
function promtool(t: TestContext): string | undefined {
  const path = findPromtool();
  if (path !== undefined) return path;
  const why = 'needs promtool on PATH (apt-get install prometheus)';
  if (process.env.CI === 'true') throw new Error(`promtool missing under CI: ${why}`);
  t.skip(`skipped: ${why}`);
  return undefined;
}

/** Runs `command args`, with `input` on its stdin; resolves with its exit code and output. */
function run(command: string, args: readonly string[], input: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(input);
  });
}

const METRICS_TOKEN = 'scrape-secret';
/** A server with no metrics token (public totals), one with a token (full series for its bearer), each listening. */
const servers: { open?: { s: TestServer; url: string }; guarded?: { s: TestServer; url: string } } = {};

/** Two orgs, a site each; jobs that are placed, one that waits (too large), runs that start, succeed and fail: every family gets samples. */
async function someActivity(s: TestServer): Promise<void> {
  await s.org('acme');
  await s.org('beta-2');
  await s.site('acme', 2, 8);
  await s.site('beta-2', 1, 4, 'a100');
  const jobs = [await s.job('acme', 8), await s.job('acme', 4), await s.job('beta-2', 4), await s.job('beta-2', 1000)];
  await s.pass();
  const setState = (id: string, state: string) => s.ok(JobResponse, 200, 'POST', `/api/v1/internal/jobs/${id}/state`, { body: { state } });
  const [first = '', second = ''] = jobs;
  for (const id of [first, second]) await setState(id, 'running');
  s.clock.advance(600);
  await setState(first, 'succeeded');
  await setState(second, 'failed');
  await s.pass();
}

before(async () => {
  for (const [name, options] of [['open', {}], ['guarded', { metricsToken: METRICS_TOKEN }]] as const) {
    const s = await TestServer.start(options);
    servers[name] = { s, url: await s.app.listen({ port: 0, host: '127.0.0.1' }) };
    await someActivity(s);
  }
});
after(async () => {
  for (const server of Object.values(servers)) await server.s.close();
});

/** GET /metrics over HTTP; checks the content type. */
async function scrape(url: string, authorization?: string): Promise<string> {
  const res = await fetch(`${url}/metrics`, authorization === undefined ? {} : { headers: { authorization } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

const PUBLIC_FAMILIES = ['suanli_queue_length', 'suanli_gpus_allocated', 'suanli_scheduling_pass_seconds', 'suanli_job_transitions_total', 'suanli_submit_batch_size'];
const DETAIL_FAMILIES = ['suanli_org_queue_length', 'suanli_site_gpus_allocated'];

for (const view of ['public', 'full'] as const) {
  test(`/metrics (${view}) after some activity passes \`promtool check metrics\``, async (t) => {
    const tool = promtool(t);
    if (tool === undefined) return;
    const text = view === 'public' ? await scrape(servers.open?.url ?? '') : await scrape(servers.guarded?.url ?? '', `Bearer ${METRICS_TOKEN}`);
    for (const family of view === 'public' ? PUBLIC_FAMILIES : [...PUBLIC_FAMILIES, ...DETAIL_FAMILIES]) {
      assert.match(text, new RegExp(`^# TYPE ${family} `, 'm'), family);
    }
    assert.match(text, /^suanli_job_transitions_total\{from="running",to="succeeded"\} 1$/m, 'samples, not only headers');
    const { code, output } = await run(tool, ['check', 'metrics'], text);
    assert.equal(code, 0, `promtool check metrics failed:\n${output}\n--- the metrics ---\n${text}`);
  });
}

test('public /metrics shows pool totals only: no org, no site, no per-org or per-site family', async () => {
  const text = await scrape(servers.open?.url ?? '');
  const sites = (await servers.open?.s.store.listSites()) ?? [];
  assert.equal(sites.length, 2);
  for (const name of ['acme', 'beta-2', ...sites.map((x) => x.id)]) assert.ok(!text.includes(name), `${name} appears in public /metrics`);
  assert.doesNotMatch(text, /\b(org|site)="/);
  for (const family of DETAIL_FAMILIES) assert.doesNotMatch(text, new RegExp(`^# TYPE ${family} `, 'm'), family);
  // The totals: acme's two jobs have ended (no h100 held), beta-2's 4-GPU job holds its a100s, its 1000-GPU job waits.
  assert.match(text, /^suanli_queue_length 1$/m);
  assert.match(text, /^suanli_gpus_allocated\{gpu_type="a100"\} 4$/m);
  assert.match(text, /^suanli_gpus_allocated\{gpu_type="h100"\} 0$/m);
});

test('with a metrics token, /metrics answers only a scraper that sends it, in any case of the scheme, with every series', async () => {
  const s = servers.guarded?.s;
  assert.ok(s !== undefined);
  const none = await s.req('GET', '/metrics', { token: null });
  assert.equal(none.status, 401);
  assert.match(none.text, /metrics token/);
  assert.equal(none.headers['www-authenticate'], 'Bearer');
  assert.equal((await s.req('GET', '/metrics', { token: 'scrape-secreT' })).status, 401);
  assert.equal((await s.req('GET', '/metrics', { token: s.admin })).status, 401, 'the admin token is not the metrics token');
  for (const header of [`Basic ${METRICS_TOKEN}`, METRICS_TOKEN, `Bearer${METRICS_TOKEN}`, `Bearer ${METRICS_TOKEN} x`]) {
    assert.equal((await s.req('GET', '/metrics', { token: null, headers: { authorization: header } })).status, 401, header);
  }
  for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
    const ok = await s.req('GET', '/metrics', { token: null, headers: { authorization: `${scheme} ${METRICS_TOKEN}` } });
    assert.equal(ok.status, 200, scheme);
    assert.match(ok.text, /^suanli_org_queue_length\{org="beta-2"\} 1$/m, scheme);
    assert.match(ok.text, /^suanli_site_gpus_allocated\{site="beta-2-[^"]+",gpu_type="a100"\} 4$/m, scheme);
    assert.match(ok.text, /^suanli_queue_length 1$/m, 'the totals too');
  }
});
