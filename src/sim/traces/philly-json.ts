import { InvalidInputError } from '../../model/errors.ts';
import { RowError, type TraceReader, type TraceRow } from './reader.ts';
import { parseUtcDateTime } from './utc-time.ts';

const ACCEPTED_LOG = "Philly's cluster_job_log: a JSON array of {status, vc, jobid, user, submitted_time, attempts}";
const ACCEPTED_TIME = 'a date-time YYYY-MM-DD HH:MM:SS';

/**
 * The official Microsoft Philly job log (`cluster_job_log` in msr-fiddle/philly-traces):
 * a JSON array of {status, vc, jobid, user, submitted_time, attempts: [{start_time,
 * end_time, detail: [{ip, gpus: [...]}]}]}. A job retried after a failure has
 * several attempts. Rows are the array's entries, numbered from 0.
 *
 * A job runs for the sum of its finished attempts: the gaps between them are time
 * spent queued for a retry, holding no GPUs. It needs the most GPUs any attempt
 * held. A job with no finished attempt (never started, or still running when the
 * log was cut) is dropped as unfinished.
 */
export const PHILLY_JSON: TraceReader = {
  unit: 'entry',
  recognizes: (head) => head.trimStart().startsWith('['),
  read(text, file, sink) {
    let log: unknown;
    try {
      log = JSON.parse(text);
    } catch (err) {
      throw new InvalidInputError('trace', `${file}: not valid JSON: ${err instanceof Error ? err.message : String(err)}`, ACCEPTED_LOG);
    }
    if (!Array.isArray(log)) throw new InvalidInputError('trace', `${file}: the JSON is not an array of jobs`, ACCEPTED_LOG);
    log.forEach((entry: unknown, n) => {
      sink.row(n, 'jobid', () => jobOf(entry, n));
    });
  },
};

function jobOf(entry: unknown, n: number): TraceRow | null {
  if (!isRecord(entry)) throw new RowError('(entry)', 'is not an object', 'an object {status, vc, jobid, user, submitted_time, attempts}');
  const submitted = time(entry.submitted_time, 'submitted_time');
  if (submitted === undefined) throw new RowError('submitted_time', 'is missing', ACCEPTED_TIME);
  const vc = entry.vc;
  if (typeof vc !== 'string' || vc === '') throw new RowError('vc', 'is missing or not a string', 'the virtual cluster id, a string');
  const jobid = entry.jobid ?? `job-${n}`;
  if (typeof jobid !== 'string' || jobid === '') throw new RowError('jobid', `${JSON.stringify(jobid)} is not a job id`, 'a non-empty string');
  if (!Array.isArray(entry.attempts)) throw new RowError('attempts', 'is missing or not a list', 'a list of {start_time, end_time, detail}');

  let gpus = 0;
  let ran = 0;
  let finished = false;
  entry.attempts.forEach((attempt: unknown, k) => {
    const at = `attempts[${k}]`;
    if (!isRecord(attempt)) throw new RowError(at, 'is not an object', 'an object {start_time, end_time, detail}');
    gpus = Math.max(gpus, gpusHeld(attempt.detail, `${at}.detail`));
    const start = time(attempt.start_time, `${at}.start_time`);
    const end = time(attempt.end_time, `${at}.end_time`);
    if (start === undefined || end === undefined) return;
    if (end < start) throw new RowError(`${at}.end_time`, `${String(attempt.end_time)} is before start_time ${String(attempt.start_time)}`, 'an end_time no earlier than start_time');
    ran += end - start;
    finished = true;
  });
  if (!finished) return null;
  if (ran <= 0) throw new RowError('attempts', 'the finished attempts ran for 0 s', 'attempts that ran for more than 0 s');
  return { id: jobid, org: vc, gpus, gpuTypes: null, submitS: submitted, durationS: ran };
}

/** Seconds of a time field, or undefined when the log lacks it: null, '' or "None" (how the Philly log writes a time it lacks). */
function time(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null || value === '' || value === 'None') return undefined;
  const t = typeof value === 'string' ? parseUtcDateTime(value) : undefined;
  if (t === undefined) throw new RowError(field, `${JSON.stringify(value)} is not a date-time`, ACCEPTED_TIME);
  return t;
}

/** GPUs one attempt held: the GPUs listed on all its servers. */
function gpusHeld(detail: unknown, field: string): number {
  if (detail === undefined || detail === null) return 0;
  if (!Array.isArray(detail)) throw new RowError(field, 'is not a list', 'a list of {ip, gpus}');
  let held = 0;
  detail.forEach((server: unknown, i) => {
    if (!isRecord(server) || !Array.isArray(server.gpus)) throw new RowError(`${field}[${i}].gpus`, 'is missing or not a list', 'a list of GPU names');
    held += server.gpus.length;
  });
  return held;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
