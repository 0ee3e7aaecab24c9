// `suanli demo` (what `npm start` runs) as a real process: the whole workload to its
// summary with --exit-when-done --json, and a Ctrl-C (SIGINT) in the middle of it,
// after which nothing the demo started may still run.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, readlink, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BIN, inProcess } from './support/cli.ts';
import { waitFor } from './support/live-pool.ts';

interface DemoSummary {
  admin_token: string;
  jobs: { id: string; org_id: string; name: string; gpus: number; role: string | null; state: string; sites: string[]; diagnosis: { message: string; never: boolean } | null }[];
  sites: { id: string; org_id: string; gpus: number }[];
  balances: { org_id: string; contributed_gpu_h: number; consumed_gpu_h: number; credits_gpu_h: number }[];
  ledger_verify: { org_id: string; verified: boolean; records: number; by_site: number; credits_gpu_h: number; problems: string[] }[];
}

interface Demo {
  /** Everything printed so far. */
  out(): string;
  err(): string;
  /** Resolves with the exit code (null: killed by a signal). */
  readonly exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

function demo(dataDir: string, ...flags: string[]): Demo {
  const child = spawn(process.execPath, [BIN, 'demo', '--port', '0', '--data-dir', dataDir, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { out: () => out, err: () => err, exited, kill: (signal) => child.kill(signal) };
}

/** Live processes started in the demo's directory, or naming it on their command line (the runs, their wrappers, their `sleep`s). */
async function processesIn(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((d) => /^\d+$/.test(d))) {
    try {
      const cwd = await readlink(`/proc/${pid}/cwd`);
      const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      const state = /^State:\s*(\S)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (state !== 'Z' && (cwd.startsWith(dir) || cmdline.includes(dir))) found.push(`${pid}: ${cmdline}`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

let root = '';
before(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), 'suanli-demo-')));
});
after(() => rm(root, { recursive: true, force: true }));

test('demo --exit-when-done --json: every job succeeds: the pooled job on another member’s site, the job larger than any site across two', { timeout: 120_000 }, async () => {
  const dir = join(root, 'whole');
  const run = demo(dir, '--exit-when-done', '--json');
  const code = await run.exited;
  assert.equal(code, 0, run.err());
  const summary = JSON.parse(run.out()) as DemoSummary;

  assert.match(run.err(), new RegExp(`admin token: ${summary.admin_token}`), 'the admin token is printed');
  assert.match(summary.admin_token, /^sl_[0-9a-z]+_[0-9a-z]+$/);
  assert.doesNotMatch(run.err(), /Error|\n\s+at /, 'no error and no stack trace');

  for (const j of summary.jobs) assert.equal(j.state, 'succeeded', `${j.org_id}/${j.name}: ${JSON.stringify(j)}`);
  const spanning = summary.jobs.filter((j) => j.role === 'spanning');
  assert.equal(spanning.length, 1);
  const [big] = spanning;
  assert.ok(big !== undefined && big.gpus > Math.max(...summary.sites.map((s) => s.gpus)), 'larger than any site');
  assert.ok(big.sites.length >= 2, `it ran across sites: ${JSON.stringify(big.sites)}`);
  assert.ok(run.err().includes(`#${big.id} beijing-lab/foundation-model needs 16 GPUs; the largest site has 8: it may span sites`), 'the story is told');

  const pooled = summary.jobs.find((j) => j.role === 'pooled');
  const owned = summary.sites.filter((s) => s.org_id === pooled?.org_id).reduce((n, s) => n + s.gpus, 0);
  assert.ok(pooled !== undefined && pooled.gpus > owned, 'the pooled job is larger than its own org’s GPUs');
  assert.ok(pooled.sites.every((id) => summary.sites.find((s) => s.id === id)?.org_id !== pooled.org_id), 'and ran on another member’s site');
  const balance = summary.balances.find((b) => b.org_id === pooled.org_id);
  assert.ok(balance !== undefined && balance.consumed_gpu_h > balance.contributed_gpu_h, `its org consumed more than it contributed: ${JSON.stringify(summary.balances)}`);

  // The closing output: each member's own `suanli ledger verify` passes, every record signed by the site that ran it.
  assert.deepEqual(summary.ledger_verify.map((v) => v.org_id), summary.balances.map((b) => b.org_id));
  for (const v of summary.ledger_verify) {
    assert.deepEqual([v.verified, v.problems], [true, []], v.org_id);
    assert.ok(v.records > 0 && v.by_site === v.records, JSON.stringify(v));
    assert.ok(Math.abs(v.credits_gpu_h - (summary.balances.find((b) => b.org_id === v.org_id)?.credits_gpu_h ?? NaN)) < 1e-9, JSON.stringify(v));
  }

  assert.deepEqual(await processesIn(dir), []);
});

test('demo: SIGINT while jobs run stops everything cleanly, exit code 0, and leaves no process behind', { timeout: 120_000 }, async () => {
  const dir = join(root, 'interrupted');
  const run = demo(dir);
  const exited = run.exited.then((code) => {
    if (code !== null) throw new Error(`the demo exited (${code}) before it was interrupted: ${run.out()}${run.err()}`);
    return code;
  });
  await Promise.race([waitFor('a running job', () => Promise.resolve(/ running on /.test(run.out()) ? true : undefined), 90_000), exited]);
  assert.notDeepEqual(await processesIn(dir), [], 'runs are going when the signal comes');
  run.kill('SIGINT');
  const code = await run.exited;
  const output = `${run.out()}\n${run.err()}`;
  assert.equal(code, 0, output);
  assert.match(run.out(), /SIGINT, shutting down/);
  assert.match(run.out(), /suanli demo: stopped$/m);
  assert.doesNotMatch(output, /Error|\n\s+at /, 'no error and no stack trace');
  assert.deepEqual(await processesIn(dir), []);
});

test('demo: bad flags are named; a directory the demo did not make is never wiped', async () => {
  const port = await inProcess(['demo', '--port', 'eighty']);
  assert.equal(port.code, 2);
  assert.match(port.err, /^suanli: --port: "eighty" is not a whole number/);

  const foreign = join(root, 'foreign');
  await mkdir(foreign);
  await writeFile(join(foreign, 'keep.txt'), 'someone’s file\n');
  const refused = await inProcess(['demo', '--data-dir', foreign]);
  assert.equal(refused.code, 2);
  assert.match(refused.err, /^suanli: --data-dir: .* is not empty and was not made by `suanli demo`/);
  assert.deepEqual(await readdir(foreign), ['keep.txt'], 'nothing removed, nothing added');
});
