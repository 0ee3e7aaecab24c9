import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTrace } from './parse-trace.ts';

const csv = (...lines: string[]): string => lines.join('\n') + '\n';
const helios = (text: string) => parseTrace(text, 'helios', { file: 'cluster_log.csv' });
const summary = (text: string) => helios(text).jobs.map((j) => [j.id, j.org, j.gpus, j.gpuTypes, j.submitS, j.durationS]);

test('the official cluster_log: org is the VC, submit time a date-time or seconds, CPU jobs dropped', () => {
  const header = 'job_id,user,vc,gpu_num,cpu_num,node_num,state,submit_time,start_time,end_time,duration,queue';
  assert.deepEqual(
    summary(csv(header, '6203829,uTHMr,vc6YE,8,48,1,COMPLETED,2020-04-01 00:10:07,2020-04-01 00:10:08,2020-04-01 01:10:08,3600,1', '6203830,uX,vcA,1,6,1,FAILED,2020-04-01 00:00:07,2020-04-01 00:00:08,2020-04-01 00:00:22,14,1')),
    [
      ['6203830', 'vcA', 1, null, 0, 14],
      ['6203829', 'vc6YE', 8, null, 600, 3600],
    ],
  );
  const t = helios(csv(header, '1,u,vcA,2,6,1,COMPLETED,1585699200,,,100,0', '2,u,vcA,0,6,1,COMPLETED,1585699300,,,100,0'));
  assert.deepEqual(
    t.jobs.map((j) => [j.id, j.submitS]),
    [['1', 0]],
  );
  assert.equal(t.droppedCpuOnly, 1);
});

test('the 2-VC September slice: tenant is the org, submit_time in microseconds', () => {
  const header = 'job_id,user,tenant,class,submit_time,num_chips,chip_type,num_nodes,duration_s,walltime_limit_s,final_status';
  assert.deepEqual(summary(csv(header, '765565,uJjMX,vcvGl,finetune,5842000000,16,,2,46520.0,46520.0,CANCELED', '765563,uH3om,vcvlY,finetune,5835000000,128,A100,16,24.0,24.0,CANCELED')), [
    ['765563', 'vcvlY', 128, ['a100'], 0, 24],
    ['765565', 'vcvGl', 16, null, 7, 46520],
  ]);
});

test('the clamped Venus sample has no VC: the whole cluster is org "venus"', () => {
  assert.deepEqual(summary(csv('job_id,arrival_s,service_sec,gpu_count', '363167#0,0.0,172800.0,32', '394948#2,651507.0,172800.0,8')), [
    ['363167#0', 'venus', 32, null, 0, 172800],
    ['394948#2', 'venus', 8, null, 651507, 172800],
  ]);
});

test('a zero duration is a bad row naming its column', () => {
  assert.throws(() => helios(csv('job_id,arrival_s,service_sec,gpu_count', '1,0,0,1')), /cluster_log\.csv:2: column "service_sec": 0 is not above zero/);
});
