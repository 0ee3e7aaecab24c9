// `suanli simulate` as users run it: real processes for exit codes, stderr and the
// files of --report; in-process runs for the figures. The fixtures under
// test/fixtures/simulate are small enough to simulate by hand, and the expected
// numbers below are worked out in the comments beside them.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { inProcess, suanli } from './support/cli.ts';
import * as fmt from '../src/cli/format.ts';
import { POLICY_NAMES } from '../src/sched/policies/registry.ts';
import type { Fairness, Summary } from '../src/sim/metrics.ts';
import { splitCsvLine } from '../src/sim/traces/csv.ts';
import { dataFile } from './support/data.ts';

const fixture = (name: string) => join(import.meta.dirname, 'fixtures', 'simulate', name);

/**
 * The pool of most tests: orgs a and b, one site each (sa, sb) of one 8-GPU node,
 * lending everything (the default share policy).
 */
const TWO_ORGS_POOL = fixture('two-orgs-pool.json');
/** a1, a2: org a, 8 GPUs, 100 s, both at 0. b1: org b, 8 GPUs, 100 s, at 300. */
const TWO_ORGS = fixture('two-orgs.csv');
/** As TWO_ORGS, but b1 arrives at 50, while a2 holds b's site. */
const CONTENDED = fixture('contended.csv');

/** The document --json prints and results.json holds. */
interface Results {
  readonly schema: string;
  readonly trace: { readonly file: string; readonly format: string; readonly jobs: number; readonly skipped_rows: number };
  readonly pool: { readonly source: string; readonly sites: number; readonly orgs: number; readonly gpus: number; readonly notes: readonly string[] };
  readonly seed: number;
  readonly backfill: boolean;
  readonly runs: readonly { readonly policy: string; readonly estimates: { readonly level: string; readonly sigma?: number }; readonly pooled: Summary | null; readonly siloed: Summary | null; readonly fairness: Fairness | null }[];
}

/** `suanli simulate ARGS --json`, in-process, parsed; fails the test on a non-zero exit. */
async function simulateJson(...args: string[]): Promise<Results> {
  const r = await inProcess(['simulate', ...args, '--json']);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as Results;
}

/** `suanli simulate ARGS`, in-process: the table. */
async function simulateTable(...args: string[]): Promise<string> {
  const r = await inProcess(['simulate', ...args]);
  assert.equal(r.code, 0, r.err);
  return r.out;
}

async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'suanli-simulate-'));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

type JobRow = Readonly<Record<string, string>>;

/** jobs.csv as its header line and one record per row, keyed by the header's names. */
async function readJobsCsv(path: string): Promise<{ header: string; rows: JobRow[] }> {
  const [header = '', ...lines] = (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '');
  const names = header.split(',');
  const rows = lines.map((line) => {
    const fields = splitCsvLine(line);
    assert.ok(Array.isArray(fields), `unclosed quote in jobs.csv: ${line}`);
    assert.equal(fields.length, names.length, `field count of: ${line}`);
    return Object.fromEntries(names.map((n, i) => [n, fields[i] ?? '']));
  });
  return { header, rows };
}

/** The row of job `id` in one run and mode. */
function jobRow(rows: readonly JobRow[], policy: string, mode: string, id: string): JobRow {
  const row = rows.find((r) => r.policy === policy && r.mode === mode && r.id === id);
  assert.ok(row, `no jobs.csv row for ${policy} ${mode} ${id}`);
  return row;
}

/** The one run of a single-policy result. */
function onlyRun(res: Results): Results['runs'][number] {
  assert.equal(res.runs.length, 1);
  return res.runs[0] as Results['runs'][number];
}

function need<T>(value: T | null | undefined, what: string): T {
  assert.ok(value !== null && value !== undefined, `${what} is missing`);
  return value;
}

/** The table row of one policy and mode (the policy label may carry "+backfill"). */
function tableRow(table: string, policy: string, mode: string): string {
  const row = table.split('\n').find((l) => new RegExp(`^${policy.replace('+', '\\+')}\\s+${mode}\\s`).test(l));
  assert.ok(row, `no table row "${policy} ${mode}" in:\n${table}`);
  return row;
}

describe('the pooling experiment, on traces small enough to check by hand', () => {
  test('the table names the trace, the pool, and every policy and mode', async () => {
    const table = await simulateTable('--trace', TWO_ORGS, '--pool', TWO_ORGS_POOL, '--policy', 'fifo,fair-share');
    assert.match(table, /^3 jobs from two-orgs\.csv \(generic\) on 16 GPUs in 2 sites of 2 orgs /);
    for (const policy of ['fifo', 'fair-share']) for (const mode of ['siloed', 'pooled']) tableRow(table, policy, mode);
    assert.match(table, /sharing incentive \(ρ = avg JCT pooled ÷ alone, per org\)/);
    assert.match(table, /^ {2}fifo: 0\.0% of orgs and 0\.0% of jobs worse off pooled than alone; worst ρ 1\.00$/m);
  });

  test('--json: schema suanli.simulate/1, snake_case keys, figures as worked out by hand', async () => {
    const res = await simulateJson('--trace', TWO_ORGS, '--pool', TWO_ORGS_POOL);
    assert.equal(res.schema, 'suanli.simulate/1');
    assert.deepEqual(res.trace, { file: 'two-orgs.csv', format: 'generic', jobs: 3, skipped_rows: 0, dropped_cpu_only: 0, dropped_unfinished: 0 });
    assert.deepEqual(res.pool, { source: TWO_ORGS_POOL, sites: 2, orgs: 2, gpus: 16, notes: [] });
    assert.equal(res.seed, 1);
    assert.equal(res.backfill, false);
    const r = onlyRun(res);
    assert.equal(r.policy, 'fair-share', 'the default policy');
    const keysOf = (x: unknown): string[] => (x !== null && typeof x === 'object' ? Object.entries(x).flatMap(([k, v]) => [Array.isArray(x) ? '' : k, ...keysOf(v)]).filter((k) => k !== '') : []);
    for (const key of keysOf(res)) assert.match(key, /^[a-z0-9_]+$/, key);

    // Siloed: a runs a1 0–100 then a2 100–200 on sa; b runs b1 300–400 on sb.
    // JCTs 100, 200, 100; queues 0, 100, 0; makespan 400 − 0; allocated 3 × 8 GPUs × 100 s of 16 × 400.
    const siloed = need(r.siloed, 'siloed');
    assert.equal(siloed.jobs, 3);
    assert.equal(siloed.done, 3);
    assert.equal(siloed.avg_jct_s, 400 / 3);
    assert.equal(siloed.p99_jct_s, 200);
    assert.equal(siloed.avg_queue_s, 100 / 3);
    assert.equal(siloed.makespan_s, 400);
    assert.equal(siloed.utilization, 2400 / (16 * 400));
    assert.deepEqual(siloed.orgs.map((o) => [o.org, o.jobs, o.done, o.avg_jct_s, o.avg_queue_s]), [['a', 2, 2, 150, 50], ['b', 1, 1, 100, 0]]);
    assert.deepEqual(siloed.orgs.map((o) => o.gpu_hours), [1600 / 3600, 800 / 3600]);

    // Pooled: a2 borrows sb at 0 and is done by 100, before b1 arrives: every JCT is 100.
    const pooled = need(r.pooled, 'pooled');
    assert.equal(pooled.avg_jct_s, 100);
    assert.equal(pooled.p99_jct_s, 100);
    assert.equal(pooled.avg_queue_s, 0);
    assert.equal(pooled.makespan_s, 400);
    assert.equal(pooled.utilization, 0.375);
    assert.deepEqual(pooled.orgs.map((o) => [o.org, o.avg_jct_s, o.avg_queue_s]), [['a', 100, 0], ['b', 100, 0]]);

    // ρ = avg JCT pooled ÷ alone: a 100/150, b 100/100. Nobody is worse off.
    const f = need(r.fairness, 'fairness');
    assert.deepEqual(f.orgs.map((o) => [o.org, o.jobs, o.avg_jct_pooled_s, o.avg_jct_alone_s, o.rho]), [['a', 2, 100, 150, 2 / 3], ['b', 1, 100, 100, 1]]);
    assert.equal(f.jobs_worse_off, 0);
    assert.equal(f.orgs_worse_off, 0);
    assert.equal(f.worst_rho, 1);
    assert.equal(f.worst_org, 'b');
  });

  test('fairness counts who pays for pooling: b waits for the GPUs a borrowed (FIFO)', async () => {
    // Pooled: a1 on sa, a2 on sb from 0 to 100; b1 arrives at 50 and starts at 100 on sb: JCT 150.
    // Alone b1 would have started at once: JCT 100. ρ_a = 100/150, ρ_b = 150/100.
    const res = await simulateJson('--trace', CONTENDED, '--pool', TWO_ORGS_POOL, '--policy', 'fifo');
    const r = onlyRun(res);
    assert.equal(need(r.pooled, 'pooled').avg_jct_s, 350 / 3);
    const f = need(r.fairness, 'fairness');
    assert.deepEqual(f.orgs.map((o) => [o.org, o.rho]), [['a', 2 / 3], ['b', 1.5]]);
    assert.equal(f.jobs_worse_off, 1 / 3);
    assert.equal(f.orgs_worse_off, 0.5);
    assert.equal(f.worst_rho, 1.5);
    assert.equal(f.worst_org, 'b');
    const table = await simulateTable('--trace', CONTENDED, '--pool', TWO_ORGS_POOL, '--policy', 'fifo');
    assert.match(tableRow(table, 'fifo', 'pooled'), /1\.50 \(b\)$/);
    assert.match(table, /fifo: 50\.0% of orgs and 33\.3% of jobs worse off pooled than alone; worst ρ 1\.50/);
  });

  test('JSON and table agree: each run’s headline figures appear, formatted, in its row', async () => {
    const args = ['--trace', CONTENDED, '--pool', TWO_ORGS_POOL, '--policy', 'all'];
    const res = await simulateJson(...args);
    const table = await simulateTable(...args);
    for (const r of res.runs) {
      for (const mode of ['pooled', 'siloed'] as const) {
        const s = need(r[mode], `${r.policy} ${mode}`);
        const row = tableRow(table, r.policy, mode);
        for (const shown of [fmt.duration(need(s.avg_jct_s, 'avg')), fmt.duration(need(s.p99_jct_s, 'p99')), fmt.duration(need(s.avg_queue_s, 'queue')), fmt.percent(s.utilization), fmt.duration(s.makespan_s)]) {
          assert.ok(row.includes(shown), `${r.policy} ${mode}: row lacks ${shown}: ${row}`);
        }
      }
    }
  });

  test('--policy all runs every registered policy, in registry order', async () => {
    const res = await simulateJson('--trace', TWO_ORGS, '--pool', TWO_ORGS_POOL, '--policy', 'all');
    assert.deepEqual(res.runs.map((r) => r.policy), POLICY_NAMES);
    for (const r of res.runs) {
      assert.equal(r.pooled?.done, 3, r.policy);
      assert.equal(r.siloed?.done, 3, r.policy);
      assert.ok(r.fairness, r.policy);
    }
  });

  test('--estimates all runs each policy at each information level: the true durations, users’ estimates with a seeded error, none', async () => {
    // A long job, then a short one on a full site: SRTF stops the long one only if it knows which is short.
    const args = ['--trace', fixture('srtf.csv'), '--pool', fixture('one-site-pool.json'), '--compare', 'pooled'];
    const res = await simulateJson(...args, '--policy', 'srtf,fair-srtf', '--estimates', 'all', '--estimate-error', '2');
    assert.deepEqual(res.runs.map((r) => [r.policy, r.estimates.level, r.estimates.sigma]), [['srtf', 'oracle', undefined], ['fair-srtf', 'oracle', undefined], ['srtf', 'user', 2], ['fair-srtf', 'user', 2], ['srtf', 'none', undefined], ['fair-srtf', 'none', undefined]]);
    assert.deepEqual([res.runs[0]?.pooled?.preemptions, res.runs[4]?.pooled?.preemptions], [1, 0], 'SRTF preempts with the true durations, not without any');
    const user = await simulateJson(...args, '--policy', 'srtf', '--estimates', 'user', '--estimate-error', '2');
    assert.deepEqual(user.runs[0]?.pooled, res.runs[2]?.pooled, 'the same seed, the same estimates');
    const table = await inProcess(['simulate', ...args, '--policy', 'fair-srtf', '--estimates', 'user,none']);
    assert.match(table.out, /fair-srtf · user \(σ=1\) +pooled/);
    assert.match(table.out, /fair-srtf · none +pooled/);
  });

  test('--compare pooled runs only the pooled mode: no siloed run, no ρ', async () => {
    const res = await simulateJson('--trace', TWO_ORGS, '--pool', TWO_ORGS_POOL, '--compare', 'pooled');
    const r = onlyRun(res);
    assert.equal(r.siloed, null);
    assert.equal(r.fairness, null);
    assert.equal(need(r.pooled, 'pooled').avg_jct_s, 100);
    const table = await simulateTable('--trace', TWO_ORGS, '--pool', TWO_ORGS_POOL, '--compare', 'pooled');
    tableRow(table, 'fair-share', 'pooled');
    assert.doesNotMatch(table, /siloed|sharing incentive/);
  });

  test('--compare siloed runs only the siloed mode', async () => {
    const r = onlyRun(await simulateJson('--trace', TWO_ORGS, '--pool', TWO_ORGS_POOL, '--compare', 'siloed'));
    assert.equal(r.pooled, null);
    assert.equal(r.fairness, null);
    assert.equal(need(r.siloed, 'siloed').avg_jct_s, 400 / 3);
  });

  test('--backfill lets a small job past a blocked FIFO head without delaying it', async () => {
    // One 8-GPU site. j1: 4 GPUs 0–100. j2 (8 GPUs, at 10) must wait for j1: it runs 100–200 either way.
    // j3 (4 GPUs, 50 s, at 20): behind j2 it runs 200–250 (JCT 230); backfilled it runs 20–70 (JCT 50), done before j2's reservation at 100.
    const base = ['--trace', fixture('backfill.csv'), '--pool', fixture('one-site-pool.json'), '--policy', 'fifo', '--compare', 'pooled'];
    const strict = await withTempDir(async (dir) => {
      const r = await inProcess(['simulate', ...base, '--report', dir]);
      assert.equal(r.code, 0, r.err);
      return (await readJobsCsv(join(dir, 'jobs.csv'))).rows;
    });
    const backfilled = await withTempDir(async (dir) => {
      const r = await inProcess(['simulate', ...base, '--backfill', '--report', dir]);
      assert.equal(r.code, 0, r.err);
      tableRow(r.out, 'fifo+backfill', 'pooled');
      return (await readJobsCsv(join(dir, 'jobs.csv'))).rows;
    });
    assert.deepEqual(['j1', 'j2', 'j3'].map((id) => jobRow(strict, 'fifo', 'pooled', id).jct_s), ['100', '190', '230']);
    assert.deepEqual(['j1', 'j2', 'j3'].map((id) => jobRow(backfilled, 'fifo', 'pooled', id).jct_s), ['100', '190', '50']);
    const res = await simulateJson(...base, '--backfill');
    assert.equal(res.backfill, true);
    assert.equal(onlyRun(res).pooled?.avg_jct_s, 340 / 3);
    assert.equal(onlyRun(res).pooled?.utilization, 1400 / (8 * 200));
  });

  test('--outage SITE:START:END fails the jobs on that site; they rerun from their last checkpoint (none yet)', async () => {
    // sa is down 50–150. Pooled (FIFO): a1 loses 50 s × 8 GPUs at 50, reruns on sb once a2 ends at 100: JCT 200.
    // Siloed: a1 reruns on sa when it is back, 150–250, and a2 follows, 250–350.
    const args = ['--trace', TWO_ORGS, '--pool', TWO_ORGS_POOL, '--policy', 'fifo', '--outage', 'sa:50:150'];
    const rows = await withTempDir(async (dir) => {
      const r = await inProcess(['simulate', ...args, '--report', dir]);
      assert.equal(r.code, 0, r.err);
      return (await readJobsCsv(join(dir, 'jobs.csv'))).rows;
    });
    const a1 = jobRow(rows, 'fifo', 'pooled', 'a1');
    assert.deepEqual([a1.start_s, a1.end_s, a1.jct_s, a1.failed_gpu_s, a1.lost_gpu_s, a1.status, a1.site], ['0', '200', '200', '400', '0', 'done', 'sb']);
    assert.deepEqual(['a1', 'a2', 'b1'].map((id) => jobRow(rows, 'fifo', 'siloed', id).jct_s), ['250', '350', '100']);
    const r = onlyRun(await simulateJson(...args));
    assert.equal(r.pooled?.avg_jct_s, 400 / 3, 'pooled avg JCT: 100 without the outage');
    assert.equal(r.siloed?.avg_jct_s, 700 / 3, 'siloed avg JCT: 400/3 without the outage');
    assert.equal(r.pooled?.gpu_hours_lost_to_failures, 400 / 3600);
    assert.equal(r.pooled?.gpu_hours_lost_to_preemption, 0);
  });

  test('--seed: the same seed gives the same results; another seed another national pool', async () => {
    const args = ['--trace', fixture('from-trace.csv'), '--pool', 'national:gpus=4096,orgs=12', '--compare', 'pooled', '--policy', 'fifo'];
    const a = await simulateJson(...args, '--seed', '5');
    const again = await simulateJson(...args, '--seed', '5');
    const other = await simulateJson(...args, '--seed', '6');
    assert.deepEqual(again, a);
    assert.equal(a.seed, 5);
    assert.equal(other.seed, 6);
    assert.notDeepEqual(other.runs, a.runs);
  });

  test('a policy or mode named twice runs once, or is refused as bad input', async () => {
    const r = await inProcess(['simulate', '--trace', TWO_ORGS, '--pool', TWO_ORGS_POOL, '--policy', 'fifo,fifo', '--compare', 'pooled,pooled']);
    if (r.code === 2) {
      assert.match(r.err, /^suanli: --(policy|compare): /);
      return;
    }
    assert.equal(r.code, 0, r.err);
    const rows = r.out.split('\n').filter((l) => /^fifo\s+pooled\s/.test(l));
    assert.equal(rows.length, 1, `one fifo pooled row, got:\n${r.out}`);
    assert.doesNotMatch(r.out, /sharing incentive/, 'no ρ section without a siloed run');
  });
});

describe('preemption when the pool is full', () => {
  test('fair share: an owner reclaims the GPUs it lent as soon as its own job waits', async () => {
    // CONTENDED: a2 borrows all of sb at 0; b1 (b's own site, within b's share) arrives at 50.
    // The policy: "owners reclaim lent GPUs by preemption". Expected: a2 stopped at 50 (no
    // checkpoint yet: 50 s × 8 GPUs lost), b1 runs 50–150, a2 reruns on sa 100–200.
    const pooledRows = async (pool: string) => withTempDir(async (dir) => {
      const r = await inProcess(['simulate', '--trace', CONTENDED, '--pool', pool, '--policy', 'fair-share', '--compare', 'pooled', '--report', dir]);
      assert.equal(r.code, 0, r.err);
      return (await readJobsCsv(join(dir, 'jobs.csv'))).rows;
    });
    // Control: the same, plus a third org's idle site that lends nothing. It changes nothing
    // for a and b, and there the reclaim happens.
    const control = await pooledRows(fixture('idle-third-site-pool.json'));
    assert.deepEqual([jobRow(control, 'fair-share', 'pooled', 'b1').start_s, jobRow(control, 'fair-share', 'pooled', 'a2').preemptions], ['50', '1']);
    const rows = await pooledRows(TWO_ORGS_POOL);
    const b1 = jobRow(rows, 'fair-share', 'pooled', 'b1');
    const a2 = jobRow(rows, 'fair-share', 'pooled', 'a2');
    assert.deepEqual([b1.start_s, b1.jct_s, a2.preemptions, a2.lost_gpu_s], ['50', '100', '1', '400'], 'b1 waits for a2 to finish instead of reclaiming sb');
  });

  test('SRTF: a short job preempts a long one when no GPU is free', async () => {
    // One 8-GPU site: "long" (1000 s) from 0; "short" (10 s) at 10. SRTF stops "long" at 10
    // (10 s × 8 GPUs lost): short runs 10–20, long reruns 20–1020.
    const srtfRows = async (pool: string) => withTempDir(async (dir) => {
      const r = await inProcess(['simulate', '--trace', fixture('srtf.csv'), '--pool', pool, '--policy', 'srtf', '--compare', 'pooled', '--report', dir]);
      assert.equal(r.code, 0, r.err);
      return (await readJobsCsv(join(dir, 'jobs.csv'))).rows;
    });
    const figures = (rows: readonly JobRow[]) => [jobRow(rows, 'srtf', 'pooled', 'short').jct_s, jobRow(rows, 'srtf', 'pooled', 'long').preemptions, jobRow(rows, 'srtf', 'pooled', 'long').lost_gpu_s];
    // Control: beside it, another org's idle site that lends nothing; there the preemption happens.
    assert.deepEqual(figures(await srtfRows(fixture('one-site-plus-idle-pool.json'))), ['10', '1', '80']);
    assert.deepEqual(figures(await srtfRows(fixture('one-site-pool.json'))), ['10', '1', '80'], 'short waits for long to finish instead of preempting it');
  });

  test('jobs.csv says why every job that queued waited, under every policy', async () => {
    // b1 queues 50 s under every policy on CONTENDED (pooled); fifo gives "0/2 sites fit: 2 too few free GPUs".
    const rows = await withTempDir(async (dir) => {
      const r = await inProcess(['simulate', '--trace', CONTENDED, '--pool', TWO_ORGS_POOL, '--policy', 'all', '--compare', 'pooled', '--report', dir]);
      assert.equal(r.code, 0, r.err);
      return (await readJobsCsv(join(dir, 'jobs.csv'))).rows;
    });
    const silent = rows.filter((r) => Number(r.queue_s) > 0 && r.wait_reason === '').map((r) => `${r.policy} ${r.id}`);
    assert.deepEqual(silent, [], 'jobs that queued with an empty wait_reason');
  });
});

describe('--report DIR', () => {
  test('writes results.json (the --json document), jobs.csv (a row per job, run and mode) and an offline report.html', async () => {
    const args = ['simulate', '--trace', CONTENDED, '--pool', TWO_ORGS_POOL, '--policy', 'fifo,fair-share'];
    await withTempDir(async (dir) => {
      const out = join(dir, 'nested', 'report');
      const r = await suanli(...args, '--report', out);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      for (const policy of ['fifo', 'fair-share']) for (const mode of ['siloed', 'pooled']) tableRow(r.stdout, policy, mode);
      assert.match(r.stdout, /report written to .*nested\/report\/report\.html$/m);

      const json = await inProcess([...args, '--json']);
      assert.deepEqual(JSON.parse(await readFile(join(out, 'results.json'), 'utf8')), JSON.parse(json.out));

      const { header, rows } = await readJobsCsv(join(out, 'jobs.csv'));
      assert.equal(header, 'policy,mode,id,org,gpus,submit_s,start_s,end_s,jct_s,queue_s,preemptions,lost_gpu_s,failed_gpu_s,status,site,wait_reason');
      assert.equal(rows.length, 3 * 2 * 2, '3 jobs × 2 policies × 2 modes');
      for (const policy of ['fifo', 'fair-share']) for (const mode of ['siloed', 'pooled']) for (const id of ['a1', 'a2', 'b1']) jobRow(rows, policy, mode, id);
      assert.deepEqual(jobRow(rows, 'fifo', 'pooled', 'b1'), {
        policy: 'fifo', mode: 'pooled', id: 'b1', org: 'b', gpus: '8', submit_s: '50', start_s: '100', end_s: '200', jct_s: '150', queue_s: '50',
        preemptions: '0', lost_gpu_s: '0', failed_gpu_s: '0', status: 'done', site: 'sb', wait_reason: '0/2 sites fit: 2 too few free GPUs',
      });
      assert.equal(jobRow(rows, 'fifo', 'siloed', 'a2').start_s, '100');

      const html = await readFile(join(out, 'report.html'), 'utf8');
      assert.match(html, /^<!doctype html>/i);
      assert.equal(html.match(/<svg[\s>]/g)?.length, 3, 'three inline SVG charts');
      // The table: per policy and mode, avg / p50 / p99 JCT, and for a pooled run its worst ρ and the share of orgs and jobs worse off.
      assert.match(html, /<th>p50 JCT \(h\)<\/th>.*<th>worst ρ<\/th><th>orgs worse off<\/th><th>jobs worse off<\/th>/);
      assert.match(html, /<tr><td>fifo<\/td><td>pooled<\/td>(<td>[^<]*<\/td>){7}<td>1\.50<\/td><td>50\.0%<\/td><td>33\.3%<\/td><\/tr>/);
      for (const title of [/utilization over time/i, /completion time, CDF/i, /fairness ρ/]) assert.match(html, new RegExp(`<h2>[^<]*${title.source}`, title.flags));
      assert.doesNotMatch(html, /<script[^>]*\ssrc=|<link[^>]*\shref=|@import|url\(\s*['"]?(https?:)?\/\//i, 'no external scripts or styles');
      const urls = [...html.matchAll(/(?:https?:)?\/\/[\w.-]+\.[a-z]{2,}[^\s"'<>)]*/gi)].map((m) => m[0]);
      assert.deepEqual(urls.filter((u) => !/^http:\/\/www\.w3\.org\/(2000\/svg|1999\/xlink)$/.test(u)), [], 'no URL but the SVG namespaces');
    });
  });
});

describe('pools', () => {
  // x: ten 1-GPU jobs of 1000 s; y: one 8-GPU job of 1000 s; all at 0, so the span is 1000 s.
  const trace = fixture('from-trace.csv');

  test('from-trace sizes each org for load 0.8; from-trace:load=0.5 for 0.5', async () => {
    // x: ⌈10,000 GPU-s ÷ (1000 s × 0.8)⌉ = 13 → 2 nodes; y: ⌈8000 ÷ 800⌉ = 10 → 2 nodes. At 0.5: 20 → 3 nodes, 16 → 2 nodes.
    const at08 = await simulateJson('--trace', trace, '--pool', 'from-trace');
    assert.deepEqual([at08.pool.sites, at08.pool.orgs, at08.pool.gpus], [2, 2, 32]);
    assert.match(at08.pool.notes[0] ?? '', /^x: 2 nodes × 8 = 16 GPUs by load/);
    const at05 = await simulateJson('--trace', trace, '--pool', 'from-trace:load=0.5');
    assert.deepEqual([at05.pool.sites, at05.pool.orgs, at05.pool.gpus], [2, 2, 40]);
    assert.equal(at05.pool.source, 'from-trace:load=0.5');
    for (const res of [at08, at05]) assert.equal(onlyRun(res).pooled?.avg_jct_s, 1000, 'every job starts at once');
  });

  test('national:gpus=4096,orgs=12,seed=3 scales the trace to --load', async () => {
    const half = await simulateJson('--trace', trace, '--pool', 'national:gpus=4096,orgs=12,seed=3', '--load', '0.5', '--compare', 'pooled', '--policy', 'fifo');
    const quarter = await simulateJson('--trace', trace, '--pool', 'national:gpus=4096,orgs=12,seed=3', '--load', '0.25', '--compare', 'pooled', '--policy', 'fifo');
    assert.equal(half.pool.gpus, 4096);
    assert.equal(half.pool.orgs, 12);
    assert.ok(half.pool.sites >= 12);
    assert.match(half.pool.notes.join('\n'), /11 base jobs → [\d,]+ jobs for 12 orgs at load 0\.5/);
    assert.ok(half.trace.jobs > 11, `scaled up from 11 jobs: ${half.trace.jobs}`);
    const ratio = quarter.trace.jobs / half.trace.jobs;
    assert.ok(ratio > 0.4 && ratio < 0.6, `half the load, about half the jobs: ${quarter.trace.jobs} vs ${half.trace.jobs}`);
    const pooled = need(onlyRun(half).pooled, 'pooled');
    assert.equal(pooled.jobs, half.trace.jobs);
    assert.equal(pooled.done, pooled.jobs);
    assert.ok(pooled.orgs.length <= 12);
    assert.ok((onlyRun(quarter).pooled?.utilization ?? 1) < pooled.utilization, 'a lighter load uses less of the pool');
  });

  test('inventory:philly-machines:FILE is one org (philly) owning every GPU: alone, the trace’s orgs run nothing', async (t) => {
    const file = dataFile(t, 'clusters/philly_machines.csv');
    if (!file) return;
    const res = await simulateJson('--trace', trace, '--pool', `inventory:philly-machines:${file}`);
    assert.deepEqual([res.pool.sites, res.pool.orgs, res.pool.gpus], [2, 1, 2490]);
    const r = onlyRun(res);
    assert.deepEqual([r.siloed?.done, r.siloed?.never_started], [0, 11]);
    assert.deepEqual([r.pooled?.done, r.pooled?.avg_jct_s], [11, 1000]);
    assert.deepEqual(r.fairness?.orgs.map((o) => [o.org, o.rho, o.enabled_by_pooling]), [['x', null, 10], ['y', null, 1]]);
    assert.equal(r.fairness?.worst_rho, null);
  });
});

/** Every bad input: exit code 2, one line on stderr naming the flag, no stack trace, nothing on stdout. */
function assertRefused(r: { code: number; out: string; err: string }, expected: RegExp): void {
  assert.equal(r.code, 2, `exit code: ${r.err}`);
  assert.match(r.err, expected);
  assert.equal(r.err.trimEnd().split('\n').length, 1, `one line: ${r.err}`);
  assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  assert.equal(r.out, '');
}

const ok = ['--trace', TWO_ORGS, '--pool', TWO_ORGS_POOL];

/** Bad values the simulate command itself rejects: "suanli: --flag: …". */
const REFUSED: readonly [string, string[], RegExp][] = [
  ['a trace file that does not exist', ['--trace', fixture('no-such.csv')], /^suanli: --trace: cannot read .*no-such\.csv: no such file/],
  ['a trace path that is a directory', ['--trace', fixture('')], /^suanli: --trace: cannot read .*: it is a directory/],
  ['a malformed row', ['--trace', fixture('bad-rows.csv'), '--pool', TWO_ORGS_POOL], /^suanli: --trace: bad-rows\.csv:3: column "duration_s": "1o0" is not a number/],
  ['a row with a column missing', ['--trace', fixture('short-row.csv'), '--pool', TWO_ORGS_POOL], /^suanli: --trace: short-row\.csv:3: column "org": missing/],
  ['a --format the file is not in', [...ok, '--format', 'philly-json'], /^suanli: --trace: two-orgs\.csv: not valid JSON/],
  ['an unknown --policy', [...ok, '--policy', 'fifo,bogus'], /^suanli: --policy: unknown policy "bogus"; accepted: fifo, sjf, srtf, las, fair-share/],
  ['an unknown --compare value', [...ok, '--compare', 'both'], /^suanli: --compare: unknown value "both"; accepted: pooled, siloed/],
  ['a pool file that is not JSON', ['--trace', TWO_ORGS, '--pool', fixture('malformed-pool.json')], /^suanli: --pool: malformed-pool\.json: not valid JSON: line 4, column 41: expected ',' or '}'/],
  ['a pool file with a bad site', ['--trace', TWO_ORGS, '--pool', fixture('bad-site-pool.json')], /^suanli: --pool: bad-site-pool\.json: sites\[1\]\.gpus_per_node: expected a whole number ≥ 1, got 0/],
  ['a pool file that does not exist', ['--trace', TWO_ORGS, '--pool', fixture('no-such.json')], /^suanli: --pool: cannot read .*no-such\.json: no such file/],
  ['an unknown inventory kind', ['--trace', TWO_ORGS, '--pool', 'inventory:foo:bar.csv'], /^suanli: --pool: "inventory:foo:bar\.csv" is not inventory:KIND:FILE/],
  ['a bad national parameter', ['--trace', TWO_ORGS, '--pool', 'national:gpus=lots'], /^suanli: --pool: gpus: expected a whole number/],
  ['an --outage without an end', [...ok, '--outage', 'sa:100'], /^suanli: --outage: "sa:100" is not SITE:START_S:END_S/],
  ['an --outage ending before it starts', [...ok, '--outage', 'sa:200:100'], /^suanli: --outage: "sa:200:100" is not SITE:START_S:END_S with END after START/],
  ['an --outage naming an unknown site', [...ok, '--outage', 'zz:1:2'], /^suanli: --outage: no site "zz" in the pool; accepted: sa, sb/],
  ['a bad --maintenance window', [...ok, '--maintenance', 'sa:x:y'], /^suanli: --maintenance: /],
  ['a --seed that is not a number', [...ok, '--seed', 'x'], /^suanli: --seed: "x" is not a whole number/],
  ['an unknown --estimates level', [...ok, '--estimates', 'oracle,guess'], /^suanli: --estimates: unknown value "guess"; accepted: oracle, user, none/],
  ['a negative --estimate-error', [...ok, '--estimates', 'user', '--estimate-error', '-1'], /^suanli: --estimate-error: must be above zero, got -1/],
  ['an --estimate-error that is not a number', [...ok, '--estimate-error', 'big'], /^suanli: --estimate-error: /],
];

/** Usage errors commander reports: "error: …". */
const USAGE: readonly [string, string[], RegExp][] = [
  ['missing --trace', ['--pool', TWO_ORGS_POOL], /^error: required option '--trace <file>' not specified$/m],
  ['an unknown --format', [...ok, '--format', 'csvx'], /^error: option '--format <format>' argument 'csvx' is invalid\. Allowed choices are generic, /],
  ['an unknown option', [...ok, '--bogus'], /^error: unknown option '--bogus'/],
];

describe('bad input, in-process: exit code 2, one line naming the flag, no stack trace, nothing on stdout', () => {
  for (const [name, args, expected] of REFUSED) {
    test(name, async () => assertRefused(await inProcess(['simulate', ...args]), expected));
  }

  test('usage errors reach run()’s err output too, not the process’s stderr', async () => {
    // run() promises tests and embedders everything it prints; commander's messages for the
    // simulate subcommand bypass it (configureOutput is set on the root program only).
    for (const [, args, expected] of USAGE) assertRefused(await inProcess(['simulate', ...args]), expected);
  });
});

describe('bad input, as a process', { concurrency: 4 }, () => {
  const spawned: readonly [string, string[], RegExp][] = [...USAGE, ...REFUSED.filter(([name]) => name === 'a malformed row' || name === 'an --outage naming an unknown site')];
  for (const [name, args, expected] of spawned) {
    test(name, async () => {
      const r = await suanli('simulate', ...args);
      assertRefused({ code: r.code, out: r.stdout, err: r.stderr }, expected);
    });
  }

  test('--skip-bad-rows skips the malformed rows, runs, and says how many', async () => {
    const table = await suanli('simulate', '--trace', fixture('bad-rows.csv'), '--pool', TWO_ORGS_POOL, '--skip-bad-rows');
    assert.equal(table.code, 0, table.stderr);
    assert.equal(table.stderr, '');
    assert.match(table.stdout, /^2 jobs from bad-rows\.csv \(generic\)/);
    assert.match(table.stdout, /^2 bad rows skipped; first: bad-rows\.csv:3: column "duration_s": "1o0" is not a number$/m);
    const res = await simulateJson('--trace', fixture('bad-rows.csv'), '--pool', TWO_ORGS_POOL, '--skip-bad-rows');
    assert.deepEqual([res.trace.jobs, res.trace.skipped_rows], [2, 2]);
  });
});

describe('real data', () => {
  test('Philly (Pollux’s copy) on its VCs’ nodes, FIFO pooled: 82,247 jobs of 15 orgs all finish', async (t) => {
    const trace = dataFile(t, 'traces/philly/philly_pollux_jobs.csv');
    const nodes = dataFile(t, 'clusters/philly_vc_nodes.csv');
    if (!trace || !nodes) return;
    const r = await suanli('simulate', '--trace', trace, '--pool', `from-trace:nodes=${nodes}`, '--policy', 'fifo', '--compare', 'pooled', '--json');
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as Results;
    assert.deepEqual([res.trace.format, res.trace.jobs, res.trace.skipped_rows], ['philly-pollux', 82_247, 0]);
    // 11 VCs are listed with their nodes; the 4 that are not are sized by load.
    assert.deepEqual([res.pool.orgs, res.pool.sites], [15, 15]);
    assert.equal(res.pool.notes.filter((n) => n.includes('(not in the given list)')).length, 4);
    const philly = onlyRun(res);
    const pooled = need(philly.pooled, 'pooled');
    assert.deepEqual([pooled.jobs, pooled.done, pooled.never_started, pooled.unfinished], [82_247, 82_247, 0, 0]);
    assert.equal(pooled.orgs.length, 15);
    assert.equal(pooled.orgs.reduce((n, o) => n + o.jobs, 0), 82_247);
    assert.ok(pooled.utilization > 0 && pooled.utilization <= 1, `utilization ${pooled.utilization}`);
    assert.equal(philly.siloed, null);
    assert.equal(philly.fairness, null);
  });
});
