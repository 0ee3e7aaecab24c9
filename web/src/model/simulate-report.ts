import type { MessageKey } from '../i18n/catalog-en.ts';
import type { I18n } from '../i18n/i18n-context.tsx';

/**
 * A simulation report as `suanli simulate … --json` prints it (and `--report DIR`
 * writes as results.json; schema suanli.simulate/1, src/cli/simulate-command.ts
 * resultsJson): read from a file the user picks, checked field by field before
 * anything is shown, and turned into the rows of the comparison table and the
 * charts. test/web-vocabulary.test.ts reads a fresh run's document with it.
 */

export const REPORT_SCHEMA = 'suanli.simulate/1';
/** Larger files are refused unread: a report is a few kilobytes per policy. */
export const MAX_REPORT_BYTES = 20 * 1024 * 1024;

export interface SimSummaryJson {
  readonly jobs: number;
  readonly done: number;
  readonly never_started: number;
  readonly unfinished: number;
  readonly avg_jct_s: number | null;
  readonly p50_jct_s: number | null;
  readonly p99_jct_s: number | null;
  readonly avg_queue_s: number | null;
  readonly makespan_s: number;
  readonly utilization: number;
  readonly total_gpus: number;
  readonly largest_job_started_gpus: number;
  readonly gpu_hours_used: number;
  readonly gpu_hours_lost_to_preemption: number;
  readonly preemptions: number;
}

export interface SimOrgFairnessJson {
  readonly org: string;
  readonly jobs: number;
  readonly avg_jct_pooled_s: number | null;
  readonly avg_jct_alone_s: number | null;
  readonly rho: number | null;
  readonly enabled_by_pooling: number;
}

export interface SimFairnessJson {
  readonly orgs: readonly SimOrgFairnessJson[];
  readonly jobs_worse_off: number;
  readonly orgs_worse_off: number;
  readonly worst_rho: number | null;
  readonly worst_org: string | null;
}

export interface SimRunJson {
  readonly policy: string;
  readonly pooled: SimSummaryJson | null;
  readonly siloed: SimSummaryJson | null;
  readonly fairness: SimFairnessJson | null;
}

export interface SimulateReportJson {
  readonly schema: typeof REPORT_SCHEMA;
  readonly trace: { readonly file: string; readonly format: string; readonly jobs: number; readonly skipped_rows: number };
  readonly pool: { readonly source: string; readonly sites: number; readonly orgs: number; readonly gpus: number; readonly notes: readonly string[] };
  readonly seed: number;
  readonly backfill: boolean;
  readonly runs: readonly SimRunJson[];
}

/** What the value at a path should have been. */
export type Expected = 'number' | 'numberOrNull' | 'text' | 'textOrNull' | 'boolean' | 'list' | 'object' | 'objectOrNull';

/** Why a file is not a report the dashboard can show. */
export type ReportProblem =
  | { readonly kind: 'too-large'; readonly bytes: number }
  | { readonly kind: 'unreadable'; readonly detail: string }
  | { readonly kind: 'not-json'; readonly detail: string }
  | { readonly kind: 'no-schema' }
  /** Another Suanli document (a plan, say), or a report of another version. */
  | { readonly kind: 'other-schema'; readonly schema: string }
  | { readonly kind: 'field'; readonly path: string; readonly expected: Expected }
  | { readonly kind: 'no-runs' };

export type ReportReading = { readonly ok: true; readonly report: SimulateReportJson } | { readonly ok: false; readonly problem: ReportProblem };

/** The report in `text`, or why it is not one. Only the fields the dashboard shows are checked; others may come and go. */
export function readSimulateReport(text: string): ReportReading {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: { kind: 'not-json', detail: err instanceof Error ? err.message : String(err) } };
  }
  if (!isObject(json) || !('schema' in json)) return { ok: false, problem: { kind: 'no-schema' } };
  if (json.schema !== REPORT_SCHEMA) return { ok: false, problem: typeof json.schema === 'string' ? { kind: 'other-schema', schema: json.schema } : { kind: 'no-schema' } };
  try {
    const report = reportOf(new Reader(json, ''));
    return report.runs.length === 0 ? { ok: false, problem: { kind: 'no-runs' } } : { ok: true, report };
  } catch (err) {
    if (err instanceof WrongField) return { ok: false, problem: { kind: 'field', path: err.path, expected: err.expected } };
    throw err;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

class WrongField extends Error {
  constructor(readonly path: string, readonly expected: Expected) {
    super(`${path}: expected ${expected}`);
  }
}

/** Reads typed fields off one object of the document, naming the path of the first that is wrong. */
class Reader {
  constructor(private readonly o: Record<string, unknown>, private readonly path: string) {}

  private at(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  number(key: string): number {
    const v = this.o[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new WrongField(this.at(key), 'number');
    return v;
  }

  numberOrNull(key: string): number | null {
    const v = this.o[key];
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new WrongField(this.at(key), 'numberOrNull');
    return v;
  }

  text(key: string): string {
    const v = this.o[key];
    if (typeof v !== 'string') throw new WrongField(this.at(key), 'text');
    return v;
  }

  textOrNull(key: string): string | null {
    const v = this.o[key];
    if (v !== null && typeof v !== 'string') throw new WrongField(this.at(key), 'textOrNull');
    return v;
  }

  boolean(key: string): boolean {
    const v = this.o[key];
    if (typeof v !== 'boolean') throw new WrongField(this.at(key), 'boolean');
    return v;
  }

  object(key: string): Reader {
    const v = this.o[key];
    if (!isObject(v)) throw new WrongField(this.at(key), 'object');
    return new Reader(v, this.at(key));
  }

  /** Whether the key is there at all (fields added to the format later are optional). */
  has(key: string): boolean {
    return this.o[key] !== undefined;
  }

  objectOrNull(key: string): Reader | null {
    const v = this.o[key];
    if (v === null) return null;
    if (!isObject(v)) throw new WrongField(this.at(key), 'objectOrNull');
    return new Reader(v, this.at(key));
  }

  list<T>(key: string, item: (r: Reader) => T): T[] {
    const v = this.o[key];
    if (!Array.isArray(v)) throw new WrongField(this.at(key), 'list');
    return v.map((x: unknown, i) => {
      if (!isObject(x)) throw new WrongField(`${this.at(key)}[${i}]`, 'object');
      return item(new Reader(x, `${this.at(key)}[${i}]`));
    });
  }

  texts(key: string): string[] {
    const v = this.o[key];
    if (!Array.isArray(v)) throw new WrongField(this.at(key), 'list');
    return v.map((x: unknown, i) => {
      if (typeof x !== 'string') throw new WrongField(`${this.at(key)}[${i}]`, 'text');
      return x;
    });
  }
}

function reportOf(r: Reader): SimulateReportJson {
  const trace = r.object('trace');
  const pool = r.object('pool');
  return {
    schema: REPORT_SCHEMA,
    trace: { file: trace.text('file'), format: trace.text('format'), jobs: trace.number('jobs'), skipped_rows: trace.number('skipped_rows') },
    pool: { source: pool.text('source'), sites: pool.number('sites'), orgs: pool.number('orgs'), gpus: pool.number('gpus'), notes: pool.texts('notes') },
    seed: r.number('seed'),
    backfill: r.boolean('backfill'),
    runs: r.list('runs', (run) => {
      const summary = (key: 'pooled' | 'siloed') => {
        const s = run.objectOrNull(key);
        return s === null ? null : summaryOf(s);
      };
      const f = run.objectOrNull('fairness');
      // A run at an information level other than the true durations is named with it, as the CLI names it (older reports have none).
      const e = run.has('estimates') ? run.object('estimates') : null;
      const level = e === null ? 'oracle' : e.text('level');
      const sigma = e?.has('sigma') === true ? e.number('sigma') : null;
      const policy = level === 'oracle' ? run.text('policy') : `${run.text('policy')} · ${level}${sigma === null ? '' : ` (σ=${sigma})`}`;
      return { policy, pooled: summary('pooled'), siloed: summary('siloed'), fairness: f === null ? null : fairnessOf(f) };
    }),
  };
}

function summaryOf(s: Reader): SimSummaryJson {
  return {
    jobs: s.number('jobs'), done: s.number('done'), never_started: s.number('never_started'), unfinished: s.number('unfinished'),
    avg_jct_s: s.numberOrNull('avg_jct_s'), p50_jct_s: s.numberOrNull('p50_jct_s'), p99_jct_s: s.numberOrNull('p99_jct_s'), avg_queue_s: s.numberOrNull('avg_queue_s'),
    makespan_s: s.number('makespan_s'), utilization: s.number('utilization'), total_gpus: s.number('total_gpus'), largest_job_started_gpus: s.number('largest_job_started_gpus'),
    gpu_hours_used: s.number('gpu_hours_used'), gpu_hours_lost_to_preemption: s.number('gpu_hours_lost_to_preemption'), preemptions: s.number('preemptions'),
  };
}

function fairnessOf(f: Reader): SimFairnessJson {
  return {
    orgs: f.list('orgs', (o) => ({
      org: o.text('org'), jobs: o.number('jobs'), avg_jct_pooled_s: o.numberOrNull('avg_jct_pooled_s'), avg_jct_alone_s: o.numberOrNull('avg_jct_alone_s'),
      rho: o.numberOrNull('rho'), enabled_by_pooling: o.number('enabled_by_pooling'),
    })),
    jobs_worse_off: f.number('jobs_worse_off'), orgs_worse_off: f.number('orgs_worse_off'), worst_rho: f.numberOrNull('worst_rho'), worst_org: f.textOrNull('worst_org'),
  };
}

const EXPECTED_LABEL: Readonly<Record<Expected, MessageKey>> = {
  number: 'simulate.expectNumber',
  numberOrNull: 'simulate.expectNumberOrNull',
  text: 'simulate.expectText',
  textOrNull: 'simulate.expectTextOrNull',
  boolean: 'simulate.expectBoolean',
  list: 'simulate.expectList',
  object: 'simulate.expectObject',
  objectOrNull: 'simulate.expectObjectOrNull',
};

/** Why the file is not a report, as the page says it. */
export function problemText({ t, format }: Pick<I18n, 't' | 'format'>, problem: ReportProblem): string {
  switch (problem.kind) {
    case 'too-large':
      return t('simulate.errorTooLarge', { size: format.bytes(problem.bytes), max: format.bytes(MAX_REPORT_BYTES) });
    case 'unreadable':
      return t('simulate.errorUnreadable', { detail: problem.detail });
    case 'not-json':
      return t('simulate.errorNotJson', { detail: problem.detail });
    case 'no-schema':
      return t('simulate.errorNoSchema', { schema: REPORT_SCHEMA });
    case 'other-schema':
      return t('simulate.errorOtherSchema', { schema: problem.schema, expected: REPORT_SCHEMA });
    case 'field':
      return t('simulate.errorField', { path: problem.path, expected: t(EXPECTED_LABEL[problem.expected]) });
    case 'no-runs':
      return t('simulate.errorNoRuns');
  }
}

export type Mode = 'siloed' | 'pooled';
export const MODES: readonly Mode[] = ['siloed', 'pooled'];

/** One row of the comparison table: a policy's run in one mode. */
export interface ComparisonRow {
  readonly policy: string;
  readonly mode: Mode;
  readonly summary: SimSummaryJson;
  /** The worst org's ρ, on the pooled row of a run that compared both modes. */
  readonly worstRho: { readonly rho: number; readonly org: string | null } | null;
}

/** The comparison table's rows: each run's modes, siloed first, as the CLI prints them. */
export function comparisonRows(report: SimulateReportJson): ComparisonRow[] {
  return report.runs.flatMap((run) =>
    MODES.flatMap((mode) => {
      const summary = run[mode];
      if (summary === null) return [];
      const worst = run.fairness?.worst_rho ?? null;
      return [{ policy: run.policy, mode, summary, worstRho: mode === 'pooled' && worst !== null ? { rho: worst, org: run.fairness?.worst_org ?? null } : null }];
    }),
  );
}

/** Each org's finish-time fairness ρ under each policy that compared both modes. */
export function rhoRows(report: SimulateReportJson): { readonly policy: string; readonly org: SimOrgFairnessJson }[] {
  return report.runs.flatMap((run) => (run.fairness?.orgs ?? []).map((org) => ({ policy: run.policy, org })));
}

/** Where this tab keeps the report shown (its file's name and text), so that it is still there after visiting another page. */
export const KEPT_REPORT_KEY = 'suanli:simulate-report';
type KeptStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

/** Keeps a report read from `text` in this tab; false when the storage will not take it (too large for its quota, or blocked): nothing is kept then. */
export function keepReport(storage: KeptStorage, name: string, text: string): boolean {
  try {
    storage.setItem(KEPT_REPORT_KEY, JSON.stringify({ name, text }));
    return true;
  } catch {
    storage.removeItem(KEPT_REPORT_KEY);
    return false;
  }
}

/** The report this tab kept, read and checked again as a file is; null when there is none or it no longer reads. */
export function keptReport(storage: KeptStorage): { readonly name: string; readonly report: SimulateReportJson } | null {
  const kept = storage.getItem(KEPT_REPORT_KEY);
  if (kept === null) return null;
  try {
    const { name, text } = JSON.parse(kept) as { name?: unknown; text?: unknown };
    if (typeof name !== 'string' || typeof text !== 'string') return null;
    const reading = readSimulateReport(text);
    return reading.ok ? { name, report: reading.report } : null;
  } catch {
    return null;
  }
}
