import { useId, useMemo, useState, type FormEvent } from 'react';
import type { Identity } from '../api/identity.ts';
import type { CheckpointJson, LedgerBucket, LedgerHistoryJson, LedgerJobsJson, LedgerJson, LedgerRowJson } from '../api/types.ts';
import { creditsSpec, flowsSpec, ledgerSpec } from '../components/chart-specs.ts';
import { CsvDownload } from '../components/csv-download.tsx';
import { Fact } from '../components/facts.tsx';
import { Field, OrgOptions, RadioChoice, useFocusFirstProblem } from '../components/field.tsx';
import { ErrorNote, LoadStatus, Page } from '../components/page.tsx';
import { Table, type Column } from '../components/table.tsx';
import { VegaChart } from '../components/vega-chart.tsx';
import type { MessageKey } from '../i18n/catalog-en.ts';
import { useI18n } from '../i18n/i18n-context.tsx';
import { BUCKET_LABEL } from '../i18n/labels.ts';
import { creditLines, flowBars, ledgerOrgs, ledgerTimeAxis, withCreditsToDate, type LedgerHistoryRow } from '../model/ledger-history.ts';
import { jobUseTotals, ledgerJobRows, type JobUse, type LedgerJobRow } from '../model/ledger-jobs.ts';
import { checkLedgerRange, csvFileName, NO_RANGE, withRange, type LedgerRangeInput } from '../model/ledger-range.ts';
import { ledgerTotalsByOrg } from '../model/ledger-totals.ts';
import type { VerificationPanel } from '../model/ledger-verification.ts';
import { useSession } from '../session-context.tsx';
import { useLedgerVerification, type Verification } from '../use-ledger-verification.ts';
import { Link, pathOf } from '../router.tsx';
import { useOrgChoices } from '../use-org-choices.ts';
import { POLL_MS, usePolling } from '../use-polling.ts';

/** The dates the page shows, as the form took them, and the API's query for them. */
interface ShownRange {
  readonly range: LedgerRangeInput;
  readonly query: string;
}

/**
 * The ledger: the dates it counts (every date unless the form narrows them); GPU-hours each
 * org contributed, consumed and used on its own sites, its credits, and the pool's totals
 * (GET /ledger), and the jobs behind them with their prices (GET /ledger/jobs); the usage
 * log's latest checkpoint and the org's ledger verified in the browser (always the whole
 * log); the same figures over time, by the hour or the day (GET /ledger/history, polled on
 * its own so that a change of step reloads only it).
 */
export function LedgerView() {
  const { t } = useI18n();
  const { client, identity } = useSession();
  const [shown, setShown] = useState<ShownRange>({ range: NO_RANGE, query: '' });
  const polled = usePolling(`ledger?${shown.query}`, (signal) => client.get<LedgerJson>(withRange('/ledger', shown.query), signal), POLL_MS.list);
  const [bucket, setBucket] = useState<LedgerBucket>('day');
  const booked = polled.data !== undefined && polled.data.rows.length > 0;
  return (
    <Page title={t('ledger.title')}>
      <p className="scope-note">{identity.role === 'admin' ? t('ledger.scopeAll') : t('ledger.scopeOrg', { org: identity.orgId })}</p>
      <p className="help">{t('ledger.explain')}</p>
      <LedgerRangeForm shown={shown.range} onApply={(range, query) => setShown({ range, query })} />
      <LoadStatus polled={polled} />
      {polled.data === undefined ? null : <Ledger ledger={polled.data} identity={identity} range={shown.range} />}
      <LedgerJobsSection shown={shown} />
      <VerificationSection />
      {booked ? <LedgerHistorySection bucket={bucket} onBucket={setBucket} query={shown.query} /> : null}
    </Page>
  );
}

/** The dates to count: two UTC days (either may be left empty), checked before they are asked for; what is shown, said in words. */
export function LedgerRangeForm({ shown, onApply }: { readonly shown: LedgerRangeInput; readonly onApply: (range: LedgerRangeInput, query: string) => void }) {
  const { t } = useI18n();
  const id = useId();
  const [input, setInput] = useState(shown);
  const [errors, setErrors] = useState<{ readonly from?: MessageKey; readonly to?: MessageKey }>({});
  const form = useFocusFirstProblem(errors);
  const apply = (value: LedgerRangeInput) => {
    const checked = checkLedgerRange(value);
    if (!checked.ok) return setErrors(checked.errors);
    setErrors({});
    onApply(checked.range, checked.query);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    apply(input);
  };
  const day = (key: keyof LedgerRangeInput) => (props: Parameters<Parameters<typeof Field>[0]['children']>[0]) => (
    <input {...props} type="date" value={input[key]} onChange={(e) => setInput({ ...input, [key]: e.target.value })} />
  );
  return (
    <form ref={form} className="range" onSubmit={submit} noValidate aria-labelledby={id}>
      <h2 id={id}>{t('ledger.rangeTitle')}</h2>
      <p className="help">{t('ledger.rangeHelp')}</p>
      <div className="filters">
        <Field label={t('ledger.rangeFrom')} error={errors.from} className="inline">{day('from')}</Field>
        <Field label={t('ledger.rangeTo')} error={errors.to} className="inline">{day('to')}</Field>
        <div className="actions">
          <button type="submit">{t('ledger.rangeApply')}</button>
          <button type="button" onClick={() => { setInput(NO_RANGE); apply(NO_RANGE); }}>{t('ledger.rangeClear')}</button>
        </div>
      </div>
      <p className="muted" role="status">
        {t('ledger.rangeShowing', { from: shown.from === '' ? t('ledger.rangeOpenStart') : shown.from, to: shown.to === '' ? t('ledger.rangeOpenEnd') : shown.to })}
      </p>
    </form>
  );
}

/** The ledger over time: the step to sum by, and GET /ledger/history's answer for it on the dates shown. */
function LedgerHistorySection({ bucket, onBucket, query }: { readonly bucket: LedgerBucket; readonly onBucket: (b: LedgerBucket) => void; readonly query: string }) {
  const { t } = useI18n();
  const { client } = useSession();
  const id = useId();
  const path = withRange(`/ledger/history?bucket=${bucket}`, query);
  const polled = usePolling(path, (signal) => client.get<LedgerHistoryJson>(path, signal), POLL_MS.list);
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{t('ledger.historyTitle')}</h2>
      <p className="help">{t('ledger.historyExplain')}</p>
      <BucketSwitch bucket={bucket} onChange={onBucket} />
      {polled.error === undefined ? null : <ErrorNote error={polled.error} />}
      {polled.data === undefined ? (polled.error === undefined ? <p className="muted" role="status">{t('common.loading')}</p> : null) : <LedgerHistory history={polled.data} />}
    </section>
  );
}

/** The step the history is summed by, as a labelled group of two radio buttons. */
export function BucketSwitch({ bucket, onChange }: { readonly bucket: LedgerBucket; readonly onChange: (b: LedgerBucket) => void }) {
  const { t } = useI18n();
  const options = (Object.keys(BUCKET_LABEL) as LedgerBucket[]).map((value) => ({ value, label: t(BUCKET_LABEL[value]) }));
  return <RadioChoice legend={t('ledger.bucket')} value={bucket} options={options} onChange={onChange} />;
}

/** The history's charts (credits to date per org; contributed and consumed per step) and, folded, the same figures as a table: what the tests render. */
export function LedgerHistory({ history }: { readonly history: LedgerHistoryJson }) {
  const { t, format } = useI18n();
  // The server's day buckets are UTC days: they are named as such; hours are shown in local time.
  const axis = useMemo(() => ledgerTimeAxis(history.points, history.bucket_s), [history]);
  const { daily } = axis;
  const specs = useMemo(() => {
    const orgs = ledgerOrgs(history.points);
    const words = { time: t('pool.time'), org: t('common.org') };
    return {
      credits: creditsSpec(creditLines(history.points, history.bucket_s), orgs, axis, { ...words, credits: t('ledger.creditsAxis') }, t('ledger.creditsDescription')),
      flows: flowsSpec(
        flowBars(history.points, history.bucket_s), orgs, axis,
        { ...words, gpuHours: t('ledger.flowsAxis'), contributed: t('ledger.contributed'), consumed: t('ledger.consumed') },
        t('ledger.flowsDescription'),
      ),
    };
  }, [history, axis, t]);
  if (history.points.length === 0) return <p className="empty">{t('ledger.noRows')}</p>;
  const columns: readonly Column<LedgerHistoryRow>[] = [
    { header: t('ledger.from'), cell: (r) => (daily ? format.utcDay(r.at) : format.dateMinute(r.at)) },
    { header: t('common.org'), cell: (r) => r.org_id },
    { header: t('ledger.contributed'), cell: (r) => format.amount(r.contributed_gpu_h), numeric: true },
    { header: t('ledger.consumed'), cell: (r) => format.amount(r.consumed_gpu_h), numeric: true },
    { header: t('ledger.own'), cell: (r) => format.amount(r.own_gpu_h), numeric: true },
    { header: t('ledger.credits'), cell: (r) => format.amount(r.credits_gpu_h), numeric: true, className: (r) => (r.credits_gpu_h < 0 ? 'negative' : undefined) },
    { header: t('ledger.creditsToDate'), cell: (r) => format.amount(r.credits_to_date_gpu_h), numeric: true, className: (r) => (r.credits_to_date_gpu_h < 0 ? 'negative' : undefined) },
  ];
  return (
    <>
      <div className="charts even">
        <VegaChart spec={specs.credits} title={t('ledger.creditsTitle')} />
        <VegaChart spec={specs.flows} title={t(daily ? 'ledger.flowsTitleDay' : 'ledger.flowsTitleHour')} />
      </div>
      <details>
        {/* Newest first; within a step, orgs in order (the sort is stable). */}
        <summary>{t('ledger.historyTable')}</summary>
        <Table columns={columns} rows={withCreditsToDate(history.points).sort((a, b) => Date.parse(b.at) - Date.parse(a.at))} rowKey={(r) => `${r.at}/${r.org_id}`} caption={t('ledger.historyTitle')} scrollCue={t('common.scrollCue')} />
      </details>
    </>
  );
}

/** The ledger's tables and chart, from the API's answer on the dates shown: what the tests render. */
export function Ledger({ ledger, identity, range }: { readonly ledger: LedgerJson; readonly identity: Identity; readonly range: LedgerRangeInput }) {
  const { t, format } = useI18n();
  const totals = useMemo(() => ledgerTotalsByOrg(ledger.rows), [ledger]);
  const spec = useMemo(
    () => ledgerSpec(totals, { contributed: t('ledger.contributed'), consumed: t('ledger.consumed'), own: t('ledger.own'), gpuHours: t('ledger.gpuHours') }, t('ledger.chartDescription')),
    [totals, t],
  );
  if (ledger.rows.length === 0 && ledger.pool.length === 0) return <p className="empty">{t('ledger.empty')}</p>;
  const rowColumns: readonly Column<LedgerRowJson>[] = [
    { header: t('common.org'), cell: (r) => r.org_id },
    { header: t('common.gpuType'), cell: (r) => r.gpu_type },
    { header: t('ledger.contributed'), cell: (r) => format.amount(r.contributed_gpu_h), numeric: true },
    { header: t('ledger.consumed'), cell: (r) => format.amount(r.consumed_gpu_h), numeric: true },
    { header: t('ledger.own'), cell: (r) => format.amount(r.own_gpu_h), numeric: true },
    { header: t('ledger.credits'), cell: (r) => format.amount(r.credits_gpu_h), numeric: true, className: (r) => (r.credits_gpu_h < 0 ? 'negative' : undefined) },
  ];
  const poolColumns: readonly Column<LedgerJson['pool'][number]>[] = [
    { header: t('common.gpuType'), cell: (p) => p.gpu_type },
    { header: t('ledger.poolShared'), cell: (p) => format.amount(p.contributed_gpu_h), numeric: true },
    { header: t('ledger.own'), cell: (p) => format.amount(p.own_gpu_h), numeric: true },
  ];
  return (
    <>
      {totals.length === 0 ? null : <VegaChart spec={spec} title={t('ledger.chartTitle')} />}
      <h2>{identity.role === 'admin' ? t('ledger.byOrg') : t('ledger.yours')}</h2>
      <Table columns={rowColumns} rows={ledger.rows} rowKey={(r) => `${r.org_id}/${r.gpu_type}`} empty={t('ledger.noRows')} scrollCue={t('common.scrollCue')} />
      {ledger.rows.length === 0 ? null : (
        <div className="actions">
          <CsvDownload
            label={t('ledger.csv')}
            fileName={csvFileName('ledger', range)}
            header={[t('common.org'), t('common.gpuType'), t('ledger.contributed'), t('ledger.consumed'), t('ledger.own'), t('ledger.credits')]}
            rows={() => ledger.rows.map((r) => [r.org_id, r.gpu_type, r.contributed_gpu_h, r.consumed_gpu_h, r.own_gpu_h, r.credits_gpu_h])}
          />
        </div>
      )}
      <h2>{t('ledger.pool')}</h2>
      <Table columns={poolColumns} rows={ledger.pool} rowKey={(p) => p.gpu_type} scrollCue={t('common.scrollCue')} />
    </>
  );
}

/** The jobs behind the signed-in org's figures (the admin chooses an org) on the dates shown. */
function LedgerJobsSection({ shown }: { readonly shown: ShownRange }) {
  const { t } = useI18n();
  const { client } = useSession();
  const id = useId();
  const picked = usePickedOrg();
  const { org } = picked;
  const path = org === null ? null : withRange(`/ledger/jobs?org=${encodeURIComponent(org)}`, shown.query);
  const polled = usePolling(path ?? 'ledger-jobs/none', (signal) => (path === null ? Promise.resolve(null) : client.get<LedgerJobsJson>(path, signal)), POLL_MS.list);
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{t('ledger.jobsTitle')}</h2>
      <p className="help">{t('ledger.jobsExplain')}</p>
      <OrgPicker picked={picked} label={t('ledger.jobsOrg')} none={t('ledger.jobsChooseOrg')} />
      {org === null ? <p className="muted">{t('ledger.jobsChooseOrg')}</p> : null}
      {polled.error === undefined ? null : <ErrorNote error={polled.error} />}
      {org === null || polled.data == null ? null : <LedgerJobs answer={polled.data} org={org} range={shown.range} />}
    </section>
  );
}

/** Whose ledger a section shows: the signed-in org's, or the one the admin picks (none at first), with the admin's choices. */
interface PickedOrg {
  readonly org: string | null;
  /** The orgs the admin may pick from; null for anyone else. */
  readonly orgs: readonly string[] | null;
  readonly choose: (org: string | null) => void;
}

function usePickedOrg(): PickedOrg {
  const { client, identity } = useSession();
  const orgs = useOrgChoices(client, identity);
  const [chosen, setChosen] = useState<string | null>(null);
  return { org: identity.role === 'admin' ? chosen : identity.orgId, orgs, choose: setChosen };
}

/** The admin's list of orgs to pick from, labelled; nothing for anyone else. */
function OrgPicker({ picked, label, none }: { readonly picked: PickedOrg; readonly label: string; readonly none: string }) {
  const id = useId();
  if (picked.orgs === null) return null;
  return (
    <div className="filters">
      <div className="field inline">
        <label htmlFor={id}>{label}</label>
        <select id={id} value={picked.org ?? ''} onChange={(e) => picked.choose(e.target.value === '' ? null : e.target.value)}>
          <OrgOptions orgs={picked.orgs} none={none} />
        </select>
      </div>
    </div>
  );
}

const USE_LABEL = { consumed: 'ledger.consumed', contributed: 'ledger.contributed', own: 'ledger.own' } as const satisfies Record<JobUse, MessageKey>;

/** One org's jobs behind its figures: totals per use with their cost, then a row per job, site and GPU type, and their CSV. What the tests render. */
export function LedgerJobs({ answer, org, range }: { readonly answer: LedgerJobsJson; readonly org: string; readonly range: LedgerRangeInput }) {
  const { t, format } = useI18n();
  const rows = useMemo(() => ledgerJobRows(answer.jobs, org), [answer, org]);
  if (rows.length === 0) return <p className="empty">{t('ledger.jobsEmpty')}</p>;
  const money = (n: number | null) => (n === null ? t('ledger.noPrice') : format.amount(n));
  const other = (r: LedgerJobRow) => (r.otherOrg === null ? '' : t(r.use === 'consumed' ? 'ledger.lentBy' : 'ledger.borrowedBy', { org: r.otherOrg }));
  const columns: readonly Column<LedgerJobRow>[] = [
    // Another org's job is not the viewer's to open: its id only.
    { header: t('ledger.job'), cell: (r) => (r.job_name === null ? r.job_id : <Link to={pathOf({ page: 'job', id: r.job_id })}>{r.job_id}</Link>) },
    { header: t('ledger.jobName'), cell: (r) => r.job_name ?? <span className="muted">{t('ledger.otherOrgsJob')}</span> },
    { header: t('ledger.use'), cell: (r) => t(USE_LABEL[r.use]) },
    { header: t('common.gpuType'), cell: (r) => r.gpu_type },
    { header: t('ledger.site'), cell: (r) => r.site },
    { header: t('ledger.otherOrg'), cell: other },
    { header: t('ledger.gpuHours'), cell: (r) => format.amount(r.gpu_h), numeric: true },
    { header: t('ledger.price'), cell: (r) => money(r.price_per_gpu_hour), numeric: true },
    { header: t('ledger.cost'), cell: (r) => money(r.cost), numeric: true },
  ];
  return (
    <>
      <dl className="facts" aria-label={t('ledger.jobsTotals')}>
        {jobUseTotals(rows).map((u) => (
          <Fact key={u.use} label={t(USE_LABEL[u.use])}>
            {t(u.unpricedGpuH > 0 && u.cost !== null ? 'ledger.useTotalUnpriced' : 'ledger.useTotal', { gpuH: format.amount(u.gpuH), cost: money(u.cost), unpriced: format.amount(u.unpricedGpuH) })}
          </Fact>
        ))}
      </dl>
      {answer.truncated ? <p className="note">{t('ledger.jobsTruncated', { count: format.count(rows.length) })}</p> : null}
      <Table columns={columns} rows={rows} rowKey={(r) => `${r.job_id}/${r.site}/${r.gpu_type}`} caption={t('ledger.jobsTitle')} />
      <div className="actions">
        <CsvDownload
          label={t('ledger.csvJobs')}
          fileName={csvFileName('ledger-jobs', range)}
          header={[t('ledger.job'), t('ledger.jobName'), t('ledger.use'), t('common.gpuType'), t('ledger.site'), t('ledger.otherOrg'), t('ledger.gpuHours'), t('ledger.price'), t('ledger.cost')]}
          rows={() => rows.map((r) => [r.job_id, r.job_name, t(USE_LABEL[r.use]), r.gpu_type, r.site, r.otherOrg, r.gpu_h, r.price_per_gpu_hour, r.cost])}
        />
      </div>
    </>
  );
}

/**
 * The usage log's latest checkpoint, and the ledger of the signed-in org (the admin
 * chooses one) verified in this browser; verified once on opening, and again on demand.
 */
function VerificationSection() {
  const { t } = useI18n();
  const { client } = useSession();
  const id = useId();
  const picked = usePickedOrg();
  const { org } = picked;
  const { verification, again } = useLedgerVerification(client, org);
  const busy = verification.phase === 'checkpoint' || verification.phase === 'records' || verification.phase === 'checking';
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{t('ledger.verifyTitle')}</h2>
      <p className="help">{t('ledger.verifyExplain')}</p>
      <OrgPicker picked={picked} label={t('ledger.verifyOrg')} none={t('ledger.verifyChooseOrg')} />
      <LedgerVerification verification={verification} org={org} />
      <div className="actions">
        <button type="button" onClick={again} disabled={busy}>
          {t('ledger.verifyAgain')}
        </button>
      </div>
    </section>
  );
}

/** A verification as far as it has gone: the checkpoint, the progress, then what holds and what does not. What the tests render. */
export function LedgerVerification({ verification: v, org }: { readonly verification: Verification; readonly org: string | null }) {
  const { t, format } = useI18n();
  switch (v.phase) {
    case 'checkpoint':
      return <p className="muted" role="status">{t('ledger.readingCheckpoint')}</p>;
    case 'none':
      return <p className="empty">{t('ledger.noCheckpoint')}</p>;
    case 'records': {
      const p = v.progress ?? { records: 0, scanned: 0, size: v.checkpoint.size };
      return (
        <>
          <CheckpointFacts checkpoint={v.checkpoint} />
          <p className="muted" role="status">{t('ledger.fetchingRecords', { org: org ?? '', records: format.count(p.records), scanned: format.count(p.scanned), size: format.count(p.size) })}</p>
          <progress aria-label={t('ledger.fetchingProgress')} value={p.scanned} max={Math.max(1, p.size)} />
        </>
      );
    }
    case 'checking':
      return (
        <>
          <CheckpointFacts checkpoint={v.checkpoint} />
          <p className="muted" role="status">{t('ledger.checkingRecords', { org: org ?? '', records: format.count(v.records) })}</p>
        </>
      );
    case 'failed':
      return (
        <>
          {v.checkpoint === null ? null : <CheckpointFacts checkpoint={v.checkpoint} />}
          <ErrorNote error={v.error} />
        </>
      );
    case 'done':
      return (
        <>
          <CheckpointFacts checkpoint={v.checkpoint} />
          {v.panel === null ? <p className="muted">{t('ledger.verifyChooseOrg')}</p> : <VerificationResult panel={v.panel} />}
          {v.unsaved ? <p className="note note-wait">{t('ledger.unsaved')}</p> : null}
        </>
      );
  }
}

/** The latest checkpoint as the server shows it: its size, when it was signed, and how many member orgs witnessed it. */
function CheckpointFacts({ checkpoint }: { readonly checkpoint: CheckpointJson }) {
  const { t, format } = useI18n();
  const w = checkpoint.witnesses;
  return (
    <dl className="facts">
      <Fact label={t('ledger.checkpointSize')}>{format.count(checkpoint.size)}</Fact>
      <Fact label={t('ledger.checkpointAt')}>{format.date(checkpoint.at)}</Fact>
      <Fact label={t('ledger.checkpointWitnesses')}>
        {t('ledger.witnessCount', { cosigned: format.count(w.cosigned), registered: format.count(w.registered) })}
        {w.cosigned_by.length === 0 ? null : `: ${w.cosigned_by.join(', ')}`}
      </Fact>
    </dl>
  );
}

/** What held and what did not: the verdict, the pinned key, the checkpoint's signature and history, the records, and the audit's own words for each failure. */
export function VerificationResult({ panel: p }: { readonly panel: VerificationPanel }) {
  const { t, format } = useI18n();
  const consistency = (() => {
    switch (p.consistency) {
      case 'first': return t('ledger.consistencyFirst');
      case 'unchanged': return t('ledger.consistencyUnchanged', { time: p.last === null ? '' : format.date(p.last.verifiedAt) });
      case 'extends': return t('ledger.consistencyExtends', { size: format.count(p.last?.size ?? 0) });
      case 'failed': return t('ledger.consistencyFailed');
      case 'unchecked': return t('ledger.consistencyUnchecked');
    }
  })();
  return (
    <>
      <div className={`note ${p.verified ? 'note-ok' : 'note-error'}`} role="status">
        <span className={`badge ${p.verified ? 'verified-yes' : 'verified-no'}`}>{t(p.verified ? 'ledger.verified' : 'ledger.notVerified')}</span>{' '}
        {p.verified ? t('ledger.verifiedSummary', { org: p.org }) : t('ledger.notVerifiedSummary', { org: p.org, count: format.count(p.problems.count) })}
      </div>
      {p.firstUse ? <p className="note">{t('ledger.keyPinnedNow')}</p> : null}
      {p.keyShown === null ? null : <p className="note note-error">{t('ledger.keyChanged', { key: p.keyShown })}</p>}
      <dl className="facts">
        <Fact label={t('ledger.logKey')}>
          <code className="key">{p.pin.logKey}</code>
          {p.firstUse ? null : <span className="note-detail">{t('ledger.keyPinnedAt', { time: format.date(p.pin.pinnedAt) })}</span>}
        </Fact>
        <Fact label={t('ledger.signature')}>{t(p.signatureVerified ? 'ledger.signatureOk' : 'ledger.signatureBad')}</Fact>
        <Fact label={t('ledger.consistency')}>{consistency}</Fact>
        <Fact label={t('ledger.records', { org: p.org })}>{t('ledger.recordsFigures', { checked: format.count(p.records.checked), verified: format.count(p.records.verified), bySite: format.count(p.records.bySite) })}</Fact>
      </dl>
      {p.alone.count === 0 ? null : (
        <div className="note">
          {t('ledger.aloneNote', { count: format.count(p.alone.count) })}
          <ul className="entries">
            {p.alone.shown.map((e) => (
              <li key={e.index}>{t('ledger.aloneEntry', { index: e.index, job: e.jobId ?? '?', attempt: e.attempt ?? '?' })}</li>
            ))}
          </ul>
          {p.alone.more === 0 ? null : <p>{t('ledger.problemsMore', { count: format.count(p.alone.more) })}</p>}
        </div>
      )}
      {p.problems.shown.length === 0 ? null : (
        <div className="note note-error">
          <ul className="problems">
            {p.problems.shown.map((f, i) => (
              <li key={i}>{f.detail}</li>
            ))}
          </ul>
          {p.problems.more === 0 ? null : <p>{t('ledger.problemsMore', { count: format.count(p.problems.more) })}</p>}
        </div>
      )}
    </>
  );
}
