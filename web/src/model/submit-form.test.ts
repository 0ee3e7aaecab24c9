import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DiagnosisJson, PlanRequestJson } from '../api/types.ts';
import planTrain from './fixtures/plan-train.json' with { type: 'json' };
import planVideo from './fixtures/plan-video.json' with { type: 'json' };
import { draftOf, formOfJob, formOfPlan, NEW_SUBMIT_FORM, spanningMightHelp, submissionOf, submitFieldOf } from './submit-form.ts';
import { job, TRAIN_PLAN, VIDEO_PLAN } from './test-data.ts';

const VIDEO_REQUEST = planVideo.request as PlanRequestJson;
const TRAIN_REQUEST = planTrain.request as PlanRequestJson;

test('a filled form becomes the API’s submission: the command runs under sh -c, types split on commas and spaces', () => {
  const result = submissionOf({ ...NEW_SUBMIT_FORM, name: ' train ', org: 'acme', gpus: '16', gpuTypes: 'h100, a100 l40s', estimateMinutes: '90', command: ' python train.py --epochs 3 ', priority: '5', retries: '2' }, true);
  assert.deepEqual(result, {
    ok: true,
    body: { name: 'train', org_id: 'acme', gpus: 16, gpu_types: ['h100', 'a100', 'l40s'], estimate_s: 5400, command: ['sh', '-c', 'python train.py --epochs 3'], priority: 5, max_retries: 2, checkpoint_interval_s: 3600, gang: true, preemptible: true },
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

// Issue 19: checkpoints, running across sites, a planner's answer submitted.

const SPANNING = { ...NEW_SUBMIT_FORM, gpus: '16', span: true, spanReplicaGpus: '8', spanParamsBillions: '1.5', spanOuterStepSeconds: '100' };

test('a checkpoint interval is sent in seconds; empty means the job never checkpoints; the server’s default stands in a new form', () => {
  const sent = (checkpointMinutes: string) => {
    const r = submissionOf({ ...NEW_SUBMIT_FORM, checkpointMinutes }, false);
    assert.ok(r.ok);
    return r.body.checkpoint_interval_s;
  };
  assert.equal(sent('30'), 1800);
  assert.equal(sent(' '), null);
  assert.equal(sent(NEW_SUBMIT_FORM.checkpointMinutes), 3600);
  for (const bad of ['0', '-5', 'soon', String(1e9 / 60 + 1)]) {
    assert.deepEqual(submissionOf({ ...NEW_SUBMIT_FORM, checkpointMinutes: bad }, false), { ok: false, errors: { checkpointMinutes: 'submit.errorCheckpoint' } }, bad);
  }
});

test('the span fields become the API’s span: billions of parameters, a fraction for the percentage, seconds for the minutes', () => {
  const r = submissionOf({ ...SPANNING, spanBytesPerParam: '2', spanHiddenSeconds: '5', spanMinEfficiencyPercent: '50', spanMaxWaitMinutes: '0' }, false);
  assert.ok(r.ok);
  assert.deepEqual(r.body.span, { replica_gpus: 8, params: 1.5e9, bytes_per_param: 2, outer_step_s: 100, hidden_s: 5, min_efficiency: 0.5, max_single_site_wait_s: 0 });
  const defaults = submissionOf(SPANNING, false);
  assert.ok(defaults.ok);
  assert.deepEqual(defaults.body.span, { replica_gpus: 8, params: 1.5e9, bytes_per_param: 1, outer_step_s: 100, hidden_s: 0, min_efficiency: 0.8, max_single_site_wait_s: 3600 }, 'the server’s defaults, as the form shows them');
  const off = submissionOf({ ...SPANNING, span: false, spanReplicaGpus: 'junk' }, false);
  assert.ok(off.ok, 'span fields count only when the job may span');
  assert.equal('span' in off.body, false);
});

test('each bad span field is named, and a job that is not a whole number of replicas is pointed at the replica size', () => {
  const bad = { ...SPANNING, spanReplicaGpus: '0', spanParamsBillions: '', spanBytesPerParam: '3', spanOuterStepSeconds: '1e8', spanHiddenSeconds: '-1', spanMinEfficiencyPercent: '101', spanMaxWaitMinutes: 'x' };
  assert.deepEqual(submissionOf(bad, false), {
    ok: false,
    errors: {
      spanReplicaGpus: 'submit.errorGpus', spanParamsBillions: 'submit.errorSpanParams', spanBytesPerParam: 'submit.errorSpanBytes', spanOuterStepSeconds: 'submit.errorSpanOuter',
      spanHiddenSeconds: 'submit.errorSpanHidden', spanMinEfficiencyPercent: 'submit.errorSpanEfficiency', spanMaxWaitMinutes: 'submit.errorSpanWait',
    },
  });
  assert.deepEqual(submissionOf({ ...SPANNING, spanReplicaGpus: '6' }, false), { ok: false, errors: { spanReplicaGpus: { key: 'submit.errorSpanWhole', vars: { gpus: 16 } } } });
  assert.deepEqual(submissionOf({ ...SPANNING, spanMinEfficiencyPercent: '0' }, false), { ok: false, errors: { spanMinEfficiencyPercent: 'submit.errorSpanEfficiency' } }, 'an efficiency of 0 is none');
});

test('the API’s refusals go back to the field they name; span fields only while shown', () => {
  assert.equal(submitFieldOf('span.outer_step_s', SPANNING), 'spanOuterStepSeconds');
  assert.equal(submitFieldOf('span.replica_gpus', SPANNING), 'spanReplicaGpus');
  assert.equal(submitFieldOf('gpu_types[1]', NEW_SUBMIT_FORM), 'gpuTypes');
  assert.equal(submitFieldOf('checkpoint_interval_s', NEW_SUBMIT_FORM), 'checkpointMinutes');
  assert.equal(submitFieldOf('max_retries', NEW_SUBMIT_FORM), 'retries');
  assert.equal(submitFieldOf('span.outer_step_s', NEW_SUBMIT_FORM), null);
  assert.equal(submitFieldOf('plan.gpus', NEW_SUBMIT_FORM), null, 'the plan has no field: a failure note says it');
  assert.equal(submitFieldOf(undefined, NEW_SUBMIT_FORM), null);
});

test('spanning is offered only for a job no single site can ever hold for its size, that does not span already', () => {
  const d = (reasons: Record<string, number>, extra: Partial<DiagnosisJson> = {}): DiagnosisJson => ({ message: '', sites: 2, reasons, never: true, ...extra });
  assert.equal(spanningMightHelp(d({ site_too_small: 2 })), true);
  assert.equal(spanningMightHelp(d({ site_too_small: 1, borrower_limit: 1 })), true);
  assert.equal(spanningMightHelp(d({ gpu_type: 2 })), false, 'no site has its GPU type: spanning cannot help');
  assert.equal(spanningMightHelp(d({ site_too_small: 2 }, { never: false })), false, 'it waits for GPUs to free up');
  assert.equal(spanningMightHelp(d({ site_too_small: 2 }, { span: 'the pool could hold 8 of its 16 GPUs' })), false, 'it spans already');
  assert.equal(spanningMightHelp(null), false);
});

test('a planner’s answer fills the form: its GPUs, type and run time (rounded up), and its request sent as the plan', () => {
  const form = formOfPlan(VIDEO_REQUEST, VIDEO_PLAN);
  assert.equal(form.gpus, '8');
  assert.equal(form.gpuTypes, 'h100');
  assert.equal(form.estimateMinutes, '3.9', `a little over 228 s: ${VIDEO_PLAN.wall_seconds}`);
  const r = submissionOf({ ...form, org: 'acme' }, true);
  assert.ok(r.ok);
  assert.deepEqual(r.body.plan, VIDEO_REQUEST);
  assert.equal(r.body.gpus, 8);
  assert.deepEqual(r.body.gpu_types, ['h100']);
  assert.ok(r.body.estimate_s !== undefined && r.body.estimate_s >= VIDEO_PLAN.wall_seconds, 'never shorter than the plan');
  const train = formOfPlan(TRAIN_REQUEST, TRAIN_PLAN);
  assert.equal(train.plan?.kind, 'train');
  assert.equal(train.gpus, '256');
  const none = submissionOf(NEW_SUBMIT_FORM, false);
  assert.ok(none.ok);
  assert.equal('plan' in none.body, false, 'no plan: none sent');
});

test('a kept draft reads back as the form it was, and anything else as none', () => {
  const form = { ...formOfPlan(VIDEO_REQUEST, VIDEO_PLAN), command: 'echo hi', span: true };
  assert.deepEqual(draftOf(JSON.stringify(form)), form);
  assert.deepEqual(draftOf(JSON.stringify({ ...form, extra: 'dropped' })), form, 'only the form’s own keys');
  for (const bad of [null, '', '{', '42', 'null', JSON.stringify({ ...form, gpus: 8 }), JSON.stringify({ ...form, span: 'yes' }), JSON.stringify({ ...form, plan: { ...form.plan, kind: 'audio' } }), JSON.stringify({ ...form, plan: { ...form.plan, request: null } })]) {
    assert.equal(draftOf(bad), null, String(bad));
  }
});

test('a job submitted again to span: its demand as it was, its command as one shell line, its span options open', () => {
  const waiting = job('7', 'acme', { name: 'wide', gpus: 16, gpu_types: ['h100', 'a100'], estimate_s: 300, command: ['python', 'train.py', "--note=it's"], priority: 3, max_retries: 2, checkpoint_interval_s: null, preemptible: false });
  const form = formOfJob(waiting);
  assert.deepEqual(form, { ...NEW_SUBMIT_FORM, name: 'wide', org: 'acme', gpus: '16', gpuTypes: 'h100, a100', estimateMinutes: '5', command: "python train.py '--note=it'\\''s'", priority: '3', retries: '2', checkpointMinutes: '', preemptible: false, span: true });
  assert.equal(formOfJob(job('8', 'acme', { command: ['sh', '-c', 'echo a; sleep 1'] })).command, 'echo a; sleep 1', 'a shell line stays as it was typed');
  const again = submissionOf({ ...form, spanReplicaGpus: '8', spanParamsBillions: '1', spanOuterStepSeconds: '100' }, true);
  assert.ok(again.ok);
  assert.deepEqual(again.body.command, ['sh', '-c', "python train.py '--note=it'\\''s'"]);
  assert.equal(again.body.checkpoint_interval_s, null, 'it never checkpoints, as before');
});
