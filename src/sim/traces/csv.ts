import { InvalidInputError } from '../../model/errors.ts';
import { RowError, type RowSink, type TraceReader, type TraceRow } from './reader.ts';
import type { TraceFormat } from './trace.ts';
import { parseUtcDateTime } from './utc-time.ts';
import { splitCsvLine } from '../csv.ts';

export { splitCsvLine };

/**
 * The CSV reading every CSV trace format shares: line splitting, header layouts,
 * and typed column access whose errors name the column.
 *
 * Dialect: comma-separated, LF or CRLF line ends, blank lines ignored anywhere.
 * A field may be quoted to hold commas, with `""` for a quote inside; a quoted
 * field may not span lines (no trace does), so an unclosed quote is a bad row.
 */

/** The first non-blank line of `text`, or undefined if it has none. */
export function firstLine(text: string): string | undefined {
  for (const raw of text.split('\n')) {
    const line = withoutCr(raw);
    if (line !== '') return line;
  }
  return undefined;
}

/** A line of a CRLF file, split at LF, without its CR. */
function withoutCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** One data row, read by column name. Every accessor throws RowError naming the column. */
export class CsvRow {
  private readonly fields: readonly string[];
  private readonly index: ReadonlyMap<string, number>;
  constructor(fields: readonly string[], index: ReadonlyMap<string, number>) {
    this.fields = fields;
    this.index = index;
  }

  /** The field as written; '' when empty or when the layout has no such column. */
  raw(column: string): string {
    const i = this.index.get(column);
    return i === undefined ? '' : (this.fields[i] ?? '');
  }

  /** A value the row must have. */
  text(column: string): string {
    const v = this.raw(column);
    if (v.trim() === '') throw new RowError(column, 'is empty', 'a value');
    return v;
  }

  /** A value the row may leave empty. */
  optional(column: string): string | undefined {
    const v = this.raw(column);
    return v.trim() === '' ? undefined : v;
  }

  number(column: string): number {
    const v = this.text(column);
    const n = Number(v);
    if (!Number.isFinite(n)) throw new RowError(column, `"${v}" is not a number`, 'a number');
    return n;
  }

  nonNegative(column: string): number {
    const n = this.number(column);
    if (n < 0) throw new RowError(column, `${n} is negative`, 'a number ≥ 0');
    return n;
  }

  positive(column: string): number {
    const n = this.number(column);
    if (n <= 0) throw new RowError(column, `${n} is not above zero`, 'a number > 0');
    return n;
  }

  /** A point in time, as seconds (≥ 0) or as a `YYYY-MM-DD HH:MM:SS` date-time read as UTC. */
  time(column: string): number {
    const v = this.text(column);
    const n = Number(v);
    if (Number.isFinite(n)) {
      if (n < 0) throw new RowError(column, `${n} is negative`, 'seconds ≥ 0, or YYYY-MM-DD HH:MM:SS');
      return n;
    }
    const t = parseUtcDateTime(v.trim());
    if (t === undefined) throw new RowError(column, `"${v}" is neither seconds nor a date-time`, 'seconds ≥ 0, or YYYY-MM-DD HH:MM:SS');
    return t;
  }

  /** GPU types from a `|`-separated list (`V100M16|V100M32`), lower-cased; null (any type) when empty. */
  gpuTypes(column: string): readonly string[] | null {
    const types = this.raw(column).split('|').map((t) => t.trim().toLowerCase()).filter((t) => t !== '');
    return types.length === 0 ? null : types;
  }
}

/** One header layout a format accepts. */
export interface CsvLayout {
  /** Columns the header must name; others are ignored. */
  readonly required: readonly string[];
  /**
   * Set for a table published without a header (Alibaba's are): `required` is then
   * the full column list in order. Such a layout applies when the first line has
   * exactly that many fields and a number in column `probe`, i.e. it is data.
   */
  readonly headerless?: { readonly probe: string };
  /** The column ids come from, to point at a duplicate; unset when ids are made from row numbers, which cannot repeat. */
  readonly idColumn?: string;
  /**
   * The job of one data row; `n` counts data rows from 0 in file order, for
   * layouts without ids (`job-<n>`). Returns null for a job that never finished.
   */
  toRow(row: CsvRow, n: number): TraceRow | null;
}

interface Match {
  readonly layout: CsvLayout;
  readonly columns: readonly string[];
  readonly hasHeader: boolean;
}

/** The layout `head` (the first non-blank line, split) fits: the first whose required columns it names, else a header-less one it is data for. */
function match(layouts: readonly CsvLayout[], head: readonly string[]): Match | undefined {
  const names = new Set(head);
  for (const layout of layouts) {
    if (layout.required.every((c) => names.has(c))) return { layout, columns: head, hasHeader: true };
  }
  for (const layout of layouts) {
    if (layout.headerless === undefined || head.length !== layout.required.length) continue;
    const probe = head[layout.required.indexOf(layout.headerless.probe)]?.trim() ?? '';
    if (probe !== '' && Number.isFinite(Number(probe))) return { layout, columns: layout.required, hasHeader: false };
  }
  return undefined;
}

function headerNames(head: string): string[] {
  const fields = splitCsvLine(head);
  return (Array.isArray(fields) ? fields : [head]).map((name) => name.trim());
}

/** The error for a header no layout fits, naming the missing columns of the closest layout. */
function badHeader(format: TraceFormat, layouts: readonly CsvLayout[], file: string, line: number, head: readonly string[]): InvalidInputError {
  const names = new Set(head);
  const missing = layouts.map((l) => l.required.filter((c) => !names.has(c))).sort((a, b) => a.length - b.length)[0] ?? [];
  const lacks = missing.map((c) => `"${c}"`).join(', ');
  const accepted = layouts.map((l) => (l.headerless ? `no header and the ${l.required.length} columns ${l.required.join(',')}` : l.required.join(','))).join(' | ');
  return new InvalidInputError('trace', `${file}:${line}: not a ${format} header: no column ${lacks}; the header found is: ${head.join(',')}`, `a header naming the columns ${accepted}`);
}

/** A TraceReader for a CSV format with the given layouts, tried in order. */
export function csvReader(format: TraceFormat, layouts: readonly CsvLayout[]): TraceReader {
  return {
    unit: 'line',
    recognizes: (head) => match(layouts, headerNames(head)) !== undefined,
    read(text: string, file: string, sink: RowSink): void {
      let found: Match | undefined;
      const index = new Map<string, number>();
      const lines = text.split('\n');
      let n = 0;
      for (let i = 0; i < lines.length; i++) {
        const line = withoutCr(lines[i] ?? '');
        if (line === '') continue;
        if (found === undefined) {
          const head = headerNames(line);
          found = match(layouts, head);
          if (found === undefined) throw badHeader(format, layouts, file, i + 1, head);
          // A repeated header name reads the first column so named.
          found.columns.forEach((c, at) => {
            if (!index.has(c)) index.set(c, at);
          });
          if (found.hasHeader) continue;
        }
        const { layout, columns } = found;
        const rowNumber = n++;
        sink.row(i + 1, layout.idColumn ?? null, () => {
          const fields = splitCsvLine(line);
          if (!Array.isArray(fields)) throw new RowError(columns[fields.unclosedField] ?? `#${fields.unclosedField + 1}`, 'its opening quote is not closed on this line', 'a closing " on the same line');
          if (fields.length < columns.length) {
            throw new RowError(columns[fields.length] ?? '', `missing: the row has ${fields.length} of the ${columns.length} columns`, `${columns.length} comma-separated fields`);
          }
          if (fields.length > columns.length) {
            throw new RowError(`#${columns.length + 1}`, `unexpected: the row has ${fields.length} fields for ${columns.length} columns`, `${columns.length} comma-separated fields`);
          }
          return layout.toRow(new CsvRow(fields, index), rowNumber);
        });
      }
      if (found === undefined) throw new InvalidInputError('trace', `${file}: the file is empty`, `a ${format} CSV file`);
    },
  };
}
