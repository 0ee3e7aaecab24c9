import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { z } from 'zod';
import type { Connection } from './config.ts';
import { ClientError, refused } from './errors.ts';

/** A response body as the API's zod schema (src/server/schemas.ts) describes it; a type only, so the CLI loads neither zod nor the server. */
export type Wire<S extends z.ZodType> = z.output<S>;

export interface RequestOptions {
  /** Query parameters; undefined ones are left out. */
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** How long one request may take before the client gives up on the server. */
const TIMEOUT_MS = 30_000;

/**
 * The REST API under `<server>/api/v1`, with the connection's bearer token.
 * Every failure is a ClientError: a refusal carries the server's code, message
 * and field; a server that cannot be reached, or answers something that is not
 * the API's JSON, is named by its URL.
 */
export class ApiClient {
  constructor(private readonly connection: Connection) {}

  get server(): string {
    return this.connection.server;
  }

  /**
   * One request; resolves with the status and JSON body of any 2xx answer. With several servers (replicas of one
   * control plane), one that does not answer, or answers 502–504 (between leaders), is passed over for the next.
   */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<{ status: number; body: T }> {
    const servers = this.server.split(',');
    for (const [i, server] of servers.entries()) {
      try {
        return await this.requestOf<T>(server, method, path, options);
      } catch (err) {
        if (!(err instanceof ClientError) || i === servers.length - 1) throw err;
        // A request that may have done its work before the answer was lost is not sent again (a second job), unless
        // it is a read or carries an idempotency key; one that never reached a server, or that a replica answered
        // 503 (no leader now), is.
        const status = err.refusal?.status;
        const safe = method === 'GET' || options.headers?.['idempotency-key'] !== undefined;
        const passOver = err.code === 'server_unreachable' ? safe || neverConnected(err) : status === 503 || (safe && (status === 502 || status === 504));
        if (!passOver) throw err;
      }
    }
    throw new ClientError('server_unreachable', 'no server given');
  }

  private async requestOf<T>(server: string, method: string, path: string, options: RequestOptions): Promise<{ status: number; body: T }> {
    const url = new URL(`${server}/api/v1${path}`);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${this.connection.token}`, ...options.headers };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let status: number;
    let text: string;
    try {
      const body = options.body === undefined ? undefined : JSON.stringify(options.body);
      if (this.connection.ca !== undefined) ({ status, text } = await requestWithCa(url, method, headers, body, await readFile(this.connection.ca)));
      else {
        const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(TIMEOUT_MS) });
        status = res.status;
        text = await res.text();
      }
    } catch (err) {
      throw new ClientError('server_unreachable', `cannot reach the Suanli server at ${server} (${whyUnreachable(err)}); is \`suanli serve\` running there? (the server comes from ${this.connection.serverFrom})`, { cause: err });
    }
    let body: unknown;
    try {
      body = text === '' ? null : JSON.parse(text);
    } catch (err) {
      throw new ClientError('bad_response', `the server at ${server} answered ${method} ${url.pathname} with ${status} and a body that is not JSON; is it a Suanli control plane?`, { cause: err });
    }
    if (status >= 200 && status < 300) return { status, body: body as T };
    const e = (body as { error?: { code?: unknown; message?: unknown; field?: unknown } } | null)?.error;
    if (typeof e?.code === 'string' && typeof e.message === 'string') {
      throw refused({ status, code: e.code, message: e.message, ...(typeof e.field === 'string' ? { field: e.field } : {}) });
    }
    throw new ClientError('bad_response', `the server at ${server} answered ${method} ${url.pathname} with ${status} and no Suanli error; is it a Suanli control plane?`);
  }

  async get<T>(path: string, query?: RequestOptions['query']): Promise<T> {
    return (await this.request<T>('GET', path, query === undefined ? {} : { query })).body;
  }

  async post<T>(path: string, body: unknown = {}, headers?: RequestOptions['headers']): Promise<T> {
    return (await this.request<T>('POST', path, { body, ...(headers === undefined ? {} : { headers }) })).body;
  }
}

/** Whether the error (or one it was caused by) says no connection was made: the request reached no server. */
function neverConnected(err: unknown): boolean {
  for (let e: unknown = err; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return true;
  }
  return false;
}

/** `/jobs/<id>` with the id escaped: ids come from users and must not change the path. */
export function pathOf(collection: string, id: string, action = ''): string {
  return `/${collection}/${encodeURIComponent(id)}${action === '' ? '' : `/${action}`}`;
}

/** "connection refused", "unknown host", "no answer within 30 s": why fetch failed, in words. */
function whyUnreachable(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${TIMEOUT_MS / 1000} s`;
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const words: Readonly<Record<string, string>> = { ECONNREFUSED: 'connection refused', ENOTFOUND: 'unknown host', EAI_AGAIN: 'host name lookup failed', ECONNRESET: 'connection reset', EHOSTUNREACH: 'host unreachable', UND_ERR_CONNECT_TIMEOUT: 'connection timed out' };
  if (code !== undefined) return words[code] ?? code;
  return typeof cause?.message === 'string' ? cause.message : err instanceof Error ? err.message : String(err);
}

/**
 * One request trusting the given CA: fetch cannot take a CA without undici's
 * dispatcher (not a dependency), so node:http(s) does it. Fails as fetch does
 * (an error whose `cause` has the system code), so messages read the same.
 */
function requestWithCa(url: URL, method: string, headers: Record<string, string>, body: string | undefined, ca: Buffer): Promise<{ status: number; text: string }> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method, headers, ca, timeout: TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })));
    req.on('error', (err) => reject(err.name === 'TimeoutError' ? err : new Error(err.message, { cause: err })));
    req.end(body);
  });
}
