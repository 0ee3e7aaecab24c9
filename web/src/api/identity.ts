import { ApiRequestError, type ApiClient } from './client.ts';
import type { WhoAmIJson } from './types.ts';

/**
 * Who the signed-in token is, as far as the dashboard needs to know: the admin
 * (the operator, every org) or a member of one org (an org-admin or a member). The
 * API enforces every permission; the dashboard uses this only to hide what a role
 * may not do and to say whose view it is.
 */
export type Identity =
  | { readonly role: 'admin'; readonly orgId: null; readonly tokenName: string }
  | { readonly role: 'org-admin'; readonly orgId: string; readonly tokenName: string }
  | { readonly role: 'member'; readonly orgId: string; readonly tokenName: null };

/** What a token may be on sign-in: someone the dashboard serves, or an agent's token, which it does not. */
export type SignInOutcome = { readonly kind: 'identity'; readonly identity: Identity } | { readonly kind: 'agent-token' };

const TOKEN_FORMAT = /^sl_([0-9a-z]{4,64})_([0-9A-Za-z]{32,256})$/;

/** The id part of `sl_<id>_<secret>` (the server's format, src/server/auth.ts), or null when `token` is not in that form. */
export function tokenIdOf(token: string): string | null {
  return TOKEN_FORMAT.exec(token.trim())?.[1] ?? null;
}

/**
 * Who the token is, as GET /whoami says. An agent's token (which the dashboard does
 * not serve) is an outcome, not an error; a 401 (unknown or revoked token) is thrown
 * as the ApiRequestError it is. `tokenId` is the id the user's token carries: a
 * server that answers for another token is a bug, said as such.
 */
export async function identify(client: ApiClient, tokenId: string, signal?: AbortSignal): Promise<SignInOutcome> {
  const me = await client.get<WhoAmIJson>('/whoami', signal);
  if (me.id !== tokenId) throw new ApiRequestError(200, 'unexpected', `the server answered for token ${me.id}, not ${tokenId}`);
  if (me.role === 'agent') return { kind: 'agent-token' };
  if (me.role === 'admin') return { kind: 'identity', identity: { role: 'admin', orgId: null, tokenName: me.name } };
  if (me.org_id === null) throw new ApiRequestError(200, 'unexpected', `a ${me.role} token without an org`);
  return { kind: 'identity', identity: me.role === 'org-admin' ? { role: 'org-admin', orgId: me.org_id, tokenName: me.name } : { role: 'member', orgId: me.org_id, tokenName: null } };
}

/** Whether this identity may act on every org (the admin), which is what shows the org pickers. */
export const seesAllOrgs = (identity: Identity): boolean => identity.role === 'admin';
