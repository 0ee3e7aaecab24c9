// The web dashboard end to end: its production build, served by a real control plane
// (in-process, listening, on an in-memory store, its scheduling loop on timers) with
// a site whose agent runs jobs through the local executor, driven in Debian's headless
// Chromium. Signs in with the admin token, submits a job, watches it be placed and run,
// cancels it, and sees the ledger move; switches to Chinese; signs out. Screenshots of
// each step go to test-artifacts/web/ (kept after the run, ignored by git).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Agent } from '../src/agent/agent.ts';
import type { LocalExecutor } from '../src/executors/local.ts';
import { buildDashboard, chromiumMissing, launchChromium, skipWithoutChromium } from './support/browser.ts';
import { LivePool, localAgent } from './support/live-pool.ts';

const ARTIFACTS = join(import.meta.dirname, '..', 'test-artifacts', 'web');
const missing = chromiumMissing();

describe('the web dashboard in headless Chromium against a live control plane', () => {
  let webRoot = '';
  let workDir = '';
  let pool: LivePool | undefined;
  let agent: Agent | undefined;
  let executor: LocalExecutor | undefined;
  let browser: Browser | undefined;
  let page: Page;
  /** Console errors and uncaught exceptions in the page; a step that expects some takes them out. */
  const pageErrors: string[] = [];

  before(async () => {
    if (missing !== undefined) return;
    webRoot = mkdtempSync(join(tmpdir(), 'suanli-web-'));
    workDir = mkdtempSync(join(tmpdir(), 'suanli-web-agent-'));
    rmSync(ARTIFACTS, { recursive: true, force: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    await buildDashboard(webRoot);
    pool = await LivePool.start({ webRoot });
    ({ agent, executor } = localAgent(pool, workDir));
    await agent.start();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    page.setDefaultTimeout(20_000);
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console: ${m.text()} ${m.location().url}`);
    });
    page.on('pageerror', (e) => pageErrors.push(`exception: ${e.message}`));
  });

  after(async () => {
    await browser?.close();
    await agent?.stop();
    await executor?.close();
    await pool?.close();
    for (const dir of [webRoot, workDir]) if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `steps` unless Chromium is missing (a skip, or under CI a failure). */
  const inBrowser = (steps: (pool: LivePool) => Promise<void>) => async (t: TestContext) => {
    if (missing !== undefined) return skipWithoutChromium(t, missing);
    assert.ok(pool !== undefined);
    await steps(pool);
  };

  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const heading = (name: string) => page.getByRole('heading', { level: 1, name }).waitFor();
  /** Every chart on the page drawn (Vega loads in its own chunk, then renders SVG). */
  const chartsDrawn = (count: number) => page.waitForFunction((n) => document.querySelectorAll('.chart-canvas svg').length >= n, count);
  const nav = (name: string) => page.getByRole('navigation').getByRole('link', { name, exact: true }).click();

  test('a wrong token is refused on the sign-in page', inBrowser(async (p) => {
    await page.goto(p.url);
    await heading('Sign in');
    await page.getByText('kept only in this browser tab (sessionStorage)').waitFor();
    await shot('01-sign-in');
    await page.getByLabel('API token').fill(`sl_abcd1234_${'x'.repeat(32)}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('The server refused the token.').waitFor();
    await shot('02-token-refused');
    // The browser logs the refused request itself; that one is expected.
    const refused = pageErrors.filter((e) => e.includes('401'));
    assert.equal(refused.length, pageErrors.length, pageErrors.join('\n'));
    pageErrors.length = 0;
  }));

  test('the admin signs in and sees the pool: the site, its GPUs idle, the charts', inBrowser(async (p) => {
    await page.getByLabel('API token').fill(p.admin);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await heading('Pool overview');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('suanli:token')), p.admin, 'the token is kept in sessionStorage');
    assert.equal(await page.evaluate(() => JSON.stringify(localStorage).includes('sl_')), false, 'and nowhere else');
    const siteRow = page.getByRole('row', { name: /acme lab/ });
    await siteRow.getByText('Up', { exact: true }).waitFor();
    assert.match(await siteRow.innerText(), /acme\s+h100\s+Up\s+8\s+0\s+8\s+0/);
    await chartsDrawn(2);
    await shot('03-pool');
  }));

  test('the ledger is empty before any run', inBrowser(async () => {
    await nav('Ledger');
    await heading('Ledger');
    await page.getByText('The ledger is empty').waitFor();
    await shot('04-ledger-before');
  }));

  let jobPath = '';
  test('a job submitted from the form is placed and runs; its log tail shows', inBrowser(async (p) => {
    await nav('Submit a job');
    await heading('Submit a job');
    await page.getByLabel('Name').fill('e2e-sleep');
    await page.getByLabel('Org').selectOption('acme');
    await page.getByLabel('GPUs', { exact: true }).fill('2');
    await page.getByLabel('Estimated run time (minutes)').fill('5');
    await page.getByLabel('Command').fill('echo started; sleep 60');
    await page.getByRole('button', { name: 'Check where it would start' }).click();
    await page.getByText('It would start at once on').waitFor();
    await shot('05-submit');
    await page.getByRole('button', { name: 'Submit', exact: true }).click();
    await page.waitForURL(/\/jobs\/\d+$/);
    jobPath = new URL(page.url()).pathname;
    const id = jobPath.split('/').pop() ?? '';
    await heading(`Job ${id}: e2e-sleep`);
    const facts = page.locator('dl.facts').first();
    await facts.getByText('Running').waitFor();
    await page.locator('pre.log').getByText('started').waitFor();
    const events = await page.getByRole('table').last().innerText();
    assert.match(events, /placed[\s\S]*started/, 'the history shows it placed, then started');
    assert.match(await facts.innerText(), /acme lab|acme-lab/, 'it says where it runs');
    const detail = await p.job(id);
    assert.equal(detail.state, 'running');
    await shot('06-job-running');
  }));

  test('cancelling asks once more, then the job is cancelled and its run stopped', inBrowser(async (p) => {
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await page.getByText('Cancel this job?').waitFor();
    const confirm = page.getByRole('button', { name: 'Yes, cancel it' });
    assert.equal(await confirm.evaluate((b) => b === document.activeElement), true, 'the confirming button has the focus');
    await confirm.click();
    await page.locator('dl.facts').first().getByText('Cancelled').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Cancel job' }).count(), 0, 'a finished job has no cancel button');
    await p.until(jobPath.split('/').pop() ?? '', 'cancelled');
    await shot('07-job-cancelled');
  }));

  test('the job list filters by state', inBrowser(async () => {
    await nav('Jobs');
    await heading('Jobs');
    await page.getByText('No job matches.').waitFor();
    await page.getByLabel('State').selectOption('cancelled');
    await page.waitForURL(/\/jobs\?state=cancelled$/);
    const row = page.getByRole('row', { name: /e2e-sleep/ });
    await row.getByText('Cancelled').waitFor();
    await shot('08-jobs');
  }));

  test('the ledger moved: the run’s GPU-hours are acme’s own', inBrowser(async () => {
    await nav('Ledger');
    await heading('Ledger');
    const row = page.getByRole('row', { name: /acme\s+h100/ });
    await row.waitFor();
    const cells = await row.locator('td').allInnerTexts();
    // org, then: type, contributed, consumed, own, credits
    const own = Number(cells[3]);
    assert.ok(own > 0, `own GPU-hours recorded: ${cells.join(' | ')}`);
    await chartsDrawn(1);
    await shot('09-ledger-after');
  }));

  test('the sites view shows the site, its health and heartbeat', inBrowser(async () => {
    await nav('Sites');
    await heading('Sites');
    const row = page.getByRole('row', { name: /acme lab/ });
    await row.getByText('Up', { exact: true }).waitFor();
    assert.match(await row.innerText(), /h100: nodes 1 × GPUs 8/);
    await shot('10-sites');
  }));

  test('switching to Chinese changes every label at once and is remembered after a reload', inBrowser(async () => {
    await page.getByLabel('Language').selectOption('zh-CN');
    await heading('站点');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');
    await page.reload();
    await heading('站点');
    await page.getByRole('navigation').getByRole('link', { name: '资源池', exact: true }).click();
    await heading('资源池概览');
    await page.getByRole('row', { name: /acme lab/ }).getByText('正常').waitFor();
    await chartsDrawn(2);
    await shot('11-pool-zh');
  }));

  test('the keyboard reaches the skip link first, and it leads to the content', inBrowser(async () => {
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.className), 'skip-link');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
  }));

  test('signing out forgets the token and shows the sign-in page', inBrowser(async () => {
    await page.getByRole('button', { name: '退出登录' }).click();
    await heading('登录');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('suanli:token')), null);
    await shot('12-signed-out-zh');
    assert.deepEqual(pageErrors, [], 'no console error or exception in the page');
  }));

  test('a member sees its own org and no org pickers', inBrowser(async (p) => {
    const member = await p.client.call<{ token: string }>('POST', '/tokens', { name: 'alice', role: 'member', org_id: 'acme' });
    await page.getByLabel('语言').selectOption('en');
    await page.getByLabel('API token').fill(member.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Signed in as member of acme').waitFor();
    await page.getByText('The sites and jobs of acme.').waitFor();
    await nav('Submit a job');
    await page.getByText('The job is submitted for acme.').waitFor();
    assert.equal(await page.getByLabel('Org').count(), 0, 'no org to pick');
    await nav('Jobs');
    await page.getByLabel('State').waitFor();
    assert.equal(await page.getByLabel('Org').count(), 0, 'no org filter');
    await shot('13-member-jobs');
    assert.deepEqual(pageErrors, [], 'no console error or exception');
  }));
});
