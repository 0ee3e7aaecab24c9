import type { Diagnosis, ReasonCode } from './diagnosis.ts';
import type { JobRecord, PoolState, SiteState } from './state.ts';

/**
 * Where a job would start now, or why it cannot. Consolidates: inside a site the
 * fewest, fullest nodes (SiteState.choose); across sites the job's own org's sites
 * first, then the best fit (the site left with the fewest free GPUs), GPU-type
 * aware. Pure with respect to the state: nothing is taken until the Scheduler
 * commits the choice.
 */

export interface Choice {
  readonly site: SiteState;
  readonly nodes: number[];
  readonly counts: number[];
}

/** GPUs held back on one site for an earlier job (EASY backfill). */
export interface Reservation {
  readonly site: number;
  readonly job: JobRecord;
  /** When the reserved job is expected to start. */
  readonly shadowS: number;
  /** GPUs on that site a later job may take without delaying the reserved one. */
  extra: number;
}

export interface PlacementContext {
  readonly state: PoolState;
  readonly now: number;
  /** Only the job's own org's sites (each org alone, the siloed baseline). */
  readonly ownSitesOnly: boolean;
  readonly reservation: Reservation | null;
}

/** Sites whose GPU type the job accepts, cached per distinct type list. */
/** Speeds this close count as equal (they are ratios of catalog figures). */
const SPEED_SLACK = 1e-9;

export function candidateSites(state: PoolState, job: JobRecord, cache: Map<string, readonly number[]>): readonly number[] {
  const types = job.spec.gpuTypes;
  if (types === null) {
    // Any type at least as fast as the org's own (all of them when every GPU is alike): a job that named none is
    // never slowed below what it would get at home, which the promise that no member is worse off pooled needs.
    const home = state.homeSpeed(job.org);
    const key = `*@${home}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const list = state.sites.filter((s) => s.speed >= home - SPEED_SLACK).map((s) => s.index);
    cache.set(key, list);
    return list;
  }
  const key = types.join('|');
  const hit = cache.get(key);
  if (hit) return hit;
  const list = types.flatMap((t) => state.sitesByType.get(t.toLowerCase()) ?? []).sort((a, b) => a - b);
  cache.set(key, list);
  return list;
}

/** Why `site` cannot take the job whatever finishes, or null. */
export function staticReason(site: SiteState, job: JobRecord, ownSitesOnly: boolean): ReasonCode | null {
  const g = job.spec.gpus;
  if (site.total < g) return 'site_too_small';
  if (site.org !== job.org) {
    if (ownSitesOnly || site.lendCap === 0) return 'not_shared';
    if (site.spec.share.containsBorrowed === false) return 'no_containment';
    if (!site.lendsTo(job.spec.org)) return 'not_lent_to_org';
    if (site.lendCap < g) return 'lend_limit';
    if (site.borrowerCap(job.spec.org) < g) return 'borrower_limit';
  }
  return null;
}

export function place(ctx: PlacementContext, job: JobRecord, candidates: readonly number[]): Choice | Diagnosis {
  // Own sites win over any other, so when one fits, the rest need not be looked at (most jobs, in a pool not overloaded).
  const own = placeOnOwnSites(ctx, job);
  if (own !== null) return own;
  const g = job.spec.gpus;
  const reasons: Partial<Record<ReasonCode, number>> = {};
  const count = (r: ReasonCode) => (reasons[r] = (reasons[r] ?? 0) + 1);
  let best: Choice | null = null;
  let bestScore = Infinity;
  let possible = 0;
  const typeMismatch = ctx.state.sites.length - candidates.length;
  if (typeMismatch > 0) reasons.gpu_type = typeMismatch;

  for (const i of candidates) {
    const site = ctx.state.sites[i] as SiteState;
    const fixed = staticReason(site, job, ctx.ownSitesOnly);
    if (fixed !== null) {
      count(fixed);
      continue;
    }
    possible++;
    if (!site.up) {
      count('site_down');
      continue;
    }
    if (site.free < g) {
      count('too_few_free');
      continue;
    }
    // Checked after free GPUs, so that it names only what lending rules out: with everything lent it never does.
    const borrower = site.org !== job.org;
    if (borrower && site.borrowed + g > site.lendCap) {
      count('lend_limit');
      continue;
    }
    if (borrower && site.borrowerRoom(job) < g) {
      count('borrower_limit');
      continue;
    }
    // GPUs the owner reclaimed for a waiting job are its, not the next borrower's.
    if (borrower && site.heldFor !== null && site.heldFor.phase === 'queued') {
      count('held_for_owner');
      continue;
    }
    const own = borrower ? 1 : 0;
    const leftover = site.free - g;
    // Own sites first, then the fastest GPUs (alike in most pools), then the tightest fit; a cheaper score cannot be
    // beaten, so skip the node search.
    const score = own * 1e12 + (1 - Math.min(1, site.speed / ctx.state.fastest)) * 1e9 + leftover;
    if (score >= bestScore) continue;
    const r = ctx.reservation;
    if (r !== null && r.site === i && r.job !== job && ctx.now + job.remainingEstimateS > r.shadowS && g > r.extra) {
      count('reserved');
      continue;
    }
    const chosen = site.choose(g);
    if (chosen === null) {
      count('fragmented');
      continue;
    }
    best = { site, nodes: chosen.nodes, counts: chosen.counts };
    bestScore = score;
  }
  if (best !== null) return best;
  return { sites: ctx.state.sites.length, reasons, never: possible === 0 };
}

/** The best fit among the job's own org's sites, or null if none fits now. */
function placeOnOwnSites(ctx: PlacementContext, job: JobRecord): Choice | null {
  const g = job.spec.gpus;
  const types = job.spec.gpuTypes;
  let best: Choice | null = null;
  let bestLeftover = Infinity;
  for (const i of ctx.state.sitesOfOrg(job.org)) {
    const site = ctx.state.sites[i] as SiteState;
    if (!site.up || site.free < g || site.total < g || site.free - g >= bestLeftover) continue;
    if (types !== null && !types.some((t) => t.toLowerCase() === site.type)) continue;
    const r = ctx.reservation;
    if (r !== null && r.site === i && r.job !== job && ctx.now + job.remainingEstimateS > r.shadowS && g > r.extra) continue;
    const chosen = site.choose(g);
    if (chosen === null) continue;
    best = { site, nodes: chosen.nodes, counts: chosen.counts };
    bestLeftover = site.free - g;
  }
  return best;
}

export function isChoice(x: Choice | Diagnosis): x is Choice {
  return 'site' in x;
}
