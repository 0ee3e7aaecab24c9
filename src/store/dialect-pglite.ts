import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
} from 'kysely';
import type { PGliteSession } from './pglite-thread.ts';

/**
 * Kysely on embedded PGlite: PostgreSQL's SQL, adapter and introspection over one
 * session (PGlite itself, or PGlite in a thread of its own: pglite-thread.ts). PGlite
 * has exactly one session, so the driver hands out its single connection to one holder
 * at a time: a transaction keeps it from BEGIN to COMMIT, and nobody else's statement
 * can land inside it.
 */
export class PGliteDialect implements Dialect {
  /** Kysely owns `pglite` from now on: destroying the Kysely instance closes it. */
  constructor(private readonly pglite: PGliteSession) {}

  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PGliteDriver(this.pglite);
  }
  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }
  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}

class PGliteDriver implements Driver {
  private connection: PGliteConnection | undefined;
  /** Settles when the current holder releases the connection; the next holder waits on it. */
  private released: Promise<void> = Promise.resolve();
  private release: (() => void) | undefined;

  constructor(private readonly pglite: PGliteSession) {}

  async init(): Promise<void> {
    await this.pglite.waitReady;
    this.connection = new PGliteConnection(this.pglite);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const previous = this.released;
    let release!: () => void;
    this.released = new Promise((resolve) => (release = resolve));
    await previous;
    if (!this.connection) {
      release();
      throw new Error('PGlite driver used before init or after destroy');
    }
    this.release = release;
    return this.connection;
  }

  releaseConnection(): Promise<void> {
    const release = this.release;
    this.release = undefined;
    release?.();
    return Promise.resolve();
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin'));
  }
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async destroy(): Promise<void> {
    // Wait for the holder, if any, so a closing store does not cut a transaction in half.
    const connection = (await this.acquireConnection()) as PGliteConnection;
    this.connection = undefined;
    try {
      await connection.pglite.close();
    } finally {
      await this.releaseConnection();
    }
  }
}

class PGliteConnection implements DatabaseConnection {
  constructor(readonly pglite: PGliteSession) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.pglite.query<R>(query.sql, [...query.parameters]);
    return { rows: result.rows, ...(result.affectedRows === undefined ? {} : { numAffectedRows: BigInt(result.affectedRows) }) };
  }

  /** PGlite has no cursors: the whole result is the one chunk. */
  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    yield await this.executeQuery<R>(query);
  }
}
