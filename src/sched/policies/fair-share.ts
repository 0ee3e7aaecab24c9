import type { OrderView, PreemptionRule, QueueOrder } from '../policy.ts';
import { BucketedQueue } from '../sorted-queue.ts';
import { KeyedOrder } from './keyed-order.ts';
import type { JobRecord, PoolState, SiteState } from '../state.ts';
import { chooseVictims, type RankFn } from './victims.ts';

/**
 * Fair share by contribution. Each org is entitled to the GPUs it contributes;
 * the org furthest below its entitlement (GPUs in use ÷ GPUs contributed) goes
 * first, so idle GPUs are borrowed by whoever has least of their share, and orgs
 * that contribute nothing borrow only what others leave. Within an org, by
 * `innerKey` (fixed while a job waits; lowest first), then arrival order: by
 * default higher priority first.
 */
export class FairShareOrder implements QueueOrder {
  readonly strict = false;
  private readonly byOrg = new Map<number, BucketedQueue>();
  private count = 0;
  private readonly keys = new Map<JobRecord, number>();

  constructor(private readonly innerKey: (job: JobRecord) => number = (j) => -j.spec.priority) {}

  get size(): number {
    return this.count;
  }

  add(job: JobRecord): void {
    let q = this.byOrg.get(job.org);
    if (!q) {
      q = new BucketedQueue();
      this.byOrg.set(job.org, q);
    }
    const key = this.innerKey(job);
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
    return shareOf(view.state, a.org) - shareOf(view.state, b.org) || a.org - b.org || this.innerKey(a) - this.innerKey(b) || a.seq - b.seq;
  }

  *order(view: OrderView): Iterable<JobRecord> {
    // Orgs in share order, kept sorted as starts change shares; an org is only walked once reached,
    // and orgs none of whose job sizes may fit are left out at once.
    const rank = (org: number) => shareOf(view.state, org);
    const before = (a: Cursor, b: Cursor) => a.share < b.share || (a.share === b.share && a.org < b.org);
    const cursors: Cursor[] = [];
    for (const [org, q] of this.byOrg) if (q.size > 0 && q.anyMayFit((g) => view.mayFit(g))) cursors.push({ org, q, share: rank(org), walk: null });
    cursors.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    while (cursors.length > 0) {
      const c = cursors[0] as Cursor;
      c.walk ??= c.q.walk((g) => view.mayFit(g));
      const next = c.walk.next();
      cursors.shift();
      if (next.done === true) continue;
      yield next.value;
      // The job may have started: re-rank its org by its share now.
      c.share = rank(c.org);
      let at = 0;
      while (at < cursors.length && before(cursors[at] as Cursor, c)) at++;
      cursors.splice(at, 0, c);
    }
  }
}

interface Cursor {
  readonly org: number;
  readonly q: BucketedQueue;
  share: number;
  walk: Generator<JobRecord, void, undefined> | null;
}

/** GPUs in use ÷ GPUs contributed; orgs contributing nothing rank after all others, by use. */
export function shareOf(state: PoolState, org: number): number {
  const contributed = state.contributed[org] ?? 0;
  const using = state.using[org] ?? 0;
  return contributed > 0 ? using / contributed : 1e9 + using;
}

/** Reclaim stops the newest borrowers first: they lose the least work. */
const newestFirst: RankFn = Object.assign((v: JobRecord) => v.startedAtS, { validUntil: () => Infinity });
const borrowers = { test: (v: JobRecord, site: SiteState) => v.org !== site.org };

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
      if (!state.withinShare(job)) return null;
      const own = ctx.candidates.filter((i) => {
        const s = state.sites[i];
        return s !== undefined && s.org === job.org && s.spec.share.reclaim && s.borrowed > 0 && ctx.now >= s.nextReclaimS;
      });
      const picked = own.length === 0 ? null : chooseVictims(job, ctx, own, borrowers, newestFirst);
      const site = picked ? state.sites[picked.site] : undefined;
      if (site) site.nextReclaimS = ctx.now + reclaimIntervalS;
      else if (ctx.now - job.spec.submitS >= STARVING_AFTER_S) holdOwnSite(state, job);
      return picked;
    },
  };
}

/**
 * Stopping borrowers cannot free enough for `job` now (its org's own runs hold the rest): its largest own site that
 * could hold it is held for it, so that GPUs freed there go to it and not to the next borrower. Without the hold, a
 * job as large as its org's site starves pooled while borrowers take each GPU its org's runs give back, though alone
 * it would start as soon as they end. A hold is dropped when the job starts (Scheduler.start) and ignored once it
 * has left the queue; a site holds for one job at a time.
 */
function holdOwnSite(state: PoolState, job: JobRecord): void {
  let best: SiteState | undefined;
  for (const i of state.sitesOfOrg(job.org)) {
    const s = state.sites[i];
    if (s === undefined || !s.spec.share.reclaim || s.total < job.spec.gpus || (s.heldFor !== null && s.heldFor !== job && s.heldFor.phase === 'queued')) continue;
    if (best === undefined || s.total > best.total) best = s;
  }
  if (best !== undefined) best.heldFor = job;
}

const STARVING_AFTER_S = 3_600;

/** The next time a rate-limited site may reclaim again, if any borrower runs on it. */
export function nextReclaimTime(state: PoolState, now: number): number {
  let t = Infinity;
  for (const s of state.sites) if (s.borrowed > 0 && s.spec.share.reclaim && s.nextReclaimS > now && s.nextReclaimS < t) t = s.nextReclaimS;
  return t;
}

/**
 * Fair share for what each org contributes, shortest first for everything. Jobs that
 * fit inside their org's entitlement (GPUs in use plus the job's ≤ GPUs contributed)
 * go first, then every other waiting job — those would borrow idle GPUs — each group
 * by `key` across all orgs (lowest first, then arrival). An org's entitlement is never
 * given to another's job ahead of its own, and lent GPUs serve whichever job `key`
 * ranks first, not the org that happens to have least.
 */
export class ShareThenShortestOrder implements QueueOrder {
  readonly strict = false;
  /** Every waiting job by `key`: both groups walk it, each taking its own. */
  private readonly byKey: KeyedOrder;

  constructor(key: (job: JobRecord) => number) {
    this.byKey = new KeyedOrder(key, false);
  }

  get size(): number {
    return this.byKey.size;
  }

  add(job: JobRecord): void {
    this.byKey.add(job);
  }

  remove(job: JobRecord): void {
    this.byKey.remove(job);
  }

  compare(a: JobRecord, b: JobRecord, view: OrderView): number {
    const inA = view.state.withinShare(a);
    const inB = view.state.withinShare(b);
    if (inA !== inB) return inA ? -1 : 1;
    return this.byKey.compare(a, b);
  }

  *order(view: OrderView): Iterable<JobRecord> {
    // Two walks: the second offers every job still waiting (one that started in the first is not offered again).
    for (const job of this.byKey.order(view)) if (view.state.withinShare(job)) yield job;
    for (const job of this.byKey.order(view)) if (job.phase === 'queued') yield job;
  }
}

/** Whether the job would run inside its org's entitlement: what the org uses now plus the job, at most what it contributes. */
