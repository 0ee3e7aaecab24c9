import type { z } from 'zod';
import type { OrgQuota } from '../../store/types.ts';
import { accessOf, secured, type Api, type ControlPlane } from '../control-plane.ts';
import { ApiError, notFound } from '../errors.ts';
import { declared } from '../quotas.ts';
import { ErrorResponse, IdParams, OrgCreateBody, OrgListResponse, OrgResponse, QuotaPatchBody, QuotaResponse, orgJson } from '../schemas.ts';

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

  app.get('/api/v1/orgs/:id/quota', {
    config: { operation: 'orgs.quota.show' },
    schema: { tags, ...secured, summary: "An org's quotas (sites, nodes and GPUs declared, queued jobs) and what it uses of them", params: IdParams, response: { 200: QuotaResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const org = accessOf(req).require('org', req.params.id, await app.suanli.store.getOrg(req.params.id), (o) => ({ orgId: o.id }));
    return quotaJson(app.suanli, org.id);
  });

  app.patch('/api/v1/orgs/:id/quota', {
    config: { operation: 'orgs.quota.update' },
    schema: {
      tags, ...secured, summary: "Set an org's quotas (admin); null puts one back to the server's default. Lowering one below what the org uses refuses only new sites, capacity and jobs.",
      params: IdParams, body: QuotaPatchBody, response: { 200: QuotaResponse, '4xx': ErrorResponse },
    },
  }, async (req) => {
    const b = req.body;
    const patch: { -readonly [K in keyof OrgQuota]?: number | null } = {
      ...(b.sites === undefined ? {} : { sites: b.sites }), ...(b.nodes === undefined ? {} : { nodes: b.nodes }),
      ...(b.gpus === undefined ? {} : { gpus: b.gpus }), ...(b.queued_jobs === undefined ? {} : { queuedJobs: b.queued_jobs }),
    };
    if (!(await app.suanli.quotas.set(req.params.id, patch))) throw notFound('org', req.params.id);
    return quotaJson(app.suanli, req.params.id);
  });

  app.get('/api/v1/orgs/:id', {
    config: { operation: 'orgs.show' },
    schema: { tags, ...secured, summary: 'Show an org', params: IdParams, response: { 200: OrgResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const org = accessOf(req).require('org', req.params.id, await store.getOrg(req.params.id), (o) => ({ orgId: o.id }));
    return orgJson(org);
  });
}

/** The org's limits, what it uses of them, and which limits the admin set. */
async function quotaJson(cp: ControlPlane, orgId: string): Promise<z.infer<typeof QuotaResponse>> {
  const [limits, set, sites] = await Promise.all([cp.quotas.of(orgId), cp.quotas.explicit(orgId), cp.store.listSites(orgId)]);
  const used = declared(sites);
  const wire = (k: keyof OrgQuota) => (k === 'queuedJobs' ? 'queued_jobs' : k);
  return {
    org_id: orgId,
    limits: { sites: limits.sites, nodes: limits.nodes, gpus: limits.gpus, queued_jobs: limits.queuedJobs },
    used: { ...used, queued_jobs: cp.active.queuedOf(orgId) },
    set: (Object.keys(set) as (keyof OrgQuota)[]).map(wire).sort(),
  };
}
