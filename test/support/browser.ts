// Headless Chromium for the dashboard's end-to-end tests: Debian's package
// (`apt-get install chromium`, which .ci/run does) driven by playwright-core, never
// a browser Playwright downloads. Without it the tests are skipped with a message
// saying how to install it, except under CI=true, where its absence is a failure.
// Also builds the dashboard with Vite's API, into a directory the test chooses.
import type { TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { buildDashboard, chromiumMissing, launchChromium } from '../../scripts/browser.ts';

export { buildDashboard, chromiumMissing, launchChromium };

/** Marks `t` skipped, saying why; under CI=true, fails it instead. */
export function skipWithoutChromium(t: TestContext, why: string): void {
  if (process.env.CI === 'true') throw new Error(`Chromium missing under CI: ${why}`);
  t.skip(`skipped: ${why}`);
}

/**
 * A new page `width` px wide (900 high) in US English, waiting 20 s at most for what a step
 * awaits; its console errors and uncaught exceptions go to `errors`, which a test checks is empty.
 */
export async function openPage(browser: Browser, width: number, errors: string[]): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 }, locale: 'en-US' });
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
