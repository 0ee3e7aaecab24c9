// A control plane on a real in-memory store, driven in-process through fastify.inject:
// what the server tests share. Time is a clock the test moves; scheduling passes run
// when the test asks (`passes`), not on timers, unless a test turns them on.
import type { z } from 'zod';
import type { Clock } from '../../src/model/clock.ts';
import { buildServer, type ServerOptions } from '../../src/server/app.ts';
import type { Api } from '../../src/server/control-plane.ts';
import { ErrorResponse, JobResponse, OrgResponse, SiteResponse, TokenCreatedResponse } from '../../src/server/schemas.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';

export class ManualClock implements Clock {
  constructor(public ms = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.ms;
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

export interface Reply {
  readonly status: number;
  /** The JSON body, or null when there is none or it is not JSON. */
  readonly body: unknown;
  readonly text: string;
  readonly headers: Record<string, unknown>;
}

export interface Call {
  readonly token?: string | null;
  readonly body?: unknown;
  /** A raw payload sent as is (with its own content type, if any). */
  readonly raw?: string | Buffer;
  readonly headers?: Record<string, string>;
}

export class TestServer {
  private constructor(readonly app: Api, readonly store: Store, readonly clock: ManualClock, readonly admin: string) {}

  static async start(options: Partial<ServerOptions> = {}): Promise<TestServer> {
    const store = await openStore({ memory: true });
    const clock = new ManualClock();
    // Passes commit everything they decide (no commit budget): what a pass does must not depend on how fast the store was.
    // No agent signs usage records here: the control plane logs them alone at the pass after they end (`pass`).
    const app = await buildServer({ store, clock, schedule: false, commitBudgetMs: Number.POSITIVE_INFINITY, usageAloneAfterMs: 0, ...options });
    await app.ready();
    return new TestServer(app, store, clock, app.suanli.adminToken ?? options.adminToken ?? '');
  }

  /** A server with orgs acme and beta, and acme's site of `nodes` × 8 h100. */
  static async withTwoOrgs(nodes: number): Promise<{ s: TestServer; acmeSite: string }> {
    const s = await TestServer.start();
    await s.org('acme');
    await s.org('beta');
    return { s, acmeSite: await s.site('acme', nodes, 8, 'h100') };
  }

  async close(): Promise<void> {
    await this.app.close();
    await this.store.close();
  }

  /** One request; the token defaults to the admin's (null: none). */
  async req(method: string, url: string, call: Call = {}): Promise<Reply> {
    const token = call.token === undefined ? this.admin : call.token;
    const headers: Record<string, string> = { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...call.headers };
    let payload: string | Buffer | undefined;
    if (call.raw !== undefined) payload = call.raw;
    else if (call.body !== undefined) {
      payload = JSON.stringify(call.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await this.app.inject({ method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload }) });
    let body: unknown = null;
    try {
      body = res.body === '' ? null : JSON.parse(res.body);
    } catch {
      body = null;
    }
    return { status: res.statusCode, body, text: res.body, headers: res.headers };
  }

  /** Like `req`, but fails unless the status is the one expected; returns the body, checked against the API's response schema. */
  async ok<S extends z.ZodType>(schema: S, status: number, method: string, url: string, call: Call = {}): Promise<z.output<S>> {
    const r = await this.req(method, url, call);
    if (r.status !== status) throw new Error(`${method} ${url}: expected ${status}, got ${r.status}: ${r.text}`);
    const parsed = schema.safeParse(r.body);
    if (!parsed.success) throw new Error(`${method} ${url}: the response does not match its schema: ${parsed.error.message}\n${r.text}`);
    return parsed.data;
  }

  /** A request that must fail with `status`; returns the error. */
  async fail(status: number, method: string, url: string, call: Call = {}): Promise<z.output<typeof ErrorResponse>['error']> {
    return (await this.ok(ErrorResponse, status, method, url, call)).error;
  }

  /** Runs one scheduling pass now, then what the usage log's timer would (log what no agent signs, checkpoint). */
  async pass() {
    const report = await this.app.suanli.loop.runPass();
    await this.app.suanli.usage.tick();
    return report;
  }

  // --- fixtures ---------------------------------------------------------------------------

  async org(id: string): Promise<void> {
    await this.ok(OrgResponse, 201, 'POST', '/api/v1/orgs', { body: { id, name: `Org ${id}` } });
  }

  async token(role: 'admin' | 'org-admin' | 'member' | 'agent', org: string | null, site?: string): Promise<string> {
    const body = await this.ok(TokenCreatedResponse, 201, 'POST', '/api/v1/tokens', { body: { name: `${role} of ${org ?? 'the pool'}`, role, ...(org === null ? {} : { org_id: org }), ...(site === undefined ? {} : { site_id: site }) } });
    return body.token;
  }

  /** A site of `nodes` × `gpusPerNode` GPUs of one type; returns its id. */
  async site(org: string, nodes = 1, gpusPerNode = 8, gpuType = 'h100', extra: Record<string, unknown> = {}): Promise<string> {
    const body = await this.ok(SiteResponse, 201, 'POST', '/api/v1/sites', { body: { name: `${org} cluster`, org_id: org, capacity: [{ gpu_type: gpuType, nodes, gpus_per_node: gpusPerNode }], ...extra } });
    return body.id;
  }

  /** Submits a job as `token` (default admin, for `org`); returns its id. */
  async job(org: string, gpus: number, extra: Record<string, unknown> = {}, token?: string): Promise<string> {
    const body = await this.ok(JobResponse, 201, 'POST', '/api/v1/jobs', { token: token ?? this.admin, body: { name: `job of ${org}`, ...(token === undefined ? { org_id: org } : {}), gpus, estimate_s: 3600, ...extra } });
    return body.id;
  }
}
