/**
 * What a site's engine has of one GPU type: `nodes` machines with `gpusPerNode`
 * GPUs each. Executors discover it from their engine and agents report it; it has
 * the same shape as the store's `Capacity`, so one can be passed where the other is due.
 */
export interface Capacity {
  readonly gpuType: string;
  readonly nodes: number;
  readonly gpusPerNode: number;
}

/** What an agent reported, cut to what its site declares, and what was cut, in words. */
export interface BoundedCapacity {
  readonly capacity: Capacity[];
  /** One sentence per entry cut: "h100: reported 65536 nodes, the site declares 1". Empty when nothing was. */
  readonly cut: string[];
}

/**
 * The capacity an agent may claim: per GPU type the site declares (compared without
 * case), at most the declared nodes and GPUs per node — less when the engine has
 * nodes down, never more; a type the site does not declare counts for nothing.
 * Declared types the agent did not report have no usable capacity (their nodes are down).
 */
export function boundCapacity(reported: readonly Capacity[], declared: readonly Capacity[]): BoundedCapacity {
  const cut: string[] = [];
  const byType = new Map<string, Capacity>();
  for (const r of reported) {
    const key = r.gpuType.toLowerCase();
    const seen = byType.get(key);
    byType.set(key, seen === undefined ? r : { ...seen, nodes: seen.nodes + r.nodes, gpusPerNode: Math.max(seen.gpusPerNode, r.gpusPerNode) });
  }
  const capacity: Capacity[] = [];
  for (const d of declared) {
    const r = byType.get(d.gpuType.toLowerCase());
    byType.delete(d.gpuType.toLowerCase());
    if (r === undefined) {
      capacity.push({ gpuType: d.gpuType, nodes: 0, gpusPerNode: d.gpusPerNode });
      continue;
    }
    if (r.nodes > d.nodes) cut.push(`${d.gpuType}: reported ${r.nodes} nodes, the site declares ${d.nodes}`);
    if (r.gpusPerNode > d.gpusPerNode) cut.push(`${d.gpuType}: reported ${r.gpusPerNode} GPUs per node, the site declares ${d.gpusPerNode}`);
    capacity.push({ gpuType: d.gpuType, nodes: Math.min(r.nodes, d.nodes), gpusPerNode: Math.min(r.gpusPerNode, d.gpusPerNode) });
  }
  for (const r of byType.values()) cut.push(`${r.gpuType}: reported ${r.nodes} × ${r.gpusPerNode}, a GPU type the site does not declare`);
  return { capacity, cut };
}
