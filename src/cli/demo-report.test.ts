import assert from 'node:assert/strict';
import { test } from 'node:test';
import { balances, WorkloadProgress, type DemoSite, type JobDetail } from './demo-report.ts';

const SITES: DemoSite[] = [
  { id: 's1', orgId: 'big', name: 'big-h100', gpuType: 'h100', gpus: 8 },
  { id: 's2', orgId: 'small', name: 'small-a100', gpuType: 'a100', gpus: 4 },
];
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

type Event = JobDetail['events'][number];
const event = (seq: number, s: number, type: string, from: Event['from_state'], to: Event['to_state'], detail: Record<string, unknown> = {}): Event => ({ seq, at: at(s), type, from_state: from, to_state: to, detail });
/** A placement as the API details it; only the fields the report reads are given. */
const placement = (attempt: number, siteId: string, gpus: number, startS: number | null, endS: number | null) => ({
  attempt, parts: [{ site_id: siteId, gpu_type: 'x', gpus, nodes: 1 }], placed_at: at(startS ?? 0), started_at: startS === null ? null : at(startS), ended_at: endS === null ? null : at(endS),
}) as JobDetail['placements'][number];

/** A job as the API details it; only the fields the report reads are given. */
function job(over: Partial<JobDetail> & Pick<JobDetail, 'id' | 'org_id' | 'state'>): JobDetail {
  return { name: `job-${over.id}`, gpus: 4, updated_at: at(0), attempts: 1, diagnosis: null, placements: [], events: [event(1, 0, 'submitted', null, 'pending')], ...over } as JobDetail;
}

test('each state change is told once, on the placement of its own attempt, with the time it happened', () => {
  const progress = new WorkloadProgress(SITES, new Map(), T0);
  const events = [
    event(1, 0, 'submitted', null, 'pending'),
    event(2, 0.5, 'placed', 'pending', 'placed'),
    event(3, 1, 'preempted', 'placed', 'preempted', { why: 'reclaim' }),
    event(4, 1, 'requeued', 'preempted', 'pending'),
    event(5, 2, 'placed', 'pending', 'placed'),
    event(6, 2.5, 'started', 'placed', 'running'),
  ];
  const detail = job({ id: '7', org_id: 'small', state: 'running', placements: [placement(1, 's1', 4, null, null), placement(2, 's2', 4, 2.5, null)], events });
  const lines = progress.update(detail);
  assert.deepEqual(lines.map((l) => l.text), [
    '  0.5 s  #7 small/job-7 (4 GPUs)  placed on big-h100 (lent by big)',
    "  1.0 s  #7 small/job-7 (4 GPUs)  preempted: its GPUs are reclaimed for their owner's waiting job",
    '  1.0 s  #7 small/job-7 (4 GPUs)  back in the queue',
    '  2.0 s  #7 small/job-7 (4 GPUs)  placed on small-a100',
    '  2.5 s  #7 small/job-7 (4 GPUs)  running on small-a100',
  ]);
  assert.deepEqual(progress.update(detail), [], 'nothing twice');
  assert.deepEqual([...progress.busyGpus()], [['s2', 4]]);
  assert.equal(progress.settled(), false);
});

test('a job no site can ever hold is told once with its diagnosis, and does not keep the workload from settling', () => {
  const progress = new WorkloadProgress(SITES, new Map(), T0);
  const diagnosis = { message: '0/2 sites fit: 2 smaller than the job — no site can ever hold this job', sites: 2, reasons: { site_too_small: 2 }, never: true };
  const waiting = job({ id: '1', org_id: 'big', state: 'pending', gpus: 16, diagnosis });
  assert.deepEqual(progress.update(waiting).map((l) => l.text), [`  0.0 s  #1 big/job-1 (16 GPUs)  waits: ${diagnosis.message}`]);
  assert.deepEqual(progress.update(waiting), []);
  progress.update(job({ id: '2', org_id: 'small', state: 'succeeded', events: [event(1, 0, 'submitted', null, 'pending'), event(2, 3, 'succeeded', 'running', 'succeeded')] }));
  assert.equal(progress.settled(), true);
});

test('balances sum the ledger per org over GPU types, zeros for an org without rows', () => {
  const row = (org_id: string, gpu_type: string, contributed: number, consumed: number) => ({ org_id, gpu_type, contributed_gpu_h: contributed, consumed_gpu_h: consumed, own_gpu_h: 0, credits_gpu_h: contributed - consumed });
  const ledger = { rows: [row('small', 'h100', 0, 2), row('small', 'l20', 1, 0.5), row('big', 'h100', 2, 0)], pool: [] };
  assert.deepEqual(balances(ledger, ['big', 'small', 'idle']).map((b) => [b.org_id, b.contributed_gpu_h, b.consumed_gpu_h, b.credits_gpu_h]), [
    ['big', 2, 0, 2], ['small', 1, 2.5, -1.5], ['idle', 0, 0, 0],
  ]);
});
