// The package as npm ships it: `npm pack` of the checkout as built (`npm ci` and `npm test`
// build dist/), installed into an empty directory and run from there with plain Node and
// no checkout beside it. Installed with `npm ci --offline`: every dependency from npm's
// cache, which `npm ci` filled, at the versions the checkout's package-lock.json pins
// (given to the new project as its own lock) — nothing from the network.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { serve } from './support/serve.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');

let dir = '';
let bin = '';
before(async () => {
  for (const built of ['dist/cli/main.js', 'dist/web/index.html']) {
    assert.ok(existsSync(join(ROOT, built)), `${built} is missing: the package ships the build (npm run build)`);
  }
  dir = await mkdtemp(join(tmpdir(), 'suanli-package-'));
  // The tarball of what `files` lists; the scripts not run again (the build is there).
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir, '--json'], { cwd: ROOT, maxBuffer: 64 << 20 });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  assert.ok(packed !== undefined);
  const shipped = packed.files.map((f) => f.path);
  assert.ok(shipped.includes('bin/suanli.js') && shipped.includes('dist/cli/main.js') && shipped.includes('dist/web/index.html'), 'the command, its compiled code and the dashboard ship');
  assert.deepEqual(shipped.filter((p) => /^(src|test|bench|web)\/|\.test\.js$|tsbuildinfo/.test(p)), [], 'no sources, tests or build state ship');
  const project = join(dir, 'elsewhere');
  await mkdir(project);
  const tarball = `file:../${packed.filename}`;
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'elsewhere', version: '1.0.0', private: true, dependencies: { suanli: tarball } }));
  await writeFile(join(project, 'package-lock.json'), JSON.stringify(lockFor(tarball, readFileSync(join(dir, packed.filename)))));
  await run('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: project, maxBuffer: 64 << 20 });
  bin = join(project, 'node_modules', 'suanli', 'bin', 'suanli.js');
  assert.ok(!(await readdir(join(project, 'node_modules'))).includes('tsx'), 'tsx is a development dependency only');
});
after(() => rm(dir, { recursive: true, force: true }));

interface LockEntry {
  readonly dev?: boolean;
  readonly [field: string]: unknown;
}

/**
 * A lock for a project whose one dependency is the tarball: the tarball's own entry, and
 * every entry of the checkout's lock that is not a development dependency (the package's
 * dependencies sit at the same paths: hoisted under node_modules/).
 */
function lockFor(tarball: string, bytes: Buffer): unknown {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const own = lock.packages[''] ?? {};
  const packages: Record<string, unknown> = {
    '': { name: 'elsewhere', version: '1.0.0', dependencies: { suanli: tarball } },
    'node_modules/suanli': { version: own.version, resolved: tarball, integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`, dependencies: own.dependencies, bin: own.bin, engines: own.engines },
  };
  for (const [path, entry] of Object.entries(lock.packages)) if (path !== '' && entry.dev !== true) packages[path] = entry;
  return { name: 'elsewhere', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

test('installed from the tarball: the command runs compiled, with plain Node (--version, plan compare)', async () => {
  const link = join(dir, 'elsewhere', 'node_modules', '.bin', 'suanli');
  const version = await run(link, ['--version'], { cwd: dir });
  assert.equal(version.stdout.trim(), '0.1.0');
  const { stdout } = await run(process.execPath, [bin, 'plan', 'compare', '--json'], { cwd: dir });
  assert.ok(Object.keys(JSON.parse(stdout) as object).length > 0);
});

test('installed from the tarball: suanli serve answers /healthz and serves the dashboard', async () => {
  const server = await serve(join(dir, 'data'), {}, bin);
  try {
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="root">|<script/);
  } finally {
    const { code } = await server.stop('SIGTERM');
    assert.equal(code, 0);
  }
});
