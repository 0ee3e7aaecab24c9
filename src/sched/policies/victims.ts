import { staticReason, type PlacementContext } from '../placement.ts';
import type { JobRecord, SiteState } from '../state.ts';

/**
 * The fewest GPUs of eligible running jobs to stop, on one site, so that `job`
 * fits there. A job that fits one node is matched node by node (victims on the
 * node it will use); a larger one by the site's count. Victims are taken in
 * `rank` order, highest first. Shared by every preemption rule.
 */
export function chooseVictims(
  job: JobRecord,
  ctx: PlacementContext & { readonly candidates: readonly number[] },
  sites: readonly number[],
  eligible: (victim: JobRecord, site: SiteState) => boolean,
  rank: (victim: JobRecord) => number,
): { site: number; jobs: JobRecord[] } | null {
  const g = job.spec.gpus;
  let best: { site: number; jobs: JobRecord[]; gpus: number } | null = null;
  for (const i of sites) {
    const site = ctx.state.sites[i] as SiteState;
    if (!site.up || staticReason(site, job, ctx.ownSitesOnly) !== null) continue;
    const victims: JobRecord[] = [];
    for (const j of site.running.keys()) {
      const v = ctx.state.jobs[j] as JobRecord;
      if (v.phase === 'running' && v.spec.preemptible && v !== job && eligible(v, site)) victims.push(v);
    }
    if (victims.length === 0) continue;
    victims.sort((a, b) => rank(b) - rank(a) || b.seq - a.seq);
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

function onOneNode(site: SiteState, victims: readonly JobRecord[], g: number, borrower: boolean): JobRecord[] | null {
  const byNode = new Map<number, JobRecord[]>();
  for (const v of victims) {
    const part = v.allocation?.parts.find((p) => p.site === site.index);
    if (!part) continue;
    for (const node of part.nodes) {
      const list = byNode.get(node) ?? [];
      list.push(v);
      byNode.set(node, list);
    }
  }
  let best: JobRecord[] | null = null;
  let bestGpus = Infinity;
  for (const [node, list] of byNode) {
    const onNode = (v: JobRecord) => {
      const part = v.allocation?.parts.find((p) => p.site === site.index);
      const idx = part ? part.nodes.indexOf(node) : -1;
      return part && idx >= 0 ? (part.counts[idx] ?? 0) : 0;
    };
    const picked = fewest(list, (set) => {
      let free = site.nodeFree[node] ?? 0;
      let borrowed = site.borrowed;
      for (const v of set) {
        free += onNode(v);
        if (v.org !== site.org) borrowed -= partGpus(v, site.index);
      }
      // A borrower also needs room under the owner's lending limit.
      return free >= g && (!borrower || borrowed + g <= site.lendCap);
    });
    const gpus = picked?.reduce((n, v) => n + partGpus(v, site.index), 0) ?? Infinity;
    if (picked && gpus < bestGpus) {
      best = picked;
      bestGpus = gpus;
    }
  }
  return best;
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
