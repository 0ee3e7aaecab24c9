import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capacityOf, checkCanEverFit, gpuTypeFromName, type EngineNode } from './capacity.ts';
import type { RunRequest } from './types.ts';

test('gpuTypeFromName: product names from nvidia-smi and node labels become Suanli GPU types', () => {
  const cases: [string, string][] = [
    ['NVIDIA H100 80GB HBM3', 'h100'],
    ['NVIDIA-H100-80GB-HBM3', 'h100'],
    ['NVIDIA A100-SXM4-40GB', 'a100'],
    ['Tesla V100-SXM2-16GB', 'v100'],
    ['NVIDIA GeForce RTX 4090', 'rtx-4090'],
    ['NVIDIA-GeForce-RTX-4090', 'rtx-4090'],
    ['NVIDIA RTX A6000', 'rtx-a6000'],
    ['NVIDIA L40S', 'l40s'],
    ['NVIDIA H20', 'h20'],
  ];
  for (const [name, type] of cases) assert.equal(gpuTypeFromName(name), type, name);
});

const node = (name: string, gpuType: string, gpus: number, usable = true): EngineNode => ({ name, gpuType, gpus, usable });

test('capacityOf groups usable GPU nodes by type and GPUs per node', () => {
  const nodes = [node('a', 'h100', 8), node('b', 'h100', 8), node('c', 'h100', 4), node('d', 'a100', 8), node('e', 'h100', 8, false), node('f', 'gpu', 0)];
  assert.deepEqual(capacityOf(nodes), [
    { gpuType: 'a100', nodes: 1, gpusPerNode: 8 },
    { gpuType: 'h100', nodes: 2, gpusPerNode: 8 },
    { gpuType: 'h100', nodes: 1, gpusPerNode: 4 },
  ]);
});

test('checkCanEverFit counts nodes that are down now, and names the field that cannot fit', () => {
  const nodes = [node('a', 'h100', 8), node('b', 'h100', 8, false), node('c', 'a100', 4)];
  const run = (r: Partial<RunRequest>, gpuType: string | null = 'h100'): RunRequest => ({ jobId: 'j', attempt: 1, command: ['true'], gpusPerNode: 8, nodes: 2, workDir: '/w', logDir: '/l', ...(gpuType === null ? {} : { gpuType }), ...r });
  checkCanEverFit(run({}), nodes, 'here');
  assert.throws(() => checkCanEverFit(run({ nodes: 3 }), nodes, 'here'), { field: 'run.nodes', message: /3 nodes with 8 GPUs each, but here has 2/ });
  assert.throws(() => checkCanEverFit(run({ gpusPerNode: 9 }), nodes, 'here'), { field: 'run.gpusPerNode', message: /here's h100 nodes have at most 8/ });
  assert.throws(() => checkCanEverFit(run({ gpuType: 'b200' }), nodes, 'here'), { field: 'run.gpuType', accepted: 'one of the GPU types it has: a100, h100' });
  checkCanEverFit(run({ gpusPerNode: 4, nodes: 3 }, null), nodes, 'here');
});
