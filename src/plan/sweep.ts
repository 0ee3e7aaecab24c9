import { InvalidInputError } from '../model/errors.ts';
import { planVideo, type VideoPlan, type VideoRequest } from './video-cost.ts';
import { positiveNumber } from './validate.ts';

/** One point of a sweep: a label for tables and charts, and the fields it changes. */
export interface SweepPoint {
  readonly label: string;
  readonly value: number;
  readonly change: Partial<Pick<VideoRequest, 'seconds' | 'frames' | 'width' | 'height' | 'steps' | 'gpus' | 'fps'>>;
}

export interface SweepRow {
  readonly value: string;
  readonly frames: number;
  readonly seconds: number;
  readonly video_tokens: number;
  readonly sequence_tokens: number;
  readonly flops_total_full: number;
  readonly flops_total_window: number;
  readonly attention_share_full: number;
  readonly attention_share_window: number;
  readonly wall_seconds_full: number;
  readonly wall_seconds_window: number;
  readonly gpu_hours_full: number;
  readonly gpu_hours_window: number;
  readonly cost_full: number | null;
  readonly cost_window: number | null;
  readonly min_gpus_full: number;
  readonly min_gpus_window: number;
  readonly min_gpus_no_flash_full: number;
  /** How many times more the full-attention video costs than the windowed one. */
  readonly full_over_window: number;
}

/** The stable JSON shape of `suanli plan sweep --json` (schema suanli.plan.sweep/1). */
export interface Sweep {
  readonly schema: 'suanli.plan.sweep/1';
  readonly axis: string;
  readonly model: string;
  readonly gpu: string;
  readonly window_seconds: number;
  readonly rows: readonly SweepRow[];
  /** The full plans behind each row, for callers who want every figure. */
  readonly plans: readonly { readonly full: VideoPlan; readonly window: VideoPlan }[];
}

/**
 * Plans the same request at each point, once with full 3D attention (cost grows
 * with the square of the tokens) and once with each query attending only to a
 * window of `windowSeconds` of latent frames (sliding-window or chunked
 * generation: cost grows linearly once the video is longer than the window).
 */
export function planSweep(base: VideoRequest, axis: string, points: readonly SweepPoint[], windowSeconds: number): Sweep {
  positiveNumber('window', windowSeconds);
  if (points.length === 0) throw new InvalidInputError(axis, 'the sweep has no values', 'a comma-separated list, e.g. 4,6,60');
  const plans = points.map((p) => {
    const req: VideoRequest = { ...base, ...p.change };
    return { full: planVideo({ ...req, attention: { kind: 'full' } }), window: planVideo({ ...req, attention: { kind: 'window', seconds: windowSeconds } }) };
  });
  const rows = plans.map(({ full, window }, i): SweepRow => ({
    value: points[i]?.label ?? '',
    frames: full.frames,
    seconds: full.seconds,
    video_tokens: full.video_tokens,
    sequence_tokens: full.sequence_tokens,
    flops_total_full: full.flops_total,
    flops_total_window: window.flops_total,
    attention_share_full: full.attention_share,
    attention_share_window: window.attention_share,
    wall_seconds_full: full.wall_seconds,
    wall_seconds_window: window.wall_seconds,
    gpu_hours_full: full.gpu_hours,
    gpu_hours_window: window.gpu_hours,
    cost_full: full.cost,
    cost_window: window.cost,
    min_gpus_full: full.min_gpus,
    min_gpus_window: window.min_gpus,
    min_gpus_no_flash_full: full.min_gpus_no_flash,
    full_over_window: full.flops_total / window.flops_total,
  }));
  return { schema: 'suanli.plan.sweep/1', axis, model: base.model.id, gpu: base.gpu.id, window_seconds: windowSeconds, rows, plans };
}
