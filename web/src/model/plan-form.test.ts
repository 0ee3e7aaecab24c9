import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formFieldOf, NEW_MIX_BUCKET, NEW_PLAN_FORM, planRequestOf, withKind, type PlanForm } from './plan-form.ts';

test('a video form becomes the API request: given fields only, as numbers; empty ones take the planner’s defaults', () => {
  const form: PlanForm = { ...NEW_PLAN_FORM, gpus: '8', seconds: '10', price: '2.5', window: '' };
  assert.deepEqual(planRequestOf(form), { ok: true, body: { kind: 'video', model: 'wan2.1-t2v-14b', gpu: 'h100', gpus: 8, price_per_gpu_hour: 2.5, width: 1280, height: 720, seconds: 10 } });
  const native = planRequestOf({ ...NEW_PLAN_FORM, width: '', height: '', seconds: '' });
  assert.deepEqual(native.ok && native.body, { kind: 'video', model: 'wan2.1-t2v-14b', gpu: 'h100', gpus: 1 });
});

test('each field says what is wrong with it, in the API’s bounds', () => {
  const checked = planRequestOf({ ...NEW_PLAN_FORM, gpus: '0', width: '12.5', seconds: '5', frames: '81', efficiency: '1.5', fps: 'fast' });
  assert.equal(checked.ok, false);
  assert.deepEqual(!checked.ok && checked.errors, {
    gpus: { key: 'plan.errorInteger', vars: { min: 1, max: 1_000_000 } },
    width: { key: 'plan.errorInteger', vars: { min: 16, max: 16_384 } },
    frames: 'plan.errorSecondsOrFrames',
    efficiency: 'plan.errorFraction',
    fps: { key: 'plan.errorPositive', vars: { max: 240 } },
  });
});

test('a training form sends its mix bucket by bucket, in seconds or in frames', () => {
  const form = withKind({ ...NEW_PLAN_FORM, mix: [NEW_MIX_BUCKET, { width: '640', height: '480', length: '81', unit: 'frames', clips: '2e6' }], mfu: '0.35' }, 'train');
  assert.equal(form.gpus, '1024', 'the GPU count left as it came follows the kind');
  const checked = planRequestOf(form);
  assert.deepEqual(checked.ok && checked.body, {
    kind: 'train', model: 'wan2.1-t2v-14b', gpu: 'h100', gpus: 1024, epochs: 1, mfu: 0.35,
    mix: [{ width: 1280, height: 720, seconds: 5, clips: 1e6 }, { width: 640, height: 480, frames: 81, clips: 2e6 }],
  });
  assert.equal(withKind({ ...NEW_PLAN_FORM, gpus: '4' }, 'train').gpus, '4', 'a GPU count the user typed stays');
  const bad = planRequestOf({ ...form, mix: [{ ...NEW_MIX_BUCKET, clips: '-1', unit: 'frames', length: '2.5' }] });
  assert.deepEqual(!bad.ok && Object.keys(bad.errors).sort(), ['mix.0.clips', 'mix.0.length']);
  const none = planRequestOf({ ...form, mix: [] });
  assert.deepEqual(!none.ok && none.errors, { mix: { key: 'plan.errorMixSize', vars: { max: 64 } } });
});

test('the field an API error names is the form field it shows next to', () => {
  assert.equal(formFieldOf('gpus', 'video'), 'gpus');
  assert.equal(formFieldOf('price_per_gpu_hour', 'train'), 'price');
  assert.equal(formFieldOf('window_s', 'video'), 'window');
  assert.equal(formFieldOf('size', 'video'), 'width', 'the planner names the frame size "size"');
  assert.equal(formFieldOf('frames', 'video'), 'frames');
  assert.equal(formFieldOf('mix[1].clips', 'train'), 'mix.1.clips');
  assert.equal(formFieldOf('mix[0].seconds', 'train'), 'mix.0.length');
  assert.equal(formFieldOf('mix[0]', 'train'), 'mix');
  assert.equal(formFieldOf('frames', 'train'), 'mix', 'in training, a length the VAE cannot take is a bucket’s');
  assert.equal(formFieldOf('mfu', 'video'), null, 'not a field of this form');
  assert.equal(formFieldOf(undefined, 'video'), null);
});
