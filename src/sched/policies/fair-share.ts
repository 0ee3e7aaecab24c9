import type { OrderView, PreemptionRule, QueueOrder } from '../policy.ts';
import { BucketedQueue } from '../sorted-queue.ts';
import type { JobRecord, PoolState } from '../state.ts';
import { chooseVictims } from './victims.ts';

/**
 * Fair share by contribution. Each org is entitled to the GPUs it contributes;
 * the org furthest below its entitlement (GPUs in use ÷ GPUs contributed) goes
 * first, so idle GPUs are borrowed by whoever has least of their share, and orgs
 * that contribute nothing borrow only what others leave. Within an org, higher
 * priority first, then arrival order.
 */
export class FairShareOrder implements QueueOrder {
  readonly strict = false;
  private readonly byOrg = new Map<number, BucketedQueue>();
  private count = 0;
  private readonly keys = new Map<JobRecord, number>();

  get size(): number {
    return this.count;
  }

  add(job: JobRecord): void {
    let q = this.byOrg.get(job.org);
    if (!q) {
      q = new BucketedQueue();
      this.byOrg.set(job.org, q);
    }
    const key = -job.spec.priority;
    this.keys.set(job, key);
    q.add(job, key);
    this.count++;
  }

  remove(job: JobRecord): void {
    const key = this.keys.get(job);
    if (key === undefined) return;
    this.byOrg.get(job.org)?.remove(job, key);
    this.keys.delete(job);
    this.count--;
  }

  compare(a: JobRecord, b: JobRecord, view: OrderView): number {
    return shareOf(view.state, a.org) - shareOf(view.state, b.org) || a.org - b.org || b.spec.priority - a.spec.priority || a.seq - b.seq;
  }

  *order(view: OrderView): Iterable<JobRecord> {
    // Orgs are few (hundreds); re-rank them after every yield, since a start changes its org's share.
    const cursors = [...this.byOrg].filter(([, q]) => q.size > 0).map(([org, q]) => ({ org, walk: q.walk((g) => view.mayFit(g)) }));
    while (cursors.length > 0) {
      let bestIdx = 0;
      let bestShare = Infinity;
      for (let i = 0; i < cursors.length; i++) {
        const s = shareOf(view.state, cursors[i]?.org ?? 0);
        if (s < bestShare || (s === bestShare && (cursors[i]?.org ?? 0) < (cursors[bestIdx]?.org ?? 0))) {
          bestShare = s;
          bestIdx = i;
        }
      }
      const next = cursors[bestIdx]?.walk.next();
      if (next === undefined || next.done === true) cursors.splice(bestIdx, 1);
      else yield next.value;
    }
  }
}

/** GPUs in use ÷ GPUs contributed; orgs contributing nothing rank after all others, by use. */
export function shareOf(state: PoolState, org: number): number {
  const contributed = state.contributed[org] ?? 0;
  const using = state.using[org] ?? 0;
  return contributed > 0 ? using / contributed : 1e9 + using;
}

/** Reclaim stops the newest borrowers first: they lose the least work. */
const newestFirst = (v: JobRecord) => v.startedAtS;

/**
 * Owners take lent GPUs back: a waiting job of an org within its entitlement may
 * stop borrowers on its org's own sites (if the site's share policy reclaims),
 * newest borrowers first (least work lost), at most once per site per interval.
 */
export function reclaimRule(reclaimIntervalS: number): PreemptionRule {
  return {
    why: 'reclaim',
    victims(job, ctx) {
      const state = ctx.state;
      if ((state.using[job.org] ?? 0) + job.spec.gpus > (state.contributed[job.org] ?? 0)) return null;
      const own = ctx.candidates.filter((i) => {
        const s = state.sites[i];
        return s !== undefined && s.org === job.org && s.spec.share.reclaim && s.borrowed > 0 && ctx.now >= s.nextReclaimS;
      });
      if (own.length === 0) return null;
      const picked = chooseVictims(job, ctx, own, (v, site) => v.org !== site.org, newestFirst, false);
      const site = picked ? state.sites[picked.site] : undefined;
      if (site) site.nextReclaimS = ctx.now + reclaimIntervalS;
      return picked;
    },
  };
}

/** The next time a rate-limited site may reclaim again, if any borrower runs on it. */
export function nextReclaimTime(state: PoolState, now: number): number {
  let t = Infinity;
  for (const s of state.sites) if (s.borrowed > 0 && s.spec.share.reclaim && s.nextReclaimS > now && s.nextReclaimS < t) t = s.nextReclaimS;
  return t;
}
