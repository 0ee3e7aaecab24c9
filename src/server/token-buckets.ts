import type { Clock } from '../model/clock.ts';

/** A token bucket's shape: `burst` tokens when full, one more every `refillMs`. */
export interface BucketRate {
  readonly burst: number;
  readonly refillMs: number;
}

/**
 * Token buckets by key (a source address, a token id) on the injected clock, each
 * kept as the one instant at which it will be full again (so integer milliseconds
 * throughout, no drift from fractions). A key without an entry has a full bucket,
 * so only the keys that spent tokens and have not refilled yet are kept, at most
 * `maxKeys` of them. When a new key would pass that, the refilled entries are
 * dropped and, if that is not enough, the least recently used ones until a quarter
 * of the room is free again: a flood of new keys costs O(1) per key amortized and
 * never more memory, at the price of forgetting the oldest keys' spent tokens
 * (their limit starts afresh).
 */
export class TokenBuckets {
  /** Key → when its bucket is full again (ms), in order of last use, oldest first. */
  private readonly fullAt = new Map<string, number>();

  constructor(private readonly clock: Clock, private readonly rate: BucketRate, private readonly maxKeys: number) {
    if (!(rate.burst >= 1 && rate.refillMs > 0 && maxKeys >= 1)) throw new RangeError(`a bucket needs burst ≥ 1, refillMs > 0 and maxKeys ≥ 1 (got ${rate.burst}, ${rate.refillMs}, ${maxKeys})`);
  }

  /** Keys tracked now (each one with a bucket that is not full). */
  get size(): number {
    return this.fullAt.size;
  }

  /**
   * Takes a token from `key`'s bucket: 0 when it had one, else the milliseconds
   * until it will (and nothing is taken). Either way the key counts as just used.
   */
  take(key: string): number {
    const now = this.clock.now();
    const fullAt = Math.max(now, this.fullAt.get(key) ?? now);
    const wait = fullAt + this.rate.refillMs - now - this.rate.burst * this.rate.refillMs;
    this.set(key, wait > 0 ? fullAt : fullAt + this.rate.refillMs, now);
    return Math.max(0, wait);
  }

  /** Gives back a token taken (the attempt it paid for turned out not to count). */
  giveBack(key: string): void {
    const fullAt = this.fullAt.get(key);
    if (fullAt !== undefined) this.set(key, fullAt - this.rate.refillMs, this.clock.now());
  }

  private set(key: string, fullAt: number, now: number): void {
    this.fullAt.delete(key);
    if (fullAt <= now) return;
    if (this.fullAt.size >= this.maxKeys) this.sweep(now);
    this.fullAt.set(key, fullAt);
  }

  private sweep(now: number): void {
    for (const [key, fullAt] of this.fullAt) if (fullAt <= now) this.fullAt.delete(key);
    const keep = Math.floor((this.maxKeys * 3) / 4);
    for (const key of this.fullAt.keys()) {
      if (this.fullAt.size <= keep) break;
      this.fullAt.delete(key);
    }
  }
}
