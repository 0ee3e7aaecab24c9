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
