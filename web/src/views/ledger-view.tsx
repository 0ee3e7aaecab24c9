import { useId, useMemo, useState } from 'react';
import type { Identity } from '../api/identity.ts';
import type { CheckpointJson, LedgerBucket, LedgerHistoryJson, LedgerJson, LedgerRowJson } from '../api/types.ts';
import { creditsSpec, flowsSpec, ledgerSpec } from '../components/chart-specs.ts';
import { Fact } from '../components/facts.tsx';
import { OrgOptions, RadioChoice } from '../components/field.tsx';
import { ErrorNote, LoadStatus, Page } from '../components/page.tsx';
import { Table, type Column } from '../components/table.tsx';
import { VegaChart } from '../components/vega-chart.tsx';
import { useI18n } from '../i18n/i18n-context.tsx';
import { BUCKET_LABEL } from '../i18n/labels.ts';
import { creditLines, flowBars, ledgerOrgs, withCreditsToDate, type LedgerHistoryRow } from '../model/ledger-history.ts';
import { ledgerTotalsByOrg } from '../model/ledger-totals.ts';
import type { VerificationPanel } from '../model/ledger-verification.ts';
import { useSession } from '../session-context.tsx';
import { useLedgerVerification, type Verification } from '../use-ledger-verification.ts';
import { useOrgChoices } from '../use-org-choices.ts';
import { POLL_MS, usePolling } from '../use-polling.ts';

/**
 * The ledger: GPU-hours each org contributed, consumed and used on its own sites, its
 * credits, and the pool's totals (GET /ledger); the usage log's latest checkpoint and the
 * org's ledger verified in the browser; then the same figures over time, by the hour or
 * the day (GET /ledger/history, polled on its own so that a change of step reloads only it).
 */
export function LedgerView() {
  const { t } = useI18n();
  const { client, identity } = useSession();
  const polled = usePolling('ledger', (signal) => client.get<LedgerJson>('/ledger', signal), POLL_MS.list);
  const [bucket, setBucket] = useState<LedgerBucket>('day');
  const booked = polled.data !== undefined && polled.data.rows.length > 0;
  return (
    <Page title={t('ledger.title')}>
      <p className="scope-note">{identity.role === 'admin' ? t('ledger.scopeAll') : t('ledger.scopeOrg', { org: identity.orgId })}</p>
      <p className="help">{t('ledger.explain')}</p>
      <LoadStatus polled={polled} />
      {polled.data === undefined ? null : <Ledger ledger={polled.data} identity={identity} />}
      <VerificationSection />
      {booked ? <LedgerHistorySection bucket={bucket} onBucket={setBucket} /> : null}
    </Page>
  );
}

/** The ledger over time: the step to sum by, and GET /ledger/history's answer for it. */
function LedgerHistorySection({ bucket, onBucket }: { readonly bucket: LedgerBucket; readonly onBucket: (b: LedgerBucket) => void }) {
  const { t } = useI18n();
  const { client } = useSession();
  const id = useId();
  const polled = usePolling(`ledger-history/${bucket}`, (signal) => client.get<LedgerHistoryJson>(`/ledger/history?bucket=${bucket}`, signal), POLL_MS.list);
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
  const daily = history.bucket_s % 86_400 === 0;
  const specs = useMemo(() => {
    const orgs = ledgerOrgs(history.points);
    const words = { time: t('pool.time'), org: t('common.org') };
    return {
      credits: creditsSpec(creditLines(history.points, history.bucket_s), orgs, { daily }, { ...words, credits: t('ledger.creditsAxis') }, t('ledger.creditsDescription')),
      flows: flowsSpec(
        flowBars(history.points, history.bucket_s), orgs, { daily },
        { ...words, gpuHours: t('ledger.flowsAxis'), contributed: t('ledger.contributed'), consumed: t('ledger.consumed') },
        t('ledger.flowsDescription'),
      ),
    };
  }, [history, daily, t]);
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

/** The ledger's tables and chart, from the API's answer: what the tests render. */
export function Ledger({ ledger, identity }: { readonly ledger: LedgerJson; readonly identity: Identity }) {
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
      <h2>{t('ledger.pool')}</h2>
      <Table columns={poolColumns} rows={ledger.pool} rowKey={(p) => p.gpu_type} scrollCue={t('common.scrollCue')} />
    </>
  );
}

/**
 * The usage log's latest checkpoint, and the ledger of the signed-in org (the admin
 * chooses one) verified in this browser; verified once on opening, and again on demand.
 */
function VerificationSection() {
  const { t } = useI18n();
  const { client, identity } = useSession();
  const id = useId();
  const orgs = useOrgChoices(client, identity);
  const [chosen, setChosen] = useState<string | null>(null);
  const org = identity.role === 'admin' ? chosen : identity.orgId;
  const { verification, again } = useLedgerVerification(client, org);
  const busy = verification.phase === 'checkpoint' || verification.phase === 'records' || verification.phase === 'checking';
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{t('ledger.verifyTitle')}</h2>
      <p className="help">{t('ledger.verifyExplain')}</p>
      {orgs === null ? null : (
        <div className="filters">
          <div className="field inline">
            <label htmlFor={`${id}-org`}>{t('ledger.verifyOrg')}</label>
            <select id={`${id}-org`} value={chosen ?? ''} onChange={(e) => setChosen(e.target.value === '' ? null : e.target.value)}>
              <OrgOptions orgs={orgs} none={t('ledger.verifyChooseOrg')} />
            </select>
          </div>
        </div>
      )}
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
