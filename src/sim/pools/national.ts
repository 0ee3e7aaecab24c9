import { InvalidInputError } from '../../model/errors.ts';
import { orgId, siteId } from '../../model/ids.ts';
import type { OrgSpec, PoolSpec, SiteSpec } from '../../model/pool.ts';
import type { Rng } from '../rng.ts';
import { specNumber, specParams, type SpecRange } from './spec.ts';

/**
 * A synthetic national compute pool: ~500,000 GPUs held by a few hundred orgs of
 * very unequal size — a few hyperscaler-like holders of >10,000 GPUs, a long
 * tail of labs with a node or two. The recipe (README.md has the formulas):
 *
 * 1. Org sizes: draw a Pareto(1, alpha) weight per org; give org i
 *    clamp(λ·wᵢ, min, max) nodes, with λ chosen so the sizes sum to the total —
 *    the fixed point of "clamp to [min, max], hand the remainder to the orgs
 *    still inside the bounds, repeat". Then round to whole nodes by largest
 *    remainder, so the total is exact to the node and every org within bounds.
 * 2. Sites: an org over `splitOrgsOverGpus` GPUs has k = max(2, ⌈nodes ÷
 *    ⌊maxSiteGpus ÷ gpusPerNode⌋⌉) sites of near-equal whole nodes (a national
 *    holder runs several data centres); the others have one site.
 * 3. Each site draws its GPU type from `gpuTypeMix`, independently, so one
 *    org's sites may differ in type.
 *
 * Sizes and types come from separate forks of the rng, so changing the type mix
 * does not change the org sizes of a seed.
 */

export interface GpuTypeShare {
  readonly type: string;
  readonly weight: number;
}

/**
 * An illustrative mix for a Chinese national pool around 2025, by GPU count: the
 * export-compliant Hopper and Ampere parts (H800, A800, H20) and the domestic
 * Ascend 910B beside pre-restriction H100/A100 and inference-class L20 and
 * RTX 4090. An assumption to vary, not a census: override with `gpuTypeMix`.
 */
export const DEFAULT_GPU_TYPE_MIX: readonly GpuTypeShare[] = [
  { type: 'h100', weight: 0.08 },
  { type: 'h800', weight: 0.15 },
  { type: 'a100', weight: 0.12 },
  { type: 'a800', weight: 0.15 },
  { type: 'h20', weight: 0.2 },
  { type: 'ascend-910b', weight: 0.15 },
  { type: 'l20', weight: 0.05 },
  { type: 'rtx-4090', weight: 0.1 },
];

export interface NationalParams {
  /** Total GPUs; the pool has ⌊gpus ÷ gpusPerNode⌉ whole nodes. */
  readonly gpus: number;
  readonly orgs: number;
  readonly maxOrgGpus: number;
  readonly minOrgGpus: number;
  /** Pareto tail index of the org-size weights: smaller is more unequal (1.1 ≈ an 80/20 split). */
  readonly alpha: number;
  readonly gpuTypeMix: readonly GpuTypeShare[];
  readonly gpusPerNode: number;
  /** Orgs with more GPUs than this run several sites. */
  readonly splitOrgsOverGpus: number;
  /** The largest site an org's GPUs are split into. */
  readonly maxSiteGpus: number;
  /** Every site's share policy lends this fraction, reclaims on demand, with no notice. */
  readonly lendFraction: number;
}

export const DEFAULT_NATIONAL_PARAMS: NationalParams = {
  gpus: 500_000,
  orgs: 200,
  maxOrgGpus: 16_384,
  minOrgGpus: 8,
  alpha: 1.1,
  gpuTypeMix: DEFAULT_GPU_TYPE_MIX,
  gpusPerNode: 8,
  splitOrgsOverGpus: 2048,
  maxSiteGpus: 4096,
  lendFraction: 1,
};

export function nationalPool(params: NationalParams, rng: Rng): PoolSpec {
  const p = params;
  const gpn = whole('gpusPerNode', p.gpusPerNode, 1);
  whole('orgs', p.orgs, 1);
  whole('gpus', p.gpus, 1);
  whole('minOrgGpus', p.minOrgGpus, 0);
  whole('maxOrgGpus', p.maxOrgGpus, 1);
  whole('splitOrgsOverGpus', p.splitOrgsOverGpus, 1);
  whole('maxSiteGpus', p.maxSiteGpus, gpn);
  if (!(p.alpha > 0) || !Number.isFinite(p.alpha)) throw new InvalidInputError('pool', `alpha: expected a number > 0, got ${p.alpha}`, 'a Pareto tail index such as 1.1');
  if (!(p.lendFraction >= 0 && p.lendFraction <= 1)) throw new InvalidInputError('pool', `lendFraction: expected a number from 0 to 1, got ${p.lendFraction}`, 'a fraction such as 1 or 0.5');
  const mix = checkMix(p.gpuTypeMix);

  const totalNodes = Math.round(p.gpus / gpn);
  const minNodes = Math.max(1, Math.ceil(p.minOrgGpus / gpn));
  const maxNodes = Math.floor(p.maxOrgGpus / gpn);
  const maxSiteNodes = Math.floor(p.maxSiteGpus / gpn);
  if (maxNodes < minNodes || totalNodes < p.orgs * minNodes || totalNodes > p.orgs * maxNodes) {
    throw new InvalidInputError(
      'pool',
      `gpus: ${p.gpus} GPUs (${totalNodes} nodes of ${gpn}) cannot go to ${p.orgs} orgs of ${minNodes * gpn}–${maxNodes * gpn} GPUs each`,
      `between orgs × min and orgs × max GPUs, here ${p.orgs * minNodes * gpn}–${p.orgs * maxNodes * gpn}`,
    );
  }

  const sizeRng = rng.fork('org-sizes');
  const weights = Array.from({ length: p.orgs }, () => sizeRng.pareto(1, p.alpha));
  const nodes = wholeNodes(clampedShares(weights, totalNodes, minNodes, maxNodes), totalNodes, maxNodes);

  const typeRng = rng.fork('site-types');
  const width = Math.max(3, String(p.orgs).length);
  const orgs: OrgSpec[] = [];
  const sites: SiteSpec[] = [];
  const share = { lendFraction: p.lendFraction, reclaim: true, reclaimNoticeS: 0 };
  nodes.forEach((orgNodes, i) => {
    const org = orgId(`org-${String(i + 1).padStart(width, '0')}`);
    orgs.push({ id: org });
    // Never more sites than nodes: a site has at least one node.
    const k = orgNodes * gpn > p.splitOrgsOverGpus ? Math.min(orgNodes, Math.max(2, Math.ceil(orgNodes / maxSiteNodes))) : 1;
    for (let s = 0; s < k; s++) {
      // Near-equal parts: the first (orgNodes mod k) sites get one node more.
      const siteNodes = Math.floor(orgNodes / k) + (s < orgNodes % k ? 1 : 0);
      sites.push({ id: siteId(`${org}-s${s + 1}`), org, nodes: siteNodes, gpusPerNode: gpn, gpuType: weightedType(mix, typeRng.next()), share });
    }
  });
  return { orgs, sites };
}

/**
 * sᵢ = clamp(λ·wᵢ, lo, hi) with Σsᵢ = total, by bisection on λ: the sum is
 * continuous and non-decreasing in λ, from n·lo (λ = 0) to n·hi, and the caller
 * has checked that total lies between.
 */
function clampedShares(weights: readonly number[], total: number, lo: number, hi: number): number[] {
  const sum = (lambda: number): number => weights.reduce((acc, w) => acc + Math.min(hi, Math.max(lo, lambda * w)), 0);
  let below = 0;
  let above = 1;
  while (sum(above) < total) above *= 2;
  for (let i = 0; i < 200 && above - below > above * 1e-15; i++) {
    const mid = (below + above) / 2;
    if (sum(mid) < total) below = mid;
    else above = mid;
  }
  return weights.map((w) => Math.min(hi, Math.max(lo, above * w)));
}

/**
 * Whole nodes summing to `total` exactly: floor every share, then give one more
 * node to the orgs with the largest fractional parts (ties to the lower index)
 * that are still under `hi`. Floors stay ≥ lo because lo is whole, and their sum
 * is ≤ total because the shares sum to total or a hair more (clampedShares).
 */
function wholeNodes(shares: readonly number[], total: number, hi: number): number[] {
  const nodes = shares.map((s) => Math.floor(s));
  let missing = total - nodes.reduce((a, b) => a + b, 0);
  const order = shares.map((s, i) => ({ i, rest: s - Math.floor(s) })).sort((a, b) => b.rest - a.rest || a.i - b.i);
  for (const { i } of order) {
    if (missing <= 0) break;
    if ((nodes[i] ?? hi) < hi) {
      nodes[i] = (nodes[i] ?? 0) + 1;
      missing--;
    }
  }
  // Unreachable when lo·n ≤ total ≤ hi·n: the shares sum to total within float error.
  if (missing !== 0) throw new Error(`nationalPool: rounding left ${missing} nodes unassigned`);
  return nodes;
}

function weightedType(mix: readonly GpuTypeShare[], u: number): string {
  const total = mix.reduce((a, m) => a + m.weight, 0);
  let x = u * total;
  for (const m of mix) {
    if (x < m.weight) return m.type;
    x -= m.weight;
  }
  // Float rounding can leave x a hair above the last weight.
  return mix[mix.length - 1]?.type ?? '';
}

function checkMix(mix: readonly GpuTypeShare[]): readonly GpuTypeShare[] {
  const accepted = 'a non-empty list of distinct GPU types with weights > 0';
  if (mix.length === 0) throw new InvalidInputError('pool', 'gpuTypeMix: is empty', accepted);
  const seen = new Set<string>();
  for (const m of mix) {
    if (m.type === '' || seen.has(m.type)) throw new InvalidInputError('pool', `gpuTypeMix: type ${JSON.stringify(m.type)} is empty or repeated`, accepted);
    if (!(m.weight > 0) || !Number.isFinite(m.weight)) throw new InvalidInputError('pool', `gpuTypeMix: ${m.type} has weight ${m.weight}`, accepted);
    seen.add(m.type);
  }
  return mix;
}

function whole(key: string, value: number, atLeast: number): number {
  if (!Number.isSafeInteger(value) || value < atLeast) throw new InvalidInputError('pool', `${key}: expected a whole number ≥ ${atLeast}, got ${value}`, `${key} ≥ ${atLeast}`);
  return value;
}

/** What `national:…` asks for: the generator's parameters and, if given, the seed. */
export interface NationalSpec {
  readonly params: NationalParams;
  readonly seed?: number;
}

/**
 * The CLI form `national` or `national:gpus=500000,orgs=200,max=16384,min=8,alpha=1.1,lend=1,seed=7`;
 * every key is optional and defaults to DEFAULT_NATIONAL_PARAMS. Unknown keys and
 * bad values are InvalidInputError (field 'pool') naming the key.
 */
export function parseNationalSpec(spec: string): NationalSpec {
  const given = specParams(spec, 'national', ['gpus', 'orgs', 'max', 'min', 'alpha', 'lend', 'seed']);
  const d = DEFAULT_NATIONAL_PARAMS;
  const read = (key: string, fallback: number, range: SpecRange): number => {
    const value = given.get(key);
    return value === undefined ? fallback : specNumber(key, value, range);
  };
  const params: NationalParams = {
    ...d,
    gpus: read('gpus', d.gpus, { integer: true, atLeast: 1 }),
    orgs: read('orgs', d.orgs, { integer: true, atLeast: 1 }),
    maxOrgGpus: read('max', d.maxOrgGpus, { integer: true, atLeast: 1 }),
    minOrgGpus: read('min', d.minOrgGpus, { integer: true, atLeast: 0 }),
    alpha: read('alpha', d.alpha, { above: 0 }),
    lendFraction: read('lend', d.lendFraction, { atLeast: 0, atMost: 1 }),
  };
  const seed = given.get('seed');
  return seed === undefined ? { params } : { params, seed: specNumber('seed', seed, { integer: true }) };
}
