import { gbpsForEfficiency, SPAN_TARGET_EFFICIENCY, spanEfficiency, type SpanSpec } from '../model/span.ts';
import type { Choice, PlacementContext } from './placement.ts';
import type { JobRecord, PoolState, SiteState } from './state.ts';

/**
 * Where a spannable job would start across several sites now, or why it cannot:
 * all-or-nothing — either every part fits together with its share of the WAN
 * ring, or nothing is taken. Pure with respect to the state, like `place`.
 *
 * Recipe:
 * 1. every candidate site offers the whole replicas it could start now (free
 *    GPUs, within its lending limit for another org's job, on whole free nodes);
 * 2. candidate selections: the largest offers first over the whole pool, and the
 *    same starting from each region's own sites (a ring inside one region runs
 *    over its faster links); each takes sites until the job's replicas are met;
 * 3. each selection's ring visits its sites by region, then index; it needs a
 *    WAN link for every step, and its speed is that of the link with the least
 *    bandwidth left, with the longest latency;
 * 4. the selection must reach the job's minimum efficiency with the bandwidth
 *    left; the most efficient one wins (fewer sites on a tie). It holds on every
 *    ring link the bandwidth that brings it to SPAN_TARGET_EFFICIENCY (or all
 *    that is left, if less), so that other spanning jobs keep the rest.
 *
 * Inside a site a part is placed as `SiteState.choose` places a job. The ring is
 * a heuristic, not the planner's exact bottleneck ring (src/plan/span.ts): the
 * scheduler may face hundreds of sites.
 */

export interface SpanChoice {
  readonly parts: readonly Choice[];
  /** Keys of the ring's links (PoolState.links). */
  readonly links: readonly number[];
  /** Bandwidth to hold on each ring link, Gb/s. */
  readonly gbps: number;
  readonly efficiency: number;
}

/** Most sites one spanning job may use: the ring's latency grows with every site. */
export const MAX_SPAN_PARTS = 64;

interface Offer {
  readonly site: SiteState;
  /** Replicas the site could start now. */
  readonly replicas: number;
}

interface Ring {
  readonly sites: readonly Offer[];
  readonly links: readonly number[];
  /** Bandwidth left on the ring's narrowest link. */
  readonly freeGbps: number;
  readonly latencyMs: number;
}

/** Replicas `site` could start for `job` now; 0 when it may not or cannot take one. */
function offer(ctx: PlacementContext, site: SiteState, job: JobRecord, span: SpanSpec): number {
  if (!site.up) return 0;
  const borrower = site.org !== job.org;
  if (borrower && (ctx.ownSitesOnly || (site.heldFor !== null && site.heldFor.phase === 'queued'))) return 0;
  // A backfill reservation's site is left alone: a part there could delay the reserved job.
  if (ctx.reservation !== null && ctx.reservation.site === site.index && ctx.reservation.job !== job) return 0;
  const usable = borrower ? (site.spec.share.containsBorrowed === false ? 0 : Math.min(site.free, site.borrowerRoom(job))) : site.free;
  const r = span.replicaGpus;
  const replicas = Math.floor(usable / r);
  if (replicas === 0) return 0;
  // Replicas of whole nodes take whole free nodes; smaller ones are checked by the node search.
  if (r % site.gpusPerNode === 0) return Math.min(replicas, Math.floor((site.wholeFreeNodes() * site.gpusPerNode) / r));
  for (let k = replicas; k > 0; k--) if (site.choose(k * r) !== null) return k;
  return 0;
}

/** The ring through `sites` (ordered by region, then index), or a reason it cannot be formed. */
function ring(state: PoolState, sites: readonly Offer[]): Ring | string {
  const ordered = [...sites].sort((x, y) => (x.site.spec.region ?? '').localeCompare(y.site.spec.region ?? '') || x.site.index - y.site.index);
  if (ordered.length === 1) return { sites: ordered, links: [], freeGbps: Infinity, latencyMs: 0 };
  const links: number[] = [];
  let freeGbps = Infinity;
  let latencyMs = 0;
  const steps = ordered.length === 2 ? 1 : ordered.length;
  for (let i = 0; i < steps; i++) {
    const a = (ordered[i] as Offer).site;
    const b = (ordered[(i + 1) % ordered.length] as Offer).site;
    const key = state.linkKey(a.index, b.index);
    const link = state.links.get(key);
    if (link === undefined) return `no WAN link between ${a.spec.id} and ${b.spec.id}`;
    links.push(key);
    freeGbps = Math.min(freeGbps, link.gbps - link.used);
    latencyMs = Math.max(latencyMs, link.latencyMs);
  }
  return { sites: ordered, links, freeGbps, latencyMs };
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** Takes offers in order until `needed` replicas are met; null when they run out first. */
function select(offers: readonly Offer[], needed: number): Offer[] | null {
  const taken: Offer[] = [];
  let have = 0;
  for (const o of offers) {
    if (have >= needed || taken.length === MAX_SPAN_PARTS) break;
    const take = Math.min(o.replicas, needed - have);
    taken.push({ site: o.site, replicas: take });
    have += take;
  }
  return have >= needed ? taken : null;
}

/**
 * The spanning placement of `job` (which has a span spec) over `candidates`, or
 * a sentence saying why there is none, shown to users after "across sites: ".
 */
export function placeSpanning(ctx: PlacementContext, job: JobRecord, candidates: readonly number[]): SpanChoice | string {
  const span = job.spec.span;
  if (span === null || span === undefined) return 'the job does not span sites';
  const r = span.replicaGpus;
  const needed = Math.ceil(job.spec.gpus / r);
  const offers: Offer[] = [];
  let free = 0;
  // Replicas free on sites that declare no address for the other sites' parts: counted only to say so.
  let unreachable = 0;
  let unreachableSites = 0;
  for (const i of candidates) {
    const site = ctx.state.sites[i] as SiteState;
    const replicas = offer(ctx, site, job, span);
    if (replicas === 0) continue;
    if (site.spec.spanReachable === false || (site.org !== job.org && site.spec.share.isolatesBorrowed === true)) {
      unreachable += replicas;
      unreachableSites++;
      continue;
    }
    offers.push({ site, replicas });
    free += replicas;
  }
  if (free < needed) {
    const plural = (n: number) => `${n} site${n === 1 ? '' : 's'}`;
    const besides = unreachable === 0 ? '' : `; ${unreachable * r} more on ${plural(unreachableSites)} that declare${unreachableSites === 1 ? 's' : ''} no address for other sites' parts (span_endpoint) or give borrowed runs no network (share.borrowed_network)`;
    return `${free * r} of ${needed * r} GPUs free in whole replicas of ${r} on ${plural(offers.length)}${besides}`;
  }
  offers.sort((x, y) => y.replicas - x.replicas || x.site.index - y.site.index);

  const selections: Offer[][] = [];
  const whole = select(offers, needed);
  if (whole !== null) selections.push(whole);
  const regions = new Set(offers.map((o) => o.site.spec.region ?? ''));
  if (regions.size > 1) {
    for (const region of regions) {
      const first = offers.filter((o) => (o.site.spec.region ?? '') === region);
      const s = select([...first, ...offers.filter((o) => (o.site.spec.region ?? '') !== region)], needed);
      if (s !== null) selections.push(s);
    }
  }
  if (selections.length === 0) return `${needed} replicas would take more than ${MAX_SPAN_PARTS} sites`;

  let best: { ring: Ring; efficiency: number } | null = null;
  let why = '';
  for (const s of selections) {
    const formed = ring(ctx.state, s);
    if (typeof formed === 'string') {
      why ||= formed;
      continue;
    }
    const efficiency = formed.freeGbps > 0 ? spanEfficiency(span, formed.sites.length, formed.freeGbps, formed.latencyMs) : 0;
    if (efficiency < span.minEfficiency) {
      why = best === null && (why === '' || why.startsWith('the best')) ? `the best ring (${formed.sites.length} sites) reaches ${pct(efficiency)} utilization, below the job's ${pct(span.minEfficiency)}${formed.freeGbps <= 0 ? ' (its WAN links are fully held by other spanning jobs)' : ''}` : why;
      continue;
    }
    if (best === null || efficiency > best.efficiency || (efficiency === best.efficiency && formed.sites.length < best.ring.sites.length)) best = { ring: formed, efficiency };
  }
  if (best === null) return why;

  const { ring: chosen } = best;
  const want = gbpsForEfficiency(span, chosen.sites.length, chosen.latencyMs, Math.max(SPAN_TARGET_EFFICIENCY, span.minEfficiency));
  const gbps = chosen.sites.length > 1 ? Math.min(chosen.freeGbps, want) : 0;
  const efficiency = chosen.sites.length > 1 ? spanEfficiency(span, chosen.sites.length, gbps, chosen.latencyMs) : 1;
  const parts: Choice[] = [];
  for (const o of chosen.sites) {
    const picked = o.site.choose(o.replicas * r);
    // `offer` checked the nodes; a failure here would be a bug in it, not a reason to show.
    if (picked === null) return `free GPUs on ${o.site.spec.id} are split across nodes`;
    parts.push({ site: o.site, nodes: picked.nodes, counts: picked.counts });
  }
  return { parts, links: chosen.sites.length > 1 ? chosen.links : [], gbps, efficiency };
}

/** The ring a spanning job holds: its links, the bandwidth on each, and the efficiency that gives. */
export interface RingHold {
  readonly links: readonly number[];
  readonly gbps: number;
  readonly efficiency: number;
}

/**
 * The ring through parts already chosen (a restored or shrinking job), with the
 * bandwidth left on its links: what to hold, or why there is no ring.
 */
export function ringOver(state: PoolState, span: SpanSpec, parts: readonly { readonly site: number; readonly gpus: number }[]): RingHold | string {
  if (parts.length === 1) return { links: [], gbps: 0, efficiency: 1 };
  const formed = ring(state, parts.map((p) => ({ site: state.sites[p.site] as SiteState, replicas: Math.floor(p.gpus / span.replicaGpus) })));
  if (typeof formed === 'string') return formed;
  if (formed.freeGbps <= 0) return 'its WAN links are fully held by other spanning jobs';
  const want = gbpsForEfficiency(span, parts.length, formed.latencyMs, Math.max(SPAN_TARGET_EFFICIENCY, span.minEfficiency));
  const gbps = Math.min(formed.freeGbps, want);
  return { links: formed.links, gbps, efficiency: spanEfficiency(span, parts.length, gbps, formed.latencyMs) };
}

/**
 * Whether `job`, running across sites, may drop its part on `site` and go on:
 * the other parts must still form a ring that meets its minimum efficiency with
 * the bandwidth it holds plus what is free. Returns the ring to hold then, or null.
 */
export function shrunkRing(state: PoolState, job: JobRecord, site: number): RingHold | null {
  const span = job.spec.span;
  const alloc = job.allocation;
  if (span === null || span === undefined || alloc === null || alloc.parts.length < 2) return null;
  const rest = alloc.parts.filter((p) => p.site !== site);
  if (rest.length === alloc.parts.length) return null;
  // What the job holds now counts as free for it.
  const held = [...new Set(alloc.wan?.links ?? [])].map((k) => state.links.get(k)).filter((l) => l !== undefined);
  const heldGbps = alloc.wan?.gbps ?? 0;
  for (const l of held) l.used -= heldGbps;
  try {
    const hold = ringOver(state, span, rest);
    return typeof hold === 'string' || hold.efficiency < span.minEfficiency ? null : hold;
  } finally {
    for (const l of held) l.used += heldGbps;
  }
}
