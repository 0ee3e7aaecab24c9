import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Formatter, translate, type MessageVars } from '../i18n/i18n.ts';
import type { MessageKey } from '../i18n/catalog-en.ts';
import { comparisonRows, keepReport, KEPT_REPORT_KEY, keptReport, problemText, readSimulateReport, rhoRows, type ReportReading } from './simulate-report.ts';
import { SIMULATE_REPORT_TEXT, VIDEO_PLAN } from './test-data.ts';

const en = { t: (key: MessageKey, vars?: MessageVars) => translate('en', key, vars), format: new Formatter('en') };
const problemOf = (reading: ReportReading) => (reading.ok ? 'ok' : problemText(en, reading.problem));

test('a report as `suanli simulate --json` prints it is read whole: the table’s rows, siloed first, and each org’s ρ', () => {
  const reading = readSimulateReport(SIMULATE_REPORT_TEXT);
  assert.ok(reading.ok);
  const { report } = reading;
  assert.equal(report.trace.jobs, 42);
  assert.equal(report.pool.gpus, 32);
  const rows = comparisonRows(report);
  assert.deepEqual(rows.map((r) => `${r.policy} ${r.mode}`), ['fifo siloed', 'fifo pooled', 'fair-share siloed', 'fair-share pooled']);
  assert.equal(rows[0]?.worstRho, null, 'ρ belongs to the pooled row');
  assert.deepEqual(rows[1]?.worstRho, { rho: 0.6006879156156845, org: 'acme' });
  assert.deepEqual(rhoRows(report).map((r) => `${r.policy}/${r.org.org}`), ['fifo/acme', 'fifo/bolt', 'fifo/cirrus', 'fair-share/acme', 'fair-share/bolt', 'fair-share/cirrus']);
});

test('runs at other information levels are named with the level, as the CLI names them', () => {
  const levels = JSON.parse(SIMULATE_REPORT_TEXT) as { runs: Record<string, unknown>[] };
  const [first, second] = levels.runs;
  Object.assign(first ?? {}, { estimates: { level: 'user', sigma: 1 } });
  Object.assign(second ?? {}, { estimates: { level: 'none' } });
  const reading = readSimulateReport(JSON.stringify(levels));
  assert.ok(reading.ok);
  assert.deepEqual([...new Set(comparisonRows(reading.report).map((r) => r.policy))], ['fifo · user (σ=1)', 'fair-share · none']);
  Object.assign(first ?? {}, { estimates: { level: 7 } });
  assert.match(problemOf(readSimulateReport(JSON.stringify(levels))), /estimates\.level/);
});

test('a run of one mode has no fairness: its rows are there, its ρ is not', () => {
  const one = JSON.parse(SIMULATE_REPORT_TEXT) as { runs: { siloed: unknown; fairness: unknown }[] };
  for (const run of one.runs) Object.assign(run, { siloed: null, fairness: null });
  const reading = readSimulateReport(JSON.stringify(one));
  assert.ok(reading.ok);
  assert.deepEqual(comparisonRows(reading.report).map((r) => r.mode), ['pooled', 'pooled']);
  assert.deepEqual(rhoRows(reading.report), []);
});

test('a wrong file says what it is and what is wrong with it', () => {
  assert.match(problemOf(readSimulateReport('policy,mode\nfifo,pooled')), /^It is not JSON \(.+\)\.$/);
  assert.equal(problemOf(readSimulateReport('[1, 2]')), 'It is JSON, but not a Suanli simulation report: it has no "schema": "suanli.simulate/1".');
  assert.equal(problemOf(readSimulateReport(JSON.stringify(VIDEO_PLAN))), 'It is a “suanli.plan.video/1” document; a simulation report is “suanli.simulate/1”, as “suanli simulate … --json” prints it.');
  const damaged = JSON.parse(SIMULATE_REPORT_TEXT) as { runs: { pooled: { avg_jct_s: unknown } }[] };
  const second = damaged.runs[1];
  assert.ok(second !== undefined);
  second.pooled.avg_jct_s = '2.6 h';
  assert.equal(problemOf(readSimulateReport(JSON.stringify(damaged))), 'It looks like a simulation report, but runs[1].pooled.avg_jct_s should be a number or null: the file is damaged or from another version of Suanli.');
  assert.equal(problemOf(readSimulateReport(JSON.stringify({ ...damaged, runs: [] }))), 'The report has no runs.');
  assert.match(problemOf(readSimulateReport(JSON.stringify({ ...damaged, runs: 'none' }))), /runs should be a list/);
});

test('the report shown is kept in the tab and read back checked; one the storage refuses is not kept, and says so', () => {
  const storage = new Map<string, string>();
  const tab = { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => void storage.set(k, v), removeItem: (k: string) => void storage.delete(k) };
  assert.equal(keptReport(tab), null);
  assert.equal(keepReport(tab, 'results.json', SIMULATE_REPORT_TEXT), true);
  const kept = keptReport(tab);
  assert.equal(kept?.name, 'results.json');
  assert.deepEqual(kept?.report, (readSimulateReport(SIMULATE_REPORT_TEXT) as { report: unknown }).report);
  // A full storage throws (QuotaExceededError): the older report is dropped, not left to show another file's name.
  const full = { ...tab, setItem: () => { throw new DOMException('quota', 'QuotaExceededError'); } };
  assert.equal(keepReport(full, 'huge.json', SIMULATE_REPORT_TEXT), false);
  assert.equal(keptReport(tab), null);
  storage.set(KEPT_REPORT_KEY, '{"name":"x.json","text":"{}"}');
  assert.equal(keptReport(tab), null, 'what no longer reads as a report is not shown');
  storage.set(KEPT_REPORT_KEY, 'not json');
  assert.equal(keptReport(tab), null);
});
