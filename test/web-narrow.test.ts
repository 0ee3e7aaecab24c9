// The dashboard at 400 px (issue 19), in Debian's headless Chromium against the live pool
// of scripts/dashboard-scene.ts: no view scrolls sideways, in English or Chinese; the
// header folds behind a menu button that works from the keyboard; an API refusal reads
// in Chinese with the server's own words kept; dates stay on one line; the pool's history
// range. And `npm run screenshots` writes a PNG of every view at both widths in both languages.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { LANGUAGES, openView, startScene, VIEWS, WIDTHS, type DashboardScene, type Language } from '../scripts/dashboard-scene.ts';
import { shotName, takeScreenshots } from '../scripts/screenshots.ts';
import { buildDashboard, chromiumMissing, launchChromium, skipWithoutChromium } from './support/browser.ts';

const missing = chromiumMissing();

describe('the dashboard at 400 px', () => {
  let webRoot = '';
  let scene: DashboardScene | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];

  before(async () => {
    if (missing !== undefined) return;
    webRoot = mkdtempSync(join(tmpdir(), 'suanli-web-narrow-'));
    await buildDashboard(webRoot);
    scene = await startScene(webRoot);
    browser = await launchChromium();
  });

  after(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await scene?.close();
    if (webRoot !== '') rmSync(webRoot, { recursive: true, force: true });
  });

  /** A 400 px page in `language`, signed in as the admin on the pool page. */
  const narrowPage = async (language: Language): Promise<{ page: Page; s: DashboardScene }> => {
    assert.ok(scene !== undefined && browser !== undefined);
    const context = await browser.newContext({ viewport: { width: 400, height: 800 }, locale: language });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    await openView(page, scene, VIEWS.find((v) => v.name === 'pool') ?? VIEWS[0]!);
    return { page, s: scene };
  };
  const run = (steps: () => Promise<void>) => async (t: TestContext) => {
    if (missing !== undefined) return skipWithoutChromium(t, missing);
    await steps();
  };

  for (const language of LANGUAGES) {
    test(`no view scrolls sideways, in ${language}`, run(async () => {
      const { page, s } = await narrowPage(language);
      const wide: string[] = [];
      for (const view of VIEWS) {
        await openView(page, s, view);
        const overflow = await page.evaluate(() => {
          if (document.documentElement.scrollWidth <= window.innerWidth) return null;
          const out = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1);
          return `${document.documentElement.scrollWidth} px: ${out.slice(0, 6).map((e) => `${e.tagName.toLowerCase()}.${String(e.className)}`).join(', ')}`;
        });
        if (overflow !== null) wide.push(`${view.name}: ${overflow}`);
      }
      assert.deepEqual(wide, []);
    }));
  }

  test('the header folds behind a menu button that works from the keyboard', run(async () => {
    const { page } = await narrowPage('en');
    const menu = page.getByRole('button', { name: 'Menu' });
    const jobsLink = page.getByRole('navigation').getByRole('link', { name: 'Jobs', exact: true });
    assert.equal(await menu.getAttribute('aria-expanded'), 'false');
    assert.equal(await jobsLink.isVisible(), false, 'the navigation is folded');
    // The page's heading has the focus; back one step: the menu button (the folded links take none).
    assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1');
    await page.keyboard.press('Shift+Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-expanded')), 'false', 'the menu button has the focus');
    await page.keyboard.press('Enter');
    assert.equal(await menu.getAttribute('aria-expanded'), 'true');
    assert.ok(await jobsLink.isVisible(), 'the navigation shows');
    // Escape folds it and gives the focus back to the button.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Escape');
    assert.equal(await menu.getAttribute('aria-expanded'), 'false');
    assert.equal(await page.evaluate(() => document.activeElement?.classList.contains('menu-button')), true);
    // Open again, Tab to "Jobs" and follow it: another page, the menu folded.
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Jobs');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor();
    assert.equal(await menu.getAttribute('aria-expanded'), 'false');
    assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1', 'the new page’s heading has the focus');
  }));

  test('in Chinese, an API refusal says what went wrong in Chinese and keeps the server’s words', run(async () => {
    const { page, s } = await narrowPage('zh-CN');
    await page.goto(`${s.url}/jobs/99999`);
    const note = page.getByRole('alert');
    await note.getByText('未找到，或您无权查看。').waitFor();
    assert.match(await note.innerText(), /服务器原文：\s*job "99999" not found/);
    assert.equal(await note.locator('[lang="en"]').innerText(), 'job "99999" not found');
  }));

  test('dates stay on one line in the jobs table, in both languages', run(async () => {
    for (const language of LANGUAGES) {
      const { page, s } = await narrowPage(language);
      await openView(page, s, VIEWS.find((v) => v.name === 'jobs') ?? VIEWS[0]!);
      // The submission time's cell of each row: its text's line boxes all share one top.
      const lines = await page.evaluate(() =>
        [...document.querySelectorAll('main tbody tr')].map((tr) => {
          const cell = [...tr.children].find((c) => /\d{2}:\d{2}:\d{2}/.test(c.textContent ?? ''));
          if (cell === undefined) return -1;
          const range = document.createRange();
          range.selectNodeContents(cell);
          return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
        }),
      );
      assert.ok(lines.length >= 3, `${language}: the scene's jobs`);
      assert.deepEqual(lines, lines.map(() => 1), `${language}: each date on one line`);
    }
  }));

  test('the pool’s history range: a labelled choice, by keyboard', run(async () => {
    const { page } = await narrowPage('zh-CN');
    const group = page.getByRole('group', { name: '显示的历史' });
    assert.ok(await group.getByRole('radio', { name: '服务器保留的全部' }).isChecked());
    await group.getByRole('radio', { name: '服务器保留的全部' }).focus();
    await page.keyboard.press('ArrowLeft');
    assert.ok(await group.getByRole('radio', { name: '最近 24 小时' }).isChecked(), 'arrow keys move the choice');
    await page.locator('.chart-canvas svg').nth(1).waitFor();
  }));
});

test('npm run screenshots writes a PNG of every view at both widths in both languages', async (t) => {
  if (missing !== undefined) return skipWithoutChromium(t, missing);
  const help = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'scripts', 'screenshots.ts'), '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--out DIR/);
  const bad = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'scripts', 'screenshots.ts'), '--nope'], { encoding: 'utf8' });
  assert.equal(bad.status, 2, 'an unknown option is refused');
  assert.match(bad.stderr, /nope/);
  const out = mkdtempSync(join(tmpdir(), 'suanli-shots-'));
  try {
    const wrote: string[] = [];
    await takeScreenshots(out, (p) => wrote.push(p));
    const expected = VIEWS.flatMap((v) => LANGUAGES.flatMap((l) => WIDTHS.map((w) => shotName(v.name, l, w)))).sort();
    assert.equal(expected.length, 13 * 2 * 2, 'thirteen views, two languages, two widths');
    assert.deepEqual(readdirSync(out).sort(), expected);
    assert.deepEqual(wrote.map((p) => p.slice(out.length + 1)).sort(), expected, 'and says so');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
