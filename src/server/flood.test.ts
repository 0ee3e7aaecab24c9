import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InFlight } from './flood.ts';

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
