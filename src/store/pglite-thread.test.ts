import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { openPGliteThread } from './pglite-thread.ts';

const run = promisify(execFile);

/** Runs `fn` in a new temporary directory, removed after. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'suanli-pglite-thread-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('PGlite in its thread: rows and parameters as in this thread (bigint as numbers, bytea as bytes), errors with their PostgreSQL fields, statements in order', () => inTempDir(async (dir) => {
  const db = openPGliteThread({ dataDir: dir });
  try {
    await db.waitReady;
    await db.query('create table t (id bigint primary key, b bytea, s text)', []);
    const inserted = await db.query('insert into t values ($1, $2, $3), ($4, $5, $6)', [9007199254740991, new Uint8Array([0, 1, 255]), 'ä', 2, new Uint8Array(), null]);
    assert.equal(inserted.affectedRows, 2);
    const { rows } = await db.query<{ id: number; b: Uint8Array; s: string | null }>('select * from t order by id', []);
    assert.deepEqual(rows.map((r) => [r.id, [...r.b], r.s]), [[2, [], null], [9007199254740991, [0, 1, 255], 'ä']]);
    // Issued at once, answered in order.
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => db.query<{ n: number }>('select $1::int as n', [i])));
    assert.deepEqual(answers.map((a) => a.rows[0]?.n), Array.from({ length: 50 }, (_, i) => i));
    await assert.rejects(db.query('insert into t values ($1)', [2]), (err: Error & { code?: string; constraint?: string }) => {
      assert.equal(err.code, '23505');
      assert.equal(err.constraint, 't_pkey');
      return true;
    });
    await assert.rejects(db.query('selec 1', []), /syntax error/);
    await db.close();
    await db.close(); // twice is once
    await assert.rejects(db.query('select 1', []), /thread has ended/);
  } finally {
    await db.close();
  }
}));

test('a statement run again runs prepared, and answers as the first time: rows, parameters, errors, transactions; a table changed under it fails once, then runs', () => inTempDir(async (dir) => {
  const db = openPGliteThread({ dataDir: dir });
  try {
    await db.waitReady;
    await db.query('create table t (id bigint primary key, b bytea, s text)', []);
    const insert = 'insert into t values ($1, $2, $3) returning id';
    const select = 'select * from t where id = any($1::bigint[]) order by id';
    for (let i = 1; i <= 4; i++) {
      const inserted = await db.query<{ id: number }>(insert, [9007199254740986 + i, new Uint8Array([i, 255]), i % 2 === 0 ? null : `ä${i}`]);
      assert.deepEqual([inserted.affectedRows, inserted.rows], [1, [{ id: 9007199254740986 + i }]], `insert ${i}`);
      const { rows } = await db.query<{ id: number; b: Uint8Array; s: string | null }>(select, [[9007199254740986 + i]]);
      assert.deepEqual(rows.map((r) => [r.id, [...r.b], r.s]), [[9007199254740986 + i, [i, 255], i % 2 === 0 ? null : `ä${i}`]], `select ${i}`);
    }
    await assert.rejects(db.query(insert, [9007199254740987, new Uint8Array(), null]), (err: Error & { code?: string; constraint?: string }) => {
      assert.equal(err.code, '23505');
      assert.equal(err.constraint, 't_pkey');
      return true;
    });
    // In a transaction, rolled back: the prepared insert's row is gone.
    await db.query('begin', []);
    await db.query(insert, [1, new Uint8Array(), 'x']);
    await db.query('rollback', []);
    assert.deepEqual((await db.query(select, [[1]])).rows, []);
    await db.query('alter table t add column n int', []);
    await assert.rejects(db.query(select, [[1]]), /cached plan must not change result type/);
    const again = await db.query<{ id: number; n: number | null }>(select, [[9007199254740987]]);
    assert.deepEqual(again.rows.map((r) => [r.id, r.n]), [[9007199254740987, null]]);
  } finally {
    await db.close();
  }
}));

test('a directory PGlite cannot open: waitReady says why, and so does every statement', () => inTempDir(async (dir) => {
  const file = join(dir, 'not-a-directory');
  writeFileSync(file, 'x');
  const db = openPGliteThread({ dataDir: join(file, 'data') });
  await assert.rejects(db.waitReady, /ENOTDIR|not a directory|ENOENT/i);
  await assert.rejects(db.query('select 1', []), /ENOTDIR|not a directory|ENOENT|ended/i);
  await db.close();
}));

test('the thread keeps the process alive while a statement is out, and not once none is (a store left open does not hang a command)', () => inTempDir(async (dir) => {
  // Nothing else keeps the script's process alive while pg_sleep runs; and it never closes the database.
  const script = join(dir, 'script.mts');
  writeFileSync(script, `import { openPGliteThread } from ${JSON.stringify(join(import.meta.dirname, 'pglite-thread.ts'))};
const db = openPGliteThread({ dataDir: ${JSON.stringify(join(dir, 'data'))} });
await db.waitReady;
const { rows } = await db.query('select pg_sleep(0.3), 42 as answer', []);
console.log(JSON.stringify(rows[0].answer));
`);
  const begin = performance.now();
  const { stdout } = await run(process.execPath, ['--import', 'tsx', script], { timeout: 60_000 });
  assert.equal(stdout.trim(), '42');
  assert.ok(performance.now() - begin < 50_000, 'the process ended by itself');
}));
