import { findGpu } from './gpu-catalog.ts';
import { planVideo, videoTokens } from './video-cost.ts';
import { findVideoModel } from './video-models.ts';

/**
 * Figures published by the models' authors (or benchmark teams), each beside the
 * planner's estimate for the same conditions. `tolerance` is the largest allowed
 * ratio planner ÷ published (or its inverse); figures marked `check: false` are
 * shown with the reason they are not held to one. The test suite and
 * `suanli plan check` both read this list.
 */
export interface PublishedFigure {
  readonly id: string;
  readonly model: string;
  readonly what: string;
  readonly unit: 'tokens' | 'seconds';
  readonly published: number;
  readonly conditions: string;
  readonly source: string;
  readonly tolerance: number;
  readonly check: boolean;
  readonly note?: string;
  readonly planner: () => number;
}

const tokens = (model: string, w: number, h: number, f: number) => () => videoTokens(findVideoModel(model), w, h, f).video_tokens;
const seconds = (model: string, gpu: string, gpus: number, w: number, h: number, frames: number, steps: number) => () =>
  planVideo({ model: findVideoModel(model), gpu: findGpu(gpu), width: w, height: h, frames, fps: findVideoModel(model).defaultFps, steps, gpus }).wall_seconds;

/** Wall-time figures are held to a factor of 1.5: the planner is for sizing, not benchmarking. */
const TIME_TOLERANCE = 1.5;

export const PUBLISHED_FIGURES: readonly PublishedFigure[] = [
  { id: 'mochi-tokens', model: 'mochi-1', what: 'visual tokens', unit: 'tokens', published: 44_520, conditions: '848×480, 163 frames', source: 'genmoai/mochi README, model specs table', tolerance: 1, check: true, planner: tokens('mochi-1', 848, 480, 163) },
  { id: 'moviegen-tokens', model: 'moviegen-30b', what: 'video tokens ("73K")', unit: 'tokens', published: 73_000, conditions: '16 s at 16 fps, 768×768 (size inferred)', source: 'arXiv 2410.13720, abstract', tolerance: 1.01, check: true, planner: tokens('moviegen-30b', 768, 768, 256) },
  { id: 'opensora-768-tokens', model: 'opensora-2.0', what: 'tokens, 768px bucket', unit: 'tokens', published: 76_032, conditions: '768×768, 129 frames', source: 'arXiv 2503.09642, table 6', tolerance: 1, check: true, planner: tokens('opensora-2.0', 768, 768, 129) },
  { id: 'opensora-256-tokens', model: 'opensora-2.0', what: 'tokens, 256px bucket', unit: 'tokens', published: 8_448, conditions: '256×256, 129 frames', source: 'arXiv 2503.09642, table 5', tolerance: 1, check: true, planner: tokens('opensora-2.0', 256, 256, 129) },
  { id: 'cogvideox-a100', model: 'cogvideox-5b', what: 'generation time', unit: 'seconds', published: 180, conditions: '720×480, 49 frames, 50 steps, 1 × A100', source: 'THUDM/CogVideo README, model table', tolerance: TIME_TOLERANCE, check: true, planner: seconds('cogvideox-5b', 'a100', 1, 720, 480, 49, 50) },
  { id: 'cogvideox-h100', model: 'cogvideox-5b', what: 'generation time', unit: 'seconds', published: 90, conditions: '720×480, 49 frames, 50 steps, 1 × H100', source: 'THUDM/CogVideo README, model table', tolerance: TIME_TOLERANCE, check: true, planner: seconds('cogvideox-5b', 'h100', 1, 720, 480, 49, 50) },
  { id: 'cogvideox15-a100', model: 'cogvideox1.5-5b', what: 'generation time', unit: 'seconds', published: 1000, conditions: '1360×768, 81 frames, 50 steps, 1 × A100', source: 'THUDM/CogVideo README, model table', tolerance: TIME_TOLERANCE, check: true, planner: seconds('cogvideox1.5-5b', 'a100', 1, 1360, 768, 81, 50) },
  { id: 'cogvideox15-h100', model: 'cogvideox1.5-5b', what: 'generation time', unit: 'seconds', published: 550, conditions: '1360×768, 81 frames, 50 steps, 1 × H100', source: 'THUDM/CogVideo README, model table', tolerance: TIME_TOLERANCE, check: true, planner: seconds('cogvideox1.5-5b', 'h100', 1, 1360, 768, 81, 50) },
  { id: 'hunyuan-h100-1', model: 'hunyuanvideo', what: 'generation time', unit: 'seconds', published: 1904.08, conditions: '1280×720, 129 frames, 50 steps, 1 × H100', source: 'Tencent/HunyuanVideo README; xDiT docs/performance/hunyuanvideo.md', tolerance: TIME_TOLERANCE, check: true, planner: seconds('hunyuanvideo', 'h100', 1, 1280, 720, 129, 50) },
  { id: 'hunyuan-h100-8', model: 'hunyuanvideo', what: 'generation time', unit: 'seconds', published: 337.58, conditions: '1280×720, 129 frames, 50 steps, 8 × H100 (Ulysses)', source: 'Tencent/HunyuanVideo README; xDiT docs/performance/hunyuanvideo.md', tolerance: TIME_TOLERANCE, check: true, planner: seconds('hunyuanvideo', 'h100', 8, 1280, 720, 129, 50) },
  { id: 'hunyuan-h20-1', model: 'hunyuanvideo', what: 'generation time', unit: 'seconds', published: 6639.17, conditions: '1280×720, 129 frames, 50 steps, 1 × H20', source: 'xDiT docs/performance/hunyuanvideo.md', tolerance: TIME_TOLERANCE, check: true, planner: seconds('hunyuanvideo', 'h20', 1, 1280, 720, 129, 50) },
  { id: 'hunyuan-h20-8', model: 'hunyuanvideo', what: 'generation time', unit: 'seconds', published: 940.97, conditions: '1280×720, 129 frames, 50 steps, 8 × H20 (Ulysses)', source: 'xDiT docs/performance/hunyuanvideo.md', tolerance: TIME_TOLERANCE, check: true, planner: seconds('hunyuanvideo', 'h20', 8, 1280, 720, 129, 50) },
  { id: 'step-992', model: 'step-video-t2v', what: 'generation time', unit: 'seconds', published: 743, conditions: '992×544, 204 frames, 50 steps, 4 GPUs (80 GB; H800 assumed)', source: 'stepfun-ai/Step-Video-T2V README §4.1', tolerance: TIME_TOLERANCE, check: true, planner: seconds('step-video-t2v', 'h800', 4, 992, 544, 204, 50) },
  { id: 'step-768', model: 'step-video-t2v', what: 'generation time', unit: 'seconds', published: 860, conditions: '768×768, 204 frames, 50 steps, 4 GPUs (80 GB; H800 assumed)', source: 'stepfun-ai/Step-Video-T2V README §4.1', tolerance: TIME_TOLERANCE, check: true, planner: seconds('step-video-t2v', 'h800', 4, 768, 768, 204, 50) },
  { id: 'wan13-4090', model: 'wan2.1-t2v-1.3b', what: 'generation time ("about 4 minutes")', unit: 'seconds', published: 240, conditions: '832×480, 81 frames, 50 steps, 1 × RTX 4090 (with offload)', source: 'Wan-Video/Wan2.1 README', tolerance: TIME_TOLERANCE, check: true, planner: seconds('wan2.1-t2v-1.3b', 'rtx-4090', 1, 832, 480, 81, 50) },
  { id: 'hunyuan-l20-1', model: 'hunyuanvideo', what: 'generation time', unit: 'seconds', published: 6043.88, conditions: '1280×720, 129 frames, 50 steps, 1 × L20', source: 'xDiT docs/performance/hunyuanvideo.md', tolerance: TIME_TOLERANCE, check: false, note: "L20's peak is uncertain [U]; the published time implies >80% of our assumed peak, so the catalog's peak is likely too low", planner: seconds('hunyuanvideo', 'l20', 1, 1280, 720, 129, 50) },
  { id: 'ltx-h100', model: 'ltx-video-2b', what: 'generation time', unit: 'seconds', published: 2, conditions: '768×512, 121 frames, 20 steps, 1 × H100', source: 'arXiv 2501.00103, abstract', tolerance: TIME_TOLERANCE, check: false, note: 'short sequences (6,144 tokens) run far above the long-sequence efficiency, and the guidance setting of the timed run is not stated', planner: seconds('ltx-video-2b', 'h100', 1, 768, 512, 121, 20) },
];

/** planner ÷ published, and whether it is within tolerance. */
export function compareFigure(f: PublishedFigure): { planner: number; ratio: number; within: boolean } {
  const planner = f.planner();
  const ratio = planner / f.published;
  return { planner, ratio, within: ratio <= f.tolerance && ratio >= 1 / f.tolerance };
}
