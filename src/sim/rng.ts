import { InvalidInputError } from '../model/errors.ts';

/**
 * The simulator's only source of randomness: a seeded xoshiro128** generator
 * (Blackman & Vigna, "Scrambled linear pseudorandom number generators", 2018;
 * reference C at https://prng.di.unimi.it/xoshiro128starstar.c). 128 bits of
 * state, period 2^128 − 1, passes BigCrush, and all 32-bit arithmetic, so it is
 * fast in JavaScript without BigInt.
 *
 * Contract: the same seed gives the same sequence on every platform and Node
 * version, so a simulation is replayable from (trace, seed). Components that draw
 * independently take their own stream with `fork(label)`, so adding a draw in one
 * component never shifts another's numbers.
 */
export class Rng {
  /** The four state words this stream started from; forks derive from it, not from the current state. */
  #key: readonly [number, number, number, number];
  #s0 = 0;
  #s1 = 0;
  #s2 = 0;
  #s3 = 0;

  /** `seed` is any safe integer (negative too); it is expanded by SplitMix64, as the xoshiro authors advise. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new InvalidInputError('seed', `must be a whole number, got ${seed}`, `an integer between ${Number.MIN_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`);
    this.#key = keyFromSeed(BigInt.asUintN(64, BigInt(seed)));
    this.#restart();
  }

  /** A number in [0, 1) with 32 random bits (resolution 2^-32). */
  next(): number {
    return this.#u32() / 4294967296;
  }

  /** An integer in [lo, hi], both inclusive. The range may span at most 2^32 values. */
  int(lo: number, hi: number): number {
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || hi < lo || hi - lo >= 4294967296) {
      throw new InvalidInputError('rng.int', `needs whole numbers lo ≤ hi less than 2^32 apart, got ${lo}, ${hi}`, 'lo ≤ hi, integers');
    }
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** One element of a non-empty list, each equally likely. */
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new InvalidInputError('rng.pick', 'cannot pick from an empty list', 'a list with at least one element');
    return xs[Math.floor(this.next() * xs.length)] as T;
  }

  /** Pareto (type I): P(X > x) = (xm / x)^alpha for x ≥ xm. The mean is infinite for alpha ≤ 1. */
  pareto(xm: number, alpha: number): number {
    if (!(xm > 0) || !(alpha > 0) || !Number.isFinite(xm) || !Number.isFinite(alpha)) {
      throw new InvalidInputError('rng.pareto', `needs xm > 0 and alpha > 0, got ${xm}, ${alpha}`, 'positive finite numbers');
    }
    // 1 − next() lies in (0, 1], so the result is finite and ≥ xm.
    return xm / Math.pow(1 - this.next(), 1 / alpha);
  }

  /** Exponential with the given mean (> 0); at most about 22.2 × mean given the 32-bit resolution. */
  exponential(mean: number): number {
    if (!(mean > 0) || !Number.isFinite(mean)) throw new InvalidInputError('rng.exponential', `needs a mean > 0, got ${mean}`, 'a positive finite number');
    return -mean * Math.log(1 - this.next());
  }

  /** A standard normal draw (mean 0, standard deviation 1), by the Box–Muller transform of two uniforms. */
  normal(): number {
    // 1 − next() lies in (0, 1]: the logarithm is finite.
    return Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
  }

  /**
   * An independent stream named `label`. It depends only on this stream's seed
   * (or fork path) and the label, never on how many numbers were drawn here, so
   * `rng.fork('sizes')` is the same stream whatever else used `rng` before.
   */
  fork(label: string): Rng {
    // FNV-1a (64-bit) over the parent's key words and the label's UTF-16 units.
    let h = 0xcbf29ce484222325n;
    const mix = (byte: number): void => {
      h = BigInt.asUintN(64, (h ^ BigInt(byte & 0xff)) * 0x100000001b3n);
    };
    for (const word of this.#key) for (let shift = 0; shift < 32; shift += 8) mix(word >>> shift);
    for (let i = 0; i < label.length; i++) {
      const unit = label.charCodeAt(i);
      mix(unit);
      mix(unit >>> 8);
    }
    const child = new Rng(0);
    child.#key = keyFromSeed(h);
    child.#restart();
    return child;
  }

  #restart(): void {
    [this.#s0, this.#s1, this.#s2, this.#s3] = this.#key;
  }

  /** xoshiro128**: one step of the reference `next()`, in 32-bit integer arithmetic. */
  #u32(): number {
    const s1 = this.#s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * The initial state: the first two outputs of SplitMix64 (Vigna's reference,
 * https://prng.di.unimi.it/splitmix64.c) as four 32-bit words, low word first.
 * SplitMix64 never yields the all-zero state xoshiro must avoid from one seed.
 */
function keyFromSeed(seed: bigint): [number, number, number, number] {
  let x = seed;
  const words: number[] = [];
  for (let i = 0; i < 2; i++) {
    x = BigInt.asUintN(64, x + 0x9e3779b97f4a7c15n);
    let z = x;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    z ^= z >> 31n;
    words.push(Number(z & 0xffffffffn), Number(z >> 32n));
  }
  return [words[0] ?? 0, words[1] ?? 0, words[2] ?? 0, words[3] ?? 0];
}
