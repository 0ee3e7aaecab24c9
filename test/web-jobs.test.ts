// The jobs list as a daily tool (issue 19), in Debian's headless Chromium against a live
// control plane (in-process, on an in-memory store, a local agent running the jobs): after
// a run of jobs has finished the list still shows them, newest first, with who submitted
// each (by token name), where and when it ran and for how long; it searches and sorts;
// bulk cancel cancels the chosen jobs and says which it could not; a job's page names its
// submitter and resubmits a copy. In English and Chinese, at 1400 px and at 400 px, where
// the wide table scrolls in its own box (with a cue) and the page does not. Screenshots go
// to test-artifacts/web/ (jobs-*.png).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Agent } from '../src/agent/agent.ts';
import { ControlPlaneClient } from '../src/agent/control-plane-client.ts';
import type { LocalExecutor } from '../src/executors/local.ts';
import { JobResponse } from '../src/server/schemas.ts';
import { buildDashboard, chromiumMissing, launchChromium, openPage, skipWithoutChromium, unfoldHeader } from './support/browser.ts';
import { LivePool, localAgent } from './support/live-pool.ts';

const ARTIFACTS = join(import.meta.dirname, '..', 'test-artifacts', 'web');
const missing = chromiumMissing();

describe('the jobs list and a job’s page as daily tools, in headless Chromium against a live control plane', () => {
  let webRoot = '';
  let workDir = '';
  let pool: LivePool | undefined;
  let agent: Agent | undefined;
  let executor: LocalExecutor | undefined;
  let browser: Browser | undefined;
  let page: Page;
  /** acme's member token "alice laptop": who submits the jobs. */
  let alice: ControlPlaneClient | undefined;
  /** Jobs alice submitted that have finished, oldest first. */
  const finished: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    if (missing !== undefined) return;
    webRoot = mkdtempSync(join(tmpdir(), 'suanli-web-jobs-'));
    workDir = mkdtempSync(join(tmpdir(), 'suanli-web-jobs-agent-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    await buildDashboard(webRoot);
    pool = await LivePool.start({ webRoot });
    ({ agent, executor } = localAgent(pool, workDir));
    await agent.start();
    const member = await pool.client.call<{ token: string }>('POST', '/tokens', { name: 'alice laptop', role: 'member', org_id: 'acme' });
    alice = new ControlPlaneClient({ server: pool.url, token: member.token });
    browser = await launchChromium();
    page = await openPage(browser, 1400, pageErrors);
  });

  after(async () => {
    await browser?.close();
    await agent?.stop();
    await executor?.close();
    await pool?.close();
    for (const dir of [webRoot, workDir]) if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  const inBrowser = (steps: (pool: LivePool, alice: ControlPlaneClient) => Promise<void>) => async (t: TestContext) => {
    if (missing !== undefined) return skipWithoutChromium(t, missing);
    assert.ok(pool !== undefined && alice !== undefined);
    await steps(pool, alice);
  };

  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `jobs-${name}.png`), fullPage: true });
  const heading = (name: string) => page.getByRole('heading', { level: 1, name }).waitFor();
  const nav = (name: string) => page.getByRole('navigation').getByRole('link', { name, exact: true }).click();
  const submit = async (as: ControlPlaneClient, name: string, command: string[], gpus = 1) => JobResponse.parse(await as.call('POST', '/jobs', { name, gpus, estimate_s: 60, command })).id;
  /** The job ids of the list's rows, top to bottom. */
  const rowIds = () => page.locator('table tbody tr th[scope="row"] a').allInnerTexts();
  /** The cells of a job's row, by column header, as shown. */
  const cellsOf = async (id: string): Promise<Record<string, string>> =>
    page.evaluate((jobId) => {
      const table = document.querySelector('table');
      const heads = [...(table?.querySelectorAll('thead th') ?? [])].map((th) => (th.querySelector('button')?.firstChild?.textContent ?? th.textContent ?? '').trim());
      const row = [...(table?.querySelectorAll('tbody tr') ?? [])].find((tr) => tr.querySelector('th a')?.textContent === jobId);
      return Object.fromEntries([...(row?.children ?? [])].map((cell, i) => [heads[i] ?? String(i), (cell as HTMLElement).innerText.trim()]));
    }, id);
  /** What sticks out past the window's right edge (the page then scrolls sideways): none, or the elements, to say which. */
  const pageScrollsSideways = () =>
    page.evaluate(() => {
      const width = document.documentElement.clientWidth;
      if (document.documentElement.scrollWidth <= width) return false;
      return [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > width + 1 && el.closest('.table-wrap') === null)
        .map((el) => `${el.tagName.toLowerCase()}.${el.className}: ${Math.round(el.getBoundingClientRect().right)} px`)
        .join('; ');
    });

  test('after every job has finished, the list opens on them, newest first, with user, sites, start, end and run time', inBrowser(async (p, as) => {
    for (const name of ['nightly-render-1', 'nightly-render-2', 'train-small']) finished.push(await submit(as, name, ['sh', '-c', 'sleep 1']));
    for (const id of finished) await p.until(id, 'succeeded');
    await page.goto(p.url);
    await page.getByLabel('API token').fill(p.admin);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await heading('Pool overview');
    await nav('Jobs');
    await heading('Jobs');
    await page.getByRole('row', { name: /train-small/ }).waitFor();
    assert.equal(await page.getByText('No job matches.').count(), 0, 'finished jobs are shown by default');
    assert.deepEqual(await rowIds(), [...finished].reverse(), 'newest first');
    assert.equal(await page.locator('thead th').nth(1).getAttribute('aria-sort'), 'descending', 'the ID column says so');
    const cells = await cellsOf(finished[0] ?? '');
    assert.equal(cells.User, 'alice laptop', 'the token’s name, not its id');
    assert.equal(cells.Sites, 'acme lab');
    assert.equal(cells.State, 'Succeeded');
    assert.match(cells.Start ?? '', /\d{2}:\d{2}/);
    assert.match(cells.End ?? '', /\d{2}:\d{2}/);
    assert.match(cells['Run time'] ?? '', /^[\d.]+ sec$/);
    assert.equal(await pageScrollsSideways(), false);
    await shot('01-list-after-runs-en-1400');
  }));

  test('search narrows to a part of the name, in any case, and keeps it in the URL; sorting a column says so', inBrowser(async () => {
    await page.getByLabel('Search by ID or name').fill('RENDER');
    await page.waitForURL(/\/jobs\?q=RENDER$/);
    await page.waitForFunction(() => document.querySelectorAll('table tbody tr').length === 2);
    assert.deepEqual(await rowIds(), [finished[1], finished[0]]);
    await page.getByLabel('Search by ID or name').fill('no-such-job');
    await page.getByText('No job matches.').waitFor();
    await page.getByLabel('Search by ID or name').fill('');
    await page.waitForURL(/\/jobs$/);
    await page.waitForFunction(() => document.querySelectorAll('table tbody tr').length === 3);
    // Sort by name: ascending, then descending; the header says which, and the arrow shows it.
    const name = page.getByRole('button', { name: 'Name', exact: true });
    await name.click();
    const header = page.locator('thead th', { has: name });
    assert.equal(await header.getAttribute('aria-sort'), 'ascending');
    assert.equal(await page.locator('thead th').nth(1).getAttribute('aria-sort'), null, 'the ID column is no longer the sorted one');
    assert.deepEqual(await rowIds(), finished, 'nightly-render-1, nightly-render-2, train-small');
    await name.press('Enter');
    assert.equal(await header.getAttribute('aria-sort'), 'descending', 'the keyboard sorts too');
    assert.deepEqual(await rowIds(), [...finished].reverse());
    assert.equal(await header.locator('.sort-cue').innerText(), '▼');
    await shot('02-sorted-by-name-en-1400');
  }));

  test('bulk cancel: the chosen jobs, after one confirmation; one that could not be cancelled is named with why', inBrowser(async (p, as) => {
    const long = await submit(as, 'long-run', ['sh', '-c', 'sleep 600']);
    const waiting = await submit(as, 'too-big', ['true'], 64);
    const gone = await submit(as, 'soon-gone', ['sh', '-c', 'sleep 600'], 64);
    await p.until(long, 'running');
    await page.getByRole('row', { name: /soon-gone/ }).waitFor();
    for (const id of [long, waiting, gone]) await page.getByLabel(`Select job ${id}`).check();
    assert.equal(await page.getByLabel(`Select job ${finished[0] ?? ''}`).count(), 0, 'a finished job has no checkbox');
    // Cancelled elsewhere just before the page's own cancel of it reaches the server, which refuses that one.
    await page.route(`**/api/v1/jobs/${gone}/cancel`, async (route) => {
      await p.client.call('POST', `/jobs/${gone}/cancel`);
      await route.continue();
    });
    await page.getByRole('button', { name: 'Cancel selected jobs (3)' }).click();
    await page.getByText(`Cancel these jobs: ${[gone, waiting, long].join(', ')}?`).waitFor();
    const yes = page.getByRole('button', { name: 'Yes, cancel them' });
    assert.equal(await yes.evaluate((b) => b === document.activeElement), true, 'the confirming button has the focus');
    await shot('03-bulk-cancel-confirm-en-1400');
    await yes.click();
    await page.getByRole('status').getByText('Cancelled: 2.').waitFor();
    const refused = page.getByRole('alert');
    await refused.getByText('Not cancelled: 1.').waitFor();
    assert.match(await refused.innerText(), new RegExp(`Job ${gone}: .+`));
    for (const id of [long, waiting]) await p.until(id, 'cancelled');
    await page.getByRole('row', { name: /long-run/ }).getByText('Cancelled').waitFor();
    assert.equal(await page.getByRole('button', { name: /^Cancel selected jobs/ }).count(), 0, 'nothing left to cancel: no button');
    await refused.getByText(`Job ${gone}:`).waitFor();
    await shot('04-bulk-cancel-done-en-1400');
    // The browser logs the refused request itself; that one is expected.
    assert.deepEqual(pageErrors.filter((e) => !e.includes(`/jobs/${gone}/cancel`)), [], 'no other console error');
    pageErrors.length = 0;
  }));

  test('a job’s page names its submitter by token name and resubmits a copy, which it opens', inBrowser(async (p) => {
    const original = finished[2] ?? '';
    await page.getByRole('link', { name: original, exact: true }).click();
    await heading(`Job ${original}: train-small`);
    assert.match(await page.locator('dl.facts').nth(1).innerText(), /Submitted by\s+alice laptop \(token [0-9a-f]+\)/);
    await page.getByRole('button', { name: 'Resubmit a copy' }).click();
    await page.waitForURL((url) => /\/jobs\/\d+$/.test(url.pathname) && !url.pathname.endsWith(`/${original}`));
    const copy = new URL(page.url()).pathname.split('/').pop() ?? '';
    await heading(`Job ${copy}: train-small`);
    const [a, b] = [await p.job(original), await p.job(copy)];
    const spec = (j: typeof a) => ({ name: j.name, org: j.org_id, gpus: j.gpus, types: j.gpu_types, command: j.command, estimate: j.estimate_s, retries: j.max_retries, plan: j.plan, span: j.span });
    assert.deepEqual(spec(b), spec(a), 'the same spec');
    assert.notEqual(b.submitted_by, a.submitted_by, 'submitted by the admin this time');
    await p.until(copy, 'succeeded');
    // A second copy is a new job, not the first copy again (a fresh Idempotency-Key).
    await page.getByRole('button', { name: 'Resubmit a copy' }).click();
    await page.waitForURL((url) => /\/jobs\/\d+$/.test(url.pathname) && !url.pathname.endsWith(`/${copy}`));
    assert.ok(Number(new URL(page.url()).pathname.split('/').pop()) > Number(copy));
    await shot('05-resubmitted-en-1400');
  }));

  test('in Chinese at 1400 px: the columns, the search and the bulk cancel speak it', inBrowser(async () => {
    await page.getByLabel('Language').selectOption('zh-CN');
    await nav('作业');
    await heading('作业');
    await page.getByRole('row', { name: /train-small/ }).first().waitFor();
    const heads = await page.locator('thead th').allInnerTexts();
    for (const h of ['用户', '站点', '开始', '结束', '运行时长']) assert.ok(heads.some((x) => x.includes(h)), `${h} in ${heads.join(' | ')}`);
    await page.getByLabel('按编号或名称搜索').waitFor();
    assert.equal((await cellsOf(finished[0] ?? '')).用户, 'alice laptop');
    assert.equal(await pageScrollsSideways(), false);
    await shot('06-list-zh-1400');
  }));

  for (const [locale, search, cue] of [['zh-CN', '按编号或名称搜索', '表格比屏幕宽'], ['en', 'Search by ID or name', 'Wider than the screen']] as const) {
    test(`at 400 px (${locale}): the table scrolls sideways in its own box, with a cue, and the page does not`, inBrowser(async () => {
      await page.setViewportSize({ width: 400, height: 800 });
      if (locale === 'en') {
        await unfoldHeader(page);
        await page.getByLabel('语言').selectOption('en');
      }
      await page.getByLabel(search).waitFor();
      await page.getByText(cue).waitFor();
      assert.equal(await pageScrollsSideways(), false, 'the page itself stays within the screen');
      const frame = page.locator('.table-wrap');
      const [scrollWidth, clientWidth] = await frame.evaluate((el) => [el.scrollWidth, el.clientWidth]);
      assert.ok(scrollWidth > clientWidth, `the table is wider than its box (${scrollWidth} > ${clientWidth})`);
      assert.equal(await frame.getAttribute('tabindex'), '0', 'the keyboard can reach and scroll it');
      await frame.focus();
      await page.keyboard.press('ArrowRight');
      await page.waitForFunction(() => (document.querySelector('.table-wrap')?.scrollLeft ?? 0) > 0);
      await shot(`07-list-${locale}-400`);
      await page.setViewportSize({ width: 1400, height: 900 });
      assert.deepEqual(pageErrors, [], 'no console error or exception');
    }));
  }
});
