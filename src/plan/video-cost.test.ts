import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findGpu } from './gpu-catalog.ts';
import { fewestGpus, forwardFlops, framesForSeconds, keysPerQuery, latentFrames, planVideo, videoTokens } from './video-cost.ts';
import { findVideoModel, paramsPerToken, VIDEO_MODELS } from './video-models.ts';
import { customVideoModel } from './custom-model.ts';

const wan = findVideoModel('wan2.1-t2v-14b');
const h100 = findGpu('h100');

describe('latent frames', () => {
  test('a causal VAE keeps the first frame alone', () => {
    assert.equal(latentFrames(wan, 81), 21);
    assert.equal(latentFrames(wan, 1), 1);
  });
  test('a plain VAE divides by its stride', () => {
    assert.equal(latentFrames(findVideoModel('moviegen-30b'), 256), 32);
  });
  test('Step-Video encodes 17-frame chunks into 3 latent frames', () => {
    assert.equal(latentFrames(findVideoModel('step-video-t2v'), 204), 36);
  });
  test('frame counts the VAE cannot take are rejected, naming --frames and a valid count', () => {
    assert.throws(() => latentFrames(wan, 80), (e: Error & { code?: string; field?: string }) => e.code === 'invalid_input' && e.field === 'frames' && /4k\+1, e\.g\. 81/.test(e.message));
    assert.throws(() => latentFrames(findVideoModel('moviegen-30b'), 100), /multiple of 8/);
    assert.throws(() => latentFrames(findVideoModel('step-video-t2v'), 200), /multiple of 17/);
    assert.throws(() => latentFrames(wan, 0), /above zero/);
  });
  test('seconds become the nearest frame count the VAE takes', () => {
    assert.equal(framesForSeconds(wan, 5, 16), 81);
    assert.equal(framesForSeconds(findVideoModel('moviegen-30b'), 16, 16), 256);
    for (const m of VIDEO_MODELS) {
      for (const s of [0.1, 1, 4, 6, 60]) assert.doesNotThrow(() => latentFrames(m, framesForSeconds(m, s, m.defaultFps)), `${m.id} ${s}s`);
    }
  });
});

describe('tokens', () => {
  test('S = latent frames × (H/16) × (W/16) for a 4×8×8 VAE with 1×2×2 patches', () => {
    const t = videoTokens(wan, 1280, 720, 81);
    assert.equal(t.video_tokens, 21 * 45 * 80);
    assert.equal(t.sequence_tokens, t.video_tokens, 'cross-attention models keep text out of the self-attention sequence');
  });
  test('MM-DiT models add their text tokens to the sequence', () => {
    const t = videoTokens(findVideoModel('hunyuanvideo'), 1280, 720, 129);
    assert.equal(t.sequence_tokens, t.video_tokens + 256);
  });
  test('a temporal patch of 2 halves latent frames, rounding up', () => {
    const t = videoTokens(findVideoModel('cogvideox1.5-5b'), 1360, 768, 81);
    assert.equal(t.video_tokens, 11 * 85 * 48);
  });
  test('sizes the VAE and patch cannot tile are rejected with a valid suggestion', () => {
    assert.throws(() => videoTokens(wan, 1000, 720, 81), (e: Error & { field?: string }) => e.field === 'size' && /1008x720/.test(e.message));
  });
});

describe('FLOPs', () => {
  test('P_tok leaves adaLN modulation out: HunyuanVideo applies 6.8B of its 13B per token', () => {
    assert.ok(Math.abs(paramsPerToken(findVideoModel('hunyuanvideo')) - 60 * 12 * 3072 ** 2) < 1);
    const wan13 = paramsPerToken(findVideoModel('wan2.1-t2v-1.3b'));
    assert.ok(wan13 > 1.2e9 && wan13 < 1.3e9, `Wan 1.3B per token ${wan13}`);
  });
  test('forward = 2·P_tok·S linear + 4·L·S²·d attention for a joint model', () => {
    const m = customVideoModel(undefined, { params: 1e9, hidden: 64, layers: 2, heads: 4, text: 'joint', textTokens: 16 });
    const t = videoTokens(m, 32, 32, 5);
    const f = forwardFlops(m, t, t.sequence_tokens);
    const S = t.sequence_tokens;
    assert.equal(f.linear, 2 * paramsPerToken(m) * S);
    assert.equal(f.attention, 4 * 2 * S * S * 64);
  });
  test('a window caps the keys each query sees', () => {
    const t = videoTokens(wan, 1280, 720, framesForSeconds(wan, 60, 16));
    const keys = keysPerQuery(wan, t, { kind: 'window', seconds: 5 }, 16);
    assert.equal(keys, 21 * 3600);
    assert.equal(keysPerQuery(wan, t, { kind: 'full' }, 16), t.sequence_tokens);
  });
});

describe('memory and GPUs', () => {
  test('fewest GPUs: activations split until they fit beside replicated weights', () => {
    assert.deepEqual(fewestGpus(10e9, 100e9, 80e9), { gpus: 2, shardsWeights: false });
    assert.deepEqual(fewestGpus(100e9, 20e9, 80e9), { gpus: 2, shardsWeights: true });
  });
  test('without flash attention the score matrices dominate long videos', () => {
    const p = planVideo({ model: wan, gpu: h100, width: 1280, height: 720, seconds: 10, fps: 16, steps: 50, gpus: 1 });
    assert.ok(p.activation_bytes_no_flash > 10 * p.activation_bytes_flash);
    assert.ok(p.min_gpus_no_flash > p.min_gpus);
  });
});

describe('planVideo', () => {
  const base = { model: wan, gpu: h100, width: 1280, height: 720, frames: 81, fps: 16, steps: 50, gpus: 8 } as const;
  test('totals add up and time splits into compute, communication and VAE', () => {
    const p = planVideo(base);
    assert.equal(p.flops_per_step, p.flops_per_step_linear + p.flops_per_step_attention);
    assert.equal(p.flops_dit, 50 * p.flops_per_step);
    assert.equal(p.flops_total, p.flops_dit + p.flops_vae_decode);
    assert.ok(Math.abs(p.wall_seconds - (p.compute_seconds + p.communication_seconds + p.vae_decode_seconds)) < 1e-9);
    assert.equal(p.gpu_seconds, p.wall_seconds * 8);
    assert.ok(p.communication_seconds > 0);
    assert.equal(p.cost, null);
  });
  test('one GPU has no communication; a price gives a cost', () => {
    const p = planVideo({ ...base, gpus: 1, pricePerGpuHour: 2 });
    assert.equal(p.communication_seconds, 0);
    assert.equal(p.cost, p.gpu_hours * 2);
  });
  test('past one node the all-to-all crosses the slower scale-out network', () => {
    const inNode = planVideo({ ...base, gpus: 8 });
    const across = planVideo({ ...base, gpus: 16 });
    assert.ok(across.communication_seconds > inNode.communication_seconds);
    assert.ok(across.assumptions.some((a) => a.includes('scale-out')));
  });
  test('bad numbers name their field', () => {
    for (const [field, bad] of [['steps', { steps: 0 }], ['gpus', { gpus: 1.5 }], ['fps', { fps: -1 }], ['price-per-gpu-hour', { pricePerGpuHour: 0 }]] as const) {
      assert.throws(() => planVideo({ ...base, ...bad }), (e: Error & { field?: string }) => e.field === field, field);
    }
    assert.throws(() => planVideo({ ...base, seconds: 5 }), /exactly one of frames and seconds/);
  });
});
