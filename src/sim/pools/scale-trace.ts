import { InvalidInputError } from '../../model/errors.ts';
import { jobId, type OrgId } from '../../model/ids.ts';
import type { JobSpec } from '../../model/job.ts';
import type { PoolSpec } from '../../model/pool.ts';
import type { Rng } from '../rng.ts';
import { traceSpanS } from './from-trace.ts';

/**
 * A workload for a pool from a base trace recorded elsewhere (e.g. Philly for a
 * national pool): every org of the pool gets copies of the base jobs, time-shifted,
 * until its work matches its own GPUs at the target load. Per org o with own
 * GPUs Cₒ (the sum of its sites):
 *
 * 1. target  Gₒ = targetLoad × Cₒ × span   (GPU-seconds; span defaults to the base trace's, traceSpanS)
 * 2. fitting Bₒ = Σ gpus × duration over base jobs with gpus ≤ Cₒ. A base job
 *    larger than Cₒ is skipped for o (it could never run on o's own GPUs, so it
 *    would measure borrowing alone) and counted once in `oversize`.
 * 3. copies k = 1, 2, …: draw a whole-second offset δₖ in [0, span); walk the base
 *    jobs in submit order, keeping each fitting job with probability
 *    pₖ = min(1, remaining ÷ Bₒ), so whole copies while far from the target and a
 *    thinned copy (expected work = the remainder) at the end. A kept job becomes
 *    `<org>/<base id>/<k>`, submitted at t₀ + ((submit − t₀ + δₖ) mod span),
 *    t₀ the base's first submission; all else is copied.
 * 4. stop as soon as o's kept work reaches Gₒ, so it overshoots by less than one job.
 *
 * Thinning with geometric skips draws one number per kept job, not per base job;
 * the output is chosen as rows of typed arrays, merged by time, and only then
 * made into JobSpecs: O(base · log base + output · log runs), a run being an
 * ascending stretch of one copy, and about 170 bytes of heap per output job.
 * Each org draws from `rng.fork(org)`: an org's workload does not change when
 * other orgs are added. The result is sorted by submit time (stable, so ties
 * keep org, copy and base order).
 */

export interface ScaleParams {
  /** Offered load per org: kept GPU-seconds ÷ (own GPUs × span). */
  readonly targetLoad: number;
  /** Length of the scaled trace; defaults to the base trace's span. */
  readonly spanS?: number;
}

export interface OrgWorkload {
  readonly org: OrgId;
  readonly gpus: number;
  readonly targetGpuSeconds: number;
  readonly gpuSeconds: number;
  readonly jobs: number;
  /** Base-trace passes started, the last one usually thinned. */
  readonly copies: number;
  /** Base jobs larger than the org's own GPUs, skipped for it. */
  readonly oversize: number;
}

export interface ScaledTrace {
  readonly jobs: JobSpec[];
  readonly perOrg: readonly OrgWorkload[];
  readonly notes: readonly string[];
}

export function scaleTraceToPool(base: readonly JobSpec[], pool: PoolSpec, params: ScaleParams, rng: Rng): ScaledTrace {
  if (base.length === 0) throw new InvalidInputError('trace', 'the base trace has no jobs', 'a trace with at least one job');
  if (!(params.targetLoad > 0) || !Number.isFinite(params.targetLoad)) throw new InvalidInputError('load', `must be a number above 0, got ${params.targetLoad}`, 'a load such as 0.8');
  const span = params.spanS ?? traceSpanS(base);
  if (!(span > 0) || !Number.isFinite(span)) throw new InvalidInputError('span', `must be a number of seconds above 0, got ${span}`, 'a span in seconds, e.g. 604800 for a week');

  // The base in submit order, each job read once into a fresh literal: jobs made
  // as {...jobDefaults(), …} can end up on unstable V8 maps whose every property
  // read is ~10× slower, and pass 2 reads a base job per output job.
  const bySubmit = base.map(copyJob).sort((a, b) => a.submitS - b.submitS);
  const t0 = bySubmit[0]?.submitS ?? 0;
  const gpusAt = Float64Array.from(bySubmit, (j) => j.gpus);
  const workAt = Float64Array.from(bySubmit, (j) => j.gpus * j.durationS);
  const submitAt = Float64Array.from(bySubmit, (j) => j.submitS);
  // Sizes ascending with running GPU-seconds: any capacity's fitting work and oversize count are one binary search.
  const bySize = bySubmit.map((_, i) => i).sort((a, b) => (gpusAt[a] ?? 0) - (gpusAt[b] ?? 0));
  const sizes = Float64Array.from(bySize, (i) => gpusAt[i] ?? 0);
  const workUpTo = new Float64Array(bySize.length + 1);
  bySize.forEach((i, k) => (workUpTo[k + 1] = (workUpTo[k] ?? 0) + (workAt[i] ?? 0)));

  const capacity = new Map<string, number>();
  for (const s of pool.sites) capacity.set(s.org, (capacity.get(s.org) ?? 0) + s.nodes * s.gpusPerNode);

  // Pass 1: choose the copies as (base job, org, copy, submit time) rows in flat
  // typed arrays, 20 bytes a job, so no JobSpec exists before its final place.
  const picks = new Picks();
  const perOrg: OrgWorkload[] = [];
  pool.orgs.forEach(({ id: org }, orgIndex) => {
    const gpus = capacity.get(org) ?? 0;
    const fitting = upperBound(sizes, gpus);
    const fittingWork = workUpTo[fitting] ?? 0;
    const target = params.targetLoad * gpus * span;
    const orgRng = rng.fork(org);
    let kept = 0;
    let count = 0;
    let copies = 0;
    while (kept < target && fittingWork > 0) {
      copies++;
      // Whole seconds, so a trace in whole seconds stays in whole seconds.
      const offset = Math.floor(orgRng.next() * span);
      const p = Math.min(1, (target - kept) / fittingWork);
      const logSkip = Math.log1p(-p);
      // With p < 1 jump to the next kept job: the gap is geometric, P(gap = g) = (1 − p)^g · p.
      const step = (): number => (p === 1 ? 1 : 1 + Math.floor(Math.log(1 - orgRng.next()) / logSkip));
      for (let i = step() - 1; i < bySubmit.length && kept < target; i += step()) {
        if ((gpusAt[i] ?? 0) > gpus) continue;
        picks.add(i, orgIndex, copies, t0 + (((submitAt[i] ?? 0) - t0 + offset) % span));
        kept += workAt[i] ?? 0;
        count++;
      }
    }
    perOrg.push({ org, gpus, targetGpuSeconds: target, gpuSeconds: kept, jobs: count, copies, oversize: base.length - fitting });
  });

  // Pass 2: order the rows by time, then build each JobSpec once, in that order.
  // (push, not new Array(n): V8 backs an array preallocated past 100,000 with a hash table.)
  const order = picks.orderByTime();
  const orgs = pool.orgs.map((o) => o.id);
  const orgPrefix = orgs.map((o) => `${o}/`);
  // `<base id>/<copy>` is shared by every org that kept that copy of the job: one string, not one per job.
  const tails: string[][] = [];
  const jobs: JobSpec[] = [];
  for (let k = 0; k < order.length; k++) {
    const r = order[k] as number;
    const i = picks.base[r] as number;
    const b = bySubmit[i] as JobSpec;
    const o = picks.org[r] as number;
    const copy = picks.copy[r] as number;
    jobs.push({
      id: jobId(`${orgPrefix[o]}${((tails[copy] ??= [])[i] ??= `${b.id}/${copy}`)}`),
      org: orgs[o] as OrgId,
      gpus: b.gpus,
      gpuTypes: b.gpuTypes,
      gang: b.gang,
      submitS: picks.time[r] as number,
      estimateS: b.estimateS,
      durationS: b.durationS,
      priority: b.priority,
      preemptible: b.preemptible,
      checkpointIntervalS: b.checkpointIntervalS,
    });
  }
  return { jobs, perOrg, notes: scaleNotes(base, perOrg, params.targetLoad, span) };
}

/** Growable columns of chosen copies: index into the submit-ordered base, org index, copy number, submit time. */
class Picks {
  base = new Uint32Array(1024);
  org = new Uint32Array(1024);
  copy = new Uint32Array(1024);
  time = new Float64Array(1024);
  length = 0;

  add(base: number, org: number, copy: number, time: number): void {
    if (this.length === this.time.length) this.#grow();
    this.base[this.length] = base;
    this.org[this.length] = org;
    this.copy[this.length] = copy;
    this.time[this.length] = time;
    this.length++;
  }

  /**
   * Row indices sorted by time, stably (ties in the order added). Rows were
   * added as ascending runs (each copy is in submit order until its wrap
   * around the span), so a bottom-up merge of adjacent runs sorts them in
   * O(n log runs) on typed arrays — far faster than sorting a million objects.
   */
  orderByTime(): Uint32Array {
    const n = this.length;
    let keys = this.time.slice(0, n);
    let rows = new Uint32Array(n);
    for (let i = 0; i < n; i++) rows[i] = i;
    let starts: number[] = [0];
    for (let i = 1; i < n; i++) if ((keys[i] as number) < (keys[i - 1] as number)) starts.push(i);
    let keysOut = new Float64Array(n);
    let rowsOut = new Uint32Array(n);
    while (starts.length > 1) {
      const merged: number[] = [];
      for (let r = 0; r < starts.length; r += 2) {
        const lo = starts[r] as number;
        const mid = starts[r + 1] ?? n;
        const hi = starts[r + 2] ?? n;
        merged.push(lo);
        let i = lo;
        let j = mid;
        let k = lo;
        while (i < mid && j < hi) {
          // ≤ keeps the left (earlier) row first on ties: the merge is stable.
          if ((keys[i] as number) <= (keys[j] as number)) {
            keysOut[k] = keys[i] as number;
            rowsOut[k++] = rows[i++] as number;
          } else {
            keysOut[k] = keys[j] as number;
            rowsOut[k++] = rows[j++] as number;
          }
        }
        keysOut.set(keys.subarray(i, mid), k);
        rowsOut.set(rows.subarray(i, mid), k);
        k += mid - i;
        keysOut.set(keys.subarray(j, hi), k);
        rowsOut.set(rows.subarray(j, hi), k);
      }
      [keys, keysOut] = [keysOut, keys];
      [rows, rowsOut] = [rowsOut, rows];
      starts = merged;
    }
    return rows;
  }

  #grow(): void {
    const size = this.time.length * 2;
    const grow = <T extends Uint32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.base = grow(this.base, (m) => new Uint32Array(m));
    this.org = grow(this.org, (m) => new Uint32Array(m));
    this.copy = grow(this.copy, (m) => new Uint32Array(m));
    this.time = grow(this.time, (m) => new Float64Array(m));
  }
}

function copyJob(j: JobSpec): JobSpec {
  return {
    id: j.id,
    org: j.org,
    gpus: j.gpus,
    gpuTypes: j.gpuTypes,
    gang: j.gang,
    submitS: j.submitS,
    estimateS: j.estimateS,
    durationS: j.durationS,
    priority: j.priority,
    preemptible: j.preemptible,
    checkpointIntervalS: j.checkpointIntervalS,
  };
}

/** The number of values in ascending `xs` that are ≤ x. */
function upperBound(xs: Float64Array, x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((xs[mid] ?? Infinity) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function scaleNotes(base: readonly JobSpec[], perOrg: readonly OrgWorkload[], load: number, span: number): string[] {
  const total = perOrg.reduce((n, o) => n + o.jobs, 0);
  const notes = [`${base.length} base jobs → ${total} jobs for ${perOrg.length} orgs at load ${load} over ${(span / 3600).toLocaleString('en-US', { maximumFractionDigits: 1 })} h`];
  const cut = perOrg.filter((o) => o.oversize > 0);
  if (cut.length > 0) {
    const skipped = cut.reduce((n, o) => n + o.oversize, 0);
    notes.push(`${skipped} (org, base job) pairs skipped in ${cut.length} orgs because the job is larger than the org's own GPUs`);
  }
  const idle = perOrg.filter((o) => o.jobs === 0).map((o) => o.org);
  if (idle.length > 0) notes.push(`no base job fits (or has work) for ${idle.length} orgs: ${idle.slice(0, 10).join(', ')}${idle.length > 10 ? ', …' : ''}`);
  return notes;
}
