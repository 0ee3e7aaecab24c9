import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { lockDataDir } from './data-dir-lock.ts';
import { watchChanges, type ChangeHandlers, type ChangeWatch } from './change-feed.ts';
import { PGliteDialect } from './dialect-pglite.ts';
import { openPGliteThread, type PGliteThreadOptions } from './pglite-thread.ts';
import { migrate, REPLICA_APP, type Database } from './migrations.ts';
import { KyselyStore } from './store.ts';
import type { Store } from './types.ts';

/**
 * Where the store lives: embedded PGlite in a directory (created if missing; one
 * process at a time), PGlite in memory (tests), or a PostgreSQL server.
 */
/**
 * Where the store is. `replica`: this process is one of several `suanli serve` replicas on the server, with this id:
 * its sessions are named for the fence (migrations.ts, 0009), so its writes need the leader lease.
 */
export type StoreOptions = { readonly dataDir: string } | { readonly memory: true } | { readonly databaseUrl: string; readonly replica?: string };

/** A migrated database, ready for a KyselyStore, and how to close what opening it took. */
export interface OpenDatabase {
  readonly db: Kysely<Database>;
  readonly kind: Store['kind'];
  readonly close: () => Promise<void>;
  /** The change feed, on a server (change-feed.ts). */
  readonly watch?: (handlers: ChangeHandlers) => Promise<ChangeWatch>;
}

/** Opens the store and brings its schema up to date. */
export async function openStore(options: StoreOptions): Promise<Store> {
  const { db, kind, close, watch } = await openDatabase(options);
  return new KyselyStore(db, kind, close, watch);
}

/** The store the environment names: DATABASE_URL when set, else embedded PGlite in `dataDir`. */
export function storeFromEnv(options: { readonly dataDir: string }, env: NodeJS.ProcessEnv = process.env): Promise<Store> {
  const databaseUrl = env.DATABASE_URL;
  return openStore(databaseUrl ? { databaseUrl } : options);
}

/** What openStore does below the Store: tests use it to share one database across many stores. */
export async function openDatabase(options: StoreOptions): Promise<OpenDatabase> {
  if ('databaseUrl' in options) {
    const { databaseUrl, replica } = options;
    const open = await migrated(new Kysely<Database>({ dialect: new PostgresDialect({ pool: postgresPool(databaseUrl, replica) }) }), 'postgres');
    // Its own session, not named as the replica's: a takeover ends a deposed replica's sessions, not its feed.
    return { ...open, watch: (handlers) => watchChanges({ connectionString: databaseUrl, application_name: `suanli-feed:${replica ?? process.pid}` }, handlers) };
  }
  if ('memory' in options) return migrated(await openPGlite({ loadDataDir: await memoryTemplate() }), 'pglite');
  mkdirSync(options.dataDir, { recursive: true });
  const unlock = lockDataDir(options.dataDir);
  let db: Kysely<Database>;
  try {
    db = await openPGlite({ dataDir: options.dataDir });
  } catch (err) {
    unlock();
    throw err;
  }
  return migrated(db, 'pglite', unlock);
}

/** Migrates `db`; on failure closes it (and releases what opening took) before rethrowing. */
async function migrated(db: Kysely<Database>, kind: Store['kind'], release: () => void = () => {}): Promise<OpenDatabase> {
  const close = async () => {
    try {
      await db.destroy();
    } finally {
      release();
    }
  };
  try {
    await migrate(db);
  } catch (err) {
    await close();
    throw err;
  }
  return { db, kind, close };
}

// Both drivers read bigint columns (epoch milliseconds, ids) as JS numbers: they fit a double.

/** PGlite in a thread of its own (pglite-thread.ts), open once this resolves. */
async function openPGlite(options: PGliteThreadOptions): Promise<Kysely<Database>> {
  const session = openPGliteThread(options);
  try {
    await session.waitReady;
  } catch (err) {
    await session.close();
    throw err;
  }
  return new Kysely<Database>({ dialect: new PGliteDialect(session) });
}

function postgresPool(connectionString: string, replica: string | undefined): pg.Pool {
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, Number);
  const pool = new pg.Pool({ connectionString, types, ...(replica === undefined ? {} : { application_name: `${REPLICA_APP}${replica}` }) });
  // An idle connection the server dropped (a restart) is discarded by the pool, and the
  // next query opens a new one; without a listener the 'error' event would end the process.
  pool.on('error', () => {});
  // Likewise a connection in use that the server ends (a restart, or a takeover ending a deposed replica's
  // sessions): the statement under way fails with the error, which is enough; unheard, it would end the process.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

let template: Promise<ArrayBuffer> | undefined;

/**
 * An empty, migrated in-memory database as a tarball, made once per process: each
 * memory store starts from a copy (under a second) instead of running initdb and the
 * migrations again (seconds). Holds about 40 MB for the life of the process.
 */
function memoryTemplate(): Promise<ArrayBuffer> {
  template ??= (async () => {
    const pglite = await PGlite.create();
    const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
    try {
      await migrate(db);
      return await (await pglite.dumpDataDir('none')).arrayBuffer();
    } finally {
      await db.destroy();
      if (!pglite.closed) await pglite.close();
    }
  })().catch((err: unknown) => {
    template = undefined; // let the next open try again
    throw err;
  });
  return template;
}
