import type { LedgerPointJson } from '../api/types.ts';

/**
 * The ledger over time as the view shows it (GET /ledger/history: per org and
 * bucket, the GPU-hours booked in it): each org's credits summed up to each time,
 * and each bucket's contributed and consumed GPU-hours as bars stacked above and
 * below zero. Times are ms since the epoch. Pure.
 */

/** The orgs of the points, in the API's order (bytewise), which the charts' colours follow. */
export function ledgerOrgs(points: readonly LedgerPointJson[]): string[] {
  return [...new Set(points.map((p) => p.org_id))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A point with its org's credits from the first bucket up to the end of this one. */
export type LedgerHistoryRow = LedgerPointJson & { readonly credits_to_date_gpu_h: number };

/** The points (oldest first, as the API sends them) with each org's running sum of credits. */
export function withCreditsToDate(points: readonly LedgerPointJson[]): LedgerHistoryRow[] {
  const sums = new Map<string, number>();
  return points.map((p) => {
    const sum = (sums.get(p.org_id) ?? 0) + p.credits_gpu_h;
    sums.set(p.org_id, sum);
    return { ...p, credits_to_date_gpu_h: sum };
  });
}

/** One vertex of an org's credit line. */
export interface CreditVertex {
  readonly org: string;
  readonly at: number;
  /** The org's credits (GPU-hours) at `at`. */
  readonly credits: number;
  /** The vertex's place along its org's line: a line's points are drawn in this order. */
  readonly order: number;
}

/**
 * Each org's credits as a line over the whole history: 0 at the first bucket's start,
 * then at each bucket it has entries in, its credits before the bucket (at the start)
 * and after it (at the end), flat across buckets without entries, up to the last
 * bucket's end. Credits accrue during a bucket, so they rise or fall across it.
 */
export function creditLines(points: readonly LedgerPointJson[], bucketS: number): CreditVertex[] {
  if (points.length === 0) return [];
  const length = bucketS * 1000;
  const times = points.map((p) => Date.parse(p.at));
  const first = Math.min(...times);
  const last = Math.max(...times) + length;
  return ledgerOrgs(points).flatMap((org) => {
    const line: CreditVertex[] = [];
    const add = (at: number, credits: number) => {
      const previous = line.at(-1);
      if (previous !== undefined && previous.at === at && previous.credits === credits) return;
      line.push({ org, at, credits, order: line.length });
    };
    let credits = 0;
    add(first, 0);
    for (const p of points) {
      if (p.org_id !== org) continue;
      const start = Date.parse(p.at);
      add(start, credits);
      credits += p.credits_gpu_h;
      add(start + length, credits);
    }
    add(last, credits);
    return line;
  });
}

/** One bar segment: an org's GPU-hours contributed (above zero) or consumed (below) in one bucket. */
export interface FlowBar {
  readonly org: string;
  readonly measure: 'contributed' | 'consumed';
  readonly start: number;
  readonly end: number;
  /** The GPU-hours themselves (positive either way). */
  readonly value: number;
  /** Where the segment sits once the bucket's orgs are stacked: contributed from 0 up, consumed from 0 down. */
  readonly low: number;
  readonly high: number;
}

/** Each bucket's contributed and consumed GPU-hours, stacked by org in org order; zeros are left out. */
export function flowBars(points: readonly LedgerPointJson[], bucketS: number): FlowBar[] {
  const length = bucketS * 1000;
  const order = new Map(ledgerOrgs(points).map((org, i) => [org, i]));
  const byStart = new Map<number, LedgerPointJson[]>();
  for (const p of points) {
    const start = Date.parse(p.at);
    byStart.set(start, [...(byStart.get(start) ?? []), p]);
  }
  return [...byStart].sort(([a], [b]) => a - b).flatMap(([start, bucket]) => {
    let up = 0;
    let down = 0;
    const bars: FlowBar[] = [];
    for (const p of [...bucket].sort((a, b) => (order.get(a.org_id) ?? 0) - (order.get(b.org_id) ?? 0))) {
      const end = start + length;
      if (p.contributed_gpu_h > 0) {
        bars.push({ org: p.org_id, measure: 'contributed', start, end, value: p.contributed_gpu_h, low: up, high: up + p.contributed_gpu_h });
        up += p.contributed_gpu_h;
      }
      if (p.consumed_gpu_h > 0) {
        bars.push({ org: p.org_id, measure: 'consumed', start, end, value: p.consumed_gpu_h, low: down - p.consumed_gpu_h, high: down });
        down -= p.consumed_gpu_h;
      }
    }
    return bars;
  });
}

/** Buckets the history's charts span at least: one day (or hour) of data is one slim bar in the middle, not a block across the chart. */
export const MIN_AXIS_BUCKETS = { day: 7, hour: 12 } as const;
/** Labelled ticks the time axis aims at, at most. */
const AXIS_TICKS = 12;
/** Hours between the ticks of an hourly axis: whole divisors of a day. */
const TICK_HOURS = [1, 2, 3, 6, 12, 24] as const;

/**
 * The time axis of the history's charts, shared by both: the span drawn (the buckets of the
 * data widened to `MIN_AXIS_BUCKETS`, the data in the middle) and where its ticks go. Daily
 * buckets (UTC days) get a tick at each shown day's noon, under its bar, to be labelled with
 * its date once; hourly ones a tick every few whole hours, to be labelled by the hour.
 */
export interface LedgerTimeAxis {
  readonly daily: boolean;
  /** ms since the epoch: the first bucket's start and the last one's end, widened. */
  readonly domain: readonly [number, number];
  /** ms since the epoch, at most `AXIS_TICKS`. */
  readonly ticks: readonly number[];
}

export function ledgerTimeAxis(points: readonly LedgerPointJson[], bucketS: number): LedgerTimeAxis {
  const daily = bucketS % 86_400 === 0;
  const length = bucketS * 1000;
  const times = points.map((p) => Date.parse(p.at));
  const first = times.length === 0 ? 0 : Math.min(...times);
  const buckets = times.length === 0 ? 1 : (Math.max(...times) - first) / length + 1;
  const wanted = daily ? MIN_AXIS_BUCKETS.day : MIN_AXIS_BUCKETS.hour;
  const before = Math.floor(Math.max(0, wanted - buckets) / 2);
  const after = Math.max(0, wanted - buckets) - before;
  const domain = [first - before * length, first + (buckets + after) * length] as const;
  const shown = buckets + before + after;
  if (daily) {
    const step = Math.ceil(shown / AXIS_TICKS);
    return { daily, domain, ticks: Array.from({ length: Math.ceil(shown / step) }, (_, i) => domain[0] + (i * step + 0.5) * length) };
  }
  const hours = (shown * bucketS) / 3600;
  const step = (TICK_HOURS.find((h) => hours / h <= AXIS_TICKS) ?? 24) * 3_600_000;
  const ticks: number[] = [];
  for (let at = Math.ceil(domain[0] / step) * step; at <= domain[1]; at += step) ticks.push(at);
  return { daily, domain, ticks };
}
