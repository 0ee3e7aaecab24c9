// The submit form for real jobs (issue 19), end to end: the dashboard's production
// build served by a live control plane with two orgs' sites of 8 h100 each, joined by
// a WAN link, each with a real agent (local executor), driven in Debian's headless
// Chromium, in English at 1400 px and in 简体中文 at 400 px. A 16-GPU job no site can
// hold is offered to run across sites by the dry run, then submitted so and placed on
// both; its checkpoint interval and retries reach its spec; a bad span field takes the
// focus; a job submitted without them, which waits forever, is offered from its page to
// be submitted again to span; the dry run's answer and the sign-in page after signing
// out take the focus; the planner's "submit this plan" fills the form, which a reload keeps. Screenshots
// go to test-artifacts/web/submit-*.png.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { jobDefaults } from '../src/model/job.ts';
import { SpanBody } from '../src/server/schemas.ts';
import type { MessageKey } from '../web/src/i18n/catalog-en.ts';
import { translate, type Locale } from '../web/src/i18n/i18n.ts';
import { SERVER_DEFAULTS, SUBMIT_DRAFT_KEY } from '../web/src/model/submit-form.ts';
import { chromiumMissing, skipWithoutChromium, twoSiteDashboard, unfoldHeader, type TwoSiteDashboard } from './support/browser.ts';
import { waitFor, type LivePool } from './support/live-pool.ts';

const ARTIFACTS = join(import.meta.dirname, '..', 'test-artifacts', 'web');
const missing = chromiumMissing();

test('the form’s defaults, shown as the values sent, are the server’s', () => {
  const span = SpanBody.parse({ replica_gpus: 8, params: 1e9, outer_step_s: 100 });
  assert.deepEqual(
    { checkpointIntervalS: jobDefaults().checkpointIntervalS, bytesPerParam: span.bytes_per_param, hiddenS: span.hidden_s, minEfficiency: span.min_efficiency, maxSingleSiteWaitS: span.max_single_site_wait_s },
    SERVER_DEFAULTS,
  );
});

describe('the submit form in headless Chromium against a live pool of two sites', () => {
  let live: TwoSiteDashboard | undefined;

  before(async () => {
    if (missing !== undefined) return;
    mkdirSync(ARTIFACTS, { recursive: true });
    live = await twoSiteDashboard('web-submit');
  });
  after(() => live?.close());

  for (const { locale, width } of [{ locale: 'en', width: 1400 }, { locale: 'zh-CN', width: 400 }] as const satisfies readonly { locale: Locale; width: number }[]) {
    test(`${locale} at ${width} px: a job larger than any site, offered to span, is placed on both; “submit this plan”; focus after a dry run and after signing out`, async (t: TestContext) => {
      if (missing !== undefined) return skipWithoutChromium(t, missing);
      assert.ok(live !== undefined);
      const p = live.pool;
      const context = await live.browser.newContext({ viewport: { width, height: 900 }, locale });
      const page = await context.newPage();
      page.setDefaultTimeout(20_000);
      const pageErrors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => pageErrors.push(`exception: ${e.message}`));
      try {
        await steps(p, page, locale, width);
        assert.deepEqual(pageErrors, [], 'no console error or exception');
      } finally {
        await context.close();
      }
    });
  }
});

async function steps(p: LivePool, page: Page, locale: Locale, width: number): Promise<void> {
  const T = (key: MessageKey, vars?: Record<string, string | number>) => translate(locale, key, vars);
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `submit-${locale}-${width}-${name}.png`), fullPage: true });
  const heading = (name: string) => page.getByRole('heading', { level: 1, name }).waitFor();
  const field = (key: MessageKey) => page.getByLabel(T(key), { exact: true });
  const focused = (locator: ReturnType<Page['locator']>) => locator.evaluate((el) => el === document.activeElement);
  const button = (key: MessageKey) => page.getByRole('button', { name: T(key), exact: true });
  const fact = (key: MessageKey) => page.locator('.fact', { has: page.locator('dt', { hasText: new RegExp(`^${T(key)}$`) }) }).locator('dd');
  /** The page fits its width: nothing wider than the viewport (a phone at 400 px scrolls down, not sideways). */
  const fitsWidth = async () => assert.ok(await page.evaluate((w) => document.documentElement.scrollWidth <= w, width), `the page fits ${width} px`);

  await page.goto(p.url);
  await heading(T('signIn.title'));
  await field('signIn.tokenLabel').fill(p.admin);
  await button('signIn.submit').click();
  await heading(T('pool.title'));

  // 1. A job larger than any site: the dry run says it would wait forever and offers to span.
  await unfoldHeader(page);
  await unfoldHeader(page);
  await page.getByRole('navigation').getByRole('link', { name: T('nav.submit'), exact: true }).click();
  await heading(T('submit.title'));
  await field('submit.name').fill(`wide-${locale}`);
  await field('common.org').selectOption('acme');
  await field('pool.gpus').fill('16');
  await field('submit.estimate').fill('5');
  await field('submit.command').fill('echo "part $SUANLI_SPAN_INDEX"; sleep 1');
  await field('job.retries').fill('2');
  await field('submit.checkpoint').fill('30');
  await button('submit.dryRun').click();
  await page.getByText(T('submit.neverAlone')).waitFor();
  const dryRunHeading = page.getByRole('heading', { level: 2, name: T('submit.dryRunTitle') });
  assert.equal(await focused(dryRunHeading), true, 'the dry run’s answer takes the focus, not <body>');
  await shot('1-never');
  await button('submit.offerSpan').click();
  const replica = field('submit.spanReplica');
  await replica.waitFor();
  assert.equal(await focused(replica), true, 'the offer opens the span options at their first field');
  assert.equal(await page.getByText(T('submit.neverAlone')).count(), 0, 'the answer about the form as it was is gone');
  assert.equal(await field('submit.spanMinEfficiency').inputValue(), '80', 'the server’s default, shown');
  assert.equal(await field('submit.spanWait').inputValue(), '60');

  // 2. A bad span field takes the focus and says why.
  await replica.fill('6');
  await field('submit.spanParams').fill('1');
  await field('submit.spanOuter').fill('100');
  await button('submit.submit').click();
  await page.locator('.field-error').getByText(T('submit.errorSpanWhole', { gpus: 16 })).waitFor();
  assert.equal(await focused(replica), true, 'the focus goes to the field to fix');
  assert.equal(await replica.getAttribute('aria-invalid'), 'true');

  // 3. Across sites, it would start at once on both; submitted so, it is placed on both.
  await replica.fill('8');
  await field('submit.spanMinEfficiency').fill('50');
  await field('submit.spanWait').fill('0');
  await button('submit.dryRun').click();
  const answer = page.locator('#dry-run-title + p', { hasText: 'beta lab' });
  await answer.waitFor();
  assert.equal(await focused(dryRunHeading), true, 'the new answer takes the focus');
  const wouldStart = (await answer.innerText()).trim();
  assert.ok(wouldStart.startsWith(T('submit.wouldStart', { where: '@' }).split('@')[0] ?? '@'), wouldStart);
  // acme's job: its own site by name, beta's with the org lending it.
  const lent = T('job.lentBy', { site: 'beta lab', org: 'beta' });
  assert.ok(wouldStart.includes('acme lab · h100 × 8') && wouldStart.includes(`${lent} · h100 × 8`), wouldStart);
  await fitsWidth();
  await shot('2-across-sites');
  await button('submit.submit').click();
  await page.waitForURL(/\/jobs\/\d+$/);
  const id = new URL(page.url()).pathname.split('/').pop() ?? '';
  const placed = await waitFor('the job placed', async () => {
    const j = await p.job(id);
    return j.placements.length > 0 ? j : undefined;
  });
  assert.deepEqual(placed.placements[0]?.parts.map((part) => part.gpus), [8, 8], 'placed across the two sites, 8 GPUs each');
  assert.equal(new Set(placed.placements[0]?.parts.map((part) => part.site_id)).size, 2);
  assert.deepEqual(placed.span, { replica_gpus: 8, sync_bytes: 1e9, outer_step_s: 100, hidden_s: 0, min_efficiency: 0.5, max_single_site_wait_s: 0 });
  assert.equal(placed.checkpoint_interval_s, 1800);
  assert.equal(placed.max_retries, 2);
  // The job's page shows them in its spec.
  await fact('job.checkpoint').getByText(/30/).waitFor();
  assert.equal(await fact('job.retries').innerText(), '2');
  assert.match(await fact('job.span').innerText(), /8/);
  await p.until(id, 'succeeded');
  await shot('3-job');

  // 4. The answer to a submission: a job submitted without span options waits forever; its page offers to submit it again to span.
  const stuck = await p.submit(['true'], 16, { name: `stuck-${locale}`, max_retries: 1 });
  await waitFor('the job marked as never placed', async () => ((await p.job(stuck)).diagnosis?.never === true ? true : undefined));
  await page.goto(`${p.url}/jobs/${stuck}`);
  await button('job.spanCopy').click();
  await page.waitForURL(/\/jobs\/new\?draft$/);
  await heading(T('submit.title'));
  assert.equal(await field('pool.gpus').inputValue(), '16', 'the job’s demand, as it was');
  assert.equal(await field('submit.name').inputValue(), `stuck-${locale}`);
  assert.equal(await field('job.retries').inputValue(), '1');
  assert.equal(await field('submit.command').inputValue(), 'true');
  assert.equal(await field('common.org').inputValue(), 'acme');
  assert.equal(await page.getByLabel(T('submit.spanToggle')).isChecked(), true, 'with its span options open');
  await field('submit.spanReplica').waitFor();
  await shot('4-resubmit-to-span');
  await p.client.call('POST', `/jobs/${stuck}/cancel`);

  // 5. "Submit this plan": the planner's answer fills the form; a reload keeps it; the job carries the plan.
  await unfoldHeader(page);
  await unfoldHeader(page);
  await page.getByRole('navigation').getByRole('link', { name: T('nav.plan'), exact: true }).click();
  await heading(T('plan.title'));
  await field('pool.gpus').fill('8');
  await button('plan.submit').click();
  await page.getByRole('heading', { level: 2, name: T('plan.result') }).waitFor();
  await button('plan.submitThis').click();
  await page.waitForURL(/\/jobs\/new\?draft$/);
  await heading(T('submit.title'));
  const fromPlan = page.getByText(T('submit.fromPlan', { kind: T('submit.planVideo'), model: 'wan2.1-t2v-14b', gpus: 8, gpu: 'h100', time: '@' }).split('@')[0] ?? '@');
  await fromPlan.waitFor();
  assert.equal(await field('pool.gpus').inputValue(), '8');
  assert.equal(await field('submit.gpuTypes').inputValue(), 'h100');
  const estimate = Number(await field('submit.estimate').inputValue());
  assert.ok(estimate > 0, `an estimate from the plan: ${estimate}`);
  await field('submit.command').fill('sleep 1');
  await page.reload();
  await fromPlan.waitFor();
  assert.equal(await field('pool.gpus').inputValue(), '8', 'a reload shows the form again');
  assert.equal(await field('submit.command').inputValue(), 'sleep 1', 'with what was typed');
  await field('common.org').selectOption('acme');
  await fitsWidth();
  await shot('5-plan-form');
  await button('submit.submit').click();
  await page.waitForURL(/\/jobs\/\d+$/);
  const planned = await p.job(new URL(page.url()).pathname.split('/').pop() ?? '');
  assert.deepEqual(planned.plan, { kind: 'video', model: 'wan2.1-t2v-14b', gpu: 'h100', width: 1280, height: 720, seconds: 5, gpus: 8 }, 'the planner request, sent with the job');
  assert.equal(planned.gpus, 8);
  assert.deepEqual(planned.gpu_types, ['h100']);
  assert.equal(planned.estimate_s, estimate * 60);
  await page.getByText(T('job.plan'), { exact: true }).waitFor();
  assert.equal(await page.evaluate((key) => sessionStorage.getItem(key), SUBMIT_DRAFT_KEY), null, 'a submitted draft is gone');
  await p.until(planned.id, 'succeeded');
  await shot('6-planned-job');

  // 6. Signing out: the sign-in page's heading takes the focus, not <body>.
  await unfoldHeader(page);
  await unfoldHeader(page);
  await button('nav.signOut').click();
  const signIn = page.getByRole('heading', { level: 1, name: T('signIn.title') });
  await signIn.waitFor();
  assert.equal(await focused(signIn), true, 'the focus goes to the sign-in page');
  await shot('7-signed-out');
}
