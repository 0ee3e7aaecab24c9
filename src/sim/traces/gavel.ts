import { InvalidInputError } from '../../model/errors.ts';
import { csvReader, firstLine } from './csv.ts';
import { RowError, type TraceReader } from './reader.ts';

/** Per-GPU-type run times, in order of preference: the V100 time when Gavel measured one. */
const DURATIONS = ['duration_s_v100', 'duration_s_p100', 'duration_s_k80'] as const;

/**
 * Gavel's Philly-derived traces (one per Philly VC) with per-GPU-type durations
 * computed from Gavel's measured throughputs. The org is the VC; a job runs for
 * its V100 time, or its P100 or K80 time where Gavel has no V100 throughput for it.
 */
const WITH_DURATIONS = csvReader('gavel', [
  {
    required: ['vc', 'arrival_time_s', 'scale_factor_gpus', ...DURATIONS],
    toRow: (r, n) => {
      const column = DURATIONS.find((c) => r.optional(c) !== undefined);
      if (column === undefined) throw new RowError(DURATIONS[0], `is empty, and so are ${DURATIONS.slice(1).join(' and ')}: Gavel has no throughput for this job`, 'a duration for at least one GPU type');
      return {
        id: `job-${n}`,
        org: r.text('vc'),
        gpus: r.nonNegative('scale_factor_gpus'),
        gpuTypes: null,
        submitS: r.nonNegative('arrival_time_s'),
        durationS: r.positive(column),
      };
    },
  },
]);

/**
 * Gavel's own `.trace` files are tab-separated and give each job a number of
 * training steps, not seconds: turning steps into time needs Gavel's throughput
 * table, a second file. They are recognized only to say so.
 */
export const GAVEL: TraceReader = {
  unit: 'line',
  recognizes: (head) => head.includes('\t') || WITH_DURATIONS.recognizes(head),
  read(text, file, sink) {
    if (firstLine(text)?.includes('\t')) {
      throw new InvalidInputError(
        'trace',
        `${file}: this is a tab-separated Gavel .trace, which gives training steps, not run times; durations need Gavel's throughputs`,
        'the Gavel CSV with durations (vc,job_type,…,arrival_time_s,scale_factor_gpus,duration_s_v100,duration_s_p100,duration_s_k80), e.g. gavel_msr_seed0_all_vcs_with_durations.csv',
      );
    }
    WITH_DURATIONS.read(text, file, sink);
  },
};
