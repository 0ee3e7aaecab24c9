import type { CsvLayout } from './csv.ts';

/**
 * `job_id,arrival_s,service_sec,gpu_count`: the layout mystous/gpu_scheduler wrote
 * its Helios Venus and Alibaba PAI samples in (GPU jobs only, durations clamped
 * at 48 h). It names no org, so the caller gives one for the whole file.
 */
export function arrivalServiceLayout(org: string): CsvLayout {
  return {
    required: ['job_id', 'arrival_s', 'service_sec', 'gpu_count'],
    idColumn: 'job_id',
    toRow: (r) => ({
      id: r.text('job_id'),
      org,
      gpus: r.nonNegative('gpu_count'),
      gpuTypes: null,
      submitS: r.nonNegative('arrival_s'),
      durationS: r.positive('service_sec'),
    }),
  };
}
