// The views rendered to HTML (react-dom/server) from API answers, in both languages:
// the figures, the words, the table semantics, and no message key left untranslated.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReactNode } from 'react';
import { renderToString } from 'react-dom/server';
import { ApiRequestError, type ApiClient } from '../api/client.ts';
import type { DryRunJson, JobDetailJson, JobEventJson, SiteJobJson } from '../api/types.ts';
import type { Identity } from '../api/identity.ts';
import type { PoolJson } from '../api/types.ts';
import { I18nProvider } from '../i18n/i18n-context.tsx';
import { EVENT_LABEL } from '../i18n/labels.ts';
import { halfWidthBesideChinese, LOCALES, translate, type Locale } from '../i18n/i18n.ts';
import { NEW_PLAN_FORM, withKind } from '../model/plan-form.ts';
import { formOfPlan, NEW_SUBMIT_FORM, type SubmitForm, type SubmitFormErrors } from '../model/submit-form.ts';
import { readSimulateReport } from '../model/simulate-report.ts';
import { NO_RANGE } from '../model/ledger-range.ts';
import { verificationPanel } from '../model/ledger-verification.ts';
import { holding, job, LEDGER_HISTORY, listed, ledgerAudit, LOG_KEY, POOL, site, SIMULATE_REPORT_TEXT, TRAIN_PLAN, VIDEO_PLAN } from '../model/test-data.ts';
import { SessionContext } from '../session-context.tsx';
import { ErrorNote } from '../components/page.tsx';
import { JobDetail } from './job-view.tsx';
import { JobTable, JobsView } from './jobs-view.tsx';
import { BucketSwitch, Ledger, LedgerHistory, LedgerJobs, LedgerRangeForm, LedgerVerification, LedgerView, VerificationResult } from './ledger-view.tsx';
import { PlanFormView, PlanResult } from './plan-view.tsx';
import { PoolOverview } from './pool-view.tsx';
import { SignInView } from './sign-in-view.tsx';
import { ReportRefusal, SimulateReport, SimulateView } from './simulate-view.tsx';
import { navItems } from '../app.tsx';
import { shareFormOf } from '../model/admin-forms.ts';
import { AdminView } from './admin-view.tsx';
import { ShareFormView, SiteDetail } from './site-view.tsx';
import { SiteTable } from './sites-view.tsx';
import { NewToken, TokenTable } from './tokens-view.tsx';
import { DryRunResult, SubmitFormView, SubmitView } from './submit-view.tsx';

/** A client for views rendered on the server: effects do not run there, so nothing is ever fetched. */
const OFFLINE = () => Promise.reject(new Error('not in this test'));
const client: ApiClient = { get: OFFLINE, post: OFFLINE, patch: OFFLINE, delete: OFFLINE };

const ADMIN: Identity = { role: 'admin', orgId: null, tokenName: 'ops' };
const MEMBER: Identity = { role: 'member', orgId: 'acme', tokenName: null };

function html(locale: Locale, node: ReactNode): string {
  return renderToString(<I18nProvider fixed={locale}>{node}</I18nProvider>);
}

/** The text of the HTML, without tags (entities decoded where the tests care). */
const text = (h: string) => h.replace(/<[^>]+>/g, ' ').replace(/&#x27;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/\s+/g, ' ');

/** A message key printed instead of its message (`pool.idle`) would show as text (a file path such as examples/pool.json is not one). */
function assertNoRawKeys(h: string): void {
  assert.doesNotMatch(text(h), /(?<!\/)\b(app|nav|signIn|common|pool|jobs|job|submit|ledger|sites|state|health|role|error|reason|diagnosis|chart|notFound|plan|simulate|site|admin)\.[a-z][A-Za-z_]+\b/);
}

const sites = [site('a', 'acme', { h100: [2, 8] }), site('b', 'beta', { a100: [1, 4] }, { health: 'lost', last_heartbeat_at: '2026-11-26T15:00:00.000Z' })];

test('the pool overview: the pool’s totals, the sites in detail, by org and by type, in tables with headers', () => {
  for (const locale of LOCALES) {
    const h = html(locale, <PoolOverview pool={POOL} identity={ADMIN} />);
    assertNoRawKeys(h);
    assert.match(h, /<th scope="row">a lab<\/th><td>acme<\/td><td>h100<\/td>/);
    assert.match(text(h), /16 6 10 0/, 'site a: GPUs, allocated, idle, unavailable');
    assert.equal((h.match(/<figure class="chart">/g) ?? []).length, 2, 'the charts are there to be drawn: the sites now, the history');
    assert.equal((h.match(/<th scope="col"/g) ?? []).length, 8 + 8 + 4 + 5 + 4, 'every column has a header: sites, orgs, queue waits, GPU types, samples');
  }
  assert.match(text(html('en', <PoolOverview pool={POOL} identity={ADMIN} />)), /Utilization 30% Jobs placed or running 1 Jobs waiting 2 GPUs asked by waiting jobs 24/);
  assert.match(text(html('zh-CN', <PoolOverview pool={POOL} identity={ADMIN} />)), /空闲 10/);
});

test('an org member sees the whole pool’s totals, every org’s, its own sites, and what it borrows', () => {
  const en = text(html('en', <PoolOverview pool={POOL} identity={MEMBER} />));
  assert.match(en, /The whole pool’s totals, and the sites of acme in detail\./);
  assert.match(en, /GPUs 20 Allocated 6 Idle 10 Unavailable \(site lost\) 4/, 'the pool’s, not only acme’s');
  assert.match(en, /Sites of acme/);
  assert.match(en, /Beta \( beta \) 4 0 0 2 24/, 'another org: its totals and its queue');
  assert.doesNotMatch(en, /GPUs your jobs hold/);
  assert.match(text(html('zh-CN', <PoolOverview pool={{ ...POOL, borrowed_gpus: 8 }} identity={MEMBER} />)), /您的作业在其他组织站点上占用的 GPU：8。/);
  assert.match(text(html('en', <PoolOverview pool={{ ...POOL, sites: [] }} identity={MEMBER} />)), /No site of yours is registered\./);
});

/** GET /pool as the admin sees it while beta's job holds 4 of acme's GPUs and 2 of gamma's, and gamma's holds 2 of acme's; beta's site b is lost. */
const LENDING_POOL: PoolJson = {
  ...POOL,
  orgs: [
    { ...POOL.orgs[0]!, lent_gpus: 6 },
    { ...POOL.orgs[1]!, borrowed_gpus: 6 },
    { org_id: 'gamma', name: 'gamma', gpus: 8, allocated: 2, idle: 6, unavailable: 0, borrowed_gpus: 2, lent_gpus: 2, queued_jobs: 0, queued_gpus: 0 },
  ],
  sites: [...POOL.sites, { site_id: 'b', name: 'b lab', org_id: 'beta', health: 'lost', gpu_type: 'a100', gpus: 4, allocated: 0, idle: 0, unavailable: 4 }],
  lending: [{ lender_org_id: 'acme', borrower_org_id: 'beta', gpus: 4 }, { lender_org_id: 'acme', borrower_org_id: 'gamma', gpus: 2 }, { lender_org_id: 'gamma', borrower_org_id: 'beta', gpus: 2 }],
};

test('the pool says who lends to whom now: each org’s GPUs lent and borrowed, the pairs as a table and a grid', () => {
  for (const locale of LOCALES) {
    const h = html(locale, <PoolOverview pool={LENDING_POOL} identity={ADMIN} />);
    assertNoRawKeys(h);
    assert.equal((h.match(/<figure class="chart">/g) ?? []).length, 3, 'the sites, the history, and who lends to whom');
    assert.match(h, /<section aria-labelledby="pool-lending"><h2 id="pool-lending">[^<]+<\/h2>/, 'a section named by its heading');
  }
  const en = text(html('en', <PoolOverview pool={LENDING_POOL} identity={ADMIN} />));
  assert.match(en, /GPUs asked by waiting jobs Lent to other orgs Borrowed from other orgs Acme \( acme \) 16 6 10 0 0 6 0 Beta \( beta \) 4 0 0 2 24 0 6 gamma 8 2 6 0 0 2 2/, 'each org: lent, then borrowed');
  assert.match(en, /Who lends to whom now .* Lender Borrower GPUs acme beta 4 acme gamma 2 gamma beta 2/);
  assert.match(en, /GPUs lent now, by lender and borrower/);
  const zh = text(html('zh-CN', <PoolOverview pool={LENDING_POOL} identity={MEMBER} />));
  assert.match(zh, /借给其他组织 向其他组织借用 Acme \( acme \) 16 6 10 0 0 6 0/, 'a member sees every org’s too: they are totals by org');
  assert.match(zh, /当前谁借给谁 .* 出借方 借用方 GPU 数 acme beta 4/);
  for (const [locale, none] of [['en', /No org’s jobs hold another org’s GPUs now\./], ['zh-CN', /当前没有组织的作业占用其他组织的 GPU。/]] as const) {
    const h = html(locale, <PoolOverview pool={POOL} identity={ADMIN} />);
    assert.match(text(h), none);
    assert.equal((h.match(/<figure class="chart">/g) ?? []).length, 2, 'no grid with nothing lent');
  }
});

test('a lost site stands out on the pool page: its row shaded and marked, and a note naming it', () => {
  const en = html('en', <PoolOverview pool={LENDING_POOL} identity={ADMIN} />);
  assert.match(text(en), /Lost sites: b lab\. Their agents have gone silent/);
  assert.match(en, /<tr class="row-lost"><th scope="row">b lab<\/th>.*?<span class="badge health-lost">Lost<\/span>/, 'the row stands out, and says “Lost” in words');
  assert.equal((en.match(/class="row-lost"/g) ?? []).length, 1, 'only the lost site’s row');
  assert.match(text(html('zh-CN', <PoolOverview pool={LENDING_POOL} identity={ADMIN} />)), /失联站点：b lab。/);
  assert.doesNotMatch(html('en', <PoolOverview pool={POOL} identity={ADMIN} />), /row-lost|Lost sites/, 'nothing lost, nothing marked');
});

test('numbers follow the language: grouping in both, GPU-hours with decimals', () => {
  const ledger = { rows: [{ org_id: 'acme', gpu_type: 'h100', contributed_gpu_h: 12_345.678, consumed_gpu_h: 0.0012, own_gpu_h: 0, credits_gpu_h: -3.5 }], pool: [{ gpu_type: 'h100', contributed_gpu_h: 12_345.678, consumed_gpu_h: 12_345.678, own_gpu_h: 0 }] };
  for (const locale of LOCALES) {
    const h = html(locale, <Ledger ledger={ledger} identity={ADMIN} range={NO_RANGE} />);
    assertNoRawKeys(h);
    assert.match(text(h), /12,345\.68 0\.0012 0 -3\.5/, locale);
  }
  assert.match(text(html('zh-CN', <Ledger ledger={ledger} identity={ADMIN} range={NO_RANGE} />)), /贡献.*消耗.*自用.*积分/);
});

test('the ledger over time: two charts, a labelled step switch, and the figures as a folded table with credits to date', () => {
  for (const locale of LOCALES) {
    const h = html(locale, <LedgerHistory history={LEDGER_HISTORY} />);
    assertNoRawKeys(h);
    assert.equal((h.match(/<figure class="chart">/g) ?? []).length, 2, 'credits to date, and contributed and consumed per step');
    assert.match(h, /<details><summary>[^<]+<\/summary><div class="table-wrap"><table><caption class="visually-hidden">/, 'the table is folded under a summary the keyboard reaches, and named');
    assert.equal((h.match(/<th scope="col"/g) ?? []).length, 7);
    const switched = html(locale, <BucketSwitch bucket="hour" onChange={() => undefined} />);
    assertNoRawKeys(switched);
    assert.match(switched, /^<fieldset class="checks"><legend>[^<]+<\/legend>/, 'the radio buttons are a group named by its legend');
    assert.equal((switched.match(/<label><input type="radio" name="([^"]+)"/g) ?? []).length, 2, 'each radio button inside its label');
    assert.match(switched, /checked="" value="hour"/);
  }
  const en = text(html('en', <LedgerHistory history={LEDGER_HISTORY} />));
  assert.match(en, /Credits to date per org/);
  assert.match(en, /Contributed and consumed per UTC day/);
  // Newest day first, orgs in order within it; days named as UTC days, whatever the local time zone.
  assert.match(en, /Nov 26, 2026 acme 0 2 0 -2 4 Nov 26, 2026 beta 2 0 0 2 -4 Nov 25, 2026 acme 6 0 1\.5 6 6 Nov 25, 2026 beta 0 6 0 -6 -6/);
  assert.match(text(html('en', <LedgerHistory history={{ ...LEDGER_HISTORY, bucket_s: 3600 }} />)), /Contributed and consumed per hour/);
  const zh = text(html('zh-CN', <LedgerHistory history={LEDGER_HISTORY} />));
  assert.match(zh, /各组织的累计积分.*每个 UTC 日的贡献与消耗/);
  assert.match(zh, /2026\/11\/26 acme 0 2 0 -2 4/);
  assert.match(text(html('en', <LedgerHistory history={{ bucket_s: 86_400, points: [] }} />)), /No rows yet\./);
});

test('the ledger page: the history and its switch wait for a ledger with rows', () => {
  const h = html('en', <SessionContext.Provider value={{ client, identity: MEMBER }}><LedgerView /></SessionContext.Provider>);
  assert.match(text(h), /The rows of acme, and the pool’s totals\. .* Loading/);
  assert.doesNotMatch(h, /Time step/, 'nothing loaded yet, so no history to switch');
});

test('the ledger page verifies in the browser: the admin chooses the org, a member verifies its own', () => {
  const admin = text(html('en', <SessionContext.Provider value={{ client, identity: ADMIN }}><LedgerView /></SessionContext.Provider>));
  assert.match(admin, /Verified in this browser .* Org to verify Choose an org to verify its ledger Reading the usage log’s latest checkpoint… Verify again/);
  const member = html('zh-CN', <SessionContext.Provider value={{ client, identity: MEMBER }}><LedgerView /></SessionContext.Provider>);
  assertNoRawKeys(member);
  assert.match(text(member), /由本浏览器验证 .* 正在读取用量日志的最新检查点… 重新验证/);
  assert.doesNotMatch(text(member), /要验证的组织/, 'a member verifies its own org: nothing to choose');
});

test('a verification as it goes: the checkpoint with its witnesses, the records read so far, then the verdict', () => {
  const { audit, checkpoint } = ledgerAudit();
  const pin = { origin: checkpoint.origin, logKey: checkpoint.log_key, pinnedAt: '2026-11-26T15:11:00.000Z' };
  for (const locale of LOCALES) {
    for (const v of [
      { phase: 'none' }, { phase: 'records', checkpoint, progress: { records: 1234, scanned: 5000, size: 12_000 } }, { phase: 'checking', checkpoint, records: 1234 },
      { phase: 'done', checkpoint, panel: null, unsaved: false }, { phase: 'failed', checkpoint, error: new Error('the network went away') },
    ] as const) assertNoRawKeys(html(locale, <LedgerVerification verification={v} org="acme" />));
  }
  const reading = text(html('en', <LedgerVerification verification={{ phase: 'records', checkpoint, progress: { records: 1234, scanned: 5000, size: 12_000 } }} org="acme" />));
  assert.match(reading, /Log entries at the latest checkpoint 2 Signed .* Witnessed by \(as the server reports\) 1 of 2 member orgs ?: beta/);
  assert.match(reading, /Reading the records of acme: 1,234 so far \(log entry 5,000 of 12,000\)/);
  assert.match(html('en', <LedgerVerification verification={{ phase: 'records', checkpoint, progress: { records: 1234, scanned: 5000, size: 12_000 } }} org="acme" />), /<progress aria-label="Log entries read" value="5000" max="12000">/);
  assert.match(text(html('en', <LedgerVerification verification={{ phase: 'none' }} org="acme" />)), /The usage log has no checkpoint yet/);
  assert.match(text(html('zh-CN', <LedgerVerification verification={{ phase: 'checking', checkpoint, records: 2 }} org="acme" />)), /正在检查 acme 的记录（记录数：2）…/);

  const done = (first: boolean) => <LedgerVerification verification={{ phase: 'done', checkpoint, panel: verificationPanel(audit, { pin, firstUse: first, logKeyShown: checkpoint.log_key, last: undefined }), unsaved: false }} org="acme" />;
  const en = text(html('en', done(true)));
  assert.match(en, /Verified Every record of acme up to this checkpoint is in the log and signed/);
  assert.match(en, /pinned the log key now, on its first verification of this server/);
  assert.ok(en.includes(`Log key ${LOG_KEY.verifierKey}`), 'the pinned key, whole, to compare with the published one');
  assert.match(en, /Checkpoint signature verifies with the pinned key History first verification of this org here/);
  assert.match(en, /Records of acme checked: 2; verified: 2; signed by their site: 1/);
  assert.match(en, /Written by the control plane alone, with no site’s signature .*: 1\. .* entry #1 \(job 8, attempt 1\)/);
  assert.doesNotMatch(text(html('en', done(false))), /first verification of this server/);
  assert.match(text(html('en', done(false))), /pinned Nov 26, 2026/);
  const zh = html('zh-CN', done(true));
  assertNoRawKeys(zh);
  assert.match(text(zh), /已验证 截至此检查点，acme 的每条记录都在日志中且已签名/);
});

test('a ledger that does not verify says so, with the audit’s own words for what failed, twelve at most', () => {
  const { audit, checkpoint } = ledgerAudit({}, Array.from({ length: 14 }, () => 0));
  const pin = { origin: checkpoint.origin, logKey: checkpoint.log_key, pinnedAt: '2026-11-26T15:11:00.000Z' };
  const panel = verificationPanel(audit, { pin, firstUse: false, logKeyShown: 'suanli-ledger+00000000+AQ==', last: undefined });
  for (const locale of LOCALES) {
    const h = html(locale, <VerificationResult panel={panel} />);
    assertNoRawKeys(h);
    assert.equal((h.match(/<li>entry #0 \(job 7 attempt 1\): a second record/g) ?? []).length, 12, locale);
  }
  const en = text(html('en', <VerificationResult panel={panel} />));
  assert.match(en, /Not verified What did not hold for acme: 15\./);
  assert.match(en, /The server now shows another log key, suanli-ledger\+00000000\+AQ==: checkpoints are checked with the pinned one\./);
  assert.match(en, /… and 2 more\./);
  assert.match(text(html('zh-CN', <VerificationResult panel={panel} />)), /未通过验证 acme 未通过的检查：15 项。.*……另有 2 项。/);
});

test('the job list translates states and says why a job waits, in the chosen language', () => {
  const waiting = listed('7', 'acme', { diagnosis: { message: '0/2 sites fit: 2 too few free GPUs', sites: 2, reasons: { too_few_free: 2 }, never: false } });
  const en = text(html('en', <JobTable jobs={[waiting, listed('8', 'beta', { state: 'running', gpu_types: ['h100'] })]} siteNames={new Map()} now={0} />));
  assert.match(en, /7 job-7 acme alice Pending 1 any — /);
  assert.match(en, /Sites that fit: 0 of 2 — too few free GPUs: 2/);
  assert.match(en, /Running 1 h100/);
  const zh = html('zh-CN', <JobTable jobs={[waiting]} siteNames={new Map()} now={0} />);
  assertNoRawKeys(zh);
  assert.match(text(zh), /等待中.*可容纳的站点：2 个中 0 个——空闲 GPU 不足：2/);
  assert.match(zh, /<a href="\/jobs\/7">7<\/a>/, 'each job links to its page');
});

test('the job list as a daily tool: newest first, sortable columns for user, sites, start, end and run time, a checkbox per job still running', () => {
  const at = (s: number) => new Date(Date.parse('2026-11-26T15:10:34.000Z') + s * 1000).toISOString();
  const part = (site_id: string, lender_org_id: string) => ({ site_id, lender_org_id, gpu_type: 'h100', gpus: 8, nodes: 1 });
  const jobs = [
    listed('12', 'acme', { state: 'running', submitted_by_name: null, last_placement: { attempt: 1, parts: [part('a', 'acme')], placed_at: at(0), started_at: at(60), ended_at: null } }),
    listed('11', 'acme', { state: 'succeeded', submitted_by_name: 'bob ci', last_placement: { attempt: 2, parts: [part('a', 'acme'), part('beta:site-1', 'beta')], placed_at: at(0), started_at: at(10), ended_at: at(100) } }),
    listed('3', 'acme'),
  ];
  const now = Date.parse(at(660));
  const render = (locale: Locale) => html(locale, <JobTable jobs={jobs} siteNames={new Map([['a', 'Acme cluster']])} now={now} selection={{ selected: new Set(['12']), onChange: () => undefined }} />);
  for (const locale of LOCALES) {
    const h = render(locale);
    assertNoRawKeys(h);
    // Newest first, as the API gives them: the ID column says so to screen readers and with an arrow.
    assert.match(h, /<th scope="col" aria-sort="descending"><button type="button" class="sort">[^<]+<span class="sort-cue" aria-hidden="true">▼<\/span><\/button><\/th>/);
    assert.equal((h.match(/aria-sort=/g) ?? []).length, 1, 'one column sorted');
    assert.equal((h.match(/<button type="button" class="sort">/g) ?? []).length, 13, 'every column but the diagnosis sorts');
    assert.deepEqual([...h.matchAll(/<a href="\/jobs\/(\d+)">/g)].map((m) => m[1]), ['12', '11', '3']);
    // A checkbox for each job that can still be cancelled, labelled; the header's chooses them all.
    assert.equal((h.match(/type="checkbox"/g) ?? []).length, 3, 'the header’s, job 12’s and job 3’s; none for the finished job 11');
    assert.match(h, /<td class="select"><input type="checkbox" aria-label="[^"]*12[^"]*" checked=""/);
  }
  const en = text(render('en'));
  assert.match(en, /12 job-12 acme the pool’s admin Running 1 any Acme cluster .+ 10 min 1 hr/, 'running: its run time so far (60 s to 660 s)');
  assert.match(en, /11 job-11 acme bob ci Succeeded 1 any Acme cluster, beta:site-1 \(lent by beta\) .+ 1\.5 min 1 hr/);
  assert.match(en, /3 job-3 acme alice Pending 1 any — .+ — — — 1 hr/, 'never placed: no site, start, end or run time');
  assert.match(render('en'), /aria-label="Select job 12"/);
  const zh = text(render('zh-CN'));
  assert.match(zh, /资源池管理员 运行中/);
  assert.match(zh, /Acme cluster, beta:site-1（由 beta 出借）/);
  assert.match(zh, /1\.5分钟/);
  assert.match(render('zh-CN'), /aria-label="选择作业 12"/);
  assert.match(render('zh-CN'), /用户.*站点.*开始.*结束.*运行时长/s);
});

test('a job’s page names who submitted it by token name (the admin’s token by role to others), with the token’s id', () => {
  const running = holding('12', 'acme', [['a', 'h100', 2]]);
  assert.match(text(html('en', <JobDetail job={running} siteNames={new Map()} />)), /Submitted by alice \(token tok1\)/);
  assert.match(text(html('zh-CN', <JobDetail job={running} siteNames={new Map()} />)), /提交者 alice（令牌 tok1）/);
  assert.match(text(html('en', <JobDetail job={{ ...running, submitted_by_name: null }} siteNames={new Map()} />)), /Submitted by the pool’s admin \(token tok1\)/);
});

test('a diagnosis with a reason the dashboard does not know yet shows the server’s sentence', () => {
  const odd = listed('9', 'acme', { diagnosis: { message: '0/1 site fit: 1 on fire', sites: 1, reasons: { on_fire: 1 }, never: true } });
  assert.match(text(html('zh-CN', <JobTable jobs={[odd]} siteNames={new Map()} now={0} />)), /0\/1 site fit: 1 on fire/);
});

test('a job’s page: where it runs (by site name), its log tail, its history', () => {
  const running = holding('12', 'acme', [['a', 'h100', 2]], {
    command: ['sh', '-c', "echo 'hi'"],
    events: [
      { seq: 1, at: '2026-11-26T15:10:34.000Z', type: 'submitted', from_state: null, to_state: 'pending', detail: {} },
      { seq: 2, at: '2026-11-26T15:10:35.000Z', type: 'placed', from_state: 'pending', to_state: 'placed', detail: { policy: 'fair-share' } },
    ],
  });
  const logged = { log_tail: 'step 1\nstep 2', log_at: '2026-11-26T15:11:00.000Z' };
  const withLog = { ...running, placements: running.placements.map((p) => ({ ...p, ...logged, logs: [{ site_id: 'a', lender_org_id: 'acme', ...logged }] })) };
  for (const locale of LOCALES) {
    const h = html(locale, <JobDetail job={withLog} siteNames={new Map([['a', 'Acme cluster']])} />);
    assertNoRawKeys(h);
    assert.match(h, /Acme cluster · h100 × 2/);
    assert.match(h, /<h3 id="job-log-0">[^<]*Acme cluster[^<]*<\/h3>.*<pre class="log" tabindex="0" aria-labelledby="job-log-0">step 1\nstep 2<\/pre>/s, 'the log, under the name of its site');
    assert.match(text(h), /sh -c 'echo '\\''hi'\\'''/, 'the command, quoted as a shell would need it');
  }
  assert.match(text(html('en', <JobDetail job={withLog} siteNames={new Map()} />)), /Pending → Placed/);
  assert.match(text(html('zh-CN', <JobDetail job={withLog} siteNames={new Map()} />)), /等待中 → 已分配/);
});

test('a finished job says where it ran; an event that changes no state shows no change; figures in details lose their float noise', () => {
  const done = holding('13', 'acme', [['a', 'h100', 2]], {
    state: 'succeeded',
    events: [
      { seq: 2, at: '2026-11-26T15:10:35.000Z', type: 'placed', from_state: 'pending', to_state: 'placed', detail: { efficiency: 0.9500000000000001, wan_gbps: 3.4881234 } },
      { seq: 3, at: '2026-11-26T15:10:36.000Z', type: 'part_started', from_state: 'placed', to_state: 'placed', detail: { site: 'a' } },
    ],
  });
  const ended = { ...done, placements: done.placements.map((p) => ({ ...p, ended_at: '2026-11-26T15:20:00.000Z' })) };
  const en = text(html('en', <JobDetail job={ended} siteNames={new Map([['a', 'Acme cluster']])} />));
  assert.match(en, /Ran on Acme cluster · h100 × 2/);
  assert.doesNotMatch(en, /Runs on/);
  assert.doesNotMatch(en, /Placed → Placed/);
  assert.match(en, /Part started — on Acme cluster/);
  assert.match(en, /Placed Pending → Placed efficiency 95%; WAN 3\.49 Gbit\/s/);
  assert.match(text(html('zh-CN', <JobDetail job={ended} siteNames={new Map()} />)), /曾运行于 a · h100 × 2/, 'its own org’s site, not yet named: by its id, lent by no one');
});

test('a job on another org’s GPUs names the lender wherever its placement shows, to the admin too', () => {
  // beta's job on acme's site a and on its own site b.
  const lent = holding('8', 'beta', [['a', 'h100', 8, 'acme'], ['b', 'h100', 4]]);
  const everySite = new Map([['a', 'Acme cluster'], ['b', 'Beta cloud']]);
  for (const locale of LOCALES) assertNoRawKeys(html(locale, <JobDetail job={lent} siteNames={everySite} />));
  const admin = text(html('en', <JobDetail job={lent} siteNames={everySite} />));
  assert.match(admin, /Runs on Acme cluster \(lent by acme\) · h100 × 8 \(nodes: 1\) \(started [^)]+\); Beta cloud · h100 × 4/, 'the admin sees every site by name, and who lends it');
  assert.match(admin, /Where .* 1 Acme cluster \(lent by acme\) · h100 × 8/, 'the placements table too');
  assert.doesNotMatch(admin, /Beta cloud \(lent/, 'its own org’s site is lent by no one');
  // beta's member does not see acme's site: its neutral label, and the lender.
  const member = text(html('zh-CN', <JobDetail job={{ ...lent, placements: lent.placements.map((p) => ({ ...p, parts: p.parts.map((x) => (x.site_id === 'a' ? { ...x, site_id: 'acme:site-1' } : x)) })) }} siteNames={new Map([['b', 'Beta cloud']])} />));
  assert.match(member, /运行位置 acme:site-1（由 acme 出借） · h100 × 8/);
  const done = { ...lent, state: 'succeeded' as const, placements: lent.placements.map((p) => ({ ...p, ended_at: '2026-11-26T15:20:00.000Z' })) };
  assert.match(text(html('zh-CN', <JobDetail job={done} siteNames={everySite} />)), /曾运行于 Acme cluster（由 acme 出借） · h100 × 8/);
});

test('an attempt across sites shows its planned efficiency and WAN bandwidth as figures; a job on one site has no such columns', () => {
  const across = holding('12', 'beta', [['a', 'h100', 8, 'acme'], ['b', 'h100', 8]]);
  const planned = { ...across, placements: across.placements.map((p) => ({ ...p, planned: { efficiency: 0.9500000000000001, wan_gbps: 3.4881234 } })) };
  const names = new Map([['a', 'Acme cluster'], ['b', 'Beta cloud']]);
  for (const locale of LOCALES) assertNoRawKeys(html(locale, <JobDetail job={planned} siteNames={names} />));
  const en = html('en', <JobDetail job={planned} siteNames={names} />);
  assert.match(en, /<th scope="col" class="num">Planned efficiency<\/th><th scope="col" class="num">Planned WAN bandwidth<\/th>/);
  assert.match(en, /<td class="num">95%<\/td><td class="num">3\.49 Gbit\/s<\/td>/);
  assert.match(text(html('zh-CN', <JobDetail job={planned} siteNames={names} />)), /计划效率 计划广域网带宽 .* 95% 每秒 3\.49 Gbit/);
  assert.doesNotMatch(html('en', <JobDetail job={across} siteNames={names} />), /Planned efficiency/, 'nothing planned across sites: no columns');
});

test('a job spanning sites: each site’s part and when it started, its span spec, and why it waits across sites', () => {
  const span = { replica_gpus: 8, sync_bytes: 30e9, outer_step_s: 2400, hidden_s: 0, min_efficiency: 0.8, max_single_site_wait_s: 3600 };
  const across = holding('21', 'beta', [['a', 'h100', 8], ['b', 'h100', 8]], { span });
  for (const locale of LOCALES) {
    const h = html(locale, <JobDetail job={across} siteNames={new Map([['a', 'Acme cluster'], ['b', 'Beta cloud']])} />);
    assertNoRawKeys(h);
    assert.match(text(h), /Acme cluster · h100 × 8.*Beta cloud · h100 × 8/);
  }
  assert.match(text(html('en', <JobDetail job={across} siteNames={new Map()} />)), /Spans sites in replicas of 8 GPUs, at least 80% efficient; 30 GB per synchronization/);
  assert.match(text(html('zh-CN', <JobDetail job={across} siteNames={new Map()} />)), /跨站点运行 每个副本 8 块 GPU/);
  const waiting = job('22', 'beta', {
    span,
    diagnosis: { message: 'x', sites: 2, reasons: { site_too_small: 2 }, never: false, span: 'no WAN link between a and b' },
  });
  assert.match(text(html('en', <JobDetail job={{ ...waiting, placements: [], events: [], measured: null, submitted_by_name: null }} siteNames={new Map()} />)), /Across sites: no WAN link between a and b/);
  // What its parts measured, next to the plan.
  const measured = { attempt: 1, outer_steps: 8, utilization: 0.401, planned_utilization: 0.95, per_outer_step: { compute_s: 2, sync_s: 3, wait_s: 0.0951 }, first_loss: 0.00955, last_loss: 0.00101, parts: [] };
  assert.match(text(html('en', <JobDetail job={{ ...across, measured }} siteNames={new Map()} />)), /Measured across sites utilization 40% \(planned 95%\) over 8 outer steps of attempt 1; loss 0\.00955 → 0\.00101; per outer step, compute 2 sec and synchronization 3 sec, of which 0\.095 sec waiting for slower parts/);
  assert.match(text(html('zh-CN', <JobDetail job={{ ...across, measured }} siteNames={new Map()} />)), /跨站点实测 利用率 40%（计划 95%）.*同步 3秒，其中等待较慢部分 0\.095秒/);
  assert.doesNotMatch(text(html('en', <JobDetail job={across} siteNames={new Map()} />)), /Measured across sites/, 'nothing measured: no line');
});

/** Events as the server writes them: `[type, from, to, time (HH:MM:SS on 2026-11-26), detail]`, numbered in order. */
function history(...events: readonly (readonly [string, JobEventJson['from_state'], JobEventJson['to_state'], string, Record<string, unknown>?])[]): JobEventJson[] {
  return events.map(([type, from_state, to_state, time, detail = {}], i) => ({ seq: i + 1, at: `2026-11-26T${time}.000Z`, type, from_state, to_state, detail }));
}

/**
 * acme's job: attempt 1 on acme's site a, preempted for its owner and requeued; attempt 2 across a and beta's b,
 * each part started, then b reclaimed by beta (the job shrank to a). Each attempt has a log per site.
 */
function shrunkAcrossSites(): JobDetailJson {
  const base = holding('30', 'acme', [['a', 'h100', 8]], { span: { replica_gpus: 8, sync_bytes: 1e9, outer_step_s: 100, hidden_s: 0, min_efficiency: 0.5, max_single_site_wait_s: 0 }, attempts: 2, gpus: 16 });
  const at = (time: string) => `2026-11-26T${time}.000Z`;
  const log = (site_id: string, lender_org_id: string, log_tail: string, time: string) => ({ site_id, lender_org_id, log_tail, log_at: at(time) });
  const part = (site_id: string, lender_org_id: string, time: string) => ({ site_id, lender_org_id, gpu_type: 'h100', gpus: 8, nodes: 1, started_at: at(time) });
  return {
    ...base,
    placements: [
      { attempt: 1, parts: [part('a', 'acme', '15:00:02')], placed_at: at('15:00:01'), started_at: at('15:00:02'), ended_at: at('15:05:00'), logs: [log('a', 'acme', 'first try\n', '15:04:00')], log_tail: 'first try\n', log_at: at('15:04:00'), planned: null },
      {
        attempt: 2, parts: [part('a', 'acme', '15:06:06')], placed_at: at('15:06:00'), started_at: at('15:06:06'), ended_at: null,
        logs: [log('a', 'acme', 'a: step 9\n', '15:11:00'), log('b', 'beta', 'b: step 4\n', '15:09:58')], log_tail: 'a: step 9\n', log_at: at('15:11:00'), planned: { efficiency: 0.9, wan_gbps: 10 },
      },
    ],
    events: history(
      ['submitted', null, 'pending', '15:00:00'],
      ['placed', 'pending', 'placed', '15:00:01', { policy: 'fair-share' }],
      ['started', 'placed', 'running', '15:00:02', { site: 'a', attempt: 1 }],
      ['preempted', 'running', 'preempted', '15:05:00', { why: 'reclaim', stop_at: at('15:06:00') }],
      ['requeued', 'preempted', 'pending', '15:05:00'],
      ['placed', 'pending', 'placed', '15:06:00', { policy: 'fair-share', efficiency: 0.9, wan_gbps: 10 }],
      ['part_started', 'placed', 'placed', '15:06:05', { site: 'b', attempt: 2, waiting_for: ['a'] }],
      ['part_started', 'placed', 'placed', '15:06:06', { site: 'a', attempt: 2, waiting_for: [] }],
      ['started', 'placed', 'running', '15:06:06', { site: 'a', attempt: 2, sites: ['a', 'b'] }],
      ['shrunk', 'running', 'running', '15:10:00', { site: 'b', gpu_type: 'h100', why: 'reclaim', stop_at: at('15:10:30'), efficiency: null }],
    ),
  };
}
const BOTH_SITES = new Map([['a', 'Acme cluster'], ['b', 'Beta cloud']]);
/** The text of a table's body row whose header cell is `name`, cells separated by " | ". */
function rowOf(h: string, name: string): string {
  const m = new RegExp(`<tr><th scope="row">${name.replace(/[()]/g, '\\$&')}</th>(.*?)</tr>`).exec(h);
  assert.ok(m !== null, `a row named ${name}`);
  return (m[1] ?? '').split('</td>').map((cell) => text(cell).trim()).filter((c) => c !== '').join(' | ');
}

test('a job’s timeline: the queue, each attempt and each of its parts per site (one that left too), with their events, as a chart and a table', () => {
  const job = shrunkAcrossSites();
  for (const locale of LOCALES) assertNoRawKeys(html(locale, <JobDetail job={job} siteNames={BOTH_SITES} />));
  const en = html('en', <JobDetail job={job} siteNames={BOTH_SITES} />);
  assert.match(en, /<section aria-labelledby="job-timeline"><h2 id="job-timeline">Timeline<\/h2><figure class="chart">/, 'the chart, under its heading');
  const time = '\\d\\d:\\d\\d:\\d\\d';
  assert.match(rowOf(en, 'In the queue'), new RegExp(`^Nov 26, 2026.* \\| — \\| .* \\| Submitted at ${time}; Back in the queue at ${time}$`));
  assert.match(rowOf(en, 'Attempt 1'), new RegExp(`Placed at ${time}; Preempted at ${time}$`));
  assert.match(rowOf(en, 'Attempt 1 · Acme cluster'), new RegExp(`Started at ${time}$`));
  assert.match(rowOf(en, 'Attempt 2'), new RegExp(`\\| now \\| Placed at ${time}$`), 'still running');
  assert.match(rowOf(en, 'Attempt 2 · Acme cluster'), new RegExp(`\\| now \\| Part started at ${time}; Started at ${time}$`));
  const left = rowOf(en, 'Attempt 2 · Beta cloud (lent by beta)');
  assert.match(left, new RegExp(`Part started at ${time}; Shrunk: a site left at ${time}$`), 'the site that left keeps its row and its events');
  assert.doesNotMatch(left, /now/, 'it ended when it left');
  const zh = html('zh-CN', <JobDetail job={job} siteNames={BOTH_SITES} />);
  assert.match(rowOf(zh, '排队中'), new RegExp(`${time} 已提交；${time} 重新排队$`));
  assert.match(rowOf(zh, '第 2 次尝试 · Beta cloud（由 beta 出借）'), new RegExp(`${time} 部分已启动；${time} 缩减：一个站点退出$`));
  assert.match(text(zh), /时间线 .*对象 起始 开始时间 截至 事件/);
  // A member of acme sees beta's site by its neutral label: so does its row.
  const member = { ...job, placements: job.placements.map((p) => ({ ...p, logs: p.logs.map((l) => (l.site_id === 'b' ? { ...l, site_id: 'beta:site-1' } : l)) })), events: job.events.map((e) => (e.detail.site === 'b' ? { ...e, detail: { ...e.detail, site: 'beta:site-1' } } : e)) };
  assert.match(rowOf(html('en', <JobDetail job={member} siteNames={new Map([['a', 'Acme cluster']])} />), 'Attempt 2 · beta:site-1 (lent by beta)'), /Shrunk: a site left/);
  // Never placed: the queue alone.
  const waiting = { ...job, state: 'pending' as const, placements: [], events: history(['submitted', null, 'pending', '15:00:00']) };
  const alone = html('en', <JobDetail job={waiting} siteNames={BOTH_SITES} />);
  assert.match(rowOf(alone, 'In the queue'), new RegExp(`\\| — \\| now \\| Submitted at ${time}$`));
  assert.doesNotMatch(alone, /Attempt 1/);
});

test('a job’s history in words: every event type the server writes, in both languages, with its detail as phrases; a type not known yet shows as it came', () => {
  const at = '2026-11-26T15:20:00.000Z';
  const all = history(
    ...Object.keys(EVENT_LABEL).map((type) => [type, null, null, '15:00:00'] as const),
    ['preempted', 'running', 'preempted', '15:01:00', { why: 'reclaim', stop_at: at }],
    ['shrunk', 'running', 'running', '15:02:00', { site: 'b', gpu_type: 'h100', why: 'priority', stop_at: at, efficiency: 0.5 }],
    ['failed', 'running', 'failed', '15:03:00', { site: 'a', attempt: 2, exit_code: 3, reason: 'exit_code', detail: 'out of memory', log_tail: 'Traceback…' }],
    ['run_failed', 'running', 'preempted', '15:04:00', { site: 'a', attempt: 1, exit_code: 1, reason: 'engine', retry: '1 of 2' }],
    ['part_started', 'placed', 'placed', '15:05:00', { site: 'b', attempt: 1, waiting_for: ['a'] }],
    ['site_lost', 'running', 'preempted', '15:06:00', { reason: 'the site is lost, gone, or has too few GPUs for this job now' }],
    ['coallocation_failed', 'placed', 'preempted', '15:07:00', { site: 'b', attempt: 1, part_state: 'lost' }],
    ['cancelled', 'running', 'cancelled', '15:08:00', { by: 'tok9' }],
    ['membership', 'running', 'running', '15:09:00', { generation: 2, sites: ['a', 'b'] }],
    ['teleported', 'running', 'running', '15:10:00', { to: 'mars' }],
  );
  const job = { ...holding('31', 'acme', [['a', 'h100', 8]]), events: all };
  // The history: the page's last table.
  const [enHtml, zhHtml] = (['en', 'zh-CN'] as const).map((locale) => {
    const h = html(locale, <JobDetail job={job} siteNames={BOTH_SITES} />);
    return h.slice(h.lastIndexOf('<table>'));
  });
  const [en, zh] = [text(enHtml ?? ''), text(zhHtml ?? '')];
  for (const [type, key] of Object.entries(EVENT_LABEL)) {
    assert.ok(zh.includes(translate('zh-CN', key)), `${type} in Chinese`);
    assert.ok(en.includes(translate('en', key)), `${type} in English`);
    assert.ok(!zh.includes(type) && !enHtml?.includes(`<code>${type}</code>`), `${type}: not its code`);
  }
  assert.match(en, /Preempted Running → Preempted its GPUs reclaimed by their owner; stops at Nov 26, 2026/);
  assert.match(en, /Shrunk: a site left — on Beta cloud; GPU type h100; for a job of higher priority; stops at .*; efficiency 50%/);
  assert.match(en, /Failed Running → Failed on Acme cluster; attempt 2; exit code 3; failed by its exit status; its agent says: out of memory/);
  assert.doesNotMatch(en, /Traceback/, 'the log tail is shown under the logs, not in the history');
  assert.match(en, /ended by its engine; retry 1 of 2/);
  assert.match(en, /Part started — on Beta cloud; attempt 1; waiting for Acme cluster/);
  assert.doesNotMatch(en, /the site is lost, gone/, 'the type says it: no server sentence');
  assert.match(en, /its part reported: lost/);
  assert.match(en, /by token tok9/);
  assert.match(en, /generation 2; sites: Acme cluster and Beta cloud/);
  assert.match(zh, /被抢占 运行中 → 被抢占 GPU 被其所有者收回；于 .* 停止/);
  assert.match(zh, /站点 Acme cluster；第 2 次尝试；退出码 3；因退出状态而失败；代理消息：out of memory/);
  assert.match(zh, /被其执行引擎终止；第 1 次重试，共 2 次/);
  assert.match(zh, /等待 Acme cluster/);
  assert.match(zh, /其部分报告：丢失/);
  assert.match(zh, /第 2 代；站点：Acme cluster和Beta cloud/);
  assert.doesNotMatch(zh, /\b(reclaim|priority|exit_code|waiting_for|stop_at)\b/, 'no code of the server’s in Chinese');
  // A type this dashboard does not know yet: its code, and its detail as it came.
  for (const h of [en, zh]) assert.match(h, /teleported — \{"to":"mars"\}/);
});

test('a job across sites shows a log per site, each under the name of its site and the org lending it, the newest lines at the end', () => {
  const job = shrunkAcrossSites();
  for (const locale of LOCALES) {
    const h = html(locale, <JobDetail job={job} siteNames={BOTH_SITES} />);
    assertNoRawKeys(h);
    const logs = [...h.matchAll(/<section aria-labelledby="(job-log-\d)" class="site-log"><h3 id="\1">([^<]*)<\/h3><p class="muted">([^<]*)<\/p><pre class="log" tabindex="0" aria-labelledby="\1">([^<]*)<\/pre><\/section>/g)].map((m) => [m[2], m[4]]);
    const name = (site: string) => translate(locale, 'job.logOf', { site });
    assert.deepEqual(logs, [[name('Acme cluster'), 'a: step 9\n'], [name(translate(locale, 'job.lentBy', { site: 'Beta cloud', org: 'beta' })), 'b: step 4\n']], `${locale}: the newest attempt’s logs, a site each, in placement order`);
    assert.ok(h.includes(translate(locale, 'job.logFollow')), 'a running job’s logs follow it');
  }
  assert.match(text(html('zh-CN', <JobDetail job={job} siteNames={BOTH_SITES} />)), /Beta cloud（由 beta 出借） 的日志 第 2 次尝试，代理于 .* 发送。/);
  // acme's member: beta's site by its neutral label, with its lender.
  const member = { ...job, placements: job.placements.map((p) => ({ ...p, logs: p.logs.map((l) => (l.site_id === 'b' ? { ...l, site_id: 'beta:site-1' } : l)) })) };
  assert.match(text(html('en', <JobDetail job={member} siteNames={new Map([['a', 'Acme cluster']])} />)), /Log of beta:site-1 \(lent by beta\) Attempt 2/);
  const done = { ...job, state: 'succeeded' as const };
  assert.ok(!html('en', <JobDetail job={done} siteNames={BOTH_SITES} />).includes(translate('en', 'job.logFollow')), 'a finished job’s logs follow nothing');
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
  const as = (identity: Identity, node: ReactNode) => html('en', <SessionContext.Provider value={{ client, identity }}>{node}</SessionContext.Provider>);
  const filter = { state: 'all', org: null, search: '' } as const;
  assert.match(as(ADMIN, <SubmitView />), /<label for="[^"]+">Org<\/label><select/);
  assert.match(as(ADMIN, <JobsView filter={filter} />), /<label for="[^"]+">Org<\/label><select/);
  const member = as(MEMBER, <SubmitView />);
  assert.doesNotMatch(member, />Org<\/label>/);
  assert.match(text(member), /The job is submitted for acme\./);
  assert.doesNotMatch(as(MEMBER, <JobsView filter={filter} />), />Org<\/label>/);
  assert.match(as(MEMBER, <JobsView filter={{ ...filter, search: 'render' }} />), /<label for="([^"]+)">Search by ID or name<\/label><input id="\1" type="search" maxLength="200" value="render"/, 'a labelled search box, holding the search of the URL');
});

test('the planner’s form labels every control, and shows each problem next to its field, the API’s words included', () => {
  const noop = () => undefined;
  const errors = { gpus: { key: 'plan.errorInteger', vars: { min: 1, max: 1_000_000 } }, frames: { message: 'frames: wan2.1-t2v-14b has a causal VAE with temporal stride 4, so frames must be 4k+1, got 80' } } as const;
  for (const locale of LOCALES) {
    const h = html(locale, <PlanFormView form={NEW_PLAN_FORM} errors={errors} failure={undefined} busy={false} onChange={noop} onSubmit={noop} />);
    assertNoRawKeys(h);
    const ids = [...h.matchAll(/<(?:input|select)[^>]*\bid="([^"]+)"/g)].map((m) => m[1]);
    const radios = (h.match(/type="radio"/g) ?? []).length;
    assert.equal(ids.length + radios, (h.match(/<(?:input|select)\b/g) ?? []).length, 'every text box and list has an id…');
    for (const id of ids) assert.match(h, new RegExp(`<label for="${id}">`), `…and a label: ${id}`);
    assert.match(h, /aria-invalid="true"[^>]*aria-describedby="[^"]*-error"/);
  }
  const en = text(html('en', <PlanFormView form={NEW_PLAN_FORM} errors={errors} failure={undefined} busy={false} onChange={noop} onSubmit={noop} />));
  assert.match(en, /GPUs .*A whole number from 1 to 1000000\./);
  assert.match(en, /Length \(frames\) frames: wan2\.1-t2v-14b has a causal VAE/, 'the API’s message under the field it names');
  const train = text(html('zh-CN', <PlanFormView form={withKind(NEW_PLAN_FORM, 'train')} errors={{ 'mix.0.clips': 'plan.errorFraction' }} failure={undefined} busy={false} onChange={noop} onSubmit={noop} />));
  assert.match(train, /数据集配比 .*分组 1 .*片段数 大于 0 且不超过 1 的小数/);
});

test('the planner’s answer: the headline, the figures in tables with headers, the chart, the assumptions', () => {
  for (const locale of LOCALES) {
    const video = html(locale, <PlanResult plan={VIDEO_PLAN} onSubmitPlan={() => undefined} />);
    assertNoRawKeys(video);
    assert.equal((video.match(/<table>/g) ?? []).length, 4, 'one table per section');
    assert.match(video, /<th scope="row">[^<]+<\/th><td>75,600<\/td>/);
    const train = html(locale, <PlanResult plan={TRAIN_PLAN} onSubmitPlan={() => undefined} />);
    assertNoRawKeys(train);
    assert.match(text(train), /1280×720 81 5\.06 /);
  }
  const en = text(html('en', <PlanResult plan={VIDEO_PLAN} onSubmitPlan={() => undefined} />));
  assert.match(en, /Wall time 3\.8 min/);
  assert.match(en, /FLOPs by part/);
  assert.match(en, /BF16 weights \(2 bytes\/parameter\)/, 'the planner’s assumptions, in its words');
});

test('a simulation report: the comparison table as the CLI prints it, the charts, each org’s ρ', () => {
  const reading = readSimulateReport(SIMULATE_REPORT_TEXT);
  assert.ok(reading.ok);
  for (const locale of LOCALES) {
    const h = html(locale, <SimulateReport report={reading.report} />);
    assertNoRawKeys(h);
    assert.equal((h.match(/<table>/g) ?? []).length, 3, 'the comparison, ρ by policy, ρ by org');
    assert.equal((h.match(/<figure class="chart">/g) ?? []).length, 3, 'JCT, utilization, ρ');
  }
  const en = text(html('en', <SimulateReport report={reading.report} />));
  assert.match(en, /fifo Siloed 8\.2 hr 8\.2 hr 21\.6 hr 6\.3 hr 37\.7% 1\.2 days 42 0 0 0 8 /, 'avg, p50, p99 JCT, queue, utilization, makespan, done, never, preemptions, GPU-h lost, largest');
  assert.match(en, /fifo Pooled 2\.7 hr .* 64\.9% .* 0\.601 \(acme\)/);
  assert.match(en, /acme fifo 14 2\.6 hr 4\.3 hr 0\.601 0/);
  assert.match(text(html('zh-CN', <SimulateReport report={reading.report} />)), /fifo 共享资源池 2\.7小时/);
});

test('the report page: a labelled file input that also takes a drop, and a refusal that says why', () => {
  const h = html('en', <SimulateView />);
  assert.match(h, /<label for="([^"]+)">Report file \(JSON\)<\/label><input id="\1" type="file" accept="\.json,application\/json"/);
  const refusal = text(html('zh-CN', <ReportRefusal name="plan.json" problem={{ kind: 'other-schema', schema: 'suanli.plan.video/1' }} />));
  assert.match(refusal, /plan\.json 不是仪表盘能够展示的仿真报告。 这是一份 “suanli\.plan\.video\/1” 文档/);
});

// Issue 19: the submit form's checkpoints and span options, the dry run's offer to span, a plan submitted.

const IN_SESSION = (identity: Identity, node: ReactNode) => {
  return <SessionContext.Provider value={{ client, identity }}>{node}</SessionContext.Provider>;
};
const submitForm = (form: SubmitForm, errors: SubmitFormErrors = {}, children: ReactNode = null) => (
  <SubmitFormView form={form} errors={errors} failure={undefined} busy={false} orgs={['acme', 'beta']} draftGone={false} focusSpan={0} onChange={() => undefined} onSubmit={() => undefined} onDryRun={() => undefined}>
    {children}
  </SubmitFormView>
);

test('the submit form labels the checkpoint interval and, once the job may span, every span option, with the server’s defaults and the problem beside its field', () => {
  const closed = text(html('en', IN_SESSION(ADMIN, submitForm(NEW_SUBMIT_FORM))));
  assert.match(closed, /Checkpoint interval \(minutes\) .*The server’s default is 60; empty: the job never checkpoints\./);
  assert.match(closed, /May run across sites when no single site can hold it/);
  assert.doesNotMatch(closed, /GPUs of one replica/, 'the span options show once asked for');
  const open = { ...NEW_SUBMIT_FORM, gpus: '16', span: true, spanReplicaGpus: '6' };
  const errors: SubmitFormErrors = { spanReplicaGpus: { key: 'submit.errorSpanWhole', vars: { gpus: 16 } } };
  for (const locale of LOCALES) {
    const h = html(locale, IN_SESSION(ADMIN, submitForm(open, errors)));
    assertNoRawKeys(h);
    const ids = [...h.matchAll(/<(?:input|select)[^>]*\bid="([^"]+)"/g)].map((m) => m[1]);
    const checkboxes = (h.match(/type="checkbox"/g) ?? []).length;
    assert.equal(ids.length + checkboxes, (h.match(/<(?:input|select)\b/g) ?? []).length, 'every text box and list has an id…');
    for (const id of ids) assert.match(h, new RegExp(`<label for="${id}">`), `…and a label: ${id}`);
    assert.equal(ids.length, 8 + 1 + 7, 'the fields, the checkpoint interval, the seven span options');
    assert.match(h, /<fieldset class="span"[^>]*><legend>/);
    assert.match(h, /aria-invalid="true"[^>]*aria-describedby="[^"]*-error"/);
    assert.match(h, /<option value="0\.5">0\.5[ （(]+int4/);
  }
  const en = text(html('en', IN_SESSION(ADMIN, submitForm(open, errors))));
  assert.match(en, /GPUs of one replica .* The job’s GPUs \(16\) must be a whole number of replicas of this size\./);
  assert.match(en, /Least efficiency across sites \(%\) .*the server’s default is 80\./);
  assert.match(en, /Longest wait for a single site \(minutes\) .*The server’s default is 60; 0: at once\./);
  const zh = text(html('zh-CN', IN_SESSION(ADMIN, submitForm(open, errors))));
  assert.match(zh, /每个副本的 GPU 数 .*作业的 GPU 数（16）必须是此副本大小的整数倍。/);
  assert.match(zh, /检查点间隔（分钟）/);
});

test('a dry run’s answer is a focusable heading; a job no single site can hold is offered to run across sites', () => {
  const never: DryRunJson = { outcome: 'wait', placement: null, would_preempt: 0, diagnosis: { message: '', sites: 2, reasons: { site_too_small: 2 }, never: true }, gpus: 16, estimate_s: 60 };
  const offer = () => undefined;
  for (const locale of LOCALES) {
    const h = html(locale, <DryRunResult dryRun={never} siteNames={new Map()} jobOrg="acme" onSpan={offer} />);
    assertNoRawKeys(h);
    assert.match(h, /<h2 id="dry-run-title" tabindex="-1">/);
  }
  const en = text(html('en', <DryRunResult dryRun={never} siteNames={new Map()} jobOrg="acme" onSpan={offer} />));
  assert.match(en, /It would wait: Sites that fit: 0 of 2 — smaller than the job: 2\. No site can ever hold this job\. No single site is large enough for this job, or lends it that many GPUs: submitted like this, it would wait forever\. Run it across sites/);
  assert.match(text(html('zh-CN', <DryRunResult dryRun={never} siteNames={new Map()} jobOrg="acme" onSpan={offer} />)), /改为跨站点运行/);
  assert.doesNotMatch(text(html('en', <DryRunResult dryRun={never} siteNames={new Map()} jobOrg="acme" onSpan={null} />)), /Run it across sites/, 'not when the job may span already');
  const wrongType = { ...never, diagnosis: { message: '', sites: 2, reasons: { gpu_type: 2 }, never: true } };
  assert.doesNotMatch(text(html('en', <DryRunResult dryRun={wrongType} siteNames={new Map()} jobOrg="acme" onSpan={offer} />)), /Run it across sites/, 'spanning cannot give it a GPU type no site has');
  const placed: DryRunJson = { outcome: 'place', placement: [{ site_id: 'a', lender_org_id: 'acme', gpu_type: 'h100', gpus: 8, nodes: 1 }, { site_id: 'site-1', lender_org_id: 'beta', gpu_type: 'h100', gpus: 8, nodes: 1 }], would_preempt: 0, diagnosis: null, gpus: 16, estimate_s: 60 };
  assert.match(text(html('en', <DryRunResult dryRun={placed} siteNames={new Map([['a', 'acme lab']])} jobOrg="acme" onSpan={offer} />)), /It would start at once on acme lab · h100 × 8 .*; site-1 \(lent by beta\) · h100 × 8/);
});

test('“submit this plan”: the planner’s answer offers it when it fits, and the form says what sized it', () => {
  const request = { kind: 'video', width: 1280, height: 720, seconds: 5, gpus: 8, price_per_gpu_hour: 2.5 } as const;
  for (const locale of LOCALES) {
    const h = html(locale, <PlanResult plan={VIDEO_PLAN} onSubmitPlan={() => undefined} />);
    assert.match(h, /<button type="button" class="primary" aria-describedby="plan-submit-help">/);
    assertNoRawKeys(html(locale, IN_SESSION(ADMIN, submitForm(formOfPlan(request, VIDEO_PLAN)))));
  }
  assert.match(text(html('en', <PlanResult plan={VIDEO_PLAN} onSubmitPlan={() => undefined} />)), /Submit this plan Opens the submit form filled in from this plan/);
  const tooSmall = text(html('zh-CN', <PlanResult plan={{ ...VIDEO_PLAN, fits: false }} onSubmitPlan={() => undefined} />));
  assert.match(tooSmall, /此规划在所选 GPU 上放不下，因此无法作为作业提交。/);
  assert.doesNotMatch(tooSmall, /提交此规划/);
  const en = html('en', IN_SESSION(ADMIN, submitForm(formOfPlan(request, VIDEO_PLAN))));
  assert.match(text(en), /Sized by the planner: sampling one video, wan2\.1-t2v-14b on 8 × h100, about 3\.8 min\. .* Submit without the plan/);
  assert.match(en, /<input [^>]*value="8"/);
  assert.match(text(html('zh-CN', IN_SESSION(ADMIN, submitForm(formOfPlan(request, VIDEO_PLAN))))), /由规划器确定规模：生成一段视频，wan2\.1-t2v-14b，8 × h100，约 3\.8分钟。/);
  assert.match(text(html('en', IN_SESSION(ADMIN, <SubmitFormView form={NEW_SUBMIT_FORM} errors={{}} failure={undefined} busy={false} orgs={null} draftGone focusSpan={0} onChange={() => undefined} onSubmit={() => undefined} onDryRun={() => undefined} />))), /The plan to submit is no longer in this tab/);
});

test('a job no single site can ever hold offers to submit it again to run across sites; one that spans already, or waits for GPUs, does not', () => {
  const never = { message: '', sites: 2, reasons: { site_too_small: 2 }, never: true };
  const waiting: JobDetailJson = { ...holding('9', 'acme', []), state: 'pending', placements: [], gpus: 16, attempts: 0, diagnosis: never };
  for (const locale of LOCALES) {
    const h = html(locale, <JobDetail job={waiting} siteNames={new Map()} />);
    assertNoRawKeys(h);
    assert.match(h, /<button type="button">[^<]+<\/button>/);
  }
  assert.match(text(html('en', <JobDetail job={waiting} siteNames={new Map()} />)), /No site can ever hold this job\. .*this job keeps waiting until you cancel it\. Submit it again to run across sites/);
  assert.match(text(html('zh-CN', <JobDetail job={waiting} siteNames={new Map()} />)), /重新提交为可跨站点运行的作业/);
  const spanning = { ...waiting, span: { replica_gpus: 8, sync_bytes: 1e9, outer_step_s: 100, hidden_s: 0, min_efficiency: 0.8, max_single_site_wait_s: 0 } };
  assert.doesNotMatch(text(html('en', <JobDetail job={spanning} siteNames={new Map()} />)), /Submit it again/);
  assert.doesNotMatch(text(html('en', <JobDetail job={{ ...waiting, diagnosis: { ...never, never: false, reasons: { too_few_free: 2 } } }} siteNames={new Map()} />)), /Submit it again/);
});

test('the sign-in heading can take the focus (it does when the page opens, after signing out too)', () => {
  assert.match(html('en', <SignInView reason="signed-out" problem={null} onSubmit={() => Promise.resolve()} />), /<h1 id="sign-in-title" tabindex="-1">Sign in<\/h1>/);
});

// Issue 19: a page per site (its health, share policy, WAN links and jobs) and managing orgs, sites and tokens, each role seeing what it may do.

const ORG_ADMIN: Identity = { role: 'org-admin', orgId: 'acme', tokenName: 'ops of acme' };
const SITE_PAGE = site('a', 'acme', { h100: [2, 8] }, {
  share: { lend_fraction: 0.5, reclaim: true, reclaim_notice_s: 600, lend_to: ['beta', 'gamma'], max_gpus_per_borrower: 8, borrower_gpu_limits: { beta: 4 }, sandbox_borrowed: true, borrowed_network: 'host' },
  wan_links: [{ to_site: 'b', gbps: 10, latency_ms: 5 }, { to_site: 'beta-lab-0a1b2c3d', gbps: 2.5, latency_ms: 40 }],
});
/** acme's own job, and beta's borrowing 4 GPUs (by its org only, as the API gives it to acme). */
const SITE_JOBS: readonly SiteJobJson[] = [
  { job_id: '7', name: 'render', org_id: 'acme', state: 'running', gpu_type: 'h100', gpus: 8, nodes: 1, placed_at: '2026-11-26T15:00:00.000Z', started_at: '2026-11-26T15:01:00.000Z' },
  { job_id: null, name: null, org_id: 'beta', state: 'placed', gpu_type: 'h100', gpus: 4, nodes: 1, placed_at: '2026-11-26T15:05:00.000Z', started_at: null },
];
const sitePage = (identity: Identity, jobs: readonly SiteJobJson[] | null = SITE_JOBS) =>
  IN_SESSION(identity, <SiteDetail site={SITE_PAGE} jobs={jobs} siteNames={new Map([['a', 'a lab'], ['b', 'b lab']])} identity={identity} now={Date.parse('2026-11-26T15:10:44.000Z')} onSaved={() => undefined} />);

test('a site’s page: its GPUs, health and last heartbeat, share policy in words, WAN links and the jobs on it now', () => {
  for (const locale of LOCALES) {
    const h = html(locale, sitePage(ORG_ADMIN));
    assertNoRawKeys(h);
    assert.equal((h.match(/<section aria-labelledby="site-(share|wan|jobs)"><h2 id="site-\1">/g) ?? []).length, 3, 'three sections, each named by its heading');
    assert.match(h, /<span class="badge health-up">/);
    assert.match(h, /<a href="\/sites\/b">b lab<\/a>/, 'a linked site the caller sees, by name');
    assert.match(h, /<code>beta-lab-0a1b2c3d<\/code>/, 'another org’s site as declared');
    assert.match(h, /<a href="\/jobs\/7">/, 'its own job links to its page');
    assert.equal((h.match(/href="\/jobs\//g) ?? []).length, 1, 'another org’s job links nowhere');
  }
  const en = text(html('en', sitePage(ORG_ADMIN)));
  assert.match(en, /Org acme ID a GPUs 16 h100: nodes 2 × GPUs 8 Health Up Last heartbeat .* 10 seconds ago/);
  assert.match(en, /Share lent Lends up to 50% Reclaiming Reclaims with 10 min notice Who may borrow beta and gamma Most GPUs per borrowing org 8 Limits of single borrowers beta: 4 GPUs Borrowed runs Sandboxed; network: the host’s/);
  assert.match(en, /b lab 10 Gbit\/s 5 ms beta-lab-0a1b2c3d 2\.5 Gbit\/s 40 ms/);
  assert.match(en, /Job 7: render acme Running h100 × 8 .* A job of beta beta \(borrowing\) Placed h100 × 4/);
  const zh = text(html('zh-CN', sitePage(ORG_ADMIN)));
  assert.match(zh, /最多出借 50%/);
  assert.match(zh, /谁可以借用 beta和gamma/);
  assert.match(zh, /beta 的一个作业 beta（借用方） 已分配/);
  assert.match(zh, /10秒钟前/);
  assert.match(text(html('en', sitePage(ORG_ADMIN, []))), /No job is placed or running here now\./);
  assert.match(text(html('zh-CN', IN_SESSION(ORG_ADMIN, <SiteDetail site={{ ...SITE_PAGE, wan_links: [], last_heartbeat_at: null }} jobs={null} siteNames={new Map()} identity={ORG_ADMIN} now={0} onSaved={() => undefined} />))), /最近心跳 从未 .*尚未声明任何广域网链路。/);
});

test('the share policy may be changed from the site’s page by its org-admin and the admin, not by a member', () => {
  for (const [identity, may] of [[ADMIN, true], [ORG_ADMIN, true], [MEMBER, false]] as const) {
    for (const locale of LOCALES) {
      const h = html(locale, sitePage(identity));
      assert.equal(/<button type="button">(Change the share policy|修改共享策略)<\/button>/.test(h), may, `${identity.role} ${locale}`);
    }
  }
});

test('the share policy’s form: every control labelled, filled in from the policy, each problem beside its field (the API’s words too)', () => {
  const errors = { lendPercent: 'admin.errorPercent', lendToOrgs: { message: 'share.lend_to[1]: no org "gamm"' } } as const;
  for (const locale of LOCALES) {
    const h = html(locale, <ShareFormView form={shareFormOf(SITE_PAGE.share)} errors={errors} failure={undefined} busy={false} onChange={() => undefined} onSubmit={() => undefined} onCancel={() => undefined} />);
    assertNoRawKeys(h);
    const ids = [...h.matchAll(/<(?:input|select)[^>]*\bid="([^"]+)"/g)].map((m) => m[1]);
    const boxes = (h.match(/type="(radio|checkbox)"/g) ?? []).length;
    assert.equal(ids.length + boxes, (h.match(/<(?:input|select)\b/g) ?? []).length, 'every text box and list has an id…');
    for (const id of ids) assert.match(h, new RegExp(`<label for="${id}">`), `…and a label: ${id}`);
    assert.equal(ids.length, 6, 'share, notice, orgs, per borrower, single borrowers, network');
    assert.equal((h.match(/aria-invalid="true"/g) ?? []).length, 2);
    assert.match(h, /value="50"/);
    assert.match(h, /value="beta, gamma"/);
    assert.match(h, /value="beta=4"/);
  }
  const en = text(html('en', <ShareFormView form={shareFormOf(SITE_PAGE.share)} errors={errors} failure={undefined} busy={false} onChange={() => undefined} onSubmit={() => undefined} onCancel={() => undefined} />));
  assert.match(en, /Share lent \(%\) .*A percentage from 0 to 100\./);
  assert.match(en, /Orgs that may borrow .*share\.lend_to\[1\]: no org "gamm"/);
  assert.match(text(html('zh-CN', <ShareFormView form={shareFormOf(SITE_PAGE.share)} errors={errors} failure={undefined} busy={false} onChange={() => undefined} onSubmit={() => undefined} onCancel={() => undefined} />)), /出借比例（%） .*0 到 100 之间的百分比。/);
});

test('managing the pool: the admin every section, an org-admin its sites and tokens, a member nothing (not even the link)', () => {
  const admin = (section: 'orgs' | 'sites' | 'tokens', identity: Identity, locale: (typeof LOCALES)[number] = 'en') => html(locale, IN_SESSION(identity, <AdminView section={section} />));
  const navLinks = (h: string) => [...(/<nav aria-label="[^"]+" class="admin-nav">(.*?)<\/nav>/.exec(h)?.[1] ?? '').matchAll(/href="([^"]+)"/g)].map((m) => m[1]);
  for (const locale of LOCALES) {
    for (const section of ['orgs', 'sites', 'tokens'] as const) {
      for (const identity of [ADMIN, ORG_ADMIN, MEMBER]) assertNoRawKeys(admin(section, identity, locale));
    }
  }
  assert.deepEqual(navLinks(admin('orgs', ADMIN)), ['/admin/orgs', '/admin/sites', '/admin/tokens']);
  assert.deepEqual(navLinks(admin('tokens', ORG_ADMIN)), ['/admin/sites', '/admin/tokens'], 'orgs are the admin’s');
  assert.match(admin('orgs', ADMIN), /<form class="form" noValidate="" aria-label="Create an org">/);
  const orgsAsOrgAdmin = admin('orgs', ORG_ADMIN);
  assert.doesNotMatch(orgsAsOrgAdmin, /<form/);
  assert.match(text(orgsAsOrgAdmin), /Only the pool’s admin creates orgs\./);
  // Tokens: the admin picks any role and an org; an org-admin mints no admin and names no org (its own).
  const roles = (h: string) => [...h.matchAll(/<option value="(admin|org-admin|member|agent)">/g)].map((m) => m[1]);
  assert.deepEqual(roles(admin('tokens', ADMIN)), ['admin', 'org-admin', 'member', 'agent']);
  const tokensAsOrgAdmin = admin('tokens', ORG_ADMIN);
  assert.deepEqual(roles(tokensAsOrgAdmin), ['org-admin', 'member', 'agent']);
  assert.doesNotMatch(tokensAsOrgAdmin, />Org<\/label>/);
  assert.match(text(tokensAsOrgAdmin), /For acme\. .*The tokens of acme/);
  assert.match(admin('sites', ADMIN), /<label for="[^"]+">Org<\/label><select/);
  assert.doesNotMatch(admin('sites', ORG_ADMIN), />Org<\/label>/);
  assert.match(text(admin('sites', ORG_ADMIN, 'zh-CN')), /注册站点 .*属于 acme。/);
  for (const section of ['orgs', 'sites', 'tokens'] as const) {
    const member = admin(section, MEMBER);
    assert.doesNotMatch(member, /<form|<nav/, `a member has no ${section} to manage`);
    assert.match(text(member), /A member manages nothing here/);
  }
  assert.match(text(admin('tokens', MEMBER, 'zh-CN')), /成员在此无可管理的内容/);
  const labels = (identity: Identity) => navItems(identity).map((i) => i.label);
  assert.ok(labels(ADMIN).includes('nav.admin') && labels(ORG_ADMIN).includes('nav.admin'));
  assert.ok(!labels(MEMBER).includes('nav.admin'), 'the link is hidden from a member');
});

test('tokens: a revoke button for each live one, named for the token; the new secret shown once with a copy button and a warning', () => {
  const tokens = [
    { id: 't1', name: 'ci', role: 'member', org_id: 'acme', site_id: null, created_at: '2026-11-26T15:00:00.000Z', revoked_at: null },
    { id: 't2', name: 'lab agent', role: 'agent', org_id: 'acme', site_id: 'a', created_at: '2026-11-26T15:00:00.000Z', revoked_at: '2026-11-26T16:00:00.000Z' },
  ] as const;
  for (const locale of LOCALES) {
    const h = html(locale, IN_SESSION(ORG_ADMIN, <TokenTable tokens={tokens} siteNames={new Map([['a', 'a lab']])} onRevoked={() => undefined} />));
    assertNoRawKeys(h);
    assert.equal((h.match(/<button type="button" class="danger" aria-label="[^"]+/g) ?? []).join(), `<button type="button" class="danger" aria-label="${locale === 'en' ? 'Revoke token ci (t1)' : '吊销令牌 ci（t1）'}`, 'the live token only, named');
    assert.match(h, /<tr class="row-revoked"><th scope="row">lab agent<\/th>/);
    const created = html(locale, <NewToken token={{ ...tokens[0], token: 'sl_t1_secret' }} onDone={() => undefined} />);
    assertNoRawKeys(created);
    assert.match(created, /<input id="[^"]+" type="text" class="mono" readOnly="" value="sl_t1_secret"/);
    assert.match(created, /<span role="status"><\/span>/, 'a live region says when it is copied');
  }
  const en = text(html('en', IN_SESSION(ORG_ADMIN, <TokenTable tokens={tokens} siteNames={new Map([['a', 'a lab']])} onRevoked={() => undefined} />)));
  assert.match(en, /ci t1 member acme — .* Revoke lab agent t2 agent acme a lab .* Revoked /);
  assert.match(text(html('en', <NewToken token={{ ...tokens[0], token: 'sl_t1_secret' }} onDone={() => undefined} />)), /New token ci \(t1\) This token is not shown again: copy it now .* Copy the token/);
  assert.match(text(html('zh-CN', <NewToken token={{ ...tokens[0], token: 'sl_t1_secret' }} onDone={() => undefined} />)), /此令牌不会再次显示：.* 复制令牌/);
});

test('the pool’s queue waits of the last hour: the pool’s and each org’s median and 90th percentile, in both languages', () => {
  const table = (h: string) => text(h.slice(h.indexOf('id="pool-queue-wait"'), h.indexOf('id="pool-by-type"')));
  const en = table(html('en', <PoolOverview pool={POOL} identity={MEMBER} />));
  assert.match(en, /Queue waits How long the jobs first placed in the last 1 hr waited from submission/);
  assert.match(en, /Org Jobs placed Median wait 90th percentile wait All orgs 3 1\.5 min 25 min acme 2 30 sec 1\.5 min beta 1 25 min 25 min/);
  const zh = table(html('zh-CN', <PoolOverview pool={POOL} identity={MEMBER} />));
  assert.match(zh, /排队等待 最近 1小时内首次放置的作业/);
  assert.match(zh, /所有组织 3 1\.5分钟 25分钟 acme 2 30秒 1\.5分钟/);
  const none = { ...POOL, queue_wait: { window_s: 3600, placed_jobs: 0, p50_s: null, p90_s: null, orgs: [] } };
  assert.match(text(html('en', <PoolOverview pool={none} identity={MEMBER} />)), /Queue waits No job was placed in the last 1 hr\./);
  assert.match(text(html('zh-CN', <PoolOverview pool={none} identity={MEMBER} />)), /排队等待 最近 1小时内没有作业被放置。/);
});

test('the pool’s history range: a labelled choice of the last hour, 6 or 24 hours or all, and the samples it keeps', () => {
  const sample = (hoursAgo: number) => ({ at: new Date(Date.parse('2026-11-26T15:10:34Z') - hoursAgo * 3_600_000).toISOString(), gpus: 20, allocated: 6, gpu_types: [] });
  const pool = { ...POOL, history: { interval_s: 60, samples: [sample(30), sample(5), sample(2), sample(0.5), sample(0)] } };
  const rows = (h: string) => (h.slice(h.indexOf('<details>'), h.indexOf('</details>')).match(/<tr>/g) ?? []).length - 1;
  for (const [range, shown] of [['hour', 2], ['6h', 4], ['24h', 4], ['all', 5]] as const) {
    const h = html('en', <PoolOverview pool={pool} identity={ADMIN} range={range} />);
    assert.equal(rows(h), shown, `${range}: the samples in the table`);
    assert.match(h, new RegExp(`<input type="radio"[^>]*checked=""[^>]*value="${range}"`));
  }
  const h = html('en', <PoolOverview pool={pool} identity={ADMIN} />);
  assert.match(text(h), /History shown Last hour Last 6 hours Last 24 hours All the server keeps/);
  assert.match(h, /<fieldset class="checks range"><legend>History shown<\/legend>/);
  assert.match(text(html('zh-CN', <PoolOverview pool={pool} identity={ADMIN} />)), /显示的历史 最近 1 小时 最近 6 小时 最近 24 小时 服务器保留的全部/);
});

test('an API refusal in Chinese: the code’s message and the field in Chinese, then the server’s own (English) words', () => {
  const refusal = new ApiRequestError(400, 'invalid_request', 'gpus: Too small: expected number to be >=1', 'gpus');
  const zh = html('zh-CN', <ErrorNote error={refusal} />);
  assert.match(text(zh), /服务器认为请求无效并拒绝了它。 出错的字段：gpus。 服务器原文： gpus: Too small/);
  assert.match(zh, /<span lang="en">gpus: Too small: expected number to be &gt;=1<\/span>/, 'the server’s words marked as English');
  assert.match(text(html('en', <ErrorNote error={refusal} />)), /The server refused the request as invalid\. The field at fault: gpus\. The server’s own words: gpus: Too small/);
  assert.doesNotMatch(text(html('zh-CN', <ErrorNote error={new ApiRequestError(404, 'not_found', 'job "9" not found')} />)), /出错的字段/, 'no field named: no field line');
  assert.match(text(html('zh-CN', <ErrorNote error={new TypeError('Failed to fetch')} />)), /发生了意外错误。 服务器原文： Failed to fetch/);
});

test('a waiting job’s diagnosis in Chinese keeps the scheduler’s own sentence beneath, marked English; in English once', () => {
  const waiting = { ...job('22', 'beta', { diagnosis: { message: '0/2 sites fit: 2 smaller than the job', sites: 2, reasons: { site_too_small: 2 }, never: false } }), placements: [], events: [], measured: null, submitted_by_name: null };
  const zh = html('zh-CN', <JobDetail job={waiting} siteNames={new Map()} />);
  assert.match(text(zh), /可容纳的站点：2 个中 0 个——站点比作业小：2 服务器原文： 0\/2 sites fit/);
  assert.match(zh, /<span lang="en">0\/2 sites fit: 2 smaller than the job<\/span>/);
  assert.equal(text(html('en', <JobDetail job={waiting} siteNames={new Map()} />)).match(/0\/2 sites fit/g), null, 'English: the translation is the sentence');
});

test('in Chinese, a placement’s parts and their start times take full-width punctuation; dates are numeric', () => {
  const across = holding('21', 'beta', [['a', 'h100', 8], ['b', 'h100', 8]]);
  const zh = text(html('zh-CN', <JobDetail job={across} siteNames={new Map([['a', '甲集群'], ['b', '乙集群']])} />));
  assert.deepEqual(halfWidthBesideChinese(zh), []);
  assert.match(zh, /甲集群 · h100 × 8（节点：1）（2026\/11\/26 \S+ \d\d:\d\d:34 启动）；乙集群/);
  assert.match(text(html('en', <JobDetail job={across} siteNames={new Map()} />)), /a · h100 × 8 \(nodes: 1\) \(started Nov 26, 2026, \d\d:\d\d:34 \S+\); b/);
});

// Issue 19: the ledger's dates, its CSV downloads, and the jobs behind it with their prices.

test('the ledger’s dates: two labelled day fields, what is shown said in words, and a problem beside its field', () => {
  for (const locale of LOCALES) {
    const h = html(locale, <LedgerRangeForm shown={{ from: '2026-11-25', to: '' }} onApply={() => undefined} />);
    assertNoRawKeys(h);
    const ids = [...h.matchAll(/<input[^>]*\bid="([^"]+)"[^>]*type="date"/g)].map((m) => m[1]);
    assert.equal(ids.length, 2, 'two day fields');
    for (const id of ids) assert.match(h, new RegExp(`<label for="${id}">`), `labelled: ${id}`);
  }
  assert.match(text(html('en', <LedgerRangeForm shown={{ from: '2026-11-25', to: '' }} onApply={() => undefined} />)), /From \(UTC day\) .*To \(UTC day, included\) Show these dates All dates Dates shown: 2026-11-25 to the last entry \(UTC days\)\./);
  assert.match(text(html('zh-CN', <LedgerRangeForm shown={NO_RANGE} onApply={() => undefined} />)), /起始日（UTC） 截止日（UTC，含当日） 显示所选日期 全部日期 所示日期：第一条记录 至 最后一条记录（UTC 日）。/);
  // The by-org table's download, beside it.
  const ledger = { rows: [{ org_id: 'acme', gpu_type: 'h100', contributed_gpu_h: 1, consumed_gpu_h: 0, own_gpu_h: 0, credits_gpu_h: 1 }], pool: [] };
  assert.match(text(html('en', <Ledger ledger={ledger} identity={ADMIN} range={NO_RANGE} />)), /acme h100 1 0 0 1 Download as CSV/);
  assert.match(text(html('zh-CN', <Ledger ledger={ledger} identity={ADMIN} range={NO_RANGE} />)), /下载 CSV/);
});

test('the jobs behind beta’s figures: its own jobs linked by id and named, another org’s by id only, the lender or borrower, prices and costs or “no price”, totals per use', () => {
  const job = (job_id: string, job_name: string | null, consumer: string, provider: string, site: string, gpu_h: number, price: number | null) => ({
    job_id, job_name, consumer_org_id: consumer, provider_org_id: provider, site, gpu_type: 'h100', gpu_h, last_at: '2026-11-25T10:00:00.000Z', price_per_gpu_hour: price, cost: price === null ? null : gpu_h * price,
  });
  const answer = { jobs: [job('7', null, 'acme', 'beta', 'beta-lab-1', 3, null), job('5', 'render, v2', 'beta', 'acme', 'acme:site-1', 6, 2.5), job('4', 'own', 'beta', 'beta', 'beta-lab-1', 1, null)], truncated: true };
  for (const locale of LOCALES) {
    const h = html(locale, <LedgerJobs answer={answer} org="beta" range={NO_RANGE} />);
    assertNoRawKeys(h);
    assert.match(h, /<a href="\/jobs\/5"[^>]*>5<\/a>/, 'its own job links to its page');
    assert.doesNotMatch(h, /href="\/jobs\/7"/, 'another org’s job is not its to open');
  }
  const en = text(html('en', <LedgerJobs answer={answer} org="beta" range={NO_RANGE} />));
  assert.match(en, /Consumed GPU-hours: 6; cost: 15 Contributed GPU-hours: 3; cost: no price Own GPU-hours: 1; cost: no price/);
  assert.match(en, /Only the newest 3 rows: narrow the dates to see the rest\./);
  assert.match(en, /7 another org’s job Contributed h100 beta-lab-1 borrowed by acme 3 no price no price/);
  assert.match(en, /5 render, v2 Consumed h100 acme:site-1 lent by acme 6 2\.5 15/);
  assert.match(en, /Download the jobs as CSV/);
  const zh = text(html('zh-CN', <LedgerJobs answer={answer} org="beta" range={NO_RANGE} />));
  assert.match(zh, /消耗 GPU 小时：6；费用：15/);
  assert.match(zh, /7 其他组织的作业 贡献 h100 beta-lab-1 由 acme 借用 3 无价格 无价格/);
  assert.match(text(html('en', <LedgerJobs answer={{ jobs: [], truncated: false }} org="beta" range={NO_RANGE} />)), /No job on these dates\./);
});

