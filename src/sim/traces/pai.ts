import { arrivalServiceLayout } from './arrival-service.ts';
import { csvReader } from './csv.ts';
import { RowError } from './reader.ts';

/**
 * Alibaba PAI (Jul–Aug 2020). The PAI tables name no user at task level, so the
 * whole file is one org, "pai".
 */
export const PAI = csvReader('pai', [
  // alibaba_pai_tasks_sub16pct_clamped48h.csv: a sample of task instances, fractional GPUs already rounded up.
  arrivalServiceLayout('pai'),
  {
    // The official pai_task_table.csv, published without a header.
    required: ['job_name', 'task_name', 'inst_num', 'status', 'start_time', 'end_time', 'plan_cpu', 'plan_mem', 'plan_gpu', 'gpu_type'],
    headerless: { probe: 'inst_num' },
    idColumn: 'task_name',
    toRow: (r) => {
      // A task still waiting or running when the trace was cut has no end time.
      if (r.optional('end_time') === undefined) return null;
      // start_time is when the task launched: the queueing before it is in pai_job_table, not here.
      const start = r.nonNegative('start_time');
      const end = r.nonNegative('end_time');
      if (end <= start) throw new RowError('end_time', `${end} is not after start_time ${start}`, 'end_time > start_time');
      // plan_gpu is a percentage of one GPU per instance, left empty for CPU-only tasks.
      const percent = r.optional('plan_gpu') === undefined ? 0 : r.nonNegative('plan_gpu');
      return {
        id: `${r.text('job_name')}/${r.text('task_name')}`,
        org: 'pai',
        gpus: (r.nonNegative('inst_num') * percent) / 100,
        // gpu_type is the type the task was given, not one it asked for (that is gpu_type_spec in pai_group_tag_table).
        gpuTypes: null,
        submitS: start,
        durationS: end - start,
      };
    },
  },
]);
