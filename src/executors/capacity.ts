// From an engine's nodes to the site's capacity, and whether a run can ever fit.
import { InvalidInputError } from '../model/errors.ts';
import type { Capacity } from '../model/capacity.ts';
import type { RunRequest } from './types.ts';

/** One node of an engine, as the executor saw it. */
export interface EngineNode {
  readonly name: string;
  readonly gpuType: string;
  readonly gpus: number;
  /** Can take work now (not down, drained, cordoned or not ready). */
  readonly usable: boolean;
}

const VENDOR_WORDS = new Set(['nvidia', 'tesla', 'geforce', 'quadro']);
const SERIES_WORDS = new Set(['rtx', 'gtx']);

/**
 * A GPU type in Suanli's vocabulary (`h100`, `a100`, `rtx-4090`) from the product name
 * an engine reports: nvidia-smi's `NVIDIA H100 80GB HBM3`, the Kubernetes label
 * `nvidia.com/gpu.product=NVIDIA-A100-SXM4-80GB`, `NVIDIA GeForce RTX 4090`. The
 * rule: lower case, split on spaces, dashes and underscores, drop vendor words, keep
 * the first word (joined with the next after `rtx`/`gtx`). Sites whose names this
 * gets wrong declare their type instead.
 */
export function gpuTypeFromName(name: string): string {
  const words = name
    .toLowerCase()
    .split(/[\s_-]+/)
    .filter((w) => w !== '' && !VENDOR_WORDS.has(w));
  const [first, second] = words;
  if (first === undefined) return name.trim().toLowerCase();
  return SERIES_WORDS.has(first) && second !== undefined ? `${first}-${second}` : first;
}

/** The usable nodes with GPUs, grouped by (GPU type, GPUs per node), in a stable order. */
export function capacityOf(nodes: readonly EngineNode[]): Capacity[] {
  const groups = new Map<string, { gpuType: string; gpusPerNode: number; nodes: number }>();
  for (const node of nodes) {
    if (!node.usable || node.gpus <= 0) continue;
    const key = `${node.gpuType}\0${node.gpus}`;
    const group = groups.get(key) ?? { gpuType: node.gpuType, gpusPerNode: node.gpus, nodes: 0 };
    group.nodes++;
    groups.set(key, group);
  }
  return [...groups.values()].sort((a, b) => a.gpuType.localeCompare(b.gpuType) || b.gpusPerNode - a.gpusPerNode);
}

/**
 * Throws InvalidInputError when `run` can never run on these nodes, usable or not
 * (a node that is down now may come back, so it still counts): no node of its GPU
 * type, more GPUs per node than any such node has, or more such nodes than exist.
 */
export function checkCanEverFit(run: RunRequest, nodes: readonly EngineNode[], engine: string): void {
  const ofType = run.gpuType === undefined ? nodes : nodes.filter((n) => n.gpuType === run.gpuType);
  const typed = run.gpuType === undefined ? '' : `${run.gpuType} `;
  if (ofType.length === 0) {
    const types = [...new Set(nodes.map((n) => n.gpuType))].sort().join(', ') || 'none';
    throw new InvalidInputError(run.gpuType === undefined ? 'run.nodes' : 'run.gpuType', `${engine} has no ${typed}nodes`, `one of the GPU types it has: ${types}`);
  }
  const big = ofType.filter((n) => n.gpus >= run.gpusPerNode);
  if (big.length === 0) {
    const most = Math.max(...ofType.map((n) => n.gpus));
    throw new InvalidInputError('run.gpusPerNode', `${run.gpusPerNode} GPUs on one node, but ${engine}'s ${typed}nodes have at most ${most}`, `at most ${most}`);
  }
  if (big.length < run.nodes) {
    throw new InvalidInputError('run.nodes', `${run.nodes} nodes with ${run.gpusPerNode} GPUs each, but ${engine} has ${big.length}`, `at most ${big.length}, or fewer GPUs per node`);
  }
}
