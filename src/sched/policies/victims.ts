import { staticReason, type PlacementContext } from '../placement.ts';
import type { JobRecord, SitePart, SiteState } from '../state.ts';

/**
 * Victim priority at `now`, highest stopped first; ties stop the newest job first.
 * `validUntil(victim, now)` says until when the victim's rank stays what it is at
 * `now` (Infinity: while it runs); without it the rank is recomputed at every
 * new time. Ranks key a cache, so a RankFn must be a stable function.
 */
export type RankFn = ((victim: JobRecord, now: number) => number) & { readonly validUntil?: (victim: JobRecord, now: number) => number };

/** Which running jobs may be stopped: a predicate, or (cheaper) exactly those ranked above a value. */
export type Eligibility = { readonly rankAbove: number } | { readonly test: (victim: JobRecord, site: SiteState) => boolean };

/**
 * A site's preemptible running jobs in rank order, with their ranks and running
 * totals of the site's GPUs they hold. Patched in place (its arrays are the
 * cache's own): read it before the next call for the same site.
 */
export interface Ranked {
  version: number;
  readonly rank: RankFn;
  /** The ranks hold from `from` until before `until` (only at `from` when equal). */
  readonly from: number;
  until: number;
  /** When the entry was last built or patched: jobs started since are not in it. */
  asOf: number;
  readonly jobs: JobRecord[];
  /** Each job's epoch when ranked: a job restarted since must be ranked afresh. */
  readonly epochs: number[];
  /** Ranks, descending, parallel to `jobs`. */
  readonly keys: number[];
  /** All ranks are small integers (LAS levels), so ties go newest start first; otherwise highest seq first. */
  readonly small: boolean;
  /** cumulativeGpus[i]: GPUs the first i jobs hold on this site. */
  readonly cumulativeGpus: number[];
}

/** Cached until the site's jobs change (then patched) or a rank's validity ends (then rebuilt). */
const rankedCache = new WeakMap<SiteState, Ranked>();

const isSmall = (k: number) => Number.isInteger(k) && k >= 0 && k < 64;
const preemptibleRunning = (v: JobRecord) => v.phase === 'running' && v.spec.preemptible;

/** The site's victims in rank order: cached, patched after starts and stops, rebuilt when ranks change. Exported for tests. */
export function ranked(site: SiteState, ctx: PlacementContext, rank: RankFn): Ranked {
  const now = ctx.now;
  const prev = rankedCache.get(site);
  if (prev && prev.rank === rank && (now === prev.from || (now > prev.from && now < prev.until))) {
    if (prev.version === site.version || patch(prev, site, ctx)) return prev;
  }
  const built = rebuild(site, ctx, rank);
  rankedCache.set(site, built);
  return built;
}

/** The order from scratch. Exported for the test that holds patches to it. */
export function rebuild(site: SiteState, ctx: PlacementContext, rank: RankFn): Ranked {
  const now = ctx.now;
  const found: JobRecord[] = [];
  for (const j of site.running.keys()) {
    const v = ctx.state.jobs[j] as JobRecord;
    if (preemptibleRunning(v)) found.push(v);
  }
  const keyOf = found.map((v) => rank(v, now));
  const small = keyOf.every(isSmall);
  let until = Infinity;
  for (const v of found) until = Math.min(until, rank.validUntil ? rank.validUntil(v, now) : now);
  let order: number[];
  if (small) {
    // Few distinct ranks (LAS queue levels): bucket by rank, newest start first within one, with no sort.
    const buckets: number[][] = [];
    for (let i = found.length - 1; i >= 0; i--) (buckets[keyOf[i] ?? 0] ??= []).push(i);
    order = [];
    for (let k = buckets.length - 1; k >= 0; k--) for (const i of buckets[k] ?? []) order.push(i);
  } else {
    order = Array.from(found.keys()).sort((a, b) => (keyOf[b] ?? 0) - (keyOf[a] ?? 0) || (found[b]?.seq ?? 0) - (found[a]?.seq ?? 0));
  }
  const jobs = order.map((i) => found[i] as JobRecord);
  const entry: Ranked = { version: site.version, rank, from: now, until, asOf: now, jobs, epochs: jobs.map((v) => v.epoch), keys: order.map((i) => keyOf[i] ?? 0), small, cumulativeGpus: [] };
  totals(entry, site);
  return entry;
}

function totals(entry: Ranked, site: SiteState): void {
  const sums = entry.cumulativeGpus;
  sums.length = entry.jobs.length + 1;
  sums[0] = 0;
  for (let i = 0; i < entry.jobs.length; i++) sums[i + 1] = (sums[i] ?? 0) + (site.running.get((entry.jobs[i] as JobRecord).seq) ?? 0);
}

/**
 * Brings the order up to date after jobs started or stopped on the site, while its
 * ranks still hold: jobs gone (or restarted) are dropped, jobs started since are
 * ranked and inserted where a rebuild would put them. Every job started since has
 * startedAtS >= asOf and is the newest on the site. false: rebuild instead.
 */
function patch(entry: Ranked, site: SiteState, ctx: PlacementContext): boolean {
  const { jobs, keys, epochs, rank } = entry;
  const now = ctx.now;
  let kept = 0;
  let sameInstant: Set<JobRecord> | null = null;
  for (let i = 0; i < jobs.length; i++) {
    const v = jobs[i] as JobRecord;
    if (!site.running.has(v.seq) || !preemptibleRunning(v) || v.epoch !== epochs[i]) continue;
    jobs[kept] = v;
    keys[kept] = keys[i] ?? 0;
    epochs[kept] = v.epoch;
    kept++;
    if (v.startedAtS === entry.asOf) (sameInstant ??= new Set()).add(v);
  }
  jobs.length = keys.length = epochs.length = kept;
  let allSmall = keys.every(isSmall);
  for (const j of site.running.keys()) {
    const v = ctx.state.jobs[j] as JobRecord;
    if (v.startedAtS < entry.asOf || !preemptibleRunning(v) || sameInstant?.has(v) === true) continue;
    const k = rank(v, now);
    allSmall &&= isSmall(k);
    entry.until = Math.min(entry.until, rank.validUntil ? rank.validUntil(v, now) : now);
    // Descending by rank; among equal ranks the newest start first (small ranks) or the highest seq first.
    let at = 0;
    while (at < jobs.length && ((keys[at] ?? 0) > k || ((keys[at] ?? 0) === k && !entry.small && (jobs[at]?.seq ?? 0) > v.seq))) at++;
    jobs.splice(at, 0, v);
    keys.splice(at, 0, k);
    epochs.splice(at, 0, v.epoch);
  }
  // A rebuild breaks ties by the kind of ranks it sees: where that changes, rebuild.
  if (allSmall !== entry.small) return false;
  entry.asOf = now;
  entry.version = site.version;
  totals(entry, site);
  return true;
}

/** How many leading entries of descending `keys` are above `value`. */
function countAbove(keys: readonly number[], value: number): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] ?? 0) > value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The fewest GPUs of eligible running jobs to stop, on one site, so that `job`
 * fits there. A job that fits one node is matched node by node (victims on the
 * node it will use); a larger one by the site's count. Victims are taken in
 * `rank` order, highest first. Eligibility by `rankAbove` lets a site that could
 * not free enough GPUs be ruled out by a binary search. Shared by every
 * preemption rule.
 */
export function chooseVictims(
  job: JobRecord,
  ctx: PlacementContext & { readonly candidates: readonly number[] },
  sites: readonly number[],
  eligibility: Eligibility,
  rank: RankFn,
): { site: number; jobs: JobRecord[] } | null {
  const g = job.spec.gpus;
  let best: { site: number; jobs: JobRecord[]; gpus: number } | null = null;
  for (const i of sites) {
    const site = ctx.state.sites[i] as SiteState;
    if (!site.up || site.running.size === 0 || staticReason(site, job, ctx.ownSitesOnly) !== null) continue;
    // Victims here hold at least the GPUs the site lacks (and one, at least): a site that cannot beat the best so far is
    // skipped (a tie would not replace it anyway).
    if (best !== null && Math.max(1, g - site.free) >= best.gpus) continue;
    let r: Ranked;
    let scan: number;
    if ('rankAbove' in eligibility) {
      // Rule the site out when even stopping every eligible job would not make room, by binary search.
      // The totals may count jobs already stopping: an upper bound, so no site is wrongly ruled out.
      r = ranked(site, ctx, rank);
      scan = countAbove(r.keys, eligibility.rankAbove);
      if (site.free + (r.cumulativeGpus[scan] ?? 0) < g) continue;
    } else {
      r = ranked(site, ctx, rank);
      scan = r.jobs.length;
    }
    const victims: JobRecord[] = [];
    let reachable = site.free;
    for (let k = 0; k < scan; k++) {
      const v = r.jobs[k] as JobRecord;
      if (v.phase !== 'running' || v.leaving >= 0) continue; // already stopping or leaving this site (the cache is keyed on starts and stops only)
      if ('test' in eligibility && !eligibility.test(v, site)) continue;
      victims.push(v);
      reachable += partGpus(v, site.index);
    }
    if (victims.length === 0 || reachable < g) continue;
    const picked = g <= site.gpusPerNode ? onOneNode(site, victims, job) : bySiteCount(site, victims, job);
    if (picked === null) continue;
    const gpus = picked.reduce((n, v) => n + partGpus(v, site.index), 0);
    if (best === null || gpus < best.gpus) best = { site: i, jobs: picked, gpus };
  }
  return best === null ? null : { site: best.site, jobs: best.jobs };
}

/** The part of a running job's allocation on one site (a loop, not a closure: this is the hot path). */
function partOn(v: JobRecord, site: number): SitePart | undefined {
  const parts = v.allocation?.parts;
  if (parts === undefined) return undefined;
  for (const p of parts) if (p.site === site) return p;
  return undefined;
}

function partGpus(v: JobRecord, site: number): number {
  return partOn(v, site)?.gpus ?? 0;
}

/**
 * For a job that fits one node: victims in rank order are credited to the nodes
 * they hold, and the first node whose free GPUs plus its victims' reach the
 * request (within the owner's lending rules, for a borrower) is the answer.
 */
function onOneNode(site: SiteState, victims: readonly JobRecord[], job: JobRecord): JobRecord[] | null {
  const g = job.spec.gpus;
  const freed = new Int32Array(site.nodeFree.length);
  const onNode: (JobRecord[] | undefined)[] = [];
  for (const v of victims) {
    const part = partOn(v, site.index);
    if (!part) continue;
    for (let k = 0; k < part.nodes.length; k++) {
      const node = part.nodes[k] ?? 0;
      const total = (freed[node] ?? 0) + (part.counts[k] ?? 0);
      freed[node] = total;
      const list = (onNode[node] ??= []);
      list.push(v);
      if ((site.nodeFree[node] ?? 0) + total < g) continue;
      const picked = fewest(list, (set) => {
        let free = site.nodeFree[node] ?? 0;
        for (const x of set) {
          const p = partOn(x, site.index);
          const at = p ? p.nodes.indexOf(node) : -1;
          free += p && at >= 0 ? (p.counts[at] ?? 0) : 0;
        }
        return free >= g && roomToBorrow(site, set, job);
      });
      if (picked !== null) return picked;
    }
  }
  return null;
}

/**
 * Victims taken in order until `enough` holds, then any whose stop turns out
 * unneeded given the later ones are spared (a borrower can need another borrower
 * stopped, not the owner's job that came first in rank).
 */
function fewest(ordered: readonly JobRecord[], enough: (set: readonly JobRecord[]) => boolean): JobRecord[] | null {
  const picked: JobRecord[] = [];
  for (const v of ordered) {
    if (enough(picked)) break;
    picked.push(v);
  }
  if (!enough(picked)) return null;
  for (let i = 0; i < picked.length; ) {
    const without = picked.filter((_, k) => k !== i);
    if (enough(without)) picked.splice(i, 1);
    else i++;
  }
  return picked;
}

function bySiteCount(site: SiteState, victims: readonly JobRecord[], job: JobRecord): JobRecord[] | null {
  const g = job.spec.gpus;
  return fewest(victims, (set) => {
    let free = site.free;
    for (const v of set) free += partGpus(v, site.index);
    return free >= g && roomToBorrow(site, set, job);
  });
}

/** Whether `job`, once `stopped` give back their GPUs here, is within the owner's lending rules (its own site: always). */
function roomToBorrow(site: SiteState, stopped: readonly JobRecord[], job: JobRecord): boolean {
  if (job.org === site.org) return true;
  let freed = 0;
  let freedOwn = 0;
  for (const v of stopped) {
    if (v.org === site.org) continue;
    const here = partGpus(v, site.index);
    freed += here;
    if (v.org === job.org) freedOwn += here;
  }
  return site.borrowerRoom(job, freed, freedOwn) >= job.spec.gpus;
}
