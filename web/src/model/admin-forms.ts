import type { OrgCreateRequest, Role, ShareJson, SharePatchRequest, SiteCreateRequest, TokenCreateRequest } from '../api/types.ts';
import type { FieldProblem } from '../components/field.tsx';
import { integerIn, numberIn } from './submit-form.ts';

/**
 * The admin pages' forms (POST /orgs, /sites, /tokens) and the site page's share
 * policy (PATCH /sites/:id): what was typed, checked against the API's bounds
 * (src/server/schemas.ts: OrgCreateBody, SiteCreateBody, TokenCreateBody, ShareFields)
 * before anything is sent, and the API's refusals put back on the field they name.
 */

/** A form's problems by field; ok: the request body to send. */
export type Checked<Form, Body> = { readonly ok: true; readonly body: Body } | { readonly ok: false; readonly errors: Partial<Record<keyof Form, FieldProblem>> };

/** The API's pattern for an org id (schemas.ts Slug), and for a GPU type (GpuType). */
const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;
const GPU_TYPE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** A name: one line of 1 to 200 characters (schemas.ts Name; the API refuses control characters too, in its own words). */
const NAME_MAX = 200;

function checked<Form, Body>(errors: Partial<Record<keyof Form, FieldProblem>>, body: () => Body): Checked<Form, Body> {
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, body: body() };
}

const nameProblem = (name: string): FieldProblem | undefined => (name.trim() === '' || name.trim().length > NAME_MAX ? 'admin.errorName' : undefined);

/**
 * The form field an API refusal names (`{error: {field}}`): the first of `fields` whose
 * API path is the named one or holds it (`capacity[0].nodes`, `share.lend_to[1]`), or null
 * when the refusal names none of the form's fields (it is shown above the form then).
 */
export function formFieldOf<Form>(apiField: string | undefined, fields: readonly (readonly [string, keyof Form])[]): keyof Form | null {
  if (apiField === undefined) return null;
  const hit = fields.find(([path]) => apiField === path || apiField.startsWith(`${path}.`) || apiField.startsWith(`${path}[`));
  return hit?.[1] ?? null;
}

// --- orgs (admin only) ---------------------------------------------------------------------

export interface OrgForm {
  /** Empty: the API makes one of the name. */
  readonly id: string;
  readonly name: string;
}
export const NEW_ORG_FORM: OrgForm = { id: '', name: '' };
export const ORG_API_FIELDS: readonly (readonly [string, keyof OrgForm])[] = [['id', 'id'], ['name', 'name']];

export function orgRequestOf(form: OrgForm): Checked<OrgForm, OrgCreateRequest> {
  const id = form.id.trim();
  const errors: Partial<Record<keyof OrgForm, FieldProblem>> = {};
  if (id !== '' && !SLUG.test(id)) errors.id = 'admin.errorOrgId';
  const name = nameProblem(form.name);
  if (name !== undefined) errors.name = name;
  return checked(errors, () => ({ name: form.name.trim(), ...(id === '' ? {} : { id }) }));
}

// --- sites -----------------------------------------------------------------------------------

/** A new site with one GPU type (more types, WAN links and the share policy are changed on its page or with the API). */
export interface SiteForm {
  readonly name: string;
  /** The owning org: the admin picks one; an org-admin's sites are its own org's (the field is not shown). */
  readonly org: string;
  readonly gpuType: string;
  readonly nodes: string;
  readonly gpusPerNode: string;
  /** Empty: no price. */
  readonly price: string;
}
export const NEW_SITE_FORM: SiteForm = { name: '', org: '', gpuType: 'h100', nodes: '1', gpusPerNode: '8', price: '' };
export const SITE_API_FIELDS: readonly (readonly [string, keyof SiteForm])[] = [
  ['name', 'name'], ['org_id', 'org'], ['capacity[0].gpu_type', 'gpuType'], ['capacity[0].gpus_per_node', 'gpusPerNode'], ['capacity', 'nodes'], ['price_per_gpu_hour', 'price'],
];

export function siteRequestOf(form: SiteForm, needsOrg: boolean): Checked<SiteForm, SiteCreateRequest> {
  const errors: Partial<Record<keyof SiteForm, FieldProblem>> = {};
  const name = nameProblem(form.name);
  if (name !== undefined) errors.name = name;
  if (needsOrg && form.org === '') errors.org = 'admin.errorOrg';
  const gpuType = form.gpuType.trim();
  if (!GPU_TYPE.test(gpuType)) errors.gpuType = 'admin.errorGpuType';
  const nodes = integerIn(form.nodes, 0, 65_536);
  if (nodes === undefined) errors.nodes = { key: 'plan.errorInteger', vars: { min: 0, max: 65_536 } };
  const perNode = integerIn(form.gpusPerNode, 1, 64);
  if (perNode === undefined) errors.gpusPerNode = { key: 'plan.errorInteger', vars: { min: 1, max: 64 } };
  const price = form.price.trim() === '' ? null : numberIn(form.price, 0, 1e6, true);
  if (price === undefined) errors.price = 'admin.errorPrice';
  return checked(errors, () => ({
    name: form.name.trim(), ...(needsOrg ? { org_id: form.org } : {}),
    capacity: [{ gpu_type: gpuType, nodes: nodes ?? 0, gpus_per_node: perNode ?? 1 }], price_per_gpu_hour: price ?? null,
  }));
}

// --- tokens ----------------------------------------------------------------------------------

export interface TokenForm {
  readonly name: string;
  readonly role: Role | '';
  /** The token's org (not for an admin token): the admin picks one; an org-admin's tokens are its own org's. */
  readonly org: string;
  /** An agent token's site. */
  readonly site: string;
}
export const NEW_TOKEN_FORM: TokenForm = { name: '', role: '', org: '', site: '' };
export const TOKEN_API_FIELDS: readonly (readonly [string, keyof TokenForm])[] = [['name', 'name'], ['role', 'role'], ['org_id', 'org'], ['site_id', 'site']];

/**
 * Roles each role may hand out, as the API allows (src/server/permissions.ts GRANTABLE:
 * an org-admin mints no admin); a member may create no token at all.
 */
export const GRANTABLE_ROLES: Readonly<Record<'admin' | 'org-admin' | 'member', readonly Role[]>> = {
  admin: ['admin', 'org-admin', 'member', 'agent'],
  'org-admin': ['org-admin', 'member', 'agent'],
  member: [],
};

/** `needsOrg`: the caller is the admin, who names the org of every token but an admin's. */
export function tokenRequestOf(form: TokenForm, grantable: readonly Role[], needsOrg: boolean): Checked<TokenForm, TokenCreateRequest> {
  const errors: Partial<Record<keyof TokenForm, FieldProblem>> = {};
  const name = nameProblem(form.name);
  if (name !== undefined) errors.name = name;
  const role = form.role;
  if (role === '' || !grantable.includes(role)) errors.role = 'admin.errorRole';
  const withOrg = needsOrg && role !== 'admin';
  if (withOrg && form.org === '') errors.org = 'admin.errorOrg';
  if (role === 'agent' && form.site === '') errors.site = 'admin.errorSite';
  return checked(errors, () => ({
    name: form.name.trim(), role: role as Role, ...(withOrg ? { org_id: form.org } : {}), ...(role === 'agent' ? { site_id: form.site } : {}),
  }));
}

// --- a site's share policy (issue 8's lending rules) --------------------------------------------

export interface ShareForm {
  /** The share of the site's GPUs the pool may lend, in percent. */
  readonly lendPercent: string;
  readonly reclaim: boolean;
  readonly reclaimNoticeMinutes: string;
  /** Who may borrow: every org, none, or the orgs listed. */
  readonly lendTo: 'all' | 'none' | 'listed';
  /** Org ids, separated by commas or spaces (when `lendTo` is `listed`). */
  readonly lendToOrgs: string;
  /** Most GPUs any one borrowing org may hold here; empty: no limit beyond the lent share. */
  readonly maxPerBorrower: string;
  /** Per borrowing org, its own limit: `beta=8, gamma=4`. */
  readonly borrowerLimits: string;
  readonly sandboxBorrowed: boolean;
  readonly borrowedNetwork: 'none' | 'host';
}

/** The fields the API may refuse by name; the two checkboxes it cannot (a refusal naming them shows above the form). */
export const SHARE_API_FIELDS: readonly (readonly [string, keyof ShareForm])[] = [
  ['share.lend_fraction', 'lendPercent'], ['share.reclaim_notice_s', 'reclaimNoticeMinutes'], ['share.lend_to', 'lendToOrgs'],
  ['share.max_gpus_per_borrower', 'maxPerBorrower'], ['share.borrower_gpu_limits', 'borrowerLimits'], ['share.borrowed_network', 'borrowedNetwork'],
];

/** The API's bounds: a notice of 30 days at most; a borrower's limit up to ten million GPUs. */
const NOTICE_MAX_MINUTES = 30 * 24 * 60;
const GPU_LIMIT_MAX = 10_000_000;
/** An org id as the API takes it in a share policy (schemas.ts Id: 1 to 128 characters; unknown ones are refused by name). */
const ORG_REF = /^[^\s,=]{1,128}$/;

/** The form showing a site's policy as the API gives it. */
export function shareFormOf(share: ShareJson): ShareForm {
  return {
    lendPercent: String(Math.round(share.lend_fraction * 1000) / 10),
    reclaim: share.reclaim,
    reclaimNoticeMinutes: String(Math.round((share.reclaim_notice_s / 60) * 100) / 100),
    lendTo: typeof share.lend_to === 'string' ? share.lend_to : 'listed',
    lendToOrgs: typeof share.lend_to === 'string' ? '' : share.lend_to.join(', '),
    maxPerBorrower: share.max_gpus_per_borrower === null ? '' : String(share.max_gpus_per_borrower),
    borrowerLimits: Object.entries(share.borrower_gpu_limits).map(([org, gpus]) => `${org}=${gpus}`).join(', '),
    sandboxBorrowed: share.sandbox_borrowed,
    borrowedNetwork: share.borrowed_network,
  };
}

const words = (text: string) => text.split(/[\s,]+/).filter((w) => w !== '');

/** The whole policy as a PATCH body (every field: what the form shows is what the site keeps). */
export function sharePatchOf(form: ShareForm): Checked<ShareForm, { readonly share: SharePatchRequest }> {
  const errors: Partial<Record<keyof ShareForm, FieldProblem>> = {};
  const percent = numberIn(form.lendPercent, 0, 100, true);
  if (percent === undefined) errors.lendPercent = 'admin.errorPercent';
  const notice = numberIn(form.reclaimNoticeMinutes, 0, NOTICE_MAX_MINUTES, true);
  if (notice === undefined) errors.reclaimNoticeMinutes = 'admin.errorNotice';
  const orgs = words(form.lendToOrgs);
  if (form.lendTo === 'listed' && (orgs.length === 0 || orgs.some((o) => !ORG_REF.test(o)) || new Set(orgs).size !== orgs.length)) errors.lendToOrgs = 'admin.errorLendTo';
  const max = form.maxPerBorrower.trim() === '' ? null : integerIn(form.maxPerBorrower, 0, GPU_LIMIT_MAX);
  if (max === undefined) errors.maxPerBorrower = { key: 'admin.errorLimit', vars: { max: GPU_LIMIT_MAX } };
  const limits = words(form.borrowerLimits).map((entry) => {
    const [org = '', gpus = ''] = entry.split('=');
    return { org, gpus: ORG_REF.test(org) && entry.split('=').length === 2 ? integerIn(gpus, 0, GPU_LIMIT_MAX) : undefined };
  });
  if (limits.some((l) => l.gpus === undefined) || new Set(limits.map((l) => l.org)).size !== limits.length) errors.borrowerLimits = 'admin.errorBorrowerLimits';
  return checked(errors, () => ({
    share: {
      lend_fraction: (percent ?? 0) / 100,
      reclaim: form.reclaim,
      reclaim_notice_s: Math.round((notice ?? 0) * 60),
      lend_to: form.lendTo === 'listed' ? orgs : form.lendTo,
      max_gpus_per_borrower: max ?? null,
      borrower_gpu_limits: Object.fromEntries(limits.map((l) => [l.org, l.gpus ?? 0])),
      sandbox_borrowed: form.sandboxBorrowed,
      borrowed_network: form.borrowedNetwork,
    },
  }));
}
