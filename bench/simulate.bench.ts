// Trace replay speed: the 82K-job Philly trace and the 125K-job Helios Venus trace,
// each policy, pooled (target: ≤ 5 s per replay on one core). Needs ../shared/data.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { POLICY_NAMES } from '../src/sched/policies/registry.ts';
import { simulate } from '../src/sim/engine.ts';
import { poolFromTrace } from '../src/sim/pools/from-trace.ts';
import { parseTrace, type TraceFormat } from '../src/sim/traces/index.ts';
import { milliseconds, report, type BenchResult } from './harness.ts';
import { DATA_DIR } from '../test/support/data.ts';

const TRACES: { name: string; file: string; format: TraceFormat }[] = [
  { name: 'philly 82K', file: 'traces/philly/philly_pollux_jobs.csv', format: 'philly-pollux' },
  { name: 'helios-venus 125K', file: 'traces/helios-venus/helios_venus_gpu_jobs_clamped48h.csv', format: 'helios' },
];

export function benchSimulate(rounds = 3): void {
  const results: BenchResult[] = [];
  for (const t of TRACES) {
    const path = join(DATA_DIR, t.file);
    if (!existsSync(path)) {
      console.log(`skipped ${t.name}: ${path} is absent (see shared/data/README.md for the public source)`);
      continue;
    }
    const text = readFileSync(path, 'utf8');
    results.push(milliseconds(`${t.name}: parse`, () => parseTrace(text, t.format, { file: t.file }), rounds));
    const trace = parseTrace(text, t.format, { file: t.file });
    const { pool } = poolFromTrace(trace.jobs, { kind: 'load', targetLoad: 0.8, gpusPerNode: 8 });
    for (const policy of POLICY_NAMES) {
      results.push(milliseconds(`${t.name}: replay, ${policy}, pooled, load 0.8`, () => simulate({ pool, jobs: trace.jobs, scheduler: { policy } }), rounds));
    }
  }
  report('simulate', results);
}
