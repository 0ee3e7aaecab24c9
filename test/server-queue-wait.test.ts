// GET /api/v1/pool's queue waits (issue 19): how long the jobs first placed in the last
// hour waited from submission, median and 90th percentile, in the pool and per org, the
// same for every role (orgs only, like the queues); re-read at most once per history
// interval. A real in-memory store, passes run by hand on a clock the test moves.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PoolResponse } from '../src/server/schemas.ts';
import { TestServer } from './support/server.ts';

describe('GET /api/v1/pool: queue waits', () => {
  let s: TestServer;
  let member = '';
  const pool = (token?: string) => s.ok(PoolResponse, 200, 'GET', '/api/v1/pool', token === undefined ? {} : { token });

  before(async () => {
    s = await TestServer.start({ poolSampleMs: 60_000 });
    for (const org of ['acme', 'beta']) await s.org(org);
    await s.site('acme', 1, 8, 'h100');
    member = await s.token('member', 'beta');
  });
  after(() => s.close());

  test('none placed yet: no figures, zero jobs', async () => {
    const { queue_wait } = await pool();
    assert.deepEqual(queue_wait, { window_s: 3600, placed_jobs: 0, p50_s: null, p90_s: null, orgs: [] });
  });

  test('jobs placed after waiting 0 s, 60 s and 600 s: per org and in all; a member sees the same', async () => {
    await s.job('acme', 2);
    await s.pass(); // placed at once
    await s.job('acme', 2);
    await s.job('beta', 2);
    s.clock.advance(60);
    await s.pass(); // both after a minute
    await s.job('beta', 2);
    s.clock.advance(600);
    await s.pass(); // after ten minutes
    s.clock.advance(60); // past the reader's refresh interval
    const { queue_wait } = await pool();
    assert.deepEqual(queue_wait, {
      window_s: 3600, placed_jobs: 4, p50_s: 60, p90_s: 600,
      orgs: [{ org_id: 'acme', placed_jobs: 2, p50_s: 0, p90_s: 60 }, { org_id: 'beta', placed_jobs: 2, p50_s: 60, p90_s: 600 }],
    });
    assert.deepEqual((await pool(member)).queue_wait, queue_wait, 'the figures per org are the pool’s, for every role');
  });

  test('read again only once the interval has passed; jobs placed over an hour ago drop out', async () => {
    const before = (await pool()).queue_wait;
    await s.job('acme', 2);
    s.clock.advance(30);
    await s.pass();
    assert.deepEqual((await pool()).queue_wait, before, 'within the interval: the last read');
    s.clock.advance(30);
    assert.equal((await pool()).queue_wait.placed_jobs, 5, 'after it: the new job counts');
    s.clock.advance(3600 - 60 - 600 - 60 + 1); // the first three placements are over an hour old now
    const { queue_wait } = await pool();
    assert.deepEqual(queue_wait.orgs, [{ org_id: 'acme', placed_jobs: 1, p50_s: 30, p90_s: 30 }, { org_id: 'beta', placed_jobs: 1, p50_s: 600, p90_s: 600 }]);
  });
});
