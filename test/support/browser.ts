// Headless Chromium for the dashboard's end-to-end tests: Debian's package
// (`apt-get install chromium`, which .ci/run does) driven by playwright-core, never
// a browser Playwright downloads. Without it the tests are skipped with a message
// saying how to install it, except under CI=true, where its absence is a failure.
// Also builds the dashboard with Vite's API, into a directory the test chooses, and serves a fresh build from a
// live pool of two orgs' sites with their agents (twoSiteDashboard).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { buildDashboard, chromiumMissing, launchChromium } from '../../scripts/browser.ts';
import { LivePool, localAgent } from './live-pool.ts';

export { buildDashboard, chromiumMissing, launchChromium };

/** Marks `t` skipped, saying why; under CI=true, fails it instead. */
export function skipWithoutChromium(t: TestContext, why: string): void {
  if (process.env.CI === 'true') throw new Error(`Chromium missing under CI: ${why}`);
  t.skip(`skipped: ${why}`);
}

/**
 * A new page `width` px wide (900 high) in `locale` (US English by default), waiting 20 s at most for what a step
 * awaits; its console errors and uncaught exceptions go to `errors`, which a test checks is empty.
 */
export async function openPage(browser: Browser, width: number, errors: string[], locale = 'en-US'): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 }, locale });
  page.setDefaultTimeout(20_000);
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()} ${m.location().url}`);
  });
  page.on('pageerror', (e) => errors.push(`exception: ${e.message}`));
  return page;
}

/** Unfolds the header's navigation and tools, behind the Menu button on a narrow screen (nothing to do on a wide one). */
export async function unfoldHeader(page: Page): Promise<void> {
  const menu = page.locator('.menu-button');
  if ((await menu.isVisible()) && (await menu.getAttribute('aria-expanded')) === 'false') await menu.click();
}

/** Nothing wider than the window: a table or chart scrolls in its own frame, the page never sideways (else: what sticks out, to say where to look). */
export async function assertFitsWidth(page: Page): Promise<void> {
  const overflow = await page.evaluate(() => {
    if (document.documentElement.scrollWidth <= window.innerWidth) return null;
    const wide = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1);
    return `the page is ${document.documentElement.scrollWidth} px wide in a ${window.innerWidth} px window: ${wide.slice(0, 8).map((e) => `${e.tagName.toLowerCase()}.${String(e.className)}`).join(', ')}`;
  });
  if (overflow !== null) throw new Error(overflow);
}

/** The language switch's label in each language. */
const LANGUAGE_LABEL = { en: 'Language', 'zh-CN': '语言' } as const;

/** Switches the dashboard to `locale` with its language switch, found by its label in whichever language shows now. */
export async function speak(page: Page, locale: keyof typeof LANGUAGE_LABEL): Promise<void> {
  // At 400 px the language switch is behind the folded header's menu.
  await unfoldHeader(page);
  const other = locale === 'en' ? 'zh-CN' : 'en';
  const current = (await page.getByLabel(LANGUAGE_LABEL[locale], { exact: true }).count()) > 0 ? locale : other;
  await page.getByLabel(LANGUAGE_LABEL[current], { exact: true }).selectOption(locale);
}

/** A live pool of two orgs' sites with their agents, serving a fresh build of the dashboard, and a headless Chromium. */
export interface TwoSiteDashboard {
  readonly pool: LivePool;
  readonly beta: { readonly siteId: string; readonly token: string };
  readonly browser: Browser;
  /** Closes the browser, stops the agents and the pool, and removes the build and the agents' directories. */
  readonly close: () => Promise<void>;
}

/**
 * The dashboard's production build (in a temporary directory named after `name`) served by a live pool of two orgs'
 * sites of 8 h100 each, as test/span-live.test.ts sets them up: acme's (the pool's own) and beta's, joined by a WAN
 * link, their borrowed runs on the host's network (a spanning job's parts on lent GPUs must reach each other), each
 * with a started agent; and Debian's headless Chromium to drive it.
 */
export async function twoSiteDashboard(name: string): Promise<TwoSiteDashboard> {
  const [webRoot, workDir] = [mkdtempSync(join(tmpdir(), `suanli-${name}-`)), mkdtempSync(join(tmpdir(), `suanli-${name}-agents-`))];
  const agents: ReturnType<typeof localAgent>[] = [];
  let pool: LivePool | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    for (const a of agents) {
      await a.agent.stop();
      await a.executor.close();
    }
    await pool?.close();
    for (const dir of [webRoot, workDir]) rmSync(dir, { recursive: true, force: true });
  };
  try {
    await buildDashboard(webRoot);
    pool = await LivePool.start({ webRoot });
    const beta = await pool.addSite('beta', 'beta lab', [{ to_site: pool.siteId, gbps: 10, latency_ms: 5 }]);
    await pool.hostNetworkForBorrowed(pool.siteId, beta.siteId);
    for (const [org, token] of [['acme', pool.agentToken], ['beta', beta.token]] as const) {
      const a = localAgent(pool, join(workDir, org), { token });
      agents.push(a);
      await a.agent.start();
    }
    browser = await launchChromium();
    return { pool, beta, browser, close };
  } catch (err) {
    await close();
    throw err;
  }
}
