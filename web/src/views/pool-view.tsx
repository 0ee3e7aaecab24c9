import { useEffect, useMemo, useRef, useState } from 'react';
import { ActiveJobDetails, listAllJobs } from '../api/active-jobs.ts';
import type { ApiClient } from '../api/client.ts';
import type { Identity } from '../api/identity.ts';
import type { SiteListJson } from '../api/types.ts';
import { HealthBadge } from '../components/badges.tsx';
import { siteUsageSpec, utilizationSpec } from '../components/chart-specs.ts';
import { LoadStatus, Page } from '../components/page.tsx';
import { VegaChart } from '../components/vega-chart.tsx';
import { useI18n } from '../i18n/i18n-context.tsx';
import { appendSample, poolUsage, utilization, type PoolUsage, type UtilizationSample } from '../model/pool-usage.ts';
import { useSession } from '../session-context.tsx';
import { POLL_MS, usePolling } from '../use-polling.ts';

/** The overview's data: the pool now, plus the queue's length. */
export interface PoolOverviewData {
  readonly usage: PoolUsage;
  readonly running: number;
  readonly waiting: { readonly jobs: number; readonly gpus: number };
  /** False when there were more active jobs than the overview reads (listAllJobs' page limit). */
  readonly complete: boolean;
}

async function loadOverview(client: ApiClient, details: ActiveJobDetails, signal: AbortSignal): Promise<PoolOverviewData> {
  const [sites, active, pending] = await Promise.all([
    client.get<SiteListJson>('/sites', signal),
    details.load(client, signal),
    listAllJobs(client, ['pending'], signal),
  ]);
  return {
    usage: poolUsage(sites.sites, active.jobs),
    running: active.jobs.length,
    waiting: { jobs: pending.jobs.length, gpus: pending.jobs.reduce((n, j) => n + j.gpus, 0) },
    complete: active.complete && pending.complete,
  };
}

/** Samples kept for the utilization chart: at one poll every 4 s, the last half hour. */
const SAMPLES_KEPT = 450;

export function PoolView() {
  const { t } = useI18n();
  const { client, identity } = useSession();
  const details = useRef(new ActiveJobDetails());
  const polled = usePolling('pool', (signal) => loadOverview(client, details.current, signal), POLL_MS.list);
  const [samples, setSamples] = useState<UtilizationSample[]>([]);
  useEffect(() => {
    const { data, updatedAt } = polled;
    if (data === undefined || updatedAt === undefined) return;
    setSamples((s) => appendSample(s, { at: updatedAt, allocated: data.usage.total.allocated, capacity: data.usage.total.capacity }, SAMPLES_KEPT));
  }, [polled.data, polled.updatedAt]);

  return (
    <Page title={t('pool.title')}>
      <LoadStatus polled={polled} />
      {polled.data === undefined ? null : <PoolOverview data={polled.data} identity={identity} samples={samples} />}
    </Page>
  );
}

/** The overview itself, from data: what the tests render. */
export function PoolOverview({ data, identity, samples }: { readonly data: PoolOverviewData; readonly identity: Identity; readonly samples: readonly UtilizationSample[] }) {
  const { t, format } = useI18n();
  const { usage } = data;
  const usageSpec = useMemo(
    () => siteUsageSpec(usage.sites, { allocated: t('pool.allocated'), idle: t('pool.idle'), unavailable: t('pool.unavailable'), gpus: t('pool.gpus') }, t('pool.chartDescription')),
    [usage, t],
  );
  const trendSpec = useMemo(() => utilizationSpec(samples, { time: t('pool.time'), utilization: t('pool.utilization') }, t('pool.trendDescription')), [samples, t]);

  return (
    <>
      <p className="scope-note">{identity.role === 'admin' ? t('pool.scopeAll') : t('pool.scopeOrg', { org: identity.orgId })}</p>
      {data.complete ? null : <p className="note">{t('pool.incomplete')}</p>}
      <dl className="stats">
        <Stat label={t('pool.capacity')} value={format.count(usage.total.capacity)} />
        <Stat label={t('pool.allocated')} value={format.count(usage.total.allocated)} />
        <Stat label={t('pool.idle')} value={format.count(usage.total.idle)} />
        <Stat label={t('pool.unavailable')} value={format.count(usage.total.unavailable)} />
        <Stat label={t('pool.utilization')} value={format.percentOf(utilization(usage.total))} />
        <Stat label={t('pool.running')} value={format.count(data.running)} />
        <Stat label={t('pool.waitingJobs')} value={format.count(data.waiting.jobs)} />
        <Stat label={t('pool.waitingGpus')} value={format.count(data.waiting.gpus)} />
      </dl>
      {usage.elsewhere > 0 ? <p className="note">{t('pool.elsewhere', { gpus: format.count(usage.elsewhere) })}</p> : null}

      {usage.sites.length === 0 ? (
        <p className="empty">{t('pool.noSites')}</p>
      ) : (
        <div className="charts">
          <VegaChart spec={usageSpec} title={t('pool.chartTitle')} />
          <VegaChart spec={trendSpec} title={t('pool.trendTitle')} />
        </div>
      )}

      <h2>{t('pool.bySite')}</h2>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">{t('common.site')}</th>
              <th scope="col">{t('common.org')}</th>
              <th scope="col">{t('common.gpuType')}</th>
              <th scope="col">{t('sites.health')}</th>
              <th scope="col" className="num">{t('pool.capacity')}</th>
              <th scope="col" className="num">{t('pool.allocated')}</th>
              <th scope="col" className="num">{t('pool.idle')}</th>
              <th scope="col" className="num">{t('pool.unavailable')}</th>
            </tr>
          </thead>
          <tbody>
            {usage.sites.map((r) => (
              <tr key={`${r.siteId}/${r.gpuType}`}>
                <th scope="row">{r.siteName}</th>
                <td>{r.orgId}</td>
                <td>{r.gpuType}</td>
                <td>
                  <HealthBadge health={r.health} />
                </td>
                <td className="num">{format.count(r.capacity)}</td>
                <td className="num">{format.count(r.allocated)}</td>
                <td className="num">{format.count(r.idle)}</td>
                <td className="num">{format.count(r.unavailable)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <div className="two-columns">
        <section aria-labelledby="pool-by-org">
          <h2 id="pool-by-org">{t('pool.byOrg')}</h2>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('common.org')}</th>
                  <th scope="col" className="num">{t('pool.contributes')}</th>
                  <th scope="col" className="num">{t('pool.allocatedOnItsSites')}</th>
                  <th scope="col" className="num">{t('pool.heldByItsJobs')}</th>
                </tr>
              </thead>
              <tbody>
                {usage.orgs.map((o) => (
                  <tr key={o.orgId}>
                    <th scope="row">{o.orgId}</th>
                    <td className="num">{format.count(o.capacity)}</td>
                    <td className="num">{format.count(o.allocated)}</td>
                    <td className="num">{format.count(o.heldByJobs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
        <section aria-labelledby="pool-by-type">
          <h2 id="pool-by-type">{t('pool.byType')}</h2>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('common.gpuType')}</th>
                  <th scope="col" className="num">{t('pool.capacity')}</th>
                  <th scope="col" className="num">{t('pool.allocated')}</th>
                  <th scope="col" className="num">{t('pool.idle')}</th>
                </tr>
              </thead>
              <tbody>
                {usage.gpuTypes.map((g) => (
                  <tr key={g.gpuType}>
                    <th scope="row">{g.gpuType}</th>
                    <td className="num">{format.count(g.capacity)}</td>
                    <td className="num">{format.count(g.allocated)}</td>
                    <td className="num">{format.count(g.idle)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      </div>
    </>
  );
}

function Stat({ label, value }: { readonly label: string; readonly value: string }) {
  return (
    <div className="stat">
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}
