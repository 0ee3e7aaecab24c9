import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * Renders a Vega-Lite spec to a standalone SVG file. Vega renders headless in
 * Node with no canvas; text widths are estimated, which is fine for charts.
 */
export async function writeSvgChart(path: string, spec: TopLevelSpec): Promise<void> {
  const svg = await renderSvg(spec);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, svg);
}

/** A Vega-Lite spec as an SVG document string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** A log–log line chart of several series, the shape every sweep chart takes. */
export function logLogLines(opts: {
  title: string;
  x: string;
  y: string;
  points: readonly { x: number; y: number; series: string }[];
}): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.title,
    width: 560,
    height: 320,
    data: { values: opts.points.map((p) => ({ ...p })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: opts.x, scale: { type: 'log' } },
      y: { field: 'y', type: 'quantitative', title: opts.y, scale: { type: 'log' }, axis: { format: '~g' } },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'top-left', labelLimit: 0 } },
    },
  };
}

/** Side-by-side bars: one panel per measure, each with its own linear scale, one bar per subject. */
export function sideBySideBars(opts: { title: string; bars: readonly { measure: string; subject: string; value: number }[] }): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.title,
    data: { values: opts.bars.map((b) => ({ ...b })) },
    mark: 'bar',
    encoding: {
      column: { field: 'measure', type: 'nominal', title: null, sort: [...new Set(opts.bars.map((b) => b.measure))] },
      x: { field: 'subject', type: 'nominal', title: null, axis: { labels: false, ticks: false } },
      y: { field: 'value', type: 'quantitative', title: null, axis: { format: '~s' } },
      color: { field: 'subject', type: 'nominal', title: null, legend: { orient: 'top', labelLimit: 0 } },
    },
    resolve: { scale: { y: 'independent' } },
    width: 90,
    height: 240,
  };
}
