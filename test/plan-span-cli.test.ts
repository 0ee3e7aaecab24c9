// `suanli plan span` as users run it: exit codes and messages from a real process,
// tables, JSON and charts in-process.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as fmt from '../src/cli/format.ts';
import type { SpanPlan } from '../src/plan/index.ts';
import { inProcess, suanli } from './support/cli.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'suanli-span-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const TWO_SITES = ['--site', 'a:h100:1024', '--site', 'b:a100:512', '--wan', 'a-b:10:30'];

describe('bad input: one line naming the flag or the file:line/field, exit code 2', { concurrency: 4 }, () => {
  const cases: [string[], RegExp][] = [
    [['plan', 'span', '--site', 'a:h100:8', '--site', 'b:h100:8', '--wan', 'a-x:10:30'], /^suanli: --wan: "a-x:10:30": unknown site "x"; accepted: links between the sites given with --site: a, b\n$/],
    [['plan', 'span', '--site', 'a:h100:8', '--site', 'b:h100:8', '--wan', 'a-b:-5:30'], /^suanli: --wan: "a-b:-5:30": bandwidth must be above zero, got -5; /],
    [['plan', 'span', '--site', 'a:h100:8', '--site', 'b:h100:8'], /^suanli: --wan: no ring of WAN links passes through every site \(a, b\); missing links include a-b/],
    [['plan', 'span'], /^suanli: --site: no sites given; accepted: .*--topology FILE/],
    [['plan', 'span', '--site', 'a:b200:8'], /^suanli: --site: "a:b200:8": unknown GPU id "b200"/],
    [['plan', 'span', '--topology', '/nonexistent/pool.json'], /^suanli: --topology: cannot read "\/nonexistent\/pool\.json": ENOENT/],
    [['plan', 'span', '--model', 'wan2.1-t2v-14b', '--site', 'a:h100:8'], /^suanli: --mix: wan2\.1-t2v-14b is a video model: give its dataset --mix/],
    [['plan', 'span', '--inner-steps', '0', '--site', 'a:h100:8'], /^suanli: --inner-steps: must be above zero/],
    [['plan', 'span', '--stragglers', 'drop', '--site', 'a:h100:8'], /argument 'drop' is invalid\. Allowed choices are proportional, wait/],
  ];
  for (const [args, expected] of cases) {
    test(args.slice(2).join(' ') || '(no flags)', async () => {
      const r = await suanli(...args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, expected);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(r.stdout, '');
    });
  }

  test('a malformed topology file: file:line:column, then the field', async () => {
    const file = join(dir, 'pool.json');
    await writeFile(file, '{\n  "sites": [{ "id": "a", "gpu": "h100", "gpus": 8 }, { "id": "b", "gpu": "h100", "gpus": 8 }],\n  "wan": [{ "between": ["a", "b"], "gbps": 10 "latency_ms": 30 }]\n}\n');
    const syntax = await inProcess(['plan', 'span', '--topology', file]);
    assert.equal(syntax.code, 2);
    assert.equal(syntax.err.split(';')[0], `suanli: --topology: ${file}:3:47: not valid JSON`);
    await writeFile(file, '{\n  "sites": [{ "id": "a", "gpu": "h100", "gpus": 8 }, { "id": "b", "gpu": "h100", "gpus": -8 }],\n  "wan": [{ "between": ["a", "b"], "gbps": 10, "latency_ms": 30 }]\n}\n');
    const field = await inProcess(['plan', 'span', '--topology', file]);
    assert.equal(field.code, 2);
    assert.match(field.err, new RegExp(`^suanli: --topology: ${file.replace(/[.]/g, '\\.')}:2:90: sites\\[1\\]\\.gpus: must be a whole number above zero, got -8`));
    const both = await inProcess(['plan', 'span', '--topology', file, '--site', 'a:h100:8']);
    assert.match(both.err, /^suanli: --topology: give --topology or --site\/--wan\/--step-time, not both/);
  });
});

test('hardware outside the catalog: --site ID:measured:COUNT with --step-time plans from the measured inner step', async () => {
  const args = ['plan', 'span', '--params', '24000', '--site', 'a:measured:1', '--site', 'b:measured:1', '--wan', 'a-b:0.1:1', '--step-time', 'a=0.004', '--step-time', 'b=0.004', '--inner-steps', '10', '--batch-tokens', '64', '--steps', '80'];
  const plan = JSON.parse((await inProcess([...args, '--json'])).out) as SpanPlan;
  assert.ok(Math.abs(plan.compute_seconds_per_outer_step - 0.04) < 1e-12);
  assert.ok(Math.abs(plan.compute_utilization - 0.04 / (0.04 + plan.sync_seconds)) < 1e-12);
  const table = await inProcess(args);
  assert.equal(table.code, 0, table.err);
  assert.match(table.out, /site a: one inner step of one replica as measured, 0\.00400 s at 64 tokens \(--step-time\)/);
  const missing = await inProcess(['plan', 'span', '--params', '24000', '--site', 'a:measured:1', '--steps', '80']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /a measured device needs its step time.*--step-time a=SECONDS/);
});

test('plain data parallelism for a 10B model over 1 Gb/s: the table says it is hopeless, in words', async () => {
  const r = await inProcess(['plan', 'span', '--params', '10B', '--inner-steps', '1', '--bytes-per-param', '2', '--site', 'a:h100:1024', '--site', 'b:a100:512', '--wan', 'a-b:1:30']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /synchronous data parallelism \(H = 1\), 2 bytes\/parameter/);
  assert.match(r.out, /verdict\n {2}hopeless: the GPUs compute 0\.\d% of the time and wait on the WAN the rest/);
  assert.match(r.out, /a alone would finish \d+× sooner/);
  const json = JSON.parse((await inProcess(['plan', 'span', '--params', '10B', '--inner-steps', '1', '--bytes-per-param', '2', '--site', 'a:h100:1024', '--site', 'b:a100:512', '--wan', 'a-b:1:30', '--json'])).out) as SpanPlan;
  assert.ok(json.compute_utilization < 0.01);
  assert.equal(json.verdict, 'hopeless');
});

test('--json: schema suanli.plan.span/1, snake_case names, and the table shows the same figures', async () => {
  const args = ['plan', 'span', ...TWO_SITES, '--batch-tokens', '16M', '--stragglers', 'wait', '--overlap'];
  const json = await inProcess([...args, '--json']);
  const table = await inProcess(args);
  assert.equal(json.code, 0, json.err);
  const p = JSON.parse(json.out) as SpanPlan & Record<string, unknown>;
  assert.equal(p.schema, 'suanli.plan.span/1');
  for (const key of Object.keys(p)) assert.match(key, /^[a-z0-9_]+$/);
  assert.deepEqual(p.sites.map((s) => [s.id, s.replicas]), [['a', 1], ['b', 1]]);
  assert.deepEqual(p.overlap, { fragments: 1, hidden_steps: 100 });
  for (const shown of [fmt.percent(p.compute_utilization), fmt.duration(p.outer_step_seconds), fmt.duration(p.compute_seconds_per_outer_step), fmt.duration(p.straggler_wait_seconds_per_outer_step), fmt.duration(p.wan_sync_seconds), fmt.bytes(p.pseudo_gradient_bytes), fmt.bytes(p.wan_bytes_per_site_per_sync), fmt.duration(p.wall_seconds), fmt.hours(p.gpu_hours), p.verdict_reason]) {
    assert.ok(table.out.includes(shown), `table lacks ${shown}`);
  }
  for (const heading of ['per synchronization, every 100 inner steps', 'per outer step', 'whole job', 'verdict', 'convergence assumptions', 'assumptions']) assert.match(table.out, new RegExp(`^${heading}$`, 'm'));
});

test('a video preset trains on its --mix; a topology file plans like the same flags', async () => {
  const video = await inProcess(['plan', 'span', '--model', 'wan2.1-t2v-14b', '--mix', '1280x720:5s:10M', ...TWO_SITES, '--json']);
  assert.equal(video.code, 0, video.err);
  assert.equal((JSON.parse(video.out) as SpanPlan).model, 'wan2.1-t2v-14b');
  const file = join(dir, 'two.json');
  await writeFile(file, JSON.stringify({ sites: [{ id: 'a', gpu: 'h100', gpus: 1024 }, { id: 'b', gpu: 'a100', gpus: 512 }], wan: [{ between: ['a', 'b'], gbps: 10, latency_ms: 30 }] }));
  const fromFile = await inProcess(['plan', 'span', '--topology', file, '--json']);
  const fromFlags = await inProcess(['plan', 'span', ...TWO_SITES, '--json']);
  assert.equal(fromFile.out, fromFlags.out);
});

test('--chart writes utilization against WAN bandwidth, one line per H; --help has examples', async () => {
  const chart = join(dir, 'nested', 'span.svg');
  const r = await inProcess(['plan', 'span', ...TWO_SITES, '--inner-steps', '50', '--chart', chart]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, new RegExp(`chart written to ${chart}$`));
  const svg = await readFile(chart, 'utf8');
  assert.match(svg, /^<svg[^>]+xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  for (const series of ['H = 1 (synchronous data parallel)', 'H = 50', 'H = 500']) assert.ok(svg.includes(series), series);
  const help = await inProcess(['plan', 'span', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /Examples:\n\s+suanli plan span /);
  assert.match(help.out, /Topology file \(--topology\):/);
});
