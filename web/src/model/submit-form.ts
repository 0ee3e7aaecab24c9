import type { JobSubmitRequest } from '../api/types.ts';
import type { MessageKey } from '../i18n/catalog-en.ts';

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
  readonly gang: boolean;
  readonly preemptible: boolean;
}

/** A new form: gang and preemptible as the server's defaults have them (jobDefaults, src/model/job.ts). */
export const NEW_SUBMIT_FORM: SubmitForm = { name: '', org: '', gpus: '1', gpuTypes: '', estimateMinutes: '60', command: '', priority: '0', retries: '0', gang: true, preemptible: true };

export type SubmitFormErrors = Partial<Record<keyof SubmitForm, MessageKey>>;

/** The server's pattern for a GPU type id (schemas.ts GpuType). */
const GPU_TYPE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** An integer in [min, max] from what was typed, or undefined. */
function integerIn(text: string, min: number, max: number): number | undefined {
  const n = Number(text.trim());
  return text.trim() !== '' && Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

/**
 * The submission the form describes, or each field's problem in words the form
 * shows beside it. The bounds are the API's (JobSubmitBody), checked here so that
 * a typo is pointed at before anything is sent; the API checks them again.
 */
export function submissionOf(form: SubmitForm, needsOrg: boolean): { readonly ok: true; readonly body: JobSubmitRequest } | { readonly ok: false; readonly errors: SubmitFormErrors } {
  const errors: { -readonly [K in keyof SubmitForm]?: MessageKey } = {};
  const name = form.name.trim();
  if (name.length > 200) errors.name = 'submit.errorName';
  const org = form.org.trim();
  if (needsOrg && org === '') errors.org = 'submit.errorOrg';
  const gpus = integerIn(form.gpus, 1, 1_000_000);
  if (gpus === undefined) errors.gpus = 'submit.errorGpus';
  const gpuTypes = form.gpuTypes.split(/[\s,]+/).filter((s) => s !== '');
  if (gpuTypes.length > 32 || gpuTypes.some((g) => !GPU_TYPE.test(g))) errors.gpuTypes = 'submit.errorGpuTypes';
  const minutes = Number(form.estimateMinutes.trim());
  if (form.estimateMinutes.trim() === '' || !Number.isFinite(minutes) || minutes <= 0 || minutes * 60 > 1e9) errors.estimateMinutes = 'submit.errorEstimate';
  const priority = integerIn(form.priority, -1000, 1000);
  if (priority === undefined) errors.priority = 'submit.errorPriority';
  const retries = integerIn(form.retries, 0, 100);
  if (retries === undefined) errors.retries = 'submit.errorRetries';
  if (form.command.length > 4096) errors.command = 'submit.errorCommand';
  if (Object.keys(errors).length > 0 || gpus === undefined || priority === undefined || retries === undefined) return { ok: false, errors };

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
      gang: form.gang,
      preemptible: form.preemptible,
    },
  };
}
