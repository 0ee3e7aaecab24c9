import { InvalidInputError } from '../../model/errors.ts';
import { orgId, siteId } from '../../model/ids.ts';
import { DEFAULT_SHARE_POLICY, type PoolSpec, type SiteSpec } from '../../model/pool.ts';
import { readCsv } from './csv.ts';

/**
 * Pools from published machine inventories (shared/data/README.md, "clusters/").
 * Each inventory is one org's cluster. Machines are grouped by (GPU type, GPUs
 * per machine) into sites, because a site is uniform nodes of one type; a type
 * whose machines all have the same GPU count is one site `<org>-<type>`, a type
 * with several counts is one site per count, `<org>-<type>-<n>g`. GPU type ids
 * are the file's names lower-cased, spaces made dashes (A100-SXM4-80GB →
 * a100-sxm4-80gb); machines with no GPUs are left out and counted in the notes.
 */

export const INVENTORY_KINDS = ['philly-machines', 'pai-machines', 'alibaba-spot-nodes', 'openb-nodes'] as const;
export type InventoryKind = (typeof INVENTORY_KINDS)[number];

interface InventoryFormat {
  /** The one org that owns every machine in the file. */
  readonly org: string;
  readonly typeColumn: string;
  readonly gpusColumn: string;
  /** The file's type cell → its GPU type id, before lower-casing. */
  readonly typeName: (cell: string) => string;
}

const FORMATS: { readonly [K in InventoryKind]: InventoryFormat } = {
  // philly_machines.csv: `machineId, number of GPUs, single GPU mem`. The file gives
  // only the memory per GPU (12GB or 24GB), not the model, so the type says that.
  'philly-machines': { org: 'philly', typeColumn: 'single GPU mem', gpusColumn: 'number of GPUs', typeName: (mem) => `gpu-${mem}` },
  // alibaba_pai_2020_machines.csv: `machine, gpu_type, cap_cpu, cap_mem, cap_gpu`; CPU machines have cap_gpu 0.
  'pai-machines': { org: 'pai', typeColumn: 'gpu_type', gpusColumn: 'cap_gpu', typeName: (t) => t },
  // alibaba_2026_spot_gpu_nodes.csv: `gpu_model, gpu_capacity_num, cpu_num, node_name`.
  'alibaba-spot-nodes': { org: 'alibaba-spot', typeColumn: 'gpu_model', gpusColumn: 'gpu_capacity_num', typeName: (t) => t },
  // openb_node_list_{gpu,all}_node.csv: `sn, cpu_milli, memory_mib, gpu, model`; CPU nodes have gpu 0 and no model.
  'openb-nodes': { org: 'openb', typeColumn: 'model', gpusColumn: 'gpu', typeName: (t) => t },
};

export interface InventoryPool {
  readonly pool: PoolSpec;
  /** Machines (rows) in the file, with or without GPUs. */
  readonly machines: number;
  readonly notes: readonly string[];
}

export function poolFromInventory(text: string, file: string, kind: InventoryKind): InventoryPool {
  const format = FORMATS[kind];
  const rows = readCsv(text, file, 'pool', [format.typeColumn, format.gpusColumn]);
  /** Machines per GPU count, per type, in the order first seen. */
  const groups = new Map<string, Map<number, number>>();
  let withoutGpus = 0;
  for (const row of rows) {
    const gpus = row.count(format.gpusColumn);
    if (gpus === 0) {
      withoutGpus++;
      continue;
    }
    const cell = row.text(format.typeColumn);
    if (cell === '') throw new InvalidInputError('pool', `${file}: line ${row.line}: ${format.typeColumn} is empty on a machine with ${gpus} GPUs`, `a GPU type on every machine with GPUs (${kind})`);
    const type = format.typeName(cell).toLowerCase().replace(/\s+/g, '-');
    const counts = groups.get(type) ?? new Map<number, number>();
    counts.set(gpus, (counts.get(gpus) ?? 0) + 1);
    groups.set(type, counts);
  }
  if (groups.size === 0) throw new InvalidInputError('pool', `${file}: no machine has GPUs`, `an inventory with GPU machines (${kind})`);

  const sites: SiteSpec[] = [];
  for (const [type, counts] of [...groups].sort(byKey)) {
    for (const [gpusPerNode, nodes] of [...counts].sort(byKey)) {
      const id = counts.size === 1 ? `${format.org}-${type}` : `${format.org}-${type}-${gpusPerNode}g`;
      sites.push({ id: siteId(id), org: orgId(format.org), nodes, gpusPerNode, gpuType: type, share: DEFAULT_SHARE_POLICY });
    }
  }
  const gpus = sites.reduce((sum, s) => sum + s.nodes * s.gpusPerNode, 0);
  const notes = [`${file}: ${rows.length - withoutGpus} machines with ${gpus} GPUs in ${sites.length} sites of org ${format.org}`];
  if (withoutGpus > 0) notes.push(`${file}: left out ${withoutGpus} machine${withoutGpus === 1 ? '' : 's'} without GPUs`);
  return { pool: { orgs: [{ id: orgId(format.org) }], sites }, machines: rows.length, notes };
}

function byKey<K extends string | number>([a]: readonly [K, unknown], [b]: readonly [K, unknown]): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
