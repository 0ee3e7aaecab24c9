// The charts' specs compile (Vega-Lite) and draw (Vega, headless, to SVG) with the
// figures and words they were given: the same path the page takes, minus the DOM.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { poolUsage } from '../model/pool-usage.ts';
import { holding, site } from '../model/test-data.ts';
import { ledgerSpec, siteUsageSpec, utilizationSpec } from './chart-specs.ts';

async function svgOf(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  // 'container' widths need a page; a fixed width stands in for it here.
  view.width(600);
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

test('the site chart stacks allocated, idle and unavailable GPUs per site and type, with the words given', async () => {
  const usage = poolUsage([site('a', 'acme', { h100: [2, 8] }), site('b', 'beta', { a100: [1, 4] }, { health: 'lost' })], [holding('1', 'acme', [['a', 'h100', 6]])]);
  const spec = siteUsageSpec(usage.sites, { allocated: '已分配', idle: '空闲', unavailable: '不可用', gpus: 'GPU 数' }, 'description');
  const values = (spec.data as { values: { bar: string; status: string; gpus: number }[] }).values;
  assert.deepEqual(values.filter((v) => v.bar === 'a lab · h100').map((v) => [v.status, v.gpus]), [['已分配', 6], ['空闲', 10], ['不可用', 0]]);
  const svg = await svgOf(spec);
  for (const word of ['a lab · h100', 'b lab · a100', '已分配', '空闲', '不可用', 'GPU 数']) assert.ok(svg.includes(word), word);
});

test('the utilization line and the ledger bars draw', async () => {
  const trend = await svgOf(utilizationSpec([{ at: Date.UTC(2026, 10, 26, 15), allocated: 4, capacity: 8 }, { at: Date.UTC(2026, 10, 26, 15, 0, 4), allocated: 8, capacity: 8 }], { time: 'Time', utilization: 'Utilization' }, 'd'));
  assert.ok(trend.includes('100%') && trend.includes('Utilization'));
  const ledger = await svgOf(ledgerSpec([{ orgId: 'acme', contributed: 1, consumed: 2, own: 3, credits: -1 }, { orgId: 'beta', contributed: 2, consumed: 1, own: 0, credits: 1 }], { contributed: 'Contributed', consumed: 'Consumed', own: 'Own', gpuHours: 'GPU-hours' }, 'd'));
  for (const word of ['acme', 'beta', 'Contributed', 'Consumed', 'Own', 'GPU-hours']) assert.ok(ledger.includes(word), word);
});
