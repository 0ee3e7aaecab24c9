// `suanli serve` as a real process: it prints its URL and, on a first start only,
// the admin token; a second server cannot open the same data directory; SIGTERM
// and SIGINT close it cleanly; a restart keeps the tokens and prints none.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { BIN, suanli } from './support/cli.ts';
import { serve } from './support/serve.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'suanli-serve-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('serve: first start prints the URL and the admin token once; the data directory is locked; signals close it; a restart prints no token', async () => {
  const first = await serve(dir);
  const token = /admin token \(shown only now; keep it safe\): (sl_\S+)/.exec(first.out())?.[1];
  assert.ok(token, first.out());
  assert.match(first.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal((await fetch(`${first.url}/healthz`)).status, 200);
  assert.equal((await fetch(`${first.url}/readyz`)).status, 200);
  assert.equal((await fetch(`${first.url}/api/v1/orgs`, { headers: { authorization: `Bearer ${token}` } })).status, 200);

  const second = await suanli('serve', '--port', '0', '--data-dir', dir);
  assert.equal(second.code, 2, second.stderr);
  assert.match(second.stderr, /--data-dir: .* is already open in process \d+/);

  const stopped = await first.stop('SIGTERM');
  assert.equal(stopped.code, 0);
  assert.match(stopped.out, /SIGTERM, shutting down/);

  const again = await serve(dir, {}, undefined, ['--policy', 'fair-srtf', '--estimates', 'none']);
  assert.doesNotMatch(again.out(), /admin token/);
  assert.match(again.out(), /policy: fair-srtf \(no run-time estimates\)/);
  assert.equal((await fetch(`${again.url}/api/v1/orgs`, { headers: { authorization: `Bearer ${token}` } })).status, 200, 'the token survives the restart');
  assert.equal((await again.stop('SIGINT')).code, 0);
});

test('serve: SUANLI_ADMIN_TOKEN names the first admin token (and is not printed); a malformed one is refused with exit code 2', async () => {
  const fresh = await mkdtemp(join(tmpdir(), 'suanli-serve-'));
  try {
    const bad = await promisify(execFile)(process.execPath, [BIN, 'serve', '--port', '0', '--data-dir', fresh], { env: { ...process.env, DATABASE_URL: '', SUANLI_ADMIN_TOKEN: 'hunter2' } }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code?: number; stderr?: string }) => ({ code: e.code ?? -1, stderr: e.stderr ?? '' }),
    );
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^suanli: --SUANLI_ADMIN_TOKEN: the environment variable holds no token; accepted: sl_<id>_<secret>/m);
    const given = `sl_opsadmin_${'x'.repeat(32)}`;
    const server = await serve(fresh, { SUANLI_ADMIN_TOKEN: given });
    assert.match(server.out(), /admin token: the one in SUANLI_ADMIN_TOKEN/);
    assert.ok(!server.out().includes(given));
    assert.equal((await fetch(`${server.url}/api/v1/orgs`, { headers: { authorization: `Bearer ${given}` } })).status, 200);
    assert.equal((await server.stop('SIGTERM')).code, 0);
  } finally {
    await rm(fresh, { recursive: true, force: true });
  }
});

test('serve: a bad --lease, --advertise-url or --estimates is refused with exit code 2, naming the flag, before anything starts', async () => {
  const estimates = await suanli('serve', '--port', '0', '--data-dir', dir, '--estimates', 'oracle');
  assert.notEqual(estimates.code, 0, estimates.stderr);
  assert.match(estimates.stderr, /--estimates <level>' argument 'oracle' is invalid\. Allowed choices are user, none/);
  const lease = await suanli('serve', '--port', '0', '--data-dir', dir, '--lease', 'soon');
  assert.equal(lease.code, 2, lease.stderr);
  assert.match(lease.stderr, /^suanli: --lease: /m);
  for (const url of ['cp-2:8040', 'ftp://cp-2', 'http://cp-2:8040/path']) {
    const advertise = await suanli('serve', '--port', '0', '--data-dir', dir, '--advertise-url', url);
    assert.equal(advertise.code, 2, advertise.stderr);
    assert.match(advertise.stderr, /^suanli: --advertise-url: ".*" is not an http\(s\) origin; accepted: scheme, host and port only/m);
  }
});
