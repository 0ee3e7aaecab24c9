import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as parse from './parse.ts';

const fieldIs = (field: string) => (e: Error & { field?: string }) => e.field === field;

test('sizes: WxH with x or ×, positive', () => {
  assert.deepEqual(parse.size('size', '1280x720'), { width: 1280, height: 720 });
  assert.deepEqual(parse.size('size', '640×480'), { width: 640, height: 480 });
  for (const bad of ['1280x', 'x720', '1280', '12.5x7', '-1x5', '0x720', '']) assert.throws(() => parse.size('size', bad), fieldIs('size'), bad);
});

test('counts take k, M and B suffixes and exponents', () => {
  assert.equal(parse.quantity('n', '500k'), 500e3);
  assert.equal(parse.quantity('n', '2M'), 2e6);
  assert.equal(parse.quantity('n', '1.5B'), 1.5e9);
  assert.equal(parse.quantity('n', '2e6'), 2e6);
  for (const bad of ['lots', '5x', '', '-3']) assert.throws(() => parse.quantity('n', bad), fieldIs('n'), bad);
});

test('integers and numbers reject zero, negatives, fractions where whole numbers are due, and junk', () => {
  assert.equal(parse.integer('steps', '50'), 50);
  assert.equal(parse.number('fps', '23.976'), 23.976);
  for (const bad of ['0', '-1', '2.5', 'abc', '', 'Infinity', 'NaN']) assert.throws(() => parse.integer('steps', bad), fieldIs('steps'), bad);
});

test('mix buckets: size, duration in seconds or frames, clips', () => {
  assert.deepEqual(parse.mix('mix', '1280x720:5s:2M, 832x480:81f:500k'), [
    { width: 1280, height: 720, seconds: 5, clips: 2e6 },
    { width: 832, height: 480, frames: 81, clips: 5e5 },
  ]);
  for (const bad of ['1280x720:5s', '1280x720:5:10', '1280x720:5s:', 'axb:5s:10', '1280x720:2.5f:10']) assert.throws(() => parse.mix('mix', bad), fieldIs('mix'), bad);
});

test('lists and triples', () => {
  assert.deepEqual(parse.list('seconds', '4,6, 60', parse.number), [4, 6, 60]);
  assert.throws(() => parse.list('seconds', '4,,6', parse.number), fieldIs('seconds'));
  assert.deepEqual(parse.triple('patch', '1x2x2'), { t: 1, h: 2, w: 2 });
  assert.throws(() => parse.triple('patch', '1x0x2'), fieldIs('patch'));
});

test('durations take s, m, h and d; ranges bound numbers and whole numbers', () => {
  assert.equal(parse.duration('estimate', '90s'), 90);
  assert.equal(parse.duration('estimate', '30m'), 1800);
  assert.equal(parse.duration('estimate', '1.5h'), 5400);
  assert.equal(parse.duration('estimate', '2d'), 172_800);
  assert.equal(parse.duration('estimate', '600'), 600);
  for (const bad of ['', '2w', 'h', '-1h', '0', '1h30m']) assert.throws(() => parse.duration('estimate', bad), fieldIs('estimate'), bad);
  assert.equal(parse.numberBetween('lend', '0', 0, 1), 0);
  assert.equal(parse.numberBetween('price', '2.5', 0, Infinity), 2.5);
  for (const bad of ['1.01', '-0.1', 'half', '']) assert.throws(() => parse.numberBetween('lend', bad, 0, 1), fieldIs('lend'), bad);
  assert.equal(parse.integerBetween('priority', '-5', -1000, 1000), -5);
  for (const bad of ['1.5', '1001', 'high']) assert.throws(() => parse.integerBetween('priority', bad, -1000, 1000), fieldIs('priority'), bad);
});
