import { InvalidInputError } from '../model/errors.ts';
import type { GpuSpec } from './gpu-catalog.ts';
import { BYTES_PER_PARAM_BF16, USABLE_MEMORY_FRACTION, forwardFlops, framesForSeconds, videoTokens } from './video-cost.ts';
import type { VideoModelSpec } from './video-models.ts';
import { fraction, positiveInteger, positiveNumber } from './validate.ts';

/**
 * Cost model for training a video DiT on a dataset mix.
 *
 * Per sample: 3× the forward linear FLOPs (forward + backward) plus 3.5× the forward
 * attention FLOPs (FlashAttention's accounting for backward = 2.5× forward), one pass
 * (no guidance during training); activation recomputation is not counted, as MFU
 * conventionally excludes it. Model states take 16 bytes per parameter (BF16 weights
 * and gradients, FP32 master weights and two Adam moments), sharded ZeRO-3 / FSDP over
 * all GPUs; activations are checkpointed at layer boundaries and split by tensor and
 * context (sequence) parallelism.
 */

export const MODEL_STATE_BYTES_PER_PARAM = 16;
const TENSOR_PARALLEL_CHOICES = [1, 2, 4, 8];

/** One bucket of the dataset: `clips` clips of this size and length. */
export interface MixBucket {
  readonly width: number;
  readonly height: number;
  readonly frames?: number;
  readonly seconds?: number;
  readonly clips: number;
}

export interface TrainRequest {
  readonly model: VideoModelSpec;
  readonly gpu: GpuSpec;
  readonly gpus: number;
  readonly fps: number;
  readonly mix: readonly MixBucket[];
  readonly epochs: number;
  /** Model FLOPs utilization; defaults to the GPU's catalog efficiency. */
  readonly mfu?: number;
  readonly pricePerGpuHour?: number;
}

export interface TrainBucketPlan {
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  readonly seconds: number;
  readonly clips: number;
  readonly sequence_tokens: number;
  readonly flops_per_sample: number;
  readonly flops_total: number;
  readonly flops_share: number;
}

/** The stable JSON shape of `suanli plan train --json` (schema suanli.plan.train/1). */
export interface TrainPlan {
  readonly schema: 'suanli.plan.train/1';
  readonly model: string;
  readonly gpu: string;
  readonly gpus: number;
  readonly mfu: number;
  readonly epochs: number;
  readonly buckets: readonly TrainBucketPlan[];
  readonly samples_total: number;
  readonly flops_total: number;
  readonly gpu_hours: number;
  readonly wall_seconds: number;
  readonly wall_days: number;
  readonly energy_kwh: number;
  readonly price_per_gpu_hour: number | null;
  readonly cost: number | null;
  readonly max_sequence_tokens: number;
  readonly fits: boolean;
  /** Why no layout fits, or null when one does. */
  readonly no_fit_reason: string | null;
  readonly tensor_parallel: number;
  readonly context_parallel: number;
  readonly data_parallel: number;
  readonly memory_model_states_bytes_per_gpu: number;
  readonly memory_activations_bytes_per_gpu: number;
  readonly memory_bytes_per_gpu: number;
  readonly gpu_memory_bytes: number;
  readonly assumptions: readonly string[];
}

/** Per-GPU activation memory for one sample of S tokens split over tp × cp GPUs. */
function activationBytes(model: VideoModelSpec, S: number, split: number): number {
  const d = model.hidden;
  const checkpoints = model.layers * S * d * BYTES_PER_PARAM_BF16;
  const workingLayer = 2 * S * (5 * d + model.ffn * (model.ffnGated ? 2 : 1)) * BYTES_PER_PARAM_BF16;
  return (checkpoints + workingLayer) / split;
}

/**
 * One training sample of a mix bucket: its frames, attention sequence and FLOPs
 * (3 × forward linear + 3.5 × forward attention, one pass). `plan train` and
 * `plan span` both count a sample this way.
 */
export function trainingSample(model: VideoModelSpec, b: MixBucket, fps: number): Omit<TrainBucketPlan, 'flops_total' | 'flops_share'> {
  positiveNumber('mix', b.clips);
  if ((b.frames === undefined) === (b.seconds === undefined)) throw new InvalidInputError('mix', 'each bucket needs exactly one of frames and seconds', 'WxH:5s:CLIPS or WxH:81f:CLIPS');
  const frames = b.frames ?? framesForSeconds(model, b.seconds ?? 0, fps);
  const tokens = videoTokens(model, b.width, b.height, frames);
  const fwd = forwardFlops(model, tokens, tokens.sequence_tokens);
  return { width: b.width, height: b.height, frames, seconds: frames / fps, clips: b.clips, sequence_tokens: tokens.sequence_tokens, flops_per_sample: 3 * fwd.linear + 3.5 * fwd.attention };
}

export function planTrain(req: TrainRequest): TrainPlan {
  const { model, gpu } = req;
  positiveInteger('gpus', req.gpus);
  positiveNumber('epochs', req.epochs);
  positiveNumber('fps', req.fps);
  const mfu = fraction('mfu', req.mfu ?? gpu.efficiency);
  if (req.pricePerGpuHour !== undefined) positiveNumber('price-per-gpu-hour', req.pricePerGpuHour);
  if (req.mix.length === 0) throw new InvalidInputError('mix', 'the dataset mix is empty', 'one or more buckets WxH:SECONDSs:CLIPS, e.g. 1280x720:5s:1000000');

  const buckets = req.mix.map((b) => {
    const sample = trainingSample(model, b, req.fps);
    return { ...sample, flops_total: sample.flops_per_sample * b.clips * req.epochs };
  });
  const flopsTotal = buckets.reduce((s, b) => s + b.flops_total, 0);
  const gpuSeconds = flopsTotal / (gpu.peakFlops * mfu);
  const wallSeconds = gpuSeconds / req.gpus;
  const price = req.pricePerGpuHour ?? null;
  const maxS = Math.max(...buckets.map((b) => b.sequence_tokens));

  // Layout: the smallest tensor × context split whose activations fit beside the sharded model states.
  const usable = gpu.memoryBytes * USABLE_MEMORY_FRACTION;
  const states = (MODEL_STATE_BYTES_PER_PARAM * model.params) / req.gpus;
  const gatheredLayer = (2 * BYTES_PER_PARAM_BF16 * model.params) / model.layers;
  const candidates: { tp: number; cp: number }[] = [];
  for (const tp of TENSOR_PARALLEL_CHOICES) {
    if (tp > gpu.gpusPerNode || model.heads % tp !== 0) continue;
    for (let cp = 1; tp * cp <= req.gpus; cp *= 2) {
      if (req.gpus % (tp * cp) === 0) candidates.push({ tp, cp });
    }
  }
  candidates.sort((a, b) => a.tp * a.cp - b.tp * b.cp || a.tp - b.tp);
  const memoryOf = (c: { tp: number; cp: number }) => states + gatheredLayer + activationBytes(model, maxS, c.tp * c.cp);
  const chosen = candidates.find((c) => memoryOf(c) <= usable);
  const shown = chosen ?? candidates[candidates.length - 1] ?? { tp: 1, cp: 1 };
  const memory = memoryOf(shown);
  const GB = 1e9;
  const noFitReason = chosen
    ? null
    : states + gatheredLayer > usable
      ? `model states alone need ${(states / GB).toFixed(1)} GB per GPU on ${req.gpus} GPUs (${MODEL_STATE_BYTES_PER_PARAM} bytes × ${model.params / 1e9}B parameters ÷ ${req.gpus}); ${gpu.id} has ${(usable / GB).toFixed(1)} GB usable: use at least ${Math.ceil((MODEL_STATE_BYTES_PER_PARAM * model.params) / (usable - gatheredLayer))} GPUs`
      : `activations of a ${maxS}-token sample need ${(activationBytes(model, maxS, 1) / GB).toFixed(1)} GB; the widest split possible on ${req.gpus} GPUs (tensor ${shown.tp} × context ${shown.cp}) still leaves ${(memory / GB).toFixed(1)} GB per GPU over ${(usable / GB).toFixed(1)} GB usable: add GPUs or shorten the longest clips`;

  return {
    schema: 'suanli.plan.train/1',
    model: model.id,
    gpu: gpu.id,
    gpus: req.gpus,
    mfu,
    epochs: req.epochs,
    buckets: buckets.map((b) => ({ ...b, flops_share: b.flops_total / flopsTotal })),
    samples_total: buckets.reduce((s, b) => s + b.clips * req.epochs, 0),
    flops_total: flopsTotal,
    gpu_hours: gpuSeconds / 3600,
    wall_seconds: wallSeconds,
    wall_days: wallSeconds / 86400,
    energy_kwh: (gpuSeconds * gpu.powerWatts) / 3.6e6,
    price_per_gpu_hour: price,
    cost: price === null ? null : (gpuSeconds / 3600) * price,
    max_sequence_tokens: maxS,
    fits: chosen !== undefined,
    no_fit_reason: noFitReason,
    tensor_parallel: shown.tp,
    context_parallel: shown.cp,
    data_parallel: req.gpus / (shown.tp * shown.cp),
    memory_model_states_bytes_per_gpu: states,
    memory_activations_bytes_per_gpu: memory - states,
    memory_bytes_per_gpu: memory,
    gpu_memory_bytes: gpu.memoryBytes,
    assumptions: [
      'per sample: 3 × forward linear + 3.5 × forward attention FLOPs, one pass (no guidance); recomputation not counted (MFU convention)',
      `MFU ${Math.round(mfu * 100)}% of ${gpu.peakFlops / 1e12} TFLOP/s peak, steady state (no restarts, evaluation or data stalls)`,
      `model states ${MODEL_STATE_BYTES_PER_PARAM} bytes/parameter (BF16 weights and gradients, FP32 master and Adam moments), ZeRO-3 sharded over all GPUs, plus one gathered layer`,
      'activations: layer-boundary checkpoints plus one layer being recomputed, micro-batch of one sample of the longest bucket',
      `layout: the smallest tensor-parallel (≤ ${gpu.gpusPerNode}, within a node) × context-parallel split that fits; data parallel over the rest`,
      `energy at rated power (${gpu.powerWatts} W per GPU), host and cooling excluded`,
    ],
  };
}
