import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DurationHistory } from './duration-history.ts';

const close = (a: number | undefined, b: number) => assert.ok(a !== undefined && Math.abs(a - b) < 1e-6 * b, `${a} ≠ ${b}`);

test('predicts the geometric mean of the org’s recent runs of the same size, else of any size, else nothing', () => {
  const h = new DurationHistory();
  assert.equal(h.predict(0, 1), undefined);
  h.observe(0, 1, 100);
  h.observe(0, 1, 10_000);
  h.observe(0, 8, 1_000_000);
  close(h.predict(0, 1), 1000);
  close(h.predict(0, 8), 1_000_000);
  close(h.predict(0, 4), (100 * 10_000 * 1_000_000) ** (1 / 3));
  assert.equal(h.predict(1, 1), undefined, 'another org learns nothing from this one');
});

test('only the last 16 runs of a size count, and runs of no length are ignored', () => {
  const h = new DurationHistory();
  for (let i = 0; i < 16; i++) h.observe(0, 2, 1e6);
  for (let i = 0; i < 16; i++) h.observe(0, 2, 10);
  h.observe(0, 2, 0);
  h.observe(0, 2, Number.NaN);
  close(h.predict(0, 2), 10);
});
