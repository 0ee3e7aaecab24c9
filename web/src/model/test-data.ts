// Builders for the dashboard's tests: API answers as the server sends them, with only
// what a test is about spelled out (`site('a', { h100: [2, 8] })`, `running('1', 'acme', [...])`).
import { auditLedger, type AuditEntry, type LedgerAudit, type LedgerAuditInput } from '../../../src/ledger/audit.ts';
import { formatCheckpoint } from '../../../src/ledger/checkpoint.ts';
import { fromUtf8, toBase64 } from '../../../src/ledger/encoding.ts';
import { leafHash, nodeHash } from '../../../src/ledger/merkle.ts';
import { generateSignerKey, noteSigner, signNote } from '../../../src/ledger/note.ts';
import { gpuSecondsOf, recordNote, type UsageRecord } from '../../../src/ledger/usage-record.ts';
import type { CheckpointJson, JobDetailJson, JobJson, JobListItemJson, LedgerHistoryJson, PoolJson, SiteJson, TrainPlanJson, VideoPlanJson } from '../api/types.ts';
import planTrain from './fixtures/plan-train.json' with { type: 'json' };
import planVideo from './fixtures/plan-video.json' with { type: 'json' };
import simulate from './fixtures/simulate.json' with { type: 'json' };

const AT = '2026-11-26T15:10:34.000Z';

/** A site of `orgId` with `capacity` as gpu type → [nodes, GPUs per node]. */
export function site(id: string, orgId: string, capacity: Readonly<Record<string, readonly [number, number]>>, extra: Partial<SiteJson> = {}): SiteJson {
  return {
    id, org_id: orgId, name: `${id} lab`,
    capacity: Object.entries(capacity).map(([gpu_type, [nodes, gpus_per_node]]) => ({ gpu_type, nodes, gpus_per_node })),
    price_per_gpu_hour: null, wan_links: [], span_endpoint: null,
    share: { lend_fraction: 1, reclaim: false, reclaim_notice_s: 0, lend_to: 'all', max_gpus_per_borrower: null, borrower_gpu_limits: {}, sandbox_borrowed: true, borrowed_network: 'none' },
    health: 'up', last_heartbeat_at: AT, created_at: AT, reported_capacity: null, sandbox_capable: null, ...extra,
  };
}

export function job(id: string, orgId: string, extra: Partial<JobJson> = {}): JobJson {
  return {
    id, org_id: orgId, name: `job-${id}`, state: 'pending', gpus: 1, gpu_types: null, gang: true, estimate_s: 3600, priority: 0, preemptible: true,
    checkpoint_interval_s: 3600, command: null, max_retries: 0, plan: null, span: null, submitted_by: 'tok1', submitted_at: AT, updated_at: AT, attempts: 0, diagnosis: null, ...extra,
  };
}

/** A job as the list gives it: never placed, submitted with the token `tok1` named "alice" (unless `extra` says otherwise). */
export function listed(id: string, orgId: string, extra: Partial<JobListItemJson> = {}): JobListItemJson {
  return { ...job(id, orgId), submitted_by_name: 'alice', last_placement: null, ...extra };
}

/** A job holding `parts` ([site, gpu type, GPUs, the org lending the site if not the job's]) in its current placement, in `state` (running by default). */
export function holding(id: string, orgId: string, parts: readonly (readonly [string, string, number, string?])[], extra: Partial<JobDetailJson> = {}): JobDetailJson {
  return {
    ...job(id, orgId, { state: 'running', gpus: parts.reduce((n, p) => n + p[2], 0), attempts: 1 }),
    placements: [{ attempt: 1, parts: parts.map(([site_id, gpu_type, gpus, lender = orgId]) => ({ site_id, lender_org_id: lender, gpu_type, gpus, nodes: 1, started_at: AT })), placed_at: AT, started_at: AT, ended_at: null, logs: [], log_tail: null, log_at: null, planned: null }],
    events: [], measured: null, submitted_by_name: 'alice',
    ...extra,
  };
}

/**
 * The planner's answers to two requests, as POST /plan gives them (fixtures/, made by
 * the planner itself; test/web-vocabulary.test.ts checks that it still answers so).
 */
export const VIDEO_PLAN = planVideo.plan as VideoPlanJson;
export const TRAIN_PLAN = planTrain.plan as TrainPlanJson;

/**
 * What `suanli simulate --trace examples/trace.csv --pool examples/pool.json --policy
 * fifo,fair-share --json` prints (fixtures/simulate.json; test/web-vocabulary.test.ts
 * checks that it still does), as the file a user would load.
 */
export const SIMULATE_REPORT_TEXT = JSON.stringify(simulate, null, 2);

/**
 * GET /pool as acme's member sees it: acme's site a (16 h100, 6 allocated) in
 * detail; beta's site (4 a100, lost) only in the totals; the last hour's queue waits; two samples of history.
 */
export const POOL: PoolJson = {
  at: AT,
  total: { gpus: 20, allocated: 6, idle: 10, unavailable: 4, active_jobs: 1, queued_jobs: 2, queued_gpus: 24 },
  gpu_types: [
    { gpu_type: 'a100', gpus: 4, allocated: 0, idle: 0, unavailable: 4 },
    { gpu_type: 'h100', gpus: 16, allocated: 6, idle: 10, unavailable: 0 },
  ],
  orgs: [
    { org_id: 'acme', name: 'Acme', gpus: 16, allocated: 6, idle: 10, unavailable: 0, borrowed_gpus: 0, lent_gpus: 0, queued_jobs: 0, queued_gpus: 0 },
    { org_id: 'beta', name: 'Beta', gpus: 4, allocated: 0, idle: 0, unavailable: 4, borrowed_gpus: 0, lent_gpus: 0, queued_jobs: 2, queued_gpus: 24 },
  ],
  sites: [{ site_id: 'a', name: 'a lab', org_id: 'acme', health: 'up', gpu_type: 'h100', gpus: 16, allocated: 6, idle: 10, unavailable: 0 }],
  borrowed_gpus: 0,
  lending: [],
  // acme's jobs waited 30 s and 90 s, beta's 25 min.
  queue_wait: {
    window_s: 3600, placed_jobs: 3, p50_s: 90, p90_s: 1500,
    orgs: [{ org_id: 'acme', placed_jobs: 2, p50_s: 30, p90_s: 90 }, { org_id: 'beta', placed_jobs: 1, p50_s: 1500, p90_s: 1500 }],
  },
  history: {
    interval_s: 60,
    samples: [
      { at: '2026-11-26T15:09:34.000Z', gpus: 16, allocated: 2, gpu_types: [{ gpu_type: 'h100', gpus: 16, allocated: 2 }] },
      { at: AT, gpus: 20, allocated: 6, gpu_types: [{ gpu_type: 'a100', gpus: 4, allocated: 0 }, { gpu_type: 'h100', gpus: 16, allocated: 6 }] },
    ],
  },
};

/**
 * GET /ledger/history?bucket=day as the admin sees it: on Nov 25 beta used 6 GPU-hours
 * of acme's sites (and acme 1.5 of its own); on Nov 26 acme used 2 of beta's.
 */
export const LEDGER_HISTORY: LedgerHistoryJson = {
  bucket_s: 86_400,
  points: [
    { org_id: 'acme', at: '2026-11-25T00:00:00.000Z', contributed_gpu_h: 6, consumed_gpu_h: 0, own_gpu_h: 1.5, credits_gpu_h: 6 },
    { org_id: 'beta', at: '2026-11-25T00:00:00.000Z', contributed_gpu_h: 0, consumed_gpu_h: 6, own_gpu_h: 0, credits_gpu_h: -6 },
    { org_id: 'acme', at: '2026-11-26T00:00:00.000Z', contributed_gpu_h: 0, consumed_gpu_h: 2, own_gpu_h: 0, credits_gpu_h: -2 },
    { org_id: 'beta', at: '2026-11-26T00:00:00.000Z', contributed_gpu_h: 2, consumed_gpu_h: 0, own_gpu_h: 0, credits_gpu_h: 2 },
  ],
};

const HOUR_MS = 3_600_000;
const LEDGER_ORIGIN = 'suanli.test/ledger';
export const LOG_KEY = generateSignerKey('suanli-ledger', new Uint8Array(32).fill(1));
const SITE_KEY = generateSignerKey('suanli-site', new Uint8Array(32).fill(2));

/** A run of acme on its own site `acme-lab`, 2 h100 for an hour, written and signed by the site. */
function usageRecord(patch: Partial<Omit<UsageRecord, 'gpuSeconds'>>): UsageRecord {
  const base = {
    jobId: '7' as UsageRecord['jobId'], attempt: 1, siteId: 'acme-lab' as UsageRecord['siteId'], consumerOrgId: 'acme' as UsageRecord['consumerOrgId'], providerOrgId: 'acme' as UsageRecord['providerOrgId'],
    gpuType: 'h100', gpus: 2, startMs: Date.parse(AT), endMs: Date.parse(AT) + HOUR_MS, outcome: 'succeeded', writer: 'site', ...patch,
  } as const;
  return { ...base, gpuSeconds: gpuSecondsOf(base.gpus, base.startMs, base.endMs) };
}

/**
 * A usage log of two records of acme — its own run signed by its site, and a run lost
 * with the site that the control plane logged alone — audited as the dashboard audits
 * it (`auditLedger`, the library's Ed25519), and its checkpoint as GET
 * /ledger/checkpoint shows it (one of two member orgs witnessed it); `patch` changes
 * the audit's input, `entries` picks which of the two entries it is given, repeats
 * included.
 */
export function ledgerAudit(patch: Partial<LedgerAuditInput> = {}, entries: readonly number[] = [0, 1]): { readonly audit: LedgerAudit; readonly checkpoint: CheckpointJson } {
  const log = noteSigner(LOG_KEY.signerKey);
  const notes = [
    recordNote(usageRecord({}), [noteSigner(SITE_KEY.signerKey), log]),
    recordNote(usageRecord({ jobId: '8' as UsageRecord['jobId'], gpus: 1, endMs: Date.parse(AT) + HOUR_MS / 2, outcome: 'lost', writer: 'control-plane' }), [log]),
  ] as const;
  const [leaf0, leaf1] = [leafHash(notes[0]), leafHash(notes[1])];
  const rootHash = nodeHash(leaf0, leaf1);
  const note = signNote(formatCheckpoint({ origin: LEDGER_ORIGIN, size: 2, rootHash, extensions: [] }), [log]);
  const given: AuditEntry[] = entries.map((i) => ({ index: i, note: notes[i === 0 ? 0 : 1], proof: [i === 0 ? leaf1 : leaf0] }));
  const audit = auditLedger({
    trust: { origin: LEDGER_ORIGIN, logKey: LOG_KEY.verifierKey }, checkpoint: note, org: 'acme', entries: given,
    siteKeys: [{ site: 'acme-lab', verifierKey: SITE_KEY.verifierKey, createdAtMs: Date.parse(AT) - HOUR_MS, revokedAtMs: null }],
    reported: [{ orgId: 'acme', gpuType: 'h100', contributedGpuH: 0, consumedGpuH: 0, ownGpuH: 2.5 }],
    ...patch,
  });
  const checkpoint: CheckpointJson = {
    origin: LEDGER_ORIGIN, size: 2, root: toBase64(rootHash), note: fromUtf8(note) ?? '', at: AT, log_key: LOG_KEY.verifierKey,
    cosignatures: [], witnesses: { cosigned: 1, registered: 2, cosigned_by: ['beta'] },
  };
  return { audit, checkpoint };
}
