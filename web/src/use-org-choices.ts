import type { ApiClient } from './api/client.ts';
import type { Identity } from './api/identity.ts';
import type { OrgListJson } from './api/types.ts';
import { usePolling } from './use-polling.ts';

/**
 * The org ids the admin may pick from (to filter jobs, to submit for an org), or
 * null for anyone else, whose org is their own and whom no picker is shown.
 * Orgs change rarely: read every 30 s.
 */
export function useOrgChoices(client: ApiClient, identity: Identity): readonly string[] | null {
  const seesAll = identity.role === 'admin';
  const polled = usePolling(seesAll ? 'orgs' : 'no-orgs', async (signal) => (seesAll ? (await client.get<OrgListJson>('/orgs', signal)).orgs.map((o) => o.id) : []), 30_000);
  return seesAll ? (polled.data ?? []) : null;
}
