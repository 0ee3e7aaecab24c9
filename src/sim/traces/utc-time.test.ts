import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseUtcDateTime } from './utc-time.ts';

test('a Philly/Helios wall-clock time reads as UTC seconds', () => {
  assert.equal(parseUtcDateTime('2017-10-03 06:09:05'), 1507010945);
  assert.equal(parseUtcDateTime('1970-01-01 00:00:00'), 0);
  assert.equal(parseUtcDateTime('2020-02-29 23:59:59'), 1583020799, 'a leap day');
});

test('a T separator and fractional seconds are accepted', () => {
  assert.equal(parseUtcDateTime('2017-10-03T06:09:05'), 1507010945);
  assert.equal(parseUtcDateTime('2017-10-03 06:09:05.25'), 1507010945.25);
});

test('text that is not a real calendar time is undefined', () => {
  for (const bad of ['2019-02-29 00:00:00', '2017-13-01 00:00:00', '2017-00-10 00:00:00', '2017-04-31 00:00:00', '2017-10-03 24:00:00', '2017-10-03 06:60:00', '2017-10-03 06:09:60', '2017-10-03', '1507010945', 'None', '', ' 2017-10-03 06:09:05']) {
    assert.equal(parseUtcDateTime(bad), undefined, bad);
  }
});
