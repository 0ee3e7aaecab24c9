import type { LedgerJobJson } from '../api/types.ts';

/**
 * The jobs behind one org's ledger (GET /ledger/jobs?org=): each row as that org's use of
 * the GPU-hours, the other org it lent to or borrowed from, and the totals per use with
 * their cost where the sites have a price. Pure.
 */

/** Consumed: the org's job on another org's site; contributed: another org's job on the org's site; own: its job on its own site. */
export type JobUse = 'consumed' | 'contributed' | 'own';
export const JOB_USES: readonly JobUse[] = ['consumed', 'contributed', 'own'];

export interface LedgerJobRow extends LedgerJobJson {
  readonly use: JobUse;
  /** The lender (consumed), the borrower (contributed), or null (own). */
  readonly otherOrg: string | null;
}

export function ledgerJobRows(jobs: readonly LedgerJobJson[], org: string): LedgerJobRow[] {
  return jobs.map((j) => {
    if (j.consumer_org_id === j.provider_org_id) return { ...j, use: 'own', otherOrg: null };
    return j.consumer_org_id === org ? { ...j, use: 'consumed', otherOrg: j.provider_org_id } : { ...j, use: 'contributed', otherOrg: j.consumer_org_id };
  });
}

/** GPU-hours of one use, and what the priced part of them cost. */
export interface JobUseTotal {
  readonly use: JobUse;
  readonly gpuH: number;
  /** The sum of the rows' costs that have a price; null when none has. */
  readonly cost: number | null;
  /** GPU-hours on sites without a price (not in `cost`). */
  readonly unpricedGpuH: number;
}

/** The totals per use, in JOB_USES order, of the uses the rows have. */
export function jobUseTotals(rows: readonly LedgerJobRow[]): JobUseTotal[] {
  return JOB_USES.flatMap((use) => {
    const of = rows.filter((r) => r.use === use);
    if (of.length === 0) return [];
    const priced = of.filter((r) => r.cost !== null);
    return [{
      use,
      gpuH: of.reduce((n, r) => n + r.gpu_h, 0),
      cost: priced.length === 0 ? null : priced.reduce((n, r) => n + (r.cost ?? 0), 0),
      unpricedGpuH: of.filter((r) => r.cost === null).reduce((n, r) => n + r.gpu_h, 0),
    }];
  });
}
