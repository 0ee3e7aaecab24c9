// What other members wrote (job and site names, diagnoses, event details, log tails,
// refusals) comes through the API client and into the views with its control, bidi
// and invisible characters shown as \u{…} escapes: nothing raw reaches the page.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReactNode } from 'react';
import { renderToString } from 'react-dom/server';
import { ApiRequestError, createApiClient } from '../api/client.ts';
import type { JobDetailJson, JobListJson, SiteListJson } from '../api/types.ts';
import { I18nProvider } from '../i18n/i18n-context.tsx';
import { LOCALES, type Locale } from '../i18n/i18n.ts';
import { holding, listed, site } from '../model/test-data.ts';
import { JobDetail } from './job-view.tsx';
import { JobTable } from './jobs-view.tsx';
import { SiteTable } from './sites-view.tsx';

const NAME = 'evil\x1b[2J\x07\r\nname\u202Etxt.exe';
const SHOWN = 'evil\\u{1b}[2J\\u{7}\\u{d}\nname\\u{202e}txt.exe';
const LOG = 'step 1\n\x1b[31mloss 0.5\x1b[0m\r\u2066done\tok';

/** No hidden character: C0 controls but newline and tab, DEL, C1, bidi and invisible format characters, lone surrogates. */
const HIDDEN = /[\0-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]/u;

const html = (locale: Locale, node: ReactNode): string => renderToString(<I18nProvider fixed={locale}>{node}</I18nProvider>);

/** A fetch answering GET paths with JSON (as the server writes it), and POST /jobs with a refusal. */
function serverOf(answers: Readonly<Record<string, unknown>>): typeof fetch {
  return (input: RequestInfo | URL, init?: RequestInit) => {
    const path = (typeof input === 'string' ? input : input instanceof URL ? input.href : input.url).replace(/^\/api\/v1/, '');
    if (init?.method === 'POST') return Promise.resolve(new Response(JSON.stringify({ error: { code: 'invalid_request', message: `name: ${NAME}`, field: 'name' } }), { status: 400 }));
    return Promise.resolve(new Response(JSON.stringify(answers[path] ?? null), { status: answers[path] === undefined ? 404 : 200 }));
  };
}

test('server text is escaped where it enters the dashboard: the job list, a job’s page, the sites, a refusal', async () => {
  const waiting = listed('7', 'acme', { name: NAME, submitted_by_name: NAME, diagnosis: { message: `0/1 sites fit: ${NAME}`, sites: 1, reasons: { [`on_fire${NAME}`]: 1 }, never: false, span: `no WAN link to ${NAME}` } });
  const running = holding('8', 'acme', [['a', 'h100', 1]], {
    name: NAME,
    events: [{ seq: 1, at: '2026-11-26T15:10:34.000Z', type: `placed${NAME}`, from_state: 'pending', to_state: 'placed', detail: { [NAME]: NAME } }],
  });
  const logged = { log_tail: LOG, log_at: '2026-11-26T15:11:00.000Z' };
  const detail: JobDetailJson = { ...running, placements: running.placements.map((p) => ({ ...p, ...logged, logs: [{ site_id: 'a', lender_org_id: 'acme', ...logged }] })) };
  const client = createApiClient({
    token: 'sl_ab12cd34_x',
    fetch: serverOf({ '/jobs': { jobs: [waiting], next: null }, '/jobs/8': detail, '/sites': { sites: [site('a', 'acme', { h100: [1, 8] }, { name: NAME })] } }),
  });

  const list = await client.get<JobListJson>('/jobs');
  const shown = await client.get<JobDetailJson>('/jobs/8');
  const { sites } = await client.get<SiteListJson>('/sites');
  assert.equal(list.jobs[0]?.name, SHOWN, 'the client hands the views visible text');
  assert.equal(shown.placements[0]?.log_tail, 'step 1\n\\u{1b}[31mloss 0.5\\u{1b}[0m\\u{d}\\u{2066}done\tok', 'a log keeps its lines and tabs');
  assert.equal(shown.placements[0]?.logs[0]?.log_tail, shown.placements[0]?.log_tail, 'a site’s log too');
  assert.deepEqual(shown.events[0]?.detail, { [SHOWN]: SHOWN }, 'keys too');

  for (const locale of LOCALES) {
    const pages = [
      html(locale, <JobTable jobs={list.jobs} siteNames={new Map()} now={0} />),
      html(locale, <JobDetail job={shown} siteNames={new Map(sites.map((s) => [s.id, s.name]))} />),
      html(locale, <JobDetail job={{ ...list.jobs[0] ?? waiting, placements: [], events: [], measured: null }} siteNames={new Map()} />),
      html(locale, <SiteTable sites={sites} now={Date.parse('2026-11-26T15:12:00.000Z')} />),
    ];
    for (const page of pages) {
      assert.doesNotMatch(page, HIDDEN, locale);
      assert.ok(page.includes('evil\\u{1b}[2J\\u{7}\\u{d}'), `${locale}: the name, escaped`);
    }
    assert.ok(pages[1]?.includes('\\u{1b}[31mloss 0.5\\u{1b}[0m'), `${locale}: the log, escaped`);
  }

  await assert.rejects(client.post('/jobs', { name: 'x' }), (e: unknown) => e instanceof ApiRequestError && e.message === `name: ${SHOWN}` && !HIDDEN.test(e.message));
});
