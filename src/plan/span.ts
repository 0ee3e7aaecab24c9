import { InvalidInputError } from '../model/errors.ts';
import { ringStepS } from '../model/span.ts';
import type { GpuSpec } from './gpu-catalog.ts';
import type { SpanWork } from './span-work.ts';
import { MODEL_STATE_BYTES_PER_PARAM } from './train-cost.ts';
import { USABLE_MEMORY_FRACTION } from './video-cost.ts';
import { fraction, positiveInteger, positiveNumber } from './validate.ts';

/**
 * The WAN-aware plan for one training job spanning several sites.
 *
 * Inside a site a replica uses fast parallelism (tensor / pipeline / data over
 * NVLink or InfiniBand), folded into the GPUs' achieved MFU. Across replicas only
 * low-communication data parallelism: DiLoCo (Douillard et al. 2023, arXiv
 * 2311.08105) — every replica runs H inner steps alone, then all average their
 * pseudo-gradients, compressed to b bytes per parameter, optionally overlapped with
 * the next inner steps (eager updates, arXiv 2502.12996; Streaming DiLoCo, arXiv
 * 2501.18512). H = 1 with b = 2 is plain synchronous data parallelism in BF16.
 *
 * The throughput model is the one in shared/reference/scheduling-research.md §4.3:
 * per synchronization a ring all-reduce moves V = 2·N·b·(R−1)/R per member in
 * 2(R−1) steps, each paying a latency; CU = H·t_step / (H·t_step + t_sync) without
 * overlap; with overlap only what the overlap window cannot hide stalls. Here the
 * all-reduce is hierarchical (§4.2's recommendation): replicas inside a site reduce
 * over the site's network first, then one ring over the WAN joins the sites.
 */

/** One candidate site: its GPUs and the network between them. */
export interface SpanSite {
  readonly id: string;
  readonly gpu: GpuSpec;
  readonly gpus: number;
  /** Network between the site's nodes, Gb/s per GPU per direction; defaults to the GPU's catalog scale-out. */
  readonly intraSiteGbps?: number;
  /** Achieved fraction of peak at this site; defaults to the request's, then the GPU's catalog efficiency. */
  readonly mfu?: number;
  /**
   * Measured seconds of one inner step of one replica here, at the request's per-replica batch: replaces the
   * catalog's FLOPs and the efficiency (hardware outside the catalog, a run measured before), and proves the model fits.
   */
  readonly innerStepS?: number;
}

/**
 * A WAN link between two sites. `gbps` is what an all-reduce achieves over it (a
 * measurement, not the port speed) in each direction; `latencyMs` is one way
 * (about half of ping's round trip).
 */
export interface WanLink {
  readonly a: string;
  readonly b: string;
  readonly gbps: number;
  readonly latencyMs: number;
}

/**
 * Synchronization overlapped with compute. The pseudo-gradient goes in `fragments`
 * parts, each of which may take `windowSteps` inner steps before the replicas stall
 * (Streaming DiLoCo); without `windowSteps` the whole sync may run during the next
 * outer step (eager / one-step-delayed updates).
 */
export interface SpanOverlap {
  readonly fragments: number;
  readonly windowSteps?: number;
}

/**
 * Replicas of different speeds: `proportional` gives each a batch in proportion to
 * its speed so all finish their H inner steps together; `wait` gives equal batches
 * and the fast ones wait for the slowest at every synchronization.
 */
export const STRAGGLER_POLICIES = ['proportional', 'wait'] as const;
export type StragglerPolicy = (typeof STRAGGLER_POLICIES)[number];

export interface SpanRequest {
  readonly work: SpanWork;
  readonly sites: readonly SpanSite[];
  readonly links: readonly WanLink[];
  /** H: inner steps between synchronizations (1 = synchronous data parallelism). */
  readonly innerSteps: number;
  /** b: bytes per parameter of the synchronized pseudo-gradient (4 fp32, 2 bf16, 1 int8, 0.5 4-bit). */
  readonly bytesPerParam: number;
  readonly overlap?: SpanOverlap;
  readonly stragglers: StragglerPolicy;
  /** Tokens one replica processes per inner step, on average (DiLoCo's per-worker batch). */
  readonly batchTokensPerReplica: number;
  /** GPUs in one replica; by default each site is one replica. */
  readonly gpusPerReplica?: number;
  readonly mfu?: number;
}

/** Where sites and links came from, so a bad one is named as its author wrote it. */
export interface TopologySource {
  readonly siteField: string;
  readonly linkField: string;
  /** Names the n-th site's or link's `key`, e.g. `site 1 (gpus)` for flags or `pool.json:4:16: sites[0].gpus` for a file. */
  where(kind: 'site' | 'link', index: number, key: string): string;
}

/** How the library names topology errors when the caller gave no better source: the CLI's flags. */
export const FLAG_TOPOLOGY: TopologySource = {
  siteField: 'site',
  linkField: 'wan',
  where: (kind, index, key) => `${kind === 'site' ? 'site' : 'link'} ${index + 1}${key === '' ? '' : ` (${key})`}`,
};

/** The exact ring search below is exponential in the number of sites; past this, group sites first. */
export const MAX_SPAN_SITES = 16;
const SITE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Validates sites and links together: ids, counts, bandwidths, and that every link joins two known, different sites. */
export function checkTopology(sites: readonly SpanSite[], links: readonly WanLink[], source: TopologySource = FLAG_TOPOLOGY): void {
  const siteError = (i: number, key: string, problem: string, accepted: string) => new InvalidInputError(source.siteField, `${source.where('site', i, key)}: ${problem}`, accepted);
  const linkError = (i: number, key: string, problem: string, accepted: string) => new InvalidInputError(source.linkField, `${source.where('link', i, key)}: ${problem}`, accepted);
  if (sites.length === 0) throw new InvalidInputError(source.siteField, 'no sites given', 'one or more sites, e.g. --site a:h100:1024');
  if (sites.length > MAX_SPAN_SITES) throw new InvalidInputError(source.siteField, `${sites.length} sites; the ring search is exact and takes at most ${MAX_SPAN_SITES}`, `at most ${MAX_SPAN_SITES} sites (group nearby sites into one)`);
  const ids = new Set<string>();
  sites.forEach((s, i) => {
    if (!SITE_ID.test(s.id)) throw siteError(i, 'id', `"${s.id}" is not a site id`, 'letters, digits, _ . and -, starting with a letter or digit');
    if (ids.has(s.id)) throw siteError(i, 'id', `site "${s.id}" is given twice`, 'each site once');
    ids.add(s.id);
    if (!Number.isInteger(s.gpus) || s.gpus <= 0) throw siteError(i, 'gpus', `must be a whole number above zero, got ${s.gpus}`, 'an integer ≥ 1');
    if (s.intraSiteGbps !== undefined && !(Number.isFinite(s.intraSiteGbps) && s.intraSiteGbps > 0)) throw siteError(i, 'intra_site_gbps', `must be above zero, got ${s.intraSiteGbps}`, 'Gb/s per GPU, e.g. 400');
    if (s.mfu !== undefined && !(s.mfu > 0 && s.mfu <= 1)) throw siteError(i, 'mfu', `must be in (0, 1], got ${s.mfu}`, 'a fraction such as 0.4');
  });
  const pairs = new Set<string>();
  links.forEach((l, i) => {
    for (const [key, id] of [['a', l.a], ['b', l.b]] as const) {
      if (!ids.has(id)) throw linkError(i, key === 'a' ? 'between[0]' : 'between[1]', `unknown site "${id}"`, `one of the sites: ${[...ids].join(', ')}`);
    }
    if (l.a === l.b) throw linkError(i, 'between', `a link joins two different sites, got "${l.a}" twice`, 'two different site ids');
    const pair = [l.a, l.b].sort().join('\u0000');
    if (pairs.has(pair)) throw linkError(i, 'between', `the link ${l.a}-${l.b} is given twice`, 'each pair of sites once');
    pairs.add(pair);
    if (!(Number.isFinite(l.gbps) && l.gbps > 0)) throw linkError(i, 'gbps', `bandwidth must be above zero, got ${l.gbps}`, 'Gb/s achieved per direction, e.g. 10');
    if (!(Number.isFinite(l.latencyMs) && l.latencyMs >= 0)) throw linkError(i, 'latency_ms', `latency must be zero or more, got ${l.latencyMs}`, 'one-way milliseconds, e.g. 30');
  });
}

/** One site's part in the plan. */
export interface SpanSitePlan {
  readonly id: string;
  readonly gpu: string;
  readonly gpus: number;
  readonly gpus_per_replica: number;
  readonly replicas: number;
  /** GPUs left over when the site's GPUs do not divide into replicas; not counted in GPU time. */
  readonly idle_gpus: number;
  readonly mfu: number;
  readonly replica_flops_per_second: number;
  readonly batch_tokens_per_replica: number;
  /** One inner step of one replica of this site, on its batch. */
  readonly inner_step_seconds: number;
  /** Share of each outer step this site's GPUs spend computing. */
  readonly busy_share: number;
  readonly intra_site_gbps: number;
  readonly intra_site_sync_seconds: number;
  /** Why the site holds no replica, or null. */
  readonly excluded_reason: string | null;
}

export interface SpanLinkPlan {
  readonly between: string;
  readonly gbps: number;
  readonly latency_ms: number;
  /** Seconds per ring step over this link: the chunk (N·b/S) ÷ bandwidth + latency. */
  readonly ring_step_seconds: number;
  readonly in_ring: boolean;
}

/**
 * - `single-site`: nothing crosses the WAN;
 * - `hopeless`: under 10% compute utilization — the WAN, not the GPUs, sets the pace;
 * - `slower-than-one-site`: the best site alone would finish sooner;
 * - `communication-bound`: under 80% (INTELLECT-1's published floor was 83%);
 * - `efficient`: 80% or more.
 */
export type SpanVerdict = 'single-site' | 'hopeless' | 'slower-than-one-site' | 'communication-bound' | 'efficient';

/** The stable JSON shape of `suanli plan span --json` (schema suanli.plan.span/1). */
export interface SpanPlan {
  readonly schema: 'suanli.plan.span/1';
  readonly model: string;
  readonly model_name: string;
  readonly params: number;
  readonly flops_per_token: number;
  readonly inner_steps_per_sync: number;
  readonly bytes_per_param: number;
  /** Overlap: fragments, and the inner steps a synchronization may run under before replicas stall (min(P·τ, H)). */
  readonly overlap: { readonly fragments: number; readonly hidden_steps: number } | null;
  readonly stragglers: StragglerPolicy;
  readonly sites: readonly SpanSitePlan[];
  readonly sites_used: number;
  readonly replicas: number;
  readonly gpus_used: number;
  readonly batch_tokens_per_step: number;
  readonly topology: string;
  readonly wan_links: readonly SpanLinkPlan[];
  /** Site ids in ring order (the ring closes back to the first); empty for one site. */
  readonly wan_ring: readonly string[];
  readonly wan_bottleneck_link: string | null;
  readonly wan_bottleneck_gbps: number | null;
  readonly pseudo_gradient_bytes: number;
  readonly wan_bytes_per_site_per_sync: number;
  readonly wan_bytes_total_per_sync: number;
  readonly intra_site_sync_seconds: number;
  readonly wan_sync_seconds: number;
  readonly sync_seconds: number;
  /** Compute phase of one outer step: H inner steps of the slowest replica. */
  readonly compute_seconds_per_outer_step: number;
  /** Of which the fastest replicas wait for the slowest (0 with proportional batches). */
  readonly straggler_wait_seconds_per_outer_step: number;
  /** Synchronization the overlap could not hide. */
  readonly exposed_sync_seconds_per_outer_step: number;
  readonly outer_step_seconds: number;
  /** Useful compute ÷ what the GPUs could do at their MFU in the same time: in (0, 1]. */
  readonly compute_utilization: number;
  readonly communication_share: number;
  readonly wan_average_gbps_per_site: number;
  readonly throughput_tokens_per_second: number;
  readonly throughput_flops_per_second: number;
  readonly tokens_total: number;
  readonly inner_steps_total: number;
  readonly outer_steps_total: number;
  readonly wall_seconds: number;
  readonly wall_days: number;
  readonly gpu_hours: number;
  readonly best_single_site: string;
  readonly best_single_site_wall_seconds: number;
  /** Best single site's time ÷ this plan's: above 1, spanning pays. */
  readonly speedup_over_best_site: number;
  readonly verdict: SpanVerdict;
  readonly verdict_reason: string;
  readonly convergence_assumptions: readonly string[];
  readonly assumptions: readonly string[];
  readonly warnings: readonly string[];
}

/**
 * The ring through all sites whose slowest step is fastest (a bottleneck travelling
 * salesman tour, as PRIME picks its ring by "maximizing the minimal bandwidth"):
 * binary search on the step cost, each candidate checked exactly by a Held–Karp
 * style Hamiltonian-cycle search over subsets — O(2^S · S²), fine for S ≤ 16.
 * `cost(i, j)` is undefined when no link joins i and j. Returns undefined if no ring exists.
 */
export function bottleneckRing(n: number, cost: (i: number, j: number) => number | undefined): { order: number[]; bottleneck: number } | undefined {
  if (n === 1) return { order: [0], bottleneck: 0 };
  if (n === 2) {
    const c = cost(0, 1);
    return c === undefined ? undefined : { order: [0, 1], bottleneck: c };
  }
  const costs = [...new Set(Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (j > i ? cost(i, j) : undefined))).flat().filter((c): c is number => c !== undefined))].sort((x, y) => x - y);
  const within = (limit: number) => hamiltonianCycle(n, (i, j) => {
    const c = cost(i, j);
    return c !== undefined && c <= limit;
  });
  let lo = 0;
  let hi = costs.length - 1;
  let best = costs.length > 0 ? within(costs[hi] ?? Infinity) : undefined;
  if (!best) return undefined;
  let bestCost = costs[hi] ?? Infinity;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const ring = within(costs[mid] ?? Infinity);
    if (ring) {
      best = ring;
      bestCost = costs[mid] ?? Infinity;
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return { order: best, bottleneck: bestCost };
}

/** A cycle through all n nodes using only edges `ok` allows, starting at node 0; undefined if none. */
function hamiltonianCycle(n: number, ok: (i: number, j: number) => boolean): number[] | undefined {
  const adjacent = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => i !== j && ok(i, j)));
  const edge = (i: number, j: number) => adjacent[i]?.[j] === true;
  const full = (1 << n) - 1;
  // parent[mask·n + v]: the node before v on a path from 0 through exactly `mask` ending at v; -1 unreached.
  const parent = new Int8Array((full + 1) * n).fill(-1);
  parent[1 * n + 0] = n;
  for (let mask = 1; mask <= full; mask += 2) {
    for (let v = 0; v < n; v++) {
      if (parent[mask * n + v] === -1) continue;
      for (let w = 1; w < n; w++) {
        const next = mask | (1 << w);
        if (next !== mask && edge(v, w) && parent[next * n + w] === -1) parent[next * n + w] = v;
      }
    }
  }
  for (let last = 1; last < n; last++) {
    if (parent[full * n + last] === -1 || !edge(last, 0)) continue;
    const order: number[] = [];
    let mask = full;
    let v = last;
    while (v !== n) {
      order.push(v);
      const before = parent[mask * n + v] ?? n;
      mask &= ~(1 << v);
      v = before;
    }
    return order.reverse();
  }
  return undefined;
}

const GB = 1e9;
const bitsToBytes = (gbps: number) => (gbps * GB) / 8;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const secs = (s: number) => (s < 120 ? `${s.toPrecision(3)} s` : s < 7200 ? `${(s / 60).toPrecision(3)} min` : `${(s / 3600).toPrecision(3)} h`);

/** Below this compute utilization the span is called hopeless: the GPUs idle over 90% of the time. */
export const HOPELESS_UTILIZATION = 0.1;
/** At or above this it is efficient: INTELLECT-1's 83% across three continents is the published floor. */
export const EFFICIENT_UTILIZATION = 0.8;
/** DiLoCo's published evidence of no loss against synchronous training: up to this many replicas… */
const PUBLISHED_MAX_REPLICAS = 8;
/** …and this many inner steps (scheduling-research.md §4.3). */
const PUBLISHED_MAX_INNER_STEPS = 500;

/**
 * Plans one training job across sites: replicas per site, bytes per synchronization,
 * the outer step split into compute and communication, utilization, throughput,
 * time to finish, and what it assumes. Recipe:
 * 1. validate, and place replicas (a site holds one if its GPUs fit the model states);
 * 2. inner-step time per replica, by the straggler policy;
 * 3. synchronization time: inside each site, then the best WAN ring;
 * 4. the outer step, overlap, utilization and the whole job;
 * 5. the verdict, the best single site for comparison, assumptions and warnings.
 */
export function planSpan(req: SpanRequest): SpanPlan {
  // 1. Validate and place replicas.
  const { work } = req;
  checkTopology(req.sites, req.links);
  const H = positiveInteger('inner-steps', req.innerSteps);
  const b = positiveNumber('bytes-per-param', req.bytesPerParam);
  const perReplicaBatch = positiveNumber('batch-tokens', req.batchTokensPerReplica);
  if (req.gpusPerReplica !== undefined) positiveInteger('gpus-per-replica', req.gpusPerReplica);
  if (req.mfu !== undefined) fraction('mfu', req.mfu);
  if (req.overlap !== undefined) {
    positiveInteger('fragments', req.overlap.fragments);
    if (req.overlap.windowSteps !== undefined) positiveInteger('overlap-steps', req.overlap.windowSteps);
  }
  if (!(STRAGGLER_POLICIES as readonly string[]).includes(req.stragglers)) throw new InvalidInputError('stragglers', `unknown policy "${req.stragglers}"`, STRAGGLER_POLICIES.join(', '));
  const N = work.params;
  const stateBytes = MODEL_STATE_BYTES_PER_PARAM * N;

  const placed = req.sites.map((site) => {
    const replicaGpus = req.gpusPerReplica ?? site.gpus;
    if (site.innerStepS !== undefined) positiveNumber('step-time', site.innerStepS);
    // A measured step is a replica that ran: the model fits.
    const minGpus = site.innerStepS !== undefined ? 0 : Math.ceil(stateBytes / (site.gpu.memoryBytes * USABLE_MEMORY_FRACTION));
    const replicas = replicaGpus < minGpus ? 0 : Math.floor(site.gpus / replicaGpus);
    const excluded =
      replicaGpus < minGpus
        ? `a replica of ${replicaGpus} × ${site.gpu.id} cannot hold ${(stateBytes / GB).toFixed(0)} GB of model states (${MODEL_STATE_BYTES_PER_PARAM} bytes × ${(N / 1e9).toPrecision(3)}B parameters): it needs at least ${minGpus} GPUs`
        : replicas === 0
          ? `${site.gpus} GPUs are fewer than one replica (${replicaGpus})`
          : null;
    const mfu = site.mfu ?? req.mfu ?? site.gpu.efficiency;
    const intraGbps = site.intraSiteGbps ?? (site.gpu.scaleOutBytesPerSecond * 8) / GB;
    const replicaFlops = site.innerStepS !== undefined ? (perReplicaBatch * work.flopsPerToken) / site.innerStepS : replicaGpus * site.gpu.peakFlops * mfu;
    return { site, replicaGpus, replicas, excluded, mfu, intraGbps, replicaFlops };
  });
  const used = placed.filter((p) => p.replicas > 0);
  if (used.length === 0) {
    throw new InvalidInputError('site', `no site can hold one replica of ${work.model}: ${placed.map((p) => `${p.site.id}: ${p.excluded ?? ''}`).join('; ')}`, 'more GPUs per site, larger-memory GPUs, or a larger --gpus-per-replica');
  }

  // 2. Inner steps: the batch, its FLOPs, and each replica's time for its share.
  const R = used.reduce((s, p) => s + p.replicas, 0);
  const S = used.length;
  const batch = R * perReplicaBatch;
  const flopsPerStep = batch * work.flopsPerToken;
  const capacity = used.reduce((s, p) => s + p.replicas * p.replicaFlops, 0);
  const idealStep = flopsPerStep / capacity;
  const replicaBatch = (p: (typeof placed)[number]) => (req.stragglers === 'proportional' ? (batch * p.replicaFlops) / capacity : perReplicaBatch);
  // Proportional batches finish together by construction: every replica takes the ideal step.
  const stepOf = (p: (typeof placed)[number]) => (req.stragglers === 'proportional' ? idealStep : (replicaBatch(p) * work.flopsPerToken) / p.replicaFlops);
  // Never below the ideal step (equal replicas can round a hair under it).
  const wallStep = Math.max(idealStep, ...used.map(stepOf));

  // 3. Synchronization: a reduce among each site's replicas over its own network (the
  //    G GPUs of a replica each hold 1/G of the model, so G rings run side by side),
  //    then one ring across sites over the WAN, then the site's all-gather.
  const pseudoGradient = N * b;
  const intraOf = (p: (typeof placed)[number]) =>
    p.replicas > 1 ? (2 * ((p.replicas - 1) / p.replicas) * pseudoGradient) / (p.replicaGpus * bitsToBytes(p.intraGbps)) : 0;
  const intraSync = Math.max(...used.map(intraOf));
  const index = new Map(used.map((p, i) => [p.site.id, i]));
  const stepCost = (l: WanLink) => ringStepS(pseudoGradient, S, l.gbps, l.latencyMs);
  const linkBetween = new Map<string, WanLink>();
  for (const l of req.links) {
    const i = index.get(l.a);
    const j = index.get(l.b);
    if (i !== undefined && j !== undefined) linkBetween.set(`${Math.min(i, j)}:${Math.max(i, j)}`, l);
  }
  const linkOf = (i: number, j: number) => linkBetween.get(`${Math.min(i, j)}:${Math.max(i, j)}`);
  const ring = bottleneckRing(S, (i, j) => {
    const l = linkOf(i, j);
    return l === undefined ? undefined : stepCost(l);
  });
  if (!ring) {
    const ids = used.map((p) => p.site.id);
    const missing = ids.flatMap((a, i) => ids.slice(i + 1).filter((_, k) => linkOf(i, i + 1 + k) === undefined).map((c) => `${a}-${c}`));
    throw new InvalidInputError('wan', `no ring of WAN links passes through every site (${ids.join(', ')}); missing links include ${missing.slice(0, 4).join(', ')}`, 'links so that every site has two neighbours on a ring, e.g. --wan a-b:10:30');
  }
  const ringIds = S > 1 ? ring.order.map((i) => used[i]?.site.id ?? '') : [];
  const ringLinks = S > 1 ? ring.order.map((i, k) => linkOf(i, ring.order[(k + 1) % S] ?? 0)).filter((l): l is WanLink => l !== undefined) : [];
  const bottleneckLink = ringLinks.reduce<WanLink | undefined>((worst, l) => (worst === undefined || stepCost(l) > stepCost(worst) ? l : worst), undefined);
  const wanSync = S > 1 ? 2 * (S - 1) * ring.bottleneck : 0;
  const sync = intraSync + wanSync;

  // 4. The outer step: H inner steps, then whatever of the sync the overlap cannot hide.
  const compute = H * wallStep;
  const hiddenSteps = req.overlap === undefined ? 0 : Math.min(H, req.overlap.windowSteps === undefined ? H : req.overlap.fragments * req.overlap.windowSteps);
  const exposed = Math.max(0, sync - hiddenSteps * wallStep);
  const outer = compute + exposed;
  const utilization = (H * idealStep) / outer;
  const innerSteps = 'steps' in work.length ? work.length.steps : work.length.tokens / batch;
  const tokensTotal = 'tokens' in work.length ? work.length.tokens : innerSteps * batch;
  const outerSteps = innerSteps / H;
  const wall = outerSteps * outer;
  const gpusUsed = used.reduce((s, p) => s + p.replicas * p.replicaGpus, 0);
  const wanPerSite = S > 1 ? (2 * (S - 1) * pseudoGradient) / S : 0;

  // 5. Verdict, the best single site alone (synchronous inside it, no WAN), assumptions.
  const alone = used.map((p) => ({ id: p.site.id, seconds: (tokensTotal * work.flopsPerToken) / (p.replicas * p.replicaFlops) }));
  const best = alone.reduce((x, y) => (y.seconds < x.seconds ? y : x));
  const speedup = best.seconds / wall;
  const verdict: SpanVerdict =
    S === 1 ? 'single-site'
      : utilization < HOPELESS_UTILIZATION ? 'hopeless'
        : speedup < 1 ? 'slower-than-one-site'
          : utilization < EFFICIENT_UTILIZATION ? 'communication-bound'
            : 'efficient';
  const bottleneckText = bottleneckLink ? `${bottleneckLink.a}-${bottleneckLink.b} (${bottleneckLink.gbps} Gb/s, ${bottleneckLink.latencyMs} ms)` : '';
  const comparison = S === 1 ? '' : speedup < 1 ? `; ${best.id} alone would finish ${(1 / speedup).toPrecision(3)}× sooner` : `; ${speedup.toPrecision(3)}× faster than ${best.id} alone`;
  const stragglerWait = H * (wallStep - idealStep);
  const loss = exposed >= stragglerWait
    ? `each synchronization leaves ${secs(exposed)} exposed (slowest ring link ${bottleneckText}) against ${secs(compute)} of compute`
    : `the fast replicas wait ${secs(stragglerWait)} per outer step for the slowest (proportional batches avoid it)`;
  const verdictReason = {
    'single-site': 'one site: no WAN synchronization',
    hopeless: `hopeless: the GPUs compute ${pct(utilization)} of the time and wait on the WAN the rest — every ${H === 1 ? 'step' : `${H} steps`} each site sends ${(wanPerSite / GB).toPrecision(3)} GB over a ring whose slowest link is ${bottleneckText}: ${secs(exposed)} of waiting against ${secs(compute)} of compute. Synchronize less often (DiLoCo, H ≥ 100), compress (int8 or 4-bit), overlap, or train on one site${comparison}`,
    'slower-than-one-site': `slower than one site: ${pct(utilization)} compute utilization; ${loss}${comparison}`,
    'communication-bound': `communication-bound: ${pct(utilization)} compute utilization; ${loss}${comparison}`,
    efficient: `efficient: ${pct(utilization)} compute utilization (INTELLECT-1 reported 83–96%)${comparison}`,
  }[verdict];

  const convergence = convergenceAssumptions(req, H, b, R);
  const warnings: string[] = [
    ...(R > PUBLISHED_MAX_REPLICAS && H > 1 ? [`${R} replicas: DiLoCo's evidence of no loss against synchronous training covers up to ${PUBLISHED_MAX_REPLICAS}; more replicas degrade slightly (Charles et al. 2025, arXiv 2503.09799) — fewer, larger replicas (--gpus-per-replica) help`] : []),
    ...(H > PUBLISHED_MAX_INNER_STEPS ? [`H = ${H} is beyond the published ${PUBLISHED_MAX_INNER_STEPS} inner steps (DiLoCo, OpenDiLoCo): convergence there is not established`] : []),
    ...(b < 0.5 ? [`${b} bytes per parameter is below 4-bit, the smallest published (Streaming DiLoCo, arXiv 2501.18512)`] : []),
    ...used.filter((p) => replicaBatch(p) / p.replicaGpus < work.sequenceTokens).map((p) => `site ${p.site.id}: ${Math.round(replicaBatch(p) / p.replicaGpus).toLocaleString('en-US')} tokens per GPU per inner step, less than one ${work.sequenceTokens.toLocaleString('en-US')}-token sequence: the replica cannot keep its GPUs busy; raise --batch-tokens or lower --gpus-per-replica`),
    ...placed.filter((p) => p.excluded !== null).map((p) => `site ${p.site.id} holds no replica: ${p.excluded ?? ''}`),
  ];

  return {
    schema: 'suanli.plan.span/1',
    model: work.model,
    model_name: work.modelName,
    params: N,
    flops_per_token: work.flopsPerToken,
    inner_steps_per_sync: H,
    bytes_per_param: b,
    overlap: req.overlap === undefined ? null : { fragments: req.overlap.fragments, hidden_steps: hiddenSteps },
    stragglers: req.stragglers,
    sites: placed.map((p): SpanSitePlan => {
      const step = p.replicas > 0 ? stepOf(p) : 0;
      return {
        id: p.site.id, gpu: p.site.gpu.id, gpus: p.site.gpus, gpus_per_replica: p.replicaGpus, replicas: p.replicas,
        idle_gpus: p.site.gpus - p.replicas * p.replicaGpus, mfu: p.mfu, replica_flops_per_second: p.replicaFlops,
        batch_tokens_per_replica: p.replicas > 0 ? replicaBatch(p) : 0, inner_step_seconds: step, busy_share: (H * step) / outer,
        intra_site_gbps: p.intraGbps, intra_site_sync_seconds: p.replicas > 0 ? intraOf(p) : 0, excluded_reason: p.excluded,
      };
    }),
    sites_used: S,
    replicas: R,
    gpus_used: gpusUsed,
    batch_tokens_per_step: batch,
    topology: S === 1
      ? 'one site: replicas average over the site network only'
      : `hierarchical all-reduce: inside each site over its network, then a ring across ${S} sites over the WAN (2·(S−1) = ${2 * (S - 1)} steps, each moving N·b/S over every ring link at once and waiting for the slowest)`,
    wan_links: req.links.map((l) => ({
      between: `${l.a}-${l.b}`, gbps: l.gbps, latency_ms: l.latencyMs, ring_step_seconds: stepCost(l),
      in_ring: ringLinks.includes(l),
    })),
    wan_ring: ringIds,
    wan_bottleneck_link: bottleneckLink ? `${bottleneckLink.a}-${bottleneckLink.b}` : null,
    wan_bottleneck_gbps: bottleneckLink?.gbps ?? null,
    pseudo_gradient_bytes: pseudoGradient,
    wan_bytes_per_site_per_sync: wanPerSite,
    wan_bytes_total_per_sync: wanPerSite * S,
    intra_site_sync_seconds: intraSync,
    wan_sync_seconds: wanSync,
    sync_seconds: sync,
    compute_seconds_per_outer_step: compute,
    straggler_wait_seconds_per_outer_step: stragglerWait,
    exposed_sync_seconds_per_outer_step: exposed,
    outer_step_seconds: outer,
    compute_utilization: utilization,
    communication_share: exposed / outer,
    wan_average_gbps_per_site: (wanPerSite * 8) / GB / outer,
    throughput_tokens_per_second: (H * batch) / outer,
    throughput_flops_per_second: utilization * capacity,
    tokens_total: tokensTotal,
    inner_steps_total: innerSteps,
    outer_steps_total: outerSteps,
    wall_seconds: wall,
    wall_days: wall / 86400,
    gpu_hours: (wall * gpusUsed) / 3600,
    best_single_site: best.id,
    best_single_site_wall_seconds: best.seconds,
    speedup_over_best_site: speedup,
    verdict,
    verdict_reason: verdictReason,
    convergence_assumptions: convergence,
    assumptions: [
      `FLOPs: ${work.accounting}; ${(work.flopsPerToken / N).toPrecision(3)} FLOPs per parameter per token`,
      ...(used.some((p) => p.site.innerStepS === undefined) ? [`inner steps at each site's MFU (${[...new Set(used.filter((p) => p.site.innerStepS === undefined).map((p) => `${p.site.gpu.id} ${pct(p.mfu)}`))].join(', ')} of peak); a replica's own tensor / pipeline / data parallelism over NVLink or InfiniBand is inside that MFU`] : []),
      ...used.filter((p) => p.site.innerStepS !== undefined).map((p) => `site ${p.site.id}: one inner step of one replica as measured, ${secs(p.site.innerStepS ?? 0)} at ${Math.round(perReplicaBatch).toLocaleString('en-US')} tokens (--step-time): it stands for the catalog's FLOPs and efficiency, and the batch share follows from it`),
      `a replica holds ${MODEL_STATE_BYTES_PER_PARAM} bytes/parameter of model states sharded over its GPUs (ZeRO-3 / FSDP); DiLoCo's outer state (FP32 copy and momentum) in host memory, as PRIME keeps it; activations not counted`,
      'synchronization: hierarchical all-reduce, in three sequential phases — reduce-scatter among a site\'s replicas (2(k−1)/k · N·b over GPUs-per-replica × per-GPU site bandwidth for the round trip), a ring across sites, all-gather back (scheduling-research.md §4.2–4.3)',
      'WAN ring: 2(S−1) steps, each sending N·b/S over every ring link at once and waiting for the slowest (chunk ÷ achieved Gb/s + one-way latency); the ring is the one whose slowest step is fastest; links carry only this job, one direction each',
      req.overlap === undefined
        ? 'no overlap: the replicas stop computing while they synchronize (DiLoCo as published)'
        : `overlap: synchronization runs during the next ${hiddenSteps} inner steps (${req.overlap.fragments} fragment${req.overlap.fragments === 1 ? '' : 's'}); only what exceeds them stalls`,
      `time to finish: ${Math.ceil(innerSteps).toLocaleString('en-US')} inner steps of ${Math.round(batch).toLocaleString('en-US')} tokens, the last partial step and synchronization counted pro rata; steady state — no node churn, restarts, evaluation or checkpoint stalls (INTELLECT-1's 83–96% includes them)`,
      `best single site: the same tokens on that site's replica GPUs alone, synchronous inside the site at the same MFU`,
    ],
    warnings,
  };
}

/** The convergence assumptions a plan relies on, each with its source; which apply depends on H, b, overlap and stragglers. */
function convergenceAssumptions(req: SpanRequest, H: number, b: number, R: number): string[] {
  if (H === 1) {
    return [
      'H = 1 is synchronous data parallelism: every step averages the gradients, so the optimizer and its convergence are those of ordinary training',
      ...(b < 2 ? [`gradients compressed to ${b} bytes/parameter every step: quality then depends on the compressor (e.g. error feedback), not modelled`] : []),
    ];
  }
  const compression =
    b >= 4 ? 'FP32 pseudo-gradients: exact averaging'
      : b >= 2 ? 'FP16/BF16 pseudo-gradients all-reduced without degradation (OpenDiLoCo, arXiv 2407.07852)'
        : b >= 1 ? 'int8 pseudo-gradients at 10B parameters with comparable quality (INTELLECT-1, arXiv 2412.01152: 400× less bandwidth than data parallelism)'
          : b >= 0.5 ? '4-bit outer gradients with the same quality as data parallelism (Streaming DiLoCo, arXiv 2501.18512)'
            : `${b} bytes/parameter: no published evidence; quality unknown`;
  return [
    `DiLoCo: inner AdamW for H = ${H} steps per replica, outer Nesterov momentum on the averaged pseudo-gradient; 8 workers with H = 500 matched synchronous training on C4 while communicating 500× less (Douillard et al. 2023, arXiv 2311.08105)`,
    `the same tokens reach the same loss as synchronous training (convergence penalty q(H, R) = 1): reported for H ≤ ${PUBLISHED_MAX_INNER_STEPS} and R ≤ ${PUBLISHED_MAX_REPLICAS}; DiLoCo scales predictably with model size and tolerates larger batches (Charles et al. 2025, arXiv 2503.09799)${R > PUBLISHED_MAX_REPLICAS || H > PUBLISHED_MAX_INNER_STEPS ? ' — this plan is outside that range (see warnings)' : ''}`,
    compression,
    ...(req.overlap === undefined ? [] : ['overlapped synchronization applies each outer update one round late: eager updates (Kale, Douillard, Donchev 2025, arXiv 2502.12996) and Streaming DiLoCo (arXiv 2501.18512) report loss comparable to DiLoCo; the delay\'s effect is not modelled']),
    req.stragglers === 'proportional'
      ? 'replicas of different speeds get batches in proportion to their speed, and pseudo-gradients are averaged weighted by tokens — an assumption: the published runs used equal replicas'
      : 'equal batches on every replica, averaged equally, as DiLoCo, OpenDiLoCo and INTELLECT-1 ran; fast replicas wait for the slowest',
  ];
}

/** One point of a utilization curve: the request with every WAN link's bandwidth scaled and H set. */
export interface SpanCurvePoint {
  readonly inner_steps_per_sync: number;
  readonly bandwidth_factor: number;
  readonly slowest_link_gbps: number;
  readonly compute_utilization: number;
  readonly wall_seconds: number;
}

/**
 * Compute utilization and time to finish along WAN bandwidth (every link scaled by
 * each factor) for each H — the chart behind `plan span --chart`.
 */
export function spanCurve(req: SpanRequest, bandwidthFactors: readonly number[], innerSteps: readonly number[]): SpanCurvePoint[] {
  const slowest = Math.min(...req.links.map((l) => l.gbps));
  return innerSteps.flatMap((H) => bandwidthFactors.map((f) => {
    positiveNumber('bandwidth factor', f);
    const p = planSpan({ ...req, innerSteps: H, links: req.links.map((l) => ({ ...l, gbps: l.gbps * f })) });
    return { inner_steps_per_sync: H, bandwidth_factor: f, slowest_link_gbps: slowest * f, compute_utilization: p.compute_utilization, wall_seconds: p.wall_seconds };
  }));
}
