import { InvalidInputError } from '../model/errors.ts';

/**
 * How the video VAE maps pixel frames to latent frames.
 * - `causal`: the first frame is encoded alone, then every `stride` frames make one
 *   latent frame: F_lat = 1 + (F − 1) / stride; F − 1 must divide by stride.
 * - `plain`: F_lat = F / stride; F must divide by stride.
 * - `chunked`: every `chunkFrames` frames make `chunkLatents` latent frames (Step-Video).
 */
export type TemporalCompression =
  | { readonly kind: 'causal'; readonly stride: number }
  | { readonly kind: 'plain'; readonly stride: number }
  | { readonly kind: 'chunked'; readonly chunkFrames: number; readonly chunkLatents: number };

/** How the DiT sees the text: in the same attention sequence (MM-DiT) or through cross-attention. */
export type TextConditioning = 'joint' | 'cross';

/**
 * A video diffusion transformer as the planner needs it. Everything here is an
 * input to standard transformer accounting (see video-cost.ts); `source` cites where
 * each figure was read.
 */
export interface VideoModelSpec {
  readonly id: string;
  readonly name: string;
  /** Headline parameter count (all weights, including adaLN modulation). */
  readonly params: number;
  /** Weights that must sit in GPU memory during sampling (e.g. both experts of an MoE). */
  readonly residentParams: number;
  readonly hidden: number;
  readonly layers: number;
  readonly heads: number;
  /** FFN inner width. */
  readonly ffn: number;
  /** Gated FFN (SwiGLU: three matrices) or plain (GELU: two). */
  readonly ffnGated: boolean;
  readonly text: TextConditioning;
  readonly textTokens: number;
  readonly vaeTemporal: TemporalCompression;
  readonly vaeSpatial: number;
  readonly latentChannels: number;
  readonly patch: { readonly t: number; readonly h: number; readonly w: number };
  /** Forward passes per sampling step: 2 with classifier-free guidance, 1 if guidance-distilled. */
  readonly passesPerStep: number;
  readonly defaultSteps: number;
  readonly defaultFps: number;
  /** The resolution and frame count the model was released for. */
  readonly native: { readonly width: number; readonly height: number; readonly frames: number };
  /**
   * VAE decode cost per output pixel, FLOPs. An estimate from the decoder's conv
   * layout (3×3×3 convs at 128–512 channels over four resolution levels, plus tile
   * overlap); runs once per video on one GPU.
   */
  readonly vaeDecodeFlopsPerPixel: number;
  readonly source: string;
}

const B = 1e9;
const causal4x8 = { vaeTemporal: { kind: 'causal', stride: 4 }, vaeSpatial: 8, latentChannels: 16 } as const;
/** Decoder estimates (see vaeDecodeFlopsPerPixel): 4×8×8 16-channel VAEs with 128–512 channels. */
const VAE_DECODE_HEAVY = 2e8;
const VAE_DECODE_LIGHT = 1e8;

export const VIDEO_MODELS: readonly VideoModelSpec[] = [
  {
    id: 'wan2.1-t2v-14b', name: 'Wan2.1 T2V 14B', params: 14 * B, residentParams: 14 * B,
    hidden: 5120, layers: 40, heads: 40, ffn: 13824, ffnGated: false, text: 'cross', textTokens: 512,
    ...causal4x8, patch: { t: 1, h: 2, w: 2 }, passesPerStep: 2, defaultSteps: 50, defaultFps: 16,
    native: { width: 1280, height: 720, frames: 81 }, vaeDecodeFlopsPerPixel: VAE_DECODE_LIGHT,
    source: 'Wan-Video/Wan2.1 wan/configs/wan_t2v_14B.py (dim 5120, ffn 13824, 40 heads, 40 layers, text_len 512, vae_stride 4×8×8, patch 1×2×2); README: 81 frames at 16 fps, 50 steps for T2V',
  },
  {
    id: 'wan2.1-t2v-1.3b', name: 'Wan2.1 T2V 1.3B', params: 1.3 * B, residentParams: 1.3 * B,
    hidden: 1536, layers: 30, heads: 12, ffn: 8960, ffnGated: false, text: 'cross', textTokens: 512,
    ...causal4x8, patch: { t: 1, h: 2, w: 2 }, passesPerStep: 2, defaultSteps: 50, defaultFps: 16,
    native: { width: 832, height: 480, frames: 81 }, vaeDecodeFlopsPerPixel: VAE_DECODE_LIGHT,
    source: 'Wan-Video/Wan2.1 wan/configs/wan_t2v_1_3B.py (dim 1536, ffn 8960, 12 heads, 30 layers); README: 480P, 81 frames, 16 fps',
  },
  {
    id: 'wan2.2-t2v-a14b', name: 'Wan2.2 T2V A14B (MoE, 2 experts)', params: 27 * B, residentParams: 27 * B,
    hidden: 5120, layers: 40, heads: 40, ffn: 13824, ffnGated: false, text: 'cross', textTokens: 512,
    ...causal4x8, patch: { t: 1, h: 2, w: 2 }, passesPerStep: 2, defaultSteps: 40, defaultFps: 16,
    native: { width: 1280, height: 720, frames: 81 }, vaeDecodeFlopsPerPixel: VAE_DECODE_LIGHT,
    source: 'Wan-Video/Wan2.2 wan/configs/wan_t2v_A14B.py: two 14B experts (high-noise, low-noise), one active per step, 40 sampling steps; both held in memory',
  },
  {
    id: 'hunyuanvideo', name: 'HunyuanVideo 13B', params: 13 * B, residentParams: 13 * B,
    hidden: 3072, layers: 60, heads: 24, ffn: 4 * 3072, ffnGated: false, text: 'joint', textTokens: 256,
    ...causal4x8, patch: { t: 1, h: 2, w: 2 }, passesPerStep: 1, defaultSteps: 50, defaultFps: 24,
    native: { width: 1280, height: 720, frames: 129 }, vaeDecodeFlopsPerPixel: VAE_DECODE_HEAVY,
    source: 'Tencent/HunyuanVideo hyvideo/modules/models.py (hidden 3072, 20 double + 40 single MM-DiT blocks, 24 heads, mlp_ratio 4, text_len 256); guidance-distilled (embedded CFG, 1 pass/step), 50 steps, 129 frames at 24 fps',
  },
  {
    id: 'cogvideox-5b', name: 'CogVideoX 5B', params: 5 * B, residentParams: 5 * B,
    hidden: 3072, layers: 42, heads: 48, ffn: 4 * 3072, ffnGated: false, text: 'joint', textTokens: 226,
    ...causal4x8, patch: { t: 1, h: 2, w: 2 }, passesPerStep: 2, defaultSteps: 50, defaultFps: 8,
    native: { width: 720, height: 480, frames: 49 }, vaeDecodeFlopsPerPixel: VAE_DECODE_HEAVY,
    source: 'THUDM/CogVideo sat/configs/cogvideox_5b.yaml (hidden 3072, 42 layers, 48 heads, text length 226, patch 1×2×2); README: 720×480, 49 frames, 8 fps, 50 steps with CFG',
  },
  {
    id: 'cogvideox1.5-5b', name: 'CogVideoX1.5 5B', params: 5 * B, residentParams: 5 * B,
    hidden: 3072, layers: 42, heads: 48, ffn: 4 * 3072, ffnGated: false, text: 'joint', textTokens: 224,
    ...causal4x8, patch: { t: 2, h: 2, w: 2 }, passesPerStep: 2, defaultSteps: 50, defaultFps: 16,
    native: { width: 1360, height: 768, frames: 81 }, vaeDecodeFlopsPerPixel: VAE_DECODE_HEAVY,
    source: 'THUDM/CogVideo sat/configs/cogvideox1.5_5b.yaml (as 5B with temporal patch 2); README: 1360×768, 81 frames (16N+1), 16 fps',
  },
  {
    id: 'step-video-t2v', name: 'Step-Video-T2V 30B', params: 30 * B, residentParams: 30 * B,
    hidden: 6144, layers: 48, heads: 48, ffn: 4 * 6144, ffnGated: false, text: 'cross', textTokens: 320,
    vaeTemporal: { kind: 'chunked', chunkFrames: 17, chunkLatents: 3 }, vaeSpatial: 16, latentChannels: 64,
    patch: { t: 1, h: 1, w: 1 }, passesPerStep: 2, defaultSteps: 50, defaultFps: 25,
    native: { width: 992, height: 544, frames: 204 }, vaeDecodeFlopsPerPixel: VAE_DECODE_LIGHT,
    source: 'stepfun-ai/Step-Video-T2V README (48 layers × 48 heads × 128 head dim, 16×16 spatial VAE, 204 frames, 50 steps, CFG 9.0); latent frames = frames ÷ 17 × 3 as in its pipeline code; text tokens [U]',
  },
  {
    id: 'opensora-2.0', name: 'Open-Sora 2.0 11B', params: 11 * B, residentParams: 11 * B,
    hidden: 3072, layers: 57, heads: 24, ffn: 4 * 3072, ffnGated: false, text: 'joint', textTokens: 512,
    ...causal4x8, patch: { t: 1, h: 2, w: 2 }, passesPerStep: 2, defaultSteps: 50, defaultFps: 24,
    native: { width: 768, height: 768, frames: 129 }, vaeDecodeFlopsPerPixel: VAE_DECODE_HEAVY,
    source: 'hpcaitech/Open-Sora configs/diffusion/inference/256px.py (19 double + 38 single MM-DiT blocks, hidden 3072, 24 heads, HunyuanVideo VAE); arXiv 2503.09642 tables 5–6 (8,448 and 76,032 tokens)',
  },
  {
    id: 'ltx-video-2b', name: 'LTX-Video 2B', params: 2 * B, residentParams: 2 * B,
    hidden: 2048, layers: 28, heads: 32, ffn: 4 * 2048, ffnGated: false, text: 'cross', textTokens: 128,
    vaeTemporal: { kind: 'causal', stride: 8 }, vaeSpatial: 32, latentChannels: 128,
    patch: { t: 1, h: 1, w: 1 }, passesPerStep: 2, defaultSteps: 40, defaultFps: 24,
    native: { width: 768, height: 512, frames: 121 }, vaeDecodeFlopsPerPixel: 3e7,
    source: 'arXiv 2501.00103 (Video-VAE 1:192, 32×32×8 pixels per token, 128 channels, patch 1); Lightricks/LTX-Video README (frames 8k+1, sizes divisible by 32)',
  },
  {
    id: 'mochi-1', name: 'Mochi 1 10B', params: 10 * B, residentParams: 10 * B,
    hidden: 3072, layers: 48, heads: 24, ffn: 8192, ffnGated: true, text: 'joint', textTokens: 256,
    vaeTemporal: { kind: 'causal', stride: 6 }, vaeSpatial: 8, latentChannels: 12,
    patch: { t: 1, h: 2, w: 2 }, passesPerStep: 2, defaultSteps: 64, defaultFps: 30,
    native: { width: 848, height: 480, frames: 163 }, vaeDecodeFlopsPerPixel: VAE_DECODE_HEAVY,
    source: 'genmoai/mochi README (10B AsymmDiT, 48 layers, 24 heads, visual dim 3072, 44,520 visual + 256 text tokens; VAE 8×8 spatial, 6× temporal, 12 channels); demos/cli.py (163 frames, 64 steps, CFG 4.5, 30 fps)',
  },
  {
    id: 'moviegen-30b', name: 'Meta Movie Gen Video 30B', params: 30 * B, residentParams: 30 * B,
    hidden: 6144, layers: 48, heads: 48, ffn: 21620, ffnGated: true, text: 'cross', textTokens: 256,
    vaeTemporal: { kind: 'plain', stride: 8 }, vaeSpatial: 8, latentChannels: 16,
    patch: { t: 1, h: 2, w: 2 }, passesPerStep: 2, defaultSteps: 50, defaultFps: 16,
    native: { width: 768, height: 768, frames: 256 }, vaeDecodeFlopsPerPixel: VAE_DECODE_HEAVY,
    source: 'arXiv 2410.13720 (30B, 6144 hidden, 48 layers, 48 heads, TAE 8× in T, H and W, patch 1×2×2; 73K tokens for 16 s at 16 fps); FFN width [U] derived so that the layers total 30B; text tokens [U]',
  },
];

export function findVideoModel(id: string): VideoModelSpec {
  const model = VIDEO_MODELS.find((m) => m.id === id.toLowerCase());
  if (!model) throw new InvalidInputError('model', `unknown video model "${id}"`, VIDEO_MODELS.map((m) => m.id).join(', '));
  return model;
}

/**
 * Parameters applied to each token per forward pass (P_tok): self-attention (4d²),
 * cross-attention's query and output projections (2d², when text enters by
 * cross-attention) and the FFN. adaLN modulation runs once per sample, not per
 * token, so it is left out; that is why P_tok is well below the headline count for
 * MM-DiT models (HunyuanVideo: 6.8B of 13B).
 */
export function paramsPerToken(m: VideoModelSpec): number {
  const d = m.hidden;
  const attention = 4 * d * d + (m.text === 'cross' ? 2 * d * d : 0);
  const ffn = (m.ffnGated ? 3 : 2) * d * m.ffn;
  return m.layers * (attention + ffn);
}
