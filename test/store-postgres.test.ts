// The store conformance and cost suites on a real PostgreSQL 15 (Debian's server, as
// DATABASE_URL users run it), each case on a fresh database of one throwaway server.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { openDatabase, openStore, storeFromEnv } from '../src/store/index.ts';
import { storeConformance } from '../src/store/store.conformance.ts';
import { storeCostConformance } from '../src/store/store-cost.conformance.ts';
import { postgresMissing, skipWithoutPostgres, startPostgres, type Postgres } from './support/postgres.ts';

const missing = postgresMissing();
if (missing !== undefined) {
  test('store conformance on PostgreSQL 15', (t) => skipWithoutPostgres(t, missing));
} else {
  let server: Postgres | undefined;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
  });
  let databases = 0;
  storeConformance('PostgreSQL 15', async () => {
    if (!server) throw new Error('PostgreSQL did not start');
    return openStore({ databaseUrl: await server.createDatabase(`case_${++databases}`) });
  });
  storeCostConformance('PostgreSQL 15', async () => {
    if (!server) throw new Error('PostgreSQL did not start');
    return openDatabase({ databaseUrl: await server.createDatabase(`case_${++databases}`) });
  });

  test('storeFromEnv: DATABASE_URL wins over the data directory', async () => {
    if (!server) throw new Error('PostgreSQL did not start');
    const unused = '/nonexistent/suanli-data';
    const store = await storeFromEnv({ dataDir: unused }, { DATABASE_URL: await server.createDatabase('from_env') });
    try {
      assert.equal(store.kind, 'postgres');
    } finally {
      await store.close();
    }
    assert.equal(existsSync(unused), false);
  });
}
