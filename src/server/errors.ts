import type { FastifyError } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isSuanliError } from '../model/errors.ts';
import { isFencedError, type StoreConflictError } from '../store/types.ts';

/**
 * The API's error vocabulary: a closed set of codes, each with one HTTP status.
 * This is the one file that maps errors to statuses (STYLE.md §13): handlers throw
 * ApiError (or let a SuanliError or a StoreConflictError through) and the error
 * handler turns whatever arrives into `{ error: { code, message, field? } }`.
 * Bad input is always a 4xx; a 5xx means a bug or a failing store, never the client.
 */
export const API_ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  /** An org's quota (sites, nodes, GPUs declared, queued jobs) would be exceeded. */
  quota_exceeded: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  /** A token for what is over: a rendezvous token of a job attempt that ended, or of a site that left the job. */
  gone: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  /** An Idempotency-Key used again with another request (draft-ietf-httpapi-idempotency-key-header: 422). */
  idempotency_mismatch: 422,
  /** Too many failed sign-ins from one address or for one token id (auth.ts); the response says when to retry (Retry-After). */
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;
export type ApiErrorCode = keyof typeof API_ERROR_STATUS;
export const API_ERROR_CODES = Object.keys(API_ERROR_STATUS) as ApiErrorCode[];

export class ApiError extends Error {
  readonly code: ApiErrorCode;
  /** The offending input, as a JSON path into the body (`capacity[0].nodes`) or `query.limit`, `header.authorization`. */
  readonly field: string | undefined;
  constructor(code: ApiErrorCode, message: string, options?: { field?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ApiError';
    this.code = code;
    this.field = options?.field;
  }

  get status(): number {
    return API_ERROR_STATUS[this.code];
  }
}

/** The JSON body of every error response. */
export interface ErrorBody {
  readonly error: { readonly code: ApiErrorCode; readonly message: string; readonly field?: string };
}

export const notFound = (what: string, id: string): ApiError => new ApiError('not_found', `${what} "${id}" not found`);

/** Fastify's own 4xx errors (body parsing, content type, size) by their codes. */
const FASTIFY_CODES: Readonly<Record<string, ApiErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
};

/** The general code of each status (the first listed: `forbidden` for 403, not `quota_exceeded`). */
const STATUS_CODES = new Map<number, ApiErrorCode>(Object.entries(API_ERROR_STATUS).reverse().map(([code, status]) => [status, code as ApiErrorCode]));

/** `capacity[0].nodes` from a validation issue's path. */
function jsonPath(parts: readonly (string | number)[]): string {
  return parts.map((p, i) => (typeof p === 'number' || /^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

const CONTEXT_PREFIX: Readonly<Record<string, string>> = { body: '', querystring: 'query.', params: 'params.', headers: 'header.' };

/**
 * What breaking a store rule means to a client, by the rule's name (src/store/migrations.ts):
 * the code, the field at fault and a sentence. Creates check what they can first (an
 * unknown org is a 404 before the insert), so these are mostly races; ids of sites and
 * tokens are random, and a clash is worth one more try.
 */
const STORE_RULES: Readonly<Record<string, { readonly code: ApiErrorCode; readonly field?: string; readonly message: (value: string) => string }>> = {
  orgs_pkey: { code: 'conflict', field: 'id', message: (id) => `an org "${id}" exists already` },
  sites_pkey: { code: 'conflict', message: (id) => `a site "${id}" exists already; try again` },
  tokens_pkey: { code: 'conflict', message: (id) => `a token "${id}" exists already; try again` },
  sites_org_id_fkey: { code: 'not_found', field: 'org_id', message: (id) => `org "${id}" not found` },
  tokens_org_id_fkey: { code: 'not_found', field: 'org_id', message: (id) => `org "${id}" not found` },
  tokens_site_id_fkey: { code: 'not_found', field: 'site_id', message: (id) => `site "${id}" not found` },
  jobs_org_id_fkey: { code: 'not_found', field: 'org_id', message: (id) => `org "${id}" not found` },
};

/** A broken store rule in the API's words; the database's own text (table, constraint, key) stays in the log. */
function storeConflict(err: StoreConflictError): ApiError {
  const rule = STORE_RULES[err.constraint];
  if (rule === undefined || err.value === undefined) return new ApiError('conflict', 'the request conflicts with what is stored; try again', { cause: err });
  const message = rule.message(err.value);
  return new ApiError(rule.code, rule.field === undefined ? message : `${rule.field}: ${message}`, { ...(rule.field === undefined ? {} : { field: rule.field }), cause: err });
}

/**
 * Any error a request produced, as the API reports it. Unknown errors are bugs or
 * store failures: 500 with a generic message (the log has the details).
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (hasZodFastifySchemaValidationErrors(err)) {
    const first = err.validation[0];
    const prefix = CONTEXT_PREFIX[err.validationContext ?? 'body'] ?? '';
    const path = (first?.instancePath ?? '/').split('/').filter((p) => p !== '');
    // An unknown field is named itself, not by the object that holds it.
    const unknownKey = first?.keyword === 'unrecognized_keys' ? (first.params as { keys?: unknown[] }).keys?.[0] : undefined;
    if (typeof unknownKey === 'string') path.push(unknownKey);
    const field = `${prefix}${jsonPath(path)}`.replace(/\.$/, '') || (err.validationContext === 'body' ? 'body' : (err.validationContext ?? 'body'));
    const message = (first?.message ?? 'invalid').replace(/^Invalid input: /, '');
    const more = err.validation.length > 1 ? ` (and ${err.validation.length - 1} more problem${err.validation.length > 2 ? 's' : ''})` : '';
    return new ApiError('invalid_request', `${field}: ${message}${more}`, { field, cause: err });
  }
  if (isSuanliError(err)) {
    const field = 'field' in err && typeof err.field === 'string' ? err.field : undefined;
    return new ApiError(err.code === 'not_found' ? 'not_found' : 'invalid_request', err.message, { ...(field === undefined ? {} : { field }), cause: err });
  }
  if (err instanceof Error && err.name === 'StoreConflictError') return storeConflict(err as StoreConflictError);
  if (isFencedError(err)) return new ApiError('unavailable', 'this replica no longer leads: another took over; try again', { cause: err });
  const fe = err as Partial<FastifyError>;
  if (typeof fe.code === 'string' && fe.code in FASTIFY_CODES) {
    const code = FASTIFY_CODES[fe.code] as ApiErrorCode;
    return new ApiError(code, code === 'invalid_request' && fe.code !== 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' ? `body: ${fe.message ?? 'malformed JSON'}` : (fe.message ?? code), { ...(code === 'invalid_request' ? { field: 'body' } : {}), cause: err });
  }
  // Other client errors fastify raises itself (a malformed URL, a bad header): keep their status.
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new ApiError(STATUS_CODES.get(fe.statusCode) ?? 'invalid_request', fe.message ?? 'bad request', { cause: err });
  }
  return new ApiError('internal', 'internal error (see the server log)', { cause: err });
}

export function errorBody(e: ApiError): ErrorBody {
  return { error: { code: e.code, message: e.message, ...(e.field === undefined ? {} : { field: e.field }) } };
}
