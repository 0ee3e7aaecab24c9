import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type { Site, SitePatch } from '../../store/types.ts';
import { accessOf, secured, type Api, type ControlPlane } from '../control-plane.ts';
import { notFound } from '../errors.ts';
import { ErrorResponse, HeartbeatBody, IdParams, OrgQuery, SiteCreateBody, SiteListResponse, SitePatchBody, SiteResponse, capacityOf, shareOf, sharePatchOf, siteJson, wanLinksOf } from '../schemas.ts';
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
    const site = await store.createSite({
      id, orgId, name: b.name, capacity: capacityOf(b.capacity), pricePerGpuHour: b.price_per_gpu_hour, share: shareOf(b.share), wanLinks: wanLinksOf(b.wan_links), createdAt: clock.now(),
    });
    loop.poke();
    return reply.code(201).send(siteJson(site));
  });

  app.get('/api/v1/sites', {
    config: { operation: 'sites.list' },
    schema: { tags, ...secured, summary: "List sites (an org sees its own)", querystring: OrgQuery, response: { 200: SiteListResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const sites = await store.listSites(accessOf(req).listOrg(req.query.org));
    return { sites: sites.map(siteJson) };
  });

  app.get('/api/v1/sites/:id', {
    config: { operation: 'sites.show' },
    schema: { tags, ...secured, summary: 'Show a site (an agent: its own site only)', params, response: { 200: SiteResponse, '4xx': ErrorResponse } },
  }, async (req) => siteJson(accessOf(req).require('site', req.params.id, await store.getSite(req.params.id), owner)));

  app.patch('/api/v1/sites/:id', {
    config: { operation: 'sites.update' },
    schema: { tags, ...secured, summary: 'Change a site’s name, capacity, price, share policy or WAN links', params, body: SitePatchBody, response: { 200: SiteResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const id = req.params.id;
    accessOf(req).require('site', id, await store.getSite(id), owner);
    const b = req.body;
    const patch: { -readonly [K in keyof SitePatch]: SitePatch[K] } = {};
    if (b.name !== undefined) patch.name = b.name;
    if (b.capacity !== undefined) patch.capacity = capacityOf(b.capacity);
    if (b.price_per_gpu_hour !== undefined) patch.pricePerGpuHour = b.price_per_gpu_hour;
    if (b.share !== undefined) patch.share = sharePatchOf(b.share);
    if (b.wan_links !== undefined) patch.wanLinks = wanLinksOf(b.wan_links);
    const site = await store.updateSite(id, patch);
    if (site === null) throw notFound('site', id);
    loop.poke();
    return siteJson(site);
  });

  app.post('/api/v1/sites/:id/heartbeat', {
    config: { operation: 'sites.heartbeat' },
    schema: { tags, ...secured, summary: "An agent reports that its site is alive (and, optionally, the capacity it discovered)", params, body: HeartbeatBody, response: { 200: SiteResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const id = req.params.id;
    const before = accessOf(req).require('site', id, await store.getSite(id), owner);
    return siteJson(await heartbeat(cp, before, req.body));
  });
}

/**
 * A site's agent reported: its heartbeat time (and the capacity it discovered, if sent)
 * recorded, the site up again whatever it was (a lost site's agent is back), and a
 * scheduling pass asked for when that changes what can be placed. Returns the site after.
 */
export async function heartbeat(cp: ControlPlane, before: Site, body: z.infer<typeof HeartbeatBody>): Promise<Site> {
  const capacity = body.capacity === undefined ? undefined : capacityOf(body.capacity);
  await cp.store.heartbeat(before.id, cp.clock.now(), capacity);
  if (before.health !== 'up') await cp.store.setSiteHealth(before.id, 'up');
  const site = await cp.store.getSite(before.id);
  if (site === null) throw notFound('site', before.id);
  if (capacity !== undefined || before.health !== 'up') cp.loop.poke();
  return site;
}
