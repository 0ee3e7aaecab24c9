// A small client for slurmrestd's OpenAPI v0.0.38 (Slurm 22.05), over TCP with a
// JWT (rest_auth/jwt) or over a unix socket (rest_auth/local). Plain node:http, so
// both transports need no dependency. Pitfalls it keeps (stack-notes.md §5):
// 22.05 cannot read chunked bodies, so every body is sent with content-length; a
// job that slurmctld does not know is a 500 with error 2017, not a 404.
import { execFile } from 'node:child_process';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { InvalidInputError } from '../model/errors.ts';
import { ExecutorError } from './errors.ts';

export interface SlurmRestOptions {
  /** slurmrestd over TCP with JWT auth, e.g. `http://login1:6820`. Give this or `socketPath`. */
  readonly url?: string;
  /** slurmrestd's unix socket (rest_auth/local: jobs run as the user slurmrestd runs as). */
  readonly socketPath?: string;
  /** The user the JWT belongs to (`X-SLURM-USER-NAME`); with `url` only. */
  readonly user?: string;
  /** The JWT, or a function called before each request that returns a valid one (see `scontrolToken`). */
  readonly token?: string | (() => string | Promise<string>);
  /** How long one request may take (default 30 s). */
  readonly timeoutMs?: number;
}

/** One entry of slurmrestd's `errors` array (submit says `error_code`, the rest `error_number`). */
export interface SlurmRestError {
  readonly error?: string;
  readonly description?: string;
  readonly error_number?: number;
  readonly error_code?: number;
}

/** Slurm error numbers the executor acts on. */
export const SLURM_ERRORS = { invalidJobId: 2017, alreadyDone: 2021, nothingFound: 9003 } as const;

export interface SlurmReply<T> {
  readonly status: number;
  readonly body: T & { readonly errors?: readonly SlurmRestError[] };
}

export const API = '/slurm/v0.0.38';
export const DB_API = '/slurmdb/v0.0.38';

export class SlurmRestClient {
  private readonly base: RequestOptions;
  private readonly send: typeof httpRequest;

  constructor(private readonly options: SlurmRestOptions) {
    if ((options.url === undefined) === (options.socketPath === undefined)) {
      throw new InvalidInputError('slurm.url', 'give exactly one of url and socketPath', 'url (http[s]://host:port, with user and token) or socketPath (a unix socket)');
    }
    if (options.url !== undefined) {
      let url: URL;
      try {
        url = new URL(options.url);
      } catch {
        throw new InvalidInputError('slurm.url', `${JSON.stringify(options.url)} is not a URL`, 'http[s]://host:port');
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidInputError('slurm.url', `${url.protocol} is not http: or https:`, 'http[s]://host:port');
      if (options.user === undefined || options.token === undefined) throw new InvalidInputError('slurm.token', 'a url needs a user and a token (JWT)', 'user and token, e.g. from scontrolToken()');
      this.base = { host: url.hostname, port: url.port, protocol: url.protocol };
      this.send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    } else {
      this.base = { socketPath: options.socketPath };
      this.send = httpRequest;
    }
  }

  /**
   * One call; the reply whatever its HTTP status, except that no answer, an answer
   * that is not JSON and a refused login throw ExecutorError. An unknown path is a
   * 404 with an empty body. `asUser` acts for another user (`X-SLURM-USER-NAME`) with
   * this client's token, which Slurm allows only when the token is root's or
   * SlurmUser's; only over TCP with a JWT.
   */
  async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, asUser?: string): Promise<SlurmReply<T>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (asUser !== undefined && this.options.url === undefined) throw new ExecutorError('slurm', 'rejected', `${method} ${path}: cannot act for user ${asUser} over a unix socket (rest_auth/local runs everything as slurmrestd's user)`);
    if (this.options.url !== undefined) {
      const token = typeof this.options.token === 'function' ? await this.options.token() : (this.options.token ?? '');
      headers['x-slurm-user-name'] = asUser ?? this.options.user ?? '';
      // An empty token header is a 500 "Unspecified error" in 22.05; no header is a clear 401.
      if (token !== '') headers['x-slurm-user-token'] = token;
    }
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const where = `${method} ${path}`;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = this.send({ ...this.base, method, path, headers, timeout: this.options.timeoutMs ?? 30_000 }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.options.timeoutMs ?? 30_000} ms`)));
      req.on('error', reject);
      req.end(payload);
    }).catch((err: unknown) => {
      throw new ExecutorError('slurm', 'unavailable', `${where}: slurmrestd at ${this.endpoint()} did not answer: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    });
    if (status === 401 || status === 403) throw new ExecutorError('slurm', 'unauthorized', `${where}: slurmrestd refused the credentials (${status} ${text.trim().slice(0, 200)})`);
    // A path slurmrestd does not serve (e.g. /slurmdb without slurmdbd) is a 404 in plain text.
    if (status === 404 && !text.trimStart().startsWith('{')) return { status, body: {} as SlurmReply<T>['body'] };
    try {
      return { status, body: JSON.parse(text) as SlurmReply<T>['body'] };
    } catch (err) {
      throw new ExecutorError('slurm', 'unavailable', `${where}: slurmrestd answered ${status} with no JSON: ${text.trim().slice(0, 200)}`, { cause: err });
    }
  }

  /** Like `call`, but errors in the reply throw ExecutorError (`rejected`) quoting Slurm. */
  async ok<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, asUser?: string): Promise<T> {
    return checked(await this.call<T>(method, path, body, asUser), `${method} ${path}${asUser === undefined ? '' : ` as ${asUser}`}`);
  }

  /** Whether calls go over TCP with a JWT (so `asUser` can work). */
  get jwt(): boolean {
    return this.options.url !== undefined;
  }

  private endpoint(): string {
    return this.options.url ?? `unix:${this.options.socketPath ?? ''}`;
  }
}

/** The reply's body; throws ExecutorError (`rejected`) quoting Slurm when it carries errors. */
export function checked<T>(reply: SlurmReply<T>, where: string): SlurmReply<T>['body'] {
  const errors = reply.body.errors ?? [];
  if (errors.length > 0 || reply.status >= 400) throw new ExecutorError('slurm', 'rejected', `${where}: ${describeErrors(errors) || `HTTP ${reply.status}`}`);
  return reply.body;
}

export const hasError = (reply: SlurmReply<unknown>, number: number): boolean => (reply.body.errors ?? []).some((e) => (e.error_number ?? e.error_code) === number);

export const describeErrors = (errors: readonly SlurmRestError[]): string =>
  errors.map((e) => [e.error, e.description].filter((s) => s !== undefined && s !== '').join(': ') + ` (Slurm error ${e.error_number ?? e.error_code ?? '?'})`).join('; ');

const execFile$ = promisify(execFile);

/**
 * A token function for `SlurmRestOptions.token` that runs `scontrol token` (on a
 * machine with the Slurm client and its munge key, like a login node) and reuses
 * the token until 80% of its lifespan is over.
 */
export function scontrolToken(options: { readonly user?: string; readonly lifespanS?: number; readonly scontrol?: string; readonly env?: NodeJS.ProcessEnv } = {}): () => Promise<string> {
  const lifespanS = options.lifespanS ?? 3600;
  let cached: { token: string; renewAt: number } | undefined;
  return async () => {
    if (cached !== undefined && Date.now() < cached.renewAt) return cached.token;
    const args = ['token', `lifespan=${lifespanS}`, ...(options.user === undefined ? [] : [`username=${options.user}`])];
    let stdout: string;
    try {
      ({ stdout } = await execFile$(options.scontrol ?? 'scontrol', args, { env: options.env ?? process.env }));
    } catch (err) {
      throw new ExecutorError('slurm', 'unauthorized', `scontrol token failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const token = /SLURM_JWT=(\S+)/.exec(stdout)?.[1];
    if (token === undefined) throw new ExecutorError('slurm', 'unauthorized', `scontrol token printed no SLURM_JWT: ${stdout.trim()}`);
    cached = { token, renewAt: Date.now() + lifespanS * 800 };
    return token;
  };
}
