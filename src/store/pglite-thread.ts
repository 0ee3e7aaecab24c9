import { Worker } from 'node:worker_threads';

/**
 * Embedded PGlite in a worker thread of its own. PGlite runs PostgreSQL as WebAssembly
 * in the thread that calls it, synchronously: in the server's thread every statement,
 * and the parsing of its result, held up every request (over half the server's CPU at
 * 2,000 submissions a second was PGlite's). Here the database has a thread, and the
 * server's only waits for the answer. What the dialect uses of PGlite is all there is:
 * `query` (in the order called: the dialect hands the one session to one holder at a
 * time), `waitReady` and `close`.
 */
export interface PGliteSession {
  readonly waitReady: Promise<void>;
  query<R>(sql: string, params: unknown[]): Promise<{ rows: R[]; affectedRows?: number }>;
  close(): Promise<void>;
}

/** Where the thread's database is: a directory, or a copy of a database dump (a PGlite `dumpDataDir` tarball). */
export type PGliteThreadOptions = { readonly dataDir: string } | { readonly loadDataDir: ArrayBuffer };

interface Answer {
  readonly id: number;
  readonly rows?: unknown[];
  readonly affectedRows?: number;
  readonly error?: Record<string, unknown>;
}

/** Starts a thread with PGlite on `options`; `waitReady` settles once the database is open (or rejects with why not). */
export function openPGliteThread(options: PGliteThreadOptions): PGliteSession {
  const worker = new Worker(THREAD, { eval: true, workerData: { module: import.meta.resolve('@electric-sql/pglite'), options } });
  // The thread holds the process open only while a statement is out, as PGlite in this thread would not hold it at all.
  worker.unref();
  const waiting = new Map<number, { resolve(answer: Answer): void; reject(err: unknown): void }>();
  let nextId = 0;
  let gone: Error | null = null;
  const ask = (message: { sql?: string; params?: readonly unknown[]; close?: true }) => new Promise<Answer>((resolve, reject) => {
    if (gone !== null) return reject(gone);
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    if (waiting.size === 1) worker.ref();
    worker.postMessage({ id, ...message });
  }).then((answer) => {
    if (answer.error !== undefined) throw databaseError(answer.error);
    return answer;
  });
  const settle = (id: number, settleWith: (w: { resolve(answer: Answer): void; reject(err: unknown): void }) => void) => {
    const w = waiting.get(id);
    if (w === undefined) return;
    waiting.delete(id);
    if (waiting.size === 0) worker.unref();
    settleWith(w);
  };
  const end = (err: Error) => {
    gone ??= err;
    for (const id of [...waiting.keys()]) settle(id, (w) => w.reject(err));
  };
  worker.on('message', (answer: Answer) => settle(answer.id, (w) => w.resolve(answer)));
  worker.on('error', (err) => end(new Error(`the embedded database's thread failed: ${err.message}`, { cause: err })));
  worker.on('exit', (code) => end(new Error(`the embedded database's thread has ended (exit code ${code})`)));
  // The first answer (id 0) says the database is open.
  const waitReady = ask({}).then(() => undefined);
  let closing: Promise<void> | undefined;
  return {
    waitReady,
    async query<R>(sql: string, params: unknown[]) {
      const answer = await ask({ sql, params });
      return { rows: answer.rows as R[], ...(answer.affectedRows === undefined ? {} : { affectedRows: answer.affectedRows }) };
    },
    close() {
      closing ??= (async () => {
        try {
          // A database that never opened has nothing to close.
          const opened = await waitReady.then(() => true, () => false);
          if (opened && gone === null) await ask({ close: true });
        } finally {
          await worker.terminate();
        }
      })();
      return closing;
    },
  };
}

/** An error the thread sent back, rebuilt with the fields PostgreSQL gave it (code, constraint, detail…), as PGlite's own would have them. */
function databaseError(fields: Record<string, unknown>): Error {
  const err = new Error(typeof fields.message === 'string' ? fields.message : 'the embedded database failed');
  return Object.assign(err, fields);
}

/** Statements kept prepared at most (the least recently used is closed first). */
const MAX_PREPARED = 256;
/** Texts counted before the count starts again (at most MAX_SEEN × MAX_TEXT characters kept: 16 M). */
const MAX_SEEN = 1000;
/** Longer texts are not prepared (nor counted): a statement that long is one of many rows, seldom repeated. */
const MAX_TEXT = 16_384;
/** What is prepared: statements that read or write rows (not transaction control, not DDL). */
const PREPARABLE = /^\s*(select|insert|update|delete|with)\b/i;

/**
 * The thread's whole program (plain JavaScript: a thread does not load TypeScript). It
 * opens PGlite (bigint columns read as JS numbers, as the PostgreSQL driver's), answers
 * the first message once open, then each statement in turn: its rows, or its error's
 * fields. A `close` message closes the database; the caller then ends the thread.
 *
 * A statement text seen a second time is prepared as a named statement, and then runs
 * as one Bind/Execute/Sync exchange with PostgreSQL: PGlite's `query` parses, describes
 * and plans every statement anew in six exchanges, which at a few hundred jobs a second
 * was most of this thread's time. PostgreSQL re-plans a prepared statement itself when
 * what it reads changes, and after five runs keeps a generic plan when that is no worse.
 */
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const errorFields = (err) => {
  const fields = { message: err instanceof Error ? err.message : String(err) };
  if (err !== null && typeof err === 'object') {
    for (const [k, v] of Object.entries(err)) if (typeof v === 'string' || typeof v === 'number') fields[k] = v;
  }
  return fields;
};
const opened = (async () => {
  const { PGlite, types } = await import(workerData.module);
  const o = workerData.options;
  const where = o.dataDir !== undefined ? { dataDir: o.dataDir } : { loadDataDir: new Blob([o.loadDataDir]) };
  return PGlite.create({ ...where, parsers: { [types.INT8]: Number } });
})();
const statements = (async () => {
  const { protocol, parse } = await import(workerData.module);
  const { serialize } = protocol;
  const concat = (parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  /** By text: the named statement, its parameters' types and its rows' description; in order of last use. */
  const prepared = new Map();
  /** How often each text not prepared was seen (cleared when large). */
  const seen = new Map();
  let names = 0;
  const prepare = async (db, text) => {
    if (prepared.size >= ${MAX_PREPARED}) {
      const [oldest, { name }] = prepared.entries().next().value;
      prepared.delete(oldest);
      await db.execProtocol(concat([serialize.close({ type: 'S', name }), serialize.sync()]));
    }
    seen.delete(text);
    const name = 'suanli_' + names++;
    const { messages } = await db.execProtocol(concat([serialize.parse({ name, text }), serialize.describe({ type: 'S', name }), serialize.sync()]));
    const statement = {
      name,
      types: messages.find((m) => m.name === 'parameterDescription')?.dataTypeIDs ?? [],
      rows: messages.filter((m) => m.name === 'rowDescription'),
    };
    prepared.set(text, statement);
    return statement;
  };
  return async (db, text, params) => {
    let statement = prepared.get(text);
    if (statement !== undefined) {
      prepared.delete(text);
      prepared.set(text, statement);
    } else if (text.length <= ${MAX_TEXT} && ${PREPARABLE}.test(text)) {
      const times = (seen.get(text) ?? 0) + 1;
      if (seen.size >= ${MAX_SEEN}) seen.clear();
      seen.set(text, times);
      if (times >= 2) statement = await prepare(db, text);
    }
    if (statement === undefined) return db.query(text, params);
    const values = params.map((v, i) => (v === null || v === undefined ? null : (db.serializers[statement.types[i]] ?? String)(v)));
    try {
      const { messages } = await db.execProtocol(concat([serialize.bind({ statement: statement.name, values }), serialize.execute({}), serialize.sync()]));
      return parse.parseResults([...statement.rows, ...messages], db.parsers)[0];
    } catch (err) {
      // A table it reads changed its columns: PostgreSQL will not run it again; prepared anew, the text runs next time.
      if (err?.code === '0A000' && prepared.delete(text)) await db.execProtocol(concat([serialize.close({ type: 'S', name: statement.name }), serialize.sync()]));
      throw err;
    }
  };
})();
let queue = Promise.resolve();
parentPort.on('message', (m) => {
  queue = queue.then(async () => {
    try {
      const db = await opened;
      if (m.close) {
        await db.close();
        parentPort.postMessage({ id: m.id });
      } else if (m.sql === undefined) {
        parentPort.postMessage({ id: m.id });
      } else {
        const r = await (await statements)(db, m.sql, m.params);
        parentPort.postMessage({ id: m.id, rows: r.rows, affectedRows: r.affectedRows });
      }
    } catch (err) {
      parentPort.postMessage({ id: m.id, error: errorFields(err) });
    }
  });
});
`;
