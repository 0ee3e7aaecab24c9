import { useMemo } from 'react';
import type { Identity } from '../api/identity.ts';
import type { LedgerJson, LedgerRowJson } from '../api/types.ts';
import { ledgerSpec } from '../components/chart-specs.ts';
import { LoadStatus, Page } from '../components/page.tsx';
import { Table, type Column } from '../components/table.tsx';
import { VegaChart } from '../components/vega-chart.tsx';
import { useI18n } from '../i18n/i18n-context.tsx';
import { ledgerTotalsByOrg } from '../model/ledger-totals.ts';
import { useSession } from '../session-context.tsx';
import { POLL_MS, usePolling } from '../use-polling.ts';

/** The ledger: GPU-hours each org contributed, consumed and used on its own sites, its credits, and the pool's totals. */
export function LedgerView() {
  const { t } = useI18n();
  const { client, identity } = useSession();
  const polled = usePolling('ledger', (signal) => client.get<LedgerJson>('/ledger', signal), POLL_MS.list);
  return (
    <Page title={t('ledger.title')}>
      <p className="scope-note">{identity.role === 'admin' ? t('ledger.scopeAll') : t('ledger.scopeOrg', { org: identity.orgId })}</p>
      <p className="help">{t('ledger.explain')}</p>
      <LoadStatus polled={polled} />
      {polled.data === undefined ? null : <Ledger ledger={polled.data} identity={identity} />}
    </Page>
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
