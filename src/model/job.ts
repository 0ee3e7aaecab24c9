import type { JobId, OrgId } from './ids.ts';
import type { SpanSpec } from './span.ts';

/**
 * A job as the scheduler sees it. All times are seconds on the driver's clock
 * (virtual in the simulator, wall-clock in the control plane).
 */
export interface JobSpec {
  readonly id: JobId;
  readonly org: OrgId;
  /** GPUs the job needs at once. */
  readonly gpus: number;
  /** GPU types the job may run on; null means any. */
  readonly gpuTypes: readonly string[] | null;
  /** All-or-nothing: every GPU starts together or none does (distributed training). */
  readonly gang: boolean;
  readonly submitS: number;
  /** The submitter's estimate of the run time, used by duration-aware policies. */
  readonly estimateS: number;
  /** The true run time; known only to the simulator. */
  readonly durationS: number;
  /** Higher runs first within an org's share (0 by default). */
  readonly priority: number;
  readonly preemptible: boolean;
  /** Seconds between checkpoints; work since the last one is lost on preemption. null: never checkpoints, all work is lost. */
  readonly checkpointIntervalS: number | null;
  /** Set when the job may span sites (low-communication data parallelism); `gpus` is then a whole number of replicas. */
  readonly span?: SpanSpec | null;
}

/** Defaults for the fields traces do not carry. */
export function jobDefaults(): Pick<JobSpec, 'gpuTypes' | 'gang' | 'priority' | 'preemptible' | 'checkpointIntervalS'> {
  return { gpuTypes: null, gang: true, priority: 0, preemptible: true, checkpointIntervalS: 3600 };
}
