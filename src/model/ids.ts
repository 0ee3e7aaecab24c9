/**
 * Branded ids: an OrgId is a string that cannot be passed where a SiteId is due.
 * Make them with the functions below at the edges (parsers, the API), never by cast
 * in the middle of the code.
 */
export type OrgId = string & { readonly __brand: 'OrgId' };
export type SiteId = string & { readonly __brand: 'SiteId' };
export type JobId = string & { readonly __brand: 'JobId' };

export const orgId = (s: string): OrgId => s as OrgId;
export const siteId = (s: string): SiteId => s as SiteId;
export const jobId = (s: string): JobId => s as JobId;
