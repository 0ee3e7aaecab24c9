import type { TopLevelSpec } from 'vega-lite';
import type { OrgLedgerTotals } from '../model/ledger-totals.ts';
import type { SiteTypeUsage, UtilizationSample } from '../model/pool-usage.ts';

/**
 * The dashboard's charts as Vega-Lite specs: pure data, built from the view's
 * figures and the words of the chosen language, so they are tested (and rendered
 * to SVG) in Node; vega-chart.tsx draws them in the page.
 */

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
/** The page's colours and type (styles.css), so charts sit in it without a frame. */
const CONFIG: NonNullable<TopLevelSpec['config']> = {
  background: 'transparent',
  font: 'system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif',
  axis: { labelFontSize: 12, titleFontSize: 12, labelColor: '#333', titleColor: '#333', gridColor: '#e6e6e6' },
  legend: { labelFontSize: 12, titleFontSize: 12 },
  view: { stroke: null },
};

/** Colours for allocated, idle and unavailable GPUs: dark, light, grey; the legend names each. */
export const USAGE_COLOURS = ['#1f5f8b', '#9cc3dc', '#c4c4c4'] as const;

export interface UsageWords {
  readonly allocated: string;
  readonly idle: string;
  readonly unavailable: string;
  readonly gpus: string;
}

/** Stacked bars, one per site and GPU type: its allocated, idle and unavailable GPUs. */
export function siteUsageSpec(rows: readonly SiteTypeUsage[], words: UsageWords, description: string): TopLevelSpec {
  const statuses = [words.allocated, words.idle, words.unavailable];
  const values = rows.flatMap((r) => {
    const bar = `${r.siteName} · ${r.gpuType}`;
    return [r.allocated, r.idle, r.unavailable].map((gpus, order) => ({ bar, status: statuses[order], order, gpus }));
  });
  return {
    $schema: SCHEMA,
    description,
    width: 'container',
    // The height follows the number of bars (a number, as a `step` height cannot be combined with a container width).
    height: Math.max(1, rows.length) * 26,
    data: { values },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      y: { field: 'bar', type: 'nominal', title: null, sort: null, axis: { labelLimit: 260 } },
      x: { field: 'gpus', type: 'quantitative', title: words.gpus, stack: 'zero', axis: { tickMinStep: 1, format: 'd' } },
      color: { field: 'status', type: 'nominal', title: null, scale: { domain: statuses, range: [...USAGE_COLOURS] }, legend: { orient: 'top' } },
      order: { field: 'order' },
    },
    config: CONFIG,
  };
}

/** The share of capacity allocated at each sample, as a step line from 0 to 100%. */
export function utilizationSpec(samples: readonly UtilizationSample[], words: { readonly time: string; readonly utilization: string }, description: string): TopLevelSpec {
  return {
    $schema: SCHEMA,
    description,
    width: 'container',
    height: 180,
    data: { values: samples.map((s) => ({ at: s.at, share: s.capacity === 0 ? 0 : s.allocated / s.capacity })) },
    mark: { type: 'line', interpolate: 'step-after', point: true, color: USAGE_COLOURS[0] },
    encoding: {
      x: { field: 'at', type: 'temporal', title: words.time, axis: { format: '%H:%M:%S', labelAngle: 0, tickCount: 5 } },
      y: { field: 'share', type: 'quantitative', title: words.utilization, scale: { domain: [0, 1] }, axis: { format: '.0%' } },
    },
    config: CONFIG,
  };
}

/** Side-by-side bars per org: GPU-hours lent to others (contributed), borrowed from others (consumed), and used on its own sites. */
export function ledgerSpec(orgs: readonly OrgLedgerTotals[], words: { readonly contributed: string; readonly consumed: string; readonly own: string; readonly gpuHours: string }, description: string): TopLevelSpec {
  const measures = [words.contributed, words.consumed, words.own];
  return {
    $schema: SCHEMA,
    description,
    // A fixed width per org: bars stay slim with one org and the chart grows (and scrolls) with many.
    width: { step: 120 },
    height: 200,
    data: { values: orgs.flatMap((o) => [o.contributed, o.consumed, o.own].map((value, i) => ({ org: o.orgId, measure: measures[i], value }))) },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: { field: 'org', type: 'nominal', title: null, axis: { labelAngle: 0 } },
      xOffset: { field: 'measure', sort: measures },
      y: { field: 'value', type: 'quantitative', title: words.gpuHours },
      color: { field: 'measure', type: 'nominal', title: null, scale: { domain: measures, range: ['#2e7d4f', '#d08c2c', USAGE_COLOURS[0]] }, legend: { orient: 'top' } },
    },
    config: CONFIG,
  };
}
