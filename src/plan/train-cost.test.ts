import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findGpu } from './gpu-catalog.ts';
import { MODEL_STATE_BYTES_PER_PARAM, planTrain } from './train-cost.ts';
import { forwardFlops, videoTokens } from './video-cost.ts';
import { findVideoModel } from './video-models.ts';

const wan = findVideoModel('wan2.1-t2v-14b');
const h800 = findGpu('h800');
const mix = [{ width: 1280, height: 720, frames: 81, clips: 1e6 }, { width: 832, height: 480, seconds: 5, clips: 4e6 }];

test('FLOPs = clips × epochs × (3 × linear + 3.5 × attention) of one forward pass', () => {
  const p = planTrain({ model: wan, gpu: h800, gpus: 1024, fps: 16, mix, epochs: 2, mfu: 0.4 });
  const t = videoTokens(wan, 1280, 720, 81);
  const f = forwardFlops(wan, t, t.sequence_tokens);
  assert.equal(p.buckets[0]?.flops_per_sample, 3 * f.linear + 3.5 * f.attention);
  assert.equal(p.samples_total, 10e6);
  assert.ok(Math.abs(p.flops_total - (p.buckets[0]?.flops_total ?? 0) - (p.buckets[1]?.flops_total ?? 0)) < 1);
  assert.ok(Math.abs(p.gpu_hours - p.flops_total / (989e12 * 0.4) / 3600) < 1e-6);
  assert.ok(Math.abs(p.wall_days * 1024 * 24 - p.gpu_hours) < 1e-6);
  assert.equal(p.buckets[1]?.frames, 81);
});

test('the layout widens tensor × context parallelism only as far as memory needs', () => {
  const short = planTrain({ model: wan, gpu: h800, gpus: 1024, fps: 16, mix: [{ width: 832, height: 480, frames: 81, clips: 1e6 }], epochs: 1 });
  const long = planTrain({ model: wan, gpu: h800, gpus: 1024, fps: 16, mix: [{ width: 1280, height: 720, seconds: 60, clips: 1e4 }], epochs: 1 });
  assert.ok(short.fits && long.fits);
  assert.ok(long.tensor_parallel * long.context_parallel > short.tensor_parallel * short.context_parallel);
  assert.equal(long.tensor_parallel * long.context_parallel * long.data_parallel, 1024);
  assert.ok(long.memory_bytes_per_gpu <= h800.memoryBytes * 0.9);
});

test('too few GPUs for the model states is a reason, not a crash', () => {
  const p = planTrain({ model: wan, gpu: h800, gpus: 2, fps: 16, mix, epochs: 1 });
  assert.equal(p.fits, false);
  assert.match(p.no_fit_reason ?? '', /model states alone need .* use at least \d+ GPUs/);
  assert.equal(p.memory_model_states_bytes_per_gpu, (MODEL_STATE_BYTES_PER_PARAM * 14e9) / 2);
});

test('bad input names its field', () => {
  assert.throws(() => planTrain({ model: wan, gpu: h800, gpus: 8, fps: 16, mix: [], epochs: 1 }), (e: Error & { field?: string }) => e.field === 'mix');
  assert.throws(() => planTrain({ model: wan, gpu: h800, gpus: 8, fps: 16, mix, epochs: 0 }), (e: Error & { field?: string }) => e.field === 'epochs');
  assert.throws(() => planTrain({ model: wan, gpu: h800, gpus: 8, fps: 16, mix, epochs: 1, mfu: 1.5 }), (e: Error & { field?: string }) => e.field === 'mfu');
  assert.throws(() => planTrain({ model: wan, gpu: h800, gpus: 8, fps: 16, mix: [{ width: 1280, height: 720, clips: 1 }], epochs: 1 }), /exactly one of frames and seconds/);
});
