import { arrivalServiceLayout } from './arrival-service.ts';
import { csvReader } from './csv.ts';

/**
 * SenseTime Helios (Apr–Sep 2020): the official per-cluster `cluster_log.csv`,
 * a re-based slice of it in fleetsim's canonical schema, and the clamped
 * all-GPU-jobs sample of the Venus cluster. The org is the virtual cluster.
 */
export const HELIOS = csvReader('helios', [
  {
    // HeliosData cluster_log.csv: submit_time is a wall-clock date-time; duration = end − start in seconds.
    required: ['job_id', 'vc', 'gpu_num', 'submit_time', 'duration'],
    idColumn: 'job_id',
    toRow: (r) => ({
      id: r.text('job_id'),
      org: r.text('vc'),
      gpus: r.nonNegative('gpu_num'),
      gpuTypes: null,
      submitS: r.time('submit_time'),
      durationS: r.positive('duration'),
    }),
  },
  {
    // helios_venus_2vc_sept.csv (fleetsim canonical): tenant is the VC, submit_time in microseconds.
    required: ['job_id', 'tenant', 'submit_time', 'num_chips', 'duration_s'],
    idColumn: 'job_id',
    toRow: (r) => ({
      id: r.text('job_id'),
      org: r.text('tenant'),
      gpus: r.nonNegative('num_chips'),
      gpuTypes: r.gpuTypes('chip_type'),
      submitS: r.nonNegative('submit_time') / 1e6,
      durationS: r.positive('duration_s'),
    }),
  },
  // helios_venus_gpu_jobs_clamped48h.csv: no VC column, so the whole cluster is one org.
  arrivalServiceLayout('venus'),
]);
