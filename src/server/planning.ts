import { isSuanliError } from '../model/errors.ts';
import { findGpu, findVideoModel, planTrain, planVideo, withEfficiency, type TrainPlan, type VideoPlan } from '../plan/index.ts';
import { ApiError } from './errors.ts';
import { JOB_BOUNDS, type PlanRequest } from './schemas.ts';

const DEFAULT_VIDEO_MODEL = 'wan2.1-t2v-14b';

/**
 * Runs the planner library on an API request (the same library and defaults as
 * `suanli plan video|train`). The planner's errors name CLI flags
 * (`price-per-gpu-hour`); here they name the JSON field under `prefix`.
 */
export function runPlan(req: PlanRequest, prefix = ''): VideoPlan | TrainPlan {
  try {
    const model = findVideoModel(req.model ?? DEFAULT_VIDEO_MODEL);
    const price = req.price_per_gpu_hour === undefined ? {} : { pricePerGpuHour: req.price_per_gpu_hour };
    const fps = req.fps ?? model.defaultFps;
    if (req.kind === 'video') {
      const length = req.seconds !== undefined ? { seconds: req.seconds, ...(req.frames === undefined ? {} : { frames: req.frames }) } : { frames: req.frames ?? model.native.frames };
      return planVideo({
        model, gpu: withEfficiency(findGpu(req.gpu), req.efficiency), width: req.width ?? model.native.width, height: req.height ?? model.native.height,
        ...length, fps, steps: req.steps ?? model.defaultSteps, gpus: req.gpus, ...price,
        ...(req.window_s === undefined ? {} : { attention: { kind: 'window', seconds: req.window_s } }),
      });
    }
    return planTrain({
      model, gpu: findGpu(req.gpu), gpus: req.gpus, fps, epochs: req.epochs, ...price, ...(req.mfu === undefined ? {} : { mfu: req.mfu }),
      mix: req.mix.map((b) => ({ width: b.width, height: b.height, clips: b.clips, ...(b.frames === undefined ? {} : { frames: b.frames }), ...(b.seconds === undefined ? {} : { seconds: b.seconds }) })),
    });
  } catch (err) {
    if (!isSuanliError(err) || !('field' in err) || typeof err.field !== 'string') throw err;
    const field = `${prefix}${err.field.replaceAll('-', '_')}`;
    throw new ApiError('invalid_request', `${field}${err.message.slice(err.field.length)}`, { field, cause: err });
  }
}

/**
 * What a job sized by a plan asks for: the plan's GPUs, its wall time, its GPU type.
 * A plan that does not fit is bad input, and so is one beyond the bounds of a job
 * given explicitly (JOB_BOUNDS): the demand is the same whichever way it was asked.
 */
export function demandFromPlan(plan: VideoPlan | TrainPlan): { gpus: number; estimateS: number; gpuTypes: string[] } {
  if (!plan.fits) {
    const why = plan.schema === 'suanli.plan.train/1' ? (plan.no_fit_reason ?? 'no parallel layout fits') : `it needs at least ${plan.min_gpus} × ${plan.gpu} to fit in memory`;
    throw new ApiError('invalid_request', `plan.gpus: the plan does not fit on ${plan.gpus} × ${plan.gpu}: ${why}`, { field: 'plan.gpus' });
  }
  if (!(plan.gpus <= JOB_BOUNDS.gpus)) {
    throw new ApiError('invalid_request', `plan.gpus: the plan takes ${plan.gpus} GPUs, over the ${JOB_BOUNDS.gpus} a job may ask for`, { field: 'plan.gpus' });
  }
  if (!(plan.wall_seconds > 0 && plan.wall_seconds <= JOB_BOUNDS.estimateS)) {
    const runs = `${plan.wall_seconds.toPrecision(3)} s on ${plan.gpus} × ${plan.gpu}`;
    throw new ApiError('invalid_request', `plan: the plan runs ${runs}, over the ${JOB_BOUNDS.estimateS.toPrecision(1)} s an estimate_s may be; plan less work or more GPUs`, { field: 'plan' });
  }
  return { gpus: plan.gpus, estimateS: plan.wall_seconds, gpuTypes: [plan.gpu] };
}
