import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Formatter, initialLocale, LOCALES, unbreakable } from './i18n.ts';

test('numbers, GPU-hours and shares as each language writes them', () => {
  const en = new Formatter('en');
  const zh = new Formatter('zh-CN');
  assert.equal(en.count(12_345), '12,345');
  assert.equal(zh.count(12_345), '12,345');
  assert.equal(en.amount(3.14159), '3.14');
  assert.equal(en.amount(0.001234), '0.0012', 'a short run is not rounded to 0');
  assert.equal(en.amount(0), '0');
  assert.equal(en.percentOf(0.425), '43%');
  assert.equal(zh.percentOf(0.425), '43%');
});

test('the planner’s magnitudes: FLOPs with SI prefixes, decimal bytes, compact counts, precise shares', () => {
  const en = new Formatter('en');
  const zh = new Formatter('zh-CN');
  assert.equal(en.flops(6.6e17), '660 PFLOP (6.60E17)');
  assert.equal(en.flops(2.93e22), '29.3 ZFLOP (2.93E22)');
  assert.equal(en.flops(0), '0 FLOP (0.00E0)');
  assert.equal(en.bytes(28.04e9), '28 GB');
  assert.equal(en.bytes(926e9), '926 GB');
  assert.equal(en.bytes(1.24e12), '1.24 TB');
  assert.equal(en.bytes(0.875e9), '0.875 GB', 'below a gigabyte stays in GB, as the CLI writes it');
  assert.equal(en.compact(14e9), '14B');
  assert.equal(zh.compact(14e9), '140亿');
  assert.equal(en.percentPrecise(0.723), '72.3%');
  assert.equal(en.significant(0.50666), '0.507');
});

test('durations in their largest unit, and times relative to now', () => {
  const en = new Formatter('en');
  const zh = new Formatter('zh-CN');
  assert.equal(en.duration(5400), '1.5 hr');
  assert.equal(zh.duration(5400), '1.5小时');
  assert.equal(en.duration(45), '45 sec');
  const now = Date.parse('2026-11-26T15:10:34Z');
  assert.equal(en.ago('2026-11-26T15:05:34Z', now), '5 minutes ago');
  assert.equal(zh.ago('2026-11-26T15:05:34Z', now), '5分钟前');
  assert.equal(en.ago('2026-11-26T15:10:34Z', now), 'now');
  assert.equal(plain(en.utcDay('2026-11-26T23:30:00Z')), 'Nov 26, 2026', 'a UTC day, whatever the local time zone');
  assert.equal(plain(zh.utcDay('2026-11-26T00:00:00Z')), '2026/11/26');
  assert.match(plain(en.dateMinute('2026-11-26T15:10:34Z')), /^Nov \d\d, 2026, \d\d:\d\d$/u, '24-hour');
  assert.match(plain(en.date('2026-11-26T15:10:34Z')), /^Nov \d\d, 2026, \d\d:\d\d:34 \S+$/u, '24-hour, with the time zone');
  assert.match(plain(zh.date('2026-11-26T15:10:34Z')), /^2026\/11\/\d\d \S+ \d\d:\d\d:34$/u);
  assert.match(plain(en.timeOfDay(Date.parse('2026-11-26T15:10:34Z'))), /^\d\d:\d\d:34$/u);
});

test('the first language: the one chosen before, else Chinese for a Chinese browser, else English', () => {
  assert.equal(initialLocale('en', ['zh-CN']), 'en');
  assert.equal(initialLocale(null, ['zh-TW', 'en']), 'zh-CN');
  assert.equal(initialLocale('fr', ['fr-FR', 'en']), 'en');
});

/** A date as it reads: with plain spaces. */
function plain(text: string): string {
  return text.replaceAll('\u00a0', ' ');
}

test('a date or time never wraps across lines: no space to break at, no Chinese character to break beside', () => {
  const at = '2026-11-26T15:10:34Z';
  for (const locale of LOCALES) {
    const f = new Formatter(locale);
    for (const shown of [f.date(at), f.dateMinute(at), f.utcDay(at), f.timeOfDay(Date.parse(at))]) {
      assert.doesNotMatch(shown, /[^\S\u00a0]|\p{Script=Han}/u, `${locale}: ${JSON.stringify(shown)}`);
    }
  }
  assert.equal(unbreakable('Nov 26, 2026, 15:10'), 'Nov\u00a026,\u00a02026,\u00a015:10');
});
