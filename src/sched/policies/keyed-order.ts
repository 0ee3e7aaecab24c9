import type { OrderView, QueueOrder } from '../policy.ts';
import { BucketedQueue } from '../sorted-queue.ts';
import type { JobRecord } from '../state.ts';

/**
 * A queue order whose sort key is fixed while a job waits (FIFO, SJF, SRTF, LAS):
 * one sorted queue, tried front to back.
 */
export class KeyedOrder implements QueueOrder {
  readonly strict: boolean;
  private readonly queue = new BucketedQueue();
  private readonly keys = new Map<JobRecord, number>();
  private readonly keyOf: (job: JobRecord) => number;

  constructor(keyOf: (job: JobRecord) => number, strict: boolean) {
    this.keyOf = keyOf;
    this.strict = strict;
  }

  get size(): number {
    return this.queue.size;
  }

  add(job: JobRecord): void {
    const key = this.keyOf(job);
    this.keys.set(job, key);
    this.queue.add(job, key);
  }

  remove(job: JobRecord): void {
    const key = this.keys.get(job);
    if (key === undefined) return;
    this.queue.remove(job, key);
    this.keys.delete(job);
  }

  compare(a: JobRecord, b: JobRecord): number {
    return this.keyOf(a) - this.keyOf(b) || a.seq - b.seq;
  }

  order(view: OrderView): Iterable<JobRecord> {
    return this.queue.walk((g) => view.mayFit(g));
  }
}
