import { InvalidInputError } from '../../model/errors.ts';
import { splitCsvLine } from '../csv.ts';

/** One data row of a CSV file, read by column name. `line` is where the row starts (1-based), for messages. */
export interface CsvRow {
  readonly line: number;
  /** The trimmed value of `column`; may be empty. */
  text(column: string): string;
  /** The value of `column` as a whole number ≥ 0; anything else throws InvalidInputError naming the file, line and column. */
  count(column: string): number;
}

/**
 * The rows of a small CSV file (quoted fields, doubled quotes, CRLF or LF line
 * ends; see ../csv.ts). Header names and values are trimmed, because some published
 * files put a space after each comma. Blank lines are skipped. Every column in
 * `columns` must be in the header; a row with a different number of fields than
 * the header is an error. Errors are InvalidInputError with `field`.
 */
export function readCsv(text: string, file: string, field: string, columns: readonly string[]): CsvRow[] {
  const accepted = `a CSV file whose header has ${columns.join(', ')}`;
  const records = splitCsv(text.startsWith('\uFEFF') ? text.slice(1) : text, file, field, accepted);
  const header = records[0];
  if (header === undefined) throw new InvalidInputError(field, `${file}: the file is empty`, accepted);
  const names = header.fields.map((h) => h.trim());
  const index = new Map<string, number>();
  for (const column of columns) {
    const i = names.indexOf(column);
    if (i < 0) throw new InvalidInputError(field, `${file}: line ${header.line}: no column "${column}"; the header has ${names.map((n) => `"${n}"`).join(', ')}`, accepted);
    index.set(column, i);
  }
  return records.slice(1).map(({ line, fields }) => {
    if (fields.length !== names.length) throw new InvalidInputError(field, `${file}: line ${line}: expected ${names.length} fields as in the header, got ${fields.length}`, accepted);
    const text = (column: string): string => {
      const i = index.get(column);
      // A column not declared in `columns` is a bug in the caller, not bad input.
      if (i === undefined) throw new Error(`readCsv: column "${column}" was not declared`);
      return (fields[i] ?? '').trim();
    };
    return {
      line,
      text,
      count(column: string): number {
        const raw = text(column);
        const n = Number(raw);
        if (raw === '' || !Number.isSafeInteger(n) || n < 0) throw new InvalidInputError(field, `${file}: line ${line}: ${column}: expected a whole number ≥ 0, got "${raw}"`, accepted);
        return n;
      },
    };
  });
}

interface CsvRecord {
  readonly line: number;
  readonly fields: string[];
}

function splitCsv(text: string, file: string, field: string, accepted: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    if (raw.trim() === '') continue; // blank lines are skipped, not short rows
    const fields = splitCsvLine(raw);
    if (!Array.isArray(fields)) throw new InvalidInputError(field, `${file}: line ${i + 1}: a quoted field is never closed`, accepted);
    records.push({ line: i + 1, fields });
  }
  return records;
}
