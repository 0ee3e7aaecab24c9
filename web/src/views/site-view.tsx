import { useState, type FormEvent } from 'react';
import type { Identity } from '../api/identity.ts';
import type { ShareJson, SharePatchRequest, SiteJobJson, SiteJobsJson, SiteJson } from '../api/types.ts';
import { HealthBadge, StateBadge } from '../components/badges.tsx';
import { Fact } from '../components/facts.tsx';
import { Field, useFocusFirstProblem } from '../components/field.tsx';
import { ErrorNote, LoadStatus, Page } from '../components/page.tsx';
import { Table, type Column } from '../components/table.tsx';
import { useI18n } from '../i18n/i18n-context.tsx';
import { SHARE_API_FIELDS, shareFormOf, sharePatchOf, type ShareForm } from '../model/admin-forms.ts';
import { Link, pathOf } from '../router.tsx';
import { useSession } from '../session-context.tsx';
import { useFormRequest, type FormViewProps } from '../use-form-request.ts';
import { POLL_MS, usePolling } from '../use-polling.ts';
import { useSiteNames } from '../use-site-names.ts';

/**
 * One site (issue 19): what it is, its health and last heartbeat (the API keeps no history
 * of them: the last one, and how long ago), its share policy (which its org-admin and the
 * admin may change here), its WAN links and the jobs on it now.
 */
export function SiteView({ id }: { readonly id: string }) {
  const { t } = useI18n();
  const { client, identity } = useSession();
  const path = `/sites/${encodeURIComponent(id)}`;
  const site = usePolling(path, (signal) => client.get<SiteJson>(path, signal), POLL_MS.detail);
  const jobs = usePolling(`${path}/jobs`, (signal) => client.get<SiteJobsJson>(`${path}/jobs`, signal), POLL_MS.list);
  const siteNames = useSiteNames(client);
  return (
    <Page title={site.data === undefined ? t('site.title', { id }) : site.data.name}>
      <LoadStatus polled={site} />
      {site.data === undefined ? null : (
        <SiteDetail site={site.data} jobs={jobs.data?.jobs ?? null} siteNames={siteNames} identity={identity} now={site.updatedAt ?? Date.now()} onSaved={site.refresh} />
      )}
      {jobs.error === undefined ? null : <ErrorNote error={jobs.error} />}
    </Page>
  );
}

/** The site's page body: what the tests render. `jobs` null: not read yet; `now`: when the site was read. */
export function SiteDetail({ site, jobs, siteNames, identity, now, onSaved }: {
  readonly site: SiteJson;
  readonly jobs: readonly SiteJobJson[] | null;
  readonly siteNames: ReadonlyMap<string, string>;
  readonly identity: Identity;
  readonly now: number;
  readonly onSaved: () => void;
}) {
  const { t, format } = useI18n();
  const gpus = site.capacity.reduce((n, c) => n + c.nodes * c.gpus_per_node, 0);
  // The API lets only the site's org-admin and the pool's admin change it (a member's PATCH is a 403).
  const mayEdit = identity.role !== 'member';
  return (
    <>
      <dl className="facts">
        <Fact label={t('common.org')}>{site.org_id}</Fact>
        <Fact label={t('site.id')}>
          <code>{site.id}</code>
        </Fact>
        <Fact label={t('pool.gpus')}>
          {format.count(gpus)}
          {site.capacity.map((c) => (
            <div key={c.gpu_type} className="muted small">
              {t('sites.capacityEntry', { type: c.gpu_type, nodes: format.count(c.nodes), perNode: format.count(c.gpus_per_node) })}
            </div>
          ))}
        </Fact>
        <Fact label={t('sites.health')}>
          <HealthBadge health={site.health} />
        </Fact>
        <Fact label={t('sites.lastHeartbeat')}>
          {site.last_heartbeat_at === null ? (
            t('sites.never')
          ) : (
            <>
              <time dateTime={site.last_heartbeat_at}>{format.date(site.last_heartbeat_at)}</time>
              <div className="muted small">{format.ago(site.last_heartbeat_at, now)}</div>
            </>
          )}
        </Fact>
        <Fact label={t('sites.price')}>{site.price_per_gpu_hour === null ? '—' : format.amount(site.price_per_gpu_hour)}</Fact>
        <Fact label={t('site.registered')}>{format.date(site.created_at)}</Fact>
      </dl>
      <p className="muted small">{t('site.heartbeatNote')}</p>

      <section aria-labelledby="site-share">
        <h2 id="site-share">{t('sites.sharePolicy')}</h2>
        <SharePolicy share={site.share} />
        {mayEdit ? <ShareEditor site={site} onSaved={onSaved} /> : null}
      </section>

      <section aria-labelledby="site-wan">
        <h2 id="site-wan">{t('site.wanLinks')}</h2>
        <p className="help">{t('site.wanHelp')}</p>
        <WanLinks links={site.wan_links} siteNames={siteNames} />
      </section>

      <section aria-labelledby="site-jobs">
        <h2 id="site-jobs">{t('site.jobs')}</h2>
        {jobs === null ? <p className="muted">{t('common.loading')}</p> : <SiteJobs jobs={jobs} siteOrg={site.org_id} />}
      </section>
    </>
  );
}

/** Issue 8's lending rules in words. */
function SharePolicy({ share }: { readonly share: ShareJson }) {
  const { t, format } = useI18n();
  const limits = Object.entries(share.borrower_gpu_limits);
  return (
    <dl className="facts">
      <Fact label={t('site.lendFraction')}>{t('sites.lends', { share: format.percentOf(share.lend_fraction) })}</Fact>
      <Fact label={t('site.reclaim')}>{share.reclaim ? t('sites.reclaims', { notice: format.duration(share.reclaim_notice_s) }) : t('sites.noReclaim')}</Fact>
      <Fact label={t('site.lendTo')}>{share.lend_to === 'all' ? t('site.lendToAll') : share.lend_to === 'none' ? t('site.lendToNone') : format.list(share.lend_to)}</Fact>
      <Fact label={t('site.maxPerBorrower')}>{share.max_gpus_per_borrower === null ? t('site.noLimit') : format.count(share.max_gpus_per_borrower)}</Fact>
      <Fact label={t('site.borrowerLimits')}>
        {limits.length === 0 ? '—' : format.list(limits.map(([org, n]) => t('site.borrowerLimit', { org, gpus: format.count(n) })))}
      </Fact>
      <Fact label={t('site.sandbox')}>
        {share.sandbox_borrowed ? t('site.sandboxed', { network: share.borrowed_network === 'host' ? t('site.networkHost') : t('site.networkNone') }) : t('site.notSandboxed')}
      </Fact>
    </dl>
  );
}

function WanLinks({ links, siteNames }: { readonly links: SiteJson['wan_links']; readonly siteNames: ReadonlyMap<string, string> }) {
  const { t, format } = useI18n();
  const columns: readonly Column<SiteJson['wan_links'][number]>[] = [
    {
      header: t('site.toSite'),
      // A site the caller sees is named and linked; another org's is the id its owner declared.
      cell: (l) => {
        const name = siteNames.get(l.to_site);
        return name === undefined ? <code>{l.to_site}</code> : <Link to={pathOf({ page: 'site', id: l.to_site })}>{name}</Link>;
      },
    },
    { header: t('site.bandwidth'), cell: (l) => t('job.gbps', { gbps: format.significant(l.gbps) }), numeric: true },
    { header: t('site.latency'), cell: (l) => t('site.ms', { ms: format.significant(l.latency_ms) }), numeric: true },
  ];
  return <Table columns={columns} rows={links} rowKey={(l) => l.to_site} empty={t('site.noWan')} caption={t('site.wanLinks')} />;
}

/** The jobs on the site now; another org's job is named by its org only (the API gives no more), and not linked. */
function SiteJobs({ jobs, siteOrg }: { readonly jobs: readonly SiteJobJson[]; readonly siteOrg: string }) {
  const { t, format } = useI18n();
  const columns: readonly Column<SiteJobJson>[] = [
    {
      header: t('site.job'),
      cell: (j) =>
        j.job_id === null ? (
          t('site.otherOrgJob', { org: j.org_id })
        ) : (
          <Link to={pathOf({ page: 'job', id: j.job_id })}>{j.name === null || j.name === '' ? t('job.title', { id: j.job_id }) : t('job.titleNamed', { id: j.job_id, name: j.name })}</Link>
        ),
    },
    { header: t('common.org'), cell: (j) => (j.org_id === siteOrg ? j.org_id : t('site.borrowing', { org: j.org_id })) },
    { header: t('jobs.state'), cell: (j) => <StateBadge state={j.state} /> },
    { header: t('pool.gpus'), cell: (j) => `${j.gpu_type} × ${format.count(j.gpus)}`, numeric: true },
    { header: t('site.since'), cell: (j) => format.date(j.started_at ?? j.placed_at) },
  ];
  return <Table columns={columns} rows={jobs} rowKey={(j, i) => `${j.job_id ?? 'other'}-${i}`} empty={t('site.noJobs')} caption={t('site.jobs')} />;
}

/** "Change the share policy": the form opens on the page, filled in with the policy as it is; saved, it closes. */
function ShareEditor({ site, onSaved }: { readonly site: SiteJson; readonly onSaved: () => void }) {
  const { t } = useI18n();
  const { client } = useSession();
  const [form, setForm] = useState<ShareForm | null>(null);
  const [saved, setSaved] = useState(false);
  const request = useFormRequest(SHARE_API_FIELDS, (body: { readonly share: SharePatchRequest }) =>
    client.patch<SiteJson>(`/sites/${encodeURIComponent(site.id)}`, body),
  );
  if (form === null) {
    return (
      <>
        {saved ? (
          <p className="note note-ok" role="status">
            {t('site.shareSaved')}
          </p>
        ) : null}
        <button
          type="button"
          onClick={() => {
            request.reset();
            setSaved(false);
            setForm(shareFormOf(site.share));
          }}
        >
          {t('site.editShare')}
        </button>
      </>
    );
  }
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if ((await request.run(sharePatchOf(form))) === undefined) return;
    setForm(null);
    setSaved(true);
    onSaved();
  };
  return <ShareFormView form={form} errors={request.errors} failure={request.failure} busy={request.busy} onChange={setForm} onSubmit={(e) => void submit(e)} onCancel={() => setForm(null)} />;
}

/** The share policy's form from its state: what the tests render. */
export function ShareFormView({ form, errors, failure, busy, onChange, onSubmit, onCancel }: FormViewProps<ShareForm> & {
  readonly onCancel: () => void;
}) {
  const { t } = useI18n();
  const formRef = useFocusFirstProblem(errors);
  const set = <K extends keyof ShareForm>(key: K, value: ShareForm[K]) => onChange({ ...form, [key]: value });
  return (
    <form ref={formRef} className="form" onSubmit={onSubmit} noValidate aria-label={t('site.editShare')}>
      {failure === undefined ? null : <ErrorNote error={failure} />}
      <div className="field-row">
        <Field label={t('site.lendPercent')} error={errors.lendPercent} help={t('site.lendPercentHelp')}>
          {(props) => <input {...props} type="text" inputMode="decimal" value={form.lendPercent} onChange={(e) => set('lendPercent', e.target.value)} />}
        </Field>
        <Field label={t('site.noticeMinutes')} error={errors.reclaimNoticeMinutes} help={t('site.noticeHelp')}>
          {(props) => <input {...props} type="text" inputMode="decimal" value={form.reclaimNoticeMinutes} onChange={(e) => set('reclaimNoticeMinutes', e.target.value)} />}
        </Field>
      </div>
      <fieldset className="checks">
        <legend>{t('site.lendTo')}</legend>
        {(['all', 'none', 'listed'] as const).map((choice) => (
          <label key={choice}>
            <input type="radio" name="lend-to" value={choice} checked={form.lendTo === choice} onChange={() => set('lendTo', choice)} />{' '}
            {choice === 'all' ? t('site.lendToAll') : choice === 'none' ? t('site.lendToNone') : t('site.lendToListed')}
          </label>
        ))}
      </fieldset>
      {form.lendTo === 'listed' ? (
        <Field label={t('site.lendToOrgs')} error={errors.lendToOrgs} help={t('site.lendToOrgsHelp')}>
          {(props) => <input {...props} type="text" spellCheck={false} value={form.lendToOrgs} onChange={(e) => set('lendToOrgs', e.target.value)} />}
        </Field>
      ) : null}
      <div className="field-row">
        <Field label={t('site.maxPerBorrower')} error={errors.maxPerBorrower} help={t('site.maxPerBorrowerHelp')}>
          {(props) => <input {...props} type="text" inputMode="numeric" value={form.maxPerBorrower} onChange={(e) => set('maxPerBorrower', e.target.value)} />}
        </Field>
        <Field label={t('site.borrowerLimits')} error={errors.borrowerLimits} help={t('site.borrowerLimitsHelp')}>
          {(props) => <input {...props} type="text" spellCheck={false} value={form.borrowerLimits} onChange={(e) => set('borrowerLimits', e.target.value)} />}
        </Field>
      </div>
      <fieldset className="checks">
        <legend>{t('site.rules')}</legend>
        <label>
          <input type="checkbox" checked={form.reclaim} onChange={(e) => set('reclaim', e.target.checked)} /> {t('site.reclaimToggle')}
        </label>
        <label>
          <input type="checkbox" checked={form.sandboxBorrowed} onChange={(e) => set('sandboxBorrowed', e.target.checked)} /> {t('site.sandboxToggle')}
        </label>
      </fieldset>
      <Field label={t('site.network')} error={errors.borrowedNetwork}>
        {(props) => (
          <select {...props} value={form.borrowedNetwork} onChange={(e) => set('borrowedNetwork', e.target.value === 'host' ? 'host' : 'none')}>
            <option value="none">{t('site.networkNone')}</option>
            <option value="host">{t('site.networkHost')}</option>
          </select>
        )}
      </Field>
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {t('site.saveShare')}
        </button>
        <button type="button" onClick={onCancel}>
          {t('admin.cancel')}
        </button>
      </div>
    </form>
  );
}
