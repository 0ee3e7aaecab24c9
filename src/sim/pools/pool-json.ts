import { z } from 'zod';
import { InvalidInputError } from '../../model/errors.ts';
import { orgId, siteId } from '../../model/ids.ts';
import { DEFAULT_SHARE_POLICY, type OrgSpec, type PoolSpec, type SiteSpec } from '../../model/pool.ts';
import { parseJsonText } from './json-text.ts';

/**
 * The pool file: a JSON object listing the sites (member clusters) and,
 * optionally, the orgs, in snake_case:
 *
 *   {"orgs":  [{"id": "a", "name": "Acme"}],
 *    "sites": [{"id": "s1", "org": "a", "nodes": 4, "gpus_per_node": 8, "gpu_type": "v100",
 *               "price_per_gpu_hour": 2.1, "region": "beijing",
 *               "lend_fraction": 1, "reclaim": true, "reclaim_notice_s": 0}]}
 *
 * Per site, `price_per_gpu_hour` and `region` are optional; `lend_fraction`,
 * `reclaim` and `reclaim_notice_s` default to DEFAULT_SHARE_POLICY. An org named
 * by a site but not listed in `orgs` is created with its id alone; listed orgs
 * keep their order and come first. Unknown keys are errors, so a misspelt
 * optional field is caught rather than silently defaulted.
 */

const FIELD = 'pool';
const ACCEPTED = 'a pool JSON file as described in src/sim/pools/README.md';
const SITE_KEYS = ['id', 'org', 'nodes', 'gpus_per_node', 'gpu_type', 'price_per_gpu_hour', 'region', 'lend_fraction', 'reclaim', 'reclaim_notice_s'];
const ORG_KEYS = ['id', 'name'];
/** How many schema problems one error message lists before "and N more". */
const MAX_LISTED = 5;

/** Zod error callback: "expected WHAT, got VALUE", or "missing" for an absent required key. */
const expected =
  (what: string) =>
  (issue: { readonly input?: unknown }): string =>
    issue.input === undefined ? `missing, expected ${what}` : `expected ${what}, got ${show(issue.input)}`;

const object = (what: string, keys: readonly string[]) => (issue: z.core.$ZodRawIssue): string =>
  issue.code === 'unrecognized_keys'
    ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}; ${what} may have ${keys.join(', ')}`
    : expected(what)(issue);

const text = z.string({ error: expected('a non-empty string') }).min(1, { error: expected('a non-empty string') });
const wholeAtLeast1 = z
  .number({ error: expected('a whole number ≥ 1') })
  .int({ error: expected('a whole number ≥ 1') })
  .min(1, { error: expected('a whole number ≥ 1') });
const atLeast0 = z.number({ error: expected('a number ≥ 0') }).min(0, { error: expected('a number ≥ 0') });
const fraction = z
  .number({ error: expected('a number from 0 to 1') })
  .min(0, { error: expected('a number from 0 to 1') })
  .max(1, { error: expected('a number from 0 to 1') });

const siteSchema = z.strictObject(
  {
    id: text,
    org: text,
    nodes: wholeAtLeast1,
    gpus_per_node: wholeAtLeast1,
    gpu_type: text,
    price_per_gpu_hour: atLeast0.optional(),
    region: text.optional(),
    lend_fraction: fraction.optional(),
    reclaim: z.boolean({ error: expected('true or false') }).optional(),
    reclaim_notice_s: atLeast0.optional(),
  },
  { error: object('a site', SITE_KEYS) },
);

const orgSchema = z.strictObject({ id: text, name: text.optional() }, { error: object('an org', ORG_KEYS) });

const poolSchema = z.strictObject(
  {
    orgs: z.array(orgSchema, { error: expected('an array of orgs') }).optional(),
    sites: z.array(siteSchema, { error: expected('an array of sites') }).min(1, { error: expected('at least one site') }),
  },
  { error: object('a pool', ['orgs', 'sites']) },
);

type SiteJson = z.infer<typeof siteSchema>;

/**
 * Reads a pool file. `file` is only used in messages. Every error is an
 * InvalidInputError with field 'pool' whose message names the file and the JSON
 * path, e.g. `pool.json: sites[2].gpus_per_node: expected a whole number ≥ 1, got 0`,
 * or the line and column of a JSON syntax error.
 */
export function parsePoolJson(text: string, file: string): PoolSpec {
  const parsed = poolSchema.safeParse(parseJsonText(text, file, FIELD, ACCEPTED));
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const listed = issues.slice(0, MAX_LISTED).map((issue) => `${file}: ${jsonPath(issue.path)}: ${issue.message}`);
    if (issues.length > MAX_LISTED) listed.push(`and ${issues.length - MAX_LISTED} more`);
    const error = new InvalidInputError(FIELD, listed.join('; '), ACCEPTED);
    error.cause = parsed.error;
    throw error;
  }
  const { orgs = [], sites } = parsed.data;

  const orgsById = new Map<string, OrgSpec>();
  orgs.forEach((o, i) => {
    if (orgsById.has(o.id)) throw new InvalidInputError(FIELD, `${file}: orgs[${i}].id: duplicate org id ${JSON.stringify(o.id)}`, ACCEPTED);
    orgsById.set(o.id, o.name === undefined ? { id: orgId(o.id) } : { id: orgId(o.id), name: o.name });
  });
  const firstAt = new Map<string, number>();
  sites.forEach((s, i) => {
    const first = firstAt.get(s.id);
    if (first !== undefined) throw new InvalidInputError(FIELD, `${file}: sites[${i}].id: duplicate site id ${JSON.stringify(s.id)} (first at sites[${first}])`, ACCEPTED);
    firstAt.set(s.id, i);
    if (!orgsById.has(s.org)) orgsById.set(s.org, { id: orgId(s.org) });
  });
  return { orgs: [...orgsById.values()], sites: sites.map(toSite) };
}

function toSite(s: SiteJson): SiteSpec {
  return {
    id: siteId(s.id),
    org: orgId(s.org),
    nodes: s.nodes,
    gpusPerNode: s.gpus_per_node,
    gpuType: s.gpu_type,
    ...(s.price_per_gpu_hour === undefined ? {} : { pricePerGpuHour: s.price_per_gpu_hour }),
    ...(s.region === undefined ? {} : { region: s.region }),
    share: {
      lendFraction: s.lend_fraction ?? DEFAULT_SHARE_POLICY.lendFraction,
      reclaim: s.reclaim ?? DEFAULT_SHARE_POLICY.reclaim,
      reclaimNoticeS: s.reclaim_notice_s ?? DEFAULT_SHARE_POLICY.reclaimNoticeS,
    },
  };
}

/**
 * The pool as a pool file that parsePoolJson reads back to an equal PoolSpec:
 * every org listed, every share field written out (defaults too, so the file
 * says what the simulator will assume), one org or site per line for diffs.
 */
export function poolToJson(pool: PoolSpec): string {
  const orgs = pool.orgs.map((o) => JSON.stringify(o.name === undefined ? { id: o.id } : { id: o.id, name: o.name }));
  const sites = pool.sites.map((s) =>
    JSON.stringify({
      id: s.id,
      org: s.org,
      nodes: s.nodes,
      gpus_per_node: s.gpusPerNode,
      gpu_type: s.gpuType,
      price_per_gpu_hour: s.pricePerGpuHour,
      region: s.region,
      lend_fraction: s.share.lendFraction,
      reclaim: s.share.reclaim,
      reclaim_notice_s: s.share.reclaimNoticeS,
    }),
  );
  const list = (items: string[]): string => (items.length === 0 ? '[]' : `[\n    ${items.join(',\n    ')}\n  ]`);
  return `{\n  "orgs": ${list(orgs)},\n  "sites": ${list(sites)}\n}\n`;
}

/** `["sites", 2, "nodes"]` → `sites[2].nodes`; the whole document is `(top level)`. */
function jsonPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

/** A value as it appeared in the file, cut short: `0`, `"8"`, `null`, `[1,2]`. */
function show(value: unknown): string {
  const json = JSON.stringify(value);
  return json.length > 40 ? `${json.slice(0, 37)}…` : json;
}
