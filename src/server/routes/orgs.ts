import { accessOf, secured, type Api } from '../control-plane.ts';
import { ApiError } from '../errors.ts';
import { ErrorResponse, IdParams, OrgCreateBody, OrgListResponse, OrgResponse, orgJson } from '../schemas.ts';

/** "Acme Labs" → "acme-labs": the default id of an org named so. */
export function slug(name: string): string {
  return name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
}

export function orgRoutes(app: Api): void {
  const { store, clock } = app.suanli;
  const tags = ['orgs'];

  app.post('/api/v1/orgs', {
    config: { operation: 'orgs.create' },
    schema: { tags, ...secured, summary: 'Create an org (admin)', description: 'An id in use already is a 409 `conflict` naming `id`.', body: OrgCreateBody, response: { 201: OrgResponse, '4xx': ErrorResponse } },
  }, async (req, reply) => {
    const id = req.body.id ?? slug(req.body.name);
    if (id === '') throw new ApiError('invalid_request', 'id: the name has no letters or digits to make an id of; give an id', { field: 'id' });
    const org = await store.createOrg({ id, name: req.body.name, createdAt: clock.now() });
    return reply.code(201).send(orgJson(org));
  });

  app.get('/api/v1/orgs', {
    config: { operation: 'orgs.list' },
    schema: { tags, ...secured, summary: 'List orgs (an org sees itself only)', response: { 200: OrgListResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const access = accessOf(req);
    const orgs = await store.listOrgs();
    return { orgs: orgs.filter((o) => access.owns(o.id)).map(orgJson) };
  });

  app.get('/api/v1/orgs/:id', {
    config: { operation: 'orgs.show' },
    schema: { tags, ...secured, summary: 'Show an org', params: IdParams, response: { 200: OrgResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const org = accessOf(req).require('org', req.params.id, await store.getOrg(req.params.id), (o) => ({ orgId: o.id }));
    return orgJson(org);
  });
}
