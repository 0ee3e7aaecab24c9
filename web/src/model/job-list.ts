import type { JobJson, JobListItemJson, JobSubmitRequest } from '../api/types.ts';
import { isFinal } from './job-states.ts';

/**
 * Seconds the job's latest attempt has run: to its end, or to `nowMs` while it runs;
 * null before it started (or for an attempt that ended without the store saying when).
 */
export function runTimeS(job: JobListItemJson, nowMs: number): number | null {
  const p = job.last_placement;
  if (p === null || p.started_at === null) return null;
  const end = p.ended_at !== null ? Date.parse(p.ended_at) : isFinal(job.state) ? null : nowMs;
  return end === null ? null : Math.max(0, (end - Date.parse(p.started_at)) / 1000);
}

/**
 * The body that submits `job`'s spec again as a new job (POST /jobs): its name, org and
 * demand as stored, the planner request it was sized from included. The span's sync
 * volume is sent as params × 8 bytes: the server stores only their product, and /8 then ×8
 * gives the same number back exactly (a power of two) within the bounds of both fields.
 */
export function resubmitBody(job: JobJson): JobSubmitRequest {
  return {
    name: job.name, org_id: job.org_id, gpus: job.gpus, gpu_types: job.gpu_types, gang: job.gang, estimate_s: job.estimate_s,
    priority: job.priority, preemptible: job.preemptible, checkpoint_interval_s: job.checkpoint_interval_s, command: job.command, max_retries: job.max_retries,
    ...(job.plan === null ? {} : { plan: job.plan as JobSubmitRequest['plan'] }),
    ...(job.span === null
      ? {}
      : {
          span: {
            replica_gpus: job.span.replica_gpus, params: job.span.sync_bytes / 8, bytes_per_param: 8, outer_step_s: job.span.outer_step_s,
            hidden_s: job.span.hidden_s, min_efficiency: job.span.min_efficiency, max_single_site_wait_s: job.span.max_single_site_wait_s,
          },
        }),
  };
}

/** A fresh Idempotency-Key: 128 random bits as hex (crypto.randomUUID needs a secure context; a pool served over plain HTTP has none). */
export function newIdempotencyKey(): string {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** What became of one job of a bulk cancel: cancelled, or the error that stopped it. */
export type CancelOutcome = { readonly id: string; readonly ok: true } | { readonly id: string; readonly ok: false; readonly error: unknown };

/**
 * Cancels each job with `cancel`, a few at a time (the browser would queue more anyway),
 * and says per job what became of it, in the order given: one job refused (finished
 * meanwhile, another's) never stops the others.
 */
export async function cancelEach(ids: readonly string[], cancel: (id: string) => Promise<unknown>, atOnce = 4): Promise<CancelOutcome[]> {
  const outcomes: CancelOutcome[] = [];
  for (let start = 0; start < ids.length; start += atOnce) {
    const batch = ids.slice(start, start + atOnce);
    const settled = await Promise.allSettled(batch.map((id) => cancel(id)));
    settled.forEach((s, i) => outcomes.push(s.status === 'fulfilled' ? { id: batch[i] ?? '', ok: true } : { id: batch[i] ?? '', ok: false, error: s.reason }));
  }
  return outcomes;
}
