import assert from 'node:assert/strict';
import { test } from 'node:test';
import { creditLines, flowBars, ledgerOrgs, ledgerTimeAxis, withCreditsToDate } from './ledger-history.ts';
import { LEDGER_HISTORY } from './test-data.ts';

const DAY = 86_400_000;
const nov25 = Date.parse('2026-11-25T00:00:00.000Z');
const nov26 = nov25 + DAY;
const point = (org_id: string, at: number, contributed: number, consumed: number) => ({
  org_id, at: new Date(at).toISOString(), contributed_gpu_h: contributed, consumed_gpu_h: consumed, own_gpu_h: 0, credits_gpu_h: contributed - consumed,
});

test('the orgs in bytewise order, as the API sorts them', () => {
  assert.deepEqual(ledgerOrgs([point('b', 0, 1, 0), point('B', 0, 1, 0), point('a', 0, 1, 0), point('b', DAY, 1, 0)]), ['B', 'a', 'b']);
});

test('each point with its org’s credits to date', () => {
  assert.deepEqual(withCreditsToDate(LEDGER_HISTORY.points).map((r) => [r.org_id, r.credits_to_date_gpu_h]), [['acme', 6], ['beta', -6], ['acme', 4], ['beta', -4]]);
});

test('credit lines: from 0 at the first bucket, rising or falling across each bucket, flat across buckets without entries, to the last bucket’s end', () => {
  assert.deepEqual(creditLines(LEDGER_HISTORY.points, 86_400).map((v) => [v.org, v.at, v.credits, v.order]), [
    ['acme', nov25, 0, 0], ['acme', nov26, 6, 1], ['acme', nov26 + DAY, 4, 2],
    ['beta', nov25, 0, 0], ['beta', nov26, -6, 1], ['beta', nov26 + DAY, -4, 2],
  ]);
  // gamma only on the third day: flat at 0 until then; acme's line stays flat after its last bucket.
  const sparse = [point('acme', nov25, 2, 0), point('gamma', nov25 + 2 * DAY, 0, 2)];
  assert.deepEqual(creditLines(sparse, 86_400).map((v) => [v.org, (v.at - nov25) / DAY, v.credits]), [
    ['acme', 0, 0], ['acme', 1, 2], ['acme', 3, 2],
    ['gamma', 0, 0], ['gamma', 2, 0], ['gamma', 3, -2],
  ]);
  assert.deepEqual(creditLines([], 3600), []);
});

test('flow bars: per bucket, contributed stacked up from 0 and consumed down, by org; zeros left out', () => {
  const points = [point('acme', nov25, 3, 1), point('beta', nov25, 2, 0), point('gamma', nov25, 0, 4), point('acme', nov26, 0, 0)];
  assert.deepEqual(flowBars(points, 3600).map((b) => [b.org, b.measure, b.start, b.end - b.start, b.value, b.low, b.high]), [
    ['acme', 'contributed', nov25, 3_600_000, 3, 0, 3],
    ['acme', 'consumed', nov25, 3_600_000, 1, -1, 0],
    ['beta', 'contributed', nov25, 3_600_000, 2, 3, 5],
    ['gamma', 'consumed', nov25, 3_600_000, 4, -5, -1],
  ]);
});

test('the time axis: one day of data is one bucket in the middle of seven, its tick at noon; many days are not widened', () => {
  const one = ledgerTimeAxis([point('acme', nov25, 1, 0), point('beta', nov25, 0, 1)], 86_400);
  assert.deepEqual(one.domain, [nov25 - 3 * DAY, nov25 + 4 * DAY]);
  assert.equal(one.ticks?.length, 7);
  assert.ok(one.ticks?.includes(nov25 + DAY / 2), 'a tick under the day’s bar, at its noon');
  const month = ledgerTimeAxis([point('acme', nov25, 1, 0), point('acme', nov25 + 29 * DAY, 1, 0)], 86_400);
  assert.deepEqual(month.domain, [nov25, nov25 + 30 * DAY], 'thirty days drawn as they are');
  assert.deepEqual(month.ticks?.slice(0, 2), [nov25 + DAY / 2, nov25 + 3 * DAY + DAY / 2], 'every third day: twelve ticks at most');
});

test('the time axis by the hour: at least twelve hours drawn, a tick every hour; a day of hours, every two', () => {
  const HOUR = 3_600_000;
  const one = ledgerTimeAxis([point('acme', nov25 + 5 * HOUR, 1, 0)], 3600);
  assert.deepEqual([one.daily, one.domain, one.ticks.length, one.ticks[1]], [false, [nov25, nov25 + 12 * HOUR], 13, nov25 + HOUR]);
  const day = ledgerTimeAxis([point('acme', nov25, 1, 0), point('acme', nov25 + 23 * HOUR, 1, 0)], 3600);
  assert.deepEqual([day.domain, day.ticks.length, day.ticks[1]], [[nov25, nov26], 13, nov25 + 2 * HOUR]);
  assert.deepEqual(ledgerTimeAxis([], 3600).domain, [-5 * HOUR, 7 * HOUR], 'no data: an empty axis of twelve hours');
});
