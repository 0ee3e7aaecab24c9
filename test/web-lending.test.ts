// Lending in the dashboard (issue 19), end to end: the production build served by a live
// control plane (in-process, in memory, its scheduling loop on timers) with four orgs' sites
// and no agent, so that what the scheduler placed stays placed. beta's job spans its own
// site and acme's (acme lends it 8 GPUs); acme's job runs on gamma's site (gamma lends it 4);
// delta's site is lost. Driven in Debian's headless Chromium at 1400 and 400 px wide, in
// English and in Simplified Chinese: the job pages name the lender of each part, for the
// admin who sees every site by name too, and give the planned efficiency and WAN bandwidth
// as figures; the pool gives each org's GPUs lent and borrowed and who lends to whom, as a
// table and a grid; the lost site stands out. Then a member of beta: acme's site by its
// neutral label, and the lender. Screenshots go to test-artifacts/web/lending-*.png.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { JobResponse } from '../src/server/schemas.ts';
import { assertFitsWidth, buildDashboard, chromiumMissing, launchChromium, openPage, skipWithoutChromium, speak, unfoldHeader } from './support/browser.ts';
import { LivePool } from './support/live-pool.ts';

const ARTIFACTS = join(import.meta.dirname, '..', 'test-artifacts', 'web');
const missing = chromiumMissing();
/** A data-parallel job whose replicas of 8 GPUs may sit on different sites (as test/rendezvous.test.ts's). */
const SPAN = { replica_gpus: 8, params: 1e9, bytes_per_param: 1, outer_step_s: 100, min_efficiency: 0.5, max_single_site_wait_s: 0 };

/** The words each check looks for, in each language. */
const WORDS = {
  en: {
    pool: 'Pool overview', lending: 'Who lends to whom now', chart: 'GPUs lent now, by lender and borrower', lost: 'Lost sites: delta lab.', lostBadge: 'Lost',
    lentBy: (site: string, org: string) => `${site} (lent by ${org})`, runsOn: 'Runs on', planned: ['Planned efficiency', 'Planned WAN bandwidth'], gbps: (n: string) => `${n} Gbit/s`,
    orgHeaders: /GPUs asked by waiting jobs\s+Lent to other orgs\s+Borrowed from other orgs/,
  },
  'zh-CN': {
    pool: '资源池概览', lending: '当前谁借给谁', chart: '当前出借的 GPU（按出借方与借用方）', lost: '失联站点：delta lab。', lostBadge: '失联',
    lentBy: (site: string, org: string) => `${site}（由 ${org} 出借）`, runsOn: '运行位置', planned: ['计划效率', '计划广域网带宽'], gbps: (n: string) => `每秒 ${n} Gbit`,
    orgHeaders: /等待中作业所需的 GPU\s+借给其他组织\s+向其他组织借用/,
  },
} as const;

describe('lending in the web dashboard, in headless Chromium against a live control plane', () => {
  let webRoot = '';
  let pool: LivePool | undefined;
  let browser: Browser | undefined;
  let page: Page;
  /** beta's job across its own site and acme's; acme's job on gamma's site. */
  let across = '';
  let onGamma = '';
  const pageErrors: string[] = [];

  before(async () => {
    if (missing !== undefined) return;
    webRoot = mkdtempSync(join(tmpdir(), 'suanli-web-lending-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    await buildDashboard(webRoot);
    // No agent starts the parts: the job across sites stays placed (not released) for the test's length.
    const p = await LivePool.start({ webRoot, coallocationTimeoutMs: 600_000 });
    pool = p;
    await p.addSite('beta', 'beta lab', [{ to_site: p.siteId, gbps: 10, latency_ms: 5 }]);
    await p.hostNetworkForBorrowed(p.siteId);
    await p.addSite('gamma', 'gamma lab');
    across = JobResponse.parse(await p.client.call('POST', '/jobs', { name: 'across', org_id: 'beta', gpus: 16, estimate_s: 600, command: ['true'], span: SPAN })).id;
    await p.until(across, 'placed');
    // acme's own site is lent whole to beta: its job finds room only on gamma's.
    onGamma = await p.submit(['true'], 4, { name: 'borrows', gpu_types: ['h100'] });
    await p.until(onGamma, 'placed');
    const delta = await p.addSite('delta', 'delta lab');
    await p.app.suanli.sites.setSiteHealth(delta.siteId, 'lost');
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
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `lending-${name}.png`), fullPage: true });
  const heading = (name: string) => page.getByRole('heading', { level: 1, name }).waitFor();
  const chartsDrawn = (count: number) => page.waitForFunction((n) => document.querySelectorAll('.chart-canvas svg').length >= n, count);
  /** A row of the pool's by-org table. */
  const orgRow = (name: RegExp) => page.locator('section[aria-labelledby="pool-by-org"]').getByRole('row', { name }).innerText();
  const fitsWidth = () => assertFitsWidth(page);

  test('the admin signs in', inBrowser(async (p) => {
    await page.goto(p.url);
    await page.getByLabel('API token').fill(p.admin);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await heading('Pool overview');
  }));

  for (const [locale, width] of [['en', 1400], ['zh-CN', 400], ['zh-CN', 1400], ['en', 400]] as const) {
    const w = WORDS[locale];
    test(`the pool at ${width} px in ${locale}: each org’s GPUs lent and borrowed, who lends to whom, the lost site`, inBrowser(async (p) => {
      await page.setViewportSize({ width, height: 900 });
      await page.goto(p.url);
      await speak(page, locale);
      await heading(w.pool);
      assert.match(await page.locator('section[aria-labelledby="pool-by-org"] thead').innerText(), w.orgHeaders);
      // GPUs of its sites, allocated on them, idle, jobs waiting, GPUs asked, lent, borrowed.
      assert.match(await orgRow(/^Acme \(acme\)/), /^Acme \(acme\)\s+8\s+8\s+0\s+0\s+0\s+8\s+4$/, 'acme lends its 8 to beta and borrows 4 of gamma’s');
      assert.match(await orgRow(/^beta\s/), /^beta\s+8\s+8\s+0\s+0\s+0\s+0\s+8$/);
      assert.match(await orgRow(/^gamma\s/), /^gamma\s+8\s+4\s+4\s+0\s+0\s+4\s+0$/);
      const lending = page.getByRole('region', { name: w.lending });
      const pairs = await lending.locator('tbody tr').allInnerTexts();
      assert.deepEqual(pairs.map((r) => r.split(/\s+/).join(' ')), ['acme beta 8', 'gamma acme 4'], 'lender, borrower, GPUs');
      const grid = lending.locator('figure', { hasText: w.chart });
      await grid.locator('svg').waitFor();
      const cells = await grid.locator('svg text').allTextContents();
      for (const figure of ['8', '4', 'acme', 'beta', 'gamma']) assert.ok(cells.includes(figure), `the grid writes ${figure}: ${cells.join(' ')}`);
      await chartsDrawn(3);
      // The lost site: a note naming it, its row marked and saying so in words.
      await page.getByText(w.lost).waitFor();
      const lost = page.getByRole('row', { name: /^delta lab/ });
      assert.equal(await lost.getAttribute('class'), 'row-lost');
      await lost.getByText(w.lostBadge, { exact: true }).waitFor();
      assert.equal(await page.locator('tr.row-lost').count(), 1, 'only the lost site’s row');
      await fitsWidth();
      await shot(`pool-${locale}-${width}`);
    }));

    test(`the job pages at ${width} px in ${locale}: each part’s lender, and the plan across sites as figures`, inBrowser(async (p) => {
      await page.goto(`${p.url}/jobs/${across}`);
      const facts = page.locator('dl.facts').first();
      await facts.getByText(w.lentBy('acme lab', 'acme')).waitFor();
      const runsOn = await facts.locator('.fact', { has: page.getByText(w.runsOn, { exact: true }) }).innerText();
      assert.ok(runsOn.includes(`${w.lentBy('acme lab', 'acme')} · h100 × 8`), runsOn);
      assert.ok(runsOn.includes('beta lab · h100 × 8') && !runsOn.includes(w.lentBy('beta lab', 'beta')), 'its own org’s site is lent by no one');
      // The placements table: the lender, and what the scheduler planned, from the API's own figures.
      const { placements } = await p.job(across);
      const planned = placements[0]?.planned;
      assert.ok(planned != null, 'the attempt across sites was planned');
      const efficiency = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 0 }).format(planned.efficiency);
      const gbps = w.gbps(new Intl.NumberFormat(locale, { maximumSignificantDigits: 3 }).format(planned.wan_gbps));
      const table = page.locator('table', { has: page.getByRole('columnheader', { name: w.planned[0] }) });
      assert.deepEqual(await table.locator('thead th').allInnerTexts().then((h) => h.slice(-2)), [...w.planned]);
      const row = await table.locator('tbody tr').first().innerText();
      assert.ok(row.includes(w.lentBy('acme lab', 'acme')) && row.includes(efficiency) && row.includes(gbps), `${row} has ${efficiency} and ${gbps}`);
      assert.doesNotMatch(row, /0\.\d{5,}/, 'no float noise');
      await fitsWidth();
      await shot(`job-across-${locale}-${width}`);

      await page.goto(`${p.url}/jobs/${onGamma}`);
      await page.locator('dl.facts').first().getByText(w.lentBy('gamma lab', 'gamma')).waitFor();
      assert.equal(await page.getByRole('columnheader', { name: w.planned[0] }).count(), 0, 'on one site: no plan across sites');
      assert.deepEqual(pageErrors, [], 'no console error or exception');
    }));
  }

  test('a member of beta sees acme’s site by its neutral label, lent by acme, and the same pairs on the pool', inBrowser(async (p) => {
    const member = await p.client.call<{ token: string }>('POST', '/tokens', { name: 'bo', role: 'member', org_id: 'beta' });
    await page.evaluate(() => sessionStorage.clear());
    await page.goto(p.url);
    await page.getByLabel('API token').fill(member.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: WORDS.en.pool }).waitFor();
    await unfoldHeader(page);
    await page.getByText('Signed in as member of beta').waitFor();
    const pairs = await page.getByRole('region', { name: WORDS.en.lending }).locator('tbody tr').allInnerTexts();
    assert.deepEqual(pairs.map((r) => r.split(/\s+/).join(' ')), ['acme beta 8', 'gamma acme 4']);
    assert.equal(await page.getByText('acme lab').count(), 0, 'acme’s site is not named');
    assert.equal(await page.getByText('Lost sites').count(), 0, 'nor delta’s lost one: it is not beta’s');
    await page.goto(`${p.url}/jobs/${across}`);
    const facts = page.locator('dl.facts').first();
    await facts.getByText(/\(lent by acme\)/).waitFor();
    assert.match(await facts.innerText(), /acme:site-\d+ \(lent by acme\) · h100 × 8/);
    assert.equal(await page.getByText('acme lab').count(), 0);
    await fitsWidth();
    await shot('job-across-member-en-400');
    assert.deepEqual(pageErrors, [], 'no console error or exception');
  }));
});
