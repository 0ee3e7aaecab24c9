import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTrace } from './parse-trace.ts';

const csv = (...lines: string[]): string => lines.join('\n') + '\n';

test('columns in any order, with optional id and gpu_type', () => {
  const t = parseTrace(csv('org,gpu_type,gpus,id,duration_s,submit_s', 'acme,H100,8,train-1,3600,10', 'beta,,1,,60,20', 'acme,A100|h800,4,x,5,30'), 'generic', { file: 'g.csv' });
  assert.deepEqual(
    t.jobs.map((j) => [j.id, j.org, j.gpus, j.gpuTypes, j.submitS, j.durationS]),
    [
      ['train-1', 'acme', 8, ['h100'], 0, 3600],
      ['job-1', 'beta', 1, null, 10, 60],
      ['x', 'acme', 4, ['a100', 'h800'], 20, 5],
    ],
  );
});

test('a negative submit time is a bad row', () => {
  assert.throws(() => parseTrace(csv('submit_s,duration_s,gpus,org', '-5,1,1,a'), 'generic', { file: 'g.csv' }), /g\.csv:2: column "submit_s": -5 is negative/);
});
