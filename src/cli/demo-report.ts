/**
 * What `suanli demo` shows, from the API's answers alone: progress while the workload
 * runs (one line per job state change, or a status block a terminal redraws), then
 * the summary (tables, or JSON). No I/O here: the command polls and prints.
 */
import type { JobDetailResponse, JobResponse, LedgerResponse } from '../server/schemas.ts';
import type { Wire } from './client/http.ts';
import type { DemoJobRole } from './demo-workload.ts';
import * as fmt from './format.ts';

/** A job as GET /jobs lists it, and as GET /jobs/:id shows it (with placements and events). */
export type JobListed = Wire<typeof JobResponse>;
export type JobDetail = Wire<typeof JobDetailResponse>;
export type Ledger = Wire<typeof LedgerResponse>;
type Placement = JobDetail['placements'][number];

/** A member's site as the demo created it. */
export interface DemoSite {
  readonly id: string;
  readonly orgId: string;
  readonly name: string;
  readonly gpuType: string;
  readonly gpus: number;
}

/** One progress line and when its change happened (lines from one poll are shown in time order). */
export interface ProgressLine {
  readonly atMs: number;
  readonly text: string;
}

/** States a job never leaves. */
const FINAL_STATES: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);
/** The order the status line counts jobs in: the way a job goes. */
const STATE_ORDER = ['pending', 'placed', 'running', 'preempted', 'succeeded', 'failed', 'cancelled'] as const;
/** States whose placement holds GPUs. */
const HOLDING_STATES: ReadonlySet<string> = new Set(['placed', 'running']);

/**
 * Follows the workload through the job details the command feeds it, and says what
 * changed. Elapsed times count from `startMs`, the moment the workload was
 * submitted, and are read from the events' own timestamps, so a late poll does not
 * shift them.
 */
export class WorkloadProgress {
  private readonly jobs = new Map<string, JobDetail>();
  /** The last event seq already told, per job. */
  private readonly told = new Map<string, number>();
  /** Jobs whose "can never start" diagnosis was already told. */
  private readonly toldNever = new Set<string>();

  constructor(readonly sites: readonly DemoSite[], readonly roles: ReadonlyMap<string, DemoJobRole>, readonly startMs: number) {}

  /** The job's latest detail, if it was ever fed. */
  job(id: string): JobDetail | undefined {
    return this.jobs.get(id);
  }

  all(): JobDetail[] {
    return [...this.jobs.values()];
  }

  /** Takes a job's latest detail; returns one line per state change not told before, with when it happened. */
  update(job: JobDetail): ProgressLine[] {
    this.jobs.set(job.id, job);
    const lines: ProgressLine[] = [];
    const last = this.told.get(job.id) ?? 0;
    // Placements are one per attempt, in order: the n-th placement is the n-th "placed" event's, and later events of that attempt are on it.
    let placements = 0;
    for (const e of job.events) {
      if (e.to_state === 'placed') placements++;
      // The submission itself (no from_state) is told once for the whole workload.
      if (e.seq <= last || e.to_state === null || e.from_state === null) continue;
      lines.push(this.line(job, Date.parse(e.at), this.change(job, e, job.placements[placements - 1])));
    }
    const lastSeq = job.events.at(-1)?.seq;
    if (lastSeq !== undefined) this.told.set(job.id, Math.max(last, lastSeq));
    if (job.state === 'pending' && job.diagnosis?.never === true && !this.toldNever.has(job.id)) {
      this.toldNever.add(job.id);
      lines.push(this.line(job, Date.parse(job.updated_at), `waits: ${job.diagnosis.message}`));
    }
    return lines;
  }

  /** Every job that can finish has finished: the rest can never start. */
  settled(): boolean {
    return this.all().every((j) => FINAL_STATES.has(j.state) || cannotStart(j));
  }

  /** GPUs held on each site now: the parts of placed and running jobs' latest placements. */
  busyGpus(): Map<string, number> {
    const busy = new Map<string, number>();
    for (const j of this.all()) {
      if (!HOLDING_STATES.has(j.state)) continue;
      for (const part of j.placements.at(-1)?.parts ?? []) busy.set(part.site_id, (busy.get(part.site_id) ?? 0) + part.gpus);
    }
    return busy;
  }

  /** The compact status a terminal redraws: elapsed time, jobs per state, GPUs busy per site. */
  statusBlock(nowMs: number): string[] {
    const jobs = this.all();
    const states = STATE_ORDER.map((state) => [state, jobs.filter((j) => j.state === state).length] as const).filter(([, n]) => n > 0).map(([state, n]) => `${n} ${state}`).join(', ');
    const busy = this.busyGpus();
    const rows = this.sites.map((s) => {
      const used = busy.get(s.id) ?? 0;
      return [s.name, s.gpuType, `${'█'.repeat(used)}${'░'.repeat(Math.max(0, s.gpus - used))}`, `${used}/${s.gpus}`];
    });
    return [`${elapsed(nowMs - this.startMs)}  jobs: ${states}`, fmt.columns([['site', 'GPU', 'busy', 'GPUs'], ...rows])];
  }

  /** " 12.3 s  #8 shanghai-studio/video-gen-1080p (8 GPUs)  running on …". */
  private line(job: JobDetail, atMs: number, what: string): ProgressLine {
    return { atMs, text: `${elapsed(atMs - this.startMs)}  #${job.id} ${job.org_id}/${job.name} (${fmt.plural(job.gpus, 'GPU')})  ${what}` };
  }

  /** A state change in words; `placement` is the attempt's the event belongs to. */
  private change(job: JobDetail, e: JobDetail['events'][number], placement: Placement | undefined): string {
    const where = () => this.where(job, placement);
    switch (e.to_state) {
      case 'placed':
        return `placed on ${where()}`;
      case 'running':
        return `running on ${where()}`;
      case 'succeeded':
        return 'succeeded';
      case 'failed':
        return `failed${typeof e.detail.exit_code === 'number' ? ` (exit code ${e.detail.exit_code})` : ''}`;
      case 'preempted':
        return e.detail.why === 'reclaim' ? "preempted: its GPUs are reclaimed for their owner's waiting job" : `preempted (${typeof e.detail.why === 'string' ? e.detail.why : e.type})`;
      case 'pending':
        return 'back in the queue';
      default:
        return `${e.to_state} (${e.type.replaceAll('_', ' ')})`;
    }
  }

  /** "shenzhen-l20 (lent by shenzhen-univ)": where a placement of the job is, by default its latest. */
  where(job: JobDetail, placement: Placement | undefined = job.placements.at(-1)): string {
    const parts = placement?.parts ?? [];
    if (parts.length === 0) return '—';
    return parts.map((p) => {
      const site = this.sites.find((s) => s.id === p.site_id);
      if (site === undefined) return `site ${p.site_id}`;
      return site.orgId === job.org_id ? site.name : `${site.name} (lent by ${site.orgId})`;
    }).join(' + ');
  }
}

/** The largest site's GPUs and the whole pool's: what a job too large for any site is measured against. */
export function poolSize(sites: readonly DemoSite[]): { largestSite: number; pool: number } {
  return { largestSite: Math.max(0, ...sites.map((s) => s.gpus)), pool: sites.reduce((n, s) => n + s.gpus, 0) };
}

/** The GPUs of an org's own sites. */
export const ownedGpus = (sites: readonly DemoSite[], orgId: string): number => sites.filter((s) => s.orgId === orgId).reduce((n, s) => n + s.gpus, 0);

/** Pending and no site could ever hold it, as the scheduler diagnosed. */
export const cannotStart = (j: JobDetail): boolean => j.state === 'pending' && j.diagnosis?.never === true;

/** "  4.2 s": fixed width, so progress lines align. */
function elapsed(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1).padStart(5)} s`;
}

/** Seconds the job's latest placement ran; null if it never started or has not ended. */
function runSeconds(j: JobDetail): number | null {
  const p = j.placements.at(-1);
  if (p === undefined || p.started_at === null || p.ended_at === null) return null;
  return (Date.parse(p.ended_at) - Date.parse(p.started_at)) / 1000;
}

/** An org's GPU-hours, summed over GPU types. */
export interface OrgBalance {
  readonly org_id: string;
  readonly contributed_gpu_h: number;
  readonly consumed_gpu_h: number;
  readonly own_gpu_h: number;
  readonly credits_gpu_h: number;
}

/** The ledger's rows summed per org, in `orgIds` order (an org with no rows has zeros). */
export function balances(ledger: Ledger, orgIds: readonly string[]): OrgBalance[] {
  return orgIds.map((org_id) => {
    const rows = ledger.rows.filter((r) => r.org_id === org_id);
    const sum = (key: 'contributed_gpu_h' | 'consumed_gpu_h' | 'own_gpu_h' | 'credits_gpu_h') => rows.reduce((n, r) => n + r[key], 0);
    return { org_id, contributed_gpu_h: sum('contributed_gpu_h'), consumed_gpu_h: sum('consumed_gpu_h'), own_gpu_h: sum('own_gpu_h'), credits_gpu_h: sum('credits_gpu_h') };
  });
}

/** What the summary is made of. */
export interface DemoOutcome {
  readonly progress: WorkloadProgress;
  readonly ledger: Ledger;
  readonly orgIds: readonly string[];
  /** Seconds from submission until every job that can finish had finished. */
  readonly elapsedS: number;
  /** The demo stopped waiting before that (its deadline). */
  readonly timedOut: boolean;
  /** `suanli ledger verify` as each member ran it at the end, in `orgIds` order. */
  readonly verified: readonly LedgerCheck[];
}

/** One member's `suanli ledger verify`, as the summary shows it. */
export interface LedgerCheck {
  readonly org: string;
  readonly verified: boolean;
  readonly checkpointSize: number;
  /** The log key the member pinned (on first use: the demo's first verify). */
  readonly logKey: string;
  readonly records: number;
  readonly bySite: number;
  readonly controlPlaneAlone: number;
  /** The org's credits as its verified records add them up, GPU-hours. */
  readonly creditsGpuH: number;
  /** What did not hold, each naming its entry or checkpoint. */
  readonly problems: readonly string[];
}

/** The summary as tables and sentences. */
export function summaryText(o: DemoOutcome): string {
  const jobs = o.progress.all();
  const waiting = jobs.filter(cannotStart);
  const finished = jobs.filter((j) => FINAL_STATES.has(j.state));
  const count = (state: string) => jobs.filter((j) => j.state === state).length;
  const out: string[] = [];
  out.push(o.timedOut
    ? `stopped waiting after ${fmt.duration(o.elapsedS)}: ${fmt.plural(jobs.length - finished.length - waiting.length, 'job')} that could run had not finished`
    : `every job that can run has finished, ${fmt.duration(o.elapsedS)} after submission: ${count('succeeded')} succeeded, ${count('failed')} failed, ${waiting.length} cannot start`);
  out.push('', fmt.columns([
    ['#', 'org', 'job', 'GPUs', 'state', 'ran on', 'run time'],
    ...jobs.map((j) => {
      const s = runSeconds(j);
      return [j.id, j.org_id, j.name, String(j.gpus), j.state, o.progress.where(j), s === null ? '—' : fmt.duration(s)];
    }),
  ]));
  for (const j of jobs.filter((x) => o.progress.roles.get(x.id) === 'pooled' && x.state === 'succeeded')) {
    const logTail = j.events.find((e) => e.type === 'succeeded')?.detail.log_tail;
    const tail = (typeof logTail === 'string' ? logTail : '').trimEnd().split('\n').slice(-2);
    out.push('', `#${j.id} ${j.name} asked for ${fmt.plural(j.gpus, 'GPU')}, more than the ${ownedGpus(o.progress.sites, j.org_id)} ${j.org_id} owns, and ran on ${o.progress.where(j)}. The last lines it printed:`, ...tail.map((l) => `  ${l}`));
  }
  for (const j of jobs.filter((x) => o.progress.roles.get(x.id) === 'spanning' && x.state === 'succeeded')) {
    const placed = j.events.findLast((e) => e.type === 'placed');
    const efficiency = typeof placed?.detail.efficiency === 'number' ? ` at ${fmt.percent(placed.detail.efficiency)} efficiency` : '';
    out.push('', `#${j.id} ${j.name} asked for ${fmt.plural(j.gpus, 'GPU')}, more than any one site has, and ran across ${o.progress.where(j)}${efficiency}: every site started its part before the job ran.`);
  }
  const { largestSite, pool } = poolSize(o.progress.sites);
  for (const j of waiting) {
    out.push('', `#${j.id} ${j.org_id}/${j.name} (${fmt.plural(j.gpus, 'GPU')}) is still pending. The scheduler's diagnosis:`, `  ${j.diagnosis?.message ?? ''}`,
      `The largest site has ${largestSite} GPUs and the pool ${pool}: no set of sites can hold it either, so this job waits.`);
  }
  const rows = balances(o.ledger, o.orgIds);
  out.push('', 'ledger (GET /api/v1/ledger), GPU-hours per org over all GPU types', fmt.columns([
    ['org', 'contributed', 'consumed', 'own use', 'credits'],
    ...rows.map((r) => [r.org_id, fmt.hours(r.contributed_gpu_h), fmt.hours(r.consumed_gpu_h), fmt.hours(r.own_gpu_h), fmt.hours(r.credits_gpu_h)]),
  ]));
  out.push('');
  for (const r of rows) {
    if (r.consumed_gpu_h > r.contributed_gpu_h) out.push(`${r.org_id} consumed more than it contributed: the pool ran its work on other members' GPUs.`);
    else if (r.contributed_gpu_h > r.consumed_gpu_h) out.push(`${r.org_id} contributed more than it consumed: its idle GPUs ran other members' work, and it holds the credits.`);
  }
  out.push('', ...verifiedText(o.verified));
  return out.join('\n');
}

/** The summary's last words: each member's `suanli ledger verify`, and what failed if anything did. */
function verifiedText(checks: readonly LedgerCheck[]): string[] {
  const [first] = checks;
  if (first === undefined) return [];
  const all = checks.every((c) => c.verified);
  return [
    `suanli ledger verify, as each member runs it: every record of its org in the signed usage log (checkpoint size ${first.checkpointSize}, log key ${first.logKey.split('+').slice(0, 2).join('+')}), each site's signature, and the API's credits against them`,
    fmt.columns([
      ['org', 'ledger', 'records', 'signed by their site', 'by the control plane alone', 'credits'],
      ...checks.map((c) => [c.org, c.verified ? 'verified' : 'NOT verified', String(c.records), String(c.bySite), String(c.controlPlaneAlone), fmt.hours(c.creditsGpuH)]),
    ]),
    ...checks.flatMap((c) => c.problems.map((p) => `  ✗ ${c.org}: ${p}`)),
    all ? "No member has to take the operator's word for its credits: each checked them against the records that the sites which ran the work signed." : "A member's ledger did NOT verify: see above.",
  ];
}

/** The summary as JSON (`--json`): the jobs as the API shows them, the ledger as it came, and per-org sums. */
export function summaryJson(o: DemoOutcome, connection: Record<string, unknown>): Record<string, unknown> {
  return {
    schema: 'suanli.demo/1',
    ...connection,
    elapsed_s: o.elapsedS,
    timed_out: o.timedOut,
    sites: o.progress.sites.map((s) => ({ id: s.id, org_id: s.orgId, name: s.name, gpu_type: s.gpuType, gpus: s.gpus })),
    jobs: o.progress.all().map((j) => ({
      id: j.id, org_id: j.org_id, name: j.name, gpus: j.gpus, role: o.progress.roles.get(j.id) ?? null, state: j.state, attempts: j.attempts,
      sites: [...new Set(j.placements.at(-1)?.parts.map((p) => p.site_id) ?? [])], run_s: runSeconds(j), diagnosis: j.diagnosis,
    })),
    balances: balances(o.ledger, o.orgIds),
    ledger: o.ledger,
    ledger_verify: o.verified.map((c) => ({
      org_id: c.org, verified: c.verified, checkpoint_size: c.checkpointSize, log_key: c.logKey, records: c.records, by_site: c.bySite,
      control_plane_alone: c.controlPlaneAlone, credits_gpu_h: c.creditsGpuH, problems: c.problems,
    })),
  };
}
