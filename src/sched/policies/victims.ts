import { staticReason, type PlacementContext } from '../placement.ts';
import type { JobRecord, SiteState } from '../state.ts';

/** Running jobs of one site in rank order, cached until the site's jobs change (or, for ranks that move with time, time moves). */
const rankedCache = new WeakMap<SiteState, { version: number; now: number; rank: RankFn; jobs: JobRecord[] }>();

/** Victim priority at `now`, highest stopped first. `timeInvariant`: the order never changes while the jobs do not (SRTF: all remaining times fall alike). */
export type RankFn = ((victim: JobRecord, now: number) => number) & { readonly timeInvariant?: boolean };

function ranked(site: SiteState, ctx: PlacementContext, rank: RankFn): JobRecord[] {
  const hit = rankedCache.get(site);
  if (hit && hit.version === site.version && hit.rank === rank && (rank.timeInvariant === true || hit.now === ctx.now)) return hit.jobs;
  const found: JobRecord[] = [];
  for (const j of site.running.keys()) {
    const v = ctx.state.jobs[j] as JobRecord;
    if (v.phase === 'running' && v.spec.preemptible) found.push(v);
  }
  const keys = new Float64Array(found.length);
  let small = true;
  for (let i = 0; i < found.length; i++) {
    const k = rank(found[i] as JobRecord, ctx.now);
    keys[i] = k;
    if (!(Number.isInteger(k) && k >= 0 && k < 64)) small = false;
  }
  let jobs: JobRecord[];
  if (small) {
    // Few distinct ranks (LAS queue levels): bucket by rank, newest start first within one, with no sort.
    const buckets: JobRecord[][] = [];
    for (let i = found.length - 1; i >= 0; i--) (buckets[keys[i] ?? 0] ??= []).push(found[i] as JobRecord);
    jobs = [];
    for (let k = buckets.length - 1; k >= 0; k--) for (const v of buckets[k] ?? []) jobs.push(v);
  } else {
    const order = Array.from(found.keys()).sort((a, b) => (keys[b] ?? 0) - (keys[a] ?? 0) || (found[b]?.seq ?? 0) - (found[a]?.seq ?? 0));
    jobs = order.map((i) => found[i] as JobRecord);
  }
  rankedCache.set(site, { version: site.version, now: ctx.now, rank, jobs });
  return jobs;
}

/**
 * The fewest GPUs of eligible running jobs to stop, on one site, so that `job`
 * fits there. A job that fits one node is matched node by node (victims on the
 * node it will use); a larger one by the site's count. Victims are taken in
 * `rank` order, highest first; `rank` must be a stable function (it keys a cache).
 * When `prefix` is true, eligibility only holds for a leading run of that order
 * (SRTF, LAS), and the scan stops at the first ineligible job. Shared by every
 * preemption rule.
 */
export function chooseVictims(
  job: JobRecord,
  ctx: PlacementContext & { readonly candidates: readonly number[] },
  sites: readonly number[],
  eligible: (victim: JobRecord, site: SiteState) => boolean,
  rank: RankFn,
  prefix: boolean,
): { site: number; jobs: JobRecord[] } | null {
  const g = job.spec.gpus;
  let best: { site: number; jobs: JobRecord[]; gpus: number } | null = null;
  for (const i of sites) {
    const site = ctx.state.sites[i] as SiteState;
    if (!site.up || staticReason(site, job, ctx.ownSitesOnly) !== null || site.running.size === 0) continue;
    const victims: JobRecord[] = [];
    let reachable = site.free;
    for (const v of ranked(site, ctx, rank)) {
      if (v.phase !== 'running') continue; // already stopping (the cache is keyed on starts and stops only)
      if (v === job || !eligible(v, site)) {
        if (prefix) break;
        continue;
      }
      victims.push(v);
      reachable += partGpus(v, site.index);
    }
    if (victims.length === 0 || reachable < g) continue;
    const borrower = job.org !== site.org;
    const picked = g <= site.gpusPerNode ? onOneNode(site, victims, g, borrower) : bySiteCount(site, victims, g, borrower);
    if (picked === null) continue;
    const gpus = picked.reduce((n, v) => n + partGpus(v, site.index), 0);
    if (best === null || gpus < best.gpus) best = { site: i, jobs: picked, gpus };
  }
  return best === null ? null : { site: best.site, jobs: best.jobs };
}

function partGpus(v: JobRecord, site: number): number {
  return v.allocation?.parts.find((p) => p.site === site)?.gpus ?? 0;
}

/**
 * For a job that fits one node: victims in rank order are credited to the nodes
 * they hold, and the first node whose free GPUs plus its victims' reach the
 * request (within the lending limit, for a borrower) is the answer.
 */
function onOneNode(site: SiteState, victims: readonly JobRecord[], g: number, borrower: boolean): JobRecord[] | null {
  const freed = new Map<number, number>();
  const onNode = new Map<number, JobRecord[]>();
  for (const v of victims) {
    const part = v.allocation?.parts.find((p) => p.site === site.index);
    if (!part) continue;
    for (let k = 0; k < part.nodes.length; k++) {
      const node = part.nodes[k] ?? 0;
      const total = (freed.get(node) ?? 0) + (part.counts[k] ?? 0);
      freed.set(node, total);
      const list = onNode.get(node) ?? [];
      list.push(v);
      onNode.set(node, list);
      if ((site.nodeFree[node] ?? 0) + total < g) continue;
      const picked = fewest(list, (set) => {
        let free = site.nodeFree[node] ?? 0;
        let borrowed = site.borrowed;
        for (const x of set) {
          const p = x.allocation?.parts.find((q) => q.site === site.index);
          const at = p ? p.nodes.indexOf(node) : -1;
          free += p && at >= 0 ? (p.counts[at] ?? 0) : 0;
          if (x.org !== site.org) borrowed -= p?.gpus ?? 0;
        }
        // A borrower also needs room under the owner's lending limit.
        return free >= g && (!borrower || borrowed + g <= site.lendCap);
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

function bySiteCount(site: SiteState, victims: readonly JobRecord[], g: number, borrower: boolean): JobRecord[] | null {
  return fewest(victims, (set) => {
    let free = site.free;
    let borrowed = site.borrowed;
    for (const v of set) {
      const here = partGpus(v, site.index);
      free += here;
      if (v.org !== site.org) borrowed -= here;
    }
    return free >= g && (!borrower || borrowed + g <= site.lendCap);
  });
}
