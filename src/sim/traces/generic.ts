import { csvReader } from './csv.ts';

/**
 * Suanli's own trace layout, for hand-written and converted traces: one job per
 * row, `submit_s,duration_s,gpus,org` in any order, optionally `gpu_type` (one
 * type, or several joined by `|`; lower-cased like the GPU catalog's ids) and
 * `id` (default `job-<n>`, n counting rows from 0). Fractional `gpus` round up;
 * 0 marks a CPU-only job.
 */
export const GENERIC = csvReader('generic', [
  {
    required: ['submit_s', 'duration_s', 'gpus', 'org'],
    idColumn: 'id',
    toRow: (r, n) => ({
      id: r.optional('id') ?? `job-${n}`,
      org: r.text('org'),
      gpus: r.nonNegative('gpus'),
      gpuTypes: r.gpuTypes('gpu_type'),
      submitS: r.nonNegative('submit_s'),
      durationS: r.positive('duration_s'),
    }),
  },
]);
