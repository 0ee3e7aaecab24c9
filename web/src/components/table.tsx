import type { ReactNode } from 'react';

/** One column of a Table: its header, and what each row shows in it. */
export interface Column<Row> {
  readonly header: ReactNode;
  readonly cell: (row: Row) => ReactNode;
  /** Figures: right-aligned with tabular digits, header and cells alike. */
  readonly numeric?: boolean;
  /** More classes for a row's cell: `negative` for a debit, `diagnosis` for a long sentence. */
  readonly className?: string | ((row: Row) => string | undefined);
}

/**
 * The dashboard's one table: a header cell per column (`scope="col"`), the first
 * cell of each row its header (`scope="row"`, what a screen reader announces when
 * moving along a row), figures right-aligned, and a frame that scrolls sideways on
 * a narrow screen rather than squeezing the columns. With `empty`, no rows show
 * that sentence instead of a table with a header and nothing under it.
 */
export function Table<Row>({ columns, rows, rowKey, rowClassName, caption, empty, dense }: {
  readonly columns: readonly Column<Row>[];
  readonly rows: readonly Row[];
  readonly rowKey: (row: Row, index: number) => string | number;
  /** A class for a row that must stand out (`row-lost`); the row's cells must say why in words too. */
  readonly rowClassName?: (row: Row) => string | undefined;
  /** The table's name for assistive technology (a visually hidden caption), where no heading right above names it. */
  readonly caption?: string;
  readonly empty?: string;
  /** Many columns: tighter cells, and headers that may wrap. */
  readonly dense?: boolean;
}) {
  if (rows.length === 0 && empty !== undefined) return <p className="empty">{empty}</p>;
  return (
    <div className={dense === true ? 'table-wrap dense' : 'table-wrap'}>
      <table>
        {caption === undefined ? null : <caption className="visually-hidden">{caption}</caption>}
        <thead>
          <tr>
            {columns.map((c, i) => (
              <th key={i} scope="col" className={c.numeric === true ? 'num' : undefined}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, index) => (
            <tr key={rowKey(row, index)} className={rowClassName?.(row)}>
              {columns.map((c, i) => {
                const className = classesOf(c, row);
                return i === 0 ? (
                  <th key={i} scope="row" className={className}>
                    {c.cell(row)}
                  </th>
                ) : (
                  <td key={i} className={className}>
                    {c.cell(row)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function classesOf<Row>(column: Column<Row>, row: Row): string | undefined {
  const extra = typeof column.className === 'function' ? column.className(row) : column.className;
  const classes = [column.numeric === true ? 'num' : undefined, extra].filter((c) => c !== undefined && c !== '');
  return classes.length === 0 ? undefined : classes.join(' ');
}
