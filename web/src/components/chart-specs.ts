import type { TopLevelSpec } from 'vega-lite';
import type { PoolLendingJson, PoolSiteJson } from '../api/types.ts';
import type { CreditVertex, FlowBar, LedgerTimeAxis } from '../model/ledger-history.ts';
import type { OrgLedgerTotals } from '../model/ledger-totals.ts';
import type { historySeries } from '../model/pool-usage.ts';

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

/**
 * As wide as the chart's box, axes, legend and padding included. Vega-Lite fits a 'container'
 * width so already; said here so that a chart drawn at a fixed width (the tests') fits too. A
 * width per step (a band per org) grew past its box with a few orgs on a narrow screen.
 */
const FIT_WIDTH = { width: 'container', autosize: { type: 'fit-x', contains: 'padding' } } as const;

/** Colours for allocated, idle and unavailable GPUs: dark, light, grey; the legend names each. */
export const USAGE_COLOURS = ['#1f5f8b', '#9cc3dc', '#c4c4c4'] as const;

export interface UsageWords {
  readonly allocated: string;
  readonly idle: string;
  readonly unavailable: string;
  readonly gpus: string;
}

/** Stacked bars, one per site and GPU type: its allocated, idle and unavailable GPUs. */
export function siteUsageSpec(rows: readonly PoolSiteJson[], words: UsageWords, description: string): TopLevelSpec {
  const statuses = [words.allocated, words.idle, words.unavailable];
  const values = rows.flatMap((r) => {
    const bar = `${r.name} · ${r.gpu_type}`;
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

/**
 * Who lends to whom now, as a grid: a row per borrower, a column per lender, each pair's
 * GPUs as a shade and as the number written in its cell (so no colour has to be read).
 * Pairs that lend nothing stay blank.
 */
export function lendingSpec(rows: readonly PoolLendingJson[], words: { readonly lender: string; readonly borrower: string; readonly gpus: string }, description: string): TopLevelSpec {
  const most = Math.max(1, ...rows.map((r) => r.gpus));
  const borrowers = new Set(rows.map((r) => r.borrower_org_id)).size;
  return {
    $schema: SCHEMA,
    description,
    width: 'container',
    height: Math.max(1, borrowers) * 44,
    data: { values: rows.map((r) => ({ lender: r.lender_org_id, borrower: r.borrower_org_id, gpus: r.gpus })) },
    encoding: {
      x: { field: 'lender', type: 'nominal', title: words.lender, sort: 'ascending', axis: { orient: 'top', labelAngle: 0, labelLimit: 160 } },
      y: { field: 'borrower', type: 'nominal', title: words.borrower, sort: 'ascending', axis: { labelLimit: 160 } },
      tooltip: [{ field: 'lender', title: words.lender }, { field: 'borrower', title: words.borrower }, { field: 'gpus', type: 'quantitative', title: words.gpus }],
    },
    layer: [
      { mark: { type: 'rect', stroke: '#ffffff', strokeWidth: 2 }, encoding: { color: { field: 'gpus', type: 'quantitative', title: words.gpus, scale: { domain: [0, most], range: ['#e3eef6', USAGE_COLOURS[0]] }, legend: null } } },
      // The figure in each cell, light on the darker half of the shades.
      { mark: { type: 'text', fontSize: 14, fontWeight: 'bold' }, encoding: { text: { field: 'gpus', type: 'quantitative', format: ',d' }, color: { condition: { test: `datum.gpus > ${most / 2}`, value: '#ffffff' }, value: '#14181c' } } },
    ],
    config: CONFIG,
  };
}

/** Colours for GPU types in the history, in name order; the pool's GPUs in all are the dark line. */
const SERIES_COLOURS = [USAGE_COLOURS[0], '#d08c2c', '#2e7d4f', '#8b3a62', '#9cc3dc', '#6b6b6b'] as const;

/**
 * The pool over time from the server's samples: the GPUs allocated per GPU type as
 * stacked areas, the pool's GPUs in all as a dashed line (a point when there is
 * only one sample).
 */
export function historySpec(series: ReturnType<typeof historySeries>, words: { readonly time: string; readonly gpus: string; readonly all: string }, description: string): TopLevelSpec {
  const times = series.capacity.map((p) => p.at);
  // Seconds on the axis while the history is short (a server just started), else hours and minutes.
  const short = times.length < 2 || Math.max(...times) - Math.min(...times) < 10 * 60_000;
  const x = { field: 'at', type: 'temporal' as const, title: words.time, axis: { format: short ? '%H:%M:%S' : '%H:%M', labelAngle: 0, tickCount: 6 } };
  const colour = {
    field: 'series', type: 'nominal' as const, title: null,
    scale: { domain: [...series.gpuTypes, words.all], range: [...series.gpuTypes.map((_, i) => SERIES_COLOURS[i % SERIES_COLOURS.length] ?? USAGE_COLOURS[0]), '#14181c'] },
    legend: { orient: 'top' as const },
  };
  return {
    $schema: SCHEMA,
    description,
    width: 'container',
    height: 200,
    layer: [
      {
        data: { values: series.allocated.map((p) => ({ ...p })) },
        mark: { type: 'area', interpolate: 'step-after', opacity: 0.85, tooltip: true },
        encoding: { x, y: { field: 'gpus', type: 'quantitative', stack: 'zero', title: words.gpus, axis: { tickMinStep: 1, format: 'd' } }, color: colour },
      },
      {
        data: { values: series.capacity.map((p) => ({ ...p })) },
        // A point only where a line cannot show: a single point (historySeries closes the newest sample, so rarely).
        mark: { type: 'line', interpolate: 'step-after', strokeDash: [4, 3], point: times.length === 1, tooltip: true },
        encoding: { x, y: { field: 'gpus', type: 'quantitative' }, color: colour },
      },
    ],
    config: CONFIG,
  };
}

/** Side-by-side bars per org: GPU-hours lent to others (contributed), borrowed from others (consumed), and used on its own sites. */
export function ledgerSpec(orgs: readonly OrgLedgerTotals[], words: { readonly contributed: string; readonly consumed: string; readonly own: string; readonly gpuHours: string }, description: string): TopLevelSpec {
  const measures = [words.contributed, words.consumed, words.own];
  return {
    $schema: SCHEMA,
    description,
    ...FIT_WIDTH,
    height: 200,
    data: { values: orgs.flatMap((o) => [o.contributed, o.consumed, o.own].map((value, i) => ({ org: o.orgId, measure: measures[i], value }))) },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      // Room either side of few orgs: one org's bars stay slim in a wide box.
      x: { field: 'org', type: 'nominal', title: null, axis: { labelAngle: 0 }, scale: { paddingInner: 0.25, paddingOuter: Math.max(0.2, (4 - orgs.length) / 2) } },
      xOffset: { field: 'measure', sort: measures },
      y: { field: 'value', type: 'quantitative', title: words.gpuHours },
      color: { field: 'measure', type: 'nominal', title: null, scale: { domain: measures, range: ['#2e7d4f', '#d08c2c', USAGE_COLOURS[0]] }, legend: { orient: 'top' } },
    },
    config: CONFIG,
  };
}

/** Colours for orgs in the ledger's history, in org order, the same in both of its charts. */
const ORG_COLOURS = [USAGE_COLOURS[0], '#d08c2c', '#2e7d4f', '#8b3a62', '#6b6b6b', '#9cc3dc', '#c4572a', '#5b4a9e'] as const;

/**
 * The ledger history's time axis (ledgerTimeAxis): daily buckets are UTC days (what the server
 * sums by), each labelled once with its date under its bar; hourly ones are local hours, labelled
 * by the hour, with the date (month-day) only at midnight, so no label repeats another.
 */
function ledgerTime(axis: LedgerTimeAxis, title: string) {
  // The domain's ends as a minimum and a maximum: a `domain` would clash with the one Vega-Lite derives for x2.
  const [domainMin, domainMax] = axis.domain;
  return {
    type: 'temporal' as const,
    title,
    scale: { ...(axis.daily ? { type: 'utc' as const } : {}), domainMin, domainMax },
    axis: {
      labelAngle: 0,
      values: [...axis.ticks],
      grid: false,
      ...(axis.daily ? { format: '%Y-%m-%d' } : { labelExpr: "hours(datum.value) == 0 ? timeFormat(datum.value, '%m-%d') : timeFormat(datum.value, '%H:%M')" }),
    },
  };
}

/** A time in a tooltip, as the axis writes it. */
function timeTip(field: string, daily: boolean, title: string) {
  return { field, type: 'temporal' as const, title, format: daily ? '%Y-%m-%d' : '%Y-%m-%d %H:%M', formatType: daily ? 'utc' : 'time' };
}

function orgColour(orgs: readonly string[]) {
  return { field: 'org', type: 'nominal' as const, title: null, scale: { domain: [...orgs], range: orgs.map((_, i) => ORG_COLOURS[i % ORG_COLOURS.length] ?? USAGE_COLOURS[0]) }, legend: { orient: 'top' as const } };
}

/** GPU-hours on an axis: significant digits only ("0.0015", "1,234.5"), never "0.000000" when every figure is 0. */
const GPU_HOURS_AXIS = { format: ',~r' };

/** A dashed line at zero, across the whole chart. */
const ZERO_RULE = { data: { values: [{}] }, mark: { type: 'rule' as const, color: '#14181c', strokeDash: [4, 3], aria: false }, encoding: { y: { datum: 0 } } };

/** Each org's credits (GPU-hours contributed minus consumed, summed up to each time) as a line per org, with the zero line: above it the pool owes the org. */
export function creditsSpec(lines: readonly CreditVertex[], orgs: readonly string[], axis: LedgerTimeAxis, words: { readonly time: string; readonly credits: string; readonly org: string }, description: string): TopLevelSpec {
  const x = { field: 'at', ...ledgerTime(axis, words.time) };
  return {
    $schema: SCHEMA,
    description,
    ...FIT_WIDTH,
    height: 220,
    layer: [
      ZERO_RULE,
      {
        data: { values: lines.map((v) => ({ ...v })) },
        mark: { type: 'line', point: true },
        encoding: {
          x,
          y: { field: 'credits', type: 'quantitative', title: words.credits, axis: GPU_HOURS_AXIS },
          color: orgColour(orgs),
          order: { field: 'order' },
          tooltip: [{ field: 'org', title: words.org }, timeTip('at', axis.daily, words.time), { field: 'credits', type: 'quantitative', title: words.credits, format: ',.2f' }],
        },
      },
    ],
    config: CONFIG,
  };
}

/** Per bucket, each org's GPU-hours contributed as a bar above zero and consumed below, stacked by org; one colour per org. */
export function flowsSpec(bars: readonly FlowBar[], orgs: readonly string[], axis: LedgerTimeAxis, words: { readonly time: string; readonly gpuHours: string; readonly org: string; readonly contributed: string; readonly consumed: string }, description: string): TopLevelSpec {
  const time = ledgerTime(axis, words.time);
  return {
    $schema: SCHEMA,
    description,
    ...FIT_WIDTH,
    height: 220,
    layer: [
      {
        data: { values: bars.map((b) => ({ ...b, measure: b.measure === 'contributed' ? words.contributed : words.consumed })) },
        // A gap between neighbouring buckets: each bar keeps the middle 90% of its bucket.
        transform: [{ calculate: 'datum.start + (datum.end - datum.start) * 0.05', as: 'left' }, { calculate: 'datum.end - (datum.end - datum.start) * 0.05', as: 'right' }],
        mark: { type: 'bar' },
        encoding: {
          x: { field: 'left', ...time },
          x2: { field: 'right' },
          y: { field: 'low', type: 'quantitative', title: words.gpuHours, axis: GPU_HOURS_AXIS },
          y2: { field: 'high' },
          color: orgColour(orgs),
          tooltip: [
            { field: 'org', title: words.org },
            { field: 'measure', title: ' ' },
            timeTip('start', axis.daily, words.time),
            { field: 'value', type: 'quantitative', title: words.gpuHours, format: ',.2f' },
          ],
        },
      },
      ZERO_RULE,
    ],
    config: CONFIG,
  };
}

/** Horizontal bars, one per named quantity, with an SI-prefixed axis: the planner's FLOPs by part, GPU-hours by bucket. */
export function namedBarsSpec(bars: readonly { readonly name: string; readonly value: number }[], words: { readonly value: string }, description: string): TopLevelSpec {
  return {
    $schema: SCHEMA,
    description,
    width: 'container',
    height: Math.max(1, bars.length) * 30,
    data: { values: bars.map((b, order) => ({ name: b.name, value: b.value, order })) },
    mark: { type: 'bar', tooltip: true, color: USAGE_COLOURS[0] },
    encoding: {
      y: { field: 'name', type: 'nominal', title: null, sort: { field: 'order' }, axis: { labelLimit: 260 } },
      x: { field: 'value', type: 'quantitative', title: words.value, axis: { format: '.3~s' } },
    },
    config: CONFIG,
  };
}

/** One bar of a grouped bar chart: a group (a policy), a series within it (siloed, pooled), its value, and an optional tick on it. */
export interface GroupedBar {
  readonly group: string;
  readonly series: string;
  readonly value: number;
  /** A second figure marked as a tick on the bar's column (the p99 JCT over the average's bar); null for none. */
  readonly tick: number | null;
}

/**
 * Side-by-side bars per group, one colour per series, with ticks where given: the simulation
 * report's JCT and utilization by policy and mode. Groups keep the bars' order (the table's),
 * and `words.value` titles the value axis (with its unit).
 */
export function groupedBarsSpec(bars: readonly GroupedBar[], words: { readonly value: string }, options: { readonly series: readonly string[]; readonly percent?: boolean }, description: string): TopLevelSpec {
  const axis = options.percent === true ? { format: '.0%' } : { format: '.3~s' };
  const bar = { type: 'bar' as const, tooltip: true };
  // The ticks share the bars' axis: a title of their own (even null) would replace the bars'.
  const tickLayer = bars.some((b) => b.tick !== null)
    ? [{ mark: { type: 'tick' as const, color: '#14181c', thickness: 2, tooltip: true }, transform: [{ filter: 'datum.tick != null' }], encoding: { y: { field: 'tick', type: 'quantitative' as const, title: words.value } } }]
    : [];
  const colour = { field: 'series', type: 'nominal' as const, title: null, scale: { domain: [...options.series], range: ['#9cc3dc', USAGE_COLOURS[0], '#d08c2c', '#2e7d4f'] }, legend: { orient: 'top' as const } };
  return {
    $schema: SCHEMA,
    description,
    ...FIT_WIDTH,
    height: 220,
    data: { values: bars.map((b) => ({ ...b })) },
    encoding: {
      x: { field: 'group', type: 'nominal', title: null, sort: [...new Set(bars.map((b) => b.group))], axis: { labelAngle: 0, labelLimit: 160 } },
      xOffset: { field: 'series', sort: [...options.series] },
    },
    // The colour is the bars' only: a tick stays dark on any bar.
    layer: [{ mark: bar, encoding: { color: colour, y: { field: 'value', type: 'quantitative', title: words.value, axis, ...(options.percent === true ? { scale: { domain: [0, 1] } } : {}) } } }, ...tickLayer],
    config: CONFIG,
  };
}

/** Each org's finish-time fairness ρ (JCT pooled ÷ alone) per policy, as horizontal bars, with a dashed line at 1: left of it the org gains from pooling. Policies keep the rows' order (the table's). */
export function rhoSpec(rows: readonly { readonly org: string; readonly policy: string; readonly rho: number }[], words: { readonly rho: string }, description: string): TopLevelSpec {
  const orgs = new Set(rows.map((r) => r.org)).size;
  const policies = [...new Set(rows.map((r) => r.policy))];
  return {
    $schema: SCHEMA,
    description,
    ...FIT_WIDTH,
    height: Math.max(1, orgs * policies.length) * 18 + 20,
    data: { values: rows.map((r) => ({ ...r })) },
    layer: [
      {
        mark: { type: 'bar', tooltip: true },
        encoding: {
          y: { field: 'org', type: 'nominal', title: null },
          yOffset: { field: 'policy', sort: policies },
          x: { field: 'rho', type: 'quantitative', title: words.rho },
          color: { field: 'policy', type: 'nominal', title: null, scale: { domain: policies }, legend: { orient: 'top' } },
        },
      },
      { mark: { type: 'rule', color: '#14181c', strokeDash: [4, 3], aria: false }, encoding: { x: { datum: 1 } } },
    ],
    config: CONFIG,
  };
}

/** One row of a job's timeline as the chart draws it: its label, its bars (a phase each, from and to in ms) and its events' marks. */
export interface TimelineChartRow {
  readonly label: string;
  readonly bars: readonly { readonly phase: 'queued' | 'placed' | 'running'; readonly from: number; readonly to: number }[];
  readonly marks: readonly { readonly at: number; readonly event: string; readonly detail: string }[];
}

/**
 * A job's timeline as a Gantt chart: a row per queue, attempt and part (in the order given), its bars shaded by phase
 * (queued grey, placed light, running dark), and a mark per event, its shape naming the event's type in the legend.
 */
export function timelineSpec(rows: readonly TimelineChartRow[], words: { readonly time: string; readonly queued: string; readonly placed: string; readonly running: string; readonly event: string; readonly detail: string }, description: string): TopLevelSpec {
  const labels = rows.map((r) => r.label);
  const times = rows.flatMap((r) => [...r.bars.flatMap((b) => [b.from, b.to]), ...r.marks.map((m) => m.at)]);
  const spanMs = times.length < 2 ? 0 : Math.max(...times) - Math.min(...times);
  const format = spanMs < 10 * 60_000 ? '%H:%M:%S' : spanMs < 86_400_000 ? '%H:%M' : '%m-%d %H:%M';
  const y = { field: 'row', type: 'nominal' as const, title: null, sort: labels, axis: { labelLimit: 240 } };
  const time = { type: 'temporal' as const, title: words.time, axis: { format, labelAngle: 0, tickCount: 5 } };
  const tip = (field: string) => ({ field, type: 'temporal' as const, title: words.time, format: '%Y-%m-%d %H:%M:%S' });
  const phases = [words.queued, words.placed, words.running];
  const phaseWord = { queued: words.queued, placed: words.placed, running: words.running } as const;
  return {
    $schema: SCHEMA,
    description,
    width: 'container',
    height: Math.max(1, rows.length) * 30,
    layer: [
      {
        data: { values: rows.flatMap((r) => r.bars.map((b) => ({ row: r.label, phase: phaseWord[b.phase], from: b.from, to: b.to }))) },
        mark: { type: 'bar', cornerRadius: 2 },
        encoding: {
          y, x: { field: 'from', ...time }, x2: { field: 'to' },
          color: { field: 'phase', type: 'nominal', title: null, scale: { domain: phases, range: [USAGE_COLOURS[2], USAGE_COLOURS[1], USAGE_COLOURS[0]] }, legend: { orient: 'top' } },
          tooltip: [{ field: 'row', title: ' ' }, { field: 'phase', title: ' ' }, tip('from'), { ...tip('to'), title: '→' }],
        },
      },
      {
        data: { values: rows.flatMap((r) => r.marks.map((m) => ({ row: r.label, at: m.at, event: m.event, detail: m.detail }))) },
        mark: { type: 'point', filled: true, size: 80, color: '#d08c2c', stroke: '#14181c', strokeWidth: 1, opacity: 1 },
        encoding: {
          y, x: { field: 'at', ...time },
          shape: { field: 'event', type: 'nominal', title: words.event, legend: { orient: 'bottom', columns: 3 } },
          tooltip: [{ field: 'event', title: words.event }, tip('at'), { field: 'detail', title: words.detail }],
        },
      },
    ],
    config: CONFIG,
  };
}
