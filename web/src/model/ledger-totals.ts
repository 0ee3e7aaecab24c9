import type { LedgerRowJson } from '../api/types.ts';

/** An org's GPU-hours in the ledger, over every GPU type. */
export interface OrgLedgerTotals {
  readonly orgId: string;
  /** Used by other orgs on this org's sites. */
  readonly contributed: number;
  /** Used by this org on other orgs' sites. */
  readonly consumed: number;
  /** Used by this org on its own sites. */
  readonly own: number;
  /** contributed − consumed: positive means the pool owes this org. */
  readonly credits: number;
}

/** Each org's ledger rows summed over GPU types (the chart's bars), in org order. */
export function ledgerTotalsByOrg(rows: readonly LedgerRowJson[]): OrgLedgerTotals[] {
  const byOrg = new Map<string, { contributed: number; consumed: number; own: number; credits: number }>();
  for (const r of rows) {
    const o = byOrg.get(r.org_id) ?? { contributed: 0, consumed: 0, own: 0, credits: 0 };
    byOrg.set(r.org_id, { contributed: o.contributed + r.contributed_gpu_h, consumed: o.consumed + r.consumed_gpu_h, own: o.own + r.own_gpu_h, credits: o.credits + r.credits_gpu_h });
  }
  return [...byOrg].sort(([a], [b]) => a.localeCompare(b)).map(([orgId, t]) => ({ orgId, ...t }));
}
