// Property tests (fast-check) for the planner's invariants, over every preset and GPU.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { GPU_CATALOG } from './gpu-catalog.ts';
import { framesForSeconds, planVideo, videoTokens, type VideoRequest } from './video-cost.ts';
import { VIDEO_MODELS, type VideoModelSpec } from './video-models.ts';

const model = fc.constantFrom(...VIDEO_MODELS);
const gpu = fc.constantFrom(...GPU_CATALOG);
const unit = (m: VideoModelSpec) => m.vaeSpatial * m.patch.h;

/** A valid request: sizes in multiples of the model's spatial unit, a duration in seconds. */
const request = fc.record({ m: model, g: gpu, wu: fc.integer({ min: 1, max: 120 }), hu: fc.integer({ min: 1, max: 90 }), seconds: fc.double({ min: 0.5, max: 120, noNaN: true }), gpus: fc.integer({ min: 1, max: 4096 }), steps: fc.integer({ min: 1, max: 100 }) })
  .map(({ m, g, wu, hu, seconds, gpus, steps }): VideoRequest => ({ model: m, gpu: g, width: wu * unit(m), height: hu * unit(m), seconds, fps: m.defaultFps, steps, gpus }));

test('tokens never fall when width, height or duration grows', () => {
  fc.assert(fc.property(model, fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100 }), fc.double({ min: 0.2, max: 600, noNaN: true }), (m, wu, hu, s) => {
    const u = unit(m);
    const frames = framesForSeconds(m, s, m.defaultFps);
    const longer = framesForSeconds(m, s * 1.5, m.defaultFps);
    const t = videoTokens(m, wu * u, hu * u, frames).video_tokens;
    assert.ok(videoTokens(m, (wu + 1) * u, hu * u, frames).video_tokens > t);
    assert.ok(videoTokens(m, wu * u, (hu + 1) * u, frames).video_tokens > t);
    assert.ok(videoTokens(m, wu * u, hu * u, longer).video_tokens >= t);
  }));
});

test('the attention share of FLOPs grows with duration', () => {
  fc.assert(fc.property(request, fc.double({ min: 1.01, max: 20, noNaN: true }), (req, factor) => {
    const short = planVideo(req);
    const long = planVideo({ ...req, seconds: (req.seconds ?? 1) * factor });
    if (long.frames > short.frames) assert.ok(long.attention_share >= short.attention_share, `${short.attention_share} -> ${long.attention_share}`);
  }));
});

test('no number of GPUs beats the compute lower bound, and more GPUs never add compute time', () => {
  fc.assert(fc.property(request, (req) => {
    const p = planVideo(req);
    assert.ok(p.wall_seconds >= p.flops_total / (req.gpus * req.gpu.peakFlops));
    assert.ok(p.wall_seconds >= p.compute_lower_bound_seconds);
    const more = planVideo({ ...req, gpus: req.gpus * 2 });
    assert.ok(more.compute_seconds <= p.compute_seconds);
    assert.ok(more.gpu_seconds >= p.gpu_seconds * 0.999, 'splitting work never saves GPU-seconds');
  }));
});

test('an attention window never costs more than full attention, nor uses more memory', () => {
  fc.assert(fc.property(request, fc.double({ min: 0.5, max: 30, noNaN: true }), (req, w) => {
    const full = planVideo(req);
    const win = planVideo({ ...req, attention: { kind: 'window', seconds: w } });
    assert.ok(win.flops_total <= full.flops_total);
    assert.ok(win.activation_bytes_no_flash <= full.activation_bytes_no_flash);
    assert.equal(win.video_tokens, full.video_tokens);
  }));
});

test('every figure is a finite, non-negative number', () => {
  fc.assert(fc.property(request, (req) => {
    const p = planVideo(req);
    for (const [k, v] of Object.entries(p)) if (typeof v === 'number') assert.ok(Number.isFinite(v) && v >= 0, `${k} = ${v}`);
  }));
});
