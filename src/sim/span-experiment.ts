import { InvalidInputError } from '../model/errors.ts';
import { jobId, type OrgId } from '../model/ids.ts';
import type { JobSpec } from '../model/job.ts';
import { siteGpus, type PoolSpec } from '../model/pool.ts';
import { DEFAULT_MIN_SPAN_EFFICIENCY, type SpanSpec } from '../model/span.ts';
import { findGpu } from '../plan/gpu-catalog.ts';
import { planSpan, type SpanPlan } from '../plan/span.ts';
import { videoSpanWork } from '../plan/span-work.ts';
import { findVideoModel } from '../plan/video-models.ts';
import type { SchedulerOptions } from '../sched/scheduler.ts';
import type { JobRecord } from '../sched/state.ts';
import { simulate, type JobOutcome, type Simulation } from './engine.ts';
import { quantile } from './metrics.ts';

/**
 * "Train a Sora-class model on a national pool": one large video-model training
 * run, sized by the planner, submitted into a pool busy with its background
 * workload, once as a job that must fit one site and once as a job that may
 * span sites. Compared: when the big run starts and ends (or that it never
 * starts), the background jobs' JCT, the pool's utilization, and each org's
 * average JCT with the big run spanning ÷ without (its ρ here: above 1, the
 * big run slowed that org's jobs).
 */

export interface BigRunParams {
  /** A video-model preset of the planner (src/plan/video-models.ts). */
  readonly model: string;
  /** The dataset: clips of `width`×`height` and `seconds`, seen `epochs` times at `fps`. */
  readonly clips: number;
  readonly width: number;
  readonly height: number;
  readonly seconds: number;
  readonly fps: number;
  readonly epochs: number;
  /** GPU types the run accepts (of one speed class); the first sizes it. */
  readonly gpuTypes: readonly string[];
  /** How long the run should take at full speed: its GPUs are sized for this. */
  readonly targetDays: number;
  readonly replicaGpus: number;
  /** DiLoCo's H, b and per-replica batch (src/plan/span.ts). */
  readonly innerSteps: number;
  readonly bytesPerParam: number;
  readonly batchTokensPerReplica: number;
  readonly minEfficiency: number;
  /** Span only if no single site is expected to start the run within this long. */
  readonly maxSingleSiteWaitS: number;
  /** The org that submits it, and when (seconds after the background's first submission). */
  readonly org: string;
  readonly submitAfterS: number;
}

/**
 * MovieGen-class (30B) on 100M 720p 5-s clips, 8 epochs: about 20,000 H800s for a
 * month. DiLoCo as INTELLECT-1 ran it: H = 100, int8 pseudo-gradients.
 */
export const DEFAULT_BIG_RUN: BigRunParams = {
  model: 'moviegen-30b', clips: 100e6, width: 1280, height: 720, seconds: 5, fps: 24, epochs: 8,
  gpuTypes: ['h800', 'h100'], targetDays: 30, replicaGpus: 512, innerSteps: 100, bytesPerParam: 1, batchTokensPerReplica: 4e6,
  minEfficiency: DEFAULT_MIN_SPAN_EFFICIENCY, maxSingleSiteWaitS: 6 * 3600, org: '', submitAfterS: 86_400,
};

export interface BigRun {
  /** The job, spannable; run it without `span` for the one-site arm. */
  readonly spec: JobSpec;
  /** The planner's plan for the run over `sites` sites of 4,096 joined at the given link class. */
  readonly plan: SpanPlan;
  readonly gpus: number;
  /** GPU-hours at full speed. */
  readonly idealGpuHours: number;
}

/**
 * Sizes the big run with the planner: its work (FLOPs of the dataset), the GPUs
 * that do it in `targetDays` at the GPU's catalog MFU (whole replicas), and the
 * span spec from the plan's outer step and pseudo-gradient. The plan is made
 * over equal sites of 4,096 GPUs joined by `link`, for the report's expectation.
 */
export function sizeBigRun(p: BigRunParams, link: { readonly gbps: number; readonly latencyMs: number }, submitS: number): BigRun {
  const model = findVideoModel(p.model);
  const gpu = findGpu(p.gpuTypes[0] ?? '');
  const work = videoSpanWork(model, [{ width: p.width, height: p.height, seconds: p.seconds, clips: p.clips }], p.fps, p.epochs);
  if (!('tokens' in work.length)) throw new InvalidInputError('big-run', 'the run is sized by its tokens', 'a dataset mix');
  const idealGpuSeconds = (work.length.tokens * work.flopsPerToken) / (gpu.peakFlops * gpu.efficiency);
  const replicas = Math.ceil(idealGpuSeconds / (p.targetDays * 86_400) / p.replicaGpus);
  const gpus = replicas * p.replicaGpus;
  const siteSize = 4096;
  const sites = Array.from({ length: Math.max(2, Math.ceil(gpus / siteSize)) }, (_, i) => ({ id: `s${i + 1}`, gpu, gpus: siteSize }));
  const links = sites.flatMap((a, i) => sites.slice(i + 1).map((b) => ({ a: a.id, b: b.id, gbps: link.gbps, latencyMs: link.latencyMs })));
  const plan = planSpan({ work, sites, links, innerSteps: p.innerSteps, bytesPerParam: p.bytesPerParam, stragglers: 'proportional', batchTokensPerReplica: p.batchTokensPerReplica, gpusPerReplica: p.replicaGpus });
  const span: SpanSpec = {
    minEfficiency: p.minEfficiency, replicaGpus: p.replicaGpus, syncBytes: plan.pseudo_gradient_bytes,
    outerStepS: plan.compute_seconds_per_outer_step, hiddenS: 0, maxSingleSiteWaitS: p.maxSingleSiteWaitS,
  };
  const durationS = idealGpuSeconds / gpus;
  const spec: JobSpec = {
    id: jobId('big-run'), org: p.org as OrgId, gpus, gpuTypes: p.gpuTypes, gang: true, submitS,
    estimateS: durationS, durationS, priority: 0, preemptible: true, checkpointIntervalS: 3600, span,
  };
  return { spec, plan, gpus, idealGpuHours: idealGpuSeconds / 3600 };
}

/** The org holding the most GPUs of the run's types: it submits the run unless one is named. */
export function largestHolder(pool: PoolSpec, gpuTypes: readonly string[]): string {
  const held = new Map<string, number>();
  for (const s of pool.sites) if (gpuTypes.includes(s.gpuType.toLowerCase())) held.set(s.org, (held.get(s.org) ?? 0) + siteGpus(s));
  let best = pool.orgs[0]?.id ?? '';
  let most = -1;
  for (const [org, n] of held) if (n > most || (n === most && org < best)) [best, most] = [org, n];
  return best;
}

export interface BigRunOutcome {
  readonly status: JobOutcome['status'];
  readonly start_s: number | null;
  readonly end_s: number | null;
  /** From submission to the end, days; null if it did not end. */
  readonly days_to_finish: number | null;
  /** At its first start: sites, and the ring's efficiency. */
  readonly sites_at_start: number | null;
  readonly efficiency_at_start: number | null;
  readonly shrinks: number;
  readonly preemptions: number;
  readonly wait_reason: string | null;
}

export interface BackgroundOutcome {
  readonly jobs: number;
  readonly done: number;
  readonly avg_jct_s: number | null;
  readonly p50_jct_s: number | null;
  readonly p99_jct_s: number | null;
  readonly avg_queue_s: number | null;
}

export interface SpanArm {
  readonly big_run: BigRunOutcome;
  readonly background: BackgroundOutcome;
  /** Allocated ÷ total GPU-seconds from the first submission over `window_s`. */
  readonly utilization: number;
}

export interface OrgRatio {
  readonly org: string;
  readonly avg_jct_one_site_s: number | null;
  readonly avg_jct_spanning_s: number | null;
  /** Spanning ÷ one site; null when either is missing. */
  readonly rho: number | null;
}

export interface SpanExperimentResult {
  readonly schema: 'suanli.experiment.national-span/1';
  readonly window_s: number;
  readonly one_site: SpanArm;
  readonly spanning: SpanArm;
  readonly orgs: readonly OrgRatio[];
  readonly worst_org: OrgRatio | null;
  readonly median_org_rho: number | null;
  /** Orgs whose jobs took over 5% longer on average with the big run spanning. */
  readonly orgs_slower_over_5pct: number;
}

export interface SpanExperimentInput {
  /** With WAN links (withRegionalWan). */
  readonly pool: PoolSpec;
  /** Sorted by submit time. */
  readonly background: readonly JobSpec[];
  readonly bigRun: JobSpec;
  readonly scheduler: Partial<SchedulerOptions> & Pick<SchedulerOptions, 'policy'>;
  readonly windowS: number;
  readonly onProgress?: (arm: 'one_site' | 'spanning', done: number, total: number) => void;
}

export function runSpanExperiment(input: SpanExperimentInput): SpanExperimentResult {
  const oneSite: JobSpec = { ...input.bigRun, span: null };
  const first = input.background[0]?.submitS ?? input.bigRun.submitS;
  const arm = (name: 'one_site' | 'spanning', big: JobSpec): { arm: SpanArm; byOrg: Map<string, number | null> } => {
    const jobs = [...input.background];
    const at = jobs.findIndex((j) => j.submitS > big.submitS);
    jobs.splice(at < 0 ? jobs.length : at, 0, big);
    let sites: number | null = null;
    let efficiency: number | null = null;
    const onStart = (job: JobRecord) => {
      if (job.spec.id !== big.id || sites !== null) return;
      sites = job.allocation?.parts.length ?? null;
      efficiency = job.allocation?.efficiency ?? null;
    };
    const onProgress = input.onProgress ? (d: number, t: number) => input.onProgress?.(name, d, t) : undefined;
    const sim = simulate({ pool: input.pool, jobs, scheduler: input.scheduler, onStart, ...(onProgress ? { onProgress } : {}) });
    const bigOutcome = sim.outcomes.find((o) => o.id === big.id) as JobOutcome;
    const background = sim.outcomes.filter((o) => o !== bigOutcome);
    return {
      arm: {
        big_run: {
          status: bigOutcome.status, start_s: bigOutcome.start_s, end_s: bigOutcome.end_s,
          days_to_finish: bigOutcome.jct_s === null ? null : bigOutcome.jct_s / 86_400,
          sites_at_start: sites, efficiency_at_start: efficiency, shrinks: sim.decisions.shrinks, preemptions: bigOutcome.preemptions,
          wait_reason: bigOutcome.wait_reason,
        },
        background: backgroundOutcome(background),
        utilization: windowUtilization(sim, first, input.windowS),
      },
      byOrg: avgJctByOrg(background),
    };
  };
  const without = arm('one_site', oneSite);
  const withSpan = arm('spanning', input.bigRun);
  const orgs: OrgRatio[] = [...without.byOrg.keys()].sort().map((org) => {
    const a = without.byOrg.get(org) ?? null;
    const b = withSpan.byOrg.get(org) ?? null;
    return { org, avg_jct_one_site_s: a, avg_jct_spanning_s: b, rho: a !== null && b !== null && a > 0 ? b / a : null };
  });
  const rhos = orgs.map((o) => o.rho).filter((r): r is number => r !== null).sort((x, y) => x - y);
  const worst = orgs.reduce<OrgRatio | null>((w, o) => (o.rho !== null && (w === null || (w.rho ?? 0) < o.rho) ? o : w), null);
  return {
    schema: 'suanli.experiment.national-span/1',
    window_s: input.windowS,
    one_site: without.arm,
    spanning: withSpan.arm,
    orgs,
    worst_org: worst,
    median_org_rho: quantile(rhos, 0.5),
    orgs_slower_over_5pct: rhos.filter((r) => r > 1.05).length,
  };
}

function backgroundOutcome(outcomes: readonly JobOutcome[]): BackgroundOutcome {
  const jct: number[] = [];
  let queue = 0;
  let started = 0;
  for (const o of outcomes) {
    if (o.jct_s !== null) jct.push(o.jct_s);
    if (o.queue_s !== null) {
      queue += o.queue_s;
      started++;
    }
  }
  jct.sort((a, b) => a - b);
  return {
    jobs: outcomes.length, done: jct.length,
    avg_jct_s: jct.length === 0 ? null : jct.reduce((s, x) => s + x, 0) / jct.length,
    p50_jct_s: quantile(jct, 0.5), p99_jct_s: quantile(jct, 0.99),
    avg_queue_s: started === 0 ? null : queue / started,
  };
}

function avgJctByOrg(outcomes: readonly JobOutcome[]): Map<string, number | null> {
  const sums = new Map<string, { s: number; n: number }>();
  for (const o of outcomes) {
    const e = sums.get(o.org) ?? { s: 0, n: 0 };
    if (o.jct_s !== null) {
      e.s += o.jct_s;
      e.n++;
    }
    sums.set(o.org, e);
  }
  return new Map([...sums].map(([org, e]) => [org, e.n === 0 ? null : e.s / e.n]));
}

/** ∫ allocated GPUs dt over [from, from + window] ÷ (total GPUs × window). */
function windowUtilization(sim: Simulation, from: number, window: number): number {
  const { times, gpus } = sim.allocation;
  const to = from + window;
  let area = 0;
  for (let i = 0; i < times.length; i++) {
    const a = Math.max(from, times[i] ?? 0);
    const b = Math.min(to, times[i + 1] ?? to);
    if (b > a) area += (gpus[i] ?? 0) * (b - a);
  }
  return sim.totalGpus > 0 && window > 0 ? area / (sim.totalGpus * window) : 0;
}

/** "one site: never started (…); spanning: started after 0.0 days on 7 sites at 93%, done in 33.1 days". */
export function describeBigRun(o: BigRunOutcome): string {
  if (o.start_s === null) return `never started${o.wait_reason === null ? '' : ` (${o.wait_reason})`}`;
  const where = o.sites_at_start === null ? '' : ` on ${o.sites_at_start} site${o.sites_at_start === 1 ? '' : 's'} at ${Math.round((o.efficiency_at_start ?? 1) * 100)}%`;
  const end = o.days_to_finish === null ? 'not finished' : `done ${o.days_to_finish.toFixed(1)} days after submission`;
  return `started${where}, ${end}${o.shrinks > 0 ? `, ${o.shrinks} shrinks` : ''}${o.preemptions > 0 ? `, ${o.preemptions} preemptions` : ''}`;
}

/**
 * Background jobs `k` times larger (k times their GPUs), for a pool so large that
 * the trace's own job sizes would take millions of jobs to fill it: the same load
 * with k times fewer jobs. k = 1 returns the jobs as they are.
 */
export function coarsen(jobs: readonly JobSpec[], k: number): readonly JobSpec[] {
  return k === 1 ? jobs : jobs.map((j) => ({ ...j, gpus: j.gpus * k }));
}
