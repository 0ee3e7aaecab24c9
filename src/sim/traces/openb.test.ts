import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTrace } from './parse-trace.ts';

const HEADER = 'name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time';
const csv = (...lines: string[]): string => [HEADER, ...lines].join('\n') + '\n';
const openb = (text: string, skipBadRows = false) => parseTrace(text, 'openb', { file: 'openb.csv', skipBadRows });

test('a pod runs from scheduling (or creation, if never scheduled) to deletion; a shared GPU counts whole', () => {
  const t = openb(csv('openb-pod-0001,6000,12288,1,460,,LS,Running,427061,12902960,427100', 'openb-pod-0061,11908,47104,1,1000,,BE,Pending,10001278,10001403,', 'openb-pod-0100,8000,30517,8,1000,V100M16|V100M32,LS,Running,400000,500000,400050'));
  assert.deepEqual(
    t.jobs.map((j) => [j.id, j.org, j.gpus, j.gpuTypes, j.submitS, j.durationS]),
    [
      ['openb-pod-0100', 'openb', 8, ['v100m16', 'v100m32'], 0, 99950],
      ['openb-pod-0001', 'openb', 1, null, 27061, 12902960 - 427100],
      ['openb-pod-0061', 'openb', 1, null, 9601278, 125],
    ],
  );
});

test('CPU-only pods are dropped and counted', () => {
  const t = openb(csv('openb-pod-0001,6000,12288,1,460,,LS,Running,0,100,0', 'openb-pod-0002,6000,12288,0,0,,LS,Running,0,100,0'));
  assert.equal(t.jobs.length, 1);
  assert.equal(t.droppedCpuOnly, 1);
});

test('a pod deleted when created is a bad row; skipBadRows counts it', () => {
  const text = csv('openb-pod-7284,8000,30517,1,230,,BE,Pending,12774000,12774100,', 'openb-pod-7285,8000,30517,1,230,,BE,Pending,12774042,12774042,');
  assert.throws(() => openb(text), /openb\.csv:3: column "deletion_time": 12774042 is not after creation_time 12774042/);
  const t = openb(text, true);
  assert.equal(t.jobs.length, 1);
  assert.deepEqual(
    t.skipped.map((s) => [s.line, s.column]),
    [[3, 'deletion_time']],
  );
});
