import { useMemo } from 'react';
import type { Identity } from '../api/identity.ts';
import type { LedgerJson } from '../api/types.ts';
import { ledgerSpec } from '../components/chart-specs.ts';
import { LoadStatus, Page } from '../components/page.tsx';
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
  return (
    <>
      {totals.length === 0 ? null : <VegaChart spec={spec} title={t('ledger.chartTitle')} />}
      <h2>{identity.role === 'admin' ? t('ledger.byOrg') : t('ledger.yours')}</h2>
      {ledger.rows.length === 0 ? (
        <p className="empty">{t('ledger.noRows')}</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t('common.org')}</th>
                <th scope="col">{t('common.gpuType')}</th>
                <th scope="col" className="num">{t('ledger.contributed')}</th>
                <th scope="col" className="num">{t('ledger.consumed')}</th>
                <th scope="col" className="num">{t('ledger.own')}</th>
                <th scope="col" className="num">{t('ledger.credits')}</th>
              </tr>
            </thead>
            <tbody>
              {ledger.rows.map((r) => (
                <tr key={`${r.org_id}/${r.gpu_type}`}>
                  <th scope="row">{r.org_id}</th>
                  <td>{r.gpu_type}</td>
                  <td className="num">{format.amount(r.contributed_gpu_h)}</td>
                  <td className="num">{format.amount(r.consumed_gpu_h)}</td>
                  <td className="num">{format.amount(r.own_gpu_h)}</td>
                  <td className={`num ${r.credits_gpu_h < 0 ? 'negative' : ''}`}>{format.amount(r.credits_gpu_h)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>{t('ledger.pool')}</h2>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">{t('common.gpuType')}</th>
              <th scope="col" className="num">{t('ledger.poolShared')}</th>
              <th scope="col" className="num">{t('ledger.own')}</th>
            </tr>
          </thead>
          <tbody>
            {ledger.pool.map((p) => (
              <tr key={p.gpu_type}>
                <th scope="row">{p.gpu_type}</th>
                <td className="num">{format.amount(p.contributed_gpu_h)}</td>
                <td className="num">{format.amount(p.own_gpu_h)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
