import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Command } from 'commander';
import { InvalidInputError } from '../model/errors.ts';
import { policyByName, POLICY_NAMES } from '../sched/policies/registry.ts';
import { nationalPool, parseNationalSpec } from '../sim/pools/national.ts';
import { scaleTraceToPool } from '../sim/pools/scale-trace.ts';
import { parseWanSpec, withRegionalWan } from '../sim/pools/wan.ts';
import { Rng } from '../sim/rng.ts';
import { coarsen, DEFAULT_BIG_RUN, describeBigRun, largestHolder, runSpanExperiment, sizeBigRun, type SpanArm, type SpanExperimentResult } from '../sim/span-experiment.ts';
import { detectFormat, parseTrace, TRACE_FORMATS } from '../sim/traces/index.ts';
import * as fmt from './format.ts';
import * as parse from './parse.ts';
import type { Output } from './plan-command.ts';
import { progressBar, readText } from './simulate-command.ts';

type Opts = Record<string, string | boolean | undefined>;

const dur = (s: number | null) => (s === null ? '—' : fmt.duration(s));

function render(head: readonly string[], r: SpanExperimentResult): string {
  const row = (name: string, a: SpanArm) => [name, describeBigRun(a.big_run), dur(a.background.avg_jct_s), dur(a.background.p99_jct_s), dur(a.background.avg_queue_s), fmt.percent(a.utilization)];
  const table = fmt.columns([['big run may', 'the big run', 'background avg JCT', 'p99 JCT', 'avg queue', 'utilization'], row('one site only', r.one_site), row('span sites', r.spanning)]);
  const worst = r.worst_org;
  const orgs = `each org's avg JCT, spanning ÷ one site (ρ): median ${r.median_org_rho?.toFixed(3) ?? '—'}, worst ${worst?.rho?.toFixed(3) ?? '—'} (${worst?.org ?? '—'}); ${r.orgs_slower_over_5pct} of ${r.orgs.length} orgs more than 5% slower`;
  return [...head, '', table, '', orgs, `one site only: ${r.one_site.big_run.wait_reason ?? ''}`].join('\n');
}

export function experimentCommand(io: Output & { err(text: string): void; isTty?: boolean }): Command {
  const nationalSpan = new Command('national-span')
    .description('train a Sora-class model on a national pool: one big run, sized by the planner, with and without spanning sites, beside the background trace workload')
    .requiredOption('--trace <file>', 'the background trace (CSV or JSON), replicated onto every org at --load')
    .option('--format <format>', `trace format (default: detected) (${TRACE_FORMATS.join(', ')})`)
    .option('--pool <spec>', 'the national pool', 'national:gpus=500000,orgs=200,max=16384,seed=7')
    .option('--wan <spec>', 'regions and link classes (Gb/s:ms): regions=N,intra=GBPS:MS,inter=GBPS:MS', 'regions=8,intra=10:5,inter=2.5:30')
    .option('--load <f>', 'background load: the scaled trace fills this fraction of each org’s GPUs', '0.6')
    .option('--span-days <d>', 'days of background trace (and the window utilization is measured over)', '45')
    .option('--job-scale <k>', 'each background job takes k times its GPUs (k times fewer jobs for the same load; 1 keeps the trace as it is)', '8')
    .option('--policy <name>', `scheduling policy (${POLICY_NAMES.join(', ')})`, 'fair-share')
    .option('--model <preset>', 'video model preset of the big run', DEFAULT_BIG_RUN.model)
    .option('--clips <n>', 'clips in the big run’s dataset (1280x720, 5 s)', String(DEFAULT_BIG_RUN.clips))
    .option('--epochs <n>', 'epochs over the dataset', String(DEFAULT_BIG_RUN.epochs))
    .option('--target-days <d>', 'the big run is given GPUs to finish in this many days at full speed', String(DEFAULT_BIG_RUN.targetDays))
    .option('--min-efficiency <f>', 'least compute utilization a spanning placement must reach', String(DEFAULT_BIG_RUN.minEfficiency))
    .option('--seed <n>', 'seed for the pool, regions and trace scaling', '1')
    .option('--json', 'print the results as JSON (schema suanli.experiment.national-span/1)')
    .option('--report <dir>', 'write results.json and report.md to this directory')
    .addHelpText('after', `
Examples:
  suanli experiment national-span --trace ../shared/data/traces/philly/philly_pollux_jobs.csv
  suanli experiment national-span --trace jobs.csv --pool national:gpus=50000,orgs=40,max=4096 --clips 10000000 --json
  suanli experiment national-span --trace jobs.csv --wan regions=4,intra=40:3,inter=10:25 --report out/`)
    .action(async (o: Opts) => {
      const tracePath = String(o.trace);
      const text = await readText('trace', tracePath);
      const format = typeof o.format === 'string' ? parse.oneOf('format', o.format, TRACE_FORMATS) : detectFormat(text, tracePath);
      if (format === undefined) throw new InvalidInputError('format', `cannot tell the format of ${tracePath} from its first line`, TRACE_FORMATS.join(', '));
      const trace = parseTrace(text, format, { file: basename(tracePath) });
      const seed = parse.wholeNumber('seed', String(o.seed));
      const load = parse.numberBetween('load', String(o.load), 0.01, 1);
      const spanDays = parse.numberBetween('span-days', String(o.spanDays), 1, 3650);
      const jobScale = parse.integerBetween('job-scale', String(o.jobScale), 1, 1024);
      const policy = policyByName(String(o.policy));
      const national = parseNationalSpec(String(o.pool));
      const wan = parseWanSpec(String(o.wan));
      const rng = new Rng(national.seed ?? seed);
      const pool = withRegionalWan(nationalPool(national.params, rng.fork('pool')), wan, rng.fork('wan'));
      const background = scaleTraceToPool(coarsen(trace.jobs, jobScale), pool, { targetLoad: load, spanS: spanDays * 86_400 }, rng.fork('trace')).jobs;
      const first = background[0]?.submitS ?? 0;
      const params = {
        ...DEFAULT_BIG_RUN,
        model: String(o.model),
        clips: parse.quantity('clips', String(o.clips)),
        epochs: parse.numberBetween('epochs', String(o.epochs), 0.001, 1000),
        targetDays: parse.numberBetween('target-days', String(o.targetDays), 0.01, 3650),
        minEfficiency: parse.numberBetween('min-efficiency', String(o.minEfficiency), 0.01, 1),
      };
      const big = sizeBigRun({ ...params, org: largestHolder(pool, params.gpuTypes) }, wan.inter, first + params.submitAfterS);
      const gpus = pool.sites.reduce((n, s) => n + s.nodes * s.gpusPerNode, 0);
      const head = [
        `${fmt.plural(background.length, 'background job')} (${trace.file} ×${jobScale} GPUs each, load ${load}, ${spanDays} days) on ${fmt.plural(gpus, 'GPU')} in ${fmt.plural(pool.sites.length, 'site')} of ${fmt.plural(pool.orgs.length, 'org')} (${String(o.pool)}), ${wan.regions.length} regions (inside ${wan.intra.gbps} Gb/s ${wan.intra.latencyMs} ms, across ${wan.inter.gbps} Gb/s ${wan.inter.latencyMs} ms), ${policy}`,
        `big run: ${big.plan.model_name}, ${fmt.count(params.clips)} clips × ${params.epochs} epochs = ${fmt.hours(big.idealGpuHours)} → ${fmt.count(big.gpus)} ${params.gpuTypes.join('/')} GPUs for ${params.targetDays} days; replicas of ${params.replicaGpus}, H = ${params.innerSteps}, ${params.bytesPerParam} byte/param; the planner expects ${fmt.percent(big.plan.compute_utilization)} across ${big.plan.sites_used} sites at ${wan.inter.gbps} Gb/s; submitted by ${big.spec.org} on day ${params.submitAfterS / 86_400}`,
      ];
      const bar = progressBar((s) => io.err(s), io.isTty === true);
      const result = runSpanExperiment({ pool, background, bigRun: big.spec, scheduler: { policy }, windowS: spanDays * 86_400, onProgress: (arm, d, t) => bar(arm, d, t) });
      const json = { ...result, setup: { trace: trace.file, pool: String(o.pool), wan: String(o.wan), load, span_days: spanDays, job_scale: jobScale, policy, seed, background_jobs: background.length, gpus, big_run: { ...params, org: big.spec.org, gpus: big.gpus, ideal_gpu_hours: big.idealGpuHours, span: big.spec.span, plan: big.plan } } };
      if (typeof o.report === 'string') {
        await mkdir(o.report, { recursive: true });
        await writeFile(join(o.report, 'results.json'), JSON.stringify(json, null, 2));
        await writeFile(join(o.report, 'report.md'), `# Train a Sora-class model on a national pool\n\n\`\`\`text\n${render(head, result)}\n\`\`\`\n`);
      }
      io.out(o.json === true ? JSON.stringify(json, null, 2) : render(head, result) + (typeof o.report === 'string' ? `\n\nreport written to ${o.report}/report.md` : ''));
    });
  return new Command('experiment').description('experiments on the simulator that answer one question each').addCommand(nationalSpan);
}
