// What the adversarial tests (test/adversarial) play a hostile member with: requests
// sent by hand with any token, answered with their status whatever it is (and how long
// they took), and a fleet of real agents on a temp dir, removed after.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Agent } from '../../src/agent/agent.ts';
import type { LocalExecutor } from '../../src/executors/local.ts';
import type { ServerOptions } from '../../src/server/app.ts';
import type { Api } from '../../src/server/control-plane.ts';
import { JobResponse } from '../../src/server/schemas.ts';
import { LivePool, localAgent, type LocalAgentExtra } from './live-pool.ts';

export interface Answer<T> {
  readonly status: number;
  /** The JSON body (null when there is none or it is not JSON). */
  readonly body: T;
  readonly ms: number;
}

/** One request under /api/v1 as `token`, answered whatever its status. */
export async function send<T = Record<string, unknown>>(pool: LivePool, token: string, method: string, path: string, body?: unknown): Promise<Answer<T>> {
  const t0 = performance.now();
  const res = await fetch(`${pool.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, body: json as T, ms: performance.now() - t0 };
}

/** An org (created if new) with a site of `capacity` and that site's agent token; no WAN links. */
export async function orgSite(pool: LivePool, orgId: string, capacity: readonly { gpu_type: string; nodes: number; gpus_per_node: number }[]): Promise<{ siteId: string; token: string }> {
  const orgs = await pool.client.call<{ orgs: { id: string }[] }>('GET', '/orgs');
  if (!orgs.orgs.some((o) => o.id === orgId)) await pool.client.call('POST', '/orgs', { id: orgId, name: orgId });
  const site = await pool.client.call<{ id: string }>('POST', '/sites', { name: `${orgId} lab`, org_id: orgId, capacity });
  const token = await pool.client.call<{ token: string }>('POST', '/tokens', { name: `${orgId} agent`, role: 'agent', org_id: orgId, site_id: site.id });
  return { siteId: site.id, token: token.token };
}

/** A job of `orgId` submitted by the pool's admin; returns its id. */
export async function submitAs(pool: LivePool, orgId: string, gpus: number, command: readonly string[], extra: Record<string, unknown> = {}): Promise<string> {
  return JobResponse.parse(await pool.client.call('POST', '/jobs', { name: 'j', org_id: orgId, gpus, estimate_s: 60, command, ...extra })).id;
}

export interface RunningAgent {
  readonly agent: Agent;
  readonly executor: LocalExecutor;
  /** Its work dir (runs, logs, lease.json). */
  readonly dir: string;
}

/** Real agents with the local executor, each in its own dir under one temp dir. */
export class AgentFleet {
  readonly dir = mkdtempSync(join(tmpdir(), 'suanli-adversarial-'));
  private readonly started: RunningAgent[] = [];

  constructor(private readonly pool: LivePool) {}

  /** Starts an agent in `<dir>/<name>` (the same name again: the same work dir, as a restarted agent). */
  async start(name: string, extra: LocalAgentExtra = {}): Promise<RunningAgent> {
    const dir = join(this.dir, name);
    const a = { ...localAgent(this.pool, dir, extra), dir };
    this.started.push(a);
    await a.agent.start();
    return a;
  }

  /** Stops every agent, stops what their executors still run, and removes the dir. */
  async close(): Promise<void> {
    for (const a of this.started.splice(0)) {
      await a.agent.stop();
      for (const r of await a.executor.list()) await a.executor.cancel(r.handle);
      await a.executor.close();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A live pool (LivePool.start's arguments) with agents of the pool's site started in it, by name. */
export interface SceneOptions {
  readonly server?: Partial<ServerOptions>;
  readonly capacity?: { gpu_type: string; nodes: number; gpus_per_node: number }[];
  readonly configure?: (app: Api) => void;
  readonly agents?: readonly string[];
}

/**
 * The scene of one `describe`: its `before` starts a live pool (and the agents named),
 * its `after` stops them all and removes their dirs. Read `pool` and `fleet` in tests.
 */
export function liveScene(o: SceneOptions = {}): { readonly pool: LivePool; readonly fleet: AgentFleet } {
  const scene = {} as { pool: LivePool; fleet: AgentFleet };
  before(async () => {
    scene.pool = await LivePool.start(o.server, undefined, o.capacity, o.configure);
    scene.fleet = new AgentFleet(scene.pool);
    for (const name of o.agents ?? []) await scene.fleet.start(name);
  });
  after(async () => {
    await scene.fleet.close();
    await scene.pool.close();
  });
  return scene;
}
