import { useState, type FormEvent } from 'react';
import type { Identity } from '../api/identity.ts';
import type { OrgCreateRequest, OrgJson, OrgListJson, SiteCreateRequest, SiteJson, SiteListJson } from '../api/types.ts';
import { Field, OrgOptions, useFocusFirstProblem } from '../components/field.tsx';
import { ErrorNote, LoadStatus, Page } from '../components/page.tsx';
import { Table, type Column } from '../components/table.tsx';
import type { MessageKey } from '../i18n/catalog-en.ts';
import { useI18n } from '../i18n/i18n-context.tsx';
import { NEW_ORG_FORM, NEW_SITE_FORM, ORG_API_FIELDS, orgRequestOf, SITE_API_FIELDS, siteRequestOf, type OrgForm, type SiteForm } from '../model/admin-forms.ts';
import { ADMIN_SECTIONS, Link, pathOf, type AdminSection } from '../router.tsx';
import { useSession } from '../session-context.tsx';
import { useFormRequest, type FormViewProps } from '../use-form-request.ts';
import { useOrgChoices } from '../use-org-choices.ts';
import { POLL_MS, usePolling } from '../use-polling.ts';
import { SiteTable } from './sites-view.tsx';
import { TokensAdmin } from './tokens-view.tsx';

const SECTION_LABEL: Readonly<Record<AdminSection, MessageKey>> = { orgs: 'admin.orgs', sites: 'admin.sites', tokens: 'admin.tokens' };

/**
 * The sections a role may manage, as the API allows (src/server/permissions.ts): the admin
 * every one; an org-admin its org's sites and tokens (orgs are the admin's to create); a
 * member nothing (the dashboard hides the link to these pages from it).
 */
export function adminSections(identity: Identity): readonly AdminSection[] {
  return identity.role === 'admin' ? ADMIN_SECTIONS : identity.role === 'org-admin' ? ['sites', 'tokens'] : [];
}

/** Managing the pool from the dashboard (issue 19): orgs, sites and tokens, with the API's permissions. */
export function AdminView({ section }: { readonly section: AdminSection }) {
  const { t } = useI18n();
  const { identity } = useSession();
  const sections = adminSections(identity);
  return (
    <Page title={t(SECTION_LABEL[section])}>
      {sections.length === 0 ? null : (
        <nav aria-label={t('admin.nav')} className="admin-nav">
          <ul>
            {sections.map((s) => (
              <li key={s}>
                <Link to={pathOf({ page: 'admin', section: s })} current={s === section}>
                  {t(SECTION_LABEL[s])}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
      )}
      {!sections.includes(section) ? (
        <p className="note">{sections.length === 0 ? t('admin.memberNothing') : t('admin.orgsAdminOnly')}</p>
      ) : section === 'orgs' ? (
        <OrgsAdmin />
      ) : section === 'sites' ? (
        <SitesAdmin identity={identity} />
      ) : (
        <TokensAdmin identity={identity} />
      )}
    </Page>
  );
}

// --- orgs ---------------------------------------------------------------------------------

function OrgsAdmin() {
  const { t } = useI18n();
  const { client } = useSession();
  const polled = usePolling('admin/orgs', (signal) => client.get<OrgListJson>('/orgs', signal), POLL_MS.list);
  const [form, setForm] = useState<OrgForm>(NEW_ORG_FORM);
  const [created, setCreated] = useState<OrgJson | null>(null);
  const request = useFormRequest(ORG_API_FIELDS, (body: OrgCreateRequest) => client.post<OrgJson>('/orgs', body));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const org = await request.run(orgRequestOf(form));
    if (org === undefined) return;
    setCreated(org);
    setForm(NEW_ORG_FORM);
    polled.refresh();
  };
  return (
    <>
      <section aria-labelledby="admin-org-new">
        <h2 id="admin-org-new">{t('admin.orgCreate')}</h2>
        {created === null ? null : (
          <p className="note note-ok" role="status">
            {t('admin.orgCreated', { name: created.name, id: created.id })}
          </p>
        )}
        <OrgFormView form={form} errors={request.errors} failure={request.failure} busy={request.busy} onChange={setForm} onSubmit={(e) => void submit(e)} />
      </section>
      <section aria-labelledby="admin-org-list">
        <h2 id="admin-org-list">{t('admin.orgs')}</h2>
        <LoadStatus polled={polled} />
        {polled.data === undefined ? null : <OrgTable orgs={polled.data.orgs} />}
      </section>
    </>
  );
}

export function OrgTable({ orgs }: { readonly orgs: readonly OrgJson[] }) {
  const { t, format } = useI18n();
  const columns: readonly Column<OrgJson>[] = [
    { header: t('admin.name'), cell: (o) => o.name },
    { header: t('admin.id'), cell: (o) => <code>{o.id}</code> },
    { header: t('admin.created'), cell: (o) => format.date(o.created_at) },
  ];
  return <Table columns={columns} rows={orgs} rowKey={(o) => o.id} empty={t('admin.noOrgs')} caption={t('admin.orgs')} />;
}

export function OrgFormView({ form, errors, failure, busy, onChange, onSubmit }: FormViewProps<OrgForm>) {
  const { t } = useI18n();
  const formRef = useFocusFirstProblem(errors);
  return (
    <form ref={formRef} className="form" onSubmit={onSubmit} noValidate aria-label={t('admin.orgCreate')}>
      {failure === undefined ? null : <ErrorNote error={failure} />}
      <div className="field-row">
        <Field label={t('admin.name')} error={errors.name}>
          {(props) => <input {...props} type="text" required value={form.name} onChange={(e) => onChange({ ...form, name: e.target.value })} />}
        </Field>
        <Field label={t('admin.orgId')} error={errors.id} help={t('admin.orgIdHelp')}>
          {(props) => <input {...props} type="text" spellCheck={false} value={form.id} onChange={(e) => onChange({ ...form, id: e.target.value })} />}
        </Field>
      </div>
      <button type="submit" className="primary" disabled={busy}>
        {t('admin.orgCreate')}
      </button>
    </form>
  );
}

// --- sites --------------------------------------------------------------------------------

function SitesAdmin({ identity }: { readonly identity: Identity }) {
  const { t } = useI18n();
  const { client } = useSession();
  const orgs = useOrgChoices(client, identity);
  const polled = usePolling('admin/sites', (signal) => client.get<SiteListJson>('/sites', signal), POLL_MS.list);
  const [form, setForm] = useState<SiteForm>(NEW_SITE_FORM);
  const [created, setCreated] = useState<SiteJson | null>(null);
  const request = useFormRequest(SITE_API_FIELDS, (body: SiteCreateRequest) => client.post<SiteJson>('/sites', body));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const site = await request.run(siteRequestOf(form, orgs !== null));
    if (site === undefined) return;
    setCreated(site);
    setForm(NEW_SITE_FORM);
    polled.refresh();
  };
  return (
    <>
      <section aria-labelledby="admin-site-new">
        <h2 id="admin-site-new">{t('admin.siteCreate')}</h2>
        {created === null ? null : (
          <p className="note note-ok" role="status">
            {t('admin.siteCreated', { name: created.name })} <Link to={pathOf({ page: 'site', id: created.id })}>{t('admin.siteOpen')}</Link>
          </p>
        )}
        <SiteFormView form={form} errors={request.errors} failure={request.failure} busy={request.busy} orgs={orgs} onChange={setForm} onSubmit={(e) => void submit(e)} />
      </section>
      <section aria-labelledby="admin-site-list">
        <h2 id="admin-site-list">{identity.orgId === null ? t('sites.scopeAll') : t('sites.scopeOrg', { org: identity.orgId })}</h2>
        <p className="help">{t('admin.sitesNeverRemoved')}</p>
        <LoadStatus polled={polled} />
        {polled.data === undefined ? null : <SiteTable sites={polled.data.sites} now={polled.updatedAt ?? Date.now()} />}
      </section>
    </>
  );
}

/** The site registration form. `orgs`: the orgs the admin may pick (null: the caller's own, which is said instead). */
export function SiteFormView({ form, errors, failure, busy, orgs, onChange, onSubmit }: FormViewProps<SiteForm> & {
  readonly orgs: readonly string[] | null;
}) {
  const { t } = useI18n();
  const { identity } = useSession();
  const formRef = useFocusFirstProblem(errors);
  const text = (key: 'name' | 'gpuType' | 'nodes' | 'gpusPerNode' | 'price', label: string, help?: string) => (
    <Field label={label} error={errors[key]} {...(help === undefined ? {} : { help })}>
      {(props) => <input {...props} type="text" value={form[key]} onChange={(e) => onChange({ ...form, [key]: e.target.value })} />}
    </Field>
  );
  return (
    <form ref={formRef} className="form" onSubmit={onSubmit} noValidate aria-label={t('admin.siteCreate')}>
      {failure === undefined ? null : <ErrorNote error={failure} />}
      {text('name', t('admin.name'))}
      {orgs === null ? (
        <p className="muted">{t('admin.forOwnOrg', { org: identity.orgId ?? '' })}</p>
      ) : (
        <Field label={t('common.org')} error={errors.org}>
          {(props) => (
            <select {...props} required value={form.org} onChange={(e) => onChange({ ...form, org: e.target.value })}>
              <OrgOptions orgs={orgs} none={t('submit.pickOrg')} />
            </select>
          )}
        </Field>
      )}
      <div className="field-row">
        {text('gpuType', t('common.gpuType'))}
        {text('nodes', t('admin.nodes'))}
        {text('gpusPerNode', t('admin.gpusPerNode'))}
      </div>
      {text('price', t('sites.price'), t('admin.priceHelp'))}
      <p className="help">{t('admin.siteAfter')}</p>
      <button type="submit" className="primary" disabled={busy}>
        {t('admin.siteCreate')}
      </button>
    </form>
  );
}
