import { InvalidInputError } from '../model/errors.ts';
import { positiveInteger, positiveNumber } from './validate.ts';
import type { TemporalCompression, TextConditioning, VideoModelSpec } from './video-models.ts';

/** Architecture fields a user may set by hand, on top of a preset or from nothing. */
export interface VideoModelOverrides {
  readonly params?: number;
  readonly hidden?: number;
  readonly layers?: number;
  readonly heads?: number;
  readonly ffn?: number;
  readonly ffnGated?: boolean;
  readonly text?: TextConditioning;
  readonly textTokens?: number;
  readonly vaeStride?: { readonly t: number; readonly h: number; readonly w: number };
  readonly vaeChannels?: number;
  readonly causalVae?: boolean;
  readonly patch?: { readonly t: number; readonly h: number; readonly w: number };
  readonly passesPerStep?: number;
}

/** Fields a model built from nothing must be given; the rest default to a typical 2025 video DiT. */
const REQUIRED: readonly (keyof VideoModelOverrides)[] = ['params', 'hidden', 'layers', 'heads'];

/**
 * A model from a preset with some fields replaced, or (base undefined) from the
 * user's fields alone. Defaults for the latter: FFN 4 × hidden (plain GELU), text
 * by cross-attention with 512 tokens, a causal 4×8×8 VAE with 16 channels, patch
 * 1×2×2, classifier-free guidance (2 passes per step).
 */
export function customVideoModel(base: VideoModelSpec | undefined, o: VideoModelOverrides): VideoModelSpec {
  if (!base) {
    const missing = REQUIRED.filter((k) => o[k] === undefined);
    if (missing.length > 0) throw new InvalidInputError(missing[0] ?? 'model', `a custom model needs ${missing.map((k) => `--${k}`).join(', ')}`, 'a preset id with --model, or all of --params, --hidden, --layers, --heads');
  }
  if (o.params !== undefined) positiveNumber('params', o.params);
  for (const key of ['hidden', 'layers', 'heads', 'ffn', 'textTokens', 'vaeChannels', 'passesPerStep'] as const) {
    const v = o[key];
    if (v !== undefined) positiveInteger(key === 'textTokens' ? 'text-tokens' : key === 'vaeChannels' ? 'vae-channels' : key === 'passesPerStep' ? 'passes-per-step' : key, v);
  }
  if (o.vaeStride && o.vaeStride.h !== o.vaeStride.w) throw new InvalidInputError('vae-stride', `height and width strides must match, got ${o.vaeStride.h} and ${o.vaeStride.w}`, 'TxHxW with H = W, e.g. 4x8x8');
  if (o.patch && o.patch.h !== o.patch.w) throw new InvalidInputError('patch', `height and width patch sizes must match, got ${o.patch.h} and ${o.patch.w}`, 'TxHxW with H = W, e.g. 1x2x2');

  const hidden = o.hidden ?? base?.hidden ?? 0;
  const heads = o.heads ?? base?.heads ?? 0;
  if (hidden % heads !== 0) throw new InvalidInputError('heads', `hidden size ${hidden} does not split into ${heads} heads`, `a divisor of ${hidden}`);
  const causal = o.causalVae ?? (base ? base.vaeTemporal.kind === 'causal' : true);
  const baseStride = base && base.vaeTemporal.kind !== 'chunked' ? base.vaeTemporal.stride : 4;
  const strideT = o.vaeStride?.t ?? baseStride;
  const temporal: TemporalCompression =
    base && base.vaeTemporal.kind === 'chunked' && o.vaeStride === undefined && o.causalVae === undefined
      ? base.vaeTemporal
      : { kind: causal ? 'causal' : 'plain', stride: strideT };
  const params = o.params ?? base?.params ?? 0;
  const changed = Object.keys(o).length > 0;

  return {
    id: base ? (changed ? `${base.id}+custom` : base.id) : 'custom',
    name: base ? (changed ? `${base.name} (modified)` : base.name) : 'custom video DiT',
    params,
    residentParams: o.params ?? base?.residentParams ?? params,
    hidden,
    layers: o.layers ?? base?.layers ?? 0,
    heads,
    ffn: o.ffn ?? base?.ffn ?? 4 * hidden,
    ffnGated: o.ffnGated ?? base?.ffnGated ?? false,
    text: o.text ?? base?.text ?? 'cross',
    textTokens: o.textTokens ?? base?.textTokens ?? 512,
    vaeTemporal: temporal,
    vaeSpatial: o.vaeStride?.h ?? base?.vaeSpatial ?? 8,
    latentChannels: o.vaeChannels ?? base?.latentChannels ?? 16,
    patch: o.patch ?? base?.patch ?? { t: 1, h: 2, w: 2 },
    passesPerStep: o.passesPerStep ?? base?.passesPerStep ?? 2,
    defaultSteps: base?.defaultSteps ?? 50,
    defaultFps: base?.defaultFps ?? 16,
    native: base?.native ?? { width: 1280, height: 720, frames: 81 },
    vaeDecodeFlopsPerPixel: base?.vaeDecodeFlopsPerPixel ?? 2e8,
    source: base ? `${base.source}${changed ? '; fields overridden by the user' : ''}` : 'user-supplied architecture',
  };
}
