import type { GpuSpec } from './gpu-catalog.ts';
import { planText, type TextLanguage, type TextPlan } from './text-cost.ts';
import type { TextModelSpec } from './text-models.ts';
import { planVideo, type VideoPlan } from './video-cost.ts';
import type { VideoModelSpec } from './video-models.ts';

export interface CompareRequest {
  readonly textModel: TextModelSpec;
  readonly characters: number;
  readonly language: TextLanguage;
  readonly videoModel: VideoModelSpec;
  readonly width: number;
  readonly height: number;
  readonly seconds: number;
  readonly fps: number;
  readonly steps: number;
  readonly gpu: GpuSpec;
}

/** The stable JSON shape of `suanli plan compare --json` (schema suanli.plan.compare/1). */
export interface Comparison {
  readonly schema: 'suanli.plan.compare/1';
  readonly text: TextPlan;
  readonly video: VideoPlan;
  /** Video ÷ text, for the text being written (decode) — the like-for-like "generate it" cost. */
  readonly video_over_text_tokens: number;
  readonly video_over_text_flops: number;
  readonly video_over_text_gpu_seconds: number;
  readonly video_over_text_params: number;
}

/** One text through a text model beside one video through a video model, on the same GPU type. */
export function planCompare(req: CompareRequest): Comparison {
  const text = planText(req.textModel, req.gpu, req.characters, req.language);
  const video = planVideo({ model: req.videoModel, gpu: req.gpu, width: req.width, height: req.height, seconds: req.seconds, fps: req.fps, steps: req.steps, gpus: 1 });
  return {
    schema: 'suanli.plan.compare/1',
    text,
    video,
    video_over_text_tokens: video.video_tokens / text.text_tokens,
    video_over_text_flops: video.flops_total / text.flops_write,
    video_over_text_gpu_seconds: video.gpu_seconds / text.gpu_seconds_write,
    video_over_text_params: video.params / text.params,
  };
}
