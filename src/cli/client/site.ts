import { Command } from 'commander';
import { InvalidInputError } from '../../model/errors.ts';
import type { SiteKeysResponse, SiteListResponse, SiteResponse } from '../../server/schemas.ts';
import * as fmt from '../format.ts';
import * as parse from '../parse.ts';
import { ClientError } from './errors.ts';
import { pathOf, type Wire } from './http.ts';
import { connect, emit, examples, withConnection, yesNo, type ClientIo, type CommonFlags } from './shared.ts';

type Site = Wire<typeof SiteResponse>;
type Share = Site['share'];

/** The flags that describe a site, as commander hands them over (repeatable ones as lists). */
interface SiteFlags extends CommonFlags {
  readonly name?: string;
  readonly org?: string;
  readonly capacity?: string[];
  readonly price?: string;
  readonly lend?: string;
  readonly reclaim?: boolean;
  readonly notice?: string;
  readonly wanLink?: string[];
  readonly lendTo?: string;
  readonly borrowerLimit?: string[];
  readonly sandboxBorrowed?: boolean;
  readonly borrowedNetwork?: string;
  readonly spanEndpoint?: string;
}

/** "h100:4x8" → 4 nodes of 8 h100 GPUs; one entry per GPU type. */
function capacityFrom(specs: readonly string[]): Site['capacity'] {
  const entries = specs.map((spec) => {
    const m = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*:\s*(\d+)\s*[x×]\s*(\d+)\s*$/.exec(spec);
    if (!m) throw new InvalidInputError('capacity', `"${spec}" is not TYPE:NODESxGPUS`, 'e.g. h100:4x8 for 4 nodes of 8 H100s; repeat the flag for more types');
    return { gpu_type: m[1] ?? '', nodes: parse.wholeNumber('capacity', m[2] ?? ''), gpus_per_node: parse.integer('capacity', m[3] ?? '') };
  });
  const types = entries.map((e) => e.gpu_type.toLowerCase());
  const twice = types.find((t, i) => types.indexOf(t) !== i);
  if (twice !== undefined) throw new InvalidInputError('capacity', `${twice} is given twice`, 'one --capacity per GPU type');
  return entries;
}

/** "beta-cloud-1a2b3c4d:100:5" → a 100 Gbps, 5 ms link to that site. */
function wanLinksFrom(specs: readonly string[]): Site['wan_links'] {
  return specs.map((spec) => {
    const [to, gbps, ms, ...rest] = spec.split(':');
    if (to === undefined || to === '' || gbps === undefined || ms === undefined || rest.length > 0) throw new InvalidInputError('wan-link', `"${spec}" is not SITE:GBPS:LATENCY_MS`, 'e.g. beta-cloud-1a2b3c4d:100:5');
    return { to_site: to, gbps: parse.number('wan-link', gbps), latency_ms: parse.numberBetween('wan-link', ms, 0, Infinity) };
  });
}

/**
 * "10.1.0.2,gw.example:29500-29599" → where the site's runs take other sites' parts of a spanning job ([v6] in
 * brackets); "none" (updates only) → none.
 */
function spanEndpointFrom(spec: string, update: boolean): Site['span_endpoint'] {
  if (update && spec === 'none') return null;
  const m = /^(.+):(\d+)-(\d+)$/.exec(spec);
  if (m === null) throw new InvalidInputError('span-endpoint', `"${spec}" is not ADDRESSES:FROM-TO`, `e.g. 10.1.0.2,gw.example:29500-29599${update ? ', or none' : ''}`);
  const addresses = (m[1] ?? '').split(',').map((a) => a.replace(/^\[(.*)\]$/, '$1'));
  return { addresses, ports: { from: parse.integer('span-endpoint', m[2] ?? ''), to: parse.integer('span-endpoint', m[3] ?? '') } };
}

const spanEndpointText = (e: Site['span_endpoint']): string => (e === null ? 'none: it takes no part of a job that spans sites' : `${e.addresses.join(', ')} ports ${e.ports.from}–${e.ports.to}`);

/** Seconds of notice before lent GPUs are reclaimed: 0 (none) or a duration. */
const noticeFrom = (text: string): number => (text.trim() === '0' ? 0 : parse.duration('notice', text));

/** The price flag: a number ≥ 0, or "none" for no price. */
const priceFrom = (text: string): number | null => (text.trim() === 'none' ? null : parse.numberBetween('price', text, 0, Infinity));

/** --lend-to all | none | acme,beta */
const lendToFrom = (text: string): Share['lend_to'] => (text.trim() === 'all' || text.trim() === 'none' ? (text.trim() as 'all' | 'none') : parse.list('lend-to', text, (_f, org) => org));

/** --borrower-limit 16 (every borrowing org) or acme=32 (one org's own); repeatable. */
function borrowerLimitsFrom(specs: readonly string[]): Pick<Share, 'max_gpus_per_borrower' | 'borrower_gpu_limits'> | Pick<Share, 'borrower_gpu_limits'> {
  let every: number | null | undefined;
  const perOrg: Record<string, number> = {};
  for (const spec of specs) {
    const m = /^\s*(?:([A-Za-z0-9][A-Za-z0-9_-]*)\s*=\s*)?(\d+|none)\s*$/.exec(spec);
    if (m === null) throw new InvalidInputError('borrower-limit', `"${spec}" is not GPUS or ORG=GPUS`, 'e.g. 16 for every borrowing org, acme=32 for one, none for no limit');
    const gpus = m[2] === 'none' ? null : parse.wholeNumber('borrower-limit', m[2] ?? '');
    if (m[1] === undefined) every = gpus;
    else if (gpus === null) throw new InvalidInputError('borrower-limit', `"${spec}": an org's own limit is a number`, 'ORG=GPUS');
    else perOrg[m[1]] = gpus;
  }
  return { ...(every === undefined ? {} : { max_gpus_per_borrower: every }), borrower_gpu_limits: perOrg };
}

/** The share terms the flags give (parsed before anything is sent); the others are left out. */
function shareFlags(o: SiteFlags): Partial<Share> {
  return {
    ...(o.lend === undefined ? {} : { lend_fraction: parse.numberBetween('lend', o.lend, 0, 1) }),
    ...(o.reclaim === undefined ? {} : { reclaim: o.reclaim }),
    ...(o.notice === undefined ? {} : { reclaim_notice_s: noticeFrom(o.notice) }),
    ...(o.lendTo === undefined ? {} : { lend_to: lendToFrom(o.lendTo) }),
    ...(o.borrowerLimit === undefined ? {} : borrowerLimitsFrom(o.borrowerLimit)),
    ...(o.sandboxBorrowed === undefined ? {} : { sandbox_borrowed: o.sandboxBorrowed }),
    ...(o.borrowedNetwork === undefined ? {} : { borrowed_network: parse.oneOf('borrowed-network', o.borrowedNetwork, ['none', 'host'] as const) }),
  };
}

const capacityText = (s: Site): string => s.capacity.map((c) => `${c.nodes}×${c.gpus_per_node} ${c.gpu_type}`).join(', ');
const gpusOf = (s: Site): number => s.capacity.reduce((n, c) => n + c.nodes * c.gpus_per_node, 0);
const shareText = (s: Share): string => `lends ${fmt.percent(s.lend_fraction)}${s.reclaim ? `, reclaims with ${s.reclaim_notice_s === 0 ? 'no' : fmt.duration(s.reclaim_notice_s)} notice` : ', never reclaims'}`;
const priceText = (p: number | null): string => (p === null ? '—' : `${p} per GPU-h`);
function borrowerLimitText(share: Share): string {
  const every = share.max_gpus_per_borrower === null ? 'none' : fmt.plural(share.max_gpus_per_borrower, 'GPU');
  const own = Object.entries(share.borrower_gpu_limits).map(([org, n]) => `${org} ${fmt.plural(n, 'GPU')}`);
  return own.length === 0 ? every : `${every}; ${own.join(', ')}`;
}

function siteTable(sites: readonly Site[]): string {
  return fmt.columns([
    ['id', 'org', 'name', 'capacity', 'GPUs', 'lend', 'reclaim', 'price', 'health'],
    ...sites.map((s) => [s.id, s.org_id, s.name, capacityText(s), fmt.count(gpusOf(s)), fmt.percent(s.share.lend_fraction), s.share.reclaim ? (s.share.reclaim_notice_s === 0 ? 'yes' : `after ${fmt.duration(s.share.reclaim_notice_s)}`) : 'no', priceText(s.price_per_gpu_hour), s.health]),
  ]);
}

function siteDetail(s: Site): string {
  return fmt.sections(`site ${s.id} "${s.name}" · org ${s.org_id} · ${fmt.plural(gpusOf(s), 'GPU')}`, [
    ['capacity', s.capacity.map((c) => [c.gpu_type, `${c.nodes} × ${c.gpus_per_node} = ${fmt.plural(c.nodes * c.gpus_per_node, 'GPU')}`] as const)],
    ['sharing', [
      ['lend fraction', fmt.percent(s.share.lend_fraction)],
      ['reclaim', yesNo(s.share.reclaim)],
      ['reclaim notice', s.share.reclaim_notice_s === 0 ? 'none' : fmt.duration(s.share.reclaim_notice_s)],
      ['lends to', typeof s.share.lend_to === 'string' ? (s.share.lend_to === 'all' ? 'every org' : 'no org') : s.share.lend_to.join(', ')],
      ['limit per borrower', borrowerLimitText(s.share)],
      ['borrowed runs', s.share.sandbox_borrowed ? `sandboxed, network ${s.share.borrowed_network}${s.sandbox_capable === false ? ' — its agent cannot sandbox: nothing is lent' : ''}` : 'not sandboxed'],
      ['price', priceText(s.price_per_gpu_hour)],
    ]],
    ['WAN links', s.wan_links.length === 0 ? [['—', 'none']] : s.wan_links.map((l) => [l.to_site, `${l.gbps} Gbps, ${l.latency_ms} ms`] as const)],
    ['spanning jobs', [['other sites reach its runs at', spanEndpointText(s.span_endpoint)]]],
    ['status', [
      ['health', s.health],
      ['agent reports', s.reported_capacity === null ? 'nothing yet' : s.reported_capacity.map((c) => `${c.nodes}×${c.gpus_per_node} ${c.gpu_type}`).join(', ') || 'no GPUs'],
      ['last heartbeat', fmt.timestamp(s.last_heartbeat_at)],
      ['created', fmt.timestamp(s.created_at)],
    ]],
  ]);
}

/** The flags create and update share; `update` says how they change an existing site. */
function siteOptions(cmd: Command, update: boolean): Command {
  return cmd
    .option('--capacity <TYPE:NODESxGPUS>', `GPUs by type, e.g. h100:4x8 for 4 nodes of 8 H100s; repeat for more types${update ? ' (replaces the whole list)' : ''}`, parse.collect)
    .option('--price <x>', `price of one GPU-hour${update ? ', or "none"' : ''}`)
    .option('--lend <fraction>', 'fraction of the GPUs lent to other orgs, 0 to 1 (default 1)')
    .option('--reclaim', 'take lent GPUs back when the owner needs them (the default)')
    .option('--no-reclaim', 'never take lent GPUs back before their jobs end')
    .option('--notice <duration>', 'notice before reclaiming: 0, seconds, or 90s, 10m, 1h (default 0)')
    .option('--wan-link <SITE:GBPS:MS>', `a WAN link to another site (it counts once that site declares it too); repeatable${update ? ' (replaces the whole list)' : ''}`, parse.collect)
    .option('--lend-to <orgs>', 'which orgs may borrow: all (the default), none, or org ids, comma-separated')
    .option('--borrower-limit <[ORG=]GPUS>', `most GPUs one borrowing org may hold: a number for every borrower ("none": no limit), ORG=GPUS for one org's own; repeatable${update ? ' (ORG=GPUS replaces the whole per-org list)' : ''}`, parse.collect)
    .option('--sandbox-borrowed', "borrowed runs must be sandboxed by the site's agent (the default)")
    .option('--no-sandbox-borrowed', 'borrowed runs may run unsandboxed')
    .option('--borrowed-network <none|host>', 'network of a sandboxed borrowed run (default none; a borrower’s part of a spanning job needs host)')
    .option('--span-endpoint <ADDRS:FROM-TO>', `where the other sites of a spanning job reach its runs: addresses (comma-separated, [v6] in brackets) and ports, e.g. 10.1.0.2:29500-29599; without one the site takes no part of such a job${update ? ' ("none": take none)' : ''}`);
}

export function siteCommand(io: ClientIo): Command {
  const site = new Command('site')
    .description("an org's GPU clusters: capacity by GPU type, price, how much it lends and on what terms")
    .addHelpText('after', examples('suanli site create "Acme cluster" --org acme --capacity h100:4x8 --lend 0.5', 'suanli site list', 'suanli site update acme-cluster-1a2b3c4d --no-reclaim'));

  siteOptions(withConnection(site.command('create')), false)
    .description('register a site (admin, or an org-admin for its own org)')
    .argument('<name>', 'display name')
    .option('--org <org>', "the owning org (admins name it; an org-admin's sites are its own org's)")
    .addHelpText('after', examples(
      'suanli site create "Acme cluster" --org acme --capacity h100:4x8 --capacity a100:2x8',
      'suanli site create "Beta cloud" --capacity h20:16x8 --price 1.2 --lend 0.5 --reclaim --notice 10m',
      'suanli site create "Gamma lab" --capacity l40s:1x4 --no-reclaim --wan-link acme-cluster-1a2b3c4d:100:5 --json',
      'suanli site create "Delta lab" --capacity h100:8x8 --span-endpoint 10.1.0.2:29500-29599 --borrowed-network host',
    ))
    .action(async (name: string, o: SiteFlags) => {
      if (o.capacity === undefined) throw new InvalidInputError('capacity', 'required', 'TYPE:NODESxGPUS, e.g. h100:4x8');
      const body = {
        name,
        ...(o.org === undefined ? {} : { org_id: o.org }),
        capacity: capacityFrom(o.capacity),
        ...(o.price === undefined ? {} : { price_per_gpu_hour: priceFrom(o.price) }),
        share: shareFlags(o),
        ...(o.wanLink === undefined ? {} : { wan_links: wanLinksFrom(o.wanLink) }),
        ...(o.spanEndpoint === undefined ? {} : { span_endpoint: spanEndpointFrom(o.spanEndpoint, false) }),
      };
      const created = await (await connect(o)).post<Site>('/sites', body);
      emit(io, o, created, () => `created site ${created.id} for org ${created.org_id}: ${capacityText(created)}; ${shareText(created.share)}`);
    });

  withConnection(site.command('list'))
    .description("list sites (an org sees its own)")
    .option('--org <org>', "only this org's sites")
    .addHelpText('after', examples('suanli site list', 'suanli site list --org acme --json'))
    .action(async (o: SiteFlags) => {
      const body = await (await connect(o)).get<Wire<typeof SiteListResponse>>('/sites', { org: o.org });
      emit(io, o, body, () => siteTable(body.sites));
    });

  withConnection(site.command('show'))
    .description('show a site: capacity, sharing terms, WAN links and health')
    .argument('<id>', 'site id')
    .addHelpText('after', examples('suanli site show acme-cluster-1a2b3c4d'))
    .action(async (id: string, o: SiteFlags) => {
      const body = await (await connect(o)).get<Site>(pathOf('sites', id));
      emit(io, o, body, () => siteDetail(body));
    });

  siteOptions(withConnection(site.command('update')), true)
    .description("change a site's name, capacity, price or sharing terms; flags not given stay as they are")
    .argument('<id>', 'site id')
    .option('--name <name>', 'new display name')
    .addHelpText('after', examples(
      'suanli site update acme-cluster-1a2b3c4d --capacity h100:6x8',
      'suanli site update acme-cluster-1a2b3c4d --lend 0.25 --notice 30m',
      'suanli site update acme-cluster-1a2b3c4d --price none --no-reclaim',
      'suanli site update acme-cluster-1a2b3c4d --lend-to beta,gamma --borrower-limit 16 --borrower-limit beta=32',
    ))
    .action(async (id: string, o: SiteFlags) => {
      const share = shareFlags(o);
      const patch = {
        ...(o.name === undefined ? {} : { name: o.name }),
        ...(o.capacity === undefined ? {} : { capacity: capacityFrom(o.capacity) }),
        ...(o.price === undefined ? {} : { price_per_gpu_hour: priceFrom(o.price) }),
        // The API changes only the share terms given; the others stay as they are.
        ...(Object.keys(share).length === 0 ? {} : { share }),
        ...(o.wanLink === undefined ? {} : { wan_links: wanLinksFrom(o.wanLink) }),
        ...(o.spanEndpoint === undefined ? {} : { span_endpoint: spanEndpointFrom(o.spanEndpoint, true) }),
      };
      if (Object.keys(patch).length === 0) throw new ClientError('nothing_to_do', 'nothing to change: give --name, --capacity, --price, --lend, --reclaim/--no-reclaim, --notice, --lend-to, --borrower-limit, --sandbox-borrowed/--no-sandbox-borrowed, --borrowed-network, --wan-link or --span-endpoint');
      const updated = (await (await connect(o)).request<Site>('PATCH', pathOf('sites', id), { body: patch })).body;
      emit(io, o, updated, () => siteDetail(updated));
    });

  withConnection(site.command('keys'))
    .description("list a site's record keys, revoked ones too: the keys its agent signs usage records with (the site's org-admin or the admin)")
    .argument('<id>', 'site id')
    .addHelpText('after', examples('suanli site keys acme-cluster-1a2b3c4d', 'suanli site keys acme-cluster-1a2b3c4d --json'))
    .action(async (id: string, o: SiteFlags) => {
      const body = await (await connect(o)).get<SiteKeys>(`${pathOf('sites', id)}/keys`);
      emit(io, o, body, () => siteKeysTable(body));
    });

  withConnection(site.command('revoke-key'))
    .description("revoke a site's record key (its org-admin): the records it signed before still verify; the site's agent then makes a new key and presents it, which is taken on its next heartbeat")
    .argument('<id>', 'site id')
    .argument('<key>', 'the key as `suanli site keys` names it, <name>+<hash>')
    .addHelpText('after', examples('suanli site revoke-key acme-cluster-1a2b3c4d suanli-site+3a56194b'))
    .action(async (id: string, key: string, o: SiteFlags) => {
      const body = (await (await connect(o)).request<SiteKeys>('DELETE', `${pathOf('sites', id)}/keys/${encodeURIComponent(key)}`)).body;
      emit(io, o, body, () => `revoked ${key} of site ${id}\n\n${siteKeysTable(body)}`);
    });

  return site;
}

type SiteKeys = Wire<typeof SiteKeysResponse>;

function siteKeysTable(k: SiteKeys): string {
  if (k.keys.length === 0) return 'no record key yet: the site\'s agent presents one at its first heartbeat';
  return fmt.columns([
    ['key', 'taken', 'revoked', 'verifier key'],
    ...k.keys.map((x) => [x.key, fmt.timestamp(x.created_at), fmt.timestamp(x.revoked_at), x.verifier_key]),
  ]);
}
