import { useState, type FormEvent } from 'react';
import type { DryRunJson, JobJson } from '../api/types.ts';
import { Field, OrgOptions, useFocusFirstProblem } from '../components/field.tsx';
import { ErrorNote, Page } from '../components/page.tsx';
import { useI18n } from '../i18n/i18n-context.tsx';
import { diagnosisText, placementText } from '../i18n/labels.ts';
import { NEW_SUBMIT_FORM, submissionOf, type SubmitForm, type SubmitFormErrors } from '../model/submit-form.ts';
import { navigate, pathOf } from '../router.tsx';
import { useSession } from '../session-context.tsx';
import { useOrgChoices } from '../use-org-choices.ts';
import { useSiteNames } from '../use-site-names.ts';

/**
 * Submitting a job: the form, a dry run (where it would start now, or why it
 * would wait; nothing is committed), and on success the new job's page.
 */
export function SubmitView() {
  const i18n = useI18n();
  const { t, format } = i18n;
  const { client, identity } = useSession();
  const orgs = useOrgChoices(client, identity);
  const siteNames = useSiteNames(client);
  const needsOrg = orgs !== null;
  const [form, setForm] = useState<SubmitForm>(NEW_SUBMIT_FORM);
  const [errors, setErrors] = useState<SubmitFormErrors>({});
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>(undefined);
  const [dryRun, setDryRun] = useState<DryRunJson | null>(null);
  const set = <K extends keyof SubmitForm>(key: K, value: SubmitForm[K]) => setForm((f) => ({ ...f, [key]: value }));
  const formRef = useFocusFirstProblem(errors);

  /** Validates, then sends the body to `path`; the answer, or undefined when the form or the API refused. */
  const send = async <T,>(path: string): Promise<T | undefined> => {
    const checked = submissionOf(form, needsOrg);
    setErrors(checked.ok ? {} : checked.errors);
    setFailure(undefined);
    if (!checked.ok) return undefined;
    setBusy(true);
    try {
      return await client.post<T>(path, checked.body);
    } catch (err) {
      setFailure(err);
      return undefined;
    } finally {
      setBusy(false);
    }
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const job = await send<JobJson>('/jobs');
    if (job !== undefined) navigate(pathOf({ page: 'job', id: job.id }));
  };
  const tryIt = async () => {
    setDryRun((await send<DryRunJson>('/jobs/dry-run')) ?? null);
  };

  return (
    <Page title={t('submit.title')}>
      <form ref={formRef} className="form" onSubmit={(e) => void submit(e)} noValidate>
        {Object.keys(errors).length > 0 ? (
          <div className="note note-error" role="alert">
            {t('submit.fixFields')}
          </div>
        ) : null}
        <Field label={t('submit.name')} error={errors.name}>
          {(props) => <input {...props} type="text" value={form.name} onChange={(e) => set('name', e.target.value)} />}
        </Field>
        {orgs === null ? (
          <p className="muted">{t('submit.forOwnOrg', { org: identity.orgId ?? '' })}</p>
        ) : (
          <Field label={t('common.org')} error={errors.org}>
            {(props) => (
              <select {...props} required value={form.org} onChange={(e) => set('org', e.target.value)}>
                <OrgOptions orgs={orgs} none={t('submit.pickOrg')} />
              </select>
            )}
          </Field>
        )}
        <div className="field-row">
          <Field label={t('pool.gpus')} error={errors.gpus}>
            {(props) => <input {...props} type="number" min={1} step={1} required inputMode="numeric" value={form.gpus} onChange={(e) => set('gpus', e.target.value)} />}
          </Field>
          <Field label={t('submit.gpuTypes')} error={errors.gpuTypes} help={t('submit.gpuTypesHelp')}>
            {(props) => <input {...props} type="text" value={form.gpuTypes} onChange={(e) => set('gpuTypes', e.target.value)} />}
          </Field>
          <Field label={t('submit.estimate')} error={errors.estimateMinutes}>
            {(props) => <input {...props} type="number" min={0} step="any" required inputMode="decimal" value={form.estimateMinutes} onChange={(e) => set('estimateMinutes', e.target.value)} />}
          </Field>
        </div>
        <Field label={t('submit.command')} error={errors.command} help={t('submit.commandHelp')}>
          {(props) => <input {...props} type="text" className="mono" spellCheck={false} value={form.command} onChange={(e) => set('command', e.target.value)} />}
        </Field>
        <div className="field-row">
          <Field label={t('job.priority')} error={errors.priority} help={t('submit.priorityHelp')}>
            {(props) => <input {...props} type="number" min={-1000} max={1000} step={1} value={form.priority} onChange={(e) => set('priority', e.target.value)} />}
          </Field>
          <Field label={t('job.retries')} error={errors.retries} help={t('submit.retriesHelp')}>
            {(props) => <input {...props} type="number" min={0} max={100} step={1} value={form.retries} onChange={(e) => set('retries', e.target.value)} />}
          </Field>
        </div>
        <fieldset className="checks">
          <legend>{t('submit.options')}</legend>
          <label>
            <input type="checkbox" checked={form.gang} onChange={(e) => set('gang', e.target.checked)} /> {t('submit.gang')}
          </label>
          <label>
            <input type="checkbox" checked={form.preemptible} onChange={(e) => set('preemptible', e.target.checked)} /> {t('submit.preemptible')}
          </label>
        </fieldset>
        {failure === undefined ? null : <ErrorNote error={failure} />}
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            {t('submit.submit')}
          </button>
          <button type="button" disabled={busy} onClick={() => void tryIt()}>
            {t('submit.dryRun')}
          </button>
        </div>
      </form>
      {dryRun === null ? null : (
        <section className="note" aria-labelledby="dry-run-title" aria-live="polite">
          <h2 id="dry-run-title">{t('submit.dryRunTitle')}</h2>
          <p>
            {dryRun.outcome === 'place'
              ? t('submit.wouldStart', { where: placementText(i18n, dryRun.placement, siteNames, identity.orgId ?? form.org) })
              : t('submit.wouldWait', { why: dryRun.diagnosis === null ? '—' : diagnosisText(i18n, dryRun.diagnosis) })}
          </p>
          {dryRun.would_preempt > 0 ? <p>{t('submit.wouldPreempt', { jobs: format.count(dryRun.would_preempt) })}</p> : null}
        </section>
      )}
    </Page>
  );
}
