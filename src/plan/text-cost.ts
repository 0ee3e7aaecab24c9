import { InvalidInputError } from '../model/errors.ts';
import type { GpuSpec } from './gpu-catalog.ts';
import { findTokenizer, type TextModelSpec } from './text-models.ts';
import { BYTES_PER_PARAM_BF16, USABLE_MEMORY_FRACTION } from './video-cost.ts';
import { positiveInteger } from './validate.ts';

/** Fraction of peak memory bandwidth a batch-1 decoder achieves. */
export const DECODE_BANDWIDTH_EFFICIENCY = 0.8;

export type TextLanguage = 'zh' | 'en';

/** The stable JSON shape of the text side of `suanli plan compare` (suanli.plan.text/1). */
export interface TextPlan {
  readonly schema: 'suanli.plan.text/1';
  readonly model: string;
  readonly model_name: string;
  readonly gpu: string;
  readonly characters: number;
  readonly language: TextLanguage;
  readonly tokens_per_character: number;
  readonly text_tokens: number;
  readonly params: number;
  /** Reading the text once (prefill): FLOPs and GPU-seconds, compute-bound. */
  readonly flops_read: number;
  readonly gpu_seconds_read: number;
  /** Writing the text token by token: FLOPs, and GPU-seconds as a share of a busy batched server (compute-bound). */
  readonly flops_write: number;
  readonly gpu_seconds_write: number;
  /** Writing it alone at batch 1: every token reads all weights and the cache, so memory bandwidth sets the time. */
  readonly gpu_seconds_write_alone: number;
  readonly weights_bytes: number;
  readonly kv_cache_bytes: number;
  readonly memory_bytes: number;
  readonly min_gpus: number;
}

/**
 * A dense decoder reading (prefill) or writing (decode) `characters` characters.
 * FLOPs: 2 · P_nonembedding · T for the linear layers, plus causal attention
 * 2 · L · T² · d (half of the non-causal 4 · L · T² · d); writing adds the output
 * head for every token. GPU-seconds are the work divided by one GPU's achieved rate,
 * so they do not depend on how many GPUs share it. Decode at batch 1 reads every
 * weight and the KV cache once per token, so its time is set by memory bandwidth.
 */
export function planText(model: TextModelSpec, gpu: GpuSpec, characters: number, language: TextLanguage): TextPlan {
  positiveInteger('chars', characters);
  if (language !== 'zh' && language !== 'en') throw new InvalidInputError('language', `unknown language "${String(language)}"`, 'zh, en');
  const tok = findTokenizer(model.tokenizer);
  const perChar = language === 'zh' ? tok.tokensPerChineseChar : tok.tokensPerEnglishChar;
  const T = Math.ceil(characters * perChar);
  const d = model.hidden;
  const head = 2 * model.vocab * d;
  const nonEmbedding = model.params - 2 * model.vocab * d;
  const attention = 2 * model.layers * T * T * d;
  const flopsRead = 2 * nonEmbedding * T + attention;
  const flopsWrite = flopsRead + head * T;
  const weights = model.params * BYTES_PER_PARAM_BF16;
  const kvPerToken = 2 * model.layers * model.kvHeads * (d / model.heads) * BYTES_PER_PARAM_BF16;
  const kv = kvPerToken * T;
  const rate = gpu.peakFlops * gpu.efficiency;
  // Decode reads all weights plus the cache so far for every token: T·W + kv·T/2 bytes in total.
  const bytesRead = T * weights + (kv * T) / 2;
  const decodeSeconds = Math.max(flopsWrite / rate, bytesRead / (gpu.memoryBandwidthBytesPerSecond * DECODE_BANDWIDTH_EFFICIENCY));
  return {
    schema: 'suanli.plan.text/1',
    model: model.id,
    model_name: model.name,
    gpu: gpu.id,
    characters,
    language,
    tokens_per_character: perChar,
    text_tokens: T,
    params: model.params,
    flops_read: flopsRead,
    gpu_seconds_read: flopsRead / rate,
    flops_write: flopsWrite,
    gpu_seconds_write: flopsWrite / rate,
    gpu_seconds_write_alone: decodeSeconds,
    weights_bytes: weights,
    kv_cache_bytes: kv,
    memory_bytes: weights + kv,
    min_gpus: Math.max(1, Math.ceil((weights + kv) / (gpu.memoryBytes * USABLE_MEMORY_FRACTION))),
  };
}

/**
 * Training FLOPs per token of a `sequenceTokens`-long sequence: 3 × the forward pass
 * (backward = 2 × forward), counted as planText counts a forward pass — linear layers
 * 2 · P_nonembedding, the output head 2 · vocab · d, causal attention 2 · L · S · d
 * per token — so 6 · (P_nonembedding + vocab · d + L · S · d). Recomputation is not
 * counted (the MFU convention).
 */
export function trainingFlopsPerToken(model: TextModelSpec, sequenceTokens: number): number {
  positiveInteger('seq-len', sequenceTokens);
  const d = model.hidden;
  const nonEmbedding = model.params - 2 * model.vocab * d;
  return 6 * (nonEmbedding + model.vocab * d + model.layers * sequenceTokens * d);
}
