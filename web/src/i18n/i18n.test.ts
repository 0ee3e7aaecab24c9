import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Formatter, initialLocale } from './i18n.ts';

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
});

test('the first language: the one chosen before, else Chinese for a Chinese browser, else English', () => {
  assert.equal(initialLocale('en', ['zh-CN']), 'en');
  assert.equal(initialLocale(null, ['zh-TW', 'en']), 'zh-CN');
  assert.equal(initialLocale('fr', ['fr-FR', 'en']), 'en');
});
