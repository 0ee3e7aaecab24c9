import { ApiRequestError, type ApiClient } from './client.ts';
import type { OrgListJson, TokenListJson } from './types.ts';

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
 * Finds out who `tokenId` is from what the API lets it read, as the API has no
 * "who am I" endpoint: GET /tokens answers admins and org-admins, each of whom
 * finds its own token in the list; a member is refused there (403) and finds its
 * one org in GET /orgs; an agent's token is refused both. A 401 (unknown or
 * revoked token) is thrown as the ApiRequestError it is.
 */
export async function identify(client: ApiClient, tokenId: string, signal?: AbortSignal): Promise<SignInOutcome> {
  const tokens = await forbiddenAsNull(client.get<TokenListJson>('/tokens', signal));
  if (tokens !== null) {
    const own = tokens.tokens.find((t) => t.id === tokenId);
    if (own?.role === 'admin') return { kind: 'identity', identity: { role: 'admin', orgId: null, tokenName: own.name } };
    if (own?.role === 'org-admin' && own.org_id !== null) return { kind: 'identity', identity: { role: 'org-admin', orgId: own.org_id, tokenName: own.name } };
    throw new ApiRequestError(200, 'unexpected', `token ${tokenId} is not in the token list it may read`);
  }
  const orgs = await forbiddenAsNull(client.get<OrgListJson>('/orgs', signal));
  if (orgs === null) return { kind: 'agent-token' };
  const org = orgs.orgs[0];
  if (org === undefined) throw new ApiRequestError(200, 'unexpected', 'a member token that sees no org');
  return { kind: 'identity', identity: { role: 'member', orgId: org.id, tokenName: null } };
}

async function forbiddenAsNull<T>(request: Promise<T>): Promise<T | null> {
  try {
    return await request;
  } catch (err) {
    if (err instanceof ApiRequestError && err.code === 'forbidden') return null;
    throw err;
  }
}

/** Whether this identity may act on every org (the admin), which is what shows the org pickers. */
export const seesAllOrgs = (identity: Identity): boolean => identity.role === 'admin';
