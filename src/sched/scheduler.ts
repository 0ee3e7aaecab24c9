import { DurationHistory } from './duration-history.ts';
import type { JobSpec } from '../model/job.ts';
import type { PoolSpec } from '../model/pool.ts';
import { blockedDiagnosis, type Diagnosis, type ReasonCode } from './diagnosis.ts';
import { candidateSites, isChoice, place, staticReason, type Choice, type PlacementContext, type Reservation } from './placement.ts';
import type { PolicyProfile } from './policy.ts';
import { DEFAULT_POLICY_OPTIONS, POLICIES, UNKNOWN_DURATION_S, type PolicyName, type PolicyOptions } from './policies/registry.ts';
import { placeSpanning, ringOver, shrunkRing, type RingHold, type SpanChoice } from './span-placement.ts';
import { PoolState, type JobRecord, type LinkHold, type SitePart, type SiteState } from './state.ts';

/**
 * The scheduler core: the pool and the queue in, decisions out. No I/O, no clock:
 * every call takes `now` from the driver (the simulator's virtual clock or the
 * control plane's system clock), and the same calls in the same order give the
 * same decisions.
 *
 * Drivers call `submit` when jobs arrive, `pass` to start what can start, and
 * tell it what happened: `finish` (a run ended), `stop` (a preemption's notice
 * ran out, or a run failed), `shrink` (a spanning job's notice to leave a site
 * ran out), `siteDown` / `siteUp`.
 *
 * A job with a span spec that no single site can start soon enough is placed
 * across sites (span-placement.ts), all parts at once or none; it runs at its
 * ring's efficiency, and when an owner reclaims one of its sites it gives that
 * part back and goes on, if the rest still meets its minimum efficiency.
 */

/** Reasons that only say "not enough free GPUs right now": a larger job would fail the same way. */
const CAPACITY_REASONS = new Set(['too_few_free', 'fragmented', 'site_down', 'site_too_small']);
function capacityOnly(d: Diagnosis): boolean {
  for (const [reason, n] of Object.entries(d.reasons)) if (n > 0 && !CAPACITY_REASONS.has(reason)) return false;
  return true;
}

export interface SchedulerOptions extends PolicyOptions {
  readonly policy: PolicyName;
  /** EASY backfill: the first job that cannot start gets a reservation; later jobs may use GPUs that do not delay it. */
  readonly backfill: boolean;
  /** Every org alone on its own sites (the siloed baseline). */
  readonly ownSitesOnly: boolean;
  /** With backfill, how many jobs behind the reserved one a pass tries (Slurm's bf_max_job_test plays this role). */
  readonly backfillDepth: number;
}

export type Decision =
  | { readonly kind: 'start'; readonly job: JobRecord; readonly atS: number }
  /** The job stops at `atS` (now, or after the site's reclaim notice); the driver calls `stop` then. */
  | { readonly kind: 'preempt'; readonly job: JobRecord; readonly atS: number; readonly why: 'priority' | 'reclaim' }
  /**
   * A spanning job gives back its part on `site` at `atS` and goes on with the rest. At `atS` = now
   * it is done (the job runs on at a new rate); later, the driver calls `shrink` then.
   */
  | { readonly kind: 'shrink'; readonly job: JobRecord; readonly site: number; readonly atS: number; readonly why: 'priority' | 'reclaim' };

export class Scheduler {
  readonly state: PoolState;
  readonly profile: PolicyProfile;
  readonly options: SchedulerOptions;
  private readonly candidateCache = new Map<string, readonly number[]>();
  private readonly diagnoses = new Map<JobRecord, Diagnosis>();
  /** Run times of finished jobs, from which a scheduler told no durations predicts the next ones. */
  private readonly history = new DurationHistory();
  /** Bumped whenever GPUs are freed: memoized "cannot place" answers are stale after it. */
  private releases = 0;
  private reservation: Reservation | null = null;
  /** The job a strict order stopped at in the last pass. */
  private blockedBy: JobRecord | null = null;
  /** During a pass the order is being walked: queue changes wait until it ends. */
  private inPass = false;
  private readonly deferredAdds: JobRecord[] = [];
  private readonly deferredRemoves: JobRecord[] = [];
  /** Jobs submitted since the last pass. */
  private readonly arrived: JobRecord[] = [];
  /** GPUs were freed or a site came back since the last pass. */
  private capacityGrew = false;
  /** When a time-based trigger next needs a full pass (see PolicyProfile.wakeAt). */
  private wakeAtS = Infinity;

  constructor(pool: PoolSpec, options: Partial<SchedulerOptions> & Pick<SchedulerOptions, 'policy'>, jobOrgs: Iterable<string> = []) {
    this.options = { ...DEFAULT_POLICY_OPTIONS, backfill: false, ownSitesOnly: false, backfillDepth: 500, ...options };
    this.state = new PoolState(pool, jobOrgs);
    this.profile = POLICIES[this.options.policy].create(this.options);
  }

  get queued(): number {
    return this.profile.order.size;
  }

  /** Adds a job to the queue. A job no site could ever hold is marked `never` at once, with its diagnosis. */
  submit(spec: JobSpec): JobRecord {
    const job = this.record(spec);
    const never = this.neverDiagnosis(job);
    if (never !== null) {
      job.phase = 'never';
      this.diagnoses.set(job, never);
    } else {
      this.profile.order.add(job);
      this.arrived.push(job);
    }
    return job;
  }

  /**
   * Puts back a job that is already running, for a driver that rebuilds the core
   * from durable state (the control plane, each pass): the job holds `parts` (GPUs
   * per site index; several for a spanning job) from `startedAtS` on, whatever the
   * sites' lending limits (it was admitted under them), and is not queued. Nodes
   * are chosen as a start would choose them; when the rebuilt layout is more
   * fragmented than the real one (which the driver does not know node by node),
   * any nodes with free GPUs are used. A spanning job holds its ring's bandwidth
   * again, as much as is left. Returns null, changing nothing, when a site is
   * unknown or has too few free GPUs (its capacity shrank), or a spanning job's
   * sites no longer form a ring (or, with `atLeastMinEfficiency`, one that meets the
   * job's minimum: a job restored without the parts it lost): the driver must
   * requeue the job.
   */
  restore(spec: JobSpec, parts: readonly { readonly site: number; readonly gpus: number }[], startedAtS: number, atLeastMinEfficiency = false): JobRecord | null {
    const choices: Choice[] = [];
    for (const p of parts) {
      const site = this.state.sites[p.site];
      if (site === undefined || site.free < p.gpus || choices.some((c) => c.site === site)) return null;
      let chosen = site.choose(p.gpus);
      if (chosen === null) {
        chosen = { nodes: [], counts: [] };
        for (let node = 0, left = p.gpus; left > 0; node++) {
          const take = Math.min(left, site.nodeFree[node] ?? 0);
          if (take === 0) continue;
          chosen.nodes.push(node);
          chosen.counts.push(take);
          left -= take;
        }
      }
      choices.push({ site, ...chosen });
    }
    if (choices.length === 0) return null;
    let hold: RingHold = { links: [], gbps: 0, efficiency: 1 };
    if (choices.length > 1) {
      if (!spec.span) return null;
      const formed = ringOver(this.state, spec.span, parts);
      if (typeof formed === 'string' || (atLeastMinEfficiency && formed.efficiency < spec.span.minEfficiency)) return null;
      hold = formed;
    }
    const job = this.record(spec);
    this.start(job, { parts: choices, ...hold }, startedAtS);
    return job;
  }

  /**
   * Why the job waits (or last waited, once it has started), as of the last pass
   * that tried it. Under a strict order without backfill, jobs behind the blocked
   * head are not tried: they wait behind it.
   */
  diagnosis(job: JobRecord): Diagnosis | undefined {
    const head = this.blockedBy;
    if (head !== null && job.phase === 'queued' && job !== head && head.phase === 'queued') return blockedDiagnosis(head.spec.id);
    return this.diagnoses.get(job);
  }

  /**
   * One scheduling pass, as a recipe:
   * 1. walk the queue in the policy's order;
   * 2. start each job that fits (own sites first, then best fit), honouring a backfill reservation;
   * 3. for a job that does not fit, ask the policy's preemption rule for victims, stop them and retry;
   * 4. otherwise record its diagnosis, and under a strict order reserve for it (backfill) or stop the walk.
   * Jobs that cannot fit for the same reason as one already tried are answered from a memo until GPUs are freed.
   */
  pass(now: number): Decision[] {
    const decisions: Decision[] = [];
    const order = this.profile.order;
    // Only jobs that arrived since the last pass can start unless GPUs were freed, a site came back, or a
    // time-based trigger (a reclaim's rate limit, an LAS queue boundary) is due: a pass over them alone
    // decides the same as a full one, and costs nothing for the long queue of a busy pool.
    const full = this.capacityGrew || now >= this.wakeAtS || this.arrived.length >= order.size;
    const arrived = this.arrived.filter((j) => j.phase === 'queued');
    this.arrived.length = 0;
    this.capacityGrew = false;
    if (!full && order.strict && !this.options.backfill) return decisions; // arrivals queue behind the blocked head
    const memo = new Map<string, { diagnosis: Diagnosis; capacityOnly: boolean }>();
    let memoAt = this.releases;
    let preemptionTried = false;
    // Under a strict order or backfill every job is walked until the first one fails; after that (and
    // always otherwise) jobs larger than the most free GPUs on any site are skipped: they cannot fit.
    let open = full && (order.strict || this.options.backfill);
    // What can still fit, narrowed as jobs fail for want of capacity: every size above `bound`, and (after a
    // one-node job failed on fragmentation) every one-node size from `splitFrom` up, fails likewise.
    let bound = this.maxSiteFree();
    let splitFrom = Infinity;
    const oneNode = this.minGpusPerNode();
    let backfillTried = 0;
    if (full) {
      this.reservation = null;
      this.blockedBy = null;
    }
    this.inPass = true;
    // Until preemption has been tried and found nothing, jobs too large for the free GPUs may still start by preempting.
    const mayFit = (g: number) => open || (this.profile.preemption !== null && !preemptionTried) || (g <= bound && !(g >= splitFrom && g <= oneNode));
    const view = { state: this.state, now, mayFit };
    const jobs = full ? order.order(view) : arrived.sort((a, b) => order.compare(a, b, view));

    for (const job of jobs) {
      if (job.phase !== 'queued') continue;
      if (memoAt !== this.releases) {
        memo.clear();
        memoAt = this.releases;
        bound = this.maxSiteFree();
        splitFrom = Infinity;
      }
      const candidates = candidateSites(this.state, job, this.candidateCache);
      const ctx: PlacementContext = { state: this.state, now, ownSitesOnly: this.options.ownSitesOnly, reservation: this.reservation };
      // The memo is off while a backfill reservation stands: whether a job may use reserved GPUs depends on its estimate.
      const known = open || this.reservation !== null ? undefined : memo.get(job.shape);
      let result: Choice | Diagnosis = known?.diagnosis ?? place(ctx, job, candidates);

      if (!isChoice(result) && this.profile.preemption !== null && !preemptionTried) {
        const picked = this.profile.preemption.victims(job, { ...ctx, candidates });
        if (picked === null) {
          preemptionTried = true; // later jobs rank lower: they would find no victims either
        } else {
          const victimSite = this.state.sites[picked.site] as SiteState;
          const why = picked.why ?? this.profile.preemption.why;
          const notice = why === 'reclaim' ? victimSite.spec.share.reclaimNoticeS : 0;
          if (why === 'reclaim') victimSite.heldFor = job;
          for (const v of picked.jobs) {
            // A spanning victim gives back only this site's part when the rest can go on without it.
            if (shrunkRing(this.state, v, picked.site) !== null) {
              decisions.push({ kind: 'shrink', job: v, site: picked.site, atS: now + notice, why });
              if (notice === 0) this.shrink(v, picked.site, now);
              else v.leaving = picked.site;
              continue;
            }
            decisions.push({ kind: 'preempt', job: v, atS: now + notice, why });
            if (notice === 0) this.stop(v, now, 'preempted');
            else v.phase = 'stopping';
          }
          if (notice === 0) result = place({ ...ctx, reservation: this.reservation }, job, candidates);
        }
      }

      if (isChoice(result)) {
        this.start(job, { parts: [result], links: [], gbps: 0, efficiency: 1 }, now);
        decisions.push({ kind: 'start', job, atS: now });
        const r = this.reservation;
        if (r !== null && r.site === result.site.index && now + job.remainingEstimateS > r.shadowS) r.extra -= job.spec.gpus;
        continue;
      }
      if (job.spec.span && !this.options.ownSitesOnly) {
        const across = this.trySpanning(job, candidates, ctx);
        if (typeof across !== 'string') {
          this.start(job, across, now);
          decisions.push({ kind: 'start', job, atS: now });
          continue;
        }
        result = { ...result, span: across, never: false };
      }
      this.diagnoses.set(job, result);
      const entry = known ?? { diagnosis: result, capacityOnly: capacityOnly(result) };
      if (!known) memo.set(job.shape, entry);
      // A job that failed only for want of capacity shows that no job as large can fit either.
      if (!open && job.spec.gpuTypes === null && !job.spec.span && entry.capacityOnly) {
        if ((entry.diagnosis.reasons.fragmented ?? 0) > 0) splitFrom = Math.min(splitFrom, job.spec.gpus);
        else bound = Math.min(bound, job.spec.gpus - 1);
      }
      if (this.reservation !== null && ++backfillTried >= this.options.backfillDepth) break;
      if (open) {
        open = false;
        if (this.options.backfill) this.reservation = this.reserve(job, candidates, now);
        else if (order.strict) {
          this.blockedBy = job;
          break;
        }
      }
    }
    this.inPass = false;
    for (const job of this.deferredRemoves) order.remove(job);
    for (const job of this.deferredAdds) if (job.phase === 'queued') order.add(job);
    this.deferredRemoves.length = 0;
    this.deferredAdds.length = 0;
    // A time-based trigger matters only while jobs wait; recomputed after full passes, or when none is pending.
    if (order.size === 0) this.wakeAtS = Infinity;
    else if (full || this.wakeAtS === Infinity) this.wakeAtS = this.profile.wakeAt?.(this.state, now) ?? Infinity;
    return decisions;
  }

  /**
   * Why a queued job cannot start now, computed afresh (for jobs a pass skipped
   * because they were larger than any free space). Pure: changes nothing.
   */
  explain(job: JobRecord, now: number): Diagnosis | undefined {
    if (job.phase !== 'queued') return this.diagnosis(job);
    const blocked = this.diagnosis(job);
    if (blocked?.blockedBy !== undefined) return blocked;
    const ctx: PlacementContext = { state: this.state, now, ownSitesOnly: this.options.ownSitesOnly, reservation: this.reservation };
    const candidates = candidateSites(this.state, job, this.candidateCache);
    const result = place(ctx, job, candidates);
    if (isChoice(result)) return this.diagnoses.get(job);
    const across = job.spec.span && !this.options.ownSitesOnly ? this.trySpanning(job, candidates, ctx) : null;
    const diagnosis = typeof across === 'string' ? { ...result, span: across, never: false } : result;
    this.diagnoses.set(job, diagnosis);
    return diagnosis;
  }

  /** The job's run ended successfully at `now`. */
  finish(job: JobRecord, now: number): void {
    // What the run took, in work at full speed: what the next jobs like it are predicted to need when durations are not known.
    if (job.startedAtS >= 0) this.history.observe(job.org, job.spec.gpus, job.workDoneS + (now - job.startedAtS) * job.rate);
    this.releaseAll(job, now);
    job.workDoneS = job.spec.durationS;
    job.remainingEstimateS = 0;
    job.phase = 'done';
    job.endS = now;
  }

  /**
   * The job's run stops at `now` without finishing (preempted, or its site failed):
   * work since its last checkpoint is lost, and it goes back to the queue.
   */
  stop(job: JobRecord, now: number, why: 'preempted' | 'failed'): void {
    if (job.phase !== 'running' && job.phase !== 'stopping') return;
    const ran = now - job.startedAtS;
    const progress = job.workDoneS + ran * job.rate;
    const c = job.spec.checkpointIntervalS;
    const saved = c === null ? job.workDoneS : Math.max(job.workDoneS, Math.floor(progress / c) * c);
    if (why === 'preempted') job.lostGpuS += (progress - saved) * job.spec.gpus;
    else job.failedGpuS += (progress - saved) * job.spec.gpus;
    job.remainingEstimateS = this.remainingAfter(job, saved);
    job.workDoneS = saved;
    this.releaseAll(job, now);
    if (why === 'preempted') job.preemptions++;
    job.phase = 'queued';
    if (this.inPass) this.deferredAdds.push(job);
    else this.profile.order.add(job);
  }

  /**
   * The site fails at `now`: its jobs stop (requeued, work since their checkpoints
   * lost), except spanning jobs whose other parts can go on without it: those
   * shrink (their other replicas hold the model) and run on at a new rate.
   */
  siteDown(site: number, now: number): { readonly failed: JobRecord[]; readonly shrunk: JobRecord[] } {
    const s = this.state.sites[site];
    if (!s) return { failed: [], shrunk: [] };
    s.up = false;
    const victims = [...s.running.keys()].map((j) => this.state.jobs[j] as JobRecord);
    const shrunk = victims.filter((v) => this.shrink(v, site, now));
    const failed = victims.filter((v) => !shrunk.includes(v));
    for (const v of failed) this.stop(v, now, 'failed');
    return { failed, shrunk };
  }

  /**
   * A spanning job gives back its part on `site` at `now` and goes on with the
   * other parts, at the rate their ring allows (work so far is kept: the other
   * replicas hold the model). Returns false, changing nothing, when it is not
   * running there or the rest would fall below its minimum efficiency: the driver
   * stops the job instead.
   */
  shrink(job: JobRecord, site: number, now: number): boolean {
    const alloc = job.allocation;
    if (job.phase !== 'running' || alloc === null) return false;
    const ring = shrunkRing(this.state, job, site);
    const part = alloc.parts.find((p) => p.site === site);
    if (ring === null || part === undefined) return false;
    job.workDoneS += (now - job.startedAtS) * job.rate;
    job.attainedGpuS += (now - job.startedAtS) * alloc.gpus;
    job.remainingEstimateS = this.remainingAfter(job, job.workDoneS);
    this.releasePart(job, part);
    this.holdLinks(alloc.wan, -1);
    const wan = ring.links.length > 0 ? { links: ring.links, gbps: ring.gbps } : null;
    this.holdLinks(wan, 1);
    const gpus = alloc.gpus - part.gpus;
    job.allocation = { parts: alloc.parts.filter((p) => p !== part), gpus, wan, efficiency: ring.efficiency };
    job.rate = this.rateOf(job, ring.efficiency, gpus);
    job.startedAtS = now;
    job.leaving = -1;
    job.epoch++;
    this.releases++;
    this.capacityGrew = true;
    return true;
  }

  siteUp(site: number): void {
    const s = this.state.sites[site];
    if (s) s.up = true;
    this.capacityGrew = true;
  }

  /** When the driver should run a pass even if nothing else happens (a time-based trigger), or Infinity. */
  get wakeAt(): number {
    return this.wakeAtS;
  }

  /** A new job's record, registered in the pool state (queued, not yet in the queue order). */
  private record(spec: JobSpec): JobRecord {
    const job: JobRecord = {
      spec, seq: this.state.jobs.length, org: this.state.addOrg(spec.org), phase: 'queued', allocation: null,
      startedAtS: -1, firstStartS: -1, endS: -1, workDoneS: 0, attainedGpuS: 0, remainingEstimateS: this.estimateOf(spec, this.state.orgIndex.get(spec.org) ?? -1),
      preemptions: 0, lostGpuS: 0, failedGpuS: 0, epoch: 0, lastSite: -1, shape: '',
      fitGpus: spec.span ? Math.min(spec.gpus, spec.span.replicaGpus) : spec.gpus, rate: 1, leaving: -1,
    };
    job.shape = `${job.org}|${spec.gpus}|${spec.gpuTypes?.join(',') ?? '*'}${spec.span ? '|span' : ''}`;
    this.state.jobs.push(job);
    return job;
  }

  /** Starts `job` on every part of `choice` at once (one part on one site, several across sites). */
  private start(job: JobRecord, choice: SpanChoice, now: number): void {
    const parts = choice.parts.map((c) => c.site.commit(job.seq, c.nodes, c.counts, job.org));
    const gpus = parts.reduce((n, p) => n + p.gpus, 0);
    const wan = choice.links.length > 0 ? { links: choice.links, gbps: choice.gbps } : null;
    this.holdLinks(wan, 1);
    job.allocation = { parts, gpus, wan, efficiency: choice.efficiency };
    job.rate = this.rateOf(job, choice.efficiency, gpus);
    job.phase = 'running';
    job.startedAtS = now;
    if (job.firstStartS < 0) job.firstStartS = now;
    job.epoch++;
    job.lastSite = parts[0]?.site ?? -1;
    this.profile.started?.(job, now);
    for (const site of this.state.sites) if (site.heldFor === job) site.heldFor = null;
    for (const p of parts) this.state.hold(job.org, this.state.sites[p.site] as SiteState, p.gpus, 1);
    if (this.inPass) this.deferredRemoves.push(job);
    else this.profile.order.remove(job);
  }

  /** Adds (`sign` 1) or gives back (−1) a spanning job's bandwidth on its ring's links. */
  private holdLinks(wan: LinkHold | null, sign: 1 | -1): void {
    if (wan === null) return;
    for (const key of wan.links) {
      const link = this.state.links.get(key);
      if (link !== undefined) link.used += sign * wan.gbps;
    }
  }

  /**
   * The spanning placement for `job`, or why there is none: not tried while a
   * single site is expected to start the job within its `maxSingleSiteWaitS`.
   */
  private trySpanning(job: JobRecord, candidates: readonly number[], ctx: PlacementContext): SpanChoice | string {
    const span = job.spec.span;
    if (!span) return 'the job does not span sites';
    const single = this.reserve(job, candidates, ctx.now);
    if (single !== null && single.shadowS - ctx.now <= span.maxSingleSiteWaitS) {
      return `not tried: one site is expected to start the job in ${Math.round((single.shadowS - ctx.now) / 60)} min, within its ${Math.round(span.maxSingleSiteWaitS / 60)} min limit`;
    }
    return placeSpanning(ctx, job, candidates);
  }

  private releaseAll(job: JobRecord, now: number): void {
    const alloc = job.allocation;
    if (alloc === null) return;
    for (const part of alloc.parts) this.releasePart(job, part);
    this.holdLinks(alloc.wan, -1);
    job.attainedGpuS += (now - job.startedAtS) * alloc.gpus;
    job.allocation = null;
    job.startedAtS = -1;
    job.rate = 1;
    job.leaving = -1;
    this.releases++;
    this.capacityGrew = true;
  }

  private releasePart(job: JobRecord, part: SitePart): void {
    const site = this.state.sites[part.site] as SiteState;
    site.release(job.seq, part, job.org);
    this.state.hold(job.org, site, part.gpus, -1);
  }

  /**
   * Reference-seconds of work per second for `job` on its allocation: the ring's efficiency, the share of its
   * replicas running, and the slowest of its parts' GPUs (replicas step together, so the slowest sets the pace).
   */
  private rateOf(job: JobRecord, efficiency: number, gpus: number): number {
    let speed = Infinity;
    for (const p of job.allocation?.parts ?? []) speed = Math.min(speed, (this.state.sites[p.site] as SiteState).speed);
    return ((efficiency * gpus) / job.spec.gpus) * (speed === Infinity ? 1 : speed);
  }

  /**
   * What is left of a job that has done `doneS` of its work: its estimate less that, while the estimate holds. A job
   * that has run past its estimate is taken to need as long again as it has run (doubling), never nothing: otherwise
   * a job that understates its estimate would, once requeued, rank first under every duration-sorting policy.
   */
  private remainingAfter(job: JobRecord, doneS: number): number {
    const estimate = this.estimateOf(job.spec, job.org);
    return doneS < estimate ? estimate - doneS : doneS;
  }

  /** The run time the scheduler goes by: the job's estimate, or the same for every job when durations are not known. */
  private estimateOf(spec: JobSpec, org: number): number {
    return this.options.durationsKnown ? spec.estimateS : (this.history.predict(org, spec.gpus) ?? UNKNOWN_DURATION_S);
  }

  private minGpusPerNode(): number {
    let m = Infinity;
    for (const s of this.state.sites) if (s.gpusPerNode < m) m = s.gpusPerNode;
    return m;
  }

  private maxSiteFree(): number {
    let m = 0;
    for (const s of this.state.sites) if (s.up && s.free > m) m = s.free;
    return m;
  }

  /** A diagnosis when no site could ever hold the job, else null. */
  private neverDiagnosis(job: JobRecord): Diagnosis | null {
    const candidates = candidateSites(this.state, job, this.candidateCache);
    const reasons: Partial<Record<ReasonCode, number>> = {};
    for (const i of candidates) {
      const r = staticReason(this.state.sites[i] as SiteState, job, this.options.ownSitesOnly);
      if (r === null) return null;
      reasons[r] = (reasons[r] ?? 0) + 1;
    }
    const mismatch = this.state.sites.length - candidates.length;
    if (mismatch > 0) reasons.gpu_type = mismatch;
    const span = job.spec.span;
    if (span && !this.options.ownSitesOnly) {
      // Across sites the job needs only whole replicas on each, up to what each may ever lend it.
      let replicas = 0;
      for (const i of candidates) {
        const site = this.state.sites[i] as SiteState;
        replicas += Math.floor((site.org === job.org ? site.total : site.lendsTo(job.spec.org) ? site.borrowerCap(job.spec.org) : 0) / span.replicaGpus);
      }
      const needed = Math.ceil(job.spec.gpus / span.replicaGpus);
      if (replicas >= needed) return null;
      return { sites: this.state.sites.length, reasons, never: true, span: `the pool could hold ${replicas * span.replicaGpus} of its ${needed * span.replicaGpus} GPUs in whole replicas of ${span.replicaGpus}` };
    }
    return { sites: this.state.sites.length, reasons, never: true };
  }

  /**
   * EASY backfill's reservation: the site where `job` would start soonest if
   * running jobs end when estimated, the shadow time it starts then, and the GPUs
   * there beyond what it needs.
   */
  private reserve(job: JobRecord, candidates: readonly number[], now: number): Reservation | null {
    let best: Reservation | null = null;
    for (const i of candidates) {
      const site = this.state.sites[i] as SiteState;
      if (!site.up || staticReason(site, job, this.options.ownSitesOnly) !== null) continue;
      // GPUs held for an owner's job are not this borrower's to reserve: reserving them would deadlock both.
      if (site.org !== job.org && site.heldFor !== null && site.heldFor !== job && site.heldFor.phase === 'queued') continue;
      const ends = [...site.running].map(([j, gpus]) => {
        const r = this.state.jobs[j] as JobRecord;
        return { at: r.startedAtS + r.remainingEstimateS / r.rate, gpus };
      }).sort((a, b) => a.at - b.at);
      let free = site.free;
      let shadow = now;
      for (const e of ends) {
        if (free >= job.spec.gpus) break;
        free += e.gpus;
        shadow = Math.max(now, e.at);
      }
      if (free < job.spec.gpus) continue;
      if (best === null || shadow < best.shadowS) best = { site: i, job, shadowS: shadow, extra: free - job.spec.gpus };
    }
    return best;
  }
}
