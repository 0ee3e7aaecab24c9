import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { Identity } from '../api/identity.ts';
import type { Role, SiteJson, SiteListJson, TokenCreatedJson, TokenCreateRequest, TokenJson, TokenListJson } from '../api/types.ts';
import { Field, OrgOptions, useFocusFirstProblem } from '../components/field.tsx';
import { ErrorNote, LoadStatus } from '../components/page.tsx';
import { Table, type Column } from '../components/table.tsx';
import { useI18n } from '../i18n/i18n-context.tsx';
import { ROLE_LABEL } from '../i18n/labels.ts';
import { GRANTABLE_ROLES, NEW_TOKEN_FORM, TOKEN_API_FIELDS, tokenRequestOf, type TokenForm } from '../model/admin-forms.ts';
import { useSession } from '../session-context.tsx';
import { useFormRequest, type FormViewProps } from '../use-form-request.ts';
import { useOrgChoices } from '../use-org-choices.ts';
import { POLL_MS, usePolling } from '../use-polling.ts';

/**
 * Tokens (the admin: every org's; an org-admin: its org's): made with a role, an org and,
 * for an agent, a site; the new secret shown once; revoked after a confirmation on the page.
 */
export function TokensAdmin({ identity }: { readonly identity: Identity }) {
  const { t } = useI18n();
  const { client } = useSession();
  const orgs = useOrgChoices(client, identity);
  const tokens = usePolling('admin/tokens', (signal) => client.get<TokenListJson>('/tokens', signal), POLL_MS.list);
  const sites = usePolling('admin/token-sites', (signal) => client.get<SiteListJson>('/sites', signal), POLL_MS.list);
  const [form, setForm] = useState<TokenForm>(NEW_TOKEN_FORM);
  const [created, setCreated] = useState<TokenCreatedJson | null>(null);
  const grantable = identity.role === 'member' ? [] : GRANTABLE_ROLES[identity.role];
  const request = useFormRequest(TOKEN_API_FIELDS, (body: TokenCreateRequest) => client.post<TokenCreatedJson>('/tokens', body));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const token = await request.run(tokenRequestOf(form, grantable, orgs !== null));
    if (token === undefined) return;
    setCreated(token);
    setForm(NEW_TOKEN_FORM);
    tokens.refresh();
  };
  const siteList = sites.data?.sites ?? [];
  return (
    <>
      <section aria-labelledby="admin-token-new">
        <h2 id="admin-token-new">{t('admin.tokenCreate')}</h2>
        {created === null ? null : <NewToken token={created} onDone={() => setCreated(null)} />}
        <TokenFormView
          form={form} errors={request.errors} failure={request.failure} busy={request.busy} roles={grantable} orgs={orgs}
          sites={siteList.filter((s) => orgs === null || s.org_id === form.org)} onChange={setForm} onSubmit={(e) => void submit(e)}
        />
      </section>
      <section aria-labelledby="admin-token-list">
        <h2 id="admin-token-list">{identity.orgId === null ? t('admin.tokensAll') : t('admin.tokensOrg', { org: identity.orgId })}</h2>
        <LoadStatus polled={tokens} />
        {tokens.data === undefined ? null : <TokenTable tokens={tokens.data.tokens} siteNames={new Map(siteList.map((s) => [s.id, s.name]))} onRevoked={tokens.refresh} />}
      </section>
    </>
  );
}

/** The token form. `roles`: those the caller may grant; `orgs`: the admin's choice of org (null: the caller's own); `sites`: an agent's choices. */
export function TokenFormView({ form, errors, failure, busy, roles, orgs, sites, onChange, onSubmit }: FormViewProps<TokenForm> & {
  readonly roles: readonly Role[];
  readonly orgs: readonly string[] | null;
  readonly sites: readonly SiteJson[];
}) {
  const { t } = useI18n();
  const { identity } = useSession();
  const formRef = useFocusFirstProblem(errors);
  const set = <K extends keyof TokenForm>(key: K, value: TokenForm[K]) => onChange({ ...form, [key]: value });
  return (
    <form ref={formRef} className="form" onSubmit={onSubmit} noValidate aria-label={t('admin.tokenCreate')}>
      {failure === undefined ? null : <ErrorNote error={failure} />}
      <Field label={t('admin.name')} error={errors.name} help={t('admin.tokenNameHelp')}>
        {(props) => <input {...props} type="text" required value={form.name} onChange={(e) => set('name', e.target.value)} />}
      </Field>
      <div className="field-row">
        <Field label={t('admin.role')} error={errors.role}>
          {(props) => (
            <select {...props} required value={form.role} onChange={(e) => set('role', roles.find((r) => r === e.target.value) ?? '')}>
              <option value="">{t('admin.pickRole')}</option>
              {roles.map((r) => (
                <option key={r} value={r}>
                  {t(ROLE_LABEL[r])}
                </option>
              ))}
            </select>
          )}
        </Field>
        {orgs === null ? null : form.role === 'admin' ? null : (
          <Field label={t('common.org')} error={errors.org}>
            {(props) => (
              <select {...props} required value={form.org} onChange={(e) => onChange({ ...form, org: e.target.value, site: '' })}>
                <OrgOptions orgs={orgs} none={t('submit.pickOrg')} />
              </select>
            )}
          </Field>
        )}
        {form.role !== 'agent' ? null : (
          <Field label={t('common.site')} error={errors.site} help={t('admin.siteHelp')}>
            {(props) => (
              <select {...props} required value={form.site} onChange={(e) => set('site', e.target.value)}>
                <option value="">{t('admin.pickSite')}</option>
                {sites.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name} ({s.id})
                  </option>
                ))}
              </select>
            )}
          </Field>
        )}
      </div>
      {orgs === null ? <p className="muted">{t('admin.forOwnOrg', { org: identity.orgId ?? '' })}</p> : null}
      <button type="submit" className="primary" disabled={busy}>
        {t('admin.tokenCreate')}
      </button>
    </form>
  );
}

/**
 * The new token's secret, shown this once (the API keeps only its hash): a copy button and
 * a warning; "done" forgets it here too. Its heading takes the focus, so that a screen reader
 * reads it first.
 */
export function NewToken({ token, onDone }: { readonly token: TokenCreatedJson; readonly onDone: () => void }) {
  const { t } = useI18n();
  const heading = useRef<HTMLHeadingElement>(null);
  const [copied, setCopied] = useState<'no' | 'yes' | 'failed'>('no');
  useEffect(() => heading.current?.focus(), []);
  const copy = () => {
    navigator.clipboard.writeText(token.token).then(
      () => setCopied('yes'),
      () => setCopied('failed'),
    );
  };
  return (
    <section className="note note-ok new-token" aria-labelledby="new-token">
      <h3 id="new-token" ref={heading} tabIndex={-1}>
        {t('admin.tokenNew', { name: token.name, id: token.id })}
      </h3>
      <p>
        <strong>{t('admin.tokenOnce')}</strong>
      </p>
      <Field label={t('admin.tokenSecret')} error={undefined}>
        {(props) => <input {...props} type="text" className="mono" readOnly value={token.token} onFocus={(e) => e.target.select()} />}
      </Field>
      <div className="actions">
        <button type="button" className="primary" onClick={copy}>
          {t('admin.copy')}
        </button>
        <button type="button" onClick={onDone}>
          {t('admin.tokenDone')}
        </button>
        <span role="status">{copied === 'yes' ? t('admin.copied') : copied === 'failed' ? t('admin.copyFailed') : ''}</span>
      </div>
    </section>
  );
}

/** The tokens, revoked ones too; a live one has a "Revoke" button that asks once more on the page before it does. */
export function TokenTable({ tokens, siteNames, onRevoked }: { readonly tokens: readonly TokenJson[]; readonly siteNames: ReadonlyMap<string, string>; readonly onRevoked: () => void }) {
  const { t, format } = useI18n();
  const [confirming, setConfirming] = useState<TokenJson | null>(null);
  const columns: readonly Column<TokenJson>[] = [
    { header: t('admin.name'), cell: (k) => k.name },
    { header: t('admin.id'), cell: (k) => <code>{k.id}</code> },
    { header: t('admin.role'), cell: (k) => t(ROLE_LABEL[k.role]) },
    { header: t('common.org'), cell: (k) => k.org_id ?? '—' },
    { header: t('common.site'), cell: (k) => (k.site_id === null ? '—' : (siteNames.get(k.site_id) ?? k.site_id)) },
    { header: t('admin.created'), cell: (k) => format.date(k.created_at) },
    {
      header: t('admin.tokenState'),
      cell: (k) =>
        k.revoked_at !== null ? (
          t('admin.revokedAt', { time: format.date(k.revoked_at) })
        ) : (
          <button type="button" className="danger" aria-label={t('admin.revokeNamed', { name: k.name, id: k.id })} onClick={() => setConfirming(k)}>
            {t('admin.revoke')}
          </button>
        ),
    },
  ];
  return (
    <>
      {confirming === null ? null : (
        <RevokeConfirm
          token={confirming}
          onDone={(revoked) => {
            setConfirming(null);
            if (revoked) onRevoked();
          }}
        />
      )}
      <Table columns={columns} rows={tokens} rowKey={(k) => k.id} rowClassName={(k) => (k.revoked_at === null ? undefined : 'row-revoked')} empty={t('admin.noTokens')} caption={t('admin.tokens')} />
    </>
  );
}

/** Revoking asks once more on the page (its button focused), not in a browser dialog; the API's refusal shows here. */
function RevokeConfirm({ token, onDone }: { readonly token: TokenJson; readonly onDone: (revoked: boolean) => void }) {
  const { t } = useI18n();
  const { client } = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const revoke = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await client.delete<TokenJson>(`/tokens/${encodeURIComponent(token.id)}`);
      onDone(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="note note-error confirm" role="group" aria-labelledby="revoke-question">
      <p id="revoke-question">{t('admin.revokeQuestion', { name: token.name, id: token.id })}</p>
      <div className="actions">
        <button type="button" className="danger" disabled={busy} onClick={() => void revoke()} autoFocus>
          {t('admin.revokeYes')}
        </button>
        <button type="button" onClick={() => onDone(false)}>
          {t('admin.revokeNo')}
        </button>
      </div>
      {error === undefined ? null : <ErrorNote error={error} />}
    </div>
  );
}
