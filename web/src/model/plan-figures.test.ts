// The planner's answers as the CLI's tables of figures, in both languages, from the
// planner's own output (fixtures/, made by POST /plan's planner).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MessageKey } from '../i18n/catalog-en.ts';
import { Formatter, translate, type Locale, type MessageVars } from '../i18n/i18n.ts';
import { bucketGpuHours, trainPlanFigures, videoPlanFigures, type PlanFigures } from './plan-figures.ts';
import { TRAIN_PLAN, VIDEO_PLAN } from './test-data.ts';

const words = (locale: Locale) => ({ t: (key: MessageKey, vars?: MessageVars) => translate(locale, key, vars), format: new Formatter(locale) });
const lookup = (figures: PlanFigures, label: string) => figures.sections.flatMap((s) => s.rows).find((r) => r.label === label)?.value;

test('a video plan: the CLI’s sections and figures', () => {
  const f = videoPlanFigures(words('en'), VIDEO_PLAN);
  assert.equal(f.head, 'Wan2.1 T2V 14B · 1280×720 · frames: 81 (5.06 s at 16 fps) · steps: 50 × passes: 2 · 8 × NVIDIA H100 SXM5 80GB');
  assert.deepEqual(f.sections.map((s) => s.title), ['Tokens', 'Compute', 'Memory', 'Time on 8 × h100']);
  assert.equal(lookup(f, 'Video tokens'), '75,600');
  assert.equal(lookup(f, 'Attention sequence'), 'tokens: 75,600, full 3D attention');
  assert.equal(lookup(f, 'Parameters (per token)'), '14B (12B)');
  assert.equal(lookup(f, 'FLOPs, total'), '660 PFLOP (6.60E17)');
  assert.equal(lookup(f, 'Attention share'), '72.3%');
  assert.equal(lookup(f, 'Per GPU on 8'), '29.5 GB of 80 GB');
  assert.equal(lookup(f, 'Per GPU on 8, no flash attention'), '144 GB — does not fit');
  assert.equal(lookup(f, 'Fewest GPUs it fits on'), '1; 22 without flash attention');
  assert.equal(lookup(f, 'Wall time'), '3.8 min');
  assert.equal(lookup(f, 'GPU time'), '1,824 GPU-s (0.507 GPU-h)');
  assert.equal(lookup(f, 'Cost'), '1.27', 'the price was given');
});

test('a training plan: compute, layout and memory; without a price, no cost', () => {
  const f = trainPlanFigures(words('en'), TRAIN_PLAN);
  assert.equal(f.head, 'wan2.1-t2v-14b training · samples: 3M (epochs: 1) · 256 × h100 at 40.0% MFU');
  assert.equal(lookup(f, 'FLOPs, total'), '29.3 ZFLOP (2.93E22)');
  assert.equal(lookup(f, 'GPU time'), '20,552 GPU-h');
  assert.equal(lookup(f, 'Calendar time on 256 GPUs'), '3.3 days');
  assert.equal(lookup(f, 'Parallelism'), 'tensor 1 × context 1 × data 256 (ZeRO-3)');
  assert.equal(lookup(f, 'Total'), '45.2 GB of 80 GB');
  assert.equal(lookup(f, 'Cost'), '— (give a price per GPU-hour)');
  const hours = bucketGpuHours(TRAIN_PLAN);
  assert.deepEqual(hours.map((b) => b.bucket), ['1: 1280×720, 81f', '2: 640×480, 81f']);
  assert.ok(Math.abs(hours.reduce((s, b) => s + b.gpuHours, 0) - TRAIN_PLAN.gpu_hours) < 1e-6, 'the buckets share the GPU-hours out');
});

test('in Chinese, the words and the large counts are Chinese', () => {
  const video = videoPlanFigures(words('zh-CN'), VIDEO_PLAN);
  assert.equal(lookup(video, '参数量（每词元）'), '140亿（120亿）');
  assert.equal(lookup(video, '总耗时'), '3.8分钟');
  const train = trainPlanFigures(words('zh-CN'), TRAIN_PLAN);
  assert.match(train.head, /样本：300万/);
  assert.equal(lookup(train, '放得下'), '是');
});
