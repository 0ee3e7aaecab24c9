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
  /** `http://host:port` or `https://host:port`. */
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
  private readonly base: URL;
  private readonly open = new Set<ClientRequest>();

  constructor(private readonly o: ControlPlaneClientOptions) {
    this.base = new URL(o.server);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') throw new AgentHttpError(`--server ${o.server}: not an http(s) URL`, null);
  }

  /** One request under /api/v1; resolves with the JSON body of a 2xx answer. */
  call<T>(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown, timeoutMs = 30_000): Promise<T> {
    const url = new URL(`/api/v1${path}`, this.base);
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
    for (const req of this.open) req.destroy(new Error('agent stopping'));
  }
}

/** `error.field` of the control plane's error body, or null. */
function errorField(body: unknown): string | null {
  const field = (body as { error?: { field?: unknown } } | null)?.error?.field;
  return typeof field === 'string' ? field : null;
}
