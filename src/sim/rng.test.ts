import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Rng } from './rng.ts';

const draws = (rng: Rng, n: number): number[] => Array.from({ length: n }, () => rng.next());
const words = (rng: Rng, n: number): number[] => draws(rng, n).map((x) => x * 2 ** 32);

test('the first outputs match the xoshiro128** reference C seeded by SplitMix64', () => {
  // Golden values from prng.di.unimi.it's xoshiro128starstar.c and splitmix64.c, compiled with gcc.
  assert.deepEqual(words(new Rng(0), 5), [3737715805, 2584255861, 2876756834, 3286328325, 1553311962]);
  assert.deepEqual(words(new Rng(42), 5), [1776835114, 4165204688, 17111135, 2317295270, 2792088233]);
  assert.deepEqual(words(new Rng(-1), 5), [477689756, 2493998634, 555695776, 607808419, 61340979]);
  assert.deepEqual(words(new Rng(Number.MAX_SAFE_INTEGER), 3), [1233166643, 1287031142, 661813442]);
});

test('same seed, same sequence; different seeds, different sequences', () => {
  assert.deepEqual(draws(new Rng(7), 100), draws(new Rng(7), 100));
  assert.notDeepEqual(draws(new Rng(7), 10), draws(new Rng(8), 10));
});

test('rejects seeds that are not safe integers', () => {
  for (const seed of [1.5, Number.NaN, 2 ** 60]) assert.throws(() => new Rng(seed), { code: 'invalid_input', field: 'seed' });
});

test('fork depends on the seed and the label only, not on draws from the parent', () => {
  const a = new Rng(3);
  const first = draws(a.fork('sizes'), 5);
  draws(a, 17);
  assert.deepEqual(draws(a.fork('sizes'), 5), first);
  assert.deepEqual(draws(new Rng(3).fork('sizes'), 5), first);
  assert.notDeepEqual(draws(a.fork('types'), 5), first);
  assert.notDeepEqual(draws(new Rng(4).fork('sizes'), 5), first);
  assert.notDeepEqual(draws(a, 5), first, 'a fork is not the parent stream');
  assert.notDeepEqual(draws(a.fork('sizes').fork('x'), 5), draws(a.fork('x'), 5), 'fork paths differ');
});

test('next, int and pick stay in range', () => {
  fc.assert(
    fc.property(fc.integer(), fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 0, max: 1000 }), (seed, lo, width) => {
      const rng = new Rng(seed);
      for (let i = 0; i < 50; i++) {
        const x = rng.next();
        assert.ok(x >= 0 && x < 1);
        const k = rng.int(lo, lo + width);
        assert.ok(Number.isInteger(k) && k >= lo && k <= lo + width);
      }
      assert.ok(['a', 'b', 'c'].includes(rng.pick(['a', 'b', 'c'])));
    }),
  );
  assert.throws(() => new Rng(1).int(3, 2), { field: 'rng.int' });
  assert.throws(() => new Rng(1).pick([]), { field: 'rng.pick' });
});

test('int covers both ends and pick covers every element', () => {
  const rng = new Rng(11);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) seen.add(rng.int(1, 6));
  assert.deepEqual([...seen].sort(), [1, 2, 3, 4, 5, 6]);
  const picked = new Set<string>();
  for (let i = 0; i < 200; i++) picked.add(rng.pick(['x', 'y', 'z']));
  assert.equal(picked.size, 3);
});

test('exponential and pareto have the right location and scale', () => {
  const rng = new Rng(5);
  const n = 100_000;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += rng.exponential(10);
  assert.ok(Math.abs(sum / n - 10) < 0.2, `exponential mean ${sum / n}`);
  // Pareto(xm=2, alpha=3): every draw ≥ 2, mean alpha·xm/(alpha−1) = 3, P(X > 4) = (2/4)^3 = 0.125.
  let psum = 0;
  let over4 = 0;
  for (let i = 0; i < n; i++) {
    const x = rng.pareto(2, 3);
    assert.ok(x >= 2);
    psum += x;
    if (x > 4) over4++;
  }
  assert.ok(Math.abs(psum / n - 3) < 0.05, `pareto mean ${psum / n}`);
  assert.ok(Math.abs(over4 / n - 0.125) < 0.005, `pareto tail ${over4 / n}`);
  assert.throws(() => rng.pareto(0, 1), { field: 'rng.pareto' });
  assert.throws(() => rng.exponential(-1), { field: 'rng.exponential' });
});
