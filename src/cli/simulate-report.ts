import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import type { JobOutcome } from '../sim/engine.ts';
import { utilizationSeries } from '../sim/metrics.ts';
import { renderSvg } from './chart.ts';
import type { SimulateRun, SimulateSetup } from './simulate-command.ts';

/**
 * `suanli simulate --report DIR`: results.json (the --json document), jobs.csv
 * (one row per job, run and mode) and report.html, a single offline page whose
 * charts are inline SVG.
 */
export async function writeReport(dir: string, setup: SimulateSetup, runs: readonly SimulateRun[], json: unknown): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'results.json'), JSON.stringify(json, null, 2));
  await writeJobsCsv(join(dir, 'jobs.csv'), runs, setup);
  await writeFile(join(dir, 'report.html'), await reportHtml(setup, runs));
}

const CSV_COLUMNS = ['policy', 'mode', 'id', 'org', 'gpus', 'submit_s', 'start_s', 'end_s', 'jct_s', 'queue_s', 'preemptions', 'lost_gpu_s', 'failed_gpu_s', 'status', 'site', 'wait_reason'] as const;

function csvCell(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Streams the rows: a national run has millions. */
async function writeJobsCsv(path: string, runs: readonly SimulateRun[], setup: SimulateSetup): Promise<void> {
  const out = createWriteStream(path);
  const write = (line: string) => (out.write(line) ? Promise.resolve() : new Promise<void>((resolve) => out.once('drain', () => resolve())));
  await write(`${CSV_COLUMNS.join(',')}\n`);
  for (const r of runs) {
    for (const mode of setup.modes) {
      const outcomes = r.result[mode]?.simulation.outcomes ?? [];
      let chunk = '';
      for (const o of outcomes) {
        chunk += `${[r.policy, mode, ...CSV_COLUMNS.slice(2).map((c) => o[c as keyof JobOutcome])].map((v) => csvCell(v)).join(',')}\n`;
        if (chunk.length > 1 << 16) {
          await write(chunk);
          chunk = '';
        }
      }
      await write(chunk);
    }
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

async function reportHtml(setup: SimulateSetup, runs: readonly SimulateRun[]): Promise<string> {
  const util: { hours: number; utilization: number; run: string }[] = [];
  const cdf: { hours: number; share: number; run: string }[] = [];
  const rho: { org: string; rho: number; policy: string }[] = [];
  for (const r of runs) {
    for (const mode of setup.modes) {
      const res = r.result[mode];
      if (!res) continue;
      const label = `${r.label} ${mode}`;
      const end = res.summary.makespan_s;
      for (const p of utilizationSeries(res.simulation, 0, end, 200)) util.push({ hours: p.t / 3600, utilization: p.utilization, run: label });
      const jcts = res.simulation.outcomes.flatMap((o) => (o.jct_s === null ? [] : [o.jct_s])).sort((a, b) => a - b);
      const step = Math.max(1, Math.floor(jcts.length / 200));
      for (let i = 0; i < jcts.length; i += step) cdf.push({ hours: Math.max(1 / 60, (jcts[i] ?? 0) / 3600), share: (i + 1) / jcts.length, run: label });
    }
    for (const o of r.result.fairness?.orgs ?? []) if (o.rho !== null) rho.push({ org: o.org, rho: o.rho, policy: r.label });
  }
  const charts: [string, TopLevelSpec][] = [
    ['Allocation utilization over time', { width: 720, height: 260, data: { values: util }, mark: 'line', encoding: { x: { field: 'hours', type: 'quantitative', title: 'hours since the first submission' }, y: { field: 'utilization', type: 'quantitative', axis: { format: '%' } }, color: { field: 'run', type: 'nominal', legend: { labelLimit: 0 } } } }],
    ['Job completion time, CDF', { width: 720, height: 260, data: { values: cdf }, mark: 'line', encoding: { x: { field: 'hours', type: 'quantitative', scale: { type: 'log' }, title: 'JCT (hours, log scale)' }, y: { field: 'share', type: 'quantitative', axis: { format: '%' }, title: 'jobs finished within' }, color: { field: 'run', type: 'nominal', legend: { labelLimit: 0 } } } }],
  ];
  if (rho.length > 0) {
    charts.push(['Per-org finish-time fairness ρ (JCT pooled ÷ alone; below 1 the org gains)', {
      width: 720, height: Math.max(200, 14 * new Set(rho.map((r) => r.org)).size), data: { values: rho },
      layer: [
        { mark: 'bar', encoding: { y: { field: 'org', type: 'nominal', sort: '-x' }, x: { field: 'rho', type: 'quantitative', title: 'ρ' }, yOffset: { field: 'policy' }, color: { field: 'policy', type: 'nominal' } } },
        { mark: { type: 'rule', color: 'black', strokeDash: [4, 3] }, encoding: { x: { datum: 1 } } },
      ],
    }]);
  }
  const svgs = await Promise.all(charts.map(async ([title, spec]) => `<h2>${escapeHtml(title)}</h2>\n${await renderSvg(spec)}`));
  const rows = runs.flatMap((r) => setup.modes.map((m) => {
    const s = r.result[m]?.summary;
    if (!s) return '';
    const h = (x: number | null) => (x === null ? '—' : (x / 3600).toFixed(2));
    const f = m === 'pooled' ? r.result.fairness : undefined;
    const share = (x: number) => `${(x * 100).toFixed(1)}%`;
    return `<tr><td>${r.label}</td><td>${m}</td><td>${h(s.avg_jct_s)}</td><td>${h(s.p50_jct_s)}</td><td>${h(s.p99_jct_s)}</td><td>${h(s.avg_queue_s)}</td><td>${(s.utilization * 100).toFixed(1)}%</td><td>${s.done}</td><td>${s.never_started}</td><td>${f ? (f.worst_rho?.toFixed(2) ?? '—') : ''}</td><td>${f ? share(f.orgs_worse_off) : ''}</td><td>${f ? share(f.jobs_worse_off) : ''}</td></tr>`;
  })).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Suanli simulation report</title>
<style>body{font:14px system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child,td:nth-child(2),th:nth-child(2){text-align:left}</style>
</head><body>
<h1>Suanli simulation report</h1>
<p>${escapeHtml(`${setup.jobs.length} jobs from ${setup.trace.file} (${setup.trace.format}); pool ${setup.poolSource}: ${setup.pool.sites.length} sites; seed ${setup.seed}${setup.backfill ? '; EASY backfill' : ''}.`)}</p>
<table><thead><tr><th>policy</th><th>mode</th><th>avg JCT (h)</th><th>p50 JCT (h)</th><th>p99 JCT (h)</th><th>avg queue (h)</th><th>utilization</th><th>done</th><th>never started</th><th>worst ρ</th><th>orgs worse off</th><th>jobs worse off</th></tr></thead><tbody>
${rows}
</tbody></table>
${svgs.join('\n')}
${setup.poolNotes.length > 0 ? `<h2>Pool notes</h2><ul>${setup.poolNotes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : ''}
</body></html>
`;
}
