import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Command, Option } from 'commander';
import { InvalidInputError } from '../model/errors.ts';
import type { JobSpec } from '../model/job.ts';
import type { PoolSpec } from '../model/pool.ts';
import { POLICIES, POLICY_NAMES, policyByName, type PolicyName } from '../sched/policies/registry.ts';
import type { Outage } from '../sim/engine.ts';
import { runExperiment, type ExperimentResult, type Mode } from '../sim/experiment.ts';
import type { Summary } from '../sim/metrics.ts';
import { parseFromTraceSpec, parseVcNodes, poolFromTrace } from '../sim/pools/from-trace.ts';
import { INVENTORY_KINDS, poolFromInventory, type InventoryKind } from '../sim/pools/inventory.ts';
import { nationalPool, parseNationalSpec } from '../sim/pools/national.ts';
import { parsePoolJson } from '../sim/pools/pool-json.ts';
import { scaleTraceToPool } from '../sim/pools/scale-trace.ts';
import { DEFAULT_ESTIMATE_SIGMA, ESTIMATE_LEVELS, estimatesLabel, jobsWithEstimates, type Estimates } from '../sim/estimates.ts';
import { Rng } from '../sim/rng.ts';
import { detectFormat, parseTrace, TRACE_FORMATS, type Trace, type TraceFormat } from '../sim/traces/index.ts';
import * as fmt from './format.ts';
import * as parse from './parse.ts';
import type { Output } from './plan-command.ts';

type Opts = Record<string, string | boolean | string[] | undefined>;

/** Everything a simulate run was given, resolved: what results.json records as its inputs. */
export interface SimulateSetup {
  readonly trace: Trace;
  readonly jobs: readonly JobSpec[];
  readonly pool: PoolSpec;
  readonly poolSource: string;
  readonly poolNotes: readonly string[];
  readonly seed: number;
  readonly policies: readonly PolicyName[];
  /** The information levels each policy runs at (oracle alone unless --estimates says otherwise). */
  readonly estimates: readonly Estimates[];
  readonly backfill: boolean;
  readonly modes: readonly Mode[];
  readonly outages: readonly Outage[];
}

export interface SimulateRun {
  readonly policy: PolicyName;
  readonly estimates: Estimates;
  /** How tables and charts name the run: the policy, and the information level when more than oracle runs. */
  readonly label: string;
  readonly result: ExperimentResult;
}

export async function readText(flag: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new InvalidInputError(flag, `cannot read ${path}${code === 'ENOENT' ? ': no such file' : code === 'EISDIR' ? ': it is a directory' : ''}`, 'a readable file');
  }
}

/** The pool named by --pool: a JSON file, from-trace[:…], national[:…] or inventory:KIND:FILE. */
async function resolvePool(spec: string, trace: Trace, seed: number, load: number, spanS: number | undefined): Promise<{ pool: PoolSpec; jobs: readonly JobSpec[]; notes: readonly string[] }> {
  if (spec === 'from-trace' || spec.startsWith('from-trace:')) {
    const s = parseFromTraceSpec(spec);
    const types = s.gpuTypes === undefined ? {} : { gpuTypes: s.gpuTypes };
    if (s.nodesFile !== undefined) {
      const gpusByOrg = parseVcNodes(await readText('pool', s.nodesFile), basename(s.nodesFile));
      const r = poolFromTrace(trace.jobs, { kind: 'given', gpusByOrg, gpusPerNode: 8, fallbackLoad: s.targetLoad, ...types });
      return { pool: r.pool, jobs: trace.jobs, notes: r.notes };
    }
    const r = poolFromTrace(trace.jobs, { kind: 'load', targetLoad: s.targetLoad, gpusPerNode: 8, ...types });
    return { pool: r.pool, jobs: trace.jobs, notes: r.notes };
  }
  if (spec === 'national' || spec.startsWith('national:')) {
    const s = parseNationalSpec(spec);
    const rng = new Rng(s.seed ?? seed);
    const pool = nationalPool(s.params, rng.fork('pool'));
    const scaled = scaleTraceToPool(trace.jobs, pool, { targetLoad: load, ...(spanS !== undefined ? { spanS } : {}) }, rng.fork('trace'));
    return { pool, jobs: scaled.jobs, notes: scaled.notes };
  }
  if (spec.startsWith('inventory:')) {
    const [, kind, ...rest] = spec.split(':');
    const file = rest.join(':');
    if (!INVENTORY_KINDS.includes(kind as InventoryKind) || file === '') throw new InvalidInputError('pool', `"${spec}" is not inventory:KIND:FILE`, `inventory:{${INVENTORY_KINDS.join('|')}}:FILE`);
    const r = poolFromInventory(await readText('pool', file), basename(file), kind as InventoryKind);
    return { pool: r.pool, jobs: trace.jobs, notes: r.notes };
  }
  return { pool: parsePoolJson(await readText('pool', spec), basename(spec)), jobs: trace.jobs, notes: [] };
}

function outagesFrom(values: readonly string[], kind: Outage['kind']): Outage[] {
  return values.map((v) => {
    const m = /^([^:]+):(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(v);
    if (!m || Number(m[3]) <= Number(m[2])) throw new InvalidInputError(kind, `"${v}" is not SITE:START_S:END_S with END after START`, 'e.g. s1:3600:7200');
    return { site: m[1] ?? '', startS: Number(m[2]), endS: Number(m[3]), kind };
  });
}

/** A one-line progress bar on stderr when it is a terminal; nothing otherwise. */
export function progressBar(err: (s: string) => void, isTty: boolean) {
  let last = -1;
  return (label: string, done: number, total: number) => {
    if (!isTty) return;
    const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
    if (pct === last) return;
    last = pct;
    const width = 30;
    const filled = Math.round((pct / 100) * width);
    err(`\r${label.padEnd(22)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${fmt.count(done)}/${fmt.count(total)} jobs${pct === 100 ? '\n' : ''}`);
  };
}

const hoursOf = (s: number | null) => (s === null ? '—' : fmt.duration(s));

export function renderRuns(setup: SimulateSetup, runs: readonly SimulateRun[]): string {
  const both = setup.modes.length === 2;
  const rows: string[][] = [['policy', 'mode', 'avg JCT', 'p50 JCT', 'p99 JCT', 'avg queue', 'utilization', 'makespan', 'done', 'never', 'preempt', 'GPU-h lost', 'worst org ρ']];
  for (const r of runs) {
    for (const mode of setup.modes) {
      const s = r.result[mode]?.summary;
      if (!s) continue;
      const f = r.result.fairness;
      rows.push([
        `${r.label}${setup.backfill ? '+backfill' : ''}`, mode, hoursOf(s.avg_jct_s), hoursOf(s.p50_jct_s), hoursOf(s.p99_jct_s), hoursOf(s.avg_queue_s), fmt.percent(s.utilization),
        fmt.duration(s.makespan_s), fmt.count(s.done), fmt.count(s.never_started), fmt.count(s.preemptions), fmt.count(s.gpu_hours_lost_to_preemption),
        mode === 'pooled' && both && f?.worst_rho !== null && f?.worst_rho !== undefined ? `${f.worst_rho.toFixed(2)} (${f.worst_org ?? ''})` : '',
      ]);
    }
  }
  const gpus = setup.pool.sites.reduce((n, s) => n + s.nodes * s.gpusPerNode, 0);
  const orgs = new Set(setup.pool.sites.map((s) => s.org)).size;
  const head = `${fmt.plural(setup.jobs.length, 'job')} from ${setup.trace.file} (${setup.trace.format}) on ${fmt.plural(gpus, 'GPU')} in ${fmt.plural(setup.pool.sites.length, 'site')} of ${fmt.plural(orgs, 'org')} (${setup.poolSource})`;
  const skipped = setup.trace.skipped.length > 0 ? `\n${fmt.count(setup.trace.skipped.length)} bad rows skipped; first: ${setup.trace.skipped[0]?.message ?? ''}` : '';
  const fairLines = both ? runs.map((r) => {
    const f = r.result.fairness;
    return f ? `  ${r.label}: ${fmt.percent(f.orgs_worse_off)} of orgs and ${fmt.percent(f.jobs_worse_off)} of jobs worse off pooled than alone; worst ρ ${f.worst_rho?.toFixed(2) ?? '—'}` : '';
  }) : [];
  const largest = runs[0]?.result;
  const largestLine = largest ? `largest job started: ${setup.modes.map((m) => `${m} ${fmt.count(largest[m]?.summary.largest_job_started_gpus ?? 0)} GPUs`).join(', ')}` : '';
  return [head + skipped, '', fmt.columns(rows), '', ...(both ? ['sharing incentive (ρ = avg JCT pooled ÷ alone, per org)', ...fairLines, ''] : []), largestLine].join('\n');
}

/** The JSON document --json prints and results.json holds (schema suanli.simulate/1). */
export function resultsJson(setup: SimulateSetup, runs: readonly SimulateRun[]): unknown {
  const summary = (s: Summary | undefined) => s ?? null;
  return {
    schema: 'suanli.simulate/1',
    trace: { file: setup.trace.file, format: setup.trace.format, jobs: setup.jobs.length, skipped_rows: setup.trace.skipped.length, dropped_cpu_only: setup.trace.droppedCpuOnly, dropped_unfinished: setup.trace.droppedUnfinished },
    pool: { source: setup.poolSource, sites: setup.pool.sites.length, orgs: new Set(setup.pool.sites.map((s) => s.org)).size, gpus: setup.pool.sites.reduce((n, s) => n + s.nodes * s.gpusPerNode, 0), notes: setup.poolNotes },
    seed: setup.seed,
    backfill: setup.backfill,
    runs: runs.map((r) => ({ policy: r.policy, estimates: { level: r.estimates.level, ...(r.estimates.level === 'user' ? { sigma: r.estimates.sigma } : {}) }, pooled: summary(r.result.pooled?.summary), siloed: summary(r.result.siloed?.summary), fairness: r.result.fairness ?? null })),
  };
}

export function simulateCommand(io: Output & { err(text: string): void; isTty?: boolean }): Command {
  return new Command('simulate')
    .description('replay a GPU-cluster trace against a pool, pooled and siloed, under one or more policies')
    .requiredOption('--trace <file>', 'trace file (CSV or JSON)')
    .addOption(new Option('--format <format>', 'trace format (default: detected from the header)').choices([...TRACE_FORMATS]))
    .option('--skip-bad-rows', 'count and skip malformed rows instead of stopping at the first')
    .option('--pool <pool>', 'pool: a pool JSON file, from-trace[:load=0.8|:nodes=FILE][,types=h100+a100], national[:gpus=500000,orgs=200,max=16384,seed=7], or inventory:KIND:FILE', 'from-trace')
    .option('--policy <names>', `policy, a comma-separated list, or "all" (${POLICY_NAMES.join(', ')})`, 'fair-share')
    .option('--estimates <levels>', `what the scheduler knows of run times, a comma-separated list or "all": ${ESTIMATE_LEVELS.join(', ')} (the trace's true durations; users' estimates with a seeded log-normal error; none at all)`, 'oracle')
    .option('--estimate-error <sigma>', 'user estimates: σ of the log-normal error, natural-log units (1: half off by more than 2×, one in ten by more than 5×)', String(DEFAULT_ESTIMATE_SIGMA))
    .option('--backfill', 'EASY backfill on top of the queue order')
    .option('--compare <modes>', 'which runs: pooled, siloed, or both', 'siloed,pooled')
    .option('--seed <n>', 'seed for generated pools and trace scaling', '1')
    .option('--load <f>', 'national pools: the scaled trace fills this fraction of each org’s GPUs', '0.7')
    .option('--span-days <d>', 'national pools: days of scaled trace (default: the base trace’s span)')
    .option('--outage <site:start:end>', 'a site is down from start to end (seconds); repeatable', parse.collect)
    .option('--maintenance <site:start:end>', 'a maintenance window (seconds); repeatable', parse.collect)
    .option('--json', 'print the results as JSON')
    .option('--report <dir>', 'write results.json, jobs.csv and an offline report.html to this directory')
    .addHelpText('after', `
Policies:
${POLICY_NAMES.map((p) => `  ${p.padEnd(11)} ${POLICIES[p].description}`).join('\n')}

Examples:
  suanli simulate --trace ../shared/data/traces/philly/philly_pollux_jobs.csv --pool from-trace:nodes=../shared/data/clusters/philly_vc_nodes.csv --policy all
  suanli simulate --trace jobs.csv --pool pool.json --policy fifo --backfill --compare pooled --json
  suanli simulate --trace ../shared/data/traces/philly/philly_pollux_jobs.csv --pool from-trace:load=0.8 --policy srtf,las,fair-srtf --estimates all
  suanli simulate --trace venus.csv --format helios --pool national:gpus=500000,orgs=200 --load 0.7 --report out/`)
    .action(async (o: Opts) => {
      const tracePath = String(o.trace);
      const text = await readText('trace', tracePath);
      const format = (typeof o.format === 'string' ? o.format : detectFormat(text, tracePath)) as TraceFormat | undefined;
      if (format === undefined) throw new InvalidInputError('format', `cannot tell the format of ${tracePath} from its first line`, TRACE_FORMATS.join(', '));
      const trace = parseTrace(text, format, { file: basename(tracePath), skipBadRows: o.skipBadRows === true });
      const seed = parse.wholeNumber('seed', String(o.seed));
      const load = parse.number('load', String(o.load));
      const spanDays = typeof o.spanDays === 'string' ? parse.number('span-days', o.spanDays) : undefined;
      const poolSpec = String(o.pool);
      const { pool, jobs, notes } = await resolvePool(poolSpec, trace, seed, load, spanDays === undefined ? undefined : spanDays * 86400);
      const policyText = String(o.policy);
      const policies = policyText === 'all' ? POLICY_NAMES : [...new Set(parse.list('policy', policyText, (_f, p) => policyByName(p)))];
      const modes = [...new Set(parse.list('compare', String(o.compare), (f, m) => parse.oneOf(f, m, ['pooled', 'siloed'] as const)))];
      const outages = [...outagesFrom((o.outage as string[] | undefined) ?? [], 'outage'), ...outagesFrom((o.maintenance as string[] | undefined) ?? [], 'maintenance')];
      const siteIds = new Set(pool.sites.map((s) => s.id as string));
      for (const out of outages) if (!siteIds.has(out.site)) throw new InvalidInputError(out.kind, `no site "${out.site}" in the pool`, [...siteIds].slice(0, 10).join(', '));
      const levelText = String(o.estimates);
      const levels = levelText === 'all' ? [...ESTIMATE_LEVELS] : [...new Set(parse.list('estimates', levelText, (f, l) => parse.oneOf(f, l, ESTIMATE_LEVELS)))];
      const sigma = parse.number('estimate-error', String(o.estimateError));
      const estimates = levels.map((level): Estimates => ({ level, sigma }));
      const setup: SimulateSetup = { trace, jobs, pool, poolSource: poolSpec, poolNotes: notes, seed, policies, estimates, backfill: o.backfill === true, modes, outages };

      const bar = progressBar((s) => io.err(s), io.isTty === true);
      const named = estimates.some((e) => e.level !== 'oracle');
      const runs: SimulateRun[] = estimates.flatMap((e) => {
        // Every policy sees the same users' estimates: one draw per level, from the run's seed.
        const seen = jobsWithEstimates(jobs, e, new Rng(seed).fork('estimates'));
        return policies.map((policy) => {
          const label = named ? `${policy} · ${estimatesLabel(e)}` : policy;
          return { policy, estimates: e, label, result: runExperiment({ pool, jobs: seen.jobs, scheduler: { policy, backfill: setup.backfill, durationsKnown: seen.durationsKnown }, modes, outages, onProgress: (mode, d, t) => bar(`${label} ${mode}`, d, t) }) };
        });
      });
      const json = resultsJson(setup, runs);
      // The report's charts (vega) are loaded only when asked for: a fifth of a second of every command's start otherwise.
      if (typeof o.report === 'string') await (await import('./simulate-report.ts')).writeReport(o.report, setup, runs, json);
      io.out(o.json === true ? JSON.stringify(json, null, 2) : renderRuns(setup, runs) + (typeof o.report === 'string' ? `\n\nreport written to ${o.report}/report.html` : ''));
    });
}
