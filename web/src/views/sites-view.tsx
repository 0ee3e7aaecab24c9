import type { SiteJson, SiteListJson } from '../api/types.ts';
import { HealthBadge } from '../components/badges.tsx';
import { LoadStatus, Page } from '../components/page.tsx';
import { useI18n } from '../i18n/i18n-context.tsx';
import { useSession } from '../session-context.tsx';
import { POLL_MS, usePolling } from '../use-polling.ts';

/** The sites the caller may see: capacity, health and last heartbeat, share policy and price. */
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
  if (sites.length === 0) return <p className="empty">{t('sites.none')}</p>;
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">{t('common.site')}</th>
            <th scope="col">{t('common.org')}</th>
            <th scope="col">{t('sites.capacity')}</th>
            <th scope="col" className="num">{t('pool.gpus')}</th>
            <th scope="col">{t('sites.health')}</th>
            <th scope="col">{t('sites.lastHeartbeat')}</th>
            <th scope="col">{t('sites.sharePolicy')}</th>
            <th scope="col" className="num">{t('sites.price')}</th>
          </tr>
        </thead>
        <tbody>
          {sites.map((s) => (
            <tr key={s.id}>
              <th scope="row">
                {s.name}
                <div className="muted small">
                  <code>{s.id}</code>
                </div>
              </th>
              <td>{s.org_id}</td>
              <td>
                {s.capacity.map((c) => (
                  <div key={c.gpu_type}>{t('sites.capacityEntry', { type: c.gpu_type, nodes: format.count(c.nodes), perNode: format.count(c.gpus_per_node) })}</div>
                ))}
              </td>
              <td className="num">{format.count(s.capacity.reduce((n, c) => n + c.nodes * c.gpus_per_node, 0))}</td>
              <td>
                <HealthBadge health={s.health} />
              </td>
              <td>{s.last_heartbeat_at === null ? t('sites.never') : <time dateTime={s.last_heartbeat_at} title={format.date(s.last_heartbeat_at)}>{format.ago(s.last_heartbeat_at, now)}</time>}</td>
              <td>
                {t('sites.lends', { share: format.percentOf(s.share.lend_fraction) })}
                <div className="muted small">{s.share.reclaim ? t('sites.reclaims', { notice: format.duration(s.share.reclaim_notice_s) }) : t('sites.noReclaim')}</div>
              </td>
              <td className="num">{s.price_per_gpu_hour === null ? '—' : format.amount(s.price_per_gpu_hour)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
