import { InvalidInputError } from '../../model/errors.ts';
import { orgId, siteId } from '../../model/ids.ts';
import type { JobSpec } from '../../model/job.ts';
import { DEFAULT_SHARE_POLICY, type PoolSpec, type SiteSpec } from '../../model/pool.ts';
import { GPU_CATALOG } from '../../plan/gpu-catalog.ts';
import { readCsv } from './csv.ts';
import { specNumber, specParams } from './spec.ts';

/**
 * A pool for a trace that comes without one: one org per distinct job org, one
 * site per org (site id = org id) of whole nodes, all of one GPU type — the one
 * type the jobs name, or "gpu" when they name none (or several, with a note).
 *
 * Two rules size each org's site:
 *
 * - `load` — as if the org had bought just enough for its own work:
 *     GPUs = max(largest job of the org, ⌈GPU-seconds of the org ÷ (span × targetLoad)⌉),
 *   rounded up to whole nodes of `gpusPerNode`. `span` is the whole trace's
 *   (traceSpanS), not the org's: the capacity exists for the whole experiment.
 *   At targetLoad 0.8 a silo running its own jobs back to back would be 80% busy.
 * - `given` — the GPUs each org actually had (e.g. Philly's VCs, parseVcNodes),
 *   rounded up to whole nodes; orgs not in the map fall back to the `load` rule
 *   at `fallbackLoad` (default 0.8), and each such org is named in the notes.
 *
 * `gpuTypes` makes a pool of mixed generations: the orgs, in order of their ids, take
 * the listed GPU types in turn (org i gets type i mod n). Speeds come from the planner's
 * GPU catalog (peak × efficiency, as `suanli plan` counts them) relative to the first
 * type, on which the trace's durations are taken to have been measured; an org on a
 * slower type is sized by `load` for its work at its own speed (more GPUs for the same
 * work), and fair share counts every GPU at its speed (PoolSpec.gpuSpeeds).
 *
 * The notes say, one line per org, which rule sized it and why.
 */

export const DEFAULT_TARGET_LOAD = 0.8;
export const DEFAULT_GPUS_PER_NODE = 8;
/** The site type when the jobs name no GPU type; a job with gpuTypes null runs on any type. */
export const UNTYPED_GPU = 'gpu';

export type PoolFromTraceRule = (
  | { readonly kind: 'load'; readonly targetLoad: number; readonly gpusPerNode: number }
  | { readonly kind: 'given'; readonly gpusByOrg: ReadonlyMap<string, number>; readonly gpusPerNode: number; readonly fallbackLoad?: number }
) & { readonly gpuTypes?: readonly string[] };

export interface TracePool {
  readonly pool: PoolSpec;
  /** Human-readable: what rule sized each org, and anything left out. */
  readonly notes: readonly string[];
}

/**
 * The time the trace covers: from the first submission to the last completion
 * had every job started on submission. Unlike last-minus-first submission it is
 * positive for a one-job trace and counts the tail of long jobs.
 */
export function traceSpanS(jobs: readonly JobSpec[]): number {
  let first = Infinity;
  let last = -Infinity;
  for (const j of jobs) {
    if (j.submitS < first) first = j.submitS;
    if (j.submitS + j.durationS > last) last = j.submitS + j.durationS;
  }
  return jobs.length === 0 ? 0 : last - first;
}

interface OrgLoad {
  gpuSeconds: number;
  largest: number;
}

export function poolFromTrace(jobs: readonly JobSpec[], rule: PoolFromTraceRule): TracePool {
  if (jobs.length === 0) throw new InvalidInputError('pool', 'from-trace needs a trace with at least one job', 'a non-empty trace');
  const gpn = rule.gpusPerNode;
  if (!Number.isSafeInteger(gpn) || gpn < 1) throw new InvalidInputError('pool', `gpus per node must be a whole number ≥ 1, got ${gpn}`, 'an integer ≥ 1, e.g. 8');
  const targetLoad = rule.kind === 'load' ? rule.targetLoad : (rule.fallbackLoad ?? DEFAULT_TARGET_LOAD);
  if (!(targetLoad > 0) || !Number.isFinite(targetLoad)) throw new InvalidInputError('pool', `target load must be a number above 0, got ${targetLoad}`, 'a load such as 0.8');

  const loads = new Map<string, OrgLoad>();
  const types = new Set<string>();
  for (const j of jobs) {
    const load = loads.get(j.org) ?? { gpuSeconds: 0, largest: 0 };
    load.gpuSeconds += j.gpus * j.durationS;
    load.largest = Math.max(load.largest, j.gpus);
    loads.set(j.org, load);
    for (const t of j.gpuTypes ?? []) types.add(t);
  }
  const span = traceSpanS(jobs);
  const notes: string[] = [];
  const mixed = rule.gpuTypes === undefined || rule.gpuTypes.length === 0 ? null : catalogSpeeds(rule.gpuTypes);
  if (mixed !== null && types.size > 0) {
    throw new InvalidInputError('pool', `types=${rule.gpuTypes?.join('+') ?? ''} gives orgs GPU types, but the trace's jobs require types (${[...types].sort().join(', ')}) that would then not match`, 'a trace whose jobs run on any GPU type, or no types=');
  }
  const gpuType = types.size === 1 ? ([...types][0] ?? UNTYPED_GPU) : UNTYPED_GPU;
  if (types.size > 1) notes.push(`the jobs name ${types.size} GPU types (${[...types].sort().join(', ')}); every site is typed "${UNTYPED_GPU}", which jobs that require a type do not match`);
  if (mixed !== null) notes.push(`mixed generations: ${mixed.types.map((t) => `${t} at ${mixed.speeds[t]?.toPrecision(3) ?? '1'}×`).join(', ')} (the planner's catalog, peak × efficiency); the trace's durations are taken as ${mixed.types[0] ?? ''} times`);

  const nodesFor = (gpus: number): number => Math.ceil(gpus / gpn);
  const byLoad = (org: string, load: OrgLoad, speed: number): { nodes: number; why: string } => {
    // The small slack keeps float noise (9.000000000000002) from adding a whole GPU.
    const forWork = load.gpuSeconds === 0 ? 0 : Math.ceil(load.gpuSeconds / (span * targetLoad * speed) - 1e-9);
    const nodes = nodesFor(Math.max(load.largest, forWork));
    const bound = forWork >= load.largest ? `its ${hours(load.gpuSeconds)} GPU-hours over the ${hours(span)} h span need ${forWork} GPUs at load ${targetLoad}` : `its largest job needs ${load.largest} GPUs (its work alone needs ${forWork} at load ${targetLoad})`;
    return { nodes, why: `${org}: ${nodes} nodes × ${gpn} = ${nodes * gpn} GPUs by load: ${bound}` };
  };

  const sites: SiteSpec[] = [];
  for (const [i, [org, load]] of [...loads].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).entries()) {
    const given = rule.kind === 'given' ? rule.gpusByOrg.get(org) : undefined;
    const type = mixed === null ? gpuType : (mixed.types[i % mixed.types.length] ?? gpuType);
    const speed = mixed?.speeds[type] ?? 1;
    let nodes: number;
    if (given === undefined) {
      const sized = byLoad(org, load, speed);
      nodes = sized.nodes;
      notes.push(rule.kind === 'given' ? `${sized.why} (not in the given list)` : sized.why);
    } else {
      if (!(given > 0) || !Number.isFinite(given)) throw new InvalidInputError('pool', `the given GPUs of ${org} must be a number above 0, got ${given}`, 'a positive GPU count per org');
      nodes = nodesFor(given);
      const short = load.largest > nodes * gpn ? `; its largest job (${load.largest} GPUs) can run only on borrowed GPUs` : '';
      notes.push(`${org}: ${nodes} nodes × ${gpn} = ${nodes * gpn} GPUs as given${short}`);
    }
    sites.push({ id: siteId(org), org: orgId(org), nodes, gpusPerNode: gpn, gpuType: type, share: DEFAULT_SHARE_POLICY });
    if (mixed !== null) notes[notes.length - 1] += ` (${type} at ${speed.toPrecision(3)}×)`;
  }
  if (rule.kind === 'given') {
    const idle = [...rule.gpusByOrg.keys()].filter((org) => !loads.has(org)).sort();
    if (idle.length > 0) notes.push(`in the given list but without jobs, left out of the pool: ${idle.join(', ')}`);
  }
  const pool: PoolSpec = { orgs: sites.map((s) => ({ id: s.org })), sites, ...(mixed === null ? {} : { gpuSpeeds: mixed.speeds }) };
  return { pool, notes };
}

/** Catalog GPU types (ids as the planner takes them) and their speeds relative to the first: achieved throughput, peak × efficiency. */
export function catalogSpeeds(ids: readonly string[]): { readonly types: readonly string[]; readonly speeds: Readonly<Record<string, number>> } {
  const accepted = `GPU ids of the planner's catalog joined by +, e.g. types=h100+a100: ${GPU_CATALOG.map((g) => g.id).join(', ')}`;
  const gpus = ids.map((id) => {
    const gpu = GPU_CATALOG.find((g) => g.id === id.trim().toLowerCase());
    if (gpu === undefined) throw new InvalidInputError('pool', `types: unknown GPU "${id}"`, accepted);
    return gpu;
  });
  if (new Set(gpus.map((g) => g.id)).size !== gpus.length) throw new InvalidInputError('pool', `types: a GPU is listed twice in ${ids.join('+')}`, accepted);
  const reference = gpus[0];
  if (reference === undefined) throw new InvalidInputError('pool', 'types: no GPU given', accepted);
  const achieved = (g: (typeof gpus)[number]) => g.peakFlops * g.efficiency;
  return { types: gpus.map((g) => g.id), speeds: Object.fromEntries(gpus.map((g) => [g.id, achieved(g) / achieved(reference)])) };
}

/** Philly VCs' machines have 8 GPUs each, as the Helios simulator (HeliosArtifact) assumes for philly_vc_nodes.csv. */
export const PHILLY_VC_GPUS_PER_NODE = 8;

/**
 * GPUs per org from a `vc,node num` CSV (shared/data/clusters/philly_vc_nodes.csv):
 * node count × `gpusPerNode`. For the `given` rule; a VC listed twice is an error.
 */
export function parseVcNodes(text: string, file: string, gpusPerNode = PHILLY_VC_GPUS_PER_NODE): ReadonlyMap<string, number> {
  const gpus = new Map<string, number>();
  for (const row of readCsv(text, file, 'pool', ['vc', 'node num'])) {
    const vc = row.text('vc');
    const nodes = row.count('node num');
    if (vc === '') throw new InvalidInputError('pool', `${file}: line ${row.line}: vc is empty`, 'a VC id on every row');
    if (nodes < 1) throw new InvalidInputError('pool', `${file}: line ${row.line}: node num: expected a whole number ≥ 1, got ${nodes}`, 'a node count ≥ 1');
    if (gpus.has(vc)) throw new InvalidInputError('pool', `${file}: line ${row.line}: VC ${vc} is listed twice`, 'one row per VC');
    gpus.set(vc, nodes * gpusPerNode);
  }
  return gpus;
}

/** The CLI's `from-trace`, `from-trace:load=0.8`, `from-trace:nodes=FILE[,load=0.8]`, any of them `,types=h100+a100`; the caller reads FILE. */
export interface FromTraceSpec {
  readonly targetLoad: number;
  readonly nodesFile?: string;
  /** Catalog GPU ids the orgs take in turn (a pool of mixed generations). */
  readonly gpuTypes?: readonly string[];
}

export function parseFromTraceSpec(spec: string): FromTraceSpec {
  const params = specParams(spec, 'from-trace', ['load', 'nodes', 'types']);
  const load = params.get('load');
  const targetLoad = load === undefined ? DEFAULT_TARGET_LOAD : specNumber('load', load, { above: 0 });
  const nodesFile = params.get('nodes');
  const types = params.get('types');
  return { targetLoad, ...(nodesFile === undefined ? {} : { nodesFile }), ...(types === undefined ? {} : { gpuTypes: catalogSpeeds(types.split('+')).types }) };
}

function hours(seconds: number): string {
  return (seconds / 3600).toLocaleString('en-US', { maximumFractionDigits: 1 });
}
