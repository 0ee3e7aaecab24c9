import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { codePointName, firstHidden, visibleJson, visibleLine, visibleText } from './text.ts';

/** Every hidden character of one line, one by one (`\n` and `\t` included). */
const HIDDEN: readonly string[] = [
  ...range(0x00, 0x1f), ...range(0x7f, 0x9f), '\u061C', ...range(0x200b, 0x200f), ...range(0x2028, 0x202e), ...range(0x2060, 0x2069), '\uFEFF',
  '\uD800', '\uDBFF', '\uDC00', '\uDFFF',
];
function range(from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => String.fromCharCode(from + i));
}

/** The characters neither function may leave in its output (a joiner inside an emoji aside). */
const leftHidden = (out: string, keep: readonly string[]): string[] =>
  [...out.replace(/(?<=\p{Extended_Pictographic}[\uFE0F\u{1F3FB}-\u{1F3FF}]?)\u200D(?=\p{Extended_Pictographic})/gu, '')].filter((c) => HIDDEN.includes(c) && !keep.includes(c));

/** Strings mixing any text, hidden characters, lone surrogates and emoji with their joiners. */
const hostile = fc
  .array(fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.constantFrom(...HIDDEN), fc.integer({ min: 0xd800, max: 0xdfff }).map((u) => String.fromCharCode(u)), fc.constantFrom('👩‍💻', '\u200D👩', '🏳️‍🌈', 'a\u200Db')), { maxLength: 12 })
  .map((parts) => parts.join(''));

/** Text as people write it: letters of any script, marks, digits, punctuation, symbols, spaces, CJK, emoji (with skin tones and joiners). */
const plain = fc
  .array(fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 8 }).map((s) => [...s].filter((c) => /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(c) && !HIDDEN.includes(c)).join('')),
    fc.constantFrom('算力', 'Acme Labs', 'ζωή', 'مرحبا', 'שלום', 'नमस्ते', '한국어', '👍🏽', '👩‍💻', '👨‍👩‍👧', '🏳️‍🌈', '🇨🇳', '\\u{1b}', 'tab-free text'),
  ), { maxLength: 10 })
  .map((parts) => parts.join(' '));

test('hidden characters become \\u{…} escapes; newlines and tabs stay in text, not in a line', () => {
  assert.equal(visibleText('job\x1b[31mred\x07\r\nnext\tcol'), 'job\\u{1b}[31mred\\u{7}\\u{d}\nnext\tcol');
  assert.equal(visibleLine('job\x1b[31mred\x07\r\nnext\tcol'), 'job\\u{1b}[31mred\\u{7}\\u{d}\\u{a}next\\u{9}col');
  assert.equal(visibleLine('invoice\u202Efdp.exe'), 'invoice\\u{202e}fdp.exe');
  assert.equal(visibleLine('a\x7f\x85\u061C\u200B\u2066\uFEFFb'), 'a\\u{7f}\\u{85}\\u{61c}\\u{200b}\\u{2066}\\u{feff}b');
  assert.equal(visibleLine('lone \uD800 and \uDFFF'), 'lone \\u{d800} and \\u{dfff}');
  assert.equal(visibleLine('\0'), '\\u{0}');
});

test('a zero width joiner stays inside an emoji and nowhere else', () => {
  assert.equal(visibleLine('👩‍💻 👨🏽‍🚀'), '👩‍💻 👨🏽‍🚀');
  assert.equal(visibleLine('ad\u200Dmin'), 'ad\\u{200d}min');
  assert.equal(visibleLine('👩\u200D'), '👩\\u{200d}');
  assert.equal(visibleLine('\u200D💻'), '\\u{200d}💻');
});

test('property: no hidden character survives; plain text passes unchanged; escaping twice changes nothing more', () => {
  fc.assert(
    fc.property(hostile, (s) => {
      assert.deepEqual(leftHidden(visibleLine(s), []), [], JSON.stringify(s));
      assert.deepEqual(leftHidden(visibleText(s), ['\n', '\t']), [], JSON.stringify(s));
      assert.equal(visibleLine(visibleLine(s)), visibleLine(s));
      assert.equal(visibleText(visibleText(s)), visibleText(s));
      assert.equal(firstHidden(visibleLine(s)), undefined);
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(plain, (s) => {
      assert.equal(visibleLine(s), s);
      assert.equal(visibleText(s), s);
      assert.equal(firstHidden(s), undefined);
    }),
    { numRuns: 1000 },
  );
});

test('firstHidden names the first hidden character and its position in characters, from 1', () => {
  assert.deepEqual(firstHidden('evil\u202Etxt'), { codePoint: 0x202e, position: 5 });
  assert.deepEqual(firstHidden('😀😀\x1b'), { codePoint: 0x1b, position: 3 }, 'an emoji is one character');
  assert.deepEqual(firstHidden('a\nb'), { codePoint: 0x0a, position: 2 });
  assert.deepEqual(firstHidden('x\uDC00'), { codePoint: 0xdc00, position: 2 });
  assert.equal(firstHidden('👨‍👩‍👧 family'), undefined);
  assert.equal(codePointName(0x202e), 'U+202E');
  assert.equal(codePointName(0x1b), 'U+001B');
});

test('property: visibleJson is the same data, with no hidden character but JSON’s own newlines', () => {
  fc.assert(
    fc.property(fc.dictionary(hostile, fc.oneof(hostile, fc.array(hostile, { maxLength: 3 }), fc.integer()), { noNullPrototype: true }), fc.constantFrom(undefined, 2), (value, space) => {
      const json = visibleJson(value, space);
      assert.deepEqual(JSON.parse(json), value);
      assert.deepEqual([...json].filter((c) => HIDDEN.includes(c) && c !== '\n'), []);
    }),
    { numRuns: 500 },
  );
  assert.equal(visibleJson({ name: 'a\u202Eb\x1bc\u0085' }), '{"name":"a\\u202eb\\u001bc\\u0085"}');
});
