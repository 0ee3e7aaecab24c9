// The views rendered to HTML (react-dom/server) from API answers, in both languages:
// the figures, the words, the table semantics, and no message key left untranslated.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReactNode } from 'react';
import { renderToString } from 'react-dom/server';
import type { ApiClient } from '../api/client.ts';
import type { Identity } from '../api/identity.ts';
import { I18nProvider } from '../i18n/i18n-context.tsx';
import { LOCALES, type Locale } from '../i18n/i18n.ts';
import { poolUsage } from '../model/pool-usage.ts';
import { holding, job, site } from '../model/test-data.ts';
import { SessionContext } from '../session-context.tsx';
import { JobDetail } from './job-view.tsx';
import { JobTable, JobsView } from './jobs-view.tsx';
import { Ledger } from './ledger-view.tsx';
import { PoolOverview } from './pool-view.tsx';
import { SignInView } from './sign-in-view.tsx';
import { SiteTable } from './sites-view.tsx';
import { SubmitView } from './submit-view.tsx';

const ADMIN: Identity = { role: 'admin', orgId: null, tokenName: 'ops' };
const MEMBER: Identity = { role: 'member', orgId: 'acme', tokenName: null };

function html(locale: Locale, node: ReactNode): string {
  return renderToString(<I18nProvider fixed={locale}>{node}</I18nProvider>);
}

/** The text of the HTML, without tags (entities decoded where the tests care). */
const text = (h: string) => h.replace(/<[^>]+>/g, ' ').replace(/&#x27;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/\s+/g, ' ');

/** A message key printed instead of its message (`pool.idle`) would show as text. */
function assertNoRawKeys(h: string): void {
  assert.doesNotMatch(text(h), /\b(app|nav|signIn|common|pool|jobs|job|submit|ledger|sites|state|health|role|error|reason|diagnosis|chart|notFound)\.[a-z][A-Za-z_]+\b/);
}

const sites = [site('a', 'acme', { h100: [2, 8] }), site('b', 'beta', { a100: [1, 4] }, { health: 'lost', last_heartbeat_at: '2026-11-26T15:00:00.000Z' })];
const overview = { usage: poolUsage(sites, [holding('1', 'acme', [['a', 'h100', 6]])]), running: 1, waiting: { jobs: 2, gpus: 24 }, complete: true };

test('the pool overview shows the figures by site, org and type, in tables with headers', () => {
  for (const locale of LOCALES) {
    const h = html(locale, <PoolOverview data={overview} identity={ADMIN} samples={[]} />);
    assertNoRawKeys(h);
    assert.match(h, /<th scope="row">a lab<\/th><td>acme<\/td><td>h100<\/td>/);
    assert.match(text(h), /16 6 10 0/, 'site a: capacity, allocated, idle, unavailable');
    assert.match(text(h), /a lab · h100|b lab/, 'and the chart is there to be drawn');
    assert.equal((h.match(/<th scope="col"/g) ?? []).length, 16, 'every column has a header');
  }
  assert.match(text(html('en', <PoolOverview data={overview} identity={ADMIN} samples={[]} />)), /Jobs waiting 2 GPUs asked by waiting jobs 24/);
  assert.match(text(html('zh-CN', <PoolOverview data={overview} identity={ADMIN} samples={[]} />)), /空闲 10/);
});

test('an org member’s overview says whose it is', () => {
  assert.match(text(html('en', <PoolOverview data={overview} identity={MEMBER} samples={[]} />)), /The sites and jobs of acme\./);
});

test('numbers follow the language: grouping in both, GPU-hours with decimals', () => {
  const ledger = { rows: [{ org_id: 'acme', gpu_type: 'h100', contributed_gpu_h: 12_345.678, consumed_gpu_h: 0.0012, own_gpu_h: 0, credits_gpu_h: -3.5 }], pool: [{ gpu_type: 'h100', contributed_gpu_h: 12_345.678, consumed_gpu_h: 12_345.678, own_gpu_h: 0 }] };
  for (const locale of LOCALES) {
    const h = html(locale, <Ledger ledger={ledger} identity={ADMIN} />);
    assertNoRawKeys(h);
    assert.match(text(h), /12,345\.68 0\.0012 0 -3\.5/, locale);
  }
  assert.match(text(html('zh-CN', <Ledger ledger={ledger} identity={ADMIN} />)), /贡献.*消耗.*自用.*积分/);
});

test('the job list translates states and says why a job waits, in the chosen language', () => {
  const waiting = job('7', 'acme', { diagnosis: { message: '0/2 sites fit: 2 too few free GPUs', sites: 2, reasons: { too_few_free: 2 }, never: false } });
  const en = text(html('en', <JobTable jobs={[waiting, job('8', 'beta', { state: 'running', gpu_types: ['h100'] })]} />));
  assert.match(en, /7 job-7 acme Pending 1 any 1 hr/);
  assert.match(en, /Sites that fit: 0 of 2 — too few free GPUs: 2/);
  assert.match(en, /Running 1 h100/);
  const zh = html('zh-CN', <JobTable jobs={[waiting]} />);
  assertNoRawKeys(zh);
  assert.match(text(zh), /等待中.*可容纳的站点：2 个中 0 个——空闲 GPU 不足：2/);
  assert.match(zh, /<a href="\/jobs\/7">7<\/a>/, 'each job links to its page');
});

test('a diagnosis with a reason the dashboard does not know yet shows the server’s sentence', () => {
  const odd = job('9', 'acme', { diagnosis: { message: '0/1 site fit: 1 on fire', sites: 1, reasons: { on_fire: 1 }, never: true } });
  assert.match(text(html('zh-CN', <JobTable jobs={[odd]} />)), /0\/1 site fit: 1 on fire/);
});

test('a job’s page: where it runs (by site name), its log tail, its history', () => {
  const running = holding('12', 'acme', [['a', 'h100', 2]], {
    command: ['sh', '-c', "echo 'hi'"],
    events: [
      { seq: 1, at: '2026-11-26T15:10:34.000Z', type: 'submitted', from_state: null, to_state: 'pending', detail: {} },
      { seq: 2, at: '2026-11-26T15:10:35.000Z', type: 'placed', from_state: 'pending', to_state: 'placed', detail: { policy: 'fair-share' } },
    ],
  });
  const withLog = { ...running, placements: running.placements.map((p) => ({ ...p, log_tail: 'step 1\nstep 2', log_at: '2026-11-26T15:11:00.000Z' })) };
  for (const locale of LOCALES) {
    const h = html(locale, <JobDetail job={withLog} siteNames={new Map([['a', 'Acme cluster']])} />);
    assertNoRawKeys(h);
    assert.match(h, /Acme cluster · h100 × 2/);
    assert.match(h, /<pre class="log" tabindex="0"[^>]*>step 1\nstep 2<\/pre>/);
    assert.match(text(h), /sh -c 'echo '\\''hi'\\'''/, 'the command, quoted as a shell would need it');
  }
  assert.match(text(html('en', <JobDetail job={withLog} siteNames={new Map()} />)), /Pending → Placed/);
  assert.match(text(html('zh-CN', <JobDetail job={withLog} siteNames={new Map()} />)), /等待中 → 已分配/);
});

test('the sites table: capacity, health, heartbeat relative to when it was read, share policy', () => {
  const now = Date.parse('2026-11-26T15:10:34.000Z');
  const en = text(html('en', <SiteTable sites={sites} now={now} />));
  assert.match(en, /a lab a acme h100: nodes 2 × GPUs 8 16 Up now Lends up to 100% Does not reclaim lent GPUs/);
  assert.match(en, /Lost 11 minutes ago/);
  assert.match(text(html('zh-CN', <SiteTable sites={sites} now={now} />)), /失联 11分钟前/);
});

test('the sign-in form labels its field, says where the token is kept, and why it is back', () => {
  const h = html('en', <SignInView reason="refused" problem={null} onSubmit={() => Promise.resolve()} />);
  assert.match(h, /<label for="sign-in-token">API token<\/label>/);
  assert.match(h, /id="sign-in-token"[^>]*type="password"/);
  assert.match(text(h), /kept only in this browser tab \(sessionStorage\)/);
  assert.match(h, /role="alert"[^>]*>The server refused your token/);
  const zh = html('zh-CN', <SignInView reason="new" problem={{ kind: 'agent-token' }} onSubmit={() => Promise.resolve()} />);
  assertNoRawKeys(zh);
  assert.match(text(zh), /这是站点代理的令牌/);
});

test('only the admin is offered an org to submit for or to filter by; others are told theirs', () => {
  // Server-side rendering runs no effect: nothing is fetched, so the client is never called.
  const client: ApiClient = { get: () => Promise.reject(new Error('not in this test')), post: () => Promise.reject(new Error('not in this test')) };
  const as = (identity: Identity, node: ReactNode) => html('en', <SessionContext.Provider value={{ client, identity }}>{node}</SessionContext.Provider>);
  const filter = { state: 'active', org: null } as const;
  assert.match(as(ADMIN, <SubmitView />), /<label for="[^"]+">Org<\/label><select/);
  assert.match(as(ADMIN, <JobsView filter={filter} />), /<label for="[^"]+">Org<\/label><select/);
  const member = as(MEMBER, <SubmitView />);
  assert.doesNotMatch(member, />Org<\/label>/);
  assert.match(text(member), /The job is submitted for acme\./);
  assert.doesNotMatch(as(MEMBER, <JobsView filter={filter} />), />Org<\/label>/);
});
