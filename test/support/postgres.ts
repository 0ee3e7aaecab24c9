// A throwaway PostgreSQL 15 server for integration tests, from Debian's postgresql-15
// package (the steps of shared/reference/postgres/start-pg.sh). Tests that need it
// call `postgresMissing` first; without the binaries they are skipped with a message
// saying why, except under CI=true, where CI installs PostgreSQL and its absence is
// a failure.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import pg from 'pg';

export const PG_BIN = process.env.SUANLI_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface Postgres {
  /** The server's `app` database, as a DATABASE_URL. */
  readonly databaseUrl: string;
  readonly port: number;
  /** Runs `sql` on the `postgres` database as the superuser. */
  sql(text: string): Promise<void>;
  /** Stops the server at once, as a crash would (pg_ctl -m immediate), keeping its files until `stop`. */
  kill(): Promise<void>;
  /** Creates another empty database (a fresh start for one test) and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server and deletes its files; safe to call twice. */
  stop(): Promise<void>;
}

/** Why PostgreSQL tests cannot run here, or undefined when they can. */
export function postgresMissing(): string | undefined {
  if (existsSync(join(PG_BIN, 'initdb')) && existsSync(join(PG_BIN, 'pg_ctl'))) return undefined;
  return `needs PostgreSQL 15's server binaries in ${PG_BIN} (apt-get install postgresql, or set SUANLI_PG_BIN)`;
}

/** Marks `t` skipped, saying why; under CI=true, fails it instead. */
export function skipWithoutPostgres(t: TestContext, why: string): void {
  if (process.env.CI === 'true') throw new Error(`PostgreSQL missing under CI: ${why}`);
  t.skip(`skipped: ${why}`);
}

const run = promisify(execFile);

/**
 * Starts a server in a new temporary directory on a free port, with durability off
 * (fsync, synchronous_commit, full_page_writes) for speed. initdb and postgres
 * refuse to run as root, so as root the server runs as the `postgres` user.
 * On any failure it cleans up and throws with the server's log.
 */
export async function startPostgres(): Promise<Postgres> {
  return startServer(async (data, pgCommand) => {
    await pgCommand('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  });
}

/**
 * A streaming standby of `primary` (pg_basebackup -R: a hot standby that follows it), on its own port;
 * `promote` makes it a primary, as after the old one is lost.
 */
export async function startStandby(primary: Postgres): Promise<Postgres & { promote(): Promise<void> }> {
  let promote: () => Promise<void> = () => Promise.resolve();
  const standby = await startServer(async (data, pgCommand) => {
    await pgCommand('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', data, '-R', '-X', 'stream', '--no-sync', '--checkpoint=fast']);
    promote = async () => void (await pgCommand('pg_ctl', ['-D', data, '-w', '-t', '30', 'promote']));
  });
  return { ...standby, promote: () => promote() };
}

type PgCommand = (bin: string, args: string[]) => Promise<unknown>;

/**
 * Starts a server in a new temporary directory on a free port, its data made by `init`, with durability off
 * (fsync, synchronous_commit, full_page_writes) for speed. initdb and postgres refuse to run as root, so as root the
 * server runs as the `postgres` user. On any failure it cleans up and throws with the server's log.
 */
async function startServer(init: (data: string, pgCommand: PgCommand) => Promise<void>): Promise<Postgres> {
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? 'postgres' : userInfo().username;
  const dir = mkdtempSync(join(tmpdir(), 'suanli-pg-'));
  if (asRoot) await run('chown', [`${owner}:${owner}`, dir]);
  const data = join(dir, 'data');
  const pgCommand = (bin: string, args: string[]) => (asRoot ? run('runuser', ['-u', owner, '--', join(PG_BIN, bin), ...args]) : run(join(PG_BIN, bin), args));

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      if (existsSync(join(data, 'postmaster.pid'))) await pgCommand('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const kill = async () => {
    if (existsSync(join(data, 'postmaster.pid'))) await pgCommand('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop']);
  };

  try {
    const port = await freePort();
    await init(data, pgCommand);
    const settings = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
    await pgCommand('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '30', '-o', settings, 'start']);
    const urlOf = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
    const sql = async (text: string) => {
      const client = new pg.Client({ connectionString: urlOf('postgres') });
      await client.connect();
      try {
        await client.query(text);
      } finally {
        await client.end();
      }
    };
    const createDatabase = async (name: string) => {
      await sql(`create database "${name.replace(/"/g, '""')}"`);
      return urlOf(name);
    };
    // A standby is read-only: its databases are the primary's.
    const standby = existsSync(join(data, 'standby.signal'));
    return { databaseUrl: standby ? urlOf('app') : await createDatabase('app'), port, sql, createDatabase, kill, stop };
  } catch (err) {
    const log = join(dir, 'server.log');
    const serverLog = existsSync(log) ? `\nserver log:\n${readFileSync(log, 'utf8')}` : '';
    await stop();
    throw new Error(`could not start PostgreSQL from ${PG_BIN}: ${err instanceof Error ? err.message : String(err)}${serverLog}`, { cause: err });
  }
}

/** A TCP port nobody listens on right now (the OS picks it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no TCP port for PostgreSQL');
  return address.port;
}
