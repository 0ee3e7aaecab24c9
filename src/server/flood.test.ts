import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InFlight, RateByKey } from './flood.ts';

test('a token may have so many requests under way in all, and fewer of the heavy operations; a release gives the slot back, once', () => {
  const slots = new InFlight(4);
  const beats = [slots.take('agent', 'agent.heartbeat')];
  assert.throws(() => slots.take('agent', 'agent.heartbeat'), (err: Error & { code?: string }) => err.code === 'rate_limited' && /1 requests under way to agent\.heartbeat/.test(err.message));
  const reports = [slots.take('agent', 'agent.report'), slots.take('agent', 'agent.report')];
  const list = slots.take('agent', 'jobs.list');
  assert.throws(() => slots.take('agent', 'jobs.list'), /4 requests under way, the most/, 'the total');
  list();
  assert.doesNotThrow(() => slots.take('other', 'agent.heartbeat')(), 'another token has its own');
  const release = reports[0] ?? assert.fail();
  release();
  release();
  const again = slots.take('agent', 'agent.report');
  assert.throws(() => slots.take('agent', 'agent.report'), /2 requests under way to agent\.report/, 'released once, not twice');
  for (const r of [...beats, again, reports[1]]) r?.();
  assert.doesNotThrow(() => [1, 2, 3, 4].map(() => slots.take('agent', 'jobs.list')), 'every slot is back');
});

test('a rate per key follows the rate given at each take: a burst at once, then so many a second; keys apart; memory bounded', () => {
  let now = 0;
  const rates = new RateByKey(() => now, 3);
  const takes = (key: string, n: number, perSecond: number, burst: number) => Array.from({ length: n }, () => rates.take(key, perSecond, burst));
  assert.deepEqual(takes('a', 4, 2, 3), [0, 0, 0, 500], 'a burst of 3, then a token every 500 ms');
  assert.equal(rates.take('b', 2, 3), 0, 'another key has its own bucket');
  now += 500;
  assert.equal(rates.take('a', 2, 3), 0);
  assert.equal(rates.take('a', 2, 3), 500);
  now += 250;
  assert.equal(rates.take('a', 20, 3), 0, 'a higher rate (the site declared more GPUs) refills faster');
  now += 10_000;
  for (const k of ['c', 'd', 'e', 'f']) rates.take(k, 2, 3);
  assert.equal(rates.take('a', 2, 3), 0, 'a full bucket forgotten is full again');
});
