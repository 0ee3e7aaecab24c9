import type { Job, NewJob, Store, SubmitResult } from '../store/types.ts';
import type { ServerMetrics } from './metrics.ts';

interface Waiting {
  readonly job: NewJob;
  readonly resolve: (r: SubmitResult) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * Group commit for job submissions: submissions that arrive while a commit is under
 * way (or within the same tick) are committed together in one `store.submitJobs`
 * transaction, and each caller is answered only after its batch has committed, so
 * an acknowledged job is durable. Under light load a submission commits alone at
 * once; under heavy load batches grow to `maxBatch` and the per-job cost falls.
 *
 * A failed batch is retried one job at a time, so one bad submission cannot fail
 * the others that happened to share its transaction.
 */
export class SubmissionBatcher {
  private waiting: Waiting[] = [];
  private committing: Promise<void> | null = null;
  private flushQueued = false;

  /** `onCommitted` hears of the jobs each commit created, before their submitters are answered. */
  constructor(private readonly store: Store, private readonly metrics: ServerMetrics, private readonly onCommitted: (created: readonly Job[]) => void, private readonly maxBatch = 1000) {}

  submit(job: NewJob): Promise<SubmitResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ job, resolve, reject });
      if (this.committing === null && !this.flushQueued) {
        // Let the requests already read in this tick join the batch.
        this.flushQueued = true;
        setImmediate(() => {
          this.flushQueued = false;
          this.flush();
        });
      }
    });
  }

  /** Resolves once every submission made so far has been answered. */
  async drain(): Promise<void> {
    while (this.committing !== null || this.waiting.length > 0 || this.flushQueued) {
      if (this.committing === null && !this.flushQueued) this.flush();
      await (this.committing ?? new Promise((r) => setImmediate(r)));
    }
  }

  private flush(): void {
    if (this.committing !== null || this.waiting.length === 0) return;
    const batch = this.waiting.splice(0, this.maxBatch);
    this.committing = this.commit(batch).finally(() => {
      this.committing = null;
      this.flush();
    });
  }

  private async commit(batch: readonly Waiting[]): Promise<void> {
    let results: SubmitResult[];
    try {
      results = await this.store.submitJobs(batch.map((w) => w.job));
    } catch (err) {
      if (batch.length === 1) {
        batch[0]?.reject(err);
        return;
      }
      for (const w of batch) await this.commit([w]);
      return;
    }
    this.metrics.submitBatch.observe(batch.length);
    const created = results.flatMap((r) => (r.created ? [r.job] : []));
    if (created.length > 0) {
      this.metrics.transitions.inc({ from: 'none', to: 'pending' }, created.length);
      this.onCommitted(created);
    }
    batch.forEach((w, i) => {
      const r = results[i];
      if (r === undefined) w.reject(new Error(`store.submitJobs returned ${results.length} results for ${batch.length} jobs`));
      else w.resolve(r);
    });
  }
}
