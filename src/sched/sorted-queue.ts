import type { JobRecord } from './state.ts';

/**
 * Queued jobs in ascending (key, arrival) order. The key is fixed when a job is
 * added; a job whose key changes is removed and added again. Insertion and removal
 * are a binary search plus one array move, which stays fast for queues of a
 * hundred thousand jobs.
 */
export class SortedQueue {
  /** Removed entries stay as null (tombstones) until they outnumber the live ones, so removing from the front of a long queue costs no array move. */
  private jobs: (JobRecord | null)[] = [];
  private keys: number[] = [];
  private seqs: number[] = [];
  private live = 0;
  /** No live entry sits before this position. */
  private head = 0;

  get size(): number {
    return this.live;
  }

  /** Position of the first live entry (or `length`). */
  firstLive(): number {
    while (this.head < this.jobs.length && this.jobs[this.head] === null) this.head++;
    return this.head;
  }

  /** Index of the first entry not before (key, seq). */
  private lowerBound(key: number, seq: number): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.keys[mid] ?? 0;
      if (k < key || (k === key && (this.seqs[mid] ?? 0) < seq)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  add(job: JobRecord, key: number): void {
    const at = this.lowerBound(key, job.seq);
    if (at < this.head) this.head = at;
    if (at === this.keys.length) {
      this.jobs.push(job);
      this.keys.push(key);
      this.seqs.push(job.seq);
    } else {
      this.jobs.splice(at, 0, job);
      this.keys.splice(at, 0, key);
      this.seqs.splice(at, 0, job.seq);
    }
    this.live++;
  }

  /** Removes `job`, added under `key`. Returns false when it is not here. */
  remove(job: JobRecord, key: number): boolean {
    const at = this.lowerBound(key, job.seq);
    if (this.jobs[at] !== job) return false;
    this.jobs[at] = null;
    this.live--;
    const dead = this.jobs.length - this.live;
    if (dead > 64 && dead > this.live) this.compact();
    return true;
  }

  private compact(): void {
    const jobs: JobRecord[] = [];
    const keys: number[] = [];
    const seqs: number[] = [];
    for (let i = 0; i < this.jobs.length; i++) {
      const j = this.jobs[i];
      if (!j) continue;
      jobs.push(j);
      keys.push(this.keys[i] ?? 0);
      seqs.push(this.seqs[i] ?? 0);
    }
    this.jobs = jobs;
    this.keys = keys;
    this.seqs = seqs;
    this.head = 0;
  }

  /** Entries by position, removed ones included as null; positions run to `length`. */
  get length(): number {
    return this.jobs.length;
  }

  jobAt(i: number): JobRecord | null {
    return this.jobs[i] ?? null;
  }

  keyAt(i: number): number {
    return this.keys[i] ?? Infinity;
  }
}

/**
 * Queued jobs split by the GPUs that must fit on one site (JobRecord.fitGpus), each part a SortedQueue, walked as one merged
 * order. The walk skips every size for which `mayFit` says no (larger than the
 * most GPUs free anywhere, say), so a pass over a long queue on a busy pool touches
 * only the jobs that could start. The walk reads the live queues: callers must not add
 * or remove jobs until it ends.
 */
export class BucketedQueue {
  private readonly buckets = new Map<number, SortedQueue>();
  private sizes: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(job: JobRecord, key: number): void {
    const g = job.fitGpus;
    let q = this.buckets.get(g);
    if (!q) {
      q = new SortedQueue();
      this.buckets.set(g, q);
      this.sizes = [...this.buckets.keys()].sort((a, b) => a - b);
    }
    q.add(job, key);
    this.count++;
  }

  remove(job: JobRecord, key: number): boolean {
    const removed = this.buckets.get(job.fitGpus)?.remove(job, key) ?? false;
    if (removed) this.count--;
    return removed;
  }

  /** Whether any queued size passes `mayFit` (a quick test before a walk). */
  anyMayFit(mayFit: (gpus: number) => boolean): boolean {
    for (const g of this.sizes) if ((this.buckets.get(g)?.size ?? 0) > 0 && mayFit(g)) return true;
    return false;
  }

  *walk(mayFit: (gpus: number) => boolean): Generator<JobRecord, void, undefined> {
    const queues = this.sizes.map((g) => {
      const q = this.buckets.get(g) as SortedQueue;
      return { g, q, i: q.firstLive() };
    });
    for (;;) {
      let best: (typeof queues)[number] | null = null;
      for (const c of queues) {
        if (!mayFit(c.g)) continue;
        while (c.i < c.q.length && c.q.jobAt(c.i) === null) c.i++;
        const job = c.q.jobAt(c.i);
        if (job === null) continue;
        if (best === null) {
          best = c;
          continue;
        }
        const k = c.q.keyAt(c.i);
        const bk = best.q.keyAt(best.i);
        if (k < bk || (k === bk && job.seq < (best.q.jobAt(best.i)?.seq ?? 0))) best = c;
      }
      if (best === null) return;
      const job = best.q.jobAt(best.i++) as JobRecord;
      yield job;
    }
  }
}
