import { useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ApiRequestError } from '../api/client.ts';
import type { DryRunJson, JobJson } from '../api/types.ts';
import { Field, OrgOptions, useFocusFirstProblem } from '../components/field.tsx';
import { ErrorNote, Page } from '../components/page.tsx';
import { useI18n } from '../i18n/i18n-context.tsx';
import { diagnosisText, placementText } from '../i18n/labels.ts';
import { draftOf, NEW_SUBMIT_FORM, SPAN_BYTES_PER_PARAM, spanningMightHelp, SUBMIT_DRAFT_KEY, submissionOf, submitFieldOf, type SubmitForm, type SubmitFormErrors } from '../model/submit-form.ts';
import { navigate, pathOf } from '../router.tsx';
import { useSession } from '../session-context.tsx';
import { useOrgChoices } from '../use-org-choices.ts';
import { useSiteNames } from '../use-site-names.ts';

/**
 * Submitting a job: the form, a dry run (where it would start now, or why it
 * would wait; nothing is committed), and on success the new job's page.
 * `draft`: the form opens as another page of this tab left it (the planner's
 * "submit this plan"), and what is typed is kept there, so that a reload shows it again.
 */
export function SubmitView({ draft = false }: { readonly draft?: boolean }) {
  const { identity, client } = useSession();
  const orgs = useOrgChoices(client, identity);
  const siteNames = useSiteNames(client);
  const needsOrg = orgs !== null;
  const [kept] = useState(() => (draft ? draftOf(sessionStorage.getItem(SUBMIT_DRAFT_KEY)) : null));
  const [form, setForm] = useState<SubmitForm>(kept ?? NEW_SUBMIT_FORM);
  const [errors, setErrors] = useState<SubmitFormErrors>({});
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>(undefined);
  const [dryRun, setDryRun] = useState<DryRunJson | null>(null);
  /** Bumped when the dry run's offer opens the span fields: they take the focus then. */
  const [spanOffered, setSpanOffered] = useState(0);

  useEffect(() => {
    if (kept !== null) sessionStorage.setItem(SUBMIT_DRAFT_KEY, JSON.stringify(form));
  }, [kept, form]);

  /** Validates, then sends the body to `path`; the answer, or undefined when the form or the API refused. */
  const send = async <T,>(path: string): Promise<T | undefined> => {
    if (busy) return undefined;
    const checked = submissionOf(form, needsOrg);
    setErrors(checked.ok ? {} : checked.errors);
    setFailure(undefined);
    if (!checked.ok) return undefined;
    setBusy(true);
    try {
      return await client.post<T>(path, checked.body);
    } catch (err) {
      // The API names the input it refused: its words go next to that field.
      const field = err instanceof ApiRequestError ? submitFieldOf(err.field, form) : null;
      if (field !== null && err instanceof ApiRequestError) setErrors({ [field]: { message: err.message } });
      else setFailure(err);
      return undefined;
    } finally {
      setBusy(false);
    }
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const job = await send<JobJson>('/jobs');
    if (job === undefined) return;
    if (kept !== null) sessionStorage.removeItem(SUBMIT_DRAFT_KEY);
    navigate(pathOf({ page: 'job', id: job.id }));
  };
  const tryIt = async () => {
    setDryRun((await send<DryRunJson>('/jobs/dry-run')) ?? null);
  };
  const offerSpan = () => {
    setForm((f) => ({ ...f, span: true }));
    // The answer was about the form as it was.
    setDryRun(null);
    setSpanOffered((n) => n + 1);
  };

  return (
    <SubmitFormView
      form={form} errors={errors} failure={failure} busy={busy} orgs={orgs} draftGone={draft && kept === null} focusSpan={spanOffered}
      onChange={setForm} onSubmit={(e) => void submit(e)} onDryRun={() => void tryIt()}
    >
      {dryRun === null ? null : <DryRunResult dryRun={dryRun} siteNames={siteNames} jobOrg={identity.orgId ?? form.org} onSpan={form.span ? null : offerSpan} />}
    </SubmitFormView>
  );
}

/** Opens the submit form filled in as `form` (by another page: the planner, a job's): it waits in this tab's sessionStorage. */
export function openSubmitDraft(form: SubmitForm): void {
  sessionStorage.setItem(SUBMIT_DRAFT_KEY, JSON.stringify(form));
  navigate(pathOf({ page: 'submit', draft: true }));
}

/** The page from the form's state: what the tests render. `orgs`: the orgs the admin may pick (null: the caller's own). */
export function SubmitFormView({ form, errors, failure, busy, orgs, draftGone, focusSpan, onChange, onSubmit, onDryRun, children }: {
  readonly form: SubmitForm;
  readonly errors: SubmitFormErrors;
  readonly failure: unknown;
  readonly busy: boolean;
  readonly orgs: readonly string[] | null;
  readonly draftGone: boolean;
  /** Changes when the span fields should take the focus (0: never yet). */
  readonly focusSpan: number;
  readonly onChange: (form: SubmitForm) => void;
  readonly onSubmit: (e: FormEvent) => void;
  readonly onDryRun: () => void;
  /** The dry run's answer, under the form. */
  readonly children?: ReactNode;
}) {
  const { t } = useI18n();
  const { identity } = useSession();
  const formRef = useFocusFirstProblem(errors);
  const spanRef = useRef<HTMLFieldSetElement>(null);
  useEffect(() => {
    if (focusSpan > 0) spanRef.current?.querySelector<HTMLElement>('input')?.focus();
  }, [focusSpan]);
  const set = <K extends keyof SubmitForm>(key: K, value: SubmitForm[K]) => onChange({ ...form, [key]: value });
  const number = (key: NumberField, label: string, help: string) => (
    <Field label={label} error={errors[key]} help={help}>
      {(props) => <input {...props} type="text" inputMode="decimal" value={form[key]} onChange={(e) => set(key, e.target.value)} />}
    </Field>
  );

  return (
    <Page title={t('submit.title')}>
      {draftGone ? <p className="note">{t('submit.draftGone')}</p> : null}
      <form ref={formRef} className="form" onSubmit={onSubmit} noValidate aria-label={t('submit.title')}>
        {Object.keys(errors).length > 0 ? (
          <div className="note note-error" role="alert">
            {t('submit.fixFields')}
          </div>
        ) : null}
        {form.plan === null ? null : <PlanNote form={form} onDetach={() => set('plan', null)} />}
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
          {number('checkpointMinutes', t('submit.checkpoint'), t('submit.checkpointHelp'))}
        </div>
        <fieldset className="checks">
          <legend>{t('submit.options')}</legend>
          <label>
            <input type="checkbox" checked={form.gang} onChange={(e) => set('gang', e.target.checked)} /> {t('submit.gang')}
          </label>
          <label>
            <input type="checkbox" checked={form.preemptible} onChange={(e) => set('preemptible', e.target.checked)} /> {t('submit.preemptible')}
          </label>
          <label>
            <input type="checkbox" checked={form.span} onChange={(e) => set('span', e.target.checked)} /> {t('submit.spanToggle')}
          </label>
        </fieldset>
        {form.span ? (
          <fieldset className="span" ref={spanRef} aria-describedby="submit-span-intro">
            <legend>{t('submit.spanLegend')}</legend>
            <p id="submit-span-intro" className="help">
              {t('submit.spanIntro')}
            </p>
            <div className="field-row">
              {number('spanReplicaGpus', t('submit.spanReplica'), t('submit.spanReplicaHelp'))}
              {number('spanParamsBillions', t('submit.spanParams'), t('submit.spanParamsHelp'))}
              <Field label={t('submit.spanBytes')} error={errors.spanBytesPerParam} help={t('submit.spanBytesHelp')}>
                {(props) => (
                  <select {...props} value={form.spanBytesPerParam} onChange={(e) => set('spanBytesPerParam', e.target.value)}>
                    {SPAN_BYTES_PER_PARAM.map((b) => (
                      <option key={b} value={b}>
                        {t('submit.spanBytesOption', { bytes: b, format: NUMBER_FORMAT[b] })}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
            </div>
            <div className="field-row">
              {number('spanOuterStepSeconds', t('submit.spanOuter'), t('submit.spanOuterHelp'))}
              {number('spanHiddenSeconds', t('submit.spanHidden'), t('submit.spanHiddenHelp'))}
            </div>
            <div className="field-row">
              {number('spanMinEfficiencyPercent', t('submit.spanMinEfficiency'), t('submit.spanMinEfficiencyHelp'))}
              {number('spanMaxWaitMinutes', t('submit.spanWait'), t('submit.spanWaitHelp'))}
            </div>
          </fieldset>
        ) : null}
        {failure === undefined ? null : <ErrorNote error={failure} />}
        <div className="actions">
          {/* aria-disabled, not disabled, while a request is under way: a disabled button drops the keyboard focus to <body>. */}
          <button type="submit" className="primary" aria-disabled={busy}>
            {t('submit.submit')}
          </button>
          <button type="button" aria-disabled={busy} onClick={onDryRun}>
            {t('submit.dryRun')}
          </button>
        </div>
      </form>
      {children}
    </Page>
  );
}

/** The form's fields typed as free text and read as numbers. */
type NumberField = 'checkpointMinutes' | 'spanReplicaGpus' | 'spanParamsBillions' | 'spanOuterStepSeconds' | 'spanHiddenSeconds' | 'spanMinEfficiencyPercent' | 'spanMaxWaitMinutes';

/** The number formats of a synchronized parameter, by its bytes (technical names, the same in every language). */
const NUMBER_FORMAT: Readonly<Record<(typeof SPAN_BYTES_PER_PARAM)[number], string>> = { '4': 'fp32', '2': 'bf16', '1': 'int8', '0.5': 'int4' };

/** The planner's answer the form was filled from, and the way to submit without it. */
function PlanNote({ form, onDetach }: { readonly form: SubmitForm; readonly onDetach: () => void }) {
  const { t, format } = useI18n();
  const plan = form.plan;
  if (plan === null) return null;
  return (
    <div className="note">
      <p>{t('submit.fromPlan', { kind: t(plan.kind === 'video' ? 'submit.planVideo' : 'submit.planTrain'), model: plan.model, gpus: format.count(plan.gpus), gpu: plan.gpu, time: format.duration(plan.wallSeconds) })}</p>
      <button type="button" onClick={onDetach}>
        {t('submit.detachPlan')}
      </button>
    </div>
  );
}

/**
 * The dry run's answer. It takes the focus when it arrives, so that a keyboard or
 * screen-reader user lands on it. A job no single site can hold is offered to run
 * across sites (`onSpan`; null when it may already).
 */
export function DryRunResult({ dryRun, siteNames, jobOrg, onSpan }: { readonly dryRun: DryRunJson; readonly siteNames: ReadonlyMap<string, string>; readonly jobOrg: string; readonly onSpan: (() => void) | null }) {
  const i18n = useI18n();
  const { t, format } = i18n;
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [dryRun]);
  return (
    <section className={dryRun.outcome === 'place' ? 'note' : 'note note-wait'} aria-labelledby="dry-run-title">
      <h2 id="dry-run-title" ref={heading} tabIndex={-1}>
        {t('submit.dryRunTitle')}
      </h2>
      <p>
        {dryRun.outcome === 'place'
          ? t('submit.wouldStart', { where: placementText(i18n, dryRun.placement, siteNames, jobOrg) })
          : t('submit.wouldWait', { why: dryRun.diagnosis === null ? '—' : diagnosisText(i18n, dryRun.diagnosis) })}
      </p>
      {dryRun.would_preempt > 0 ? <p>{t('submit.wouldPreempt', { jobs: format.count(dryRun.would_preempt) })}</p> : null}
      {onSpan !== null && spanningMightHelp(dryRun.diagnosis) ? (
        <>
          <p>{t('submit.neverAlone')}</p>
          <button type="button" onClick={onSpan}>
            {t('submit.offerSpan')}
          </button>
        </>
      ) : null}
    </section>
  );
}
