/**
 * A binary min-heap of timed events, ordered by (time, insertion order) so that
 * events at the same instant are handled in the order they were scheduled: the
 * simulator stays deterministic. (In sched, not sim: policies keep timed triggers in one too.)
 */
export class EventHeap<T> {
  private readonly times: number[] = [];
  private readonly seqs: number[] = [];
  private readonly items: T[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.items.length;
  }

  peekTime(): number {
    return this.times[0] ?? Infinity;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(time: number, item: T): void {
    this.times.push(time);
    this.seqs.push(this.nextSeq++);
    this.items.push(item);
    this.up(this.items.length - 1);
  }

  pop(): T | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    const top = this.items[0];
    this.swap(0, n - 1);
    this.times.pop();
    this.seqs.pop();
    this.items.pop();
    this.down(0);
    return top;
  }

  private less(a: number, b: number): boolean {
    const ta = this.times[a] ?? 0;
    const tb = this.times[b] ?? 0;
    return ta < tb || (ta === tb && (this.seqs[a] ?? 0) < (this.seqs[b] ?? 0));
  }

  private swap(a: number, b: number): void {
    [this.times[a], this.times[b]] = [this.times[b] ?? 0, this.times[a] ?? 0];
    [this.seqs[a], this.seqs[b]] = [this.seqs[b] ?? 0, this.seqs[a] ?? 0];
    [this.items[a], this.items[b]] = [this.items[b] as T, this.items[a] as T];
  }

  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) return;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (r < n && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
