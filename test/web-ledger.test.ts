// The ledger and the simulation report as daily tools (issue 19), end to end: the production
// build served by a live control plane (in-process, in memory) with acme's site (priced at 2.5
// a GPU-hour) and beta's (no price). Runs are booked straight into the store and logged, on two
// UTC days: beta's job on acme's lent GPUs and acme's on its own on Nov 25, acme's on beta's
// site on Nov 26. Driven in Debian's headless Chromium at 1400 and 400 px, in English and in
// Simplified Chinese: every chart fits its box; one day's axis names the day once, and by the
// hour names hours; the dates change the figures; the CSV downloads hold the rows shown; the
// jobs behind the figures with their prices, for the admin and for a member of beta (who sees
// acme's job by id only). Then the report: its policies in one order in table and charts, its
// JCT axis titled, its figures unwrapped at 400 px, and kept across pages.
// Screenshots go to test-artifacts/web/ledger-*.png.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { JobResponse } from '../src/server/schemas.ts';
import type { LedgerEntry } from '../src/store/types.ts';
import { SIMULATE_REPORT_TEXT } from '../web/src/model/test-data.ts';
import { buildDashboard, chromiumMissing, launchChromium, openPage, skipWithoutChromium, speak as speakIn, unfoldHeader } from './support/browser.ts';
import { LivePool } from './support/live-pool.ts';

const ARTIFACTS = join(import.meta.dirname, '..', 'test-artifacts', 'web');
const missing = chromiumMissing();
const HOUR = 3_600_000;
const NOV25 = Date.parse('2026-11-25T00:00:00Z');
const NOV26 = NOV25 + 24 * HOUR;

const WORDS = {
  en: { language: 'Language', ledger: 'Ledger', from: 'From (UTC day)', to: 'To (UTC day, included)', apply: 'Show these dates', all: 'All dates', csv: 'Download as CSV', flows: 'Contributed and consumed per UTC day', jobs: 'Jobs behind the figures' },
  'zh-CN': { language: '语言', ledger: '账本', from: '起始日（UTC）', to: '截止日（UTC，含当日）', apply: '显示所选日期', all: '全部日期', csv: '下载 CSV', flows: '每个 UTC 日的贡献与消耗', jobs: '数字背后的作业' },
} as const;
type Locale = keyof typeof WORDS;

describe('the ledger and the simulation report as daily tools, in headless Chromium against a live control plane', () => {
  let webRoot = '';
  let pool: LivePool | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let acmeJob = '';
  let betaJob = '';
  const pageErrors: string[] = [];

  before(async () => {
    if (missing !== undefined) return;
    webRoot = mkdtempSync(join(tmpdir(), 'suanli-web-ledger-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    await buildDashboard(webRoot);
    const p = await LivePool.start({ webRoot });
    pool = p;
    const beta = await p.addSite('beta', 'beta lab');
    const gamma = await p.addSite('gamma', 'gamma lab');
    await p.client.call('PATCH', `/sites/${p.siteId}`, { price_per_gpu_hour: 2.5 });
    // Jobs too large for any site: they stay pending, so that only the runs booked below count.
    const job = async (org: string, name: string) => JobResponse.parse(await p.client.call('POST', '/jobs', { name, org_id: org, gpus: 64, estimate_s: 600, command: ['true'] })).id;
    acmeJob = await job('acme', 'render, "v2"');
    betaJob = await job('beta', 'train');
    const gammaJob = await job('gamma', 'eval');
    const run = (jobId: string, siteId: string, consumerOrgId: string, providerOrgId: string, gpuH: number, at: number): LedgerEntry => ({
      jobId, attempt: 1, siteId, consumerOrgId, providerOrgId, gpuType: 'h100', gpus: 1, startAt: at - gpuH * HOUR, at, gpuSeconds: gpuH * 3600, outcome: 'succeeded',
    });
    await p.store.transition([], [
      run(betaJob, p.siteId, 'beta', 'acme', 6, NOV25 + 10 * HOUR), // on acme's lent GPUs
      run(acmeJob, p.siteId, 'acme', 'acme', 1.5, NOV25 + 12 * HOUR), // on its own
      run(acmeJob, beta.siteId, 'acme', 'beta', 3, NOV26 + 9 * HOUR), // on beta's, which has no price
      run(gammaJob, gamma.siteId, 'gamma', 'gamma', 2, NOV25 - 5 * 24 * HOUR), // a third org (on Nov 20): the chart per org has three
    ]);
    await p.app.suanli.usage.logAlone(Number.MAX_SAFE_INTEGER);
    browser = await launchChromium();
    page = await openPage(browser, 1400, pageErrors);
  });

  after(async () => {
    await browser?.close();
    await pool?.close();
    if (webRoot !== '') rmSync(webRoot, { recursive: true, force: true });
  });

  const inBrowser = (steps: (pool: LivePool) => Promise<void>) => async (t: TestContext) => {
    if (missing !== undefined) return skipWithoutChromium(t, missing);
    assert.ok(pool !== undefined);
    await steps(pool);
  };
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `ledger-${name}.png`), fullPage: true });
  const speak = (locale: Locale) => speakIn(page, locale);
  const signIn = async (p: LivePool, token: string) => {
    await page.goto(p.url);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await unfoldHeader(page);
    await page.getByRole('navigation').waitFor();
  };
  /** The by-org table's rows, as their text with single spaces. */
  const byOrg = async () => (await page.locator('table').first().locator('tbody tr').allInnerTexts()).map((r) => r.split(/\s+/).join(' '));
  /** Waits until the by-org table shows `rows` (the page polls; a new range answers soon). */
  const byOrgBecomes = async (rows: readonly string[], what: string) => {
    const deadline = Date.now() + 15_000;
    while (JSON.stringify(await byOrg()) !== JSON.stringify(rows) && Date.now() < deadline) await page.waitForTimeout(100);
    assert.deepEqual(await byOrg(), rows, what);
  };
  const nav = async (name: string) => {
    // At 400 px the navigation is behind the folded header's menu.
    await unfoldHeader(page);
    await page.getByRole('navigation').getByRole('link', { name, exact: true }).click();
  };
  /** Every chart drawn (`count` at least), each as wide as its box at most: the SVG, and nothing to scroll. */
  const chartsFit = async (count: number) => {
    await page.waitForFunction((n) => document.querySelectorAll('.chart-canvas svg').length >= n, count);
    const sizes = () => page.locator('.chart-canvas').evaluateAll((boxes) => boxes.map((b) => ({ box: b.clientWidth, scroll: b.scrollWidth, svg: b.querySelector('svg')?.getBoundingClientRect().width ?? 0 })));
    const fits = (s: { box: number; scroll: number; svg: number }) => s.svg > 0 && s.svg <= s.box + 1 && s.scroll <= s.box + 1;
    // After the window changes width, Vega redraws a chart that fits its container on its own time: give it a few seconds.
    const deadline = Date.now() + 5_000;
    while (!(await sizes()).every(fits) && Date.now() < deadline) await page.waitForTimeout(100);
    for (const s of await sizes()) assert.ok(fits(s), `a chart ${s.svg} px wide (scrolling ${s.scroll}) in a box of ${s.box} px`);
  };
  const svgTexts = (figure: Locator) => figure.locator('svg text').allTextContents();
  const download = async (button: Locator) => {
    const [file] = await Promise.all([page.waitForEvent('download'), button.click()]);
    return { name: file.suggestedFilename(), text: readFileSync(await file.path(), 'utf8') };
  };
  const showDates = async (locale: Locale, from: string, to: string) => {
    await page.getByLabel(WORDS[locale].from).fill(from);
    await page.getByLabel(WORDS[locale].to).fill(to);
    await page.getByRole('button', { name: WORDS[locale].apply }).click();
  };

  test('the admin’s ledger: every date, then one day; the charts fit their box at 1400 px; one day is one bar named once', inBrowser(async (p) => {
    await signIn(p, p.admin);
    await nav('Ledger');
    await page.getByRole('heading', { level: 1, name: 'Ledger' }).waitFor();
    await byOrgBecomes(['acme h100 6 3 1.5 3', 'beta h100 3 6 0 -3', 'gamma h100 0 0 2 0'], 'contributed, consumed, own, credits over every date');
    await chartsFit(3);
    await showDates('en', '2026-11-25', '2026-11-25');
    await page.getByText('Dates shown: 2026-11-25 to 2026-11-25 (UTC days).').waitFor();
    await byOrgBecomes(['acme h100 6 0 1.5 6', 'beta h100 0 6 0 -6'], 'Nov 25 only');
    const flows = page.locator('figure', { hasText: WORDS.en.flows });
    await page.waitForFunction(() => document.querySelectorAll('.chart-canvas svg').length >= 3);
    await flows.locator('svg').waitFor();
    const labels = await svgTexts(flows);
    assert.deepEqual(labels.filter((l) => l.includes('11-25')), ['2026-11-25'], `the day named once: ${labels.join(' | ')}`);
    const dates = labels.filter((l) => /^\d{4}-\d\d-\d\d$/.test(l));
    assert.equal(new Set(dates).size, dates.length, 'no date repeated');
    // One bar (two stacked segments, acme's and beta's): slim, not across the chart.
    const bars = await flows.locator('svg .mark-rect path').evaluateAll((paths) => paths.map((e) => e.getBoundingClientRect().width));
    const plot = await flows.locator('svg').evaluate((e) => e.getBoundingClientRect().width);
    assert.ok(bars.length >= 1 && bars.every((w) => w > 0 && w < plot / 4), `bars of ${bars.join(', ')} px in a chart of ${plot} px`);
    await chartsFit(3);
    // By the hour: hours on the axis, no label twice.
    await page.getByLabel('Hour', { exact: true }).check();
    const hourly = page.locator('figure', { hasText: 'Contributed and consumed per hour' });
    await hourly.locator('svg').waitFor();
    const hours = (await svgTexts(hourly)).filter((l) => /^\d\d[:-]\d\d$/.test(l));
    assert.ok(hours.filter((l) => l.includes(':')).length >= 4, `labelled by the hour: ${hours.join(' ')}`);
    assert.equal(new Set(hours).size, hours.length, `no label repeated: ${hours.join(' ')}`);
    await page.getByLabel('Day (UTC)', { exact: true }).check();
    await shot('one-day-en-1400');
    assert.deepEqual(pageErrors, []);
  }));

  test('the dates are checked: a To before the From is named beside its field, and nothing changes', inBrowser(async () => {
    await showDates('en', '2026-11-26', '2026-11-25');
    await page.getByText('To comes before From.').waitFor();
    assert.equal(await page.getByLabel(WORDS.en.to).getAttribute('aria-invalid'), 'true');
    assert.deepEqual(await byOrg(), ['acme h100 6 0 1.5 6', 'beta h100 0 6 0 -6'], 'still Nov 25');
    await showDates('en', '2026-11-25', '2026-11-25');
  }));

  test('the CSV downloads hold the rows shown, quoted where they must be', inBrowser(async () => {
    const totals = await download(page.getByRole('button', { name: WORDS.en.csv }));
    assert.equal(totals.name, 'suanli-ledger-2026-11-25-to-2026-11-25.csv');
    assert.equal(totals.text, '\uFEFFOrg,GPU type,Contributed,Consumed,Own,Credits\r\nacme,h100,6,0,1.5,6\r\nbeta,h100,0,6,0,-6\r\n');
    // The jobs behind acme's figures, on every date: its own job by name, beta's on its lent GPUs.
    await page.getByLabel('Org whose jobs to show').selectOption('acme');
    await page.getByRole('button', { name: WORDS.en.all }).click();
    const jobs = page.getByRole('table', { name: WORDS.en.jobs });
    await jobs.locator('tbody tr').nth(2).waitFor();
    const rows = (await jobs.locator('tbody tr').allInnerTexts()).map((r) => r.split(/\s+/).join(' '));
    assert.equal(rows.length, 3, rows.join('\n'));
    // The admin sees every site by its id (`<name>-<hex>`).
    assert.match(rows[0] ?? '', new RegExp(`^${acmeJob} render, "v2" Consumed h100 beta-lab-[0-9a-f]+ lent by beta 3 no price no price$`));
    assert.match(rows[1] ?? '', new RegExp(`^${acmeJob} render, "v2" Own h100 acme-lab-[0-9a-f]+ 1\\.5 2\\.5 3\\.75$`));
    assert.match(rows[2] ?? '', new RegExp(`^${betaJob} train Contributed h100 acme-lab-[0-9a-f]+ borrowed by beta 6 2\\.5 15$`));
    const totalsText = await page.locator('dl[aria-label="Totals of the jobs shown"]').innerText();
    assert.match(totalsText.split(/\s+/).join(' '), /Consumed GPU-hours: 3; cost: no price Contributed GPU-hours: 6; cost: 15 Own GPU-hours: 1\.5; cost: 3\.75/);
    assert.equal(await jobs.getByRole('link', { name: acmeJob, exact: true }).first().getAttribute('href'), `/jobs/${acmeJob}`);
    const csv = await download(page.getByRole('button', { name: 'Download the jobs as CSV' }));
    assert.equal(csv.name, 'suanli-ledger-jobs.csv');
    const lines = csv.text.replace(/^\uFEFF/, '').split('\r\n');
    assert.equal(lines[0], 'Job,Name,Use,GPU type,Site,Lender or borrower,GPU-hours,Price per GPU-hour,Cost');
    assert.match(lines[1] ?? '', new RegExp(`^${acmeJob},"render, ""v2""",Consumed,h100,beta-lab-[0-9a-f]+,beta,3,,$`));
    assert.match(lines[3] ?? '', new RegExp(`^${betaJob},train,Contributed,h100,acme-lab-[0-9a-f]+,beta,6,2\\.5,15$`));
    await shot('jobs-en-1400');
    assert.deepEqual(pageErrors, []);
  }));

  test('at 400 px in Chinese: the charts fit, the dates and the jobs are in Chinese', inBrowser(async () => {
    await page.setViewportSize({ width: 400, height: 900 });
    try {
      await speak('zh-CN');
      await page.getByRole('heading', { level: 1, name: WORDS['zh-CN'].ledger }).waitFor();
      await byOrgBecomes(['acme h100 6 3 1.5 3', 'beta h100 3 6 0 -3', 'gamma h100 0 0 2 0'], 'every date, three orgs');
      await chartsFit(3);
      await showDates('zh-CN', '2026-11-26', '');
      await page.getByText('所示日期：2026-11-26 至 最后一条记录（UTC 日）。').waitFor();
      await byOrgBecomes(['acme h100 0 3 0 -3', 'beta h100 3 0 0 3'], 'from Nov 26 on');
        await chartsFit(3);
      const overflow = await page.evaluate(() => {
        if (document.documentElement.scrollWidth <= window.innerWidth) return null;
        // What sticks out, leaving out what a frame of its own scrolls.
      const wide = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && e.closest('.table-wrap, .chart-canvas') === null);
        return `${document.documentElement.scrollWidth} px: ${wide.slice(0, 8).map((e) => `${e.tagName.toLowerCase()}.${String(e.className)}`).join(', ')}`;
      });
      assert.equal(overflow, null, 'the page never scrolls sideways');
      await shot('zh-CN-400');
    } finally {
      await speak('en');
      await page.setViewportSize({ width: 1400, height: 900 });
    }
    assert.deepEqual(pageErrors, []);
  }));

  test('a member of beta: its own job by name, acme’s job on its site by id only, acme’s site by its label and price', inBrowser(async (p) => {
    const member = await p.client.call<{ token: string }>('POST', '/tokens', { name: 'bo', role: 'member', org_id: 'beta' });
    await unfoldHeader(page);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(p, member.token);
    await nav('Ledger');
    const jobs = page.getByRole('table', { name: WORDS.en.jobs });
    await jobs.locator('tbody tr').nth(1).waitFor();
    const rows = (await jobs.locator('tbody tr').allInnerTexts()).map((r) => r.split(/\s+/).join(' '));
    assert.equal(rows.length, 2, rows.join('\n'));
    assert.match(rows[0] ?? '', new RegExp(`^${acmeJob} another org’s job Contributed h100 beta-lab-[0-9a-f]+ borrowed by acme 3 no price no price$`));
    assert.equal(rows[1], `${betaJob} train Consumed h100 acme:site-1 lent by acme 6 2.5 15`);
    assert.equal(await jobs.getByRole('link', { name: acmeJob, exact: true }).count(), 0, 'acme’s job is not beta’s to open');
    assert.equal(await page.getByText('render').count(), 0, 'nor its name shown');
    await shot('member-en-1400');
    assert.deepEqual(pageErrors, []);
  }));

  test('the simulation report: one policy order in table and charts, the JCT axis titled, figures on one line at 400 px, kept across pages', inBrowser(async () => {
    await nav('Simulation report');
    await page.getByLabel('Report file (JSON)').setInputFiles({ name: 'results.json', mimeType: 'application/json', buffer: Buffer.from(SIMULATE_REPORT_TEXT) });
    await page.getByText('Showing results.json').waitFor();
    const table = page.locator('table').first();
    const policies = [...new Set((await table.locator('tbody th').allInnerTexts()).map((t) => t.trim()))];
    assert.deepEqual(policies, ['fifo', 'fair-share'], 'the report’s order');
    const jct = page.locator('figure', { hasText: 'Job completion time' }).first();
    await jct.locator('svg').waitFor();
    const labels = await svgTexts(jct);
    assert.deepEqual(labels.filter((l) => policies.includes(l)), policies, `the chart in the table’s order: ${labels.join(' | ')}`);
    assert.ok(labels.includes('Job completion time (hours)'), 'the value axis titled with its unit');
    await page.setViewportSize({ width: 400, height: 900 });
    await chartsFit(2);
    const wrapped = await table.locator('td.num').evaluateAll((cells) => cells.filter((c) => {
      const range = document.createRange();
      range.selectNodeContents(c);
      return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1;
    }).map((c) => c.textContent));
    assert.deepEqual(wrapped, [], 'no figure breaks across lines');
    await shot('report-en-400');
    // Away and back within the tab: the report is still there.
    await nav('Ledger');
    await page.getByRole('heading', { level: 1, name: 'Ledger' }).waitFor();
    await nav('Simulation report');
    await page.getByText('Showing results.json').waitFor();
    await page.locator('figure', { hasText: 'Job completion time' }).first().locator('svg').waitFor();
    await page.setViewportSize({ width: 1400, height: 900 });
    assert.deepEqual(pageErrors, []);
  }));
});
