import type { ApiClient } from './client.ts';
import type { JobDetailJson, JobJson, JobListJson, JobState } from './types.ts';

/** Largest page the API gives (JobListQuery's limit). */
const PAGE = 500;
/** Details fetched at once: enough to fill a cold cache quickly, few enough not to crowd the server. */
const PARALLEL = 4;

/**
 * Every job in `states` the caller may see, all pages: for counts and for the
 * overview, which needs each placed or running job. Stops after `maxPages` pages
 * and says so (`complete: false`).
 */
export async function listAllJobs(client: ApiClient, states: readonly JobState[], signal?: AbortSignal, maxPages = 20): Promise<{ jobs: JobJson[]; complete: boolean }> {
  const jobs: JobJson[] = [];
  let after: string | null = null;
  for (let page = 0; page < maxPages; page++) {
    const query = new URLSearchParams({ state: states.join(','), limit: String(PAGE) });
    if (after !== null) query.set('after', after);
    const list: JobListJson = await client.get<JobListJson>(`/jobs?${query.toString()}`, signal);
    jobs.push(...list.jobs);
    after = list.next;
    if (after === null) return { jobs, complete: true };
  }
  return { jobs, complete: false };
}

/**
 * The details (placements above all) of the caller's placed and running jobs, as
 * the pool overview needs them: the API lists jobs without their placements. A
 * detail is fetched again only when the list says the job changed (`updated_at`),
 * so a steady pool costs one list request per refresh. One instance per view.
 */
export class ActiveJobDetails {
  private cache = new Map<string, JobDetailJson>();

  async load(client: ApiClient, signal?: AbortSignal): Promise<{ jobs: JobDetailJson[]; complete: boolean }> {
    const { jobs, complete } = await listAllJobs(client, ['placed', 'running'], signal);
    const stale = jobs.filter((j) => this.cache.get(j.id)?.updated_at !== j.updated_at);
    const fresh = await mapInBatches(stale, PARALLEL, (j) => client.get<JobDetailJson>(`/jobs/${encodeURIComponent(j.id)}`, signal));
    const next = new Map<string, JobDetailJson>();
    for (const j of jobs) {
      const detail = this.cache.get(j.id);
      if (detail !== undefined && detail.updated_at === j.updated_at) next.set(j.id, detail);
    }
    for (const d of fresh) next.set(d.id, d);
    this.cache = next;
    return { jobs: [...next.values()], complete };
  }
}

/** `f` over `items`, at most `parallel` at a time, results in order. */
async function mapInBatches<T, R>(items: readonly T[], parallel: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += parallel) out.push(...(await Promise.all(items.slice(i, i + parallel).map(f))));
  return out;
}
