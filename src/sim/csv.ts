/**
 * The one CSV line splitter of the simulator's readers (traces, pools, inventories).
 * Dialect: comma-separated; a field may be quoted to hold commas, with `""` for a
 * quote inside; a quoted field may not span lines (no published trace or inventory
 * does), so an unclosed quote is reported, not followed onto the next line.
 */

/** The fields of one CSV line, or the 0-based position of a field whose quote is not closed. */
export function splitCsvLine(line: string): string[] | { readonly unclosedField: number } {
  // Most trace lines have no quote: let the engine's split do them.
  if (!line.includes('"')) return line.split(',');
  const fields: string[] = [];
  let field = '';
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      i++;
      for (;;) {
        const close = line.indexOf('"', i);
        if (close < 0) return { unclosedField: fields.length };
        field += line.slice(i, close);
        i = close + 1;
        if (line[i] !== '"') break;
        field += '"';
        i++;
      }
    }
    const comma = line.indexOf(',', i);
    if (comma < 0) {
      fields.push(field + line.slice(i));
      return fields;
    }
    fields.push(field + line.slice(i, comma));
    field = '';
    i = comma + 1;
  }
}

