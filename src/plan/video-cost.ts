import { InvalidInputError } from '../model/errors.ts';
import type { GpuSpec } from './gpu-catalog.ts';
import { paramsPerToken, type VideoModelSpec } from './video-models.ts';
import { positiveInteger, positiveNumber } from './validate.ts';

/**
 * Cost model for sampling one video with a video DiT.
 *
 * Accounting (shared/reference/video-models.md): a forward pass costs
 * 2·P_tok·S for the linear layers plus 4·L·S_q·S_k·d for attention scores and
 * values; generation runs steps × passes-per-step forward passes, then one VAE
 * decode. Work is split over N GPUs by sequence parallelism (Ulysses all-to-all:
 * four per layer), with the weights replicated on every GPU when they fit.
 */

export const BYTES_PER_PARAM_BF16 = 2;
/** Fraction of GPU memory the planner lets a plan use; the rest is framework and allocator overhead. */
export const USABLE_MEMORY_FRACTION = 0.9;

/** Full 3D attention, or each query attending only to a window of latent frames around it. */
export type AttentionScope = { readonly kind: 'full' } | { readonly kind: 'window'; readonly seconds: number };

export interface VideoRequest {
  readonly model: VideoModelSpec;
  readonly gpu: GpuSpec;
  readonly width: number;
  readonly height: number;
  /** Exactly one of frames and seconds. */
  readonly frames?: number;
  readonly seconds?: number;
  readonly fps: number;
  readonly steps: number;
  readonly gpus: number;
  readonly pricePerGpuHour?: number;
  readonly attention?: AttentionScope;
}

export interface VideoTokens {
  readonly frames: number;
  readonly latent_frames: number;
  readonly tokens_per_latent_frame: number;
  readonly video_tokens: number;
  readonly text_tokens: number;
  /** Tokens in the self-attention sequence: video, plus text for joint (MM-DiT) models. */
  readonly sequence_tokens: number;
}

/** The stable JSON shape of `suanli plan video --json` (schema suanli.plan.video/1). */
export interface VideoPlan extends VideoTokens {
  readonly schema: 'suanli.plan.video/1';
  readonly model: string;
  readonly model_name: string;
  readonly gpu: string;
  readonly gpu_name: string;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly seconds: number;
  readonly steps: number;
  readonly passes_per_step: number;
  readonly gpus: number;
  readonly attention: 'full' | 'window';
  readonly window_seconds: number | null;
  readonly params: number;
  readonly params_per_token: number;
  readonly flops_per_step_linear: number;
  readonly flops_per_step_attention: number;
  readonly flops_per_step: number;
  readonly attention_share: number;
  readonly flops_dit: number;
  readonly flops_vae_decode: number;
  readonly flops_total: number;
  readonly weights_bytes: number;
  readonly activation_bytes_flash: number;
  readonly activation_bytes_no_flash: number;
  readonly memory_bytes_per_gpu: number;
  readonly memory_bytes_per_gpu_no_flash: number;
  readonly gpu_memory_bytes: number;
  readonly fits: boolean;
  readonly fits_no_flash: boolean;
  readonly min_gpus: number;
  readonly min_gpus_no_flash: number;
  readonly min_gpus_shards_weights: boolean;
  readonly efficiency: number;
  readonly compute_seconds: number;
  readonly communication_seconds: number;
  readonly vae_decode_seconds: number;
  readonly wall_seconds: number;
  readonly gpu_seconds: number;
  readonly gpu_hours: number;
  readonly compute_lower_bound_seconds: number;
  readonly energy_kwh: number;
  readonly price_per_gpu_hour: number | null;
  readonly cost: number | null;
  readonly assumptions: readonly string[];
}

/** Latent frames the VAE makes of `frames` pixel frames; rejects counts its stride cannot take. */
export function latentFrames(model: VideoModelSpec, frames: number): number {
  positiveInteger('frames', frames);
  const t = model.vaeTemporal;
  switch (t.kind) {
    case 'causal':
      if ((frames - 1) % t.stride !== 0) {
        throw new InvalidInputError('frames', `${model.id} has a causal VAE with temporal stride ${t.stride}, so frames must be ${t.stride}k+1, got ${frames}`, `${t.stride}k+1, e.g. ${nearestCausal(frames, t.stride)}`);
      }
      return 1 + (frames - 1) / t.stride;
    case 'plain':
      if (frames % t.stride !== 0) {
        throw new InvalidInputError('frames', `${model.id} compresses time by ${t.stride}, so frames must be a multiple of ${t.stride}, got ${frames}`, `a multiple of ${t.stride}, e.g. ${Math.max(1, Math.round(frames / t.stride)) * t.stride}`);
      }
      return frames / t.stride;
    case 'chunked':
      if (frames % t.chunkFrames !== 0) {
        throw new InvalidInputError('frames', `${model.id} encodes ${t.chunkFrames}-frame chunks, so frames must be a multiple of ${t.chunkFrames}, got ${frames}`, `a multiple of ${t.chunkFrames}, e.g. ${Math.max(1, Math.round(frames / t.chunkFrames)) * t.chunkFrames}`);
      }
      return (frames / t.chunkFrames) * t.chunkLatents;
  }
}

function nearestCausal(frames: number, stride: number): number {
  return stride * Math.max(0, Math.round((frames - 1) / stride)) + 1;
}

/** The valid frame count nearest to `seconds` of video at `fps` for this model's VAE. */
export function framesForSeconds(model: VideoModelSpec, seconds: number, fps: number): number {
  positiveNumber('seconds', seconds);
  positiveNumber('fps', fps);
  const raw = seconds * fps;
  const t = model.vaeTemporal;
  switch (t.kind) {
    case 'causal':
      return t.stride * Math.max(1, Math.round(raw / t.stride)) + 1;
    case 'plain':
      return t.stride * Math.max(1, Math.round(raw / t.stride));
    case 'chunked':
      return t.chunkFrames * Math.max(1, Math.round(raw / t.chunkFrames));
  }
}

/** Token counts for a W×H video of `frames` frames. */
export function videoTokens(model: VideoModelSpec, width: number, height: number, frames: number): VideoTokens {
  positiveInteger('size', width);
  positiveInteger('size', height);
  const spatial = model.vaeSpatial * model.patch.h;
  if (width % spatial !== 0 || height % spatial !== 0) {
    throw new InvalidInputError('size', `${model.id} needs width and height divisible by ${spatial} (VAE ${model.vaeSpatial} × patch ${model.patch.h}), got ${width}x${height}`, `multiples of ${spatial}, e.g. ${Math.max(1, Math.round(width / spatial)) * spatial}x${Math.max(1, Math.round(height / spatial)) * spatial}`);
  }
  const latent = latentFrames(model, frames);
  const perFrame = (width / spatial) * (height / spatial);
  const video = Math.ceil(latent / model.patch.t) * perFrame;
  return {
    frames,
    latent_frames: latent,
    tokens_per_latent_frame: perFrame,
    video_tokens: video,
    text_tokens: model.textTokens,
    sequence_tokens: video + (model.text === 'joint' ? model.textTokens : 0),
  };
}

/** FLOPs of one forward pass, split into the linear layers and attention. */
export function forwardFlops(model: VideoModelSpec, tokens: VideoTokens, keysPerQuery: number): { linear: number; attention: number } {
  const d = model.hidden;
  const L = model.layers;
  const S = tokens.sequence_tokens;
  const textKv = model.text === 'cross' ? 2 * L * 2 * d * d * tokens.text_tokens : 0;
  const linear = 2 * paramsPerToken(model) * S + textKv;
  const selfAttention = 4 * L * S * keysPerQuery * d;
  const crossAttention = model.text === 'cross' ? 4 * L * tokens.video_tokens * tokens.text_tokens * d : 0;
  return { linear, attention: selfAttention + crossAttention };
}

/** Keys each query attends to: the whole sequence, or a window of latent frames (plus joint text). */
export function keysPerQuery(model: VideoModelSpec, tokens: VideoTokens, scope: AttentionScope, fps: number): number {
  if (scope.kind === 'full') return tokens.sequence_tokens;
  positiveNumber('window', scope.seconds);
  const windowLatent = Math.ceil(latentFrames(model, framesForSeconds(model, scope.seconds, fps)) / model.patch.t);
  const windowTokens = windowLatent * tokens.tokens_per_latent_frame + (model.text === 'joint' ? model.textTokens : 0);
  return Math.min(tokens.sequence_tokens, windowTokens);
}

/** Fewest GPUs whose usable memory holds `weights` (replicated, or sharded if it must be) plus `activations` split N ways. */
export function fewestGpus(weights: number, activations: number, gpuMemory: number): { gpus: number; shardsWeights: boolean } {
  const usable = gpuMemory * USABLE_MEMORY_FRACTION;
  if (weights < usable) return { gpus: Math.max(1, Math.ceil(activations / (usable - weights))), shardsWeights: false };
  return { gpus: Math.max(1, Math.ceil((weights + activations) / usable)), shardsWeights: true };
}

export function planVideo(req: VideoRequest): VideoPlan {
  const { model, gpu } = req;
  positiveNumber('fps', req.fps);
  positiveInteger('steps', req.steps);
  positiveInteger('gpus', req.gpus);
  if (req.pricePerGpuHour !== undefined) positiveNumber('price-per-gpu-hour', req.pricePerGpuHour);
  if ((req.frames === undefined) === (req.seconds === undefined)) {
    throw new InvalidInputError('frames', 'give exactly one of frames and seconds', '--frames N or --seconds S');
  }
  const frames = req.frames ?? framesForSeconds(model, req.seconds ?? 0, req.fps);
  const tokens = videoTokens(model, req.width, req.height, frames);
  const scope = req.attention ?? { kind: 'full' };
  const keys = keysPerQuery(model, tokens, scope, req.fps);
  const N = req.gpus;
  const S = tokens.sequence_tokens;
  const d = model.hidden;

  // 1. Compute: steps × passes forward passes, then one VAE decode.
  const fwd = forwardFlops(model, tokens, keys);
  const perStepLinear = model.passesPerStep * fwd.linear;
  const perStepAttention = model.passesPerStep * fwd.attention;
  const flopsDit = req.steps * (perStepLinear + perStepAttention);
  const flopsVae = req.width * req.height * frames * model.vaeDecodeFlopsPerPixel;

  // 2. Memory: weights replicated; one layer's activations for the CFG batch, split N ways.
  const batch = model.passesPerStep;
  const weights = model.residentParams * BYTES_PER_PARAM_BF16;
  const perTokenWidth = 5 * d + model.ffn * (model.ffnGated ? 2 : 1);
  const actFlash = batch * S * perTokenWidth * BYTES_PER_PARAM_BF16;
  const scores = batch * model.heads * S * keys * BYTES_PER_PARAM_BF16;
  const actNoFlash = actFlash + scores;
  const usable = gpu.memoryBytes * USABLE_MEMORY_FRACTION;
  const memFlash = weights + actFlash / N;
  const memNoFlash = weights + actNoFlash / N;
  const fewest = fewestGpus(weights, actFlash, gpu.memoryBytes);
  const fewestNoFlash = fewestGpus(weights, actNoFlash, gpu.memoryBytes);

  // 3. Time: compute at the GPU's achieved efficiency, all-to-all over the slowest link crossed, VAE on one GPU.
  const rate = gpu.peakFlops * gpu.efficiency;
  const computeSeconds = flopsDit / (N * rate);
  const link = N <= gpu.gpusPerNode ? gpu.scaleUpBytesPerSecond : gpu.scaleOutBytesPerSecond;
  const bytesPerAllToAll = N > 1 ? ((batch * S * d * BYTES_PER_PARAM_BF16) / N) * ((N - 1) / N) : 0;
  const communicationSeconds = (req.steps * model.layers * 4 * bytesPerAllToAll) / link;
  const vaeSeconds = flopsVae / rate;
  const wall = computeSeconds + communicationSeconds + vaeSeconds;
  const gpuSeconds = wall * N;
  const gpuHours = gpuSeconds / 3600;
  const price = req.pricePerGpuHour ?? null;

  return {
    schema: 'suanli.plan.video/1',
    model: model.id,
    model_name: model.name,
    gpu: gpu.id,
    gpu_name: gpu.name,
    width: req.width,
    height: req.height,
    fps: req.fps,
    seconds: frames / req.fps,
    steps: req.steps,
    passes_per_step: model.passesPerStep,
    gpus: N,
    attention: scope.kind,
    window_seconds: scope.kind === 'window' ? scope.seconds : null,
    ...tokens,
    params: model.params,
    params_per_token: paramsPerToken(model),
    flops_per_step_linear: perStepLinear,
    flops_per_step_attention: perStepAttention,
    flops_per_step: perStepLinear + perStepAttention,
    attention_share: perStepAttention / (perStepLinear + perStepAttention),
    flops_dit: flopsDit,
    flops_vae_decode: flopsVae,
    flops_total: flopsDit + flopsVae,
    weights_bytes: weights,
    activation_bytes_flash: actFlash,
    activation_bytes_no_flash: actNoFlash,
    memory_bytes_per_gpu: memFlash,
    memory_bytes_per_gpu_no_flash: memNoFlash,
    gpu_memory_bytes: gpu.memoryBytes,
    fits: memFlash <= usable,
    fits_no_flash: memNoFlash <= usable,
    min_gpus: fewest.gpus,
    min_gpus_no_flash: fewestNoFlash.gpus,
    min_gpus_shards_weights: fewest.shardsWeights,
    efficiency: gpu.efficiency,
    compute_seconds: computeSeconds,
    communication_seconds: communicationSeconds,
    vae_decode_seconds: vaeSeconds,
    wall_seconds: wall,
    gpu_seconds: gpuSeconds,
    gpu_hours: gpuHours,
    compute_lower_bound_seconds: (flopsDit + flopsVae) / (N * gpu.peakFlops),
    energy_kwh: (gpuSeconds * gpu.powerWatts) / 3.6e6,
    price_per_gpu_hour: price,
    cost: price === null ? null : gpuHours * price,
    assumptions: [
      `BF16 weights (${BYTES_PER_PARAM_BF16} bytes/parameter), all ${model.residentParams / 1e9}B resident on every GPU`,
      `${model.passesPerStep} forward pass(es) per step${model.passesPerStep === 2 ? ' (classifier-free guidance, batched)' : ' (guidance-distilled)'}`,
      `GPUs run at ${Math.round(gpu.efficiency * 100)}% of peak ${gpu.peakFlops / 1e12} TFLOP/s (override with --efficiency)`,
      'sequence parallelism (Ulysses): four all-to-alls per layer, not overlapped with compute',
      N <= gpu.gpusPerNode ? `all-to-all over ${gpu.scaleUpLink}` : `more than ${gpu.gpusPerNode} GPUs: all-to-all over the scale-out network (${gpu.scaleOutBytesPerSecond / 1e9} GB/s per GPU)`,
      `VAE decode ≈ ${model.vaeDecodeFlopsPerPixel.toExponential(0)} FLOPs per output pixel on one GPU; text encoding not counted`,
      `activations: one layer's working set for the guidance batch; without flash attention the ${model.heads} heads' score matrices are materialized once in BF16 (a lower bound)`,
      `${Math.round(USABLE_MEMORY_FRACTION * 100)}% of GPU memory usable; energy at the GPU's rated power (${gpu.powerWatts} W), host and cooling excluded`,
      ...(scope.kind === 'window' ? [`each query attends to a window of ${scope.seconds} s of latent frames (sliding-window or chunked generation)`] : []),
    ],
  };
}
