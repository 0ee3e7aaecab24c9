import { visibleLine } from '../model/text.ts';

/** Human-readable numbers for tables. JSON output never goes through these. */

const SI = ['', 'k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];

/** 44520 → "44,520". */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** 1 → "1 site", 12 → "12 sites". */
export function plural(n: number, noun: string): string {
  return `${count(n)} ${noun}${n === 1 ? '' : 's'}`;
}

/** 3.4e16 → "3.40e16 (34.0 P)". */
export function si(n: number, unit: string): string {
  if (n === 0) return `0 ${unit}`;
  const exp = Math.min(SI.length - 1, Math.max(0, Math.floor(Math.log10(Math.abs(n)) / 3)));
  const scaled = n / 10 ** (exp * 3);
  return `${scaled.toPrecision(3)} ${SI[exp]}${unit}`;
}

/** Parameter counts the way model cards write them: "13.0B", "850M". */
export function params(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toPrecision(3)}B` : `${(n / 1e6).toPrecision(3)}M`;
}

export function flops(n: number): string {
  return `${n.toExponential(2)} (${si(n, 'FLOP')})`;
}

/** Decimal gigabytes, as GPU vendors state memory. */
export function bytes(n: number): string {
  if (n >= 1e15) return `${(n / 1e15).toPrecision(3)} PB`;
  if (n >= 1e12) return `${(n / 1e12).toPrecision(3)} TB`;
  return `${(n / 1e9).toPrecision(3)} GB`;
}

/** Seconds as the largest sensible unit: "92.5 s", "23.4 min", "5.2 h", "3.1 days", "41 years". */
export function duration(s: number): string {
  if (s < 120) return `${s.toPrecision(3)} s`;
  if (s < 7200) return `${(s / 60).toPrecision(3)} min`;
  if (s < 172800) return `${(s / 3600).toPrecision(3)} h`;
  if (s < 2 * 365.25 * 86400) return `${(s / 86400).toPrecision(3)} days`;
  return `${(s / (365.25 * 86400)).toPrecision(3)} years`;
}

export function percent(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

export function hours(h: number): string {
  return h < 1000 ? `${h.toPrecision(3)} GPU-h` : `${count(h)} GPU-h`;
}

export function money(x: number | null): string {
  return x === null ? '— (give --price-per-gpu-hour)' : x < 100 ? x.toFixed(2) : count(x);
}

/**
 * Rows of (label, value) under section headings, aligned in two columns. The title,
 * labels and values are one line each: what they hold from a server is shown with
 * its hidden characters escaped (visibleLine), so that it cannot break the layout.
 */
export type Section = readonly [title: string, rows: readonly (readonly [string, string])[]];

export function sections(title: string, parts: readonly Section[]): string {
  const lines = parts.map(([heading, rows]) => [visibleLine(heading), rows.map(([k, v]) => [visibleLine(k), visibleLine(v)] as const)] as const);
  const width = Math.max(...lines.flatMap(([, rows]) => rows.map(([k]) => k.length)));
  const out = [visibleLine(title)];
  for (const [heading, rows] of lines) {
    out.push('', heading);
    for (const [k, v] of rows) out.push(`  ${k.padEnd(width)}  ${v}`);
  }
  return out.join('\n');
}

/**
 * A column table: the first row is the header; columns of numbers (with at most one
 * unit word) are right-aligned. Every cell is one line, with its hidden characters
 * escaped (visibleLine) before the columns are measured.
 */
export function columns(cells: readonly (readonly string[])[]): string {
  const rows = cells.map((r) => r.map(visibleLine));
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const numeric = widths.map((_, i) => i > 0 && rows.slice(1).every((r) => /^([-\d.,e+×%]+( [A-Za-z/-]+)?|—|)$/.test(r[i] ?? '')));
  const line = (r: readonly string[]) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  const [head, ...body] = rows;
  return [line(head ?? []), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** An API timestamp ("2026-01-01T09:30:00.000Z") as "2026-01-01 09:30:00Z"; null as "—". */
export function timestamp(iso: string | null): string {
  return iso === null ? '—' : iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
