import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** A request that reached no answer (network, TLS, timeout) or got a non-2xx one. */
export class AgentHttpError extends Error {
  override readonly name = 'AgentHttpError';
  constructor(
    message: string,
    readonly status: number | null,
    options?: { cause?: unknown },
    /** The field the control plane's error names (`error.field` of a 4xx), if any. */
    readonly field: string | null = null,
  ) {
    super(message, options);
  }
}

export interface ControlPlaneClientOptions {
  /** `http://host:port` or `https://host:port`; several, comma-separated, for replicas of one control plane. */
  readonly server: string;
  /** The site's agent token. */
  readonly token: string;
  /** PEM of the CA that signed the server's certificate (a private CA), for https. */
  readonly ca?: string | Buffer;
}

/**
 * The agent's only way to the control plane: JSON over HTTP(S), out from the agent
 * (members open no port). With `ca`, the server's certificate must chain to it;
 * without, to the system's CAs. node:https keeps it free of new dependencies.
 */
export class ControlPlaneClient {
  private readonly bases: URL[];
  /** The replica requests go to, until one fails to answer. */
  private current = 0;
  private aborted = false;
  private readonly open = new Set<ClientRequest>();

  constructor(private readonly o: ControlPlaneClientOptions) {
    this.bases = o.server.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
      let url: URL;
      try {
        url = new URL(s);
      } catch {
        throw new AgentHttpError(`--server ${s}: not an http(s) URL`, null);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AgentHttpError(`--server ${s}: not an http(s) URL`, null);
      return url;
    });
    if (this.bases.length === 0) throw new AgentHttpError('--server: no URL given', null);
  }

  /** The control plane (replica) requests go to now. */
  get server(): string {
    return this.bases[this.current]?.origin ?? '';
  }

  /**
   * One request under /api/v1; resolves with the JSON body of a 2xx answer. With several servers (replicas), a
   * request no server answered, or answered 502–504 (a replica between leaders), goes to the next, once each; the
   * agent protocol takes a request delivered twice (every report and heartbeat is idempotent).
   */
  async call<T>(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
    for (let tried = 1; ; tried++) {
      try {
        return await this.once<T>(this.bases[this.current] ?? (this.bases[0] as URL), method, path, body, timeoutMs);
      } catch (err) {
        const status = err instanceof AgentHttpError ? err.status : 0;
        if (this.aborted || tried >= this.bases.length || !(status === null || status === 502 || status === 503 || status === 504)) throw err;
        this.current = (this.current + 1) % this.bases.length;
      }
    }
  }

  private once<T>(base: URL, method: 'GET' | 'POST' | 'PATCH', path: string, body: unknown, timeoutMs: number): Promise<T> {
    const url = new URL(`/api/v1${path}`, base);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${this.o.token}` };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<T>((resolve, reject) => {
      const req = send(url, { method, headers, timeout: timeoutMs, ...(this.o.ca === undefined ? {} : { ca: this.o.ca }) }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          let json: unknown = null;
          try {
            json = text === '' ? null : JSON.parse(text);
          } catch {
            json = null;
          }
          if (status >= 200 && status < 300) resolve(json as T);
          else reject(new AgentHttpError(`${method} ${url.pathname}: ${status} ${text.slice(0, 300)}`, status, undefined, errorField(json)));
        });
      });
      this.open.add(req);
      req.on('close', () => this.open.delete(req));
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
      req.on('error', (err) => reject(new AgentHttpError(`${method} ${url.href}: ${err.message}`, null, { cause: err })));
      req.end(payload);
    });
  }

  /** Aborts every request under way (a long poll, on stop). */
  abortAll(): void {
    this.aborted = true;
    for (const req of this.open) req.destroy(new Error('agent stopping'));
  }
}

/** `error.field` of the control plane's error body, or null. */
function errorField(body: unknown): string | null {
  const field = (body as { error?: { field?: unknown } } | null)?.error?.field;
  return typeof field === 'string' ? field : null;
}
