import assert from 'node:assert/strict';
import { test } from 'node:test';
import { siteGpus } from '../../model/pool.ts';
import { runExperiment } from '../experiment.ts';
import { catalogSpeeds, parseFromTraceSpec, parseVcNodes, poolFromTrace, traceSpanS } from './from-trace.ts';
import { jobs } from './test-jobs.ts';

const H = 3600;
const gpusOf = (sites: readonly { org: string; nodes: number; gpusPerNode: number }[]): Record<string, number> =>
  Object.fromEntries(sites.map((s) => [s.org, s.nodes * s.gpusPerNode]));

test('the span runs from the first submission to the last completion', () => {
  assert.equal(traceSpanS(jobs([['a', 1, 100, 50], ['a', 1, 120, 500], ['b', 1, 300, 10]])), 520);
  assert.equal(traceSpanS(jobs([['a', 1, 7, 30]])), 30);
});

test('load rule: work ÷ (span × load), at least the largest job, in whole nodes', () => {
  // Span 100 h. a: 8 GPUs × 100 h = 800 GPU-h → 800 / (100 × 0.8) = 10 GPUs → 2 nodes of 8.
  // b: one 1-GPU job of 1 h → its work needs 1 GPU but its other job needs 12 → 2 nodes.
  // c: 4 GPU-h → 1 GPU → 1 node.
  const trace = jobs([
    ['a', 8, 0, 100 * H],
    ['b', 1, 0, H],
    ['b', 12, 10 * H, 60],
    ['c', 4, 50 * H, H],
  ]);
  const { pool, notes } = poolFromTrace(trace, { kind: 'load', targetLoad: 0.8, gpusPerNode: 8 });
  assert.deepEqual(gpusOf(pool.sites), { a: 16, b: 16, c: 8 });
  assert.deepEqual(pool.orgs.map((o) => o.id), ['a', 'b', 'c']);
  assert.deepEqual(pool.sites.map((s) => s.id), ['a', 'b', 'c'], 'one site per org, named after it');
  assert.ok(pool.sites.every((s) => s.gpuType === 'gpu' && s.share.lendFraction === 1));
  assert.equal(notes.length, 3);
  assert.match(notes[0] ?? '', /^a: 2 nodes × 8 = 16 GPUs by load: its 800 GPU-hours over the 100 h span need 10 GPUs at load 0\.8$/);
  assert.match(notes[1] ?? '', /^b: 2 nodes × 8 = 16 GPUs by load: its largest job needs 12 GPUs/);
  // At load 0.5 a needs 16 GPUs: exactly 2 nodes, no spill into a third from float noise.
  assert.equal(poolFromTrace(trace, { kind: 'load', targetLoad: 0.5, gpusPerNode: 8 }).pool.sites[0]?.nodes, 2);
  assert.equal(poolFromTrace(trace, { kind: 'load', targetLoad: 0.5, gpusPerNode: 4 }).pool.sites[0]?.nodes, 4);
});

test('the site type is the one type the jobs name, else "gpu" with a note when they name several', () => {
  const one = poolFromTrace(jobs([['a', 1, 0, 10, ['v100']], ['b', 1, 0, 10]]), { kind: 'load', targetLoad: 0.8, gpusPerNode: 8 });
  assert.deepEqual(one.pool.sites.map((s) => s.gpuType), ['v100', 'v100']);
  const several = poolFromTrace(jobs([['a', 1, 0, 10, ['v100']], ['b', 1, 0, 10, ['k80', 'p100']]]), { kind: 'load', targetLoad: 0.8, gpusPerNode: 8 });
  assert.deepEqual(several.pool.sites.map((s) => s.gpuType), ['gpu', 'gpu']);
  assert.match(several.notes[0] ?? '', /the jobs name 3 GPU types \(k80, p100, v100\)/);
});

test('given rule: the GPUs each org had, whole nodes; others fall back to the load rule and are named', () => {
  const trace = jobs([
    ['vc1', 8, 0, 100 * H],
    ['vc2', 64, 0, H],
    ['vc3', 8, 0, 100 * H],
  ]);
  const { pool, notes } = poolFromTrace(trace, { kind: 'given', gpusByOrg: new Map([['vc1', 20], ['vc2', 32], ['vc9', 8]]), gpusPerNode: 8, fallbackLoad: 0.5 });
  assert.deepEqual(gpusOf(pool.sites), { vc1: 24, vc2: 32, vc3: 16 });
  assert.deepEqual(notes, [
    'vc1: 3 nodes × 8 = 24 GPUs as given',
    'vc2: 4 nodes × 8 = 32 GPUs as given; its largest job (64 GPUs) can run only on borrowed GPUs',
    'vc3: 2 nodes × 8 = 16 GPUs by load: its 800 GPU-hours over the 100 h span need 16 GPUs at load 0.5 (not in the given list)',
    'in the given list but without jobs, left out of the pool: vc9',
  ]);
});

test('bad rules and empty traces are InvalidInputError', () => {
  const trace = jobs([['a', 1, 0, 10]]);
  assert.throws(() => poolFromTrace([], { kind: 'load', targetLoad: 0.8, gpusPerNode: 8 }), { code: 'invalid_input', field: 'pool' });
  assert.throws(() => poolFromTrace(trace, { kind: 'load', targetLoad: 0, gpusPerNode: 8 }), /target load must be a number above 0, got 0/);
  assert.throws(() => poolFromTrace(trace, { kind: 'load', targetLoad: 0.8, gpusPerNode: 2.5 }), /gpus per node must be a whole number ≥ 1, got 2\.5/);
  assert.throws(() => poolFromTrace(trace, { kind: 'given', gpusByOrg: new Map([['a', -8]]), gpusPerNode: 8 }), /the given GPUs of a must be a number above 0, got -8/);
});

test('parseVcNodes reads vc,node num as GPUs (8 per node by default)', () => {
  const gpus = parseVcNodes('vc,node num\n6214e9,64\r\ned69ec, 8\n\n', 'vc.csv');
  assert.deepEqual([...gpus], [['6214e9', 512], ['ed69ec', 64]]);
  assert.deepEqual([...parseVcNodes('vc,node num\nx,3\n', 'vc.csv', 4)], [['x', 12]]);
  assert.throws(() => parseVcNodes('vc,nodes\nx,3\n', 'vc.csv'), /pool: vc\.csv: line 1: no column "node num"; the header has "vc", "nodes"/);
  assert.throws(() => parseVcNodes('vc,node num\nx,three\n', 'vc.csv'), /vc\.csv: line 2: node num: expected a whole number ≥ 0, got "three"/);
  assert.throws(() => parseVcNodes('vc,node num\nx,0\n', 'vc.csv'), /vc\.csv: line 2: node num: expected a whole number ≥ 1, got 0/);
  assert.throws(() => parseVcNodes('vc,node num\nx,1\nx,2\n', 'vc.csv'), /vc\.csv: line 3: VC x is listed twice/);
  assert.throws(() => parseVcNodes('vc,node num\nx,1,2\n', 'vc.csv'), /vc\.csv: line 2: expected 2 fields as in the header, got 3/);
});

test('parseFromTraceSpec reads the CLI forms', () => {
  assert.deepEqual(parseFromTraceSpec('from-trace'), { targetLoad: 0.8 });
  assert.deepEqual(parseFromTraceSpec('from-trace:load=0.6'), { targetLoad: 0.6 });
  assert.deepEqual(parseFromTraceSpec('from-trace:nodes=data/vc.csv,load=1.2'), { targetLoad: 1.2, nodesFile: 'data/vc.csv' });
  assert.throws(() => parseFromTraceSpec('from-trace:load=0'), /pool: load: expected a number > 0, got "0"/);
  assert.throws(() => parseFromTraceSpec('from-trace:loads=0.5'), /pool: unknown key "loads" in "from-trace:loads=0\.5"; accepted: from-trace or from-trace:KEY=VALUE,… with keys load, nodes/);
  assert.throws(() => parseFromTraceSpec('from-trace:nodes='), /nodes has no value/);
  assert.throws(() => parseFromTraceSpec('from-trace:load=1,load=2'), /load is given twice/);
  assert.throws(() => parseFromTraceSpec('national'), /"national" is not a from-trace pool/);
  assert.deepEqual(parseFromTraceSpec('from-trace:load=0.8,types=H100+a100'), { targetLoad: 0.8, gpuTypes: ['h100', 'a100'] });
  assert.throws(() => parseFromTraceSpec('from-trace:types=h100+v100'), /pool: types: unknown GPU "v100"; accepted: GPU ids of the planner's catalog .*h100, h800/);
  assert.throws(() => parseFromTraceSpec('from-trace:types=a100+A100'), /types: a GPU is listed twice/);
});

test('types: orgs take the listed generations in turn, at the catalog speeds, each sized for its work at its own speed', () => {
  const { speeds } = catalogSpeeds(['h100', 'a100']);
  // Achieved throughput: H100 989 TFLOPS × 0.4, A100 312 × 0.55.
  assert.equal(speeds.h100, 1);
  assert.ok(Math.abs((speeds.a100 ?? 0) - (312 * 0.55) / (989 * 0.4)) < 1e-12);
  // Span 100 h; a and b each do 640 GPU-h: 8 GPUs at load 0.8 on H100s, 8 ÷ 0.434 → 19 → 3 nodes on A100s.
  const trace = jobs([['a', 8, 0, 80 * H], ['b', 8, 0, 80 * H], ['c', 1, 0, 100 * H]]);
  const { pool, notes } = poolFromTrace(trace, { kind: 'load', targetLoad: 0.8, gpusPerNode: 8, gpuTypes: ['h100', 'a100'] });
  assert.deepEqual(pool.sites.map((s) => [s.org, s.gpuType, siteGpus(s)]), [['a', 'h100', 8], ['b', 'a100', 24], ['c', 'h100', 8]]);
  assert.deepEqual(pool.gpuSpeeds, speeds);
  assert.match(notes[0] ?? '', /^mixed generations: h100 at 1\.00×, a100 at 0\.434× .*durations are taken as h100 times$/);
  assert.match(notes[2] ?? '', /^b: 3 nodes × 8 = 24 GPUs by load: .* \(a100 at 0\.434×\)$/);
  assert.throws(() => poolFromTrace(jobs([['a', 1, 0, 10, ['v100']]]), { kind: 'load', targetLoad: 0.8, gpusPerNode: 8, gpuTypes: ['h100'] }), /the trace's jobs require types \(v100\)/);
  // Alone, an org on A100s runs its jobs at their speed: the siloed baseline keeps the pool's speeds.
  const result = runExperiment({ pool, jobs: trace, scheduler: { policy: 'fifo' }, modes: ['siloed'] });
  const ends = result.siloed?.simulation.outcomes.map((o) => o.end_s);
  assert.deepEqual(ends?.slice(0, 2), [80 * H, (80 * H) / (speeds.a100 ?? 1)]);
});

test('every org of the trace gets exactly one site', () => {
  const trace = jobs(Array.from({ length: 50 }, (_, i) => [`o${i % 7}`, 1 + (i % 5), i * 60, 600] as const));
  const { pool } = poolFromTrace(trace, { kind: 'load', targetLoad: 0.8, gpusPerNode: 8 });
  assert.equal(pool.sites.length, 7);
  assert.ok(pool.sites.every((s) => siteGpus(s) >= 5));
});
