import { jobId, orgId } from '../../model/ids.ts';
import { jobDefaults, type JobSpec } from '../../model/job.ts';

/** A job row for tests: org, GPUs, submit time (s), duration (s), and optionally the GPU types it accepts. */
export type JobRow = readonly [org: string, gpus: number, submitS: number, durationS: number, gpuTypes?: readonly string[]];

/** Test builder: jobs from rows, with ids j0, j1, … in row order and the model's defaults elsewhere. */
export function jobs(rows: readonly JobRow[]): JobSpec[] {
  return rows.map(([org, gpus, submitS, durationS, gpuTypes], i) => ({
    ...jobDefaults(),
    id: jobId(`j${i}`),
    org: orgId(org),
    gpus,
    gpuTypes: gpuTypes ?? null,
    submitS,
    estimateS: durationS,
    durationS,
  }));
}
