// The live path end to end, side by side with Slurm in one run (issue 16). The same
// workload through both: SUANLI_BENCH_LIVE_JOBS (1,000) trivial 1-GPU jobs (`true`),
// submitted one at a time, then waited for until all are done —
// - Slurm 22.05, 3 nodes × 8 GPUs, started as the tests start it, `sbatch --wrap=true --gres=gpu:1`;
// - `suanli serve` (embedded store) and one `suanli agent` declaring 3 × 8 GPUs on the
//   local executor, each in its own process, submissions over HTTP;
// with the bare ceiling beside them (Node spawning `sh -c true`, 24 in flight), and,
// on an idle pool, submit → running one job at a time (from the job's own events).
// Each figure is the median of SUANLI_BENCH_ROUNDS rounds (3), after a warm-up of a fifth
// as many jobs through each system.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { report, summarize, type BenchResult } from './harness.ts';
import { ADMIN, api, ROOT, ROUNDS, startServer, stop, type Server } from './serve.bench.ts';
import { slurmMissing, startSlurm, type Slurm } from '../test/support/slurm.ts';

const JOBS = Number(process.env.SUANLI_BENCH_LIVE_JOBS ?? 1000);
/** Jobs run through each system before its rounds, not measured: a warm start (code compiled, statements prepared, caches filled). */
const WARM_UP_JOBS = Math.ceil(JOBS / 5);
/** Submit → running samples on an idle pool, per round. */
const IDLE_SAMPLES = 100;
const GPUS = { nodes: 3, gpusPerNode: 8 } as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `sh -c true` processes spawned per second with 24 in flight: what the local executor cannot beat. */
async function bareSpawnRate(n: number): Promise<number> {
  const t0 = performance.now();
  let started = 0;
  const worker = async () => {
    while (started < n) {
      started++;
      await new Promise((resolve) => spawn('/bin/sh', ['-c', 'true'], { stdio: 'ignore' }).once('exit', resolve));
    }
  };
  await Promise.all(Array.from({ length: GPUS.nodes * GPUS.gpusPerNode }, worker));
  return (n * 1000) / (performance.now() - t0);
}

interface Throughput {
  readonly submittedPerS: number;
  readonly donePerS: number;
}

/** Polls `done` every `everyMs` until true (at most `timeoutMs`). */
async function until(what: string, done: () => Promise<boolean>, everyMs: number, timeoutMs = 600_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await done())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

async function slurmRound(slurm: Slurm, n: number): Promise<Throughput> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await slurm.command('sbatch', '--wrap=true', '--gres=gpu:1', '-J', 'bench', '-o', '/dev/null');
  const submitted = performance.now();
  await until('Slurm to run every job', async () => (await slurm.command('squeue', '-h', '-o', '%i')).trim() === '', 100);
  const done = performance.now();
  return { submittedPerS: (n * 1000) / (submitted - t0), donePerS: (n * 1000) / (done - t0) };
}

/** A serve process with one org, one site of 3 × 8 GPUs and its agent process on the local executor. */
interface SuanliPool {
  readonly server: Server;
  /** A member of the org: who submits, as users do. */
  readonly member: string;
  readonly agent: ChildProcess;
  readonly dir: string;
}

async function startPool(): Promise<SuanliPool> {
  const dir = mkdtempSync(join(tmpdir(), 'suanli-bench-live-'));
  const server = await startServer(join(dir, 'data'), undefined);
  await api(server, 'POST', '/api/v1/orgs', ADMIN, { id: 'acme', name: 'Acme' });
  const site = await api<{ id: string }>(server, 'POST', '/api/v1/sites', ADMIN, { name: 'acme lab', org_id: 'acme', capacity: [{ gpu_type: 'h100', nodes: GPUS.nodes, gpus_per_node: GPUS.gpusPerNode }] });
  const token = await api<{ token: string }>(server, 'POST', '/api/v1/tokens', ADMIN, { name: 'agent', role: 'agent', org_id: 'acme', site_id: site.id });
  const member = await api<{ token: string }>(server, 'POST', '/api/v1/tokens', ADMIN, { name: 'member', role: 'member', org_id: 'acme' });
  const profile = process.env.SUANLI_BENCH_PROFILE === undefined || process.env.SUANLI_BENCH_PROFILE === '' ? [] : ['--cpu-prof', '--cpu-prof-dir', process.env.SUANLI_BENCH_PROFILE];
  const agent = spawn(process.execPath, [...profile, join(ROOT, 'bin', 'suanli.js'), 'agent', '--server', server.url, '--token', token.token, '--gpus', `h100:${GPUS.nodes}x${GPUS.gpusPerNode}`, '--work-dir', join(dir, 'agent')], { stdio: ['ignore', 'ignore', 'inherit'] });
  await until('the agent to connect', async () => (await api<{ last_heartbeat_at: string | null }>(server, 'GET', `/api/v1/sites/${site.id}`, ADMIN)).last_heartbeat_at !== null, 100, 30_000);
  return { server, member: member.token, agent, dir };
}

async function stopPool(pool: SuanliPool): Promise<void> {
  const exited = new Promise((r) => pool.agent.once('exit', r));
  pool.agent.kill('SIGTERM');
  await exited;
  await stop(pool.server, 'SIGTERM');
  rmSync(pool.dir, { recursive: true, force: true });
}

/** The public metrics, as `name{labels}` → value. */
async function metrics(server: Server): Promise<Map<string, number>> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$/.exec(line);
    if (m?.[1] !== undefined) out.set(m[1], Number(m[2]));
  }
  return out;
}

const succeeded = async (server: Server) => {
  let n = 0;
  for (const [k, v] of await metrics(server)) if (k.startsWith('suanli_job_transitions_total{') && k.includes('to="succeeded"')) n += v;
  return n;
};

const submit = (pool: SuanliPool) => api<{ id: string }>(pool.server, 'POST', '/api/v1/jobs', pool.member, { name: 'bench', gpus: 1, estimate_s: 60, command: ['true'] });

async function suanliRound(pool: SuanliPool, n: number): Promise<Throughput> {
  const before = await succeeded(pool.server);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await submit(pool);
  const submitted = performance.now();
  await until('Suanli to run every job', async () => (await succeeded(pool.server)) >= before + n, 50);
  const done = performance.now();
  return { submittedPerS: (n * 1000) / (submitted - t0), donePerS: (n * 1000) / (done - t0) };
}

interface JobEvents {
  readonly submitted_at: string;
  readonly state: string;
  readonly events: readonly { type: string; at: string }[];
}

type Stage = 'placed' | 'received' | 'running';
const STAGES: readonly Stage[] = ['placed', 'received', 'running'];

/** The dispatch histograms' sums and counts per stage (suanli_dispatch_seconds). */
async function stageTotals(server: Server): Promise<Map<Stage, { sum: number; count: number }>> {
  const m = await metrics(server);
  return new Map(STAGES.map((s) => [s, { sum: m.get(`suanli_dispatch_seconds_sum{stage="${s}"}`) ?? 0, count: m.get(`suanli_dispatch_seconds_count{stage="${s}"}`) ?? 0 }]));
}

/**
 * Submit → running (the control plane recording the agent's report) of jobs submitted one at a time on an idle
 * pool, ms; and the mean of each stage over them, ms (from /metrics).
 */
async function idleLatencies(pool: SuanliPool, n: number): Promise<{ latencies: number[]; stages: Map<Stage, number> }> {
  const before = await stageTotals(pool.server);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const { id } = await submit(pool);
    let job: JobEvents | undefined;
    await until(`job ${id} to end`, async () => {
      job = await api<JobEvents>(pool.server, 'GET', `/api/v1/jobs/${id}`, ADMIN);
      return job.state === 'succeeded' || job.state === 'failed';
    }, 10, 30_000);
    const started = job?.events.find((e) => e.type === 'started')?.at;
    if (job === undefined || started === undefined) throw new Error(`job ${id} has no started event`);
    out.push(Date.parse(started) - Date.parse(job.submitted_at));
  }
  const after = await stageTotals(pool.server);
  const stages = new Map(STAGES.map((s) => {
    const [a, b] = [after.get(s), before.get(s)];
    return [s, a === undefined || b === undefined || a.count === b.count ? Number.NaN : ((a.sum - b.sum) * 1000) / (a.count - b.count)];
  }));
  return { latencies: out, stages };
}

const roundText = (t: Throughput | undefined) => (t === undefined ? '' : `${t.submittedPerS.toFixed(0)} submitted/s, ${t.donePerS.toFixed(0)} done/s`);

const percentile = (xs: readonly number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0;

export async function benchLive(): Promise<void> {
  const results: BenchResult[] = [];
  const bare: number[] = [];
  for (let r = 0; r < ROUNDS; r++) bare.push(await bareSpawnRate(JOBS));
  results.push(summarize('bare: sh -c true spawned/s (24 in flight)', 'jobs/s', bare));

  const slurmRounds: Throughput[] = [];
  // SUANLI_BENCH_SKIP_SLURM=1: Suanli alone (while working on it; the figures to report have Slurm beside them).
  const missing = process.env.SUANLI_BENCH_SKIP_SLURM === '1' ? 'SUANLI_BENCH_SKIP_SLURM=1' : slurmMissing();
  if (missing !== undefined) console.log(`live: Slurm left out: ${missing}`);
  else {
    const slurm = await startSlurm(GPUS);
    try {
      await slurmRound(slurm, WARM_UP_JOBS);
      for (let r = 0; r < ROUNDS; r++) {
        slurmRounds.push(await slurmRound(slurm, JOBS));
        console.log(`live: Slurm round ${r + 1}: ${roundText(slurmRounds[r])}`);
      }
    } finally {
      await slurm.stop();
    }
  }

  const pool = await startPool();
  const suanliRounds: Throughput[] = [];
  const p50s: number[] = [];
  const p99s: number[] = [];
  const stageMeans = new Map<Stage, number[]>(STAGES.map((s) => [s, []]));
  try {
    await suanliRound(pool, WARM_UP_JOBS);
    for (let r = 0; r < ROUNDS; r++) {
      suanliRounds.push(await suanliRound(pool, JOBS));
      console.log(`live: Suanli round ${r + 1}: ${roundText(suanliRounds[r])}`);
      await sleep(500);
      const idle = await idleLatencies(pool, IDLE_SAMPLES);
      p50s.push(percentile(idle.latencies, 50));
      p99s.push(percentile(idle.latencies, 99));
      for (const [stage, ms] of idle.stages) stageMeans.get(stage)?.push(ms);
    }
  } finally {
    await stopPool(pool);
  }

  if (slurmRounds.length > 0) {
    results.push(summarize(`Slurm 22.05 (3 × 8 GPUs): ${JOBS} jobs submitted/s`, 'jobs/s', slurmRounds.map((t) => t.submittedPerS)));
    results.push(summarize('Slurm end to end (all done)/s', 'jobs/s', slurmRounds.map((t) => t.donePerS)));
  }
  results.push(summarize(`Suanli (embedded, 1 local agent, 3 × 8 GPUs): ${JOBS} jobs submitted/s`, 'jobs/s', suanliRounds.map((t) => t.submittedPerS)));
  results.push(summarize('Suanli end to end (all done)/s', 'jobs/s', suanliRounds.map((t) => t.donePerS)));
  if (slurmRounds.length > 0) {
    // Round by round (each round's Suanli figure over the same round's Slurm figure), then the median.
    results.push(summarize('end to end: Suanli / Slurm', '×', suanliRounds.map((t, i) => t.donePerS / (slurmRounds[i]?.donePerS ?? Number.NaN))));
  }
  results.push(summarize('end to end: Suanli / bare spawn', '×', suanliRounds.map((t, i) => t.donePerS / (bare[i] ?? Number.NaN))));
  results.push(summarize(`idle pool: submit → running p50 (${IDLE_SAMPLES} jobs one at a time)`, 'ms', p50s));
  results.push(summarize('idle pool: submit → running p99', 'ms', p99s));
  const what: Record<Stage, string> = { placed: 'submitted → placed', received: 'placed → handed to the agent', running: 'handed → reported running' };
  for (const [stage, means] of stageMeans) results.push(summarize(`idle pool: ${what[stage]} (mean)`, 'ms', means));
  report('live', results);
}
