// The web dashboard end to end: its production build, served by a real control plane
// (in-process, listening, on an in-memory store, its scheduling loop on timers) with
// a site whose agent runs jobs through the local executor, driven in Debian's headless
// Chromium. Signs in with the admin token, submits a job, watches it be placed and run
// (and the pool's history record it), cancels it, and sees the ledger move and verifies
// it in the browser (the signed usage log, audited by the page itself); plans a
// video and a training run; loads a simulation report (and refuses a wrong file);
// switches to Chinese; signs out; signs in as a member of one org. Screenshots of
// each step go to test-artifacts/web/ (kept after the run, ignored by git).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Agent } from '../src/agent/agent.ts';
import { AgentHttpError } from '../src/agent/control-plane-client.ts';
import type { LocalExecutor } from '../src/executors/local.ts';
import { SIMULATE_REPORT_TEXT, VIDEO_PLAN } from '../web/src/model/test-data.ts';
import { buildDashboard, chromiumMissing, launchChromium, openPage, skipWithoutChromium } from './support/browser.ts';
import { LivePool, localAgent, waitFor } from './support/live-pool.ts';

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
    // The pool's history sampled often, so that a run shows in it within the test.
    pool = await LivePool.start({ webRoot, poolSampleMs: 250 });
    ({ agent, executor } = localAgent(pool, workDir));
    await agent.start();
    browser = await launchChromium();
    page = await openPage(browser, 1280, pageErrors);
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
  /** Every table on the page as the shared Table component makes it: a header cell per column, each row led by its header cell. */
  const tablesWellFormed = async () => {
    const wrong = await page.evaluate(() =>
      [...document.querySelectorAll('table')].flatMap((table, i) => {
        const heads = [...table.querySelectorAll('thead th')];
        const rows = [...table.querySelectorAll('tbody tr')];
        const bad: string[] = [];
        if (heads.length === 0 || heads.some((th) => th.getAttribute('scope') !== 'col')) bad.push(`table ${i}: header cells without scope="col"`);
        if (rows.some((tr) => tr.firstElementChild?.tagName !== 'TH' || tr.firstElementChild.getAttribute('scope') !== 'row')) bad.push(`table ${i}: a row not led by a row header`);
        if (rows.some((tr) => tr.children.length !== heads.length)) bad.push(`table ${i}: a row with another number of cells than headers`);
        return bad;
      }),
    );
    assert.deepEqual(wrong, []);
  };
  /**
   * Waits until the usage log's latest checkpoint holds every record of acme logged so far
   * (the log is checkpointed every 2 s), so that the page's next verification reads them
   * all at once: a verification repeated would no longer be this browser's first.
   */
  const acmeCheckpointed = (p: LivePool) =>
    waitFor('a checkpoint holding all of acme\'s records', async () => {
      const { entries } = await p.client.call<{ entries: { index: number }[] }>('GET', '/ledger/entries?org=acme&from=0');
      const last = entries.at(-1);
      if (last === undefined) return undefined;
      // 404 until the first checkpoint is signed.
      const checkpoint = await p.client.call<{ size: number }>('GET', '/ledger/checkpoint').catch((err: unknown) => {
        if (err instanceof AgentHttpError && err.status === 404) return { size: 0 };
        throw err;
      });
      return checkpoint.size > last.index ? true : undefined;
    });
  /** The figures the ledger page's verification in the browser shows of the records it checked. */
  const verifiedRecords = async (): Promise<string> => {
    const figures = page.getByText(/^checked: \d+; verified: \d+; signed by their site: \d+$/);
    await figures.waitFor();
    return figures.innerText();
  };
  /** Takes out of pageErrors the browser's own log lines of refused requests with `status`: a step that expects them calls this. */
  const expectRefusals = (status: number) => {
    const others = pageErrors.filter((e) => !e.includes(`status of ${status}`));
    assert.deepEqual(others, [], 'no other console error or exception');
    pageErrors.length = 0;
  };

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
    assert.match(await page.getByRole('row', { name: /^h100/ }).innerText(), /h100\s+8\s+0\s+8\s+0%/, 'by GPU type');
    await tablesWellFormed();
    await shot('03-pool');
  }));

  test('the ledger is empty before any run', inBrowser(async () => {
    await nav('Ledger');
    await heading('Ledger');
    await page.getByText('The ledger is empty').waitFor();
    // The usage log is checkpointed empty from the start; the admin chooses whose ledger to verify.
    await page.getByText('Log entries at the latest checkpoint').waitFor();
    assert.equal(await page.getByLabel('Org to verify').inputValue(), '', 'no org chosen yet');
    await shot('04-ledger-before');
  }));

  let jobPath = '';
  test('a job submitted from the form is placed and runs; its log tail shows', inBrowser(async (p) => {
    await nav('Submit a job');
    await heading('Submit a job');
    await page.getByLabel('Name').fill('e2e-sleep');
    await page.getByLabel('Org').selectOption('acme');
    // A refused form lands the keyboard on the first field to fix.
    const gpus = page.getByLabel('GPUs', { exact: true });
    await gpus.fill('0');
    await page.getByRole('button', { name: 'Submit', exact: true }).click();
    await page.locator('.field-error').first().waitFor();
    assert.equal(await gpus.evaluate((el) => el === document.activeElement), true, 'the focus goes to the field to fix');
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
    assert.match(events, /placed[\s\S]*started/i, 'the history shows it placed, then started');
    assert.match(await facts.innerText(), /acme lab|acme-lab/, 'it says where it runs');
    const detail = await p.job(id);
    assert.equal(detail.state, 'running');
    await shot('06-job-running');
  }));

  test('the pool shows the running job’s GPUs allocated, now and in the history the server samples', inBrowser(async (p) => {
    await nav('Pool');
    await heading('Pool overview');
    const stat = (name: string) => page.locator('.stat', { has: page.getByText(name, { exact: true }) }).locator('dd');
    await page.waitForFunction(() => document.querySelector('.stat dd') !== null);
    await page.getByRole('row', { name: /^acme lab/ }).getByText('Up', { exact: true }).waitFor();
    assert.match(await page.getByRole('row', { name: /^acme lab/ }).innerText(), /acme\s+h100\s+Up\s+8\s+2\s+6\s+0/);
    assert.equal(await stat('Jobs placed or running').innerText(), '1');
    assert.equal(await stat('Utilization').innerText(), '25%');
    // The samples, newest first, under the charts: one with the job's 2 GPUs allocated.
    await page.getByText(/^The samples, one every/).click();
    await page.waitForFunction(() => [...document.querySelectorAll('details tbody tr')].some((tr) => /\s8\s+2\s+25%/.test((tr as HTMLElement).innerText)));
    await chartsDrawn(2);
    await tablesWellFormed();
    await shot('07-pool-running');
    await page.goto(`${p.url}${jobPath}`);
    await heading(`Job ${jobPath.split('/').pop() ?? ''}: e2e-sleep`);
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
    await shot('08-job-cancelled');
  }));

  test('the job list filters by state', inBrowser(async () => {
    await nav('Jobs');
    await heading('Jobs');
    // Every state by default (test/web-jobs.test.ts has the list's own tests): the cancelled job is there.
    await page.getByRole('row', { name: /e2e-sleep/ }).getByText('Cancelled').waitFor();
    await page.getByLabel('State').selectOption('active');
    await page.getByText('No job matches.').waitFor();
    await page.getByLabel('State').selectOption('cancelled');
    await page.waitForURL(/\/jobs\?state=cancelled$/);
    const row = page.getByRole('row', { name: /e2e-sleep/ });
    await row.getByText('Cancelled').waitFor();
    await shot('09-jobs');
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
    // The history: by UTC day at first, then by the hour from the switch; the same run in both.
    await page.getByRole('heading', { level: 2, name: 'Over time' }).waitFor();
    await page.getByText('Contributed and consumed per UTC day').waitFor();
    assert.equal(await page.getByLabel('Day (UTC)').isChecked(), true, 'by day by default');
    await chartsDrawn(3);
    await page.getByRole('group', { name: 'Time step' }).getByLabel('Hour').check();
    await page.getByText('Contributed and consumed per hour').waitFor();
    await chartsDrawn(3);
    const table = page.getByText('The figures per org and time step, newest first');
    await table.click();
    const step = page.locator('details tbody tr').first();
    await step.waitFor();
    // from, then: org, contributed, consumed, own, credits, credits to date
    const figures = await step.locator('td').allInnerTexts();
    assert.equal(figures[0], 'acme', figures.join(' | '));
    assert.equal(figures[3], cells[3], `the hour's own GPU-hours are the run's: ${figures.join(' | ')}`);
    assert.equal(figures[5], '0', 'its own sites: no credits either way');
    await tablesWellFormed();
    await shot('10-ledger-after');
    await table.click();
  }));

  test('the ledger verified in the browser: the admin picks acme; its run is in the signed log, signed by its site, and adds up to the credits', inBrowser(async (p) => {
    await acmeCheckpointed(p);
    await page.getByLabel('Org to verify').selectOption('acme');
    assert.equal(await verifiedRecords(), 'checked: 1; verified: 1; signed by their site: 1');
    const verdict = page.getByRole('status').filter({ hasText: 'Every record of acme' });
    assert.match(await verdict.innerText(), /^Verified\s+Every record of acme up to this checkpoint is in the log and signed, and the credits the API reports add up to those records\.$/);
    await page.getByText('This browser pinned the log key now, on its first verification of this server').waitFor();
    const facts = await page.locator('dl.facts').last().innerText();
    assert.match(facts, /Log key\s+[\w.-]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+/, 'the pinned key, to compare with the one the operator published');
    assert.match(facts, /Checkpoint signature\s+verifies with the pinned key/);
    assert.match(await page.locator('dl.facts').first().innerText(), /Log entries at the latest checkpoint\s+[1-9]\d*\s+Signed\s+.+\s+Witnessed by \(as the server reports\)\s+0 of 0 member orgs/);
    const kept = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('suanli:ledger:')));
    assert.deepEqual(kept, [`suanli:ledger:${new URL(page.url()).origin}`], 'the pin and the tree verified, kept for this server');
    await shot('10-ledger-verified');
  }));

  test('the sites view shows the site, its health and heartbeat', inBrowser(async () => {
    await nav('Sites');
    await heading('Sites');
    const row = page.getByRole('row', { name: /acme lab/ });
    await row.getByText('Up', { exact: true }).waitFor();
    assert.match(await row.innerText(), /h100: nodes 1 × GPUs 8/);
    await tablesWellFormed();
    await shot('11-sites');
  }));

  test('the planner: a field the API refuses says why beside it; a video plan’s figures and chart', inBrowser(async () => {
    await nav('Planner');
    await heading('Planner');
    await page.getByLabel('Length (seconds)').fill('');
    const frames = page.getByLabel('Length (frames)');
    await frames.fill('80');
    await page.getByLabel('GPUs', { exact: true }).fill('8');
    // Enter in a field submits the form, as in any form.
    await frames.press('Enter');
    await page.locator('.field-error').getByText(/so frames must be 4k\+1, got 80/).waitFor();
    assert.equal(await frames.getAttribute('aria-invalid'), 'true', 'the field the API named is marked');
    await page.getByRole('alert').getByText('Some fields need fixing').waitFor();
    expectRefusals(400);
    await frames.fill('81');
    await page.getByRole('button', { name: 'Plan', exact: true }).click();
    const result = page.getByRole('heading', { level: 2, name: 'Result' });
    await result.waitFor();
    assert.equal(await result.evaluate((h) => h === document.activeElement), true, 'the answer takes the focus');
    assert.equal(await frames.getAttribute('aria-invalid'), null, 'the problem is gone');
    assert.match(await page.getByRole('row', { name: /^Video tokens/ }).innerText(), /Video tokens\s+75,600/);
    assert.match(await page.getByRole('row', { name: /^Per GPU on 8 \d/ }).innerText(), /29.5 GB of 80 GB/);
    await chartsDrawn(1);
    await tablesWellFormed();
    await shot('12-planner-video');
    // A refused form takes the last answer off the screen (it answered other figures), whether the page or the API refuses it.
    const gpus = page.getByLabel('GPUs', { exact: true });
    await gpus.fill('0');
    await page.getByRole('button', { name: 'Plan', exact: true }).click();
    await page.locator('.field-error').getByText('A whole number from 1').waitFor();
    assert.equal(await result.count(), 0, 'no stale result after the page refused the form');
    assert.equal(await gpus.evaluate((el) => el === document.activeElement), true, 'the focus goes to the field to fix');
    await gpus.fill('8');
    await page.getByRole('button', { name: 'Plan', exact: true }).click();
    await result.waitFor();
    await frames.fill('80');
    await page.getByRole('button', { name: 'Plan', exact: true }).click();
    await page.locator('.field-error').getByText(/so frames must be 4k\+1, got 80/).waitFor();
    assert.equal(await result.count(), 0, 'no stale result after the API refused it');
    assert.equal(await frames.evaluate((el) => el === document.activeElement), true, 'the focus goes to the field the API named');
    expectRefusals(400);
    await frames.fill('81');
    await page.getByRole('button', { name: 'Plan', exact: true }).click();
    await result.waitFor();
  }));

  test('the planner trains on a mix of buckets, added and removed from the keyboard', inBrowser(async () => {
    await page.getByLabel('Train on a dataset mix').check();
    assert.equal(await page.getByLabel('GPUs', { exact: true }).inputValue(), '8', 'a GPU count typed stays');
    await page.getByRole('button', { name: 'Add a bucket' }).press('Enter');
    const second = page.getByRole('group', { name: 'Bucket 2' });
    await second.getByLabel('Width (pixels)').fill('640');
    await second.getByLabel('Height (pixels)').fill('480');
    await second.getByLabel('Length').fill('81');
    await second.getByLabel('Unit').selectOption('frames');
    await second.getByLabel('Clips').fill('2e6');
    await page.getByRole('button', { name: 'Add a bucket' }).click();
    await page.getByRole('button', { name: 'Remove bucket 3' }).click();
    assert.equal(await page.getByRole('group', { name: /^Bucket \d$/ }).count(), 2);
    await page.getByRole('button', { name: 'Plan', exact: true }).click();
    await page.getByText('wan2.1-t2v-14b training · samples: 3M (epochs: 1) · 8 × h100 at 40.0% MFU').waitFor();
    assert.match(await page.getByRole('row', { name: /^640×480/ }).innerText(), /640×480\s+81\s+5.06\s+2M\s+25,200/);
    await chartsDrawn(1);
    await tablesWellFormed();
    await shot('13-planner-train');
    assert.deepEqual(pageErrors, [], 'no console error or exception');
  }));

  test('the simulation report: a wrong file is refused saying why; a report, chosen or dropped, shows its table and charts', inBrowser(async () => {
    await nav('Simulation report');
    await heading('Simulation report');
    const input = page.getByLabel('Report file (JSON)');
    await input.setInputFiles({ name: 'plan.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(VIDEO_PLAN)) });
    await page.getByRole('alert').getByText('plan.json is not a simulation report the dashboard can show.').waitFor();
    await page.getByRole('alert').getByText('It is a “suanli.plan.video/1” document').waitFor();
    await shot('14-report-refused');
    await input.setInputFiles({ name: 'results.json', mimeType: 'application/json', buffer: Buffer.from(SIMULATE_REPORT_TEXT) });
    await page.getByText('Showing results.json; runs: 2.').waitFor();
    assert.equal(await page.getByRole('alert').count(), 0, 'the refusal is gone');
    assert.match(await page.getByRole('row', { name: /^fifo\s+Pooled/ }).innerText(), /2.7 hr.*64.9%.*0.601 \(acme\)/s);
    await chartsDrawn(3);
    await tablesWellFormed();
    await shot('15-report');
    // Dropped on the box: a broken file, then the report again.
    const drop = async (name: string, text: string) => {
      const transfer = await page.evaluateHandle(([n, t]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([t], n, { type: 'application/json' }));
        return dt;
      }, [name, text] as const);
      await page.locator('.dropzone').dispatchEvent('drop', { dataTransfer: transfer });
    };
    await drop('truncated.json', SIMULATE_REPORT_TEXT.slice(0, 100));
    await page.getByRole('alert').getByText('truncated.json is not a simulation report').waitFor();
    assert.equal(await page.getByRole('table').count(), 0, 'the refused file’s figures are not shown');
    await drop('dropped.json', SIMULATE_REPORT_TEXT);
    await page.getByText('Showing dropped.json; runs: 2.').waitFor();
    await chartsDrawn(3);
    assert.deepEqual(pageErrors, [], 'no console error or exception');
  }));

  test('switching to Chinese changes every label at once and is remembered after a reload', inBrowser(async () => {
    await page.getByLabel('Language').selectOption('zh-CN');
    await heading('仿真报告');
    await page.getByText('正在展示 dropped.json；运行数：2。').waitFor();
    assert.match(await page.getByRole('row', { name: /^fifo\s+共享资源池/ }).innerText(), /2.7小时/);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');
    await page.reload();
    await heading('仿真报告');
    await page.getByRole('navigation').getByRole('link', { name: '资源池', exact: true }).click();
    await heading('资源池概览');
    await page.getByRole('row', { name: /acme lab/ }).getByText('正常').waitFor();
    await chartsDrawn(2);
    await shot('16-pool-zh');
  }));

  test('the keyboard reaches the skip link first, and it leads to the content', inBrowser(async () => {
    // From the top of the document (the body focused), as after a page load; the views' own focus is on their h1.
    await page.evaluate(() => {
      document.body.tabIndex = -1;
      document.body.focus();
      document.body.removeAttribute('tabindex');
    });
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.className), 'skip-link');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
  }));

  test('signing out forgets the token and shows the sign-in page', inBrowser(async () => {
    await page.getByRole('button', { name: '退出登录' }).click();
    await heading('登录');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('suanli:token')), null);
    await shot('17-signed-out-zh');
    assert.deepEqual(pageErrors, [], 'no console error or exception in the page');
  }));

  test('a member sees the whole pool’s totals and its own sites, not another org’s', inBrowser(async (p) => {
    await p.client.call('POST', '/orgs', { id: 'beta', name: 'Beta Corp' });
    await p.client.call('POST', '/sites', { name: 'beta secret lab', org_id: 'beta', capacity: [{ gpu_type: 'a100', nodes: 2, gpus_per_node: 4 }] });
    await p.submit(['true'], 4, { org_id: 'beta', gpu_types: ['b200'] });
    const member = await p.client.call<{ token: string }>('POST', '/tokens', { name: 'alice', role: 'member', org_id: 'acme' });
    await page.getByLabel('语言').selectOption('en');
    await page.getByLabel('API token').fill(member.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Signed in as member of acme').waitFor();
    await page.getByText('The whole pool’s totals, and the sites of acme in detail.').waitFor();
    await page.getByRole('heading', { name: 'Sites of acme' }).waitFor();
    assert.match(await page.getByRole('row', { name: /^Beta Corp/ }).innerText(), /Beta Corp \(beta\)\s+8\s+0\s+8\s+1\s+4/, 'beta’s totals and queue');
    assert.match(await page.getByRole('row', { name: /^a100/ }).innerText(), /a100\s+8\s+0\s+8/, 'the pool by GPU type has beta’s GPUs');
    await page.getByRole('row', { name: /^acme lab/ }).waitFor();
    assert.equal(await page.getByText('beta secret lab').count(), 0, 'beta’s site is not shown');
    await chartsDrawn(2);
    await tablesWellFormed();
    await shot('18-member-pool');
    await nav('Submit a job');
    await page.getByText('The job is submitted for acme.').waitFor();
    assert.equal(await page.getByLabel('Org').count(), 0, 'no org to pick');
    await nav('Jobs');
    await page.getByLabel('State').waitFor();
    assert.equal(await page.getByLabel('Org').count(), 0, 'no org filter');
    await shot('19-member-jobs');
    assert.deepEqual(pageErrors, [], 'no console error or exception');
  }));

  test('a member verifies its own org’s ledger in the browser, against the log key pinned before', inBrowser(async (p) => {
    await acmeCheckpointed(p);
    await nav('Ledger');
    await heading('Ledger');
    assert.equal(await page.getByLabel('Org to verify').count(), 0, 'a member verifies its own org');
    assert.match(await verifiedRecords(), /^checked: 1; verified: 1; signed by their site: 1$/);
    await page.getByRole('status').filter({ hasText: 'Every record of acme' }).getByText('Verified', { exact: true }).waitFor();
    assert.equal(await page.getByText('pinned the log key now').count(), 0, 'the key pinned at the admin’s verification, in this browser');
    assert.match(await page.locator('dl.facts').last().innerText(), /History\s+(unchanged since it was verified here|extends the checkpoint verified here before)/);
    await shot('20-member-ledger-verified');
    assert.deepEqual(pageErrors, [], 'no console error or exception');
  }));
});
