import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTrace } from './parse-trace.ts';

const HEADER = 'vc,job_type,num_steps_arg,needs_data_dir,total_steps,arrival_time_s,scale_factor_gpus,duration_s_v100,duration_s_p100,duration_s_k80';
const csv = (...lines: string[]): string => [HEADER, ...lines].join('\n') + '\n';
const gavel = (text: string, skipBadRows = false) => parseTrace(text, 'gavel', { file: 'gavel.csv', skipBadRows });

test('org is the VC, GPUs the scale factor, duration the V100 time, else P100, else K80', () => {
  const t = gavel(csv('0e4a51,Transformer (batch size 128),-step,1,95121,10.000000,1,17465.876,30948.402,96905.742', 'ee9e8c,"LM (batch size 20), long",--steps,1,100,6.000000,4,,1802.308,3705.374', '0e4a51,A3C,--max-steps,0,100,8.000000,2,,,500.5'));
  assert.deepEqual(
    t.jobs.map((j) => [j.id, j.org, j.gpus, j.submitS, j.durationS]),
    [
      ['job-1', 'ee9e8c', 4, 0, 1802.308],
      ['job-2', '0e4a51', 2, 2, 500.5],
      ['job-0', '0e4a51', 1, 4, 17465.876],
    ],
  );
});

test('a job with no duration on any GPU type is a bad row', () => {
  const text = csv('0e4a51,A3C,--max-steps,0,1934260,343918.000000,4,,,', '0e4a51,A3C,--max-steps,0,1934260,343918.000000,1,10,,');
  assert.throws(() => gavel(text), /gavel\.csv:2: column "duration_s_v100": is empty, and so are duration_s_p100 and duration_s_k80/);
  assert.equal(gavel(text, true).skipped.length, 1);
});

test("Gavel's tab-separated .trace is refused, pointing at the CSV with durations", () => {
  const trace = 'Transformer (batch size 128)\tcd %s/translation && python3 train.py\t-step\t1\t95121\t0.000000\t1\n';
  assert.throws(() => gavel(trace), (e: Error & { field?: string }) => e.field === 'trace' && /gavel\.csv: this is a tab-separated Gavel \.trace, which gives training steps, not run times/.test(e.message) && /accepted: the Gavel CSV with durations/.test(e.message));
});
