// A page per site and managing the pool from the dashboard (issue 19), end to end: the
// production build served by a live control plane (in-process, in memory) in Debian's
// headless Chromium. The admin creates an org, registers a site for it and makes an agent
// token for that site, shown once (and the token works against the API), then revokes it
// (and the API refuses it); a refusal of the API shows beside the field it names. An
// org-admin of acme sees only its org's tokens and sites, may mint no admin token, and
// changes its site's share policy on the site's page. The site's page, at 1400 and 400 px in
// English and Chinese: health and last heartbeat, share policy, WAN links, the jobs on it now
// (acme's own by name, beta's borrowing job by its org only). A member is offered nothing to
// manage. Screenshots go to test-artifacts/web/admin-*.png.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ControlPlaneClient } from '../src/agent/control-plane-client.ts';
import { SiteResponse, TokenListResponse } from '../src/server/schemas.ts';
import { assertFitsWidth, buildDashboard, chromiumMissing, launchChromium, openPage, skipWithoutChromium, speak } from './support/browser.ts';
import { LivePool } from './support/live-pool.ts';

const ARTIFACTS = join(import.meta.dirname, '..', 'test-artifacts', 'web');
const missing = chromiumMissing();

/** The words each check looks for, in each language. */
const WORDS = {
  en: {
    health: 'Health', up: 'Up', lends: 'Lends up to 100%', borrow: 'Who may borrow', everyOrg: 'Every org', wan: 'WAN links', gbps: '10 Gbit/s', ms: '5 ms',
    jobs: 'Jobs on this site now', own: 'Job ', other: 'A job of beta', borrowing: 'beta (borrowing)', placed: 'Placed', ago: / ago|now/,
  },
  'zh-CN': {
    health: '健康状态', up: '正常', lends: '最多出借 100%', borrow: '谁可以借用', everyOrg: '所有组织', wan: '广域网链路', gbps: '每秒 10 Gbit', ms: '5 毫秒',
    jobs: '当前在此站点上的作业', own: '作业 ', other: 'beta 的一个作业', borrowing: 'beta（借用方）', placed: '已分配', ago: /前|现在/,
  },
} as const;

describe('a page per site and managing the pool, in headless Chromium against a live control plane', () => {
  let webRoot = '';
  let pool: LivePool | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let betaSite = '';
  let ownJob = '';
  let orgAdmin = '';
  /** The agent token the admin makes in the browser, and its id. */
  const made = { token: '', id: '' };
  const pageErrors: string[] = [];

  before(async () => {
    if (missing !== undefined) return;
    webRoot = mkdtempSync(join(tmpdir(), 'suanli-web-admin-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    await buildDashboard(webRoot);
    const p = await LivePool.start({ webRoot });
    pool = p;
    // beta's site links to acme's (both sides declare it).
    betaSite = (await p.addSite('beta', 'beta lab', [{ to_site: p.siteId, gbps: 10, latency_ms: 5 }])).siteId;
    // No agent runs anything: what the scheduler placed stays placed. acme's job takes 2 of its 8 GPUs; beta's fills its own site, then borrows 4 of acme's.
    ownJob = await p.submit(['true'], 2, { name: 'render' });
    await p.until(ownJob, 'placed');
    await p.client.call('POST', '/jobs', { name: 'fills beta', org_id: 'beta', gpus: 8, estimate_s: 600, command: ['true'] });
    const borrowing = await p.client.call<{ id: string }>('POST', '/jobs', { name: 'secret beta job', org_id: 'beta', gpus: 4, estimate_s: 600, command: ['true'] });
    await p.until(borrowing.id, 'placed');
    // A heartbeat from acme's agent: the site is up, heard from just now.
    await new ControlPlaneClient({ server: p.url, token: p.agentToken }).call('POST', `/sites/${p.siteId}/heartbeat`, {});
    orgAdmin = (await p.client.call<{ token: string }>('POST', '/tokens', { name: 'acme ops', role: 'org-admin', org_id: 'acme' })).token;
    browser = await launchChromium();
    page = await openPage(browser, 1400, pageErrors);
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: p.url });
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
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `admin-${name}.png`), fullPage: true });
  const heading = (name: string) => page.getByRole('heading', { level: 1, name }).waitFor();
  const signIn = async (p: LivePool, token: string, who: string) => {
    await page.goto(p.url);
    // Signed in already (the session kept in this tab): sign out first.
    const signOut = page.getByRole('button', { name: 'Sign out' });
    await page.getByLabel('API token').or(signOut).waitFor();
    if ((await signOut.count()) > 0) await signOut.click();
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText(`Signed in as ${who}`).waitFor();
  };
  /** A form's field by its label, within the form named `form`. */
  const field = (form: string, label: string) => page.getByRole('form', { name: form }).getByLabel(label, { exact: true });
  /** The problem shown beside a field (its aria-describedby), in words. */
  const problemOf = async (form: string, label: string) => {
    const control = field(form, label);
    await page.waitForFunction((el) => el?.getAttribute('aria-invalid') === 'true', await control.elementHandle());
    const ids = (await control.getAttribute('aria-describedby')) ?? '';
    return page.locator(`[id="${ids.split(' ').find((id) => id.endsWith('-error')) ?? ''}"]`).innerText();
  };
  const fitsWidth = () => assertFitsWidth(page);
  /** The browser logs each refusal the test provoked on purpose (a 409, a 400): those, and only those, are taken off the page's errors. */
  const refused = (...statuses: number[]) => {
    const provoked = pageErrors.splice(0);
    assert.deepEqual(provoked.map((e) => Number(/status of (\d+)/.exec(e)?.[1])), statuses, provoked.join('\n'));
  };

  test('the admin creates an org and registers a site for it; a bad value and the API’s refusal show beside their field', inBrowser(async (p) => {
    await signIn(p, p.admin, 'admin');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Manage' }).click();
    await heading('Tokens');
    await page.getByRole('navigation', { name: 'What to manage' }).getByRole('link', { name: 'Orgs' }).click();
    await heading('Orgs');
    await field('Create an org', 'Name').fill('Gamma Labs');
    await field('Create an org', 'ID (optional)').fill('Gamma Labs');
    await page.getByRole('button', { name: 'Create an org' }).click();
    assert.match(await problemOf('Create an org', 'ID (optional)'), /Lower-case letters, digits and dashes/, 'checked before sending');
    await field('Create an org', 'ID (optional)').fill('acme');
    await page.getByRole('button', { name: 'Create an org' }).click();
    assert.equal(await problemOf('Create an org', 'ID (optional)'), 'id: an org "acme" exists already', 'the API’s refusal beside the field it names');
    await field('Create an org', 'ID (optional)').fill('gamma');
    await page.getByRole('button', { name: 'Create an org' }).click();
    await page.getByRole('status').getByText('Org Gamma Labs (gamma) created.').waitFor();
    refused(409);
    await page.getByRole('row', { name: /^Gamma Labs gamma/ }).waitFor();

    await page.getByRole('navigation', { name: 'What to manage' }).getByRole('link', { name: 'Sites' }).click();
    await heading('Sites');
    await field('Register a site', 'Name').fill('gamma lab');
    await field('Register a site', 'Org').selectOption('gamma');
    await field('Register a site', 'Nodes').fill('two');
    await page.getByRole('button', { name: 'Register a site' }).click();
    assert.equal(await problemOf('Register a site', 'Nodes'), 'A whole number from 0 to 65536.');
    await field('Register a site', 'Nodes').fill('2');
    await page.getByRole('button', { name: 'Register a site' }).click();
    await page.getByRole('status').getByText('Site gamma lab registered.').waitFor();
    await page.getByRole('row', { name: /^gamma lab/ }).waitFor();
    await fitsWidth();
    await shot('sites-en-1400');
  }));

  test('the admin makes an agent token for the new site: shown once, it works against the API; revoked after a confirmation, the API refuses it', inBrowser(async (p) => {
    const gamma = SiteResponse.array().parse((await p.client.call<{ sites: unknown[] }>('GET', '/sites?org=gamma')).sites)[0];
    assert.ok(gamma !== undefined);
    await page.getByRole('navigation', { name: 'What to manage' }).getByRole('link', { name: 'Tokens' }).click();
    await heading('Tokens');
    const form = 'Create a token';
    await field(form, 'Name').fill('gamma agent');
    await field(form, 'Role').selectOption('agent');
    await page.getByRole('button', { name: form }).click();
    assert.equal(await problemOf(form, 'Org'), 'Choose an org.');
    await field(form, 'Org').selectOption('gamma');
    await field(form, 'Site').selectOption(gamma.id);
    await page.getByRole('button', { name: form }).click();
    const secret = page.getByLabel('The token', { exact: true });
    made.token = await secret.inputValue();
    assert.match(made.token, /^sl_[0-9a-z]+_/);
    await page.getByText('This token is not shown again: copy it now').waitFor();
    await page.getByRole('button', { name: 'Copy the token' }).click();
    await page.getByRole('status').getByText('Copied.').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), made.token);
    await shot('token-new-en-1400');
    const agent = new ControlPlaneClient({ server: p.url, token: made.token });
    const heard = SiteResponse.parse(await agent.call('POST', `/sites/${gamma.id}/heartbeat`, {}));
    assert.equal(heard.health, 'up', 'the new token is the site’s agent’s');
    await page.getByRole('button', { name: 'Done: forget it here' }).click();
    assert.equal(await page.getByLabel('The token', { exact: true }).count(), 0, 'not shown again');

    const listed = TokenListResponse.parse(await p.client.call('GET', '/tokens?org=gamma')).tokens;
    made.id = listed.find((k) => k.name === 'gamma agent')?.id ?? '';
    await page.getByRole('button', { name: `Revoke token gamma agent (${made.id})` }).click();
    const confirm = page.getByRole('group', { name: /^Revoke token gamma agent/ });
    await confirm.getByText('This cannot be undone.').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Revoke the token', 'the confirming button has the focus');
    await confirm.getByRole('button', { name: 'Revoke the token' }).click();
    await page.getByRole('row', { name: /^gamma agent/ }).getByText(/^Revoked /).waitFor();
    await assert.rejects(agent.call('POST', `/sites/${gamma.id}/heartbeat`, {}), /401|unknown or revoked/);
    assert.deepEqual(pageErrors, [], 'no console error or exception');
  }));

  test('an org-admin of acme sees only its org’s tokens and sites, and may mint no admin token', inBrowser(async (p) => {
    await signIn(p, orgAdmin, 'org-admin of acme');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Manage' }).click();
    await heading('Tokens');
    assert.deepEqual(await page.getByRole('navigation', { name: 'What to manage' }).getByRole('link').allInnerTexts(), ['Sites', 'Tokens'], 'orgs are the admin’s');
    await page.getByText('The tokens of acme').waitFor();
    const rows = page.locator('section[aria-labelledby="admin-token-list"] tbody tr');
    await rows.first().waitFor();
    const orgs = await rows.locator('td:nth-child(4)').allInnerTexts();
    assert.ok(orgs.length >= 2 && orgs.every((o) => o === 'acme'), `only acme's tokens: ${orgs.join(', ')}`);
    assert.equal(await page.getByText('gamma agent').count(), 0);
    const roles = await field('Create a token', 'Role').locator('option').allInnerTexts();
    assert.deepEqual(roles.slice(1), ['org-admin', 'member', 'agent']);
    assert.equal(await page.getByRole('form', { name: 'Create a token' }).getByLabel('Org', { exact: true }).count(), 0, 'its own org, not a choice');
    await page.getByRole('navigation', { name: 'What to manage' }).getByRole('link', { name: 'Sites' }).click();
    await heading('Sites');
    await page.getByRole('row', { name: /^acme lab/ }).waitFor();
    assert.equal(await page.getByText('gamma lab').count() + (await page.getByText('beta lab').count()), 0, 'no other org’s site');
    await fitsWidth();
    await shot('tokens-org-admin-en-1400');
  }));

  for (const [locale, width] of [['en', 1400], ['zh-CN', 400], ['zh-CN', 1400], ['en', 400]] as const) {
    const w = WORDS[locale];
    test(`the site’s page at ${width} px in ${locale}: health and last heartbeat, share policy, WAN links, the jobs on it now`, inBrowser(async (p) => {
      await page.setViewportSize({ width, height: 900 });
      await page.goto(`${p.url}/sites/${p.siteId}`);
      await speak(page, locale);
      await heading('acme lab');
      const facts = page.locator('dl.facts').first();
      assert.match(await facts.locator('.fact', { has: page.getByText(w.health, { exact: true }) }).innerText(), new RegExp(w.up));
      assert.match(await facts.innerText(), w.ago);
      const share = page.getByRole('region', { name: locale === 'en' ? 'Share policy' : '共享策略' });
      assert.match(await share.innerText(), new RegExp(`${w.lends}[\\s\\S]*${w.borrow}\\s+${w.everyOrg}`));
      // beta's site is another org's: by the id acme declared, not by name.
      const wan = await page.getByRole('region', { name: w.wan }).locator('tbody tr').allInnerTexts();
      assert.deepEqual(wan.map((r) => r.split(/\s*\t\s*|\n/).filter((x) => x !== '')), [[betaSite, w.gbps, w.ms]]);
      const jobs = page.getByRole('region', { name: w.jobs });
      const own = jobs.getByRole('link', { name: new RegExp(`^${w.own}${ownJob}`) });
      assert.equal(await own.getAttribute('href'), `/jobs/${ownJob}`);
      const other = jobs.getByRole('row', { name: new RegExp(`^${w.other}`) });
      const row = await other.innerText();
      assert.ok([w.borrowing, w.placed, 'h100 × 4'].every((x) => row.includes(x)), row);
      assert.equal(await other.getByRole('link').count(), 0, 'another org’s job links nowhere');
      assert.equal(await page.getByText('secret beta job').count(), 0, 'nor is it named');
      await fitsWidth();
      await shot(`site-${locale}-${width}`);
      assert.deepEqual(pageErrors, [], 'no console error or exception');
    }));
  }

  test('the org-admin changes its site’s share policy on the page: a bad value and the API’s refusal beside their field, then saved', inBrowser(async (p) => {
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.goto(`${p.url}/sites/${p.siteId}`);
    await speak(page, 'en');
    await page.getByRole('button', { name: 'Change the share policy' }).click();
    const form = 'Change the share policy';
    await field(form, 'Share lent (%)').fill('150');
    await page.getByRole('radio', { name: 'Only the orgs listed' }).check();
    await field(form, 'Orgs that may borrow').fill('nosuch');
    await page.getByRole('button', { name: 'Save the share policy' }).click();
    assert.equal(await problemOf(form, 'Share lent (%)'), 'A percentage from 0 to 100.');
    await field(form, 'Share lent (%)').fill('75');
    await page.getByRole('button', { name: 'Save the share policy' }).click();
    assert.equal(await problemOf(form, 'Orgs that may borrow'), 'share.lend_to[0]: no org "nosuch"');
    await field(form, 'Orgs that may borrow').fill('beta, gamma');
    await page.getByRole('button', { name: 'Save the share policy' }).click();
    await page.getByRole('status').getByText('The share policy is saved.').waitFor();
    refused(400);
    await page.getByText('Lends up to 75%').waitFor();
    await page.getByText('beta and gamma').waitFor();
    const site = SiteResponse.parse(await p.client.call('GET', `/sites/${p.siteId}`));
    assert.deepEqual([site.share.lend_fraction, site.share.lend_to], [0.75, ['beta', 'gamma']]);
    await shot('site-share-en-1400');
  }));

  test('a member manages nothing: no link, a note at the admin pages, and no share policy to change', inBrowser(async (p) => {
    const member = await p.client.call<{ token: string }>('POST', '/tokens', { name: 'bo', role: 'member', org_id: 'acme' });
    await signIn(p, member.token, 'member of acme');
    assert.equal(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Manage' }).count(), 0);
    await page.goto(`${p.url}/admin/tokens`);
    await page.getByText('A member manages nothing here').waitFor();
    assert.equal(await page.getByRole('form').count(), 0);
    await page.goto(`${p.url}/sites/${p.siteId}`);
    await heading('acme lab');
    await page.getByText('Lends up to 75%').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Change the share policy' }).count(), 0);
    assert.deepEqual(pageErrors, [], 'no console error or exception');
  }));
});
