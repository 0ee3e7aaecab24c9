import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { boundCapacity } from '../../model/capacity.ts';
import type { Site, SitePatch, WanLink } from '../../store/types.ts';
import { accessOf, secured, type Api, type ControlPlane } from '../control-plane.ts';
import { ApiError, notFound } from '../errors.ts';
import { checkSiteQuota } from '../quotas.ts';
import { ErrorResponse, HeartbeatBody, IdParams, OrgQuery, SiteCreateBody, SiteKeyParams, SiteKeysResponse, siteKeyJson, SiteListResponse, SitePatchBody, SiteResponse, SiteJobsResponse, capacityOf, orgsNamedBy, shareOf, sharePatchOf, siteJobJson, siteJson, spanEndpointOf, wanLinksOf } from '../schemas.ts';
import { slug } from './orgs.ts';

export function siteRoutes(app: Api): void {
  const cp = app.suanli;
  const { store, clock, loop } = cp;
  const tags = ['sites'];
  const params = IdParams;
  const owner = (s: { orgId: string; id: string }) => ({ orgId: s.orgId, siteId: s.id });

  app.post('/api/v1/sites', {
    config: { operation: 'sites.create' },
    schema: { tags, ...secured, summary: 'Register a site: its capacity by GPU type, price, share policy and WAN links', body: SiteCreateBody, response: { 201: SiteResponse, '4xx': ErrorResponse } },
  }, async (req, reply) => {
    const b = req.body;
    const orgId = accessOf(req).targetOrg(b.org_id);
    if ((await store.getOrg(orgId)) === null) throw notFound('org', orgId);
    // Ids are global: a readable name plus a random suffix, so that one org's names never collide with (or reveal) another's.
    const id = `${slug(b.name) || 'site'}-${randomBytes(4).toString('hex')}`;
    const capacity = capacityOf(b.capacity);
    await checkNamedOrgs(cp, b.share);
    const wanLinks = await checkedLinks(cp, id, wanLinksOf(b.wan_links));
    const site = await cp.siteWrites.run(orgId, async () => {
      checkSiteQuota(orgId, await cp.quotas.of(orgId), await store.listSites(orgId), capacity, 'capacity');
      return store.createSite({ id, orgId, name: b.name, capacity, pricePerGpuHour: b.price_per_gpu_hour, share: shareOf(b.share), wanLinks, spanEndpoint: spanEndpointOf(b.span_endpoint), createdAt: clock.now() });
    });
    await cp.sites.added(site);
    loop.sitesChanged();
    return reply.code(201).send(siteJson(site));
  });

  app.get('/api/v1/sites', {
    config: { operation: 'sites.list' },
    schema: { tags, ...secured, summary: "List sites (an org sees its own)", querystring: OrgQuery, response: { 200: SiteListResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const sites = await store.listSites(accessOf(req).listOrg(req.query.org));
    return { sites: sites.map((site) => siteJson(cp.sites.withLiveness(site))) };
  });

  app.get('/api/v1/sites/:id', {
    config: { operation: 'sites.show' },
    schema: { tags, ...secured, summary: 'Show a site (an agent: its own site only)', params, response: { 200: SiteResponse, '4xx': ErrorResponse } },
  }, async (req) => siteJson(cp.sites.withLiveness(accessOf(req).require('site', req.params.id, await store.getSite(req.params.id), owner))));

  app.get('/api/v1/sites/:id/jobs', {
    config: { operation: 'sites.jobs' },
    schema: {
      tags, ...secured,
      summary: "The jobs placed or running on a site now, a row per part there; another org's job (a borrower's) only by its org and GPUs to all but the admin",
      params, response: { 200: SiteJobsResponse, '4xx': ErrorResponse },
    },
  }, async (req) => {
    const access = accessOf(req);
    const site = access.require('site', req.params.id, await store.getSite(req.params.id), owner);
    // The mirror's placements on the site (live: read through at once, not kept).
    const rows = [...cp.active.placementsOn(site.id)].flatMap((p) => {
      const job = cp.active.get(p.jobId);
      if (job === undefined) return [];
      return p.parts.filter((part) => part.siteId === site.id).map((part) => ({ at: p.placedAt, id: Number(job.id), json: siteJobJson(job, p, part, access.owns(job.orgId)) }));
    });
    rows.sort((a, b) => a.at - b.at || a.id - b.id);
    return { jobs: rows.map((r) => r.json) };
  });

  app.patch('/api/v1/sites/:id', {
    config: { operation: 'sites.update' },
    schema: { tags, ...secured, summary: 'Change a site’s name, capacity, price, share policy or WAN links', params, body: SitePatchBody, response: { 200: SiteResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const id = req.params.id;
    const before = accessOf(req).require('site', id, await store.getSite(id), owner);
    const b = req.body;
    const patch: { -readonly [K in keyof SitePatch]: SitePatch[K] } = {};
    if (b.name !== undefined) patch.name = b.name;
    if (b.capacity !== undefined) patch.capacity = capacityOf(b.capacity);
    if (b.price_per_gpu_hour !== undefined) patch.pricePerGpuHour = b.price_per_gpu_hour;
    if (b.share !== undefined) patch.share = sharePatchOf(b.share);
    await checkNamedOrgs(cp, b.share);
    if (b.wan_links !== undefined) patch.wanLinks = await checkedLinks(cp, id, wanLinksOf(b.wan_links));
    if (b.span_endpoint !== undefined) patch.spanEndpoint = spanEndpointOf(b.span_endpoint);
    const site = await cp.siteWrites.run(before.orgId, async () => {
      if (patch.capacity !== undefined) {
        const others = (await store.listSites(before.orgId)).filter((x) => x.id !== id);
        checkSiteQuota(before.orgId, await cp.quotas.of(before.orgId), others, patch.capacity, 'capacity');
      }
      return store.updateSite(id, patch);
    });
    if (site === null) throw notFound('site', id);
    await cp.sites.refresh();
    loop.sitesChanged();
    return siteJson(site);
  });

  app.delete('/api/v1/sites/:id/keys/:key', {
    config: { operation: 'sites.update' },
    schema: {
      tags, ...secured, summary: "Revoke a site's record key (its org-admin): records it signed still verify; its agent must present a new key before its records are logged with its signature again",
      params: SiteKeyParams, response: { 200: SiteKeysResponse, '4xx': ErrorResponse },
    },
  }, async (req) => {
    const { id, key } = req.params;
    accessOf(req).require('site', id, await store.getSite(id), owner);
    if (!(await cp.siteKeys.revoke(id, key, clock.now()))) throw notFound('key', key);
    return { keys: (await cp.siteKeys.of(id)).map(siteKeyJson) };
  });

  app.get('/api/v1/sites/:id/keys', {
    config: { operation: 'sites.show' },
    schema: { tags, ...secured, summary: "A site's record keys, revoked ones too", params, response: { 200: SiteKeysResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    accessOf(req).require('site', req.params.id, await store.getSite(req.params.id), owner);
    return { keys: (await cp.siteKeys.of(req.params.id)).map(siteKeyJson) };
  });

  app.post('/api/v1/sites/:id/heartbeat', {
    config: { operation: 'sites.heartbeat' },
    schema: { tags, ...secured, summary: "An agent reports that its site is alive (and, optionally, the capacity it discovered)", params, body: HeartbeatBody, response: { 200: SiteResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const id = req.params.id;
    const before = accessOf(req).require('site', id, (await cp.sites.site(id)) ?? null, owner);
    return siteJson((await heartbeat(cp, before, req.body)).site);
  });
}

/** The orgs a share policy names must exist: a typo would otherwise lend to nobody, silently. */
async function checkNamedOrgs(cp: ControlPlane, share: Parameters<typeof orgsNamedBy>[0]): Promise<void> {
  for (const { org, field } of orgsNamedBy(share)) {
    if ((await cp.store.getOrg(org)) === null) throw new ApiError('invalid_request', `${field}: no org "${org}"`, { field });
  }
}

/**
 * A site's WAN links as declared, refused (400 naming the link) when one leads to the
 * site itself or to a site that does not exist. (Two links to one site are refused by
 * the schema.) A link counts only once the other site declares it too (pool-snapshot.ts).
 */
async function checkedLinks(cp: ControlPlane, siteId: string, links: WanLink[]): Promise<WanLink[]> {
  for (const [i, l] of links.entries()) {
    const field = `wan_links[${i}].to_site`;
    if (l.toSite === siteId) throw new ApiError('invalid_request', `${field}: a link from the site to itself`, { field });
    if ((await cp.sites.entry(l.toSite)) === undefined) throw new ApiError('invalid_request', `${field}: no site "${l.toSite}"`, { field });
  }
  return links;
}

/**
 * A site's agent reported: its heartbeat time recorded with what it reported — the
 * capacity it discovered, bounded by what the site declares (never more, never another
 * GPU type), and whether it can sandbox runs — the site up again whatever it was (a
 * lost site's agent is back), and a scheduling pass asked for when that changes what
 * can be placed. Returns the site after, and what of the report was cut, in words.
 */
export async function heartbeat(cp: ControlPlane, before: Site, body: z.infer<typeof HeartbeatBody>): Promise<{ site: Site; cut: string[] }> {
  const bounded = body.capacity === undefined ? undefined : boundCapacity(capacityOf(body.capacity), before.capacity);
  const capacity = bounded?.capacity;
  const report = { ...(capacity === undefined ? {} : { capacity }), ...(body.sandbox_capable === undefined ? {} : { sandboxCapable: body.sandbox_capable }) };
  const { site, changed } = await cp.sites.heartbeat(before, cp.clock.now(), report);
  if (changed) cp.loop.sitesChanged();
  return { site, cut: bounded?.cut ?? [] };
}
