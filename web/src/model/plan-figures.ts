import type { TrainPlanJson, VideoPlanJson } from '../api/types.ts';
import type { I18n } from '../i18n/i18n-context.tsx';

/**
 * The planner's answer as the figures `suanli plan video|train` prints, section by
 * section, in the chosen language: a headline, then (label, value) rows. Pure, so
 * that the figures are tested without a browser.
 */
export interface FigureRow {
  readonly label: string;
  readonly value: string;
}

export interface FigureSection {
  readonly title: string;
  readonly rows: readonly FigureRow[];
}

export interface PlanFigures {
  readonly head: string;
  readonly sections: readonly FigureSection[];
}

type Words = Pick<I18n, 't' | 'format'>;

const row = (label: string, value: string): FigureRow => ({ label, value });

function cost({ t, format }: Words, cost: number | null): string {
  return cost === null ? t('plan.noCost') : format.amount(cost);
}

export function videoPlanFigures(words: Words, p: VideoPlanJson): PlanFigures {
  const { t, format } = words;
  const n = format.count.bind(format);
  const fitting = (text: string, fits: boolean) => (fits ? text : t('plan.doesNotFit', { text }));
  const head = t('plan.videoHead', {
    model: p.model_name, width: p.width, height: p.height, frames: n(p.frames), seconds: format.significant(p.seconds), fps: format.significant(p.fps),
    steps: n(p.steps), passes: n(p.passes_per_step), gpus: n(p.gpus), gpu: p.gpu_name,
  });
  return {
    head,
    sections: [
      {
        title: t('plan.sectionTokens'),
        rows: [
          row(t('plan.latentFrames'), n(p.latent_frames)),
          row(t('plan.tokensPerLatentFrame'), n(p.tokens_per_latent_frame)),
          row(t('plan.videoTokens'), n(p.video_tokens)),
          row(t('plan.textTokens'), n(p.text_tokens)),
          row(t('plan.sequence'), p.attention === 'window' ? t('plan.sequenceWindow', { tokens: n(p.sequence_tokens), seconds: format.significant(p.window_seconds ?? 0) }) : t('plan.sequenceFull', { tokens: n(p.sequence_tokens) })),
        ],
      },
      {
        title: t('plan.sectionCompute'),
        rows: [
          row(t('plan.params'), t('plan.paramsValue', { params: format.compact(p.params), perToken: format.compact(p.params_per_token) })),
          row(t('plan.flopsLinear'), format.flops(p.flops_per_step_linear)),
          row(t('plan.flopsAttention'), format.flops(p.flops_per_step_attention)),
          row(t('plan.attentionShare'), format.percentPrecise(p.attention_share)),
          row(t('plan.flopsSteps'), format.flops(p.flops_dit)),
          row(t('plan.flopsVae'), format.flops(p.flops_vae_decode)),
          row(t('plan.flopsTotal'), format.flops(p.flops_total)),
        ],
      },
      {
        title: t('plan.sectionMemory'),
        rows: [
          row(t('plan.weights'), format.bytes(p.weights_bytes)),
          row(t('plan.activationsFlash'), format.bytes(p.activation_bytes_flash)),
          row(t('plan.activationsNoFlash'), format.bytes(p.activation_bytes_no_flash)),
          row(t('plan.perGpu', { gpus: n(p.gpus) }), fitting(t('plan.ofMemory', { used: format.bytes(p.memory_bytes_per_gpu), total: format.bytes(p.gpu_memory_bytes) }), p.fits)),
          row(t('plan.perGpuNoFlash', { gpus: n(p.gpus) }), fitting(format.bytes(p.memory_bytes_per_gpu_no_flash), p.fits_no_flash)),
          row(t('plan.fewestGpus'), t(p.min_gpus_shards_weights ? 'plan.fewestSharded' : 'plan.fewestValue', { gpus: n(p.min_gpus), noFlash: n(p.min_gpus_no_flash) })),
        ],
      },
      {
        title: t('plan.sectionTime', { gpus: n(p.gpus), gpu: p.gpu }),
        rows: [
          row(t('plan.efficiency'), format.percentPrecise(p.efficiency)),
          row(t('plan.computeTime'), format.duration(p.compute_seconds)),
          row(t('plan.communication'), format.duration(p.communication_seconds)),
          row(t('plan.vaeDecode'), format.duration(p.vae_decode_seconds)),
          row(t('plan.wallTime'), format.duration(p.wall_seconds)),
          row(t('plan.lowerBound'), format.duration(p.compute_lower_bound_seconds)),
          row(t('plan.gpuTime'), t('plan.gpuTimeVideo', { seconds: n(p.gpu_seconds), hours: format.significant(p.gpu_hours) })),
          row(t('plan.energy'), t('plan.kwh', { value: format.significant(p.energy_kwh) })),
          row(t('plan.cost'), cost(words, p.cost)),
        ],
      },
    ],
  };
}

export function trainPlanFigures(words: Words, p: TrainPlanJson): PlanFigures {
  const { t, format } = words;
  const n = format.count.bind(format);
  const head = t('plan.trainHead', { model: p.model, samples: format.compact(p.samples_total), epochs: format.significant(p.epochs), gpus: n(p.gpus), gpu: p.gpu, mfu: format.percentPrecise(p.mfu) });
  return {
    head,
    sections: [
      {
        title: t('plan.sectionCompute'),
        rows: [
          row(t('plan.flopsTotal'), format.flops(p.flops_total)),
          row(t('plan.gpuTime'), t('plan.gpuHours', { hours: p.gpu_hours < 1000 ? format.significant(p.gpu_hours) : n(p.gpu_hours) })),
          row(t('plan.calendarTime', { gpus: n(p.gpus) }), format.duration(p.wall_days * 86_400)),
          row(t('plan.energy'), t('plan.kwh', { value: n(p.energy_kwh) })),
          row(t('plan.cost'), cost(words, p.cost)),
        ],
      },
      {
        title: t('plan.sectionLayout'),
        rows: [
          row(t('plan.fits'), p.fits ? t('common.yes') : t('plan.fitsNo', { reason: p.no_fit_reason ?? '' })),
          row(t('plan.parallelism'), t('plan.parallelismValue', { tensor: n(p.tensor_parallel), context: n(p.context_parallel), data: n(p.data_parallel) })),
          row(t('plan.longestSample'), t('plan.tokens', { tokens: n(p.max_sequence_tokens) })),
          row(t('plan.modelStates'), format.bytes(p.memory_model_states_bytes_per_gpu)),
          row(t('plan.activations'), format.bytes(p.memory_activations_bytes_per_gpu)),
          row(t('plan.total'), t('plan.ofMemory', { used: format.bytes(p.memory_bytes_per_gpu), total: format.bytes(p.gpu_memory_bytes) })),
        ],
      },
    ],
  };
}

/** GPU-hours per bucket of a training mix (its share of the FLOPs of the whole), for the chart. */
export function bucketGpuHours(p: TrainPlanJson): { readonly bucket: string; readonly gpuHours: number }[] {
  return p.buckets.map((b, i) => ({ bucket: `${i + 1}: ${b.width}×${b.height}, ${b.frames}f`, gpuHours: b.flops_share * p.gpu_hours }));
}
