import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTrace } from './parse-trace.ts';

const csv = (...lines: string[]): string => lines.join('\n') + '\n';
const philly = (text: string) => parseTrace(text, 'philly-pollux', { file: 'philly.csv' });

// Three jobs in Pollux's unsorted order, and the same three as the sorted file has them.
const UNSORTED = csv('timestamp,duration,num_gpus,gpu_time,cluster', '2017-10-09 07:01:55,66.0,1,66.0,11cb48', '2017-10-09 06:13:03,2951.0,8,23608.0,6214e9', '2017-10-09 07:01:55,860662.0,2,1721324.0,6c71a0');
const SORTED = csv('job_idx,vc,timestamp,submit_s,duration_s,num_gpus,gpu_time_s', '1,6214e9,2017-10-09 06:13:03,0,2951.0,8,23608.0', '0,11cb48,2017-10-09 07:01:55,2932,66.0,1,66.0', '2,6c71a0,2017-10-09 07:01:55,2932,860662.0,2,1721324.0');

test('the unsorted Pollux file: submit time from the timestamp, org from the cluster, ids by row', () => {
  assert.deepEqual(
    philly(UNSORTED).jobs.map((j) => [j.id, j.org, j.gpus, j.submitS, j.durationS]),
    [
      ['job-1', '6214e9', 8, 0, 2951],
      ['job-0', '11cb48', 1, 2932, 66],
      ['job-2', '6c71a0', 2, 2932, 860662],
    ],
  );
});

test('the sorted file gives the same jobs, ids included', () => {
  assert.deepEqual(philly(SORTED).jobs, philly(UNSORTED).jobs);
});

test('a timestamp may also be seconds', () => {
  const t = philly(csv('timestamp,duration,num_gpus,gpu_time,cluster', '100,5,1,5,a', '40,5,1,5,b'));
  assert.deepEqual(
    t.jobs.map((j) => [j.org, j.submitS]),
    [
      ['b', 0],
      ['a', 60],
    ],
  );
});

test('a bad timestamp names its line and column', () => {
  assert.throws(() => philly(csv('timestamp,duration,num_gpus,gpu_time,cluster', '2017-10-09 07:01:55,66.0,1,66.0,a', '2017-10-32 07:01:55,66.0,1,66.0,a')), /philly\.csv:3: column "timestamp": "2017-10-32 07:01:55" is neither seconds nor a date-time/);
});

test('a header that is neither layout names what the closest lacks and shows the header', () => {
  assert.throws(() => philly(csv('timestamp,duration,num_gpus,gpu_time', '1,1,1,1')), /no column "cluster"; the header found is: timestamp,duration,num_gpus,gpu_time/);
});
