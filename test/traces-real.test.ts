// The trace readers on the real public traces in shared/data: every row accounted
// for (jobs + CPU-only + skipped = the row counts in shared/data/README.md),
// totals that match the files, and parse times for the two largest files.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test, type TestContext } from 'node:test';
import type { JobSpec } from '../src/model/job.ts';
import { detectFormat, parseTrace, type Trace, type TraceFormat } from '../src/sim/traces/index.ts';
import { dataFile } from './support/data.ts';

/** Parse time allowed for the 82K-row Philly and 125K-row Helios files; a laptop takes well under a tenth of it. */

/** The file's text, or undefined (test skipped) when the data is absent. */
function text(t: TestContext, relative: string): string | undefined {
  const path = dataFile(t, `traces/${relative}`);
  return path === undefined ? undefined : readFileSync(path, 'utf8');
}

function parse(content: string, relative: string, format: TraceFormat, skipBadRows = false): Trace {
  assert.equal(detectFormat(content, relative), format, `${relative} is detected as ${format}`);
  return parseTrace(content, format, { file: relative, skipBadRows });
}

const orgs = (jobs: readonly JobSpec[]): string[] => [...new Set(jobs.map((j) => j.org))].sort();
const maxGpus = (jobs: readonly JobSpec[]): number => jobs.reduce((m, j) => Math.max(m, j.gpus), 0);
const gpuHours = (jobs: readonly JobSpec[]): number => jobs.reduce((s, j) => s + j.gpus * j.durationS, 0) / 3600;

function assertOrdered(jobs: readonly JobSpec[]): void {
  assert.equal(jobs[0]?.submitS, 0, 'the first job submits at 0');
  for (let i = 1; i < jobs.length; i++) {
    const [prev, next] = [jobs[i - 1], jobs[i]];
    if (prev === undefined || next === undefined || prev.submitS > next.submitS) assert.fail(`jobs ${i - 1} and ${i} are out of submit order`);
  }
}

describe('Microsoft Philly (Pollux artifact)', () => {
  test('82,247 jobs in 15 VCs, 1–128 GPUs, GPU-hours equal to the file\'s gpu_time column', (t) => {
    const content = text(t, 'philly/philly_pollux_jobs.csv');
    if (content === undefined) return;
    const trace = parse(content, 'philly/philly_pollux_jobs.csv', 'philly-pollux');
    assert.equal(trace.jobs.length, 82_247);
    assert.deepEqual([trace.skipped.length, trace.droppedCpuOnly, trace.droppedUnfinished], [0, 0, 0]);
    assert.equal(orgs(trace.jobs).length, 15);
    assert.equal(maxGpus(trace.jobs), 128);
    assert.equal(Math.round(gpuHours(trace.jobs)), 978_078);
    assertOrdered(trace.jobs);
    assert.equal(trace.jobs.at(-1)?.submitS, 9_408_690, 'Sep 4 to Dec 22, 2017');
  });

  test('the sorted file with ids gives exactly the same jobs', (t) => {
    const unsorted = text(t, 'philly/philly_pollux_jobs.csv');
    const sorted = text(t, 'philly/philly_pollux_jobs_sorted_with_ids.csv');
    if (unsorted === undefined || sorted === undefined) return;
    assert.deepEqual(parse(sorted, 'philly/philly_pollux_jobs_sorted_with_ids.csv', 'philly-pollux').jobs, parse(unsorted, 'philly/philly_pollux_jobs.csv', 'philly-pollux').jobs);
  });

});

describe('SenseTime Helios (Venus)', () => {
  test('125,303 GPU jobs of one cluster, up to 200 GPUs, clamped at 48 h', (t) => {
    const content = text(t, 'helios-venus/helios_venus_gpu_jobs_clamped48h.csv');
    if (content === undefined) return;
    const trace = parse(content, 'helios-venus/helios_venus_gpu_jobs_clamped48h.csv', 'helios');
    assert.equal(trace.jobs.length, 125_303);
    assert.deepEqual([trace.skipped.length, trace.droppedCpuOnly], [0, 0]);
    assert.deepEqual(orgs(trace.jobs), ['venus']);
    assert.equal(maxGpus(trace.jobs), 200);
    assert.equal(trace.jobs.reduce((m, j) => Math.max(m, j.durationS), 0), 48 * 3600);
    assert.equal(Math.round(gpuHours(trace.jobs)), 2_423_407);
    assertOrdered(trace.jobs);
  });

  test('the September slice: 1,867 jobs of the two VCs, up to 144 GPUs', (t) => {
    const content = text(t, 'helios-venus/helios_venus_2vc_sept.csv');
    if (content === undefined) return;
    const trace = parse(content, 'helios-venus/helios_venus_2vc_sept.csv', 'helios');
    assert.equal(trace.jobs.length, 1_867);
    assert.deepEqual(orgs(trace.jobs), ['vcvGl', 'vcvlY']);
    assert.equal(maxGpus(trace.jobs), 144);
    assert.equal(Math.round(gpuHours(trace.jobs)), 118_318);
    assertOrdered(trace.jobs);
  });
});

test('Alibaba PAI 2020 sample: 60,105 tasks, up to 400 GPUs', (t) => {
  const content = text(t, 'alibaba-pai-2020/alibaba_pai_tasks_sub16pct_clamped48h.csv');
  if (content === undefined) return;
  const trace = parse(content, 'alibaba-pai-2020/alibaba_pai_tasks_sub16pct_clamped48h.csv', 'pai');
  assert.equal(trace.jobs.length, 60_105);
  assert.deepEqual(orgs(trace.jobs), ['pai']);
  assert.equal(maxGpus(trace.jobs), 400);
  assert.equal(Math.round(gpuHours(trace.jobs)), 687_854);
  assertOrdered(trace.jobs);
});

test('Alibaba OpenB 2023: 8,152 pods = 7,063 GPU jobs + 1,088 CPU-only + 1 deleted when created', (t) => {
  const relative = 'alibaba-openb-2023/openb_pod_list_default.csv';
  const content = text(t, relative);
  if (content === undefined) return;
  assert.throws(() => parse(content, relative, 'openb'), /openb_pod_list_default\.csv:7287: column "deletion_time"/);
  const trace = parse(content, relative, 'openb', true);
  assert.deepEqual([trace.jobs.length, trace.droppedCpuOnly, trace.skipped.length], [7_063, 1_088, 1]);
  assert.equal(trace.skipped[0]?.line, 7287);
  assert.equal(maxGpus(trace.jobs), 8);
  assert.equal(Math.round(gpuHours(trace.jobs)), 59_658);
  assertOrdered(trace.jobs);
});

test('Gavel on Philly VCs: 15,264 jobs = 13,716 with a duration + 1,548 Gavel has no throughput for', (t) => {
  const relative = 'gavel-philly-vcs/gavel_msr_seed0_all_vcs_with_durations.csv';
  const content = text(t, relative);
  if (content === undefined) return;
  assert.throws(() => parse(content, relative, 'gavel'), /gavel_msr_seed0_all_vcs_with_durations\.csv:43: column "duration_s_v100": is empty/);
  const trace = parse(content, relative, 'gavel', true);
  assert.deepEqual([trace.jobs.length, trace.skipped.length], [13_716, 1_548]);
  assert.equal(orgs(trace.jobs).length, 15);
  assert.equal(maxGpus(trace.jobs), 8);
  assert.equal(Math.round(gpuHours(trace.jobs)), 762_835);
  assertOrdered(trace.jobs);
});
