import { useEffect, useId, useMemo, useState, type DragEvent } from 'react';
import { groupedBarsSpec, rhoSpec } from '../components/chart-specs.ts';
import { Fact } from '../components/facts.tsx';
import { Page } from '../components/page.tsx';
import { Table, type Column } from '../components/table.tsx';
import { VegaChart } from '../components/vega-chart.tsx';
import { useI18n } from '../i18n/i18n-context.tsx';
import {
  comparisonRows, keepReport, KEPT_REPORT_KEY, keptReport, MAX_REPORT_BYTES, problemText, readSimulateReport, rhoRows, type ComparisonRow, type Mode, type ReportProblem, type SimFairnessJson, type SimOrgFairnessJson,
  type SimulateReportJson,
} from '../model/simulate-report.ts';

/**
 * A simulation report: the JSON of `suanli simulate … --json` (or the results.json of
 * `--report`), picked with a file input or dropped on it, read in the browser (the
 * file goes nowhere), checked, and shown as the CLI's comparison table with charts
 * of job completion time, utilization and each org's finish-time fairness ρ. The report
 * shown is kept in this tab's sessionStorage, so that it is still there after visiting
 * another page; one too large for the storage is shown, with a note that it is not kept.
 */
export function SimulateView() {
  const { t, format } = useI18n();
  const [loaded, setLoaded] = useState<{ readonly name: string; readonly report: SimulateReportJson } | null>(null);
  const [refused, setRefused] = useState<{ readonly name: string; readonly problem: ReportProblem } | null>(null);
  const [notKept, setNotKept] = useState(false);
  // Read in an effect: the page is also rendered where there is no storage (the tests).
  useEffect(() => {
    const kept = keptReport(sessionStorage);
    if (kept !== null) setLoaded(kept);
  }, []);
  // A file dropped beside the box would make the browser open it in place of the dashboard: not on this page.
  useEffect(() => {
    const keep = (e: globalThis.DragEvent) => e.preventDefault();
    window.addEventListener('dragover', keep);
    window.addEventListener('drop', keep);
    return () => {
      window.removeEventListener('dragover', keep);
      window.removeEventListener('drop', keep);
    };
  }, []);

  const load = async (file: File) => {
    const refuse = (problem: ReportProblem) => {
      setLoaded(null);
      setNotKept(false);
      sessionStorage.removeItem(KEPT_REPORT_KEY);
      setRefused({ name: file.name, problem });
    };
    if (file.size > MAX_REPORT_BYTES) return refuse({ kind: 'too-large', bytes: file.size });
    let text: string;
    try {
      text = await file.text();
    } catch (err) {
      return refuse({ kind: 'unreadable', detail: err instanceof Error ? err.message : String(err) });
    }
    const reading = readSimulateReport(text);
    if (!reading.ok) return refuse(reading.problem);
    setRefused(null);
    setLoaded({ name: file.name, report: reading.report });
    setNotKept(!keepReport(sessionStorage, file.name, text));
  };

  return (
    <Page title={t('simulate.title')}>
      <p className="help">{t('simulate.intro')}</p>
      <ReportPicker onFile={(f) => void load(f)} />
      <p role="status" className="muted">
        {loaded === null ? null : t('simulate.loaded', { name: loaded.name, runs: format.count(loaded.report.runs.length) })}
      </p>
      {notKept ? <p className="note note-wait">{t('simulate.notKept')}</p> : null}
      {refused === null ? null : <ReportRefusal name={refused.name} problem={refused.problem} />}
      {loaded === null ? null : <SimulateReport report={loaded.report} />}
    </Page>
  );
}

/** The file input, in a box that also takes a dropped file. The input is the keyboard's way in; dropping is a shortcut for the mouse. */
function ReportPicker({ onFile }: { readonly onFile: (file: File) => void }) {
  const { t } = useI18n();
  const id = useId();
  const [over, setOver] = useState(false);
  const dragOver = (e: DragEvent) => {
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    setOver(true);
  };
  const drop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    const file = e.dataTransfer.files[0];
    if (file !== undefined) onFile(file);
  };
  return (
    <div className={over ? 'dropzone over' : 'dropzone'} onDragOver={dragOver} onDragLeave={() => setOver(false)} onDrop={drop}>
      <label htmlFor={id}>{t('simulate.file')}</label>
      <input
        id={id}
        type="file"
        accept=".json,application/json"
        aria-describedby={`${id}-help`}
        onChange={(e) => {
          const file = e.target.files?.[0];
          if (file !== undefined) onFile(file);
          // The same file may be chosen again (after it was fixed).
          e.target.value = '';
        }}
      />
      <p id={`${id}-help`} className="help">
        {t('simulate.fileHelp')}
      </p>
    </div>
  );
}

/** Why a file was refused: what it is not, then what is wrong with it. */
export function ReportRefusal({ name, problem }: { readonly name: string; readonly problem: ReportProblem }) {
  const i18n = useI18n();
  return (
    <div className="note note-error" role="alert">
      <strong>{i18n.t('simulate.wrongFile', { name })}</strong>
      <span className="note-detail">{problemText(i18n, problem)}</span>
    </div>
  );
}

const MODE_LABEL = { siloed: 'simulate.modeSiloed', pooled: 'simulate.modePooled' } as const satisfies Record<Mode, string>;

/** The report itself, from the checked document: what the tests render. */
export function SimulateReport({ report }: { readonly report: SimulateReportJson }) {
  const { t, format } = useI18n();
  const rows = useMemo(() => comparisonRows(report), [report]);
  const rhos = useMemo(() => rhoRows(report), [report]);
  const hours = (s: number | null) => (s === null ? '—' : format.duration(s));

  const charts = useMemo(() => {
    // The modes the report has, siloed first: the bars' colours and order.
    const modes = (['siloed', 'pooled'] as const).filter((m) => rows.some((r) => r.mode === m)).map((m) => t(MODE_LABEL[m]));
    const bar = (r: ComparisonRow, value: number, tick: number | null) => ({ group: r.policy, series: t(MODE_LABEL[r.mode]), value, tick });
    return {
      jct: groupedBarsSpec(
        rows.map((r) => bar(r, (r.summary.avg_jct_s ?? 0) / 3600, r.summary.p99_jct_s === null ? null : r.summary.p99_jct_s / 3600)),
        { value: t('simulate.jctAxis') },
        { series: modes },
        t('simulate.jctDescription'),
      ),
      utilization: groupedBarsSpec(rows.map((r) => bar(r, r.summary.utilization, null)), { value: t('pool.utilization') }, { series: modes, percent: true }, t('simulate.utilizationDescription')),
      rho: rhoSpec(rhos.flatMap((r) => (r.org.rho === null ? [] : [{ org: r.org.org, policy: r.policy, rho: r.org.rho }])), { rho: t('simulate.rho') }, t('simulate.rhoDescription')),
    };
  }, [rows, rhos, t]);

  const comparison: readonly Column<ComparisonRow>[] = [
    { header: t('simulate.policy'), cell: (r) => (report.backfill ? `${r.policy}+backfill` : r.policy) },
    { header: t('simulate.mode'), cell: (r) => t(MODE_LABEL[r.mode]) },
    { header: t('simulate.avgJct'), cell: (r) => hours(r.summary.avg_jct_s), numeric: true },
    { header: t('simulate.medianJct'), cell: (r) => hours(r.summary.p50_jct_s), numeric: true },
    { header: t('simulate.tailJct'), cell: (r) => hours(r.summary.p99_jct_s), numeric: true },
    { header: t('simulate.avgQueue'), cell: (r) => hours(r.summary.avg_queue_s), numeric: true },
    { header: t('pool.utilization'), cell: (r) => format.percentPrecise(r.summary.utilization), numeric: true },
    { header: t('simulate.makespan'), cell: (r) => format.duration(r.summary.makespan_s), numeric: true },
    { header: t('simulate.done'), cell: (r) => format.count(r.summary.done), numeric: true },
    { header: t('simulate.never'), cell: (r) => format.count(r.summary.never_started), numeric: true },
    { header: t('simulate.preemptions'), cell: (r) => format.count(r.summary.preemptions), numeric: true },
    { header: t('simulate.gpuHoursLost'), cell: (r) => format.count(r.summary.gpu_hours_lost_to_preemption), numeric: true },
    { header: t('simulate.largest'), cell: (r) => format.count(r.summary.largest_job_started_gpus), numeric: true },
    { header: t('simulate.worstRho'), cell: (r) => (r.worstRho === null ? '' : t('simulate.rhoOf', { rho: format.significant(r.worstRho.rho), org: r.worstRho.org ?? '—' })), numeric: true },
  ];
  const fairRuns = report.runs.flatMap((r) => (r.fairness === null ? [] : [{ policy: r.policy, fairness: r.fairness }]));
  const fairness: readonly Column<{ readonly policy: string; readonly fairness: SimFairnessJson }>[] = [
    { header: t('simulate.policy'), cell: (r) => r.policy },
    { header: t('simulate.orgsWorseOff'), cell: (r) => format.percentPrecise(r.fairness.orgs_worse_off), numeric: true },
    { header: t('simulate.jobsWorseOff'), cell: (r) => format.percentPrecise(r.fairness.jobs_worse_off), numeric: true },
    { header: t('simulate.worstRho'), cell: (r) => (r.fairness.worst_rho === null ? '—' : t('simulate.rhoOf', { rho: format.significant(r.fairness.worst_rho), org: r.fairness.worst_org ?? '—' })), numeric: true },
  ];
  const perOrg: readonly Column<{ readonly policy: string; readonly org: SimOrgFairnessJson }>[] = [
    { header: t('common.org'), cell: (r) => r.org.org },
    { header: t('simulate.policy'), cell: (r) => r.policy },
    { header: t('simulate.jobs'), cell: (r) => format.count(r.org.jobs), numeric: true },
    { header: t('simulate.avgJctPooled'), cell: (r) => hours(r.org.avg_jct_pooled_s), numeric: true },
    { header: t('simulate.avgJctAlone'), cell: (r) => hours(r.org.avg_jct_alone_s), numeric: true },
    { header: t('simulate.rho'), cell: (r) => (r.org.rho === null ? '—' : format.significant(r.org.rho)), numeric: true, className: (r) => (r.org.rho !== null && r.org.rho > 1.01 ? 'negative' : undefined) },
    { header: t('simulate.enabled'), cell: (r) => format.count(r.org.enabled_by_pooling), numeric: true },
  ];

  return (
    <>
      <dl className="facts">
        <Fact label={t('simulate.trace')}>{t('simulate.traceValue', { file: report.trace.file, format: report.trace.format })}</Fact>
        <Fact label={t('simulate.pool')}>
          <code>{report.pool.source}</code>
        </Fact>
        <Fact label={t('simulate.jobs')}>{format.count(report.trace.jobs)}</Fact>
        <Fact label={t('pool.gpus')}>{format.count(report.pool.gpus)}</Fact>
        <Fact label={t('simulate.sites')}>{format.count(report.pool.sites)}</Fact>
        <Fact label={t('simulate.orgs')}>{format.count(report.pool.orgs)}</Fact>
        <Fact label={t('simulate.seed')}>{format.count(report.seed)}</Fact>
        <Fact label={t('simulate.backfill')}>{report.backfill ? t('common.yes') : t('common.no')}</Fact>
        {report.trace.skipped_rows === 0 ? null : <Fact label={t('simulate.skippedRows')}>{format.count(report.trace.skipped_rows)}</Fact>}
      </dl>
      {report.pool.notes.length === 0 ? null : (
        <details>
          <summary>{t('simulate.poolNotes')}</summary>
          <ul lang="en">
            {report.pool.notes.map((n) => (
              <li key={n}>{n}</li>
            ))}
          </ul>
        </details>
      )}

      <h2>{t('simulate.comparison')}</h2>
      <p className="help">{t('simulate.modesHelp')}</p>
      <Table columns={comparison} rows={rows} rowKey={(r) => `${r.policy}/${r.mode}`} dense scrollCue={t('common.scrollCue')} />
      <div className="charts even">
        <VegaChart spec={charts.jct} title={t('simulate.jctTitle')} />
        <VegaChart spec={charts.utilization} title={t('simulate.utilizationTitle')} />
      </div>

      <h2>{t('simulate.fairness')}</h2>
      {fairRuns.length === 0 ? (
        <p className="empty">{t('simulate.noFairness')}</p>
      ) : (
        <>
          <p className="help">{t('simulate.fairnessHelp')}</p>
          <Table columns={fairness} rows={fairRuns} rowKey={(r) => r.policy} caption={t('simulate.fairness')} scrollCue={t('common.scrollCue')} />
          {rhos.length === 0 ? null : <VegaChart spec={charts.rho} title={t('simulate.rhoTitle')} />}
          <Table columns={perOrg} rows={rhos} rowKey={(r) => `${r.policy}/${r.org.org}`} caption={t('simulate.rhoTitle')} scrollCue={t('common.scrollCue')} />
        </>
      )}
    </>
  );
}
