import { visibleText } from '../../../src/model/text.ts';
import type { ApiErrorCode } from './types.ts';

/**
 * Why a request failed: the API's error code, status and message when it answered
 * (`{error: {code, message, field?}}`), `network` when no answer came, `unexpected`
 * when the answer was not the API's (a proxy's HTML page, say).
 */
export type RequestErrorCode = ApiErrorCode | 'network' | 'unexpected';

export class ApiRequestError extends Error {
  override readonly name = 'ApiRequestError';
  constructor(
    readonly status: number,
    readonly code: RequestErrorCode,
    message: string,
    /** The offending input (`gpus`, `plan.frames`), when the API named one. */
    readonly field: string | undefined = undefined,
  ) {
    super(message);
  }
}

/** The dashboard's view of /api/v1: paths are relative to it (`/jobs?state=running`). */
export interface ApiClient {
  get<T>(path: string, signal?: AbortSignal): Promise<T>;
  /** `body` undefined sends no body at all (the API refuses an empty JSON body). */
  post<T>(path: string, body?: unknown, options?: PostOptions): Promise<T>;
  /** Changes part of an object (PATCH: only the fields given change). */
  patch<T>(path: string, body: unknown, options?: { readonly signal?: AbortSignal }): Promise<T>;
  /** Removes or revokes an object (DELETE, no body); the API answers with the object after. */
  delete<T>(path: string, options?: { readonly signal?: AbortSignal }): Promise<T>;
}

export interface PostOptions {
  readonly signal?: AbortSignal;
  /** An `Idempotency-Key` header: a retried POST with the same key creates nothing twice (POST /jobs). */
  readonly idempotencyKey?: string;
}

export interface ApiClientOptions {
  /** The bearer token, `sl_<id>_<secret>`. */
  readonly token: string;
  /** Called at every 401: the token is unknown or revoked, so the session is over. */
  readonly onUnauthorized?: () => void;
  /** Where the control plane is; the page's own origin when absent. */
  readonly baseUrl?: string;
  readonly fetch?: typeof fetch;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const send = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const base = `${options.baseUrl ?? ''}/api/v1`;

  async function call<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body: unknown, signal: AbortSignal | undefined, idempotencyKey?: string): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${options.token}`, accept: 'application/json' };
    if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
    const init: RequestInit = { method, headers };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (signal !== undefined) init.signal = signal;
    let response: Response;
    try {
      response = await send(`${base}${path}`, init);
    } catch (err) {
      // A request the caller aborted is not a failure to report: let the AbortError through.
      if (signal?.aborted === true) throw err;
      throw new ApiRequestError(0, 'network', err instanceof Error ? err.message : String(err));
    }
    const text = await response.text();
    const json = visibleStrings(parseJson(text));
    if (response.ok) {
      if (json === undefined) throw new ApiRequestError(response.status, 'unexpected', `not JSON: ${visibleText(text.slice(0, 200))}`);
      return json as T;
    }
    if (response.status === 401) options.onUnauthorized?.();
    throw errorOf(response.status, json, text);
  }

  return {
    get: (path, signal) => call('GET', path, undefined, signal),
    post: (path, body, post) => call('POST', path, body, post?.signal, post?.idempotencyKey),
    patch: (path, body, options) => call('PATCH', path, body, options?.signal),
    delete: (path, options) => call('DELETE', path, undefined, options?.signal),
  };
}

/**
 * The API's answer with every string (and key) made visible: names, diagnoses and
 * log tails come from other members of the pool and their agents, so their control,
 * bidi and invisible characters are shown as `\u{1b}` escapes (src/model/text.ts),
 * newlines and tabs kept. Done here, where server text enters the dashboard, every
 * view shows only what this returns.
 */
function visibleStrings(value: unknown): unknown {
  if (typeof value === 'string') return visibleText(value);
  if (Array.isArray(value)) return value.map(visibleStrings);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [visibleText(k), visibleStrings(v)]));
  return value;
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The API's error body as an ApiRequestError; anything else as `unexpected` with the start of the text. */
function errorOf(status: number, json: unknown, text: string): ApiRequestError {
  const error = typeof json === 'object' && json !== null && 'error' in json ? json.error : undefined;
  if (typeof error === 'object' && error !== null && 'code' in error && 'message' in error) {
    const e = error as { code: unknown; message: unknown; field?: unknown };
    if (typeof e.code === 'string' && typeof e.message === 'string') {
      return new ApiRequestError(status, e.code as ApiErrorCode, e.message, typeof e.field === 'string' ? e.field : undefined);
    }
  }
  return new ApiRequestError(status, 'unexpected', `HTTP ${status}: ${visibleText(text.slice(0, 200))}`);
}

/** Whether `err` is the AbortError of a request the caller gave up on (a view that went away). */
export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'AbortError';
}
