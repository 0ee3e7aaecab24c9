import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTrace } from './parse-trace.ts';

const gpus = (n: number): string[] => Array.from({ length: n }, (_, i) => `gpu${i}`);
const log = (entries: unknown[]): string => JSON.stringify(entries, null, 2);
const philly = (text: string, skipBadRows = false) => parseTrace(text, 'philly-json', { file: 'cluster_job_log', skipBadRows });

const RETRIED = {
  status: 'Pass',
  vc: 'vc1',
  jobid: 'application_1',
  user: 'u1',
  submitted_time: '2017-10-07 01:11:39',
  attempts: [
    { start_time: '2017-10-07 01:12:09', end_time: '2017-10-07 01:13:23', detail: [{ ip: 'm1', gpus: gpus(4) }] },
    { start_time: '2017-10-07 02:00:00', end_time: '2017-10-07 03:00:00', detail: [{ ip: 'm2', gpus: gpus(8) }, { ip: 'm3', gpus: gpus(8) }] },
    { start_time: '2017-10-07 04:00:00', end_time: null, detail: [{ ip: 'm4', gpus: gpus(8) }] },
  ],
};

test('a retried job runs for the sum of its finished attempts and needs the most GPUs any attempt held', () => {
  const [job] = philly(log([RETRIED])).jobs;
  assert.deepEqual(job && [job.id, job.org, job.gpus, job.submitS, job.durationS], ['application_1', 'vc1', 16, 0, 74 + 3600]);
});

test('jobs sort by submit time; attempts lacking a start or an end are not counted', () => {
  const attempt = (start: string | null, end: string | null) => ({ start_time: start, end_time: end, detail: [{ ip: 'm', gpus: gpus(1) }] });
  const early = { vc: 'vc2', jobid: 'early', submitted_time: '2017-10-07 01:00:00', attempts: [attempt(null, '2017-10-07 01:00:05'), attempt('2017-10-07 01:00:10', '2017-10-07 01:00:40'), attempt('2017-10-07 01:01:00', '')] };
  const t = philly(log([RETRIED, early]));
  assert.deepEqual(
    t.jobs.map((j) => [j.id, j.submitS, j.durationS]),
    [
      ['early', 0, 30],
      ['application_1', 699, 3674],
    ],
  );
});

test('jobs that never finished an attempt are dropped as unfinished; jobs holding no GPU as CPU-only', () => {
  const t = philly(
    log([
      RETRIED,
      { vc: 'vc1', jobid: 'queued', submitted_time: '2017-10-07 02:00:00', attempts: [] },
      { vc: 'vc1', jobid: 'running', submitted_time: '2017-10-07 02:00:00', attempts: [{ start_time: '2017-10-07 02:00:01', end_time: 'None', detail: [] }] },
      { vc: 'vc1', jobid: 'cpu', submitted_time: '2017-10-07 02:00:00', attempts: [{ start_time: '2017-10-07 02:00:01', end_time: '2017-10-07 02:00:09', detail: [] }] },
    ]),
  );
  assert.deepEqual(
    t.jobs.map((j) => j.id),
    ['application_1'],
  );
  assert.equal(t.droppedUnfinished, 2);
  assert.equal(t.droppedCpuOnly, 1);
});

test('a malformed entry names its index and field; skipBadRows records it', () => {
  const bad = [RETRIED, { vc: 'vc1', submitted_time: '2017/10/07', attempts: [] }, { ...RETRIED, jobid: 'b', attempts: [{ start_time: '2017-10-07 02:00:00', end_time: '2017-10-07 01:00:00', detail: [] }] }];
  assert.throws(() => philly(log(bad)), (e: Error & { field?: string }) => e.field === 'trace' && e.message.includes('cluster_job_log: entry 1: field "submitted_time": "2017/10/07" is not a date-time'));
  const t = philly(log(bad), true);
  assert.deepEqual(
    t.skipped.map((s) => [s.line, s.column]),
    [
      [1, 'submitted_time'],
      [2, 'attempts[0].end_time'],
    ],
  );
  assert.equal(t.jobs.length, 1);
});

test('a byte-order mark before the JSON is ignored', () => {
  assert.equal(philly('\uFEFF' + log([RETRIED])).jobs.length, 1);
});

test('text that is not a JSON array of jobs is rejected whole', () => {
  assert.throws(() => philly('[{"vc": '), /cluster_job_log: not valid JSON/);
  assert.throws(() => philly('{"jobs": []}'), /cluster_job_log: the JSON is not an array of jobs/);
});
