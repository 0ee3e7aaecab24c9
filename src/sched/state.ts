import type { JobSpec } from '../model/job.ts';
import { borrowerGpuLimit, gpuSpeedOf, lendsTo, type PoolSpec, type SiteSpec } from '../model/pool.ts';

/**
 * The scheduler's view of the pool: free GPUs per node, indexed so that the
 * best-fitting node for a request is found in O(GPUs per node), plus the jobs and
 * their progress. The scheduler core owns it; drivers read it and tell the core
 * what happened (a job finished, a site went down) through the Scheduler.
 */

/** GPUs taken on one site: parallel arrays of node index (within the site) and GPU count. */
export interface SitePart {
  readonly site: number;
  readonly nodes: Int32Array;
  readonly counts: Int32Array;
  readonly gpus: number;
}

/** Bandwidth a spanning job holds on each link of its ring (PoolState.links keys). */
export interface LinkHold {
  readonly links: readonly number[];
  readonly gbps: number;
}

export interface Allocation {
  /** One part per site; a spanning job has several. */
  readonly parts: readonly SitePart[];
  readonly gpus: number;
  /** A spanning job's share of its WAN ring, or null. */
  readonly wan: LinkHold | null;
  /** Compute utilization of the placement: 1 on one site, the ring's efficiency across sites. */
  readonly efficiency: number;
}

export type JobPhase = 'queued' | 'running' | 'stopping' | 'done' | 'never';

/** A job and everything the core tracks about it. Mutated only by the Scheduler. */
export interface JobRecord {
  readonly spec: JobSpec;
  /** Arrival order: the tie-breaker of every queue order. */
  readonly seq: number;
  readonly org: number;
  phase: JobPhase;
  allocation: Allocation | null;
  /** When the current run started, or -1. */
  startedAtS: number;
  /** When the job first started, or -1. */
  firstStartS: number;
  endS: number;
  /** Run time that is saved (checkpointed) and need not be redone. */
  workDoneS: number;
  /** GPU-seconds the job has run, lost work included (Tiresias' attained service). */
  attainedGpuS: number;
  /** Estimated seconds still to run: estimate minus saved work. */
  remainingEstimateS: number;
  preemptions: number;
  /** GPU-seconds of work lost to preemptions. */
  lostGpuS: number;
  /** GPU-seconds of work lost to site failures. */
  failedGpuS: number;
  /** Bumped on every start, so drivers can ignore completion events of an earlier run. */
  epoch: number;
  /** Site of the current or last run, or -1. */
  lastSite: number;
  /** Org, GPUs and GPU types: jobs of one shape fit, or fail, alike. */
  shape: string;
  /**
   * The GPUs that must fit on one site for the job to start: all of them, or one
   * replica for a spannable job. Queues bucket jobs by it.
   */
  readonly fitGpus: number;
  /** Work seconds done per second of the current run: 1 on one site, less across sites or after a shrink. */
  rate: number;
  /** A spanning job's site whose part is being given back (a reclaim's notice runs), or -1. */
  leaving: number;
}

export class SiteState {
  readonly index: number;
  readonly spec: SiteSpec;
  readonly org: number;
  readonly gpusPerNode: number;
  readonly total: number;
  /** Most GPUs other orgs may hold here at once. */
  readonly lendCap: number;
  /** GPU type id, lower-cased. */
  readonly type: string;
  /** Work done per second by a GPU here, relative to the pool's reference type (PoolSpec.gpuSpeeds). */
  readonly speed: number;
  free: number;
  /** GPUs held here by jobs of other orgs… */
  borrowed = 0;
  /** …and by each borrowing org (org index → GPUs). */
  readonly heldBy = new Map<number, number>();
  up = true;
  /** When the owner may next reclaim (rate limit), seconds. */
  nextReclaimS = 0;
  /** Bumped whenever a job starts or stops here: caches of the running set key on it. */
  version = 0;
  /** The owner's job that borrowers were stopped for: other orgs may not take the freed GPUs while it waits. */
  heldFor: JobRecord | null = null;
  readonly nodeFree: Int32Array;
  /** buckets[k] lists the nodes with exactly k free GPUs; pos[node] is its index there. */
  private readonly buckets: Int32Array[];
  private readonly bucketSize: Int32Array;
  private readonly pos: Int32Array;
  /** Jobs running here (job index → GPUs here). */
  readonly running = new Map<number, number>();

  constructor(index: number, spec: SiteSpec, org: number, speed = 1) {
    this.index = index;
    this.speed = speed;
    this.spec = spec;
    this.org = org;
    this.gpusPerNode = spec.gpusPerNode;
    this.total = spec.nodes * spec.gpusPerNode;
    this.free = this.total;
    this.lendCap = Math.floor(spec.share.lendFraction * this.total);
    this.type = spec.gpuType.toLowerCase();
    this.nodeFree = new Int32Array(spec.nodes).fill(spec.gpusPerNode);
    this.buckets = Array.from({ length: spec.gpusPerNode + 1 }, (_, k) => (k === spec.gpusPerNode ? Int32Array.from({ length: spec.nodes }, (_, i) => i) : new Int32Array(spec.nodes)));
    this.bucketSize = new Int32Array(spec.gpusPerNode + 1);
    this.bucketSize[spec.gpusPerNode] = spec.nodes;
    this.pos = Int32Array.from({ length: spec.nodes }, (_, i) => i);
  }

  /** Whether the owner lends to the org with this id at all. */
  lendsTo(orgId: string): boolean {
    return lendsTo(this.spec.share, orgId);
  }

  /** Most GPUs a borrowing job of `orgId` may ever hold here: the lending limit, and the owner's limit for that org. */
  borrowerCap(orgId: string): number {
    return Math.min(this.lendCap, borrowerGpuLimit(this.spec.share, orgId));
  }

  /**
   * GPUs a job of another org may still take here now under the owner's rules
   * (not counting whether they are free), after `freed` borrowed GPUs, `freedOwn` of
   * them the job's own org's, are given back.
   */
  borrowerRoom(job: { readonly org: number; readonly spec: { readonly org: string } }, freed = 0, freedOwn = 0): number {
    if (!this.lendsTo(job.spec.org)) return 0;
    return Math.min(this.lendCap - (this.borrowed - freed), this.borrowerCap(job.spec.org) - ((this.heldBy.get(job.org) ?? 0) - freedOwn));
  }

  /** Nodes with all their GPUs free. */
  wholeFreeNodes(): number {
    return this.bucketSize[this.gpusPerNode] ?? 0;
  }

  /** The most free GPUs on any one node. */
  maxNodeFree(): number {
    for (let k = this.gpusPerNode; k > 0; k--) if ((this.bucketSize[k] ?? 0) > 0) return k;
    return 0;
  }

  private move(node: number, from: number, to: number): void {
    const b = this.buckets[from] as Int32Array;
    const last = (this.bucketSize[from] ?? 0) - 1;
    const at = this.pos[node] ?? 0;
    const moved = b[last] ?? 0;
    b[at] = moved;
    this.pos[moved] = at;
    this.bucketSize[from] = last;
    const nb = this.buckets[to] as Int32Array;
    const size = this.bucketSize[to] ?? 0;
    nb[size] = node;
    this.pos[node] = size;
    this.bucketSize[to] = size + 1;
  }

  private take(node: number, count: number): void {
    const f = this.nodeFree[node] ?? 0;
    this.move(node, f, f - count);
    this.nodeFree[node] = f - count;
    this.free -= count;
  }

  /**
   * Chooses nodes for `gpus` GPUs, consolidating: a request that fits one node
   * takes the fullest node that still fits it (best fit); a larger one takes whole
   * free nodes, then best fit for the remainder, then whatever is left, largest
   * first. Returns null when the site's free GPUs cannot hold it. Does not commit.
   */
  choose(gpus: number): { nodes: number[]; counts: number[] } | null {
    if (gpus > this.free) return null;
    const g = this.gpusPerNode;
    if (gpus <= g) {
      for (let k = gpus; k <= g; k++) {
        if ((this.bucketSize[k] ?? 0) > 0) return { nodes: [(this.buckets[k] as Int32Array)[0] ?? 0], counts: [gpus] };
      }
      return null;
    }
    const nodes: number[] = [];
    const counts: number[] = [];
    let left = gpus;
    const whole = Math.min(Math.floor(left / g), this.bucketSize[g] ?? 0);
    const full = this.buckets[g] as Int32Array;
    for (let i = 0; i < whole; i++) {
      nodes.push(full[i] ?? 0);
      counts.push(g);
    }
    left -= whole * g;
    const used = new Set(nodes);
    while (left > 0) {
      // best fit for what is left: the smallest bucket that holds it, else the largest remaining
      let found = -1;
      for (let j = Math.min(left, g); j <= g && found < 0; j++) found = this.firstUnused(j, used);
      for (let j = Math.min(left, g) - 1; j >= 1 && found < 0; j--) found = this.firstUnused(j, used);
      if (found < 0) return null;
      const c = Math.min(left, this.nodeFree[found] ?? 0);
      nodes.push(found);
      counts.push(c);
      used.add(found);
      left -= c;
    }
    return left === 0 ? { nodes, counts } : null;
  }

  private holdBorrowed(org: number, gpus: number): void {
    if (org === this.org) return;
    this.borrowed += gpus;
    const held = (this.heldBy.get(org) ?? 0) + gpus;
    if (held === 0) this.heldBy.delete(org);
    else this.heldBy.set(org, held);
  }

  private firstUnused(k: number, used: ReadonlySet<number>): number {
    const b = this.buckets[k] as Int32Array;
    const n = this.bucketSize[k] ?? 0;
    for (let i = 0; i < n; i++) {
      const node = b[i] ?? 0;
      if (!used.has(node)) return node;
    }
    return -1;
  }

  /** Takes the GPUs for job `job` of org index `org` (a borrower when it is not the owner). */
  commit(job: number, nodes: readonly number[], counts: readonly number[], org: number): SitePart {
    let gpus = 0;
    for (let i = 0; i < nodes.length; i++) {
      this.take(nodes[i] ?? 0, counts[i] ?? 0);
      gpus += counts[i] ?? 0;
    }
    this.holdBorrowed(org, gpus);
    this.running.set(job, gpus);
    this.version++;
    return { site: this.index, nodes: Int32Array.from(nodes), counts: Int32Array.from(counts), gpus };
  }

  release(job: number, part: SitePart, org: number): void {
    for (let i = 0; i < part.nodes.length; i++) {
      const node = part.nodes[i] ?? 0;
      const f = this.nodeFree[node] ?? 0;
      const c = part.counts[i] ?? 0;
      this.move(node, f, f + c);
      this.nodeFree[node] = f + c;
      this.free += c;
    }
    this.holdBorrowed(org, -part.gpus);
    this.running.delete(job);
    this.version++;
  }
}

const NO_SITES: readonly number[] = [];

/** A WAN link of the pool and the bandwidth spanning jobs hold on it. */
export interface LinkState {
  readonly a: number;
  readonly b: number;
  readonly gbps: number;
  readonly latencyMs: number;
  used: number;
}

/** Orgs, sites and jobs, with the per-org figures fair-share orders by. */
export class PoolState {
  readonly sites: SiteState[];
  readonly orgIds: string[] = [];
  readonly orgIndex = new Map<string, number>();
  /** GPUs each org contributes (its sites' totals, × their speed): its entitlement under fair share. */
  readonly contributed: Float64Array;
  /** GPUs each org holds right now (× their speed): kept by the Scheduler with `hold`. */
  readonly using: Float64Array;
  /** The fastest GPU type's speed (1 when every GPU is alike). */
  readonly fastest: number;
  /** The speed of each org's slowest own GPUs (0 without sites). */
  private readonly slowestOwn: Float64Array;
  /** The speed of each org's own GPUs (contributed ÷ GPUs; 1 without sites): what a job of the org is taken to cost before it is placed. */
  private readonly ownSpeed: Float64Array;
  /** Sites by GPU type, and all sites. */
  readonly sitesByType = new Map<string, number[]>();
  private readonly sitesByOrg = new Map<number, number[]>();
  readonly jobs: JobRecord[] = [];
  /** WAN links by `linkKey`; links naming an unknown site are left out. */
  readonly links = new Map<number, LinkState>();

  constructor(pool: PoolSpec, jobOrgs: Iterable<string> = []) {
    for (const o of pool.orgs) this.addOrg(o.id);
    for (const s of pool.sites) this.addOrg(s.org);
    for (const o of jobOrgs) this.addOrg(o);
    this.sites = pool.sites.map((s, i) => new SiteState(i, s, this.orgIndex.get(s.org) ?? 0, gpuSpeedOf(pool, s.gpuType)));
    this.contributed = new Float64Array(this.orgIds.length);
    this.using = new Float64Array(this.orgIds.length);
    const ownGpus = new Float64Array(this.orgIds.length);
    for (const s of this.sites) {
      this.contributed[s.org] = (this.contributed[s.org] ?? 0) + s.total * s.speed;
      ownGpus[s.org] = (ownGpus[s.org] ?? 0) + s.total;
      // GPU type ids match whatever their case (jobs' types are lower-cased too).
      const list = this.sitesByType.get(s.type) ?? [];
      list.push(s.index);
      this.sitesByType.set(s.type, list);
      const mine = this.sitesByOrg.get(s.org) ?? [];
      mine.push(s.index);
      this.sitesByOrg.set(s.org, mine);
    }
    this.ownSpeed = this.contributed.map((c, org) => ((ownGpus[org] ?? 0) > 0 ? c / (ownGpus[org] ?? 1) : 1));
    this.slowestOwn = new Float64Array(this.orgIds.length);
    for (const s of this.sites) this.slowestOwn[s.org] = Math.min(this.slowestOwn[s.org] || Infinity, s.speed);
    this.fastest = this.sites.reduce((m, s) => Math.max(m, s.speed), 1);
    const siteIndex = new Map(pool.sites.map((s, i) => [s.id as string, i]));
    for (const l of pool.links ?? []) {
      const a = siteIndex.get(l.a);
      const b = siteIndex.get(l.b);
      if (a === undefined || b === undefined || a === b) continue;
      this.links.set(this.linkKey(a, b), { a: Math.min(a, b), b: Math.max(a, b), gbps: l.gbps, latencyMs: l.latencyMs, used: 0 });
    }
  }

  /** The key of the link between sites `a` and `b`, whichever order. */
  linkKey(a: number, b: number): number {
    return Math.min(a, b) * this.sites.length + Math.max(a, b);
  }

  /** The sites an org owns. */
  sitesOfOrg(org: number): readonly number[] {
    return this.sitesByOrg.get(org) ?? NO_SITES;
  }

  /** The speed of an org's slowest own GPUs (0 for an org without sites): no job of the org that names no type runs slower. */
  homeSpeed(org: number): number {
    return this.slowestOwn[org] ?? 0;
  }

  /** `gpus` more (sign 1) or fewer (−1) GPUs of `site` held by `org`. */
  hold(org: number, site: SiteState, gpus: number, sign: 1 | -1): void {
    this.using[org] = (this.using[org] ?? 0) + sign * gpus * site.speed;
    this.allocated += sign * gpus;
  }

  /**
   * Whether `job` fits in its org's entitlement on top of what the org holds: its GPUs taken at the
   * speed of the org's own (where it runs when it reclaims). The slack absorbs float noise of speeds.
   */
  withinShare(job: JobRecord): boolean {
    return (this.using[job.org] ?? 0) + job.spec.gpus * (this.ownSpeed[job.org] ?? 1) <= (this.contributed[job.org] ?? 0) + 1e-9;
  }

  addOrg(id: string): number {
    const known = this.orgIndex.get(id);
    if (known !== undefined) return known;
    this.orgIds.push(id);
    this.orgIndex.set(id, this.orgIds.length - 1);
    return this.orgIds.length - 1;
  }

  totalGpus(): number {
    let n = 0;
    for (const s of this.sites) n += s.total;
    return n;
  }

  /** GPUs allocated across the pool now; kept by the Scheduler as it starts and releases. */
  allocated = 0;
}
