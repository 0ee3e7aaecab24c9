import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkLedgerRange, csvFileName, NO_RANGE, withRange } from './ledger-range.ts';

test('a range of UTC days, both included: the API is asked up to the midnight after the last day', () => {
  assert.deepEqual(checkLedgerRange({ from: '2026-11-25', to: '2026-11-25' }), { ok: true, range: { from: '2026-11-25', to: '2026-11-25' }, query: 'from=2026-11-25&to=2026-11-26' });
  assert.deepEqual(checkLedgerRange({ from: '', to: '2026-12-31' }), { ok: true, range: { from: '', to: '2026-12-31' }, query: 'to=2027-01-01' });
  assert.deepEqual(checkLedgerRange({ from: ' 2026-02-28 ', to: '' }), { ok: true, range: { from: '2026-02-28', to: '' }, query: 'from=2026-02-28' });
  assert.deepEqual(checkLedgerRange(NO_RANGE), { ok: true, range: NO_RANGE, query: '' });
});

test('a day that is none of the calendar, or a last day before the first, is named on its field', () => {
  assert.deepEqual(checkLedgerRange({ from: '2026-02-30', to: '' }), { ok: false, errors: { from: 'ledger.rangeNotDay' } });
  assert.deepEqual(checkLedgerRange({ from: 'yesterday', to: '25/11/2026' }), { ok: false, errors: { from: 'ledger.rangeNotDay', to: 'ledger.rangeNotDay' } });
  assert.deepEqual(checkLedgerRange({ from: '2026-11-26', to: '2026-11-25' }), { ok: false, errors: { to: 'ledger.rangeOrder' } });
});

test('paths with the range, and the names of the downloads', () => {
  assert.equal(withRange('/ledger', ''), '/ledger');
  assert.equal(withRange('/ledger', 'from=2026-11-25'), '/ledger?from=2026-11-25');
  assert.equal(withRange('/ledger/history?bucket=day', 'to=2026-11-26'), '/ledger/history?bucket=day&to=2026-11-26');
  assert.equal(csvFileName('ledger', NO_RANGE), 'suanli-ledger.csv');
  assert.equal(csvFileName('ledger-jobs', { from: '2026-11-25', to: '' }), 'suanli-ledger-jobs-2026-11-25-to-end.csv');
});
