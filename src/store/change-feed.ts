import pg from 'pg';
import { CHANGES_CHANNEL } from './migrations.ts';

/** What the change feed announces (migration 0010): the tables whose rows the replicas keep in memory. */
export const CHANGE_TABLES = ['jobs', 'placements', 'sites', 'tokens', 'site_keys', 'org_quotas'] as const;
export type ChangeTable = (typeof CHANGE_TABLES)[number];

/** A row another session changed and committed: its table and key (a job's id for jobs and placements, a site's, a token's, an org's). */
export interface StoreChange {
  readonly table: ChangeTable;
  readonly key: string;
}

export interface ChangeHandlers {
  /** Called for each change, in commit order (one per row and transaction; a transaction's repeats are one). */
  readonly change: (change: StoreChange) => void;
  /** The feed's connection ended: changes from now on are not seen. The watch is over; open another. */
  readonly lost: (err: Error) => void;
}

export interface ChangeWatch {
  /** Resolves once every change committed before the call has been handed to `change` (rejects if the feed is lost first). */
  barrier(): Promise<void>;
  close(): Promise<void>;
}

const BARRIER = 'barrier ';

/**
 * Watches the change feed on its own connection (LISTEN; a session of its own, named `application_name`, that never
 * writes). PostgreSQL delivers notifications in commit order, and a session its own after its earlier ones, so a
 * barrier is a notification this session sends and waits to receive: everything committed before it came first.
 */
export async function watchChanges(config: pg.ClientConfig, handlers: ChangeHandlers): Promise<ChangeWatch> {
  const client = new pg.Client(config);
  const waiting = new Map<string, { resolve: () => void; reject: (err: Error) => void }>();
  let ended: Error | null = null;
  let barriers = 0;
  const end = (err: Error) => {
    if (ended !== null) return;
    ended = err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
    handlers.lost(err);
  };
  client.on('error', end);
  client.on('end', () => end(new Error('the change feed’s connection ended')));
  client.on('notification', (n) => {
    const payload = n.payload ?? '';
    if (payload.startsWith(BARRIER)) {
      waiting.get(payload)?.resolve();
      waiting.delete(payload);
      return;
    }
    const space = payload.indexOf(' ');
    const table = payload.slice(0, space);
    if (space > 0 && (CHANGE_TABLES as readonly string[]).includes(table)) handlers.change({ table: table as ChangeTable, key: payload.slice(space + 1) });
  });
  try {
    await client.connect();
    await client.query(`listen ${CHANGES_CHANNEL}`);
  } catch (err) {
    ended = err instanceof Error ? err : new Error(String(err));
    await client.end().catch(() => undefined);
    throw err;
  }
  return {
    async barrier() {
      if (ended !== null) throw ended;
      const payload = `${BARRIER}${process.pid}.${++barriers}`;
      const seen = new Promise<void>((resolve, reject) => waiting.set(payload, { resolve, reject }));
      seen.catch(() => undefined);
      await client.query('select pg_notify($1, $2)', [CHANGES_CHANNEL, payload]);
      await seen;
    },
    async close() {
      ended ??= new Error('closed');
      await client.end().catch(() => undefined);
    },
  };
}
