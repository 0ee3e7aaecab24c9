// The pool sources on the real inventories and trace in shared/data: the totals
// that shared/data/README.md states, the Philly VCs as a `given` pool, and the
// national generator and trace scaling at full size, timed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { jobId, orgId } from '../src/model/ids.ts';
import { jobDefaults, type JobSpec } from '../src/model/job.ts';
import { siteGpus, type PoolSpec } from '../src/model/pool.ts';
import { readCsv } from '../src/sim/pools/csv.ts';
import { parseVcNodes, poolFromTrace } from '../src/sim/pools/from-trace.ts';
import { poolFromInventory, type InventoryKind } from '../src/sim/pools/inventory.ts';
import { DEFAULT_NATIONAL_PARAMS, nationalPool } from '../src/sim/pools/national.ts';
import { scaleTraceToPool } from '../src/sim/pools/scale-trace.ts';
import { Rng } from '../src/sim/rng.ts';
import { dataFile } from './support/data.ts';

const gpus = (pool: PoolSpec): number => pool.sites.reduce((n, s) => n + siteGpus(s), 0);
const nodes = (pool: PoolSpec): number => pool.sites.reduce((n, s) => n + s.nodes, 0);

const inventories: readonly { file: string; kind: InventoryKind; machines: number; gpuMachines: number; gpus: number; types: number }[] = [
  { file: 'clusters/philly_machines.csv', kind: 'philly-machines', machines: 552, gpuMachines: 552, gpus: 2490, types: 2 },
  { file: 'clusters/alibaba_pai_2020_machines.csv', kind: 'pai-machines', machines: 1897, gpuMachines: 1814, gpus: 6742, types: 5 },
  { file: 'clusters/alibaba_2026_spot_gpu_nodes.csv', kind: 'alibaba-spot-nodes', machines: 4278, gpuMachines: 4278, gpus: 10_412, types: 6 },
  { file: 'traces/alibaba-openb-2023/openb_node_list_gpu_node.csv', kind: 'openb-nodes', machines: 1213, gpuMachines: 1213, gpus: 6212, types: 7 },
  { file: 'traces/alibaba-openb-2023/openb_node_list_all_node.csv', kind: 'openb-nodes', machines: 1523, gpuMachines: 1213, gpus: 6212, types: 7 },
];

for (const inv of inventories) {
  test(`${inv.file}: ${inv.machines} machines, ${inv.gpus} GPUs, ${inv.types} GPU types`, (t) => {
    const path = dataFile(t, inv.file);
    if (!path) return;
    const { pool, machines } = poolFromInventory(readFileSync(path, 'utf8'), inv.file, inv.kind);
    assert.equal(machines, inv.machines);
    assert.equal(nodes(pool), inv.gpuMachines);
    assert.equal(gpus(pool), inv.gpus);
    assert.equal(new Set(pool.sites.map((s) => s.gpuType)).size, inv.types);
    assert.equal(pool.orgs.length, 1);
  });
}

test('Philly machines: 321 × 2 GPUs of 12 GB and 231 × 8 GPUs of 24 GB', (t) => {
  const path = dataFile(t, 'clusters/philly_machines.csv');
  if (!path) return;
  const { pool } = poolFromInventory(readFileSync(path, 'utf8'), 'philly_machines.csv', 'philly-machines');
  assert.deepEqual(pool.sites.map((s) => [s.id, s.nodes, s.gpusPerNode]), [['philly-gpu-12gb', 321, 2], ['philly-gpu-24gb', 231, 8]]);
});

/** The Philly trace (Pollux's copy, sorted, with ids) as jobs; VC = org. */
function phillyJobs(path: string): JobSpec[] {
  return readCsv(readFileSync(path, 'utf8'), 'philly.csv', 'trace', ['job_idx', 'vc', 'submit_s', 'duration_s', 'num_gpus']).map((row) => {
    const durationS = Number(row.text('duration_s'));
    return { ...jobDefaults(), id: jobId(row.text('job_idx')), org: orgId(row.text('vc')), gpus: row.count('num_gpus'), submitS: row.count('submit_s'), estimateS: durationS, durationS };
  });
}

test('Philly as run: 11 VCs of 8-GPU nodes given, the 4 VCs without a node count sized by load', (t) => {
  const vcPath = dataFile(t, 'clusters/philly_vc_nodes.csv');
  const tracePath = dataFile(t, 'traces/philly/philly_pollux_jobs_sorted_with_ids.csv');
  if (!vcPath || !tracePath) return;
  const given = parseVcNodes(readFileSync(vcPath, 'utf8'), 'philly_vc_nodes.csv');
  assert.equal(given.size, 11);
  assert.equal([...given.values()].reduce((a, b) => a + b, 0), 352 * 8);
  const jobs = phillyJobs(tracePath);
  assert.equal(jobs.length, 82_247);
  const { pool, notes } = poolFromTrace(jobs, { kind: 'given', gpusByOrg: given, gpusPerNode: 8 });
  assert.equal(pool.orgs.length, 15);
  const fallback = notes.filter((n) => n.endsWith('(not in the given list)'));
  assert.deepEqual(fallback.map((n) => n.split(':')[0]).sort(), ['23dbec', '51b7ef', '795a4c', '925e2b']);
  for (const site of pool.sites.filter((s) => given.has(s.org))) assert.equal(siteGpus(site), given.get(site.org), `${site.org} has its VC's GPUs`);
});

test('the default national pool has 500,000 GPUs in 200 orgs', () => {
  const pool = nationalPool(DEFAULT_NATIONAL_PARAMS, new Rng(7));
  assert.equal(gpus(pool), 500_000);
  assert.equal(pool.orgs.length, 200);
});

test('the Philly trace scaled to the national pool over one day', (t) => {
  const tracePath = dataFile(t, 'traces/philly/philly_pollux_jobs_sorted_with_ids.csv');
  if (!tracePath) return;
  const base = phillyJobs(tracePath);
  const pool = nationalPool(DEFAULT_NATIONAL_PARAMS, new Rng(7));
  const start = performance.now();
  const { jobs, perOrg } = scaleTraceToPool(base, pool, { targetLoad: 0.8, spanS: 86_400 }, new Rng(1));
  const ms = performance.now() - start;
  const target = perOrg.reduce((n, o) => n + o.targetGpuSeconds, 0);
  const work = perOrg.reduce((n, o) => n + o.gpuSeconds, 0);
  assert.ok(Math.abs(work / target - 1) < 0.05, `work ${work} vs target ${target}`);
  assert.ok(perOrg.every((o) => o.oversize === 0), 'every national org has more than 128 GPUs');
  assert.ok(jobs.length > 500_000, `${jobs.length} jobs`);
  t.diagnostic(`${base.length} Philly jobs → ${jobs.length} jobs in ${ms.toFixed(0)} ms`);
});
