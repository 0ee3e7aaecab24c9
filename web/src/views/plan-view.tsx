import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { ApiRequestError } from '../api/client.ts';
import type { PlanJson, PlanRequestJson, TrainPlanJson } from '../api/types.ts';
import { namedBarsSpec } from '../components/chart-specs.ts';
import { Field, useFocusFirstProblem } from '../components/field.tsx';
import { ErrorNote, Page } from '../components/page.tsx';
import { Table, type Column } from '../components/table.tsx';
import { VegaChart } from '../components/vega-chart.tsx';
import { useI18n } from '../i18n/i18n-context.tsx';
import { bucketGpuHours, trainPlanFigures, videoPlanFigures, type FigureRow, type FigureSection } from '../model/plan-figures.ts';
import { formFieldOf, NEW_MIX_BUCKET, NEW_PLAN_FORM, PLAN_GPUS, PLAN_MODELS, planRequestOf, withKind, type MixBucketForm, type PlanForm, type PlanFormErrors, type PlanKind } from '../model/plan-form.ts';
import { formOfPlan } from '../model/submit-form.ts';
import { useSession } from '../session-context.tsx';
import { openSubmitDraft } from './submit-view.tsx';

/**
 * The planner: what sampling one video, or training on a dataset mix, needs
 * (POST /plan, the same planner and defaults as `suanli plan video|train`), as the
 * CLI's tables of figures and a chart. Nothing is submitted here: "submit this
 * plan" opens the submit form filled in from the answer, for the user to review.
 */
export function PlanView() {
  const { t } = useI18n();
  const { client } = useSession();
  const [form, setForm] = useState<PlanForm>(NEW_PLAN_FORM);
  const [errors, setErrors] = useState<PlanFormErrors>({});
  const [failure, setFailure] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  /** The answer on screen, with the request it answers (what a job sized by it sends as its `plan`). */
  const [answered, setAnswered] = useState<{ readonly request: PlanRequestJson; readonly plan: PlanJson } | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const checked = planRequestOf(form);
    setErrors(checked.ok ? {} : checked.errors);
    setFailure(undefined);
    // A result answers the form as it was: once the form is refused (here or by the API) it is not left on screen.
    if (!checked.ok) {
      setAnswered(null);
      return;
    }
    setBusy(true);
    try {
      setAnswered({ request: checked.body, plan: await client.post<PlanJson>('/plan', checked.body) });
    } catch (err) {
      // The API names the input it refused: its words go next to that field.
      const field = err instanceof ApiRequestError ? formFieldOf(err.field, form.kind) : null;
      if (field !== null && err instanceof ApiRequestError) setErrors({ [field]: { message: err.message } });
      else setFailure(err);
      setAnswered(null);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Page title={t('plan.title')}>
      <p className="help">{t('plan.intro')}</p>
      <PlanFormView form={form} errors={errors} failure={failure} busy={busy} onChange={setForm} onSubmit={(e) => void submit(e)} />
      {answered === null ? null : <PlanResult plan={answered.plan} onSubmitPlan={() => openSubmitDraft(formOfPlan(answered.request, answered.plan))} />}
    </Page>
  );
}

/** The form itself, from its state: what the tests render. */
export function PlanFormView({ form, errors, failure, busy, onChange, onSubmit }: {
  readonly form: PlanForm;
  readonly errors: PlanFormErrors;
  readonly failure: unknown;
  readonly busy: boolean;
  readonly onChange: (form: PlanForm) => void;
  readonly onSubmit: (e: FormEvent) => void;
}) {
  const { t } = useI18n();
  const formRef = useFocusFirstProblem(errors);
  const set = <K extends keyof PlanForm>(key: K, value: PlanForm[K]) => onChange({ ...form, [key]: value });
  const setBucket = (i: number, bucket: MixBucketForm) => set('mix', form.mix.map((b, j) => (j === i ? bucket : b)));
  const number = (key: 'gpus' | 'fps' | 'price' | 'width' | 'height' | 'seconds' | 'frames' | 'steps' | 'efficiency' | 'window' | 'epochs' | 'mfu', label: string, help?: string) => (
    <Field label={label} error={errors[key]} {...(help === undefined ? {} : { help })}>
      {(props) => <input {...props} type="text" inputMode="decimal" value={form[key]} onChange={(e) => set(key, e.target.value)} />}
    </Field>
  );

  const choice = (key: 'model' | 'gpu', label: string, options: readonly string[]) => (
    <Field label={label} error={errors[key]}>
      {(props) => (
        <select {...props} value={form[key]} onChange={(e) => set(key, e.target.value)}>
          {options.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      )}
    </Field>
  );

  return (
    <form ref={formRef} className="form" onSubmit={onSubmit} noValidate aria-label={t('plan.title')}>
      {Object.keys(errors).length > 0 ? (
        <div className="note note-error" role="alert">
          {t('submit.fixFields')}
        </div>
      ) : null}
      <fieldset className="checks">
        <legend>{t('plan.kind')}</legend>
        {(['video', 'train'] as const satisfies readonly PlanKind[]).map((kind) => (
          <label key={kind}>
            <input type="radio" name="plan-kind" value={kind} checked={form.kind === kind} onChange={() => onChange(withKind(form, kind))} /> {t(kind === 'video' ? 'plan.kindVideo' : 'plan.kindTrain')}
          </label>
        ))}
      </fieldset>
      <div className="field-row">
        {choice('model', t('plan.model'), PLAN_MODELS)}
        {choice('gpu', t('common.gpuType'), PLAN_GPUS)}
        {number('gpus', t('pool.gpus'), t(form.kind === 'video' ? 'plan.gpusVideoHelp' : 'plan.gpusTrainHelp'))}
      </div>

      {form.kind === 'video' ? (
        <>
          <div className="field-row">
            {number('width', t('plan.width'), t('plan.sizeHelp'))}
            {number('height', t('plan.height'))}
          </div>
          <div className="field-row">
            {number('seconds', t('plan.seconds'), t('plan.lengthHelp'))}
            {number('frames', t('plan.frames'))}
            {number('fps', t('plan.fps'), t('plan.defaultHelp'))}
          </div>
          <div className="field-row">
            {number('steps', t('plan.steps'), t('plan.defaultHelp'))}
            {number('efficiency', t('plan.efficiency'), t('plan.efficiencyHelp'))}
            {number('window', t('plan.window'), t('plan.windowHelp'))}
          </div>
        </>
      ) : (
        <>
          <div className="field-row">
            {number('epochs', t('plan.epochs'))}
            {number('mfu', t('plan.mfu'), t('plan.mfuHelp'))}
            {number('fps', t('plan.fps'), t('plan.defaultHelp'))}
          </div>
          <fieldset className="mix" aria-describedby="plan-mix-help">
            <legend>{t('plan.mix')}</legend>
            <p id="plan-mix-help" className="help">
              {t('plan.mixHelp')}
            </p>
            {errors.mix === undefined ? null : <Problem problem={errors.mix} />}
            {form.mix.map((b, i) => (
              <BucketFields key={i} index={i} bucket={b} errors={errors} removable={form.mix.length > 1} onChange={(next) => setBucket(i, next)} onRemove={() => set('mix', form.mix.filter((_, j) => j !== i))} />
            ))}
            <button type="button" onClick={() => set('mix', [...form.mix, NEW_MIX_BUCKET])}>
              {t('plan.addBucket')}
            </button>
          </fieldset>
        </>
      )}
      {number('price', t('plan.price'), t('plan.priceHelp'))}
      {failure === undefined ? null : <ErrorNote error={failure} />}
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {t('plan.submit')}
        </button>
      </div>
    </form>
  );
}

function BucketFields({ index, bucket, errors, removable, onChange, onRemove }: {
  readonly index: number;
  readonly bucket: MixBucketForm;
  readonly errors: PlanFormErrors;
  readonly removable: boolean;
  readonly onChange: (bucket: MixBucketForm) => void;
  readonly onRemove: () => void;
}) {
  const { t } = useI18n();
  const n = index + 1;
  const number = (key: 'width' | 'height' | 'length' | 'clips', label: string) => (
    <Field label={label} error={errors[`mix.${index}.${key}`]}>
      {(props) => <input {...props} type="text" inputMode="decimal" value={bucket[key]} onChange={(e) => onChange({ ...bucket, [key]: e.target.value })} />}
    </Field>
  );
  return (
    <fieldset className="bucket">
      <legend>{t('plan.bucket', { n })}</legend>
      <div className="field-row">
        {number('width', t('plan.width'))}
        {number('height', t('plan.height'))}
        {number('length', t('plan.bucketLength'))}
        <Field label={t('plan.bucketUnit')} error={undefined}>
          {(props) => (
            <select {...props} value={bucket.unit} onChange={(e) => onChange({ ...bucket, unit: e.target.value === 'frames' ? 'frames' : 'seconds' })}>
              <option value="seconds">{t('plan.unitSeconds')}</option>
              <option value="frames">{t('plan.unitFrames')}</option>
            </select>
          )}
        </Field>
        {number('clips', t('plan.clips'))}
      </div>
      {removable ? (
        <button type="button" onClick={onRemove}>
          {t('plan.removeBucket', { n })}
        </button>
      ) : null}
    </fieldset>
  );
}

function Problem({ problem }: { readonly problem: PlanFormErrors[string] }) {
  const { t } = useI18n();
  return <p className="field-error">{typeof problem === 'string' ? t(problem) : 'message' in problem ? problem.message : t(problem.key, problem.vars)}</p>;
}

/**
 * The planner's answer: the headline, the chart, the tables of figures, the assumptions,
 * and submitting it (`onSubmitPlan`) when it fits. What the tests render.
 */
export function PlanResult({ plan, onSubmitPlan }: { readonly plan: PlanJson; readonly onSubmitPlan: () => void }) {
  const i18n = useI18n();
  const { t } = i18n;
  const heading = useRef<HTMLHeadingElement>(null);
  // A new answer takes the focus, so that a keyboard or screen-reader user lands on it.
  useEffect(() => heading.current?.focus(), [plan]);
  const figures = plan.schema === 'suanli.plan.video/1' ? videoPlanFigures(i18n, plan) : trainPlanFigures(i18n, plan);
  const chart = useMemo(() => {
    if (plan.schema === 'suanli.plan.video/1') {
      const bars = [
        { name: t('plan.chartLinear'), value: plan.flops_per_step_linear * plan.steps },
        { name: t('plan.chartAttention'), value: plan.flops_per_step_attention * plan.steps },
        { name: t('plan.vaeDecode'), value: plan.flops_vae_decode },
      ];
      return { title: t('plan.chartVideoTitle'), spec: namedBarsSpec(bars, { value: t('plan.chartFlops') }, t('plan.chartVideoDescription')) };
    }
    const bars = bucketGpuHours(plan).map((b) => ({ name: b.bucket, value: b.gpuHours }));
    return { title: t('plan.chartTrainTitle'), spec: namedBarsSpec(bars, { value: t('ledger.gpuHours') }, t('plan.chartTrainDescription')) };
  }, [plan, t]);
  const figureColumns = (section: FigureSection): readonly Column<FigureRow>[] => [
    { header: section.title, cell: (r) => r.label },
    { header: t('plan.value'), cell: (r) => r.value },
  ];

  return (
    <section className="plan-result" aria-labelledby="plan-result">
      <h2 id="plan-result" ref={heading} tabIndex={-1}>
        {t('plan.result')}
      </h2>
      <p className="plan-head">{figures.head}</p>
      {plan.fits ? (
        <div className="actions">
          <button type="button" className="primary" onClick={onSubmitPlan} aria-describedby="plan-submit-help">
            {t('plan.submitThis')}
          </button>
          <p id="plan-submit-help" className="help">
            {t('plan.submitThisHelp')}
          </p>
        </div>
      ) : (
        <p className="muted">{t('plan.cannotSubmit')}</p>
      )}
      {plan.schema === 'suanli.plan.train/1' ? <BucketTable plan={plan} /> : null}
      <VegaChart spec={chart.spec} title={chart.title} />
      <div className="two-columns">
        {figures.sections.map((s) => (
          <Table key={s.title} columns={figureColumns(s)} rows={s.rows} rowKey={(r) => r.label} scrollCue={t('common.scrollCue')} />
        ))}
      </div>
      <h3>{t('plan.assumptions')}</h3>
      <ul className="assumptions" lang="en">
        {plan.assumptions.map((a) => (
          <li key={a}>{a}</li>
        ))}
      </ul>
      <p className="muted small">{t('plan.cliHint', { command: plan.schema === 'suanli.plan.video/1' ? 'suanli plan video' : 'suanli plan train' })}</p>
    </section>
  );
}

function BucketTable({ plan }: { readonly plan: TrainPlanJson }) {
  const { t, format } = useI18n();
  const columns: readonly Column<TrainPlanJson['buckets'][number]>[] = [
    { header: t('plan.bucketSize'), cell: (b) => `${b.width}×${b.height}` },
    { header: t('plan.unitFrames'), cell: (b) => format.count(b.frames), numeric: true },
    { header: t('plan.unitSeconds'), cell: (b) => format.significant(b.seconds), numeric: true },
    { header: t('plan.clips'), cell: (b) => format.compact(b.clips), numeric: true },
    { header: t('plan.bucketTokens'), cell: (b) => format.count(b.sequence_tokens), numeric: true },
    { header: t('plan.flopsPerSample'), cell: (b) => format.flops(b.flops_per_sample), numeric: true },
    { header: t('plan.flopsShare'), cell: (b) => format.percentPrecise(b.flops_share), numeric: true },
  ];
  return <Table columns={columns} rows={plan.buckets} rowKey={(_, i) => i} caption={t('plan.mix')} scrollCue={t('common.scrollCue')} />;
}
