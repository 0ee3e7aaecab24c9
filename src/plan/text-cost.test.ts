import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planCompare } from './compare.ts';
import { findGpu } from './gpu-catalog.ts';
import { planText } from './text-cost.ts';
import { findTextModel } from './text-models.ts';
import { findVideoModel } from './video-models.ts';

const h100 = findGpu('h100');

test('Chinese characters become tokens at the tokenizer’s measured rate', () => {
  assert.equal(planText(findTextModel('qwen2.5-72b'), h100, 100_000, 'zh').text_tokens, 64_000);
  assert.equal(planText(findTextModel('llama-2-7b'), h100, 100_000, 'zh').text_tokens, 143_000);
  assert.equal(planText(findTextModel('llama-3-70b'), h100, 100_000, 'en').text_tokens, 25_000);
});

test('FLOPs: 2·P·T for the weights plus causal attention; writing adds the output head', () => {
  const m = findTextModel('llama-2-7b');
  const p = planText(m, h100, 1000, 'zh');
  const T = 1430;
  const nonEmbedding = m.params - 2 * m.vocab * m.hidden;
  assert.equal(p.flops_read, 2 * nonEmbedding * T + 2 * m.layers * T * T * m.hidden);
  assert.equal(p.flops_write, p.flops_read + 2 * m.vocab * m.hidden * T);
});

test('writing alone at batch 1 is bound by memory bandwidth, far slower than a batched share', () => {
  const p = planText(findTextModel('qwen2.5-72b'), h100, 100_000, 'zh');
  assert.ok(p.gpu_seconds_write_alone > 50 * p.gpu_seconds_write);
  assert.ok(p.gpu_seconds_write_alone >= (p.text_tokens * p.weights_bytes) / h100.memoryBandwidthBytesPerSecond);
  assert.equal(p.min_gpus, 3, '145 GB of weights plus the KV cache need three 80 GB GPUs');
});

test('the seed claim, made checkable: a 1.3B video model out-computes a 72B text model', () => {
  const c = planCompare({ textModel: findTextModel('qwen2.5-72b'), characters: 100_000, language: 'zh', videoModel: findVideoModel('wan2.1-t2v-1.3b'), width: 640, height: 480, seconds: 5, fps: 16, steps: 50, gpu: h100 });
  assert.ok(c.video_over_text_params < 0.02);
  assert.ok(c.video_over_text_flops > 1, `video/text FLOPs ${c.video_over_text_flops}`);
  assert.equal(c.video.gpus, 1);
});

test('bad input names its field', () => {
  assert.throws(() => planText(findTextModel('qwen2.5-7b'), h100, 0, 'zh'), (e: Error & { field?: string }) => e.field === 'chars');
  assert.throws(() => findTextModel('gpt-9'), (e: Error & { field?: string }) => e.field === 'text-model');
});
