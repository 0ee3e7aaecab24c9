// The store on embedded PGlite: the conformance suite in memory, then what only a
// data directory has (its lock, and data that outlives the process).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Kysely, sql } from 'kysely';
import { isRunning, LOCK_FILE } from './data-dir-lock.ts';
import { PGliteDialect } from './dialect-pglite.ts';
import { openDatabase, openStore, storeFromEnv, type OpenDatabase } from './index.ts';
import { migrate, type Database } from './migrations.ts';
import { openPGliteThread } from './pglite-thread.ts';
import { KyselyStore } from './store.ts';
import { storeConformance } from './store.conformance.ts';
import { storeCostConformance } from './store-cost.conformance.ts';

// A new PGlite costs seconds of initdb, so the suite shares one in-memory database and
// each case starts from emptied tables (every table hangs off orgs); its close is a no-op.
let shared: OpenDatabase | undefined;
before(async () => {
  shared = await openDatabase({ memory: true });
});
after(async () => {
  await shared?.close();
});
storeConformance('PGlite in memory', async () => {
  if (!shared) throw new Error('the shared PGlite did not open');
  await sql`truncate orgs restart identity cascade`.execute(shared.db);
  return new KyselyStore(shared.db, 'pglite', async () => {});
});
storeCostConformance('PGlite in memory', async () => {
  if (!shared) throw new Error('the shared PGlite did not open');
  await sql`truncate orgs restart identity cascade`.execute(shared.db);
  return { db: shared.db, kind: 'pglite', close: async () => {} };
});

const dataDir = mkdtempSync(join(tmpdir(), 'suanli-store-'));
const lockPath = join(dataDir, LOCK_FILE);
after(() => rmSync(dataDir, { recursive: true, force: true }));

/** The pid of a process that has exited and been reaped. */
function deadPid(): number {
  const { pid } = spawnSync(process.execPath, ['-e', '']);
  assert.ok(pid);
  return pid;
}

test('data dir: a second open fails while the first is open, naming the directory and the holder', async () => {
  const first = await openStore({ dataDir });
  try {
    assert.equal(readFileSync(lockPath, 'utf8').trim(), String(process.pid));
    await assert.rejects(openStore({ dataDir }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'invalid_input');
      assert.ok(err.message.includes(dataDir), err.message);
      assert.match(err.message, new RegExp(`already open in this process \\(${process.pid}\\)`));
      return true;
    });
  } finally {
    await first.close();
  }
  assert.equal(existsSync(lockPath), false, 'close releases the lock');
});

test('data dir: a lock held by another live process stops the open; once that process is gone, the lock is taken over', async () => {
  const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  const pid = holder.pid;
  assert.ok(pid);
  try {
    writeFileSync(lockPath, `${pid}\n`);
    await assert.rejects(openStore({ dataDir }), new RegExp(`in process ${pid}\\b`));
  } finally {
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    holder.kill();
    await exited;
  }
  const store = await openStore({ dataDir });
  assert.equal(readFileSync(lockPath, 'utf8').trim(), String(process.pid));
  await store.close();

  writeFileSync(lockPath, `${deadPid()}\n`);
  await (await openStore({ dataDir })).close();
  assert.equal(existsSync(lockPath), false);

  writeFileSync(lockPath, '');
  await assert.rejects(openStore({ dataDir }), /names no process/, 'a lock without a pid is left for a person to judge');
  rmSync(lockPath);
});

test('data dir: what one open wrote, the next open reads', async () => {
  const first = await openStore({ dataDir });
  await first.createOrg({ id: 'a', name: 'Org A', createdAt: 1 });
  const demand = { gpus: 8, gpuTypes: ['H100'], gang: true, estimateS: 60, priority: 0, preemptible: false, checkpointIntervalS: null, command: ['train.sh'], plan: null };
  const [submitted] = await first.submitJobs([{ orgId: 'a', name: 'j', demand, submittedBy: 'me', submittedAt: 5, idempotencyKey: 'k' }]);
  await first.close();

  const second = await storeFromEnv({ dataDir }, {});
  try {
    assert.equal(second.kind, 'pglite');
    assert.deepEqual(await second.getOrg('a'), { id: 'a', name: 'Org A', createdAt: 1 });
    assert.deepEqual(await second.getJob(submitted?.job.id ?? ''), submitted?.job);
    assert.equal((await second.events(submitted?.job.id ?? '')).length, 1);
    const [retry] = await second.submitJobs([{ orgId: 'a', name: 'again', demand, submittedBy: 'me', submittedAt: 6, idempotencyKey: 'k' }]);
    assert.deepEqual(retry, { job: submitted?.job, created: false });
  } finally {
    await second.close();
  }
});

test('migration 0014: a log tail kept so far moves to its site’s row when its attempt was on one site; one across sites, whose site is not known, is dropped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'suanli-store-0014-'));
  const session = openPGliteThread({ dataDir: dir });
  const db = new Kysely<Database>({ dialect: new PGliteDialect(session) });
  try {
    await session.waitReady;
    await migrate(db, '0013-span-metrics-wait');
    const part = (site: string, gpuType = 'H100') => ({ siteId: site, gpuType, gpus: 8, nodes: 1 });
    const statements = [
      `insert into orgs (id, name, created_at) values ('a', 'A', 1)`,
      ...['sa', 'sb'].map((id) => `insert into sites (id, org_id, name, capacity, share, wan_links, created_at) values ('${id}', 'a', '${id}', '[]', '{}', '[]', 1)`),
      ...[1, 2, 3].map(() => `insert into jobs (org_id, name, state, demand, submitted_by, submitted_at, updated_at) values ('a', 'j', 'running', '{}', 'me', 1, 1)`),
      ...([
        [1, 1, [part('sa')], `'one site'`], [1, 2, [part('sa'), part('sb')], `'across sites'`], [2, 1, [part('sb'), part('sb', 'A100')], `'one site, two GPU types'`], [3, 1, [part('sa')], 'null'],
      ] as const).map(([job, attempt, parts, tail]) => `insert into placements (job_id, attempt, parts, placed_at, log_tail, log_at) values (${job}, ${attempt}, '${JSON.stringify(parts)}', 1, ${tail}, ${tail === 'null' ? 'null' : 10 * job + attempt})`),
    ];
    for (const statement of statements) await sql.raw(statement).execute(db);
    await migrate(db);
    const { rows } = await sql<Record<string, unknown>>`select job_id, attempt, site_id, tail, at from placement_logs order by job_id, attempt`.execute(db);
    assert.deepEqual(rows, [{ job_id: 1, attempt: 1, site_id: 'sa', tail: 'one site', at: 11 }, { job_id: 2, attempt: 1, site_id: 'sb', tail: 'one site, two GPU types', at: 21 }]);
    const { rows: columns } = await sql<{ column_name: string }>`select column_name from information_schema.columns where table_name = 'placements' and column_name like 'log%'`.execute(db);
    assert.deepEqual(columns, [], 'the placement keeps no tail of its own');
  } finally {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a zombie is not a running process, though kill(pid, 0) still succeeds on it', { skip: !existsSync('/proc/self/status') && 'needs /proc' }, async () => {
  // sh starts a child that exits at once, then becomes `sleep`, which never reaps it.
  const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const [line] = (await once(parent.stdout, 'data')) as [Buffer];
    const zombie = Number(line.toString().trim());
    const status = () => (existsSync(`/proc/${zombie}/status`) ? readFileSync(`/proc/${zombie}/status`, 'utf8') : '');
    for (let i = 0; i < 200 && !/^State:\s*Z/m.test(status()); i++) await delay(10);
    assert.match(status(), /^State:\s*Z/m);
    assert.doesNotThrow(() => process.kill(zombie, 0));
    assert.equal(isRunning(zombie), false);
    assert.equal(isRunning(process.pid), true);
    assert.equal(isRunning(deadPid()), false);
  } finally {
    parent.kill();
  }
});
