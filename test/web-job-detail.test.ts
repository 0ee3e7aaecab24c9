// A job's page as an operator's tool (issue 19), end to end: the dashboard's production build served by a live
// control plane with two orgs' sites of 8 h100 each, joined by a WAN link, each with a real agent (local executor),
// driven in Debian's headless Chromium, in English at 1400 px and in 简体中文 at 400 px. A 16-GPU job of acme's runs
// across acme's site and beta's; its page shows the timeline (the attempt and its part on each site, as a chart and a
// table, events in the page's language) and a log per site, each naming its site (beta's with its lender), which
// follows the run: new lines arrive at the end while the reader is there, and the view stays put once they scroll up.
// Screenshots go to test-artifacts/web/job-detail-*.png.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { JobResponse } from '../src/server/schemas.ts';
import type { MessageKey } from '../web/src/i18n/catalog-en.ts';
import { translate, type Locale } from '../web/src/i18n/i18n.ts';
import { chromiumMissing, openPage, skipWithoutChromium, twoSiteDashboard, type TwoSiteDashboard } from './support/browser.ts';
import { waitFor, type LivePool } from './support/live-pool.ts';

const ARTIFACTS = join(import.meta.dirname, '..', 'test-artifacts', 'web');
const missing = chromiumMissing();

/** 1 GB per sync, 100 s outer steps: over 10 Gb/s between the two sites, 99% efficient. */
const SPAN = { replica_gpus: 8, params: 1e9, bytes_per_param: 1, outer_step_s: 100, min_efficiency: 0.5, max_single_site_wait_s: 0 };
/**
 * Each part names its own site (its entry in SUANLI_SPAN_SITES, which its agent knows by id), prints 40 lines at
 * once (more than the log's frame shows), then a step every half second for 15 s.
 */
const SCRIPT = [
  'site=$(echo "$SUANLI_SPAN_SITES" | cut -d, -f$((SUANLI_SPAN_INDEX + 1)))',
  'i=1; while [ $i -le 40 ]; do echo "warm-up $i on $site"; i=$((i + 1)); done',
  'i=1; while [ $i -le 30 ]; do echo "step $i on $site"; sleep 0.5; i=$((i + 1)); done',
].join('\n');

describe('a job’s page in headless Chromium against a live pool of two sites', () => {
  let live: TwoSiteDashboard | undefined;

  before(async () => {
    if (missing !== undefined) return;
    mkdirSync(ARTIFACTS, { recursive: true });
    live = await twoSiteDashboard('web-job');
  });
  after(() => live?.close());

  for (const { locale, width } of [{ locale: 'en', width: 1400 }, { locale: 'zh-CN', width: 400 }] as const satisfies readonly { locale: Locale; width: number }[]) {
    test(`${locale} at ${width} px: a job across two sites shows its attempt and parts on a timeline, and a log per site that follows the run`, async (t: TestContext) => {
      if (missing !== undefined) return skipWithoutChromium(t, missing);
      assert.ok(live !== undefined);
      const pageErrors: string[] = [];
      const page = await openPage(live.browser, width, pageErrors, locale);
      try {
        await steps(live.pool, live.beta.siteId, page, locale, width);
        assert.deepEqual(pageErrors, [], 'no console error or exception');
      } finally {
        await page.context().close();
      }
    });
  }
});

async function steps(p: LivePool, betaSite: string, page: Page, locale: Locale, width: number): Promise<void> {
  const T = (key: MessageKey, vars?: Record<string, string | number>) => translate(locale, key, vars);
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `job-detail-${locale}-${width}-${name}.png`), fullPage: true });
  const fitsWidth = async () => assert.ok(await page.evaluate((w) => document.documentElement.scrollWidth <= w, width), `the page fits ${width} px`);

  await page.goto(p.url);
  await page.getByLabel(T('signIn.tokenLabel'), { exact: true }).fill(p.admin);
  await page.getByRole('button', { name: T('signIn.submit'), exact: true }).click();
  await page.getByRole('heading', { level: 1, name: T('pool.title') }).waitFor();

  // 1. acme's 16-GPU job, which no site can hold alone, runs across acme's site and beta's.
  const id = JobResponse.parse(await p.client.call('POST', '/jobs', { name: `across-${locale}`, org_id: 'acme', gpus: 16, estimate_s: 60, command: ['sh', '-c', SCRIPT], span: SPAN })).id;
  await page.goto(`${p.url}/jobs/${id}`);
  await p.until(id, 'running');
  const detail = await p.job(id);
  assert.deepEqual(detail.placements[0]?.parts.map((part) => part.site_id).sort(), [p.siteId, betaSite].sort(), 'placed on both sites');

  // 2. The timeline: the attempt and its part on each site, as a chart and as a table, its events in the page's language.
  const timeline = page.locator('section[aria-labelledby="job-timeline"]');
  await timeline.getByRole('heading', { level: 2, name: T('job.timeline') }).waitFor();
  const lentBeta = T('job.lentBy', { site: 'beta lab', org: 'beta' });
  const table = timeline.getByRole('table', { name: T('job.timelineTitle') });
  const row = (name: string) => table.getByRole('row').filter({ has: page.getByRole('rowheader', { name, exact: true }) });
  for (const name of [T('job.timelineQueue'), T('job.timelineAttempt', { attempt: 1 }), T('job.timelinePart', { attempt: 1, site: 'acme lab' }), T('job.timelinePart', { attempt: 1, site: lentBeta })]) {
    await row(name).waitFor();
  }
  // Each part's row says its site started it (the page polls: wait for the second start too).
  for (const site of ['acme lab', lentBeta]) await row(T('job.timelinePart', { attempt: 1, site })).getByText(T('job.eventPartStarted'), { exact: false }).waitFor();
  await row(T('job.timelineAttempt', { attempt: 1 })).getByText(T('job.eventPlaced'), { exact: false }).waitFor();
  const chart = timeline.locator('figure.chart svg');
  await chart.waitFor();
  const drawn = await chart.textContent() ?? '';
  for (const word of [T('job.timelineAttempt', { attempt: 1 }), 'acme lab', T('job.phaseRunning'), T('job.eventPartStarted')]) assert.ok(drawn.includes(word), `the chart draws ${word}`);
  // The history names its events in the page's language, not by their codes.
  const history = page.locator('table').last();
  await history.getByText(T('job.eventPartStarted'), { exact: true }).first().waitFor();
  assert.doesNotMatch(await history.innerText(), /part_started|waiting_for/, 'no server code in the history');

  // 3. A log per site, each under its site's name (beta's with its lender), each with its own lines.
  const log = (site: string) => page.locator('section.site-log', { has: page.getByRole('heading', { level: 3, name: T('job.logOf', { site }), exact: true }) }).locator('pre.log');
  const [acmeLog, betaLog] = [log('acme lab'), log(lentBeta)];
  await acmeLog.getByText(/step \d+ on /).waitFor();
  await betaLog.getByText(/step \d+ on /).waitFor();
  assert.match(await acmeLog.innerText(), new RegExp(`step \\d+ on ${p.siteId}\\n$`), 'acme’s log is acme’s part’s');
  assert.doesNotMatch(await acmeLog.innerText(), new RegExp(betaSite));
  assert.match(await betaLog.innerText(), new RegExp(`step \\d+ on ${betaSite}\\n$`), 'beta’s log is beta’s part’s');
  await fitsWidth();
  await shot('1-running');

  // 4. It follows the run: new lines come at the end, and the view stays there...
  const lastStep = async (pre: Locator) => Number(/step (\d+) on [^\n]*\n$/.exec(await pre.innerText())?.[1] ?? 0);
  const atEnd = (pre: Locator) => pre.evaluate((el) => el.scrollHeight > el.clientHeight && el.scrollHeight - el.scrollTop - el.clientHeight < 8);
  const before = await lastStep(acmeLog);
  await waitFor('acme’s log to grow', async () => ((await lastStep(acmeLog)) > before ? true : undefined), 10_000);
  assert.equal(await atEnd(acmeLog), true, 'the newest lines in view');
  // ...unless the reader scrolled up to read: then it stays put as lines come.
  await betaLog.evaluate((el) => {
    el.scrollTop = 0;
    el.dispatchEvent(new Event('scroll'));
  });
  const read = await lastStep(betaLog);
  await waitFor('beta’s log to grow', async () => ((await lastStep(betaLog)) > read ? true : undefined), 10_000);
  assert.equal(await betaLog.evaluate((el) => el.scrollTop), 0, 'the reader’s place is kept');
  await shot('2-following');

  // 5. Once the job succeeds, each site's log ends with its part's last step, and the attempt ends on the timeline.
  await p.until(id, 'succeeded');
  await acmeLog.getByText(`step 30 on ${p.siteId}`).waitFor();
  await betaLog.getByText(`step 30 on ${betaSite}`).waitFor();
  const attemptRow = row(T('job.timelineAttempt', { attempt: 1 }));
  await waitFor('the attempt to end on the timeline', async () => ((await attemptRow.innerText()).includes(T('job.timelineNow')) ? undefined : true), 10_000);
  await fitsWidth();
  await shot('3-done');
}
