import { AgentHttpError, type ControlPlaneClient } from './control-plane-client.ts';

/** The control plane's answer to one report. */
export interface ReportAnswer {
  readonly applied: boolean;
  readonly current: boolean;
}

interface Queued {
  readonly report: Record<string, unknown>;
  readonly resolve: (a: ReportAnswer) => void;
  readonly reject: (e: unknown) => void;
}

/** Most reports in one request (the control plane's bound). */
const MAX_BATCH = 256;

/**
 * Group commit for an agent's run reports: reports made while a batch is on its way
 * (or in the same turn of the event loop) go together in the next request to
 * `/agent/reports/batch`, one at a time, so an idle agent sends each report at once
 * and a busy one sends hundreds per request. Each report's promise settles with its
 * own answer, or its own error as an AgentHttpError (the status and field of its
 * entry), so that callers treat it as the answer to a single report. A control plane
 * without the batch route (an older one) gets single reports from then on, one at a
 * time in the order they were made.
 */
export class ReportBatcher {
  private waiting: Queued[] = [];
  private sending = false;
  private flushQueued = false;
  private single = false;
  /** Single reports' queue (see `report`). */
  private inTurn: Promise<unknown> = Promise.resolve();

  constructor(private readonly client: ControlPlaneClient) {}

  report(body: Record<string, unknown>): Promise<ReportAnswer> {
    if (this.single) {
      // One at a time, in the order made, as in a batch: a run's start is applied before its end.
      const answer = this.inTurn.then(() => this.client.call<ReportAnswer>('POST', '/agent/reports', body));
      this.inTurn = answer.catch(() => undefined);
      return answer;
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ report: body, resolve, reject });
      if (this.sending || this.flushQueued) return;
      this.flushQueued = true;
      setImmediate(() => {
        this.flushQueued = false;
        void this.flush();
      });
    });
  }

  private async flush(): Promise<void> {
    if (this.sending || this.waiting.length === 0) return;
    this.sending = true;
    const batch = this.waiting.splice(0, MAX_BATCH);
    try {
      await this.send(batch);
    } finally {
      this.sending = false;
      void this.flush();
    }
  }

  private async send(batch: readonly Queued[]): Promise<void> {
    let answer: { results: unknown[] };
    try {
      answer = await this.client.call<{ results: unknown[] }>('POST', '/agent/reports/batch', { reports: batch.map((q) => q.report) });
    } catch (err) {
      if (err instanceof AgentHttpError && err.status === 404 && !this.single && /no route/.test(err.message)) {
        this.single = true;
        for (const q of batch) this.report(q.report).then(q.resolve, q.reject);
        return;
      }
      for (const q of batch) q.reject(err);
      return;
    }
    batch.forEach((q, i) => {
      const r = answer.results[i] as (ReportAnswer & { error?: undefined }) | { status: number; error: { code?: string; message?: string; field?: string } } | undefined;
      if (r === undefined) q.reject(new AgentHttpError(`POST /api/v1/agent/reports/batch: no answer for report ${i + 1} of ${batch.length}`, null));
      else if (r.error !== undefined) q.reject(new AgentHttpError(`POST /api/v1/agent/reports/batch: report ${i + 1}: ${r.status} ${r.error.code ?? 'error'}: ${r.error.message ?? ''}`, r.status, undefined, r.error.field ?? null));
      else q.resolve({ applied: r.applied, current: r.current });
    });
  }
}
