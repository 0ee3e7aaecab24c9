import type { SiteJson, SiteListJson } from '../api/types.ts';
import { HealthBadge } from '../components/badges.tsx';
import { LoadStatus, Page } from '../components/page.tsx';
import { Table, type Column } from '../components/table.tsx';
import { useI18n } from '../i18n/i18n-context.tsx';
import { Link, pathOf } from '../router.tsx';
import { useSession } from '../session-context.tsx';
import { POLL_MS, usePolling } from '../use-polling.ts';

/** The sites the caller may see: capacity, health and last heartbeat, share policy and price; each name opens the site's page. */
export function SitesView() {
  const { t } = useI18n();
  const { client, identity } = useSession();
  const polled = usePolling('sites', (signal) => client.get<SiteListJson>('/sites', signal), POLL_MS.list);
  return (
    <Page title={t('sites.title')}>
      <p className="scope-note">{identity.role === 'admin' ? t('sites.scopeAll') : t('sites.scopeOrg', { org: identity.orgId })}</p>
      <LoadStatus polled={polled} />
      {polled.data === undefined ? null : <SiteTable sites={polled.data.sites} now={polled.updatedAt ?? Date.now()} />}
    </Page>
  );
}

/** The sites as a table; `now` is when they were read, for "last heartbeat 5 s ago". */
export function SiteTable({ sites, now }: { readonly sites: readonly SiteJson[]; readonly now: number }) {
  const { t, format } = useI18n();
  const columns: readonly Column<SiteJson>[] = [
    {
      header: t('common.site'),
      cell: (s) => (
        <>
          <Link to={pathOf({ page: 'site', id: s.id })}>{s.name}</Link>
          <div className="muted small">
            <code>{s.id}</code>
          </div>
        </>
      ),
    },
    { header: t('common.org'), cell: (s) => s.org_id },
    {
      header: t('sites.capacity'),
      cell: (s) => s.capacity.map((c) => <div key={c.gpu_type}>{t('sites.capacityEntry', { type: c.gpu_type, nodes: format.count(c.nodes), perNode: format.count(c.gpus_per_node) })}</div>),
    },
    { header: t('pool.gpus'), cell: (s) => format.count(s.capacity.reduce((n, c) => n + c.nodes * c.gpus_per_node, 0)), numeric: true },
    { header: t('sites.health'), cell: (s) => <HealthBadge health={s.health} /> },
    {
      header: t('sites.lastHeartbeat'),
      cell: (s) => (s.last_heartbeat_at === null ? t('sites.never') : <time dateTime={s.last_heartbeat_at} title={format.date(s.last_heartbeat_at)}>{format.ago(s.last_heartbeat_at, now)}</time>),
    },
    {
      header: t('sites.sharePolicy'),
      cell: (s) => (
        <>
          {t('sites.lends', { share: format.percentOf(s.share.lend_fraction) })}
          <div className="muted small">{s.share.reclaim ? t('sites.reclaims', { notice: format.duration(s.share.reclaim_notice_s) }) : t('sites.noReclaim')}</div>
        </>
      ),
    },
    { header: t('sites.price'), cell: (s) => (s.price_per_gpu_hour === null ? '—' : format.amount(s.price_per_gpu_hour)), numeric: true },
  ];
  return <Table columns={columns} rows={sites} rowKey={(s) => s.id} empty={t('sites.none')} scrollCue={t('common.scrollCue')} />;
}
