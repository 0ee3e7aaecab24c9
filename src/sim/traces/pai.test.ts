import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTrace } from './parse-trace.ts';

const csv = (...lines: string[]): string => lines.join('\n') + '\n';
const pai = (text: string, skipBadRows = false) => parseTrace(text, 'pai', { file: 'pai.csv', skipBadRows });

test('the clamped task sample: one org, "pai"', () => {
  const t = pai(csv('job_id,arrival_s,service_sec,gpu_count', 'ali-e2-worker#384494,16670.0,167731.0,8', 'ali-5d-worker#319385,16000.0,172800.0,2'));
  assert.deepEqual(
    t.jobs.map((j) => [j.id, j.org, j.gpus, j.submitS, j.durationS]),
    [
      ['ali-5d-worker#319385', 'pai', 2, 0, 172800],
      ['ali-e2-worker#384494', 'pai', 8, 670, 167731],
    ],
  );
});

// The official pai_task_table.csv has no header: job_name,task_name,inst_num,status,start_time,end_time,plan_cpu,plan_mem,plan_gpu,gpu_type.
const TASKS = csv(
  '4f05,tensorflow,1.0,Terminated,1591580735.0,1591580826.0,600.0,29.29,50.0,MISC',
  '4f05,worker,3.0,Terminated,1591580700.0,1591584300.0,600.0,29.29,50.0,V100',
  '4f05,ps,2.0,Terminated,1591580700.0,1591584300.0,400.0,10.0,,',
  '7a1c,worker,1.0,Running,1591590000.0,,600.0,29.29,100.0,T4',
  '8b2d,worker,8.0,Terminated,1591590000.0,1591590100.0,600.0,29.29,100.0,V100M32',
);

test('the header-less task table: GPUs = ceil(instances × percent / 100), launch to end', () => {
  const t = pai(TASKS);
  assert.deepEqual(
    t.jobs.map((j) => [j.id, j.gpus, j.submitS, j.durationS, j.gpuTypes]),
    [
      ['4f05/worker', 2, 0, 3600, null],
      ['4f05/tensorflow', 1, 35, 91, null],
      ['8b2d/worker', 8, 9300, 100, null],
    ],
  );
  assert.equal(t.droppedCpuOnly, 1, 'a parameter server asks for no GPU');
  assert.equal(t.droppedUnfinished, 1, 'a running task has no end time');
});

test('the task table with its header reads the same', () => {
  const header = 'job_name,task_name,inst_num,status,start_time,end_time,plan_cpu,plan_mem,plan_gpu,gpu_type';
  assert.deepEqual(pai(header + '\n' + TASKS).jobs, pai(TASKS).jobs);
});

test('a task ending before it starts is a bad row, on its file line', () => {
  const text = csv('4f05,worker,1.0,Terminated,1591580700.0,1591580600.0,600.0,29.29,50.0,V100', '4f06,worker,x,Terminated,1591580700.0,1591580800.0,600.0,29.29,50.0,V100');
  assert.throws(() => pai(text), /pai\.csv:1: column "end_time": 1591580600 is not after start_time 1591580700/);
  assert.deepEqual(
    pai(text, true).skipped.map((s) => s.message),
    ['pai.csv:1: column "end_time": 1591580600 is not after start_time 1591580700', 'pai.csv:2: column "inst_num": "x" is not a number'],
  );
});
