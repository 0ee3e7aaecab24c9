// The catalogs against each other and against the code: a key used in the code or
// present in one catalog but missing in the other fails here (tsc catches most of it
// already through MessageKey; this also catches casts, placeholders and dead keys).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { CATALOGS, halfWidthBesideChinese, LOCALES, interpolate, placeholdersOf, translate } from './i18n.ts';

const SOURCE_ROOT = join(import.meta.dirname, '..');
const CATALOG_FILES = new Set(['i18n/catalog-en.ts', 'i18n/catalog-zh-cn.ts']);

/** The dashboard's source files other than the catalogs and the tests. */
function sourceFiles(dir = SOURCE_ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    const rel = relative(SOURCE_ROOT, path);
    return /\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) && !CATALOG_FILES.has(rel) ? [path] : [];
  });
}

const keysOf = (locale: (typeof LOCALES)[number]) => Object.keys(CATALOGS[locale]).sort();
const namespaces = new Set(keysOf('en').map((k) => k.split('.')[0]));

/** Every string literal in the code that names a message: `'ns.name'` with `ns` a catalog namespace. */
function keysUsedInCode(): Map<string, string[]> {
  const used = new Map<string, string[]>();
  for (const file of sourceFiles()) {
    for (const m of readFileSync(file, 'utf8').matchAll(/'([a-z][A-Za-z]*)\.([A-Za-z_]+)'/g)) {
      if (!namespaces.has(m[1] ?? '')) continue;
      const key = `${m[1]}.${m[2]}`;
      used.set(key, [...(used.get(key) ?? []), relative(SOURCE_ROOT, file)]);
    }
  }
  return used;
}

test('every catalog has exactly the keys of every other', () => {
  for (const locale of LOCALES) {
    for (const other of LOCALES) {
      const missing = keysOf(other).filter((k) => !Object.hasOwn(CATALOGS[locale], k));
      assert.deepEqual(missing, [], `${locale} lacks keys that ${other} has`);
    }
  }
});

test('every key used in the code is in every catalog', () => {
  const used = keysUsedInCode();
  assert.ok(used.size > 100, `found the keys the code uses (${used.size})`);
  for (const locale of LOCALES) {
    const missing = [...used].filter(([k]) => !Object.hasOwn(CATALOGS[locale], k)).map(([k, files]) => `${k} (${files.join(', ')})`);
    assert.deepEqual(missing, [], `keys used in the code but missing in ${locale}`);
  }
});

test('every key in the catalogs is used in the code', () => {
  const used = keysUsedInCode();
  assert.deepEqual(keysOf('en').filter((k) => !used.has(k)), [], 'keys no code uses: remove them or use them');
});

test('each message has the same placeholders in every language, and none is empty', () => {
  for (const key of keysOf('en')) {
    const expected = placeholdersOf(CATALOGS.en[key as keyof typeof CATALOGS.en]);
    for (const locale of LOCALES) {
      const message = CATALOGS[locale][key as keyof typeof CATALOGS.en];
      assert.notEqual(message.trim(), '', `${locale} ${key} is empty`);
      assert.deepEqual(placeholdersOf(message), expected, `${locale} ${key}: placeholders`);
    }
  }
});

test('the Chinese catalog is a translation, not a copy of the English', () => {
  const same = keysOf('en').filter((k) => {
    const key = k as keyof typeof CATALOGS.en;
    // Messages that are only placeholders and punctuation are the same in both.
    return CATALOGS.en[key] === CATALOGS['zh-CN'][key] && /[A-Za-z]{3,}/.test(CATALOGS.en[key].replace(/\{\w+\}/g, ''));
  });
  assert.deepEqual(same, []);
});

test('placeholders are filled; one without a value stays visible rather than vanishing', () => {
  assert.equal(translate('en', 'job.titleNamed', { id: 42, name: 'train' }), 'Job 42: train');
  assert.equal(translate('zh-CN', 'job.titleNamed', { id: 42, name: 'train' }), '作业 42：train');
  assert.equal(interpolate('{a} and {b}', { a: 1 }), '1 and {b}');
});

test('the Chinese catalog uses full-width punctuation beside Chinese text', () => {
  const mixed = Object.entries(CATALOGS['zh-CN'])
    .map(([key, message]) => ({ key, found: halfWidthBesideChinese(message) }))
    .filter((m) => m.found.length > 0)
    .map((m) => `${m.key}: ${m.found.join(' ')}`);
  assert.deepEqual(mixed, []);
});

test('halfWidthBesideChinese: finds each mix, spaces between or not; leaves Latin text and figures alone', () => {
  assert.deepEqual(halfWidthBesideChinese('站点 (已停机)'), ['点 (', '机)']);
  assert.deepEqual(halfWidthBesideChinese('作业, 站点: 组织;'), ['业,', '点:', '织;']);
  assert.deepEqual(halfWidthBesideChinese('例如 h100, a100。1,000,000 之间；"schema": "x"（不重叠）'), []);
});
