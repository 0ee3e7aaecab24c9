import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenBuckets } from './token-buckets.ts';

/** A clock the test moves. */
const clockAt = (ms = 0) => ({ ms, now(): number { return this.ms; } });

test('a bucket gives its burst, then refills one token per period', () => {
  const clock = clockAt();
  const buckets = new TokenBuckets(clock, { burst: 3, refillMs: 1000 }, 100);
  for (let i = 0; i < 3; i++) assert.equal(buckets.take('a'), 0, `token ${i + 1}`);
  assert.equal(buckets.take('a'), 1000, 'empty: a token is back in a second');
  clock.ms += 400;
  assert.equal(buckets.take('a'), 600, 'not before a whole token is back');
  clock.ms += 600;
  assert.equal(buckets.take('a'), 0);
  assert.equal(buckets.take('a'), 1000);
  assert.equal(buckets.take('b'), 0, 'other keys are untouched');
});

test('waits are exact milliseconds, with no drift from fractions of a token', () => {
  const clock = clockAt(Date.UTC(2026, 0, 1));
  const buckets = new TokenBuckets(clock, { burst: 20, refillMs: 3000 }, 100);
  for (let i = 0; i < 20; i++) buckets.take('a');
  clock.ms += 2000;
  assert.equal(buckets.take('a'), 1000, 'two thirds of a token back: a third of a period to wait, not a rounding over');
});

test('a token given back is there again; a full bucket is not tracked', () => {
  const clock = clockAt();
  const buckets = new TokenBuckets(clock, { burst: 2, refillMs: 1000 }, 100);
  assert.equal(buckets.take('a'), 0);
  assert.equal(buckets.size, 1);
  buckets.giveBack('a');
  assert.equal(buckets.size, 0, 'full again: forgotten');
  buckets.giveBack('a');
  assert.deepEqual([buckets.take('a'), buckets.take('a'), buckets.take('a')], [0, 0, 1000], 'giving back never fills past the burst');
});

test('a flood of new keys never tracks more than maxKeys; the keys in use stay, the oldest go', () => {
  const clock = clockAt();
  const buckets = new TokenBuckets(clock, { burst: 10, refillMs: 6000 }, 1000);
  let most = 0;
  for (let i = 0; i < 100_000; i++) {
    buckets.take(`flood-${i}`);
    if (i % 500 === 0) buckets.take('victim'); // refused after its first ten, but still in use: stays tracked
    most = Math.max(most, buckets.size);
  }
  assert.ok(most <= 1000, `at most 1000 keys tracked, saw ${most}`);
  assert.ok(buckets.size >= 750, 'sweeps keep three quarters');
  assert.ok(buckets.take('victim') > 0, 'a key in use keeps its empty bucket');
  assert.equal(buckets.take('flood-0'), 0, 'the oldest are forgotten');
});

test('a sweep drops the refilled keys before evicting any other', () => {
  const clock = clockAt();
  const buckets = new TokenBuckets(clock, { burst: 2, refillMs: 1000 }, 4);
  buckets.take('old');
  buckets.take('old');
  buckets.take('a');
  buckets.take('b');
  clock.ms += 1500; // 'old' is back to 1.5 tokens, a and b are full again
  buckets.take('c');
  buckets.take('d'); // at the cap: the sweep drops a and b; 'old', the least recently used, stays
  assert.equal(buckets.size, 3);
  assert.deepEqual([buckets.take('old'), buckets.take('old')], [0, 500], "'old' kept its spent tokens");
});
