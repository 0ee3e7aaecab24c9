import type { SiteId } from './ids.ts';

/**
 * One training job spread over several sites, in the terms the scheduler needs.
 * Inside a site a replica uses fast parallelism; across sites the replicas train
 * alone for H inner steps, then average their pseudo-gradients over one ring of
 * WAN links (DiLoCo; the planner, src/plan/span.ts, has the full model and its
 * sources). The scheduler needs only what decides whether a set of sites is worth
 * it: how long an outer step computes, how many bytes each synchronization moves,
 * and how much of it the next steps' compute hides.
 */
export interface SpanSpec {
  /** Least compute utilization a spanning placement must reach (0–1; 0.8 by default). */
  readonly minEfficiency: number;
  /** GPUs of one replica: each site's part is a whole number of replicas. */
  readonly replicaGpus: number;
  /** Bytes of one synchronization's pseudo-gradient: parameters × bytes per parameter. */
  readonly syncBytes: number;
  /** Compute seconds of one outer step (H inner steps), the same on every replica (proportional batches). */
  readonly outerStepS: number;
  /** Seconds of synchronization that overlap with the next outer step's compute hides (0 without overlap). */
  readonly hiddenS: number;
  /** Span only when no single site could start the job within this many seconds. */
  readonly maxSingleSiteWaitS: number;
}

export const DEFAULT_MIN_SPAN_EFFICIENCY = 0.8;

/**
 * A spanning job reserves on its ring's links the bandwidth that would bring it
 * to this utilization (or its own minimum, if higher), and no more: what is left
 * stays for other spanning jobs.
 */
export const SPAN_TARGET_EFFICIENCY = 0.95;

/**
 * A WAN link between two sites: `gbps` is what an all-reduce achieves over it in
 * each direction (a measurement, not the port speed); `latencyMs` is one way. A
 * link is shared: spanning jobs reserve parts of its bandwidth.
 */
export interface WanLinkSpec {
  readonly a: SiteId;
  readonly b: SiteId;
  readonly gbps: number;
  readonly latencyMs: number;
}

const bytesPerSecond = (gbps: number): number => (gbps * 1e9) / 8;

/**
 * One step of a ring all-reduce of `bytes` among `members`: each moves a
 * 1/members chunk to its neighbour, paying the link's latency. A ring takes
 * 2·(members − 1) such steps (reduce-scatter, then all-gather).
 */
export function ringStepS(bytes: number, members: number, gbps: number, latencyMs: number): number {
  return bytes / members / bytesPerSecond(gbps) + latencyMs / 1000;
}

/** Seconds one synchronization takes over a ring of `sites` whose slowest link gives `gbps` and the longest latency is `latencyMs`. */
export function ringSyncS(span: Pick<SpanSpec, 'syncBytes'>, sites: number, gbps: number, latencyMs: number): number {
  if (sites <= 1) return 0;
  return 2 * (sites - 1) * ringStepS(span.syncBytes, sites, gbps, latencyMs);
}

/** Compute utilization of an outer step: compute ÷ (compute + the synchronization overlap does not hide). */
export function spanEfficiency(span: Pick<SpanSpec, 'syncBytes' | 'outerStepS' | 'hiddenS'>, sites: number, gbps: number, latencyMs: number): number {
  const exposed = Math.max(0, ringSyncS(span, sites, gbps, latencyMs) - span.hiddenS);
  return span.outerStepS / (span.outerStepS + exposed);
}

/**
 * The least bandwidth at which the ring reaches `efficiency`, or Infinity when
 * latency alone keeps it below (no bandwidth is enough).
 */
export function gbpsForEfficiency(span: Pick<SpanSpec, 'syncBytes' | 'outerStepS' | 'hiddenS'>, sites: number, latencyMs: number, efficiency: number): number {
  if (sites <= 1) return 0;
  const steps = 2 * (sites - 1);
  // outer / (outer + sync − hidden) ≥ e  ⇔  sync ≤ hidden + outer·(1/e − 1)
  const syncBudget = span.hiddenS + span.outerStepS * (1 / efficiency - 1);
  const transferBudget = syncBudget / steps - latencyMs / 1000;
  if (transferBudget <= 0) return Infinity;
  return ((span.syncBytes / sites / transferBudget) * 8) / 1e9;
}
