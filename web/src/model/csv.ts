/**
 * CSV text (RFC 4180) of a table as the page shows it, for a download built in the
 * browser: a header line, then a line per row, CRLF between lines. A value with a comma,
 * a quote or a line break is quoted, its quotes doubled; numbers are written in full
 * (not rounded as the page shows them). Text another member wrote (a job's name) that
 * starts like a spreadsheet formula (= + - @, a tab or a CR) gets a leading apostrophe,
 * so that opening the file runs nothing (OWASP's "CSV injection").
 */

export type CsvValue = string | number | null;

function cell(value: CsvValue): string {
  if (value === null) return '';
  const text = typeof value === 'number' ? String(value) : /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvText(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
  return [header, ...rows].map((line) => line.map(cell).join(',')).join('\r\n') + '\r\n';
}
