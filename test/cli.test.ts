// The `suanli` command as users run it: a real process for exit codes and files,
// in-process runs for the JSON/table agreement property.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { inProcess, suanli } from './support/cli.ts';
import fc from 'fast-check';
import * as fmt from '../src/cli/format.ts';
import { VIDEO_MODELS, type VideoPlan } from '../src/plan/index.ts';


describe('bad input: one line naming the flag, exit code 2, no stack trace', { concurrency: 4 }, () => {
  const cases: [string[], RegExp][] = [
    [['plan', 'video', '--size', '1280x'], /^suanli: --size: .*WIDTHxHEIGHT/],
    [['plan', 'video', '--size', '0x720'], /^suanli: --size: /],
    [['plan', 'video', '--model', 'sora-9'], /^suanli: --model: unknown video model "sora-9"; accepted: .*wan2\.1-t2v-14b/],
    [['plan', 'video', '--gpu', 'b200'], /^suanli: --gpu: unknown GPU id "b200"; accepted: .*h100/],
    [['plan', 'video', '--frames', '80'], /^suanli: --frames: .*4k\+1/],
    [['plan', 'video', '--steps', '0'], /^suanli: --steps: must be above zero/],
    [['plan', 'video', '--gpus', '-8'], /^suanli: --gpus: must be above zero/],
    [['plan', 'video', '--seconds', 'ten'], /^suanli: --seconds: "ten" is not a number/],
    [['plan', 'video', '--frames', '81', '--seconds', '5'], /^suanli: --frames: give --frames or --seconds, not both/],
    [['plan', 'video', '--efficiency', '1.5'], /^suanli: --efficiency: /],
    [['plan', 'video', '--model', 'custom', '--params', '3e9'], /^suanli: --hidden: a custom model needs --hidden, --layers, --heads/],
    [['plan', 'video', '--model', 'custom', '--params', '3e9', '--hidden', '100', '--layers', '4', '--heads', '3'], /^suanli: --heads: hidden size 100 does not split into 3 heads/],
    [['plan', 'video', '--vae-stride', '4x8'], /^suanli: --vae-stride: /],
    [['plan', 'train', '--mix', '1280x720:5s'], /^suanli: --mix: bucket "1280x720:5s" is not WxH:DURATION:CLIPS/],
    [['plan', 'train', '--mix', '1280x720:5s:lots'], /^suanli: --mix: "lots" is not a count/],
    [['plan', 'compare', '--chars', '-5'], /^suanli: --chars: /],
    [['plan', 'compare', '--text-model', 'gpt-9'], /^suanli: --text-model: unknown text model/],
    [['plan', 'sweep', '--seconds', '4,6', '--gpus', '1,2', '--no-chart'], /^suanli: --gpus: only one flag may hold a list/],
    [['plan', 'sweep', '--seconds', '4,,6', '--no-chart'], /^suanli: --seconds: .*empty item/],
    [['plan', 'video', '--nonsense'], /unknown option '--nonsense'/],
  ];
  for (const [args, expected] of cases) {
    test(args.join(' '), async () => {
      const r = await suanli(...args);
      assert.equal(r.code, 2, `exit code for ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, expected);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(r.stdout, '');
    });
  }
});

describe('help and output', () => {
  test('--help shows examples and exits 0', async () => {
    for (const cmd of ['video', 'train', 'compare', 'sweep']) {
      const r = await suanli('plan', cmd, '--help');
      assert.equal(r.code, 0);
      assert.match(r.stdout, /Examples:\n\s+suanli plan /, cmd);
    }
  });

  test('--json prints the stable schema with snake_case names and units in them', async () => {
    const r = await suanli('plan', 'video', '--model', 'hunyuanvideo', '--size', '1280x720', '--frames', '129', '--gpus', '8', '--price-per-gpu-hour', '2', '--json');
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(p.schema, 'suanli.plan.video/1');
    for (const key of ['video_tokens', 'text_tokens', 'flops_total', 'wall_seconds', 'gpu_seconds', 'memory_bytes_per_gpu', 'energy_kwh', 'cost', 'min_gpus', 'latent_frames']) assert.ok(key in p, key);
    for (const key of Object.keys(p)) assert.match(key, /^[a-z0-9_]+$/);
    assert.equal(p.video_tokens, 118_800);
    assert.equal(p.cost, (p.gpu_hours as number) * 2);
  });

  test('a custom model from flags plans like a preset with the same architecture', async () => {
    const preset = JSON.parse((await suanli('plan', 'video', '--model', 'cogvideox-5b', '--json')).stdout) as VideoPlan;
    const custom = JSON.parse((await suanli('plan', 'video', '--model', 'custom', '--params', '5e9', '--hidden', '3072', '--layers', '42', '--heads', '48', '--text-mode', 'joint', '--text-tokens', '226', '--vae-stride', '4x8x8', '--patch', '1x2x2', '--causal-vae', '--size', '720x480', '--frames', '49', '--fps', '8', '--json')).stdout) as VideoPlan;
    assert.equal(custom.sequence_tokens, preset.sequence_tokens);
    assert.equal(custom.flops_per_step, preset.flops_per_step);
  });

  test('sweep writes an SVG chart and its JSON rows grow with duration', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'suanli-'));
    try {
      const chart = join(dir, 'nested', 'sweep.svg');
      const r = await suanli('plan', 'sweep', '--seconds', '4,60,600', '--chart', chart, '--json');
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout) as { rows: { gpu_hours_full: number; gpu_hours_window: number; full_over_window: number }[] };
      assert.equal(s.rows.length, 3);
      assert.ok(s.rows[2]!.gpu_hours_full > 100 * s.rows[0]!.gpu_hours_full);
      assert.ok(s.rows[2]!.full_over_window > 10);
      const svg = await readFile(chart, 'utf8');
      assert.match(svg, /^<svg[^>]+xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      assert.match(svg, /full 3D attention/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the planner showcase (plan compare, plan sweep) runs and prints the comparison and the sweep', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'suanli-'));
    try {
      const compare = await suanli('plan', 'compare', '--chart', join(dir, 'c.svg'));
      assert.equal(compare.code, 0, compare.stderr);
      assert.match(compare.stdout, /100,000 Chinese characters through Qwen2\.5 72B/);
      const sweep = await suanli('plan', 'sweep', '--chart', join(dir, 's.svg'));
      assert.equal(sweep.code, 0, sweep.stderr);
      for (const s of ['4', '6', '60', '600', '3600']) assert.match(sweep.stdout, new RegExp(`^${s}\\s`, 'm'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

test('JSON and table agree: every headline figure of the JSON appears, formatted, in the table', async () => {
  await fc.assert(fc.asyncProperty(
    fc.constantFrom(...VIDEO_MODELS), fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 45 }), fc.integer({ min: 1, max: 30 }), fc.constantFrom('h100', 'h20', 'a800', 'rtx-4090'), fc.integer({ min: 1, max: 64 }),
    async (m, wu, hu, s, gpu, gpus) => {
      const u = m.vaeSpatial * m.patch.h;
      const args = ['plan', 'video', '--model', m.id, '--size', `${wu * u}x${hu * u}`, '--seconds', String(s), '--gpu', gpu, '--gpus', String(gpus)];
      const json = await inProcess([...args, '--json']);
      const table = await inProcess(args);
      assert.equal(json.code, 0, json.err);
      const p = JSON.parse(json.out) as VideoPlan;
      for (const shown of [fmt.count(p.video_tokens), fmt.count(p.latent_frames), fmt.flops(p.flops_total), fmt.bytes(p.weights_bytes), fmt.bytes(p.memory_bytes_per_gpu), fmt.duration(p.wall_seconds), fmt.count(p.gpu_seconds), fmt.percent(p.attention_share)]) {
        assert.ok(table.out.includes(shown), `table lacks ${shown}`);
      }
    },
  ), { numRuns: 40 });
});
