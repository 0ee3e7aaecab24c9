import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CsvRow, csvReader, firstLine, splitCsvLine, type CsvLayout } from './csv.ts';
import { RowError, type TraceRow } from './reader.ts';

describe('splitCsvLine', () => {
  test('splits at commas, keeping empty fields', () => {
    assert.deepEqual(splitCsvLine('a,,c,'), ['a', '', 'c', '']);
  });
  test('a quoted field holds commas and doubled quotes', () => {
    assert.deepEqual(splitCsvLine('1,"a, b","say ""hi""",""'), ['1', 'a, b', 'say "hi"', '']);
  });
  test('an unclosed quote gives the position of its field', () => {
    assert.deepEqual(splitCsvLine('1,2,"open, still'), { unclosedField: 2 });
  });
});

test('firstLine skips blank lines and drops a CR', () => {
  assert.equal(firstLine('\n\r\nh1,h2\r\n1,2\r\n'), 'h1,h2');
  assert.equal(firstLine('\n\n'), undefined);
});

describe('CsvRow', () => {
  const row = new CsvRow(['12', '', 'abc', '-3', '0', '2017-10-03 06:09:05', ' V100M16|v100m32 '], new Map(['n', 'empty', 'word', 'neg', 'zero', 'when', 'types'].map((c, i) => [c, i])));
  const fails = (f: () => unknown, column: string, problem: RegExp): void => {
    assert.throws(f, (e: unknown) => e instanceof RowError && e.column === column && problem.test(e.problem));
  };
  test('reads typed values by column name', () => {
    assert.equal(row.number('n'), 12);
    assert.equal(row.positive('n'), 12);
    assert.equal(row.nonNegative('zero'), 0);
    assert.equal(row.time('n'), 12);
    assert.equal(row.time('when'), 1507010945);
    assert.equal(row.optional('empty'), undefined);
    assert.equal(row.optional('absent'), undefined, 'a column the layout lacks reads as empty');
    assert.deepEqual(row.gpuTypes('types'), ['v100m16', 'v100m32']);
    assert.equal(row.gpuTypes('empty'), null);
  });
  test('each bad value names its column and says what is wrong', () => {
    fails(() => row.text('empty'), 'empty', /^is empty$/);
    fails(() => row.number('word'), 'word', /^"abc" is not a number$/);
    fails(() => row.nonNegative('neg'), 'neg', /^-3 is negative$/);
    fails(() => row.positive('zero'), 'zero', /^0 is not above zero$/);
    fails(() => row.time('word'), 'word', /neither seconds nor a date-time/);
    fails(() => row.time('neg'), 'neg', /negative/);
  });
});

describe('csvReader', () => {
  const layout = (required: string[], extra: Partial<CsvLayout> = {}): CsvLayout => ({
    required,
    toRow: (r, n): TraceRow => ({ id: `job-${n}`, org: r.raw(required[0] ?? ''), gpus: 1, gpuTypes: null, submitS: 0, durationS: 1 }),
    ...extra,
  });
  /** Reads `text`, returning per row its line and org, or the column and problem that made it bad. */
  const read = (layouts: CsvLayout[], text: string): string[] => {
    const got: string[] = [];
    csvReader('generic', layouts).read(text, 'f.csv', {
      row(line, _idColumn, build) {
        try {
          got.push(`${line}:${build()?.org ?? 'unfinished'}`);
        } catch (err) {
          if (!(err instanceof RowError)) throw err;
          got.push(`${line}:bad ${err.column}: ${err.problem}`);
        }
      },
    });
    return got;
  };

  test('numbers rows by file line (header = 1), skipping blank lines, CRLF or not', () => {
    assert.deepEqual(read([layout(['a', 'b'])], 'a,b\r\nx,1\r\n\r\ny,2\r\n\r\n'), ['2:x', '4:y']);
  });
  test('the first layout whose columns the header names is used, in any column order', () => {
    assert.deepEqual(read([layout(['a', 'b']), layout(['c'])], 'z,c\nq,w\n'), ['2:w']);
  });
  test('a column named twice in the header reads as its first', () => {
    assert.deepEqual(read([layout(['a'])], 'a,b,a\n1,2,3\n'), ['2:1']);
  });
  test('a row with too few or too many fields names the first missing column, or the extra position', () => {
    assert.deepEqual(read([layout(['a', 'b', 'c'])], 'a,b,c\n1,2\n1,2,3,4\n"1,2,3\n'), [
      '2:bad c: missing: the row has 2 of the 3 columns',
      '3:bad #4: unexpected: the row has 4 fields for 3 columns',
      '4:bad a: its opening quote is not closed on this line',
    ]);
  });
  test('a header lacking required columns is an error naming them and showing the header', () => {
    assert.throws(
      () => read([layout(['a', 'b', 'c']), layout(['x', 'y'])], '\na,q\n1,2\n'),
      (e: Error & { field?: string }) => e.field === 'trace' && e.message.includes('f.csv:2: not a generic header: no column "b", "c"; the header found is: a,q') && e.message.includes('a,b,c | x,y'),
    );
  });
  test('a header-less layout applies when the first line is data', () => {
    const headerless = layout(['a', 'n', 'b'], { headerless: { probe: 'n' } });
    assert.deepEqual(read([headerless], 'x,1,y\nz,2,w\n'), ['1:x', '2:z']);
    assert.deepEqual(read([headerless], 'a,n,b\nz,2,w\n'), ['2:z'], 'or with its header');
    assert.throws(() => read([headerless], 'p,q,r\n'), /no column "a", "n", "b"/, 'a text first line with the right field count is a header, not data');
  });
  test('an empty file is an error; a header alone is no rows', () => {
    assert.throws(() => read([layout(['a'])], '\n\n'), /f\.csv: the file is empty/);
    assert.deepEqual(read([layout(['a'])], 'a\n'), []);
  });
});
