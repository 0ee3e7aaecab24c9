import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../model/clock.ts';
import type { PoolSummary } from './pool-summary.ts';

/** The pool at one sample: GPUs allocated of all, in total and per GPU type. */
export interface PoolSample {
  readonly at: number;
  readonly gpus: number;
  readonly allocated: number;
  readonly gpuTypes: readonly { readonly gpuType: string; readonly gpus: number; readonly allocated: number }[];
}

export const sampleOf = (summary: PoolSummary, at: number): PoolSample => ({
  at,
  gpus: summary.total.gpus,
  allocated: summary.total.allocated,
  gpuTypes: summary.gpuTypes.map((g) => ({ gpuType: g.gpuType, gpus: g.gpus, allocated: g.allocated })),
});

export interface PoolHistoryOptions {
  /** Reads the pool now (the route's own summary of the loop's snapshot). */
  readonly read: () => Promise<PoolSummary>;
  readonly clock: Clock;
  readonly logger: FastifyBaseLogger;
  /** Between samples, ms. */
  readonly intervalMs: number;
  /** Samples kept; the oldest goes when a new one comes. */
  readonly size: number;
}

/**
 * The pool's utilization over time for GET /api/v1/pool's `history`: a sample every
 * `intervalMs` (one a minute by default), the last `size` of them kept in a ring in
 * memory. Nothing is stored: a restart starts the history again, which is what a
 * dashboard chart of the last hours needs and all it needs (long-term series are
 * Prometheus's, from /metrics).
 */
export class PoolHistory {
  private readonly ring: PoolSample[] = [];
  /** Where the next sample goes once the ring is full. */
  private next = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private current: Promise<void> | null = null;

  constructor(private readonly o: PoolHistoryOptions) {
    if (!(Number.isInteger(o.size) && o.size >= 1)) throw new RangeError(`pool history size must be a whole number ≥ 1, got ${o.size}`);
  }

  get intervalMs(): number {
    return this.o.intervalMs;
  }

  /** Takes the first sample (resolving when it is in), then one every interval. Call once; `stop` ends it. */
  async start(): Promise<void> {
    await this.sample();
    this.timer = setInterval(() => void this.sample(), this.o.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a sample under way. Idempotent. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.current;
  }

  /** Reads the pool and keeps the sample. Never rejects: a failed read is logged and leaves a gap. */
  sample(): Promise<void> {
    this.current ??= this.o
      .read()
      .then((summary) => this.add(sampleOf(summary, this.o.clock.now())))
      .catch((err: unknown) => this.o.logger.warn({ err }, 'pool history: sampling failed'))
      .finally(() => {
        this.current = null;
      });
    return this.current;
  }

  add(sample: PoolSample): void {
    if (this.ring.length < this.o.size) this.ring.push(sample);
    else this.ring[this.next] = sample;
    this.next = (this.next + 1) % this.o.size;
  }

  /** The samples kept, oldest first. */
  samples(): PoolSample[] {
    return this.ring.length < this.o.size ? [...this.ring] : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }
}
