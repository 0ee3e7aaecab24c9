import { useMemo, useState } from 'react';
import type { Identity } from '../api/identity.ts';
import type { PoolGpuTypeJson, PoolJson, PoolLendingJson, PoolOrgJson, PoolSampleJson, PoolSiteJson } from '../api/types.ts';
import { HealthBadge } from '../components/badges.tsx';
import { historySpec, lendingSpec, siteUsageSpec } from '../components/chart-specs.ts';
import { Stat } from '../components/facts.tsx';
import { RadioChoice } from '../components/field.tsx';
import { LoadStatus, Page } from '../components/page.tsx';
import { Table, type Column } from '../components/table.tsx';
import { VegaChart } from '../components/vega-chart.tsx';
import { useI18n } from '../i18n/i18n-context.tsx';
import { HISTORY_RANGES, historySeries, samplesWithin, utilization, type HistoryRange } from '../model/pool-usage.ts';
import type { MessageKey } from '../i18n/catalog-en.ts';
import { useSession } from '../session-context.tsx';
import { POLL_MS, usePolling } from '../use-polling.ts';

/**
 * The pool overview: GET /pool, one request a refresh. Every role sees the whole
 * pool's totals (by GPU type, by org, the queues, the utilization history the
 * server samples, who lends to whom now); the admin sees every site in detail, an
 * org its own, a lost one marked in words as well as by its shade.
 */
export function PoolView() {
  const { t } = useI18n();
  const { client, identity } = useSession();
  const polled = usePolling('pool', (signal) => client.get<PoolJson>('/pool', signal), POLL_MS.list);
  return (
    <Page title={t('pool.title')}>
      <LoadStatus polled={polled} />
      {polled.data === undefined ? null : <PoolOverview pool={polled.data} identity={identity} />}
    </Page>
  );
}

const RANGE_LABEL: Readonly<Record<HistoryRange, MessageKey>> = { hour: 'pool.rangeHour', '6h': 'pool.rangeSixHours', '24h': 'pool.rangeDay', all: 'pool.rangeAll' };

/** One row of the queue-wait table: the pool's, or an org's. */
interface WaitRow {
  readonly key: string;
  readonly label: string;
  readonly placed_jobs: number;
  readonly p50_s: number | null;
  readonly p90_s: number | null;
}

/** The overview itself, from GET /pool's answer: what the tests render. `range`: the history shown at first. */
export function PoolOverview({ pool, identity, range: initialRange = 'all' }: { readonly pool: PoolJson; readonly identity: Identity; readonly range?: HistoryRange }) {
  const { t, format } = useI18n();
  const [range, setRange] = useState<HistoryRange>(initialRange);
  const samples = useMemo(() => samplesWithin(pool.history.samples, range), [pool.history.samples, range]);
  const usageSpec = useMemo(
    () => siteUsageSpec(pool.sites, { allocated: t('pool.allocated'), idle: t('pool.idle'), unavailable: t('pool.unavailable'), gpus: t('pool.gpus') }, t('pool.chartDescription')),
    [pool.sites, t],
  );
  const trendSpec = useMemo(() => {
    const all = t('pool.allGpus');
    return historySpec(historySeries(samples, all, pool.history.interval_s * 1000), { time: t('pool.time'), gpus: t('pool.gpus'), all }, t('pool.trendDescription'));
  }, [samples, pool.history.interval_s, t]);
  const lendingChart = useMemo(
    () => lendingSpec(pool.lending, { lender: t('pool.lender'), borrower: t('pool.borrower'), gpus: t('pool.gpus') }, t('pool.lendingChartDescription')),
    [pool.lending, t],
  );
  const lostSites = [...new Set(pool.sites.filter((s) => s.health === 'lost').map((s) => s.name))];
  const count = (n: number) => format.count(n);
  const { total } = pool;
  const ownOrg = identity.role === 'admin' ? null : identity.orgId;

  const siteColumns: readonly Column<PoolSiteJson>[] = [
    { header: t('common.site'), cell: (r) => r.name },
    { header: t('common.org'), cell: (r) => r.org_id },
    { header: t('common.gpuType'), cell: (r) => r.gpu_type },
    { header: t('sites.health'), cell: (r) => <HealthBadge health={r.health} /> },
    { header: t('pool.capacity'), cell: (r) => count(r.gpus), numeric: true },
    { header: t('pool.allocated'), cell: (r) => count(r.allocated), numeric: true },
    { header: t('pool.idle'), cell: (r) => count(r.idle), numeric: true },
    { header: t('pool.unavailable'), cell: (r) => count(r.unavailable), numeric: true },
  ];
  const orgColumns: readonly Column<PoolOrgJson>[] = [
    { header: t('common.org'), cell: (o) => (o.name === o.org_id ? o.org_id : <>{o.name} <span className="muted small">({o.org_id})</span></>) },
    { header: t('pool.contributes'), cell: (o) => count(o.gpus), numeric: true },
    { header: t('pool.allocatedOnItsSites'), cell: (o) => count(o.allocated), numeric: true },
    { header: t('pool.idle'), cell: (o) => count(o.idle), numeric: true },
    { header: t('pool.waitingJobs'), cell: (o) => count(o.queued_jobs), numeric: true },
    { header: t('pool.waitingGpus'), cell: (o) => count(o.queued_gpus), numeric: true },
    { header: t('pool.lent'), cell: (o) => count(o.lent_gpus), numeric: true },
    { header: t('pool.borrowed'), cell: (o) => count(o.borrowed_gpus), numeric: true },
  ];
  const lendingColumns: readonly Column<PoolLendingJson>[] = [
    { header: t('pool.lender'), cell: (l) => l.lender_org_id },
    { header: t('pool.borrower'), cell: (l) => l.borrower_org_id },
    { header: t('pool.gpus'), cell: (l) => count(l.gpus), numeric: true },
  ];
  const typeColumns: readonly Column<PoolGpuTypeJson>[] = [
    { header: t('common.gpuType'), cell: (g) => g.gpu_type },
    { header: t('pool.capacity'), cell: (g) => count(g.gpus), numeric: true },
    { header: t('pool.allocated'), cell: (g) => count(g.allocated), numeric: true },
    { header: t('pool.idle'), cell: (g) => count(g.idle), numeric: true },
    { header: t('pool.utilization'), cell: (g) => format.percentOf(utilization(g)), numeric: true },
  ];
  const sampleColumns: readonly Column<PoolSampleJson>[] = [
    { header: t('pool.time'), cell: (x) => format.date(x.at) },
    { header: t('pool.capacity'), cell: (x) => count(x.gpus), numeric: true },
    { header: t('pool.allocated'), cell: (x) => count(x.allocated), numeric: true },
    { header: t('pool.utilization'), cell: (x) => format.percentOf(utilization(x)), numeric: true },
  ];
  const wait = (s: number | null) => (s === null ? '—' : format.duration(s));
  const waitColumns: readonly Column<WaitRow>[] = [
    { header: t('common.org'), cell: (w) => w.label },
    { header: t('pool.placedJobs'), cell: (w) => count(w.placed_jobs), numeric: true },
    { header: t('pool.waitMedian'), cell: (w) => wait(w.p50_s), numeric: true },
    { header: t('pool.waitNinetieth'), cell: (w) => wait(w.p90_s), numeric: true },
  ];
  const { queue_wait: waits } = pool;
  const waitRows: readonly WaitRow[] = [{ key: '', label: t('pool.allOrgs'), ...waits }, ...waits.orgs.map((o) => ({ key: o.org_id, label: o.org_id, ...o }))];
  const waitWindow = format.duration(waits.window_s);
  const scrollCue = t('common.scrollCue');

  return (
    <>
      <p className="scope-note">{ownOrg === null ? t('pool.scopeAll') : t('pool.scopeOrg', { org: ownOrg })}</p>
      <dl className="stats">
        <Stat label={t('pool.capacity')}>{count(total.gpus)}</Stat>
        <Stat label={t('pool.allocated')}>{count(total.allocated)}</Stat>
        <Stat label={t('pool.idle')}>{count(total.idle)}</Stat>
        <Stat label={t('pool.unavailable')}>{count(total.unavailable)}</Stat>
        <Stat label={t('pool.utilization')}>{format.percentOf(utilization(total))}</Stat>
        <Stat label={t('pool.running')}>{count(total.active_jobs)}</Stat>
        <Stat label={t('pool.waitingJobs')}>{count(total.queued_jobs)}</Stat>
        <Stat label={t('pool.waitingGpus')}>{count(total.queued_gpus)}</Stat>
      </dl>
      {pool.borrowed_gpus > 0 ? <p className="note">{t('pool.elsewhere', { gpus: count(pool.borrowed_gpus) })}</p> : null}

      {total.gpus === 0 ? null : <RangeSwitch range={range} onChange={setRange} />}
      {total.gpus === 0 ? (
        <p className="empty">{t('pool.noSites')}</p>
      ) : (
        <div className="charts">
          {pool.sites.length === 0 ? null : <VegaChart spec={usageSpec} title={ownOrg === null ? t('pool.chartTitle') : t('pool.chartTitleOrg', { org: ownOrg })} />}
          <VegaChart spec={trendSpec} title={t('pool.trendTitle')} />
        </div>
      )}
      {samples.length === 0 ? null : (
        <details>
          <summary>{t('pool.historyTable', { interval: format.duration(pool.history.interval_s) })}</summary>
          <Table columns={sampleColumns} rows={[...samples].reverse()} rowKey={(x) => x.at} caption={t('pool.trendTitle')} scrollCue={scrollCue} />
        </details>
      )}

      <h2>{ownOrg === null ? t('pool.bySite') : t('pool.yourSites', { org: ownOrg })}</h2>
      {lostSites.length === 0 ? null : <p className="note note-error">{t('pool.lostSites', { sites: format.list(lostSites) })}</p>}
      <Table columns={siteColumns} rows={pool.sites} rowKey={(r) => `${r.site_id}/${r.gpu_type}`} rowClassName={(r) => (r.health === 'lost' ? 'row-lost' : undefined)} empty={t('pool.noOwnSites')} scrollCue={scrollCue} />

      {/* The org table is wide (its sites, its queue, what it lends and borrows): the page's whole width. */}
      <section aria-labelledby="pool-by-org">
        <h2 id="pool-by-org">{t('pool.byOrg')}</h2>
        <Table columns={orgColumns} rows={pool.orgs} rowKey={(o) => o.org_id} scrollCue={scrollCue} />
      </section>

      <section aria-labelledby="pool-queue-wait">
        <h2 id="pool-queue-wait">{t('pool.queueWait')}</h2>
        {waits.placed_jobs === 0 ? (
          <p className="empty">{t('pool.noQueueWait', { window: waitWindow })}</p>
        ) : (
          <>
            <p className="muted">{t('pool.queueWaitHelp', { window: waitWindow })}</p>
            <Table columns={waitColumns} rows={waitRows} rowKey={(w) => w.key} caption={t('pool.queueWait')} scrollCue={scrollCue} />
          </>
        )}
      </section>

      <div className="two-columns">
        <section aria-labelledby="pool-by-type">
          <h2 id="pool-by-type">{t('pool.byType')}</h2>
          <Table columns={typeColumns} rows={pool.gpu_types} rowKey={(g) => g.gpu_type} scrollCue={scrollCue} />
        </section>
        <section aria-labelledby="pool-lending">
          <h2 id="pool-lending">{t('pool.lending')}</h2>
          {pool.lending.length === 0 ? (
            <p className="empty">{t('pool.noLending')}</p>
          ) : (
            <>
              <p className="muted">{t('pool.lendingHelp')}</p>
              <Table columns={lendingColumns} rows={pool.lending} rowKey={(l) => `${l.lender_org_id}/${l.borrower_org_id}`} caption={t('pool.lending')} scrollCue={scrollCue} />
              <VegaChart spec={lendingChart} title={t('pool.lendingChartTitle')} />
            </>
          )}
        </section>
      </div>
    </>
  );
}

/** Which stretch of the history the chart and its table show: the last hour, 6 or 24 hours, or all the server keeps. */
function RangeSwitch({ range, onChange }: { readonly range: HistoryRange; readonly onChange: (r: HistoryRange) => void }) {
  const { t } = useI18n();
  const options = (Object.keys(HISTORY_RANGES) as HistoryRange[]).map((value) => ({ value, label: t(RANGE_LABEL[value]) }));
  return <RadioChoice legend={t('pool.range')} value={range} options={options} onChange={onChange} className="range" />;
}
