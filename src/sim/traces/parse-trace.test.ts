import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseTrace } from './parse-trace.ts';

const csv = (...lines: string[]): string => lines.join('\n') + '\n';
const generic = (text: string, skipBadRows = false) => parseTrace(text, 'generic', { file: 'jobs.csv', skipBadRows });
const invalid = (message: string) => (e: Error & { code?: string; field?: string }) => e.code === 'invalid_input' && e.field === 'trace' && e.message.includes(message);

describe('ordering', () => {
  test('jobs come sorted by submit time, shifted so the first submits at 0; ties keep file order', () => {
    const t = generic(csv('submit_s,duration_s,gpus,org', '500,10,1,a', '200,20,2,b', '500,30,1,c', '300,40,4,a'));
    assert.deepEqual(
      t.jobs.map((j) => [j.id, j.submitS, j.org]),
      [
        ['job-1', 0, 'b'],
        ['job-3', 100, 'a'],
        ['job-0', 300, 'a'],
        ['job-2', 300, 'c'],
      ],
    );
  });
  test('the shift starts at the first job kept, not at a dropped row', () => {
    const t = generic(csv('submit_s,duration_s,gpus,org', '100,10,0,cpu', '150,10,1,a', '160,10,1,a'));
    assert.deepEqual(
      t.jobs.map((j) => j.submitS),
      [0, 10],
    );
  });
});

test('a job is an oracle-estimated gang with the model defaults', () => {
  const [job] = generic(csv('submit_s,duration_s,gpus,org', '7,3600.5,8,acme')).jobs;
  assert.deepEqual(job, { id: 'job-0', org: 'acme', gpus: 8, gpuTypes: null, gang: true, submitS: 0, estimateS: 3600.5, durationS: 3600.5, priority: 0, preemptible: true, checkpointIntervalS: 3600 });
});

test('fractional GPUs round up; CPU-only jobs are dropped and counted', () => {
  const t = generic(csv('submit_s,duration_s,gpus,org', '0,1,0.25,a', '1,1,0,a', '2,1,2.5,a', '3,1,0,b', '4,1,3.0000000000001,a'));
  assert.deepEqual(
    t.jobs.map((j) => j.gpus),
    [1, 3, 3],
  );
  assert.equal(t.droppedCpuOnly, 2);
});

describe('bad rows', () => {
  const text = csv('submit_s,duration_s,gpus,org', '0,10,1,a', '5,abc,1,a', '6,10,-1,a', '7,0,1,a', '8,10,1,', '9,10,1,a');
  test('the first bad row throws, naming file:line, the column and the problem', () => {
    assert.throws(() => generic(text), invalid('jobs.csv:3: column "duration_s": "abc" is not a number; accepted: a number'));
  });
  test('with skipBadRows every bad row is recorded and the rest are kept', () => {
    const t = generic(text, true);
    assert.deepEqual(
      t.jobs.map((j) => j.id),
      ['job-0', 'job-5'],
    );
    assert.deepEqual(t.skipped, [
      { line: 3, column: 'duration_s', message: 'jobs.csv:3: column "duration_s": "abc" is not a number' },
      { line: 4, column: 'gpus', message: 'jobs.csv:4: column "gpus": -1 is negative' },
      { line: 5, column: 'duration_s', message: 'jobs.csv:5: column "duration_s": 0 is not above zero' },
      { line: 6, column: 'org', message: 'jobs.csv:6: column "org": is empty' },
    ]);
  });
  test('a repeated id is a bad row pointing at the first', () => {
    assert.throws(() => generic(csv('id,submit_s,duration_s,gpus,org', 'x,0,1,1,a', 'y,0,1,1,a', 'x,0,1,1,a')), invalid('jobs.csv:4: column "id": duplicate id "x", first at line 2'));
  });
  test('a missing header column is an error even with skipBadRows', () => {
    assert.throws(() => generic(csv('submit_s,duration_s,gpu,org', '0,1,1,a'), true), invalid('no column "gpus"; the header found is: submit_s,duration_s,gpu,org'));
  });
});

test('CRLF line ends, a byte-order mark and blank trailing lines are read as plain lines', () => {
  const t = generic('\uFEFFsubmit_s,duration_s,gpus,org\r\n5,10,1,"acme, inc"\r\n2,10,1,b\r\n\r\n\r\n');
  assert.deepEqual(
    t.jobs.map((j) => [j.org, j.submitS, j.durationS]),
    [
      ['b', 0, 10],
      ['acme, inc', 3, 10],
    ],
  );
  assert.deepEqual(t.skipped, []);
});

test('the trace says what it is and where it came from', () => {
  const t = generic(csv('submit_s,duration_s,gpus,org'));
  assert.deepEqual(t, { format: 'generic', file: 'jobs.csv', jobs: [], skipped: [], droppedCpuOnly: 0, droppedUnfinished: 0 });
});
