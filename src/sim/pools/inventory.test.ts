import assert from 'node:assert/strict';
import { test } from 'node:test';
import { siteGpus } from '../../model/pool.ts';
import { poolFromInventory, type InventoryKind } from './inventory.ts';

const summary = (text: string, kind: InventoryKind): string[] =>
  poolFromInventory(text, 'inv.csv', kind).pool.sites.map((s) => `${s.id} ${s.gpuType} ${s.nodes}x${s.gpusPerNode}`);

test('philly-machines: one site per GPU count class, typed by GPU memory', () => {
  const text = 'machineId, number of GPUs, single GPU mem\nm0,2, 12GB\nm1,2, 12GB\nm2,8, 24GB\n';
  assert.deepEqual(summary(text, 'philly-machines'), ['philly-gpu-12gb gpu-12gb 2x2', 'philly-gpu-24gb gpu-24gb 1x8']);
  const { pool, machines } = poolFromInventory(text, 'inv.csv', 'philly-machines');
  assert.deepEqual(pool.orgs, [{ id: 'philly' }]);
  assert.equal(machines, 3);
  assert.ok(pool.sites.every((s) => s.org === 'philly'));
});

test('pai-machines: a site per GPU type, CPU machines left out and counted', () => {
  const text = 'machine,gpu_type,cap_cpu,cap_mem,cap_gpu\na,CPU,96,512,0\nb,V100,96,512,8\nc,T4,96,512,2\nd,V100M32,96,512,8\ne,T4,96,512,2\n';
  assert.deepEqual(summary(text, 'pai-machines'), ['pai-t4 t4 2x2', 'pai-v100 v100 1x8', 'pai-v100m32 v100m32 1x8']);
  const { machines, notes } = poolFromInventory(text, 'inv.csv', 'pai-machines');
  assert.equal(machines, 5);
  assert.deepEqual(notes, ['inv.csv: 4 machines with 20 GPUs in 3 sites of org pai', 'inv.csv: left out 1 machine without GPUs']);
});

test('alibaba-spot-nodes: a type with several GPU counts becomes a site per count', () => {
  const text = 'gpu_model,gpu_capacity_num,cpu_num,node_name\nGPU-series-1,4,192,0\nGPU-series-1,1,192,1\nA10,1,128,2\nA100-SXM4-80GB,8,128,3\nGPU-series-1,1,192,4\n';
  assert.deepEqual(summary(text, 'alibaba-spot-nodes'), [
    'alibaba-spot-a10 a10 1x1',
    'alibaba-spot-a100-sxm4-80gb a100-sxm4-80gb 1x8',
    'alibaba-spot-gpu-series-1-1g gpu-series-1 2x1',
    'alibaba-spot-gpu-series-1-4g gpu-series-1 1x4',
  ]);
});

test('openb-nodes: by model; nodes without GPUs (all-node list) are left out', () => {
  const text = 'sn,cpu_milli,memory_mib,gpu,model\nopenb-node-0000,32000,262144,0,\nopenb-node-0001,64000,262144,2,P100\nopenb-node-0002,96000,786432,8,G2\n';
  assert.deepEqual(summary(text, 'openb-nodes'), ['openb-g2 g2 1x8', 'openb-p100 p100 1x2']);
  assert.equal(poolFromInventory(text, 'inv.csv', 'openb-nodes').pool.sites.reduce((n, s) => n + siteGpus(s), 0), 10);
});

test('errors name the file, line and column', () => {
  assert.throws(() => poolFromInventory('machine,gpu_type\na,V100\n', 'pai.csv', 'pai-machines'), /pool: pai\.csv: line 1: no column "cap_gpu"/);
  assert.throws(() => poolFromInventory('machine,gpu_type,cap_gpu\na,V100,eight\n', 'pai.csv', 'pai-machines'), /pai\.csv: line 2: cap_gpu: expected a whole number ≥ 0, got "eight"/);
  assert.throws(() => poolFromInventory('machine,gpu_type,cap_gpu\na,,8\n', 'pai.csv', 'pai-machines'), /pai\.csv: line 2: gpu_type is empty on a machine with 8 GPUs/);
  assert.throws(() => poolFromInventory('machine,gpu_type,cap_gpu\na,CPU,0\n', 'pai.csv', 'pai-machines'), /pai\.csv: no machine has GPUs/);
  assert.throws(() => poolFromInventory('', 'pai.csv', 'pai-machines'), /pai\.csv: the file is empty/);
  assert.throws(() => poolFromInventory('machine,gpu_type,cap_gpu\n"a,V100,8\n', 'pai.csv', 'pai-machines'), /pai\.csv: line 2: a quoted field is never closed/);
});

test('quoted CSV fields may hold commas and quotes; one left open is an error naming its line', () => {
  const text = 'machine,gpu_type,cap_gpu\r\n"m ""1"", rack 2",V100,8\r\nm2,V100,8\r\nm3,"T4",2';
  assert.deepEqual(summary(text, 'pai-machines'), ['pai-t4 t4 1x2', 'pai-v100 v100 2x8']);
  assert.throws(() => poolFromInventory('machine,gpu_type,cap_gpu\n"m\n2",V100,8\n', 'pai.csv', 'pai-machines'), /pai\.csv: line 2: a quoted field is never closed/);
  assert.throws(() => poolFromInventory('machine,gpu_type,cap_gpu\nm2,V100,8\nm3,T4\n', 'pai.csv', 'pai-machines'), /pai\.csv: line 3: expected 3 fields/);
});
