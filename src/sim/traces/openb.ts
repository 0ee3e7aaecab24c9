import { csvReader } from './csv.ts';
import { RowError } from './reader.ts';

/**
 * Alibaba's 2023 GPU-sharing cluster (the OpenB pod list of "Beware of
 * Fragmentation", ATC'23): one row per pod, times in seconds. A pod lives from
 * scheduling (or creation, if never scheduled) to deletion. A pod sharing a GPU
 * (gpu_milli < 1000) still needs the whole device here: the pool schedules whole
 * GPUs. gpu_spec lists the GPU models a pod accepts, `|`-separated.
 */
export const OPENB = csvReader('openb', [
  {
    required: ['name', 'num_gpu', 'gpu_spec', 'creation_time', 'deletion_time', 'scheduled_time'],
    idColumn: 'name',
    toRow: (r) => {
      const created = r.nonNegative('creation_time');
      const deleted = r.nonNegative('deletion_time');
      const scheduled = r.optional('scheduled_time') === undefined ? undefined : r.nonNegative('scheduled_time');
      const start = scheduled ?? created;
      if (deleted <= start) {
        throw new RowError('deletion_time', `${deleted} is not after ${scheduled === undefined ? 'creation_time' : 'scheduled_time'} ${start}`, 'deletion_time > scheduled_time, or > creation_time when scheduled_time is empty');
      }
      return {
        id: r.text('name'),
        org: 'openb',
        gpus: r.nonNegative('num_gpu'),
        gpuTypes: r.gpuTypes('gpu_spec'),
        submitS: created,
        durationS: deleted - start,
      };
    },
  },
]);
