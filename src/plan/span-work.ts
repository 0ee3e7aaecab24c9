import { InvalidInputError } from '../model/errors.ts';
import { trainingFlopsPerToken } from './text-cost.ts';
import type { TextModelSpec } from './text-models.ts';
import { trainingSample, type MixBucket } from './train-cost.ts';
import type { VideoModelSpec } from './video-models.ts';
import { positiveInteger, positiveNumber } from './validate.ts';

/**
 * The training work of a job that spans sites, in the one unit every model shares:
 * tokens. A text model's tokens are its sequence tokens; a video model's are the
 * attention-sequence tokens of its clips (plan train's accounting), so a batch of
 * tokens means the same compute whichever the model.
 */
export interface SpanWork {
  readonly model: string;
  readonly modelName: string;
  /** N: what one synchronization moves (N × bytes per parameter). */
  readonly params: number;
  /** Training FLOPs (forward + backward) per token, averaged over the data. */
  readonly flopsPerToken: number;
  /** Tokens in one sequence (text) or the longest sample (video): the least a GPU can be given per inner step. */
  readonly sequenceTokens: number;
  readonly length: SpanLength;
  /** How the FLOPs were counted, for the plan's assumptions. */
  readonly accounting: string;
}

/** How long the job is: tokens to train on, or inner steps (each of the whole batch across replicas) to run. */
export type SpanLength = { readonly tokens: number } | { readonly steps: number };

/**
 * Default length: compute-optimal training, about 20 tokens per parameter
 * (Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models", arXiv 2203.15556).
 */
export const COMPUTE_OPTIMAL_TOKENS_PER_PARAM = 20;

function checkLength(length: SpanLength): SpanLength {
  if ('tokens' in length) positiveNumber('tokens', length.tokens);
  else positiveInteger('steps', length.steps);
  return length;
}

/** A text-model preset trained on sequences of `sequenceTokens` (see trainingFlopsPerToken). */
export function textSpanWork(model: TextModelSpec, sequenceTokens: number, length?: SpanLength): SpanWork {
  return {
    model: model.id,
    modelName: model.name,
    params: model.params,
    flopsPerToken: trainingFlopsPerToken(model, sequenceTokens),
    sequenceTokens,
    length: checkLength(length ?? { tokens: COMPUTE_OPTIMAL_TOKENS_PER_PARAM * model.params }),
    accounting: `6 FLOPs per parameter per token plus causal attention over ${sequenceTokens}-token sequences (${model.layers} layers × ${model.hidden} wide), recomputation not counted`,
  };
}

/** A model known only by its parameter count: 6 · N FLOPs per token (Kaplan et al. 2020, arXiv 2001.08361), attention not counted. */
export function paramsSpanWork(params: number, sequenceTokens: number, length?: SpanLength): SpanWork {
  positiveNumber('params', params);
  positiveInteger('seq-len', sequenceTokens);
  return {
    model: 'custom',
    modelName: `custom ${(params / 1e9).toPrecision(3)}B`,
    params,
    flopsPerToken: 6 * params,
    sequenceTokens,
    length: checkLength(length ?? { tokens: COMPUTE_OPTIMAL_TOKENS_PER_PARAM * params }),
    accounting: '6 FLOPs per parameter per token (forward + backward, Kaplan et al. 2020); attention not counted, so long sequences cost more than this',
  };
}

/**
 * A video-model preset trained on a dataset mix, each sample counted as `plan train`
 * counts it (trainingSample). The job's length is the mix: Σ clips × epochs × tokens.
 */
export function videoSpanWork(model: VideoModelSpec, mix: readonly MixBucket[], fps: number, epochs: number): SpanWork {
  positiveNumber('epochs', epochs);
  positiveNumber('fps', fps);
  if (mix.length === 0) throw new InvalidInputError('mix', 'the dataset mix is empty', 'one or more buckets WxH:SECONDSs:CLIPS, e.g. 1280x720:5s:1000000');
  const samples = mix.map((b) => trainingSample(model, b, fps));
  const tokens = samples.reduce((s, x) => s + x.clips * epochs * x.sequence_tokens, 0);
  const flops = samples.reduce((s, x) => s + x.clips * epochs * x.flops_per_sample, 0);
  return {
    model: model.id,
    modelName: model.name,
    params: model.params,
    flopsPerToken: flops / tokens,
    sequenceTokens: Math.max(...samples.map((x) => x.sequence_tokens)),
    length: { tokens },
    accounting: 'per sample 3 × forward linear + 3.5 × forward attention FLOPs, one pass (as plan train), averaged per attention-sequence token over the mix',
  };
}
