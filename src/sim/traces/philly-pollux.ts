import { csvReader } from './csv.ts';

/**
 * Microsoft Philly (Sep–Dec 2017) as Pollux's artifact ships it, one row per job,
 * and the same jobs sorted with their row index kept. Both give the same jobs
 * with the same ids: `job-<n>` with n the row's index in the unsorted file,
 * which the sorted file keeps as `job_idx`. The org is the virtual cluster.
 */
export const PHILLY_POLLUX = csvReader('philly-pollux', [
  {
    // philly_pollux_jobs.csv (petuum/adaptdl osdi21-artifact): timestamp is the submit time, rows unsorted.
    required: ['timestamp', 'duration', 'num_gpus', 'cluster'],
    toRow: (r, n) => ({
      id: `job-${n}`,
      org: r.text('cluster'),
      gpus: r.nonNegative('num_gpus'),
      gpuTypes: null,
      submitS: r.time('timestamp'),
      durationS: r.positive('duration'),
    }),
  },
  {
    // philly_pollux_jobs_sorted_with_ids.csv: submit_s counts from the first job.
    required: ['job_idx', 'vc', 'submit_s', 'duration_s', 'num_gpus'],
    idColumn: 'job_idx',
    toRow: (r) => ({
      id: `job-${r.text('job_idx')}`,
      org: r.text('vc'),
      gpus: r.nonNegative('num_gpus'),
      gpuTypes: null,
      submitS: r.nonNegative('submit_s'),
      durationS: r.positive('duration_s'),
    }),
  },
]);
