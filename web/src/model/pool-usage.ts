import type { JobDetailJson, PlacementJson, PoolSampleJson } from '../api/types.ts';

/**
 * The pool overview's view models. The server sums the pool up (GET /pool: totals
 * by GPU type and org, the caller's sites, the sampled history); what is left here
 * is the share allocated and the history as a chart's series. Pure.
 */

/** The placement a job holds now: the latest attempt's, while it has not ended. */
export function currentPlacement(job: Pick<JobDetailJson, 'placements'>): PlacementJson | undefined {
  const latest = job.placements.reduce<PlacementJson | undefined>((a, p) => (a === undefined || p.attempt > a.attempt ? p : a), undefined);
  return latest?.ended_at === null ? latest : undefined;
}

/** The share of `counts` allocated (0 when there are no GPUs). */
export const utilization = (counts: { readonly gpus: number; readonly allocated: number }): number => (counts.gpus === 0 ? 0 : counts.allocated / counts.gpus);

/** One point of the history chart: GPUs of one series (a GPU type, or all GPUs) at one time (ms). */
export interface HistoryPoint {
  readonly at: number;
  readonly series: string;
  readonly gpus: number;
}

/**
 * The history's samples as the chart draws them: the GPUs allocated of each GPU type
 * (stacked, they make the pool's allocated GPUs), and the pool's GPUs in all (the
 * series named `allGpus`). A GPU type missing from a sample (no site of it yet) counts
 * 0 there. The newest sample holds until the next is due (`intervalMs` later): the
 * chart's steps start at each point, so without a closing point there the newest
 * sample would draw nothing.
 */
export function historySeries(samples: readonly PoolSampleJson[], allGpus: string, intervalMs: number): { readonly allocated: HistoryPoint[]; readonly capacity: HistoryPoint[]; readonly gpuTypes: string[] } {
  const last = samples.at(-1);
  const closed = last === undefined ? samples : [...samples, { ...last, at: new Date(Date.parse(last.at) + intervalMs).toISOString() }];
  return seriesOf(closed, allGpus);
}

function seriesOf(samples: readonly PoolSampleJson[], allGpus: string): { readonly allocated: HistoryPoint[]; readonly capacity: HistoryPoint[]; readonly gpuTypes: string[] } {
  const gpuTypes = [...new Set(samples.flatMap((s) => s.gpu_types.map((g) => g.gpu_type)))].sort();
  const allocated = samples.flatMap((s) => {
    const at = Date.parse(s.at);
    return gpuTypes.map((type) => ({ at, series: type, gpus: s.gpu_types.find((g) => g.gpu_type === type)?.allocated ?? 0 }));
  });
  return { allocated, capacity: samples.map((s) => ({ at: Date.parse(s.at), series: allGpus, gpus: s.gpus })), gpuTypes };
}

/** The spans of history a reader may choose, in ms; `all`: every sample the server keeps (a day at its defaults). */
export const HISTORY_RANGES = { hour: 3_600_000, '6h': 6 * 3_600_000, '24h': 24 * 3_600_000, all: null } as const;
export type HistoryRange = keyof typeof HISTORY_RANGES;

/** The samples no older than `range` before the newest one (the newest always), oldest first. */
export function samplesWithin<S extends { readonly at: string }>(samples: readonly S[], range: HistoryRange): readonly S[] {
  const span = HISTORY_RANGES[range];
  const newest = samples.at(-1);
  if (span === null || newest === undefined) return samples;
  const from = Date.parse(newest.at) - span;
  return samples.filter((s) => Date.parse(s.at) >= from);
}
