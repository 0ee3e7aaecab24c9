// Accessibility of every view (issue 19): axe-core (Deque's rules engine, run inside the
// page) on each view of the dashboard — sign-in, pool, jobs, a job, submit, ledger, sites, a site, the admin's orgs, sites and tokens,
// planner with an answer, simulation report with a report — at 1400 and 400 px wide, in
// English and Chinese, against the live pool of scripts/dashboard-scene.ts, in Debian's
// headless Chromium. A violation of impact "serious" or "critical" fails, named with the
// elements at fault; lesser ones are left to a reviewer.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import axe from 'axe-core';
import type { Browser } from 'playwright-core';
import { LANGUAGES, openView, startScene, VIEWS, WIDTHS, type DashboardScene } from '../scripts/dashboard-scene.ts';
import { buildDashboard, chromiumMissing, launchChromium, skipWithoutChromium } from './support/browser.ts';

const missing = chromiumMissing();

/** What axe reports of one rule broken, as much as a failure message needs. */
interface Violation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly { readonly target: readonly unknown[] }[];
}

describe('every view passes axe-core without a serious or critical violation', () => {
  let webRoot = '';
  let scene: DashboardScene | undefined;
  let browser: Browser | undefined;

  before(async () => {
    if (missing !== undefined) return;
    webRoot = mkdtempSync(join(tmpdir(), 'suanli-web-a11y-'));
    await buildDashboard(webRoot);
    scene = await startScene(webRoot);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await scene?.close();
    if (webRoot !== '') rmSync(webRoot, { recursive: true, force: true });
  });

  for (const language of LANGUAGES) {
    for (const width of WIDTHS) {
      test(`${language} at ${width} px`, async (t: TestContext) => {
        if (missing !== undefined) return skipWithoutChromium(t, missing);
        assert.ok(scene !== undefined && browser !== undefined);
        const context = await browser.newContext({ viewport: { width, height: 900 }, locale: language });
        const page = await context.newPage();
        page.setDefaultTimeout(20_000);
        const found: string[] = [];
        try {
          for (const view of VIEWS) {
            await openView(page, scene, view);
            assert.equal(await page.evaluate(() => document.documentElement.lang), language, `${view.name}: the page says its language`);
            await page.addScriptTag({ content: axe.source });
            const violations = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations);
            for (const v of violations as readonly Violation[]) {
              if (v.impact === 'serious' || v.impact === 'critical') found.push(`${view.name}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`);
            }
          }
        } finally {
          await context.close();
        }
        assert.deepEqual(found, []);
      });
    }
  }
});

declare global {
  interface Window {
    readonly axe: typeof axe;
  }
}
