// A live pool for looking at the dashboard: a control plane in this process (in memory,
// its scheduling loop on timers) serving a build of the dashboard, with three orgs' sites
// (one lost), a job placed, a job waiting for more GPUs than the pool has (with the
// scheduler's diagnosis) and one cancelled; no agent, so what is placed stays placed.
// And every view of the dashboard, each with what it takes to show it filled in. What
// `npm run screenshots` photographs and the browser tests of every view walk through.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { buildServer } from '../src/server/app.ts';
import type { Api } from '../src/server/control-plane.ts';
import { openStore } from '../src/store/index.ts';

export const LANGUAGES = ['en', 'zh-CN'] as const;
export type Language = (typeof LANGUAGES)[number];
/** A desk's window and a phone's. */
export const WIDTHS = [1400, 400] as const;

export interface DashboardScene {
  readonly url: string;
  readonly adminToken: string;
  /** A job placed on acme's site, and one of beta's that waits (too large for any site). */
  readonly placedJob: string;
  readonly waitingJob: string;
  /** acme's site, where the placed job runs. */
  readonly siteId: string;
  close(): Promise<void>;
}

/** Starts the pool on a free loopback port, serving the dashboard built into `webRoot`. */
export async function startScene(webRoot: string): Promise<DashboardScene> {
  const store = await openStore({ memory: true });
  const app: Api = await buildServer({ store, webRoot, passIntervalMs: 100, poolSampleMs: 500 });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const adminToken = app.suanli.adminToken ?? '';
  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const job = async (body: Record<string, unknown>) => (await call<{ id: string }>('POST', '/jobs', { estimate_s: 3600, command: ['true'], ...body })).id;
  const state = async (id: string) => (await call<{ state: string }>('GET', `/jobs/${id}`)).state;
  let placedJob = '';
  let waitingJob = '';
  let siteId = '';
  try {
    for (const [id, name] of [['acme', 'Acme Research'], ['beta', 'Beta Labs'], ['delta', 'Delta Compute']]) await call('POST', '/orgs', { id, name });
    siteId = (await call<{ id: string }>('POST', '/sites', { name: 'acme lab', org_id: 'acme', capacity: [{ gpu_type: 'h100', nodes: 2, gpus_per_node: 8 }] })).id;
    await call('POST', '/sites', { name: 'beta cloud', org_id: 'beta', capacity: [{ gpu_type: 'a100', nodes: 1, gpus_per_node: 8 }] });
    const lost = await call<{ id: string }>('POST', '/sites', { name: 'delta lab', org_id: 'delta', capacity: [{ gpu_type: 'h100', nodes: 1, gpus_per_node: 4 }] });
    await app.suanli.sites.setSiteHealth(lost.id, 'lost');
    placedJob = await job({ name: 'video-dit-finetune', org_id: 'acme', gpus: 8, gpu_types: ['h100'] });
    waitingJob = await job({ name: 'pretrain-14b', org_id: 'beta', gpus: 64 });
    const cancelled = await job({ name: 'sweep-lr', org_id: 'beta', gpus: 2 });
    await call('POST', `/jobs/${cancelled}/cancel`);
    const deadline = Date.now() + 20_000;
    while ((await state(placedJob)) !== 'placed' || (await call<{ diagnosis: unknown }>('GET', `/jobs/${waitingJob}`)).diagnosis === null) {
      if (Date.now() > deadline) throw new Error('the scene’s jobs were not scheduled within 20 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await app.close();
    await store.close();
    throw err;
  }
  return {
    url, adminToken, placedJob, waitingJob, siteId,
    close: async () => {
      await app.close();
      await store.close();
    },
  };
}

/** One view of the dashboard: where it is, and what makes it show what it is for once it has opened. */
export interface DashboardView {
  readonly name: string;
  /** Its path; null for the sign-in page (shown at any path when signed out). */
  readonly path: (scene: DashboardScene) => string | null;
  readonly fill?: (page: Page) => Promise<void>;
}

const SIMULATE_REPORT = join(import.meta.dirname, '..', 'web', 'src', 'model', 'fixtures', 'simulate.json');

export const VIEWS: readonly DashboardView[] = [
  { name: 'sign-in', path: () => null },
  { name: 'pool', path: () => '/' },
  { name: 'jobs', path: () => '/jobs' },
  { name: 'job', path: (s) => `/jobs/${s.waitingJob}` },
  { name: 'submit', path: () => '/jobs/new' },
  { name: 'ledger', path: () => '/ledger' },
  { name: 'sites', path: () => '/sites' },
  { name: 'site', path: (s) => `/sites/${s.siteId}` },
  { name: 'admin-orgs', path: () => '/admin/orgs' },
  { name: 'admin-sites', path: () => '/admin/sites' },
  { name: 'admin-tokens', path: () => '/admin/tokens' },
  {
    name: 'planner', path: () => '/plan',
    fill: async (page) => {
      await page.locator('main form button[type="submit"]').click();
      await page.locator('.plan-result').waitFor();
    },
  },
  {
    name: 'simulation-report', path: () => '/simulate',
    fill: async (page) => {
      await page.locator('main input[type="file"]').setInputFiles({ name: 'results.json', mimeType: 'application/json', buffer: readFileSync(SIMULATE_REPORT) });
      await page.locator('main table').first().waitFor();
    },
  },
];

/**
 * Opens `view` on a page signed in as the admin (or, for the sign-in page, signed out) and waits
 * until it shows what it is for: its heading, no "loading", what `fill` does, every chart drawn.
 */
export async function openView(page: Page, scene: DashboardScene, view: DashboardView): Promise<void> {
  const path = view.path(scene);
  await page.goto(`${scene.url}${path ?? '/'}`);
  const form = page.locator('#sign-in-token');
  if (path === null) {
    // Once a session kept in the tab is checked (it would save its token again), forget it.
    await page.locator('main h1').waitFor();
    await page.evaluate(() => sessionStorage.clear());
    await page.reload();
    await form.waitFor();
    return;
  }
  // Signed out (a new tab): the sign-in page (in whatever language it shows), then the view again.
  await page.locator('main h1').waitFor();
  if ((await form.count()) > 0) {
    await form.fill(scene.adminToken);
    await page.locator('main form button[type="submit"]').click();
    await page.locator('header nav').waitFor({ state: 'attached' });
    await page.goto(`${scene.url}${path}`);
    await page.locator('main h1').waitFor();
  }
  await page.waitForFunction(() => document.querySelector('main .load-status [role="status"]') === null);
  await view.fill?.(page);
  await page.waitForFunction(() => [...document.querySelectorAll('.chart-canvas')].every((c) => c.querySelector('svg') !== null));
}
