import type { PlanRequestJson } from '../api/types.ts';
import type { FieldProblem } from '../components/field.tsx';

/**
 * The planner's form (POST /api/v1/plan, the inputs of `suanli plan video|train`):
 * what was typed, checked against the API's bounds (PlanBody in src/server/schemas.ts)
 * before anything is sent, and the API's refusals put back on the field they name.
 */

/** The planner's video model presets and GPU types (src/plan; test/web-vocabulary.test.ts keeps these lists equal to the planner's). */
export const PLAN_MODELS = [
  'wan2.1-t2v-14b', 'wan2.1-t2v-1.3b', 'wan2.2-t2v-a14b', 'hunyuanvideo', 'cogvideox-5b', 'cogvideox1.5-5b', 'step-video-t2v', 'opensora-2.0', 'ltx-video-2b', 'mochi-1', 'moviegen-30b',
] as const;
export const PLAN_GPUS = ['h100', 'h800', 'h200', 'h20', 'a100', 'a800', 'ascend-910b', 'l20', 'rtx-4090'] as const;

export type PlanKind = 'video' | 'train';

/** One bucket of a training mix: clips of one size and length. */
export interface MixBucketForm {
  readonly width: string;
  readonly height: string;
  readonly length: string;
  /** What `length` counts: seconds or frames. */
  readonly unit: 'seconds' | 'frames';
  readonly clips: string;
}

/** The form as typed: strings, so that what was typed stays until it is valid. Empty optional fields take the planner's defaults. */
export interface PlanForm {
  readonly kind: PlanKind;
  readonly model: string;
  readonly gpu: string;
  readonly gpus: string;
  readonly fps: string;
  readonly price: string;
  // Sampling one video
  readonly width: string;
  readonly height: string;
  readonly seconds: string;
  readonly frames: string;
  readonly steps: string;
  readonly efficiency: string;
  readonly window: string;
  // Training on a mix
  readonly epochs: string;
  readonly mfu: string;
  readonly mix: readonly MixBucketForm[];
}

/** GPUs when left as they came: the CLI's defaults (one GPU samples a video; training is sized for a cluster). */
const DEFAULT_GPUS: Readonly<Record<PlanKind, string>> = { video: '1', train: '1024' };

export const NEW_MIX_BUCKET: MixBucketForm = { width: '1280', height: '720', length: '5', unit: 'seconds', clips: '1000000' };

export const NEW_PLAN_FORM: PlanForm = {
  kind: 'video', model: 'wan2.1-t2v-14b', gpu: 'h100', gpus: DEFAULT_GPUS.video, fps: '', price: '',
  width: '1280', height: '720', seconds: '5', frames: '', steps: '', efficiency: '', window: '',
  epochs: '1', mfu: '', mix: [NEW_MIX_BUCKET],
};

/** The form for the other kind of plan; the GPU count follows the kind's default unless the user changed it. */
export function withKind(form: PlanForm, kind: PlanKind): PlanForm {
  return { ...form, kind, gpus: form.gpus === DEFAULT_GPUS[form.kind] ? DEFAULT_GPUS[kind] : form.gpus };
}

/**
 * Where a field's problem shows: the form's own fields by name, and a mix bucket's
 * as `mix.<index>.<field>` (`mix.0.clips`); `mix` for the mix as a whole.
 */
export type PlanFormErrors = Readonly<Record<string, FieldProblem>>;

const MIX_MAX = 64;

/** The API request the form describes, or each field's problem. */
export function planRequestOf(form: PlanForm): { readonly ok: true; readonly body: PlanRequestJson } | { readonly ok: false; readonly errors: PlanFormErrors } {
  const errors: Record<string, FieldProblem> = {};
  const check = new Checker(errors);
  const common = {
    model: form.model,
    gpu: form.gpu,
    ...check.optional('fps', form.fps, (v) => check.positive('fps', v, 240)),
    ...check.optional('price_per_gpu_hour', form.price, (v) => check.positive('price', v, 1e6)),
  };
  if (form.kind === 'video') {
    if (form.seconds.trim() !== '' && form.frames.trim() !== '') errors.frames = 'plan.errorSecondsOrFrames';
    const body = {
      kind: 'video' as const,
      ...common,
      gpus: check.integer('gpus', form.gpus, 1, 1_000_000),
      ...check.optional('width', form.width, (v) => check.integer('width', v, 16, 16_384)),
      ...check.optional('height', form.height, (v) => check.integer('height', v, 16, 16_384)),
      ...check.optional('seconds', form.seconds, (v) => check.positive('seconds', v, 86_400)),
      ...check.optional('frames', form.frames, (v) => check.integer('frames', v, 1, 1_000_000)),
      ...check.optional('steps', form.steps, (v) => check.integer('steps', v, 1, 10_000)),
      ...check.optional('efficiency', form.efficiency, (v) => check.fraction('efficiency', v)),
      ...check.optional('window_s', form.window, (v) => check.positive('window', v, 86_400)),
    };
    return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, body };
  }
  if (form.mix.length === 0 || form.mix.length > MIX_MAX) errors.mix = { key: 'plan.errorMixSize', vars: { max: MIX_MAX } };
  const mix = form.mix.map((b, i) => {
    const length = b.unit === 'seconds' ? { seconds: check.positive(`mix.${i}.length`, b.length, 86_400) } : { frames: check.integer(`mix.${i}.length`, b.length, 1, 1_000_000) };
    return {
      width: check.integer(`mix.${i}.width`, b.width, 16, 16_384),
      height: check.integer(`mix.${i}.height`, b.height, 16, 16_384),
      ...length,
      clips: check.positive(`mix.${i}.clips`, b.clips, 1e13),
    };
  });
  const body = {
    kind: 'train' as const,
    ...common,
    gpus: check.integer('gpus', form.gpus, 1, 1_000_000),
    epochs: check.positive('epochs', form.epochs, 10_000),
    ...check.optional('mfu', form.mfu, (v) => check.fraction('mfu', v)),
    mix,
  };
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, body };
}

/** Reads numbers off the form, noting each field's problem; a bad value reads as 0 (the request is not sent then). */
class Checker {
  constructor(private readonly errors: Record<string, FieldProblem>) {}

  /** `{ [key]: value }` when `text` is not empty, else nothing (the planner's default). */
  optional<K extends string>(key: K, text: string, read: (text: string) => number): Partial<Record<K, number>> {
    return text.trim() === '' ? {} : ({ [key]: read(text) } as Partial<Record<K, number>>);
  }

  integer(field: string, text: string, min: number, max: number): number {
    const n = Number(text.trim());
    if (text.trim() !== '' && Number.isInteger(n) && n >= min && n <= max) return n;
    this.errors[field] = { key: 'plan.errorInteger', vars: { min, max } };
    return 0;
  }

  positive(field: string, text: string, max: number): number {
    const n = Number(text.trim());
    if (text.trim() !== '' && Number.isFinite(n) && n > 0 && n <= max) return n;
    this.errors[field] = { key: 'plan.errorPositive', vars: { max } };
    return 0;
  }

  fraction(field: string, text: string): number {
    const n = Number(text.trim());
    if (text.trim() !== '' && Number.isFinite(n) && n > 0 && n <= 1) return n;
    this.errors[field] = 'plan.errorFraction';
    return 0;
  }
}

/** The API's names for the form's fields where they differ (the planner names some by its CLI flags). */
const API_FIELD_NAMES: Readonly<Record<string, string>> = { price_per_gpu_hour: 'price', window_s: 'window', window: 'window', size: 'width' };

/**
 * The form field an API error names (`error.field`), or null when it names none the
 * form has: `price_per_gpu_hour` → `price`, `mix[2].clips` → `mix.2.clips`. In a
 * training plan the planner's complaints about a bucket's size or length (`size`,
 * `frames`, `seconds`) are about the mix.
 */
export function formFieldOf(apiField: string | undefined, kind: PlanKind): string | null {
  if (apiField === undefined || apiField === '') return null;
  const bucket = /^mix\[(\d+)\](?:\.(\w+))?$/.exec(apiField);
  if (bucket !== null) {
    const field = bucket[2] === 'seconds' || bucket[2] === 'frames' ? 'length' : bucket[2];
    return kind === 'train' && field !== undefined && ['width', 'height', 'length', 'clips'].includes(field) ? `mix.${bucket[1]}.${field}` : 'mix';
  }
  const name = API_FIELD_NAMES[apiField] ?? apiField;
  const fields = kind === 'video' ? VIDEO_FIELDS : TRAIN_FIELDS;
  if (fields.has(name)) return name;
  return kind === 'train' && ['size', 'frames', 'seconds', 'width', 'height', 'clips'].includes(apiField) ? 'mix' : null;
}

const COMMON_FIELDS = ['model', 'gpu', 'gpus', 'fps', 'price'];
const VIDEO_FIELDS: ReadonlySet<string> = new Set([...COMMON_FIELDS, 'width', 'height', 'seconds', 'frames', 'steps', 'efficiency', 'window']);
const TRAIN_FIELDS: ReadonlySet<string> = new Set([...COMMON_FIELDS, 'epochs', 'mfu', 'mix']);
