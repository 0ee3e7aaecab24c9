/**
 * Why a job cannot start, as a value: one reason per site tried, aggregated into
 * counts that the simulator, API, CLI and dashboard show verbatim
 * ("0/12 sites fit: 7 too few free GPUs, 5 at the owner's lending limit").
 */

export const REASONS = {
  gpu_type: 'GPU type not allowed',
  site_too_small: 'smaller than the job',
  site_down: 'down',
  too_few_free: 'too few free GPUs',
  fragmented: 'free GPUs split across nodes',
  lend_limit: "at the owner's lending limit",
  not_shared: 'not shared with this org',
  not_lent_to_org: "not lent to this org (the owner's choice)",
  borrower_limit: "at the owner's limit for this org",
  no_containment: 'cannot contain borrowed work (its agent has no sandbox)',
  reserved: 'GPUs reserved for an earlier job (backfill)',
  held_for_owner: "GPUs reclaimed for the owner's waiting job",
} as const;

export type ReasonCode = keyof typeof REASONS;

export interface Diagnosis {
  /** Sites considered. */
  readonly sites: number;
  /** Sites per reason; a site counts once, under the first reason that rules it out. */
  readonly reasons: Readonly<Partial<Record<ReasonCode, number>>>;
  /** Set when the job was not tried because an earlier job in a strict order blocks the queue. */
  readonly blockedBy?: string;
  /** True when no site could ever hold the job, whatever else finishes. */
  readonly never: boolean;
  /** For a job that may span sites: why no set of sites takes it now ("…" after "across sites: "). */
  readonly span?: string;
}

export function blockedDiagnosis(head: string): Diagnosis {
  return { sites: 0, reasons: {}, blockedBy: head, never: false };
}

/** "0/12 sites fit: 7 too few free GPUs, 5 at the owner's lending limit" (then "; across sites: …" for a spannable job). */
export function describeDiagnosis(d: Diagnosis): string {
  if (d.blockedBy !== undefined) return `waiting behind ${d.blockedBy} (strict queue order)`;
  const parts = (Object.entries(d.reasons) as [ReasonCode, number][])
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${n} ${REASONS[code]}`);
  const head = `0/${d.sites} site${d.sites === 1 ? '' : 's'} fit`;
  const across = d.span === undefined ? '' : `; across sites: ${d.span}`;
  const tail = d.never ? (d.span === undefined ? ' — no site can ever hold this job' : ' — the pool can never hold this job') : '';
  return `${parts.length > 0 ? `${head}: ${parts.join(', ')}` : head}${across}${tail}`;
}
