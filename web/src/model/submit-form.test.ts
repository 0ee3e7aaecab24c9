import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NEW_SUBMIT_FORM, submissionOf } from './submit-form.ts';

test('a filled form becomes the API’s submission: the command runs under sh -c, types split on commas and spaces', () => {
  const result = submissionOf({ ...NEW_SUBMIT_FORM, name: ' train ', org: 'acme', gpus: '16', gpuTypes: 'h100, a100 l40s', estimateMinutes: '90', command: ' python train.py --epochs 3 ', priority: '5', retries: '2' }, true);
  assert.deepEqual(result, {
    ok: true,
    body: { name: 'train', org_id: 'acme', gpus: 16, gpu_types: ['h100', 'a100', 'l40s'], estimate_s: 5400, command: ['sh', '-c', 'python train.py --epochs 3'], priority: 5, max_retries: 2, gang: true, preemptible: true },
  });
});

test('empty optional fields mean any GPU type and no command; a non-admin names no org', () => {
  const result = submissionOf(NEW_SUBMIT_FORM, false);
  assert.ok(result.ok);
  assert.equal(result.body.gpu_types, null);
  assert.equal(result.body.command, null);
  assert.equal('org_id' in result.body, false);
});

test('each field out of the API’s bounds is pointed at, and nothing is sent', () => {
  const result = submissionOf({ ...NEW_SUBMIT_FORM, gpus: '1.5', gpuTypes: 'h100 !bad', estimateMinutes: '0', priority: '2000', retries: '-1', name: 'x'.repeat(201) }, true);
  assert.deepEqual(result, {
    ok: false,
    errors: { name: 'submit.errorName', org: 'submit.errorOrg', gpus: 'submit.errorGpus', gpuTypes: 'submit.errorGpuTypes', estimateMinutes: 'submit.errorEstimate', priority: 'submit.errorPriority', retries: 'submit.errorRetries' },
  });
  assert.equal(submissionOf({ ...NEW_SUBMIT_FORM, gpus: '' }, false).ok, false, 'an empty number is not 0');
});
