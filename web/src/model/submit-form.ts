import type { DiagnosisJson, JobJson, JobSubmitRequest, PlanJson, PlanRequestJson } from '../api/types.ts';
import type { FieldProblem } from '../components/field.tsx';

/**
 * The submit form (POST /api/v1/jobs and /jobs/dry-run, the flags of `suanli job
 * submit`): what was typed, checked against the API's bounds (JobSubmitBody and
 * SpanBody in src/server/schemas.ts) before anything is sent, the API's refusals put
 * back on the field they name, and the form a planner's answer fills in.
 */

/** A planner's answer the job is sized from: its request goes with the submission (`plan`), the rest is what the form says of it. */
export interface AttachedPlan {
  readonly request: PlanRequestJson;
  readonly kind: 'video' | 'train';
  readonly model: string;
  readonly gpus: number;
  readonly gpu: string;
  readonly wallSeconds: number;
}

/** The submit form as typed: strings for the number fields, so that what the user typed stays until it is valid. */
export interface SubmitForm {
  readonly name: string;
  /** The org to submit for: the admin picks one; others submit for their own (the field is not shown). */
  readonly org: string;
  readonly gpus: string;
  /** GPU types, separated by commas or spaces; empty for any type. */
  readonly gpuTypes: string;
  readonly estimateMinutes: string;
  /** One shell command line, run as `sh -c <command>`; empty for none. */
  readonly command: string;
  readonly priority: string;
  readonly retries: string;
  /** Minutes between the job's checkpoints; empty: it never checkpoints (preemption loses all its work). */
  readonly checkpointMinutes: string;
  readonly gang: boolean;
  readonly preemptible: boolean;
  /** Whether the job may run across sites; the span fields below count only then. */
  readonly span: boolean;
  readonly spanReplicaGpus: string;
  /** Model parameters, in billions: a synchronization moves parameters × bytes per parameter. */
  readonly spanParamsBillions: string;
  /** One of SPAN_BYTES_PER_PARAM. */
  readonly spanBytesPerParam: string;
  readonly spanOuterStepSeconds: string;
  readonly spanHiddenSeconds: string;
  readonly spanMinEfficiencyPercent: string;
  readonly spanMaxWaitMinutes: string;
  /** The planner's answer the job is sized from; null for none. */
  readonly plan: AttachedPlan | null;
}

/**
 * The server's defaults, shown in the form as the values sent: a checkpoint every hour
 * (jobDefaults, src/model/job.ts) and SpanBody's (src/server/schemas.ts);
 * test/web-submit.test.ts holds these to the server's.
 */
export const SERVER_DEFAULTS = { checkpointIntervalS: 3600, bytesPerParam: 1, hiddenS: 0, minEfficiency: 0.8, maxSingleSiteWaitS: 3600 } as const;

/** Bytes per parameter of the synchronized pseudo-gradient a span may name: fp32, bf16, int8, 4-bit. */
export const SPAN_BYTES_PER_PARAM = ['4', '2', '1', '0.5'] as const;

/** A new form: gang, preemptible and the rest as the server's defaults have them. */
export const NEW_SUBMIT_FORM: SubmitForm = {
  name: '', org: '', gpus: '1', gpuTypes: '', estimateMinutes: '60', command: '', priority: '0', retries: '0',
  checkpointMinutes: String(SERVER_DEFAULTS.checkpointIntervalS / 60), gang: true, preemptible: true,
  span: false, spanReplicaGpus: '', spanParamsBillions: '', spanBytesPerParam: String(SERVER_DEFAULTS.bytesPerParam), spanOuterStepSeconds: '',
  spanHiddenSeconds: String(SERVER_DEFAULTS.hiddenS), spanMinEfficiencyPercent: String(SERVER_DEFAULTS.minEfficiency * 100), spanMaxWaitMinutes: String(SERVER_DEFAULTS.maxSingleSiteWaitS / 60),
  plan: null,
};

export type SubmitFormErrors = Partial<Record<keyof SubmitForm, FieldProblem>>;

/** The server's pattern for a GPU type id (schemas.ts GpuType). */
const GPU_TYPE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** An integer in [min, max] from what was typed, or undefined. */
export function integerIn(text: string, min: number, max: number): number | undefined {
  const n = Number(text.trim());
  return text.trim() !== '' && Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

/** A number in (min, max] (or [min, max] when `orEqual`) from what was typed, or undefined. */
export function numberIn(text: string, min: number, max: number, orEqual = false): number | undefined {
  const n = Number(text.trim());
  return text.trim() !== '' && Number.isFinite(n) && (orEqual ? n >= min : n > min) && n <= max ? n : undefined;
}

/**
 * The submission the form describes, or each field's problem in words the form
 * shows beside it. The bounds are the API's (JobSubmitBody, SpanBody), checked here
 * so that a typo is pointed at before anything is sent; the API checks them again.
 */
export function submissionOf(form: SubmitForm, needsOrg: boolean): { readonly ok: true; readonly body: JobSubmitRequest } | { readonly ok: false; readonly errors: SubmitFormErrors } {
  const errors: { -readonly [K in keyof SubmitForm]?: FieldProblem } = {};
  const name = form.name.trim();
  if (name.length > 200) errors.name = 'submit.errorName';
  const org = form.org.trim();
  if (needsOrg && org === '') errors.org = 'submit.errorOrg';
  const gpus = integerIn(form.gpus, 1, 1_000_000);
  if (gpus === undefined) errors.gpus = 'submit.errorGpus';
  const gpuTypes = form.gpuTypes.split(/[\s,]+/).filter((s) => s !== '');
  if (gpuTypes.length > 32 || gpuTypes.some((g) => !GPU_TYPE.test(g))) errors.gpuTypes = 'submit.errorGpuTypes';
  const minutes = numberIn(form.estimateMinutes, 0, 1e9 / 60);
  if (minutes === undefined) errors.estimateMinutes = 'submit.errorEstimate';
  const priority = integerIn(form.priority, -1000, 1000);
  if (priority === undefined) errors.priority = 'submit.errorPriority';
  const retries = integerIn(form.retries, 0, 100);
  if (retries === undefined) errors.retries = 'submit.errorRetries';
  const checkpointMinutes = form.checkpointMinutes.trim() === '' ? null : numberIn(form.checkpointMinutes, 0, 1e9 / 60);
  if (checkpointMinutes === undefined) errors.checkpointMinutes = 'submit.errorCheckpoint';
  if (form.command.length > 4096) errors.command = 'submit.errorCommand';
  const span = form.span ? spanOf(form, gpus, errors) : undefined;
  if (Object.keys(errors).length > 0 || gpus === undefined || minutes === undefined || priority === undefined || retries === undefined || checkpointMinutes === undefined) return { ok: false, errors };

  const command = form.command.trim();
  return {
    ok: true,
    body: {
      name,
      ...(needsOrg ? { org_id: org } : {}),
      gpus,
      gpu_types: gpuTypes.length === 0 ? null : gpuTypes,
      estimate_s: minutes * 60,
      command: command === '' ? null : ['sh', '-c', command],
      priority,
      max_retries: retries,
      checkpoint_interval_s: checkpointMinutes === null ? null : checkpointMinutes * 60,
      gang: form.gang,
      preemptible: form.preemptible,
      ...(span === undefined ? {} : { span }),
      ...(form.plan === null ? {} : { plan: form.plan.request }),
    },
  };
}

/** The API's span body from the span fields, noting each field's problem in `errors` (then what it returns is not sent). */
function spanOf(form: SubmitForm, gpus: number | undefined, errors: { -readonly [K in keyof SubmitForm]?: FieldProblem }): NonNullable<JobSubmitRequest['span']> {
  const replica = integerIn(form.spanReplicaGpus, 1, 1_000_000);
  if (replica === undefined) errors.spanReplicaGpus = 'submit.errorGpus';
  else if (gpus !== undefined && gpus % replica !== 0) errors.spanReplicaGpus = { key: 'submit.errorSpanWhole', vars: { gpus } };
  const params = numberIn(form.spanParamsBillions, 0, 1e6);
  if (params === undefined) errors.spanParamsBillions = 'submit.errorSpanParams';
  const bytes = (SPAN_BYTES_PER_PARAM as readonly string[]).includes(form.spanBytesPerParam) ? Number(form.spanBytesPerParam) : undefined;
  if (bytes === undefined) errors.spanBytesPerParam = 'submit.errorSpanBytes';
  const outer = numberIn(form.spanOuterStepSeconds, 0, 1e7);
  if (outer === undefined) errors.spanOuterStepSeconds = 'submit.errorSpanOuter';
  const hidden = numberIn(form.spanHiddenSeconds, 0, 1e7, true);
  if (hidden === undefined) errors.spanHiddenSeconds = 'submit.errorSpanHidden';
  const efficiency = numberIn(form.spanMinEfficiencyPercent, 0, 100);
  if (efficiency === undefined) errors.spanMinEfficiencyPercent = 'submit.errorSpanEfficiency';
  const wait = numberIn(form.spanMaxWaitMinutes, 0, 1e9 / 60, true);
  if (wait === undefined) errors.spanMaxWaitMinutes = 'submit.errorSpanWait';
  return {
    replica_gpus: replica ?? 1, params: (params ?? 0) * 1e9, bytes_per_param: bytes ?? 1, outer_step_s: outer ?? 0, hidden_s: hidden ?? 0,
    min_efficiency: (efficiency ?? 0) / 100, max_single_site_wait_s: (wait ?? 0) * 60,
  };
}

/** The form fields the API's names stand for (`error.field`), where the API names one the form has. */
const API_FIELDS: Readonly<Record<string, keyof SubmitForm>> = {
  name: 'name', org_id: 'org', gpus: 'gpus', gpu_types: 'gpuTypes', estimate_s: 'estimateMinutes', command: 'command', priority: 'priority', max_retries: 'retries',
  checkpoint_interval_s: 'checkpointMinutes', 'span.replica_gpus': 'spanReplicaGpus', 'span.params': 'spanParamsBillions', 'span.bytes_per_param': 'spanBytesPerParam',
  'span.outer_step_s': 'spanOuterStepSeconds', 'span.hidden_s': 'spanHiddenSeconds', 'span.min_efficiency': 'spanMinEfficiencyPercent', 'span.max_single_site_wait_s': 'spanMaxWaitMinutes',
};

/**
 * The form field an API error names, or null when it names none the form shows:
 * `gpu_types[1]` → `gpuTypes`, `span.outer_step_s` → `spanOuterStepSeconds`. The
 * attached plan's (`plan.gpus`) have no field: the page shows them as a failure.
 */
export function submitFieldOf(apiField: string | undefined, form: SubmitForm): keyof SubmitForm | null {
  if (apiField === undefined) return null;
  const field = API_FIELDS[apiField.replace(/\[\d+\]$/, '')];
  return field === undefined || (field.startsWith('span') && !form.span) ? null : field;
}

/**
 * Whether running across sites could place a job the scheduler says no site can ever
 * hold: some site rules it out only by its size or by what its owner lends (each site
 * takes whole replicas of a spanning job), and the job does not span already.
 */
export function spanningMightHelp(d: DiagnosisJson | null): boolean {
  if (d === null || !d.never || d.span !== undefined) return false;
  return ['site_too_small', 'lend_limit', 'borrower_limit'].some((r) => (d.reasons[r] ?? 0) > 0);
}

/** The form sized by a planner's answer to `request`: its GPUs and type, its run time (rounded up to a tenth of a minute), and the plan sent along. */
export function formOfPlan(request: PlanRequestJson, answer: PlanJson): SubmitForm {
  return {
    ...NEW_SUBMIT_FORM,
    name: answer.model,
    gpus: String(answer.gpus),
    gpuTypes: answer.gpu,
    estimateMinutes: String(Math.ceil(answer.wall_seconds / 6) / 10),
    plan: { request, kind: request.kind, model: answer.model, gpus: answer.gpus, gpu: answer.gpu, wallSeconds: answer.wall_seconds },
  };
}

/**
 * The form for submitting `job` again, able to run across sites (its span options
 * open, to be filled in): its demand as it was; not its plan, which the form would
 * have to re-run to describe.
 */
export function formOfJob(job: JobJson): SubmitForm {
  const c = job.command;
  return {
    ...NEW_SUBMIT_FORM,
    name: job.name, org: job.org_id, gpus: String(job.gpus), gpuTypes: (job.gpu_types ?? []).join(', '), estimateMinutes: String(job.estimate_s / 60),
    command: c === null ? '' : c.length === 3 && c[0] === 'sh' && c[1] === '-c' ? (c[2] ?? '') : shellLine(c),
    priority: String(job.priority), retries: String(job.max_retries), checkpointMinutes: job.checkpoint_interval_s === null ? '' : String(job.checkpoint_interval_s / 60),
    gang: job.gang, preemptible: job.preemptible, span: true,
  };
}

/** A command as one shell line, each word quoted where a shell would need it: `sh -c` runs the line as the words. */
export function shellLine(command: readonly string[]): string {
  return command.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`)).join(' ');
}

/** Where the form waits in this tab's sessionStorage between the page that prepares it (the planner) and the submit page. */
export const SUBMIT_DRAFT_KEY = 'suanli:submit-draft';

/**
 * A draft kept as JSON, read back: the form, or null when there is none or it is not
 * one (written by another version of the dashboard, or by hand). What is kept is only
 * ever filled into the form, for the user to review; the API checks what is sent.
 */
export function draftOf(text: string | null): SubmitForm | null {
  if (text === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  for (const [key, fresh] of Object.entries(NEW_SUBMIT_FORM)) {
    if (key !== 'plan' && typeof v[key] !== typeof fresh) return null;
  }
  // Only the form's own keys are taken.
  return v.plan === null || isAttachedPlan(v.plan) ? (Object.fromEntries(Object.keys(NEW_SUBMIT_FORM).map((k) => [k, v[k]])) as unknown as SubmitForm) : null;
}

function isAttachedPlan(p: unknown): p is AttachedPlan {
  if (typeof p !== 'object' || p === null) return false;
  const a = p as Record<string, unknown>;
  const request = a.request as Record<string, unknown> | null | undefined;
  return (a.kind === 'video' || a.kind === 'train') && typeof request === 'object' && request !== null && request.kind === a.kind && typeof a.model === 'string' && typeof a.gpu === 'string' && typeof a.gpus === 'number' && typeof a.wallSeconds === 'number';
}
