import type { ApiClient } from './api/client.ts';
import type { SiteListJson } from './api/types.ts';
import { usePolling } from './use-polling.ts';

/**
 * Site names by id, for saying where a job runs in words rather than ids. Only
 * the sites the caller may see: an org's job on another org's site keeps the id.
 * Sites change rarely: read every 30 s.
 */
export function useSiteNames(client: ApiClient): ReadonlyMap<string, string> {
  const polled = usePolling('site-names', async (signal) => new Map((await client.get<SiteListJson>('/sites', signal)).sites.map((s) => [s.id, s.name])), 30_000);
  return polled.data ?? NO_NAMES;
}

const NO_NAMES: ReadonlyMap<string, string> = new Map();
