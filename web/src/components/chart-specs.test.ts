// The charts' specs compile (Vega-Lite) and draw (Vega, headless, to SVG) with the
// figures and words they were given: the same path the page takes, minus the DOM.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { creditLines, flowBars, ledgerOrgs, ledgerTimeAxis } from '../model/ledger-history.ts';
import { historySeries } from '../model/pool-usage.ts';
import { LEDGER_HISTORY, POOL } from '../model/test-data.ts';
import { creditsSpec, flowsSpec, groupedBarsSpec, historySpec, ledgerSpec, lendingSpec, namedBarsSpec, rhoSpec, siteUsageSpec, timelineSpec } from './chart-specs.ts';

/** The chart drawn 600 px wide, as SVG, and its x scale (where a value lands, in px from the plot's left). */
async function drawn(spec: TopLevelSpec): Promise<{ readonly svg: string; readonly x: (v: number) => number }> {
  // 'container' widths need a page (Vega reads the box's width): a fixed width stands in for it here.
  const view = new vega.View(vega.parse(compile('width' in spec && spec.width === 'container' ? { ...spec, width: 600 } : spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  const scale = view.scale('x') as ((v: number) => number) | undefined;
  view.finalize();
  return { svg, x: (v) => scale?.(v) ?? Number.NaN };
}

async function svgOf(spec: TopLevelSpec): Promise<string> {
  return (await drawn(spec)).svg;
}

/** The SVG's own width, axes and legend included. */
const svgWidth = (svg: string) => Number(/^<svg[^>]* width="([\d.]+)"/.exec(svg)?.[1]);
/** The text of every label drawn. */
const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1] ?? '');

test('the site chart stacks allocated, idle and unavailable GPUs per site and type, with the words given', async () => {
  const sites = [...POOL.sites, { site_id: 'b', name: 'b lab', org_id: 'acme', health: 'lost' as const, gpu_type: 'a100', gpus: 4, allocated: 0, idle: 0, unavailable: 4 }];
  const spec = siteUsageSpec(sites, { allocated: '已分配', idle: '空闲', unavailable: '不可用', gpus: 'GPU 数' }, 'description');
  const values = (spec.data as { values: { bar: string; status: string; gpus: number }[] }).values;
  assert.deepEqual(values.filter((v) => v.bar === 'a lab · h100').map((v) => [v.status, v.gpus]), [['已分配', 6], ['空闲', 10], ['不可用', 0]]);
  const svg = await svgOf(spec);
  for (const word of ['a lab · h100', 'b lab · a100', '已分配', '空闲', '不可用', 'GPU 数']) assert.ok(svg.includes(word), word);
});

test('who lends to whom draws as a grid: lenders across, borrowers down, each pair’s GPUs written in its cell', async () => {
  const rows = [{ lender_org_id: 'acme', borrower_org_id: 'beta', gpus: 12 }, { lender_org_id: 'gamma', borrower_org_id: 'beta', gpus: 3 }, { lender_org_id: 'acme', borrower_org_id: 'delta', gpus: 7 }];
  const spec = lendingSpec(rows, { lender: '出借方', borrower: '借用方', gpus: 'GPU 数' }, 'd');
  assert.deepEqual((spec.data as { values: unknown[] }).values, [{ lender: 'acme', borrower: 'beta', gpus: 12 }, { lender: 'gamma', borrower: 'beta', gpus: 3 }, { lender: 'acme', borrower: 'delta', gpus: 7 }]);
  const svg = await svgOf(spec);
  for (const word of ['出借方', '借用方', 'acme', 'gamma', 'beta', 'delta']) assert.ok(svg.includes(word), word);
  // The figures as text marks (cells' own numbers, not an axis's ticks: the axes here are names).
  for (const n of ['12', '3', '7']) assert.match(svg, new RegExp(`<text[^>]*>${n}</text>`), n);
});

test('the history draws allocated GPUs per type over time and all GPUs as a line; the ledger bars draw', async () => {
  const history = await svgOf(historySpec(historySeries(POOL.history.samples, 'All GPUs', 60_000), { time: 'Time', gpus: 'GPUs', all: 'All GPUs' }, 'd'));
  for (const word of ['a100', 'h100', 'All GPUs', 'Time', 'GPUs']) assert.ok(history.includes(word), word);
  const single = await svgOf(historySpec(historySeries(POOL.history.samples.slice(0, 1), '全部 GPU', 60_000), { time: '时间', gpus: 'GPU 数', all: '全部 GPU' }, 'd'));
  assert.ok(single.includes('全部 GPU'), 'one sample draws too');
  const ledger = await svgOf(ledgerSpec([{ orgId: 'acme', contributed: 1, consumed: 2, own: 3, credits: -1 }, { orgId: 'beta', contributed: 2, consumed: 1, own: 0, credits: 1 }], { contributed: 'Contributed', consumed: 'Consumed', own: 'Own', gpuHours: 'GPU-hours' }, 'd'));
  for (const word of ['acme', 'beta', 'Contributed', 'Consumed', 'Own', 'GPU-hours']) assert.ok(ledger.includes(word), word);
});

test('the ledger’s history draws: credits per org as lines, contributed and consumed per bucket as bars either side of zero', async () => {
  const { points, bucket_s } = LEDGER_HISTORY;
  const orgs = ledgerOrgs(points);
  const axis = ledgerTimeAxis(points, bucket_s);
  const credits = creditsSpec(creditLines(points, bucket_s), orgs, axis, { time: '时间', credits: '积分（GPU 小时）', org: '组织' }, 'd');
  const lines = await svgOf(credits);
  for (const word of ['acme', 'beta', '时间', '积分（GPU 小时）', '2026-11-26', '−4', '6']) assert.ok(lines.includes(word), word);
  const words = { time: 'Time', gpuHours: 'GPU-hours: contributed ↑ consumed ↓', org: 'Org', contributed: 'Contributed', consumed: 'Consumed' };
  const bars = await svgOf(flowsSpec(flowBars(points, bucket_s), orgs, axis, words, 'd'));
  for (const word of ['acme', 'beta', 'Time', 'GPU-hours: contributed ↑ consumed ↓', '2026-11-25']) assert.ok(bars.includes(word), word);
  const hourly = await svgOf(flowsSpec(flowBars(points.slice(0, 2), 3600), orgs, ledgerTimeAxis(points.slice(0, 2), 3600), words, 'd'));
  assert.ok(hourly.includes('acme'), 'hourly buckets draw too');
  assert.equal((await svgOf(creditsSpec([], [], ledgerTimeAxis([], 3600), { time: 'Time', credits: 'Credits', org: 'Org' }, 'd'))).includes('Credits'), true, 'and no data at all');
});

test('the ledger’s charts and the report’s fit their box: the SVG, axes and legend included, is as wide as the width given', async () => {
  const { points, bucket_s } = LEDGER_HISTORY;
  const orgs = ledgerOrgs(points);
  const axis = ledgerTimeAxis(points, bucket_s);
  const words = { time: 'Time', gpuHours: 'GPU-hours: contributed ↑ consumed ↓', org: 'Org', contributed: 'Contributed', consumed: 'Consumed', credits: 'Credits' };
  const specs = {
    ledger: ledgerSpec([{ orgId: 'acme', contributed: 1, consumed: 2, own: 3, credits: -1 }], { ...words, own: 'Own', gpuHours: 'GPU-hours' }, 'd'),
    credits: creditsSpec(creditLines(points, bucket_s), orgs, axis, words, 'd'),
    flows: flowsSpec(flowBars(points, bucket_s), orgs, axis, words, 'd'),
    jct: groupedBarsSpec([{ group: 'fifo', series: 'Pooled', value: 2, tick: 3 }], { value: 'JCT (hours)' }, { series: ['Pooled'] }, 'd'),
    rho: rhoSpec([{ org: 'acme', policy: 'fifo', rho: 0.6 }], { rho: 'ρ' }, 'd'),
  };
  for (const [name, spec] of Object.entries(specs)) assert.equal(svgWidth(await svgOf(spec)), 600, name);
});

test('one UTC day of data: one slim bar in the middle, its date written once under it; the credits’ axis the same', async () => {
  const day = LEDGER_HISTORY.points.slice(0, 2);
  const orgs = ledgerOrgs(day);
  const axis = ledgerTimeAxis(day, 86_400);
  const words = { time: 'Time', gpuHours: 'GPU-hours', org: 'Org', contributed: 'Contributed', consumed: 'Consumed', credits: 'Credits' };
  const start = Date.parse('2026-11-25T00:00:00Z');
  const { svg, x } = await drawn(flowsSpec(flowBars(day, 86_400), orgs, axis, words, 'd'));
  assert.deepEqual(texts(svg).filter((t) => t.includes('11-25')), ['2026-11-25'], 'the day’s date, once');
  assert.equal(new Set(texts(svg).filter((t) => /^\d{4}-\d\d-\d\d$/.test(t))).size, texts(svg).filter((t) => /^\d{4}-\d\d-\d\d$/.test(t)).length, 'no date repeated');
  const width = x(start + 86_400_000) - x(start);
  assert.ok(width > 0 && width < 600 / 5, `the day is a slim bar (${width} px of 600), not a block across the chart`);
  assert.ok(x(start) > 150, 'in the middle');
  const credits = texts(await svgOf(creditsSpec(creditLines(day, 86_400), orgs, axis, words, 'd')));
  assert.deepEqual(credits.filter((t) => t.includes('11-25')), ['2026-11-25']);
});

test('one day by the hour: ticks labelled by the hour, the date at most once (at midnight), no label repeated', async () => {
  const HOUR = 3_600_000;
  const at = (h: number) => new Date(Date.parse('2026-11-25T00:00:00Z') + h * HOUR).toISOString();
  const day = [2, 3, 7, 20].map((h) => ({ org_id: 'acme', at: at(h), contributed_gpu_h: 1, consumed_gpu_h: 0, own_gpu_h: 0, credits_gpu_h: 1 }));
  const words = { time: 'Time', gpuHours: 'GPU-hours', org: 'Org', contributed: 'Contributed', consumed: 'Consumed', credits: 'Credits' };
  for (const svg of [await svgOf(flowsSpec(flowBars(day, 3600), ['acme'], ledgerTimeAxis(day, 3600), words, 'd')), await svgOf(creditsSpec(creditLines(day, 3600), ['acme'], ledgerTimeAxis(day, 3600), words, 'd'))]) {
    const labels = texts(svg).filter((t) => /^\d\d[:-]\d\d$/.test(t));
    assert.ok(labels.filter((t) => t.includes(':')).length >= 6, `hourly ticks: ${labels.join(' ')}`);
    assert.ok(labels.filter((t) => t.includes('-')).length <= 1, `the date at most once: ${labels.join(' ')}`);
    assert.equal(new Set(labels).size, labels.length, `no label repeated: ${labels.join(' ')}`);
  }
});

test('named bars keep their order and draw an SI axis (the planner’s FLOPs by part)', async () => {
  const spec = namedBarsSpec([{ name: '线性层', value: 1.8e17 }, { name: '注意力', value: 4.7e17 }, { name: 'VAE 解码', value: 7.5e15 }], { value: '浮点运算量（FLOPs）' }, 'd');
  const svg = await svgOf(spec);
  for (const word of ['线性层', '注意力', 'VAE 解码', '浮点运算量（FLOPs）', '400P']) assert.ok(svg.includes(word), word);
});

test('the simulation report’s charts draw: grouped bars with ticks, a percent axis, ρ bars with the line at 1', async () => {
  const bars = [
    { group: 'fifo', series: 'Siloed', value: 8.2, tick: 21.6 },
    { group: 'fifo', series: 'Pooled', value: 2.7, tick: 6.9 },
    { group: 'fair-share', series: 'Pooled', value: 2.3, tick: null },
  ];
  const jct = await svgOf(groupedBarsSpec(bars, { value: 'Job completion time (hours)' }, { series: ['Siloed', 'Pooled'] }, 'd'));
  for (const word of ['fifo', 'fair-share', 'Siloed', 'Pooled']) assert.ok(jct.includes(word), word);
  assert.ok(texts(jct).includes('Job completion time (hours)'), 'the value axis is titled, ticks and all');
  // The policies as the bars list them (the table's order), not sorted by name.
  const order = texts(jct).filter((t) => t === 'fifo' || t === 'fair-share');
  assert.deepEqual(order, ['fifo', 'fair-share']);
  const util = await svgOf(groupedBarsSpec(bars.map((b) => ({ ...b, value: b.value / 10, tick: null })), { value: 'Utilization' }, { series: ['Siloed', 'Pooled'], percent: true }, 'd'));
  assert.ok(util.includes('100%') && util.includes('Utilization'));
  const rho = await svgOf(rhoSpec([{ org: 'acme', policy: 'fifo', rho: 0.6 }, { org: 'bolt', policy: 'fifo', rho: 1.2 }, { org: 'acme', policy: 'drf', rho: 0.9 }], { rho: 'ρ' }, 'd'));
  for (const word of ['acme', 'bolt', 'fifo', 'ρ']) assert.ok(rho.includes(word), word);
  assert.deepEqual(texts(rho).filter((t) => t === 'fifo' || t === 'drf'), ['fifo', 'drf'], 'the legend in the rows’ order');
});

test('a job’s timeline draws as a Gantt chart: a row per queue, attempt and part in the order given, phases shaded, events marked by kind', async () => {
  const t0 = Date.parse('2026-11-26T15:00:00.000Z');
  const min = (m: number) => t0 + m * 60_000;
  const rows = [
    { label: '排队中', bars: [{ phase: 'queued' as const, from: min(0), to: min(1) }], marks: [{ at: min(0), event: '已提交', detail: '' }] },
    { label: '第 1 次尝试', bars: [{ phase: 'placed' as const, from: min(1), to: min(2) }, { phase: 'running' as const, from: min(2), to: min(8) }], marks: [{ at: min(5), event: '被抢占', detail: 'GPU 被其所有者收回' }] },
    { label: '第 1 次尝试 · Beta cloud（由 beta 出借）', bars: [{ phase: 'running' as const, from: min(2), to: min(6) }], marks: [{ at: min(6), event: '缩减：一个站点退出', detail: '' }] },
  ];
  const words = { time: '时间', queued: '排队', placed: '已分配，未启动', running: '运行中', event: '事件', detail: '详情' };
  const spec = timelineSpec(rows, words, 'd');
  const layers = (spec as { layer: { data: { values: { row: string; phase?: string; event?: string }[] } }[] }).layer;
  assert.deepEqual(layers[0]?.data.values.map((v) => [v.row, v.phase]), [['排队中', '排队'], ['第 1 次尝试', '已分配，未启动'], ['第 1 次尝试', '运行中'], ['第 1 次尝试 · Beta cloud（由 beta 出借）', '运行中']]);
  assert.deepEqual(layers[1]?.data.values.map((v) => [v.row, v.event]), [['排队中', '已提交'], ['第 1 次尝试', '被抢占'], ['第 1 次尝试 · Beta cloud（由 beta 出借）', '缩减：一个站点退出']]);
  const svg = await svgOf(spec);
  for (const word of ['排队中', '第 1 次尝试', 'Beta cloud（由 beta 出借）', '时间', '排队', '运行中', '事件', '被抢占', '缩减：一个站点退出']) assert.ok(svg.includes(word), word);
  assert.match(svg, />\d\d:\d\d:\d\d</, 'a time axis to the second: the job’s whole history spans minutes');
  assert.ok((await svgOf(timelineSpec([], words, 'd'))).length > 0, 'no rows draw too');
});
