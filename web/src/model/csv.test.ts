import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csvText } from './csv.ts';

test('CSV: a header and a line per row, CRLF; commas, quotes and line breaks quoted, quotes doubled; numbers in full; null empty', () => {
  const text = csvText(['Org', 'Name', 'GPU-hours'], [
    ['acme', 'train, then eval', 1.234567],
    ['beta', 'the "big" run', -2],
    ['gamma', 'two\nlines', null],
  ]);
  assert.equal(text, 'Org,Name,GPU-hours\r\nacme,"train, then eval",1.234567\r\nbeta,"the ""big"" run",-2\r\ngamma,"two\nlines",\r\n');
});

test('CSV: text that starts like a spreadsheet formula is written as text, not run', () => {
  assert.equal(csvText(['Name'], [['=HYPERLINK("http://x","y")'], ['+1'], ['-1'], ['@sum'], ['plain']]), 'Name\r\n"\'=HYPERLINK(""http://x"",""y"")"\r\n\'+1\r\n\'-1\r\n\'@sum\r\nplain\r\n');
  assert.equal(csvText(['n'], [[-1.5]]), 'n\r\n-1.5\r\n', 'a negative number stays a number');
});

test('CSV: Chinese headers and values as they are', () => {
  assert.equal(csvText(['组织', '消耗'], [['甲，乙', 3]]), '组织,消耗\r\n甲，乙,3\r\n', 'a full-width comma is no separator');
});
