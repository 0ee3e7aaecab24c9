import { InvalidInputError } from '../../model/errors.ts';
import type { PoolSpec, SiteSpec } from '../../model/pool.ts';
import type { WanLinkSpec } from '../../model/span.ts';
import type { Rng } from '../rng.ts';
import { specNumber, specParams } from './spec.ts';

/**
 * WAN links for a generated pool: every site is put in a region, and every pair
 * of sites gets a link of one of two bandwidth classes, inside a region or
 * between regions. Recipe:
 *
 * 1. each site draws its region uniformly from `regions`, from `rng.fork('regions')`
 *    (a national holder's data centres may sit in different regions); a site that
 *    already has a region keeps it;
 * 2. every pair of sites gets a link: `intra` when both are in one region, else
 *    `inter`. Bandwidths are what an all-reduce between two organizations achieves
 *    (scheduling-research.md §4.3 assumes 1–10 Gb/s between organizations), not
 *    port speeds; latencies are one way.
 *
 * The default regions are the eight national computing hubs of China's
 * "East Data, West Computing" plan (东数西算, 2022); the default classes are
 * assumptions to vary: 10 Gb/s at 5 ms inside a region, 2.5 Gb/s at 30 ms across.
 */

export interface LinkClass {
  readonly gbps: number;
  readonly latencyMs: number;
}

export interface WanParams {
  readonly regions: readonly string[];
  readonly intra: LinkClass;
  readonly inter: LinkClass;
}

export const NATIONAL_HUB_REGIONS: readonly string[] = ['jingjinji', 'yangtze-delta', 'greater-bay', 'chengyu', 'inner-mongolia', 'guizhou', 'gansu', 'ningxia'];

export const DEFAULT_WAN_PARAMS: WanParams = {
  regions: NATIONAL_HUB_REGIONS,
  intra: { gbps: 10, latencyMs: 5 },
  inter: { gbps: 2.5, latencyMs: 30 },
};

/** The pool with a region on every site and a link between every two sites. */
export function withRegionalWan(pool: PoolSpec, params: WanParams, rng: Rng): PoolSpec {
  if (params.regions.length === 0) throw new InvalidInputError('wan', 'regions: none given', 'one or more region names');
  for (const [name, c] of [['intra', params.intra], ['inter', params.inter]] as const) {
    if (!(c.gbps > 0 && Number.isFinite(c.gbps))) throw new InvalidInputError('wan', `${name}: bandwidth must be above zero, got ${c.gbps}`, `${name}=GBPS:MS, e.g. 10:5`);
    if (!(c.latencyMs >= 0 && Number.isFinite(c.latencyMs))) throw new InvalidInputError('wan', `${name}: latency must be zero or more, got ${c.latencyMs}`, `${name}=GBPS:MS, e.g. 10:5`);
  }
  const regionRng = rng.fork('regions');
  const sites: SiteSpec[] = pool.sites.map((s) => (s.region === undefined ? { ...s, region: params.regions[regionRng.int(0, params.regions.length - 1)] as string } : s));
  const links: WanLinkSpec[] = [];
  for (let i = 0; i < sites.length; i++) {
    const a = sites[i] as SiteSpec;
    for (let j = i + 1; j < sites.length; j++) {
      const b = sites[j] as SiteSpec;
      const c = a.region === b.region ? params.intra : params.inter;
      links.push({ a: a.id, b: b.id, gbps: c.gbps, latencyMs: c.latencyMs });
    }
  }
  return { ...pool, sites, links };
}

/** `regions=8,intra=10:5,inter=2.5:30` (every key optional): the first `regions` hub regions and the two link classes. */
export function parseWanSpec(spec: string): WanParams {
  const given = specParams(spec.startsWith('wan') ? spec : `wan:${spec}`, 'wan', ['regions', 'intra', 'inter']);
  const d = DEFAULT_WAN_PARAMS;
  const cls = (key: string, fallback: LinkClass): LinkClass => {
    const value = given.get(key);
    if (value === undefined) return fallback;
    const [gbps = '', ms = ''] = value.split(':');
    if (ms === '') throw new InvalidInputError('wan', `${key}: expected GBPS:MS, got "${value}"`, `${key}=GBPS:MS, e.g. ${key}=10:5`);
    return { gbps: specNumber(`${key} Gb/s`, gbps, { above: 0 }), latencyMs: specNumber(`${key} ms`, ms, { atLeast: 0 }) };
  };
  const count = given.get('regions');
  const n = count === undefined ? d.regions.length : specNumber('regions', count, { integer: true, atLeast: 1, atMost: 64 });
  const regions = Array.from({ length: n }, (_, i) => NATIONAL_HUB_REGIONS[i] ?? `region-${i + 1}`);
  return { regions, intra: cls('intra', d.intra), inter: cls('inter', d.inter) };
}
