import { useId, useMemo, useState } from 'react';
import type { Identity } from '../api/identity.ts';
import type { LedgerBucket, LedgerHistoryJson, LedgerJson, LedgerRowJson } from '../api/types.ts';
import { creditsSpec, flowsSpec, ledgerSpec } from '../components/chart-specs.ts';
import { ErrorNote, LoadStatus, Page } from '../components/page.tsx';
import { Table, type Column } from '../components/table.tsx';
import { VegaChart } from '../components/vega-chart.tsx';
import { useI18n } from '../i18n/i18n-context.tsx';
import { BUCKET_LABEL } from '../i18n/labels.ts';
import { creditLines, flowBars, ledgerOrgs, withCreditsToDate, type LedgerHistoryRow } from '../model/ledger-history.ts';
import { ledgerTotalsByOrg } from '../model/ledger-totals.ts';
import { useSession } from '../session-context.tsx';
import { POLL_MS, usePolling } from '../use-polling.ts';

/**
 * The ledger: GPU-hours each org contributed, consumed and used on its own sites, its
 * credits, and the pool's totals (GET /ledger); then the same over time, by the hour or
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
  const name = useId();
  return (
    <fieldset className="checks">
      <legend>{t('ledger.bucket')}</legend>
      {(Object.keys(BUCKET_LABEL) as LedgerBucket[]).map((value) => (
        <label key={value}>
          <input type="radio" name={name} value={value} checked={bucket === value} onChange={() => onChange(value)} /> {t(BUCKET_LABEL[value])}
        </label>
      ))}
    </fieldset>
  );
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
        <Table columns={columns} rows={withCreditsToDate(history.points).sort((a, b) => Date.parse(b.at) - Date.parse(a.at))} rowKey={(r) => `${r.at}/${r.org_id}`} caption={t('ledger.historyTitle')} />
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
      <Table columns={rowColumns} rows={ledger.rows} rowKey={(r) => `${r.org_id}/${r.gpu_type}`} empty={t('ledger.noRows')} />
      <h2>{t('ledger.pool')}</h2>
      <Table columns={poolColumns} rows={ledger.pool} rowKey={(p) => p.gpu_type} />
    </>
  );
}
