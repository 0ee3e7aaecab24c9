import { InvalidInputError } from '../../model/errors.ts';

/** One data row of a CSV file, read by column name. `line` is where the row starts (1-based), for messages. */
export interface CsvRow {
  readonly line: number;
  /** The trimmed value of `column`; may be empty. */
  text(column: string): string;
  /** The value of `column` as a whole number ≥ 0; anything else throws InvalidInputError naming the file, line and column. */
  count(column: string): number;
}

/**
 * The rows of a small CSV file (RFC 4180: quoted fields, doubled quotes, CRLF or
 * LF line ends). Header names and values are trimmed, because some published
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
  let fields: string[] = [];
  let value = '';
  let line = 1;
  let start = 1;
  let i = 0;
  const endRecord = (): void => {
    fields.push(value);
    // A blank line is one empty field; skip it rather than call it a short row.
    if (fields.length > 1 || (fields[0] ?? '').trim() !== '') records.push({ line: start, fields });
    fields = [];
    value = '';
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '"' && value.trim() === '') {
      const open = line;
      value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new InvalidInputError(field, `${file}: line ${open}: a quoted field is never closed`, accepted);
        const q = text[i];
        if (q === '"' && text[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (q === '"') {
          i++;
          break;
        } else {
          if (q === '\n') line++;
          value += q;
          i++;
        }
      }
    } else if (c === ',') {
      fields.push(value);
      value = '';
      i++;
    } else if (c === '\n' || c === '\r') {
      endRecord();
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
      start = line;
    } else {
      value += c;
      i++;
    }
  }
  if (value !== '' || fields.length > 0) endRecord();
  return records;
}
