import { issueToken } from '../auth.ts';
import { accessOf, secured, type Api } from '../control-plane.ts';
import { ApiError, notFound } from '../errors.ts';
import { GRANTABLE, roleToken } from '../permissions.ts';
import { ErrorResponse, IdParams, OrgQuery, TokenCreateBody, TokenCreatedResponse, TokenListResponse, TokenResponse, WhoAmIResponse, tokenJson } from '../schemas.ts';

export function tokenRoutes(app: Api): void {
  const { store, clock, auth } = app.suanli;
  const tags = ['tokens'];

  app.post('/api/v1/tokens', {
    config: { operation: 'tokens.create' },
    schema: { tags, ...secured, summary: 'Create a token; the response holds the secret, shown only once', body: TokenCreateBody, response: { 201: TokenCreatedResponse, '4xx': ErrorResponse } },
  }, async (req, reply) => {
    const access = accessOf(req);
    const b = req.body;
    if (!GRANTABLE[access.principal.role].includes(b.role)) throw new ApiError('forbidden', `role: ${roleToken(access.principal.role)} may not create ${b.role} tokens`, { field: 'role' });
    let orgId: string | null = null;
    if (b.role === 'admin') {
      if (b.org_id !== undefined) throw new ApiError('invalid_request', 'org_id: admin tokens belong to no org', { field: 'org_id' });
    } else {
      orgId = access.targetOrg(b.org_id);
      if ((await store.getOrg(orgId)) === null) throw notFound('org', orgId);
    }
    if (b.role !== 'agent' && b.site_id !== undefined) throw new ApiError('invalid_request', 'site_id: only agent tokens are bound to a site', { field: 'site_id' });
    if (b.role === 'agent') {
      if (b.site_id === undefined) throw new ApiError('invalid_request', 'site_id: required for an agent token', { field: 'site_id' });
      const site = await store.getSite(b.site_id);
      if (site === null || site.orgId !== orgId) throw notFound('site', b.site_id);
    }
    const { token, bearer } = await issueToken(store, clock, { role: b.role, orgId, siteId: b.site_id ?? null, name: b.name });
    return reply.code(201).send({ ...tokenJson(token), token: bearer });
  });

  app.get('/api/v1/tokens', {
    config: { operation: 'tokens.list' },
    schema: { tags, ...secured, summary: "List tokens (an org-admin sees its org's)", querystring: OrgQuery, response: { 200: TokenListResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const tokens = await store.listTokens(accessOf(req).listOrg(req.query.org));
    return { tokens: tokens.map(tokenJson) };
  });

  app.get('/api/v1/whoami', {
    config: { operation: 'tokens.whoami' },
    schema: { tags, ...secured, summary: 'The token this request came with: its role, org and site', response: { 200: WhoAmIResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const { principal } = accessOf(req);
    const found = await store.findToken(principal.tokenId);
    if (found === null) throw notFound('token', principal.tokenId);
    return { id: principal.tokenId, name: found.token.name, role: principal.role, org_id: principal.orgId, site_id: principal.siteId };
  });

  app.delete('/api/v1/tokens/:id', {
    config: { operation: 'tokens.revoke' },
    schema: { tags, ...secured, summary: 'Revoke a token (at once, on this server)', params: IdParams, response: { 200: TokenResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const id = req.params.id;
    // Admin tokens belong to no org: only an admin reaches them.
    accessOf(req).require('token', id, await store.findToken(id), (t) => ({ orgId: t.token.orgId ?? '' }));
    await store.revokeToken(id, clock.now());
    auth.forget(id);
    const after = await store.findToken(id);
    if (after === null) throw notFound('token', id);
    return tokenJson(after.token);
  });
}
