// A listening control plane (in-process, on an in-memory store, its scheduling loop on
// fast timers) with one org, one site and that site's agent token: what the agent
// tests run real agents against.
import { join } from 'node:path';
import { Agent, type AgentLogger } from '../../src/agent/agent.ts';
import { ControlPlaneClient } from '../../src/agent/control-plane-client.ts';
import { LocalExecutor } from '../../src/executors/local.ts';
import { buildServer, type ServerOptions } from '../../src/server/app.ts';
import type { Api } from '../../src/server/control-plane.ts';
import { JobDetailResponse, JobResponse } from '../../src/server/schemas.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';

/** Polls `probe` every 50 ms until it gives a value; fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Where the n-th site of a test pool takes the other sites' parts of a spanning job: loopback, ports of its own. */
export const spanEndpoint = (n: number) => ({ addresses: ['127.0.0.1'], ports: { from: 31_000 + 100 * n, to: 31_099 + 100 * n } });

/** A listening control plane with its loop on fast timers, and one org with one site and its agent token. */
export class LivePool {
  private sitesAdded = 0;

  private constructor(readonly app: Api, readonly store: Store, readonly url: string, readonly admin: string, readonly siteId: string, readonly agentToken: string, readonly client: ControlPlaneClient) {}

  /**
   * `capacity`: the site's as registered (its agent's heartbeats replace it with what the executor discovers).
   * `configure`: called before the server listens (Fastify takes hooks only then): what a test adds to the control plane.
   * `options.store`: the store to run on (closed with the pool); default a new one in memory.
   */
  static async start(options: Partial<ServerOptions> = {}, ca?: Buffer, capacity = [{ gpu_type: 'h100', nodes: 1, gpus_per_node: 8 }], configure?: (app: Api) => void): Promise<LivePool> {
    const store = options.store ?? (await openStore({ memory: true }));
    const app = await buildServer({ passIntervalMs: 100, ...options, store });
    configure?.(app);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const admin = app.suanli.adminToken ?? '';
    const client = new ControlPlaneClient({ server: url, token: admin, ...(ca === undefined ? {} : { ca }) });
    await client.call('POST', '/orgs', { id: 'acme', name: 'Acme' });
    const site = await client.call<{ id: string }>('POST', '/sites', { name: 'acme lab', org_id: 'acme', capacity, span_endpoint: spanEndpoint(0) });
    const token = await client.call<{ token: string }>('POST', '/tokens', { name: 'agent', role: 'agent', org_id: 'acme', site_id: site.id });
    return new LivePool(app, store, url, admin, site.id, token.token, client);
  }

  /** The sites' borrowed runs keep the host's network (contained all the same): a spanning job's parts on lent GPUs must reach each other. */
  async hostNetworkForBorrowed(...siteIds: readonly string[]): Promise<void> {
    for (const id of siteIds) await this.client.call('PATCH', `/sites/${id}`, { share: { borrowed_network: 'host' } });
  }

  /** Another org (created if new) with a site of one node of 8 h100 and its agent token; its WAN links are declared by both sides. */
  async addSite(orgId: string, name: string, wanLinks: readonly { to_site: string; gbps: number; latency_ms: number }[] = []): Promise<{ siteId: string; token: string }> {
    const orgs = await this.client.call<{ orgs: { id: string }[] }>('GET', '/orgs');
    if (!orgs.orgs.some((o) => o.id === orgId)) await this.client.call('POST', '/orgs', { id: orgId, name: orgId });
    const site = await this.client.call<{ id: string }>('POST', '/sites', { name, org_id: orgId, capacity: [{ gpu_type: 'h100', nodes: 1, gpus_per_node: 8 }], wan_links: wanLinks, span_endpoint: spanEndpoint(++this.sitesAdded) });
    // A link counts only when both sites declare it: the other side declares it back.
    for (const l of wanLinks) {
      const other = await this.client.call<{ wan_links: { to_site: string; gbps: number; latency_ms: number }[] }>('GET', `/sites/${l.to_site}`);
      await this.client.call('PATCH', `/sites/${l.to_site}`, { wan_links: [...other.wan_links, { ...l, to_site: site.id }] });
    }
    const token = await this.client.call<{ token: string }>('POST', '/tokens', { name: `${name} agent`, role: 'agent', org_id: orgId, site_id: site.id });
    return { siteId: site.id, token: token.token };
  }

  async submit(command: string[], gpus = 2, extra: Record<string, unknown> = {}): Promise<string> {
    return JobResponse.parse(await this.client.call('POST', '/jobs', { name: 'j', org_id: 'acme', gpus, estimate_s: 60, command, ...extra })).id;
  }

  async job(id: string) {
    return JobDetailResponse.parse(await this.client.call('GET', `/jobs/${id}`));
  }

  /** Waits until the job is in `state`; returns its detail. */
  until(id: string, state: string) {
    return waitFor(`job ${id} ${state}`, async () => {
      const j = await this.job(id);
      return j.state === state ? j : undefined;
    });
  }

  async close(): Promise<void> {
    await this.app.close();
    await this.store.close();
  }
}


/** What a test may change of `localAgent`'s agent: its token and CA, the URL it reaches the server by (a proxy), its timers, its logger. */
export interface LocalAgentExtra {
  readonly ca?: Buffer;
  readonly token?: string;
  readonly server?: string;
  readonly heartbeatMs?: number;
  readonly killGraceMs?: number;
  readonly logger?: AgentLogger;
}

/**
 * An agent for the pool's site (or, with `token`, another site's) with the local executor
 * (one node of 8 h100) on fast timers; `dir` holds its state and its runs. Not started.
 */
export function localAgent(pool: LivePool, dir: string, extra: LocalAgentExtra = {}): { agent: Agent; executor: LocalExecutor } {
  const { token = pool.agentToken, server = pool.url, heartbeatMs = 300, killGraceMs = 500, ...rest } = extra;
  const executor = new LocalExecutor({ stateDir: join(dir, 'state'), inventory: [{ gpuType: 'h100', nodes: 1, gpusPerNode: 8 }], pollMs: 100, killGraceMs });
  const agent = new Agent({ server, token, executor, workDir: dir, heartbeatMs, watchMs: 100, logEveryMs: 200, waitS: 2, maxBackoffMs: 500, ...rest });
  return { agent, executor };
}
