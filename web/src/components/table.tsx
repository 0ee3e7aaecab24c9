import { useEffect, useRef, useState, type ReactNode } from 'react';

/** One column of a Table: its header, and what each row shows in it. */
export interface Column<Row> {
  readonly header: ReactNode;
  readonly cell: (row: Row) => ReactNode;
  /** Figures: right-aligned with tabular digits, header and cells alike. */
  readonly numeric?: boolean;
  /** More classes for a row's cell: `negative` for a debit, `diagnosis` for a long sentence. */
  readonly className?: string | ((row: Row) => string | undefined);
  /** What the rows sort by on this column (its header becomes a button that sorts them); null sorts last either way. */
  readonly sortValue?: (row: Row) => string | number | null;
}

/** The rows sorted by one column (its index in `columns`). */
export interface TableSort {
  readonly column: number;
  readonly direction: 'ascending' | 'descending';
}

/** Rows chosen with a checkbox each (a leading column), by their `rowKey`. */
export interface TableSelection<Row> {
  readonly selected: ReadonlySet<string>;
  readonly onChange: (selected: ReadonlySet<string>) => void;
  /** The checkbox's label for the row ("Select job 42"); null: the row cannot be chosen (no checkbox). */
  readonly label: (row: Row) => string | null;
  /** The label of the header's checkbox, which chooses every row shown that can be (or none). */
  readonly allLabel: string;
}

/**
 * The dashboard's one table: a header cell per column (`scope="col"`), one cell of
 * each row its header (`scope="row"`: the first column's, after a selection checkbox;
 * what a screen reader announces when moving along a row), figures right-aligned, and
 * a frame that scrolls sideways on a narrow screen rather than squeezing the columns
 * (or the page): when it does, `scrollCue` says so above it and the frame takes the
 * keyboard's focus, so that arrow keys scroll it. With `empty`, no rows show that
 * sentence instead of a table with a header and nothing under it.
 *
 * Columns with a `sortValue` sort the rows shown (the header's button; `aria-sort`
 * and an arrow say how), starting from `sort` (the rows' own order when absent).
 */
export function Table<Row>({ columns, rows, rowKey, rowClassName, caption, empty, dense, sort, selection, scrollCue }: {
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
  readonly sort?: TableSort;
  readonly selection?: TableSelection<Row>;
  /** What to say above the frame when the table is wider than it ("scroll sideways for more columns"). */
  readonly scrollCue?: string;
}) {
  const [order, setOrder] = useState<TableSort | undefined>(sort);
  const frame = useRef<HTMLDivElement>(null);
  const overflows = useOverflow(frame, rows.length);
  if (rows.length === 0 && empty !== undefined) return <p className="empty">{empty}</p>;
  const keyed = rows.map((row, index) => ({ row, key: String(rowKey(row, index)) }));
  const shown = sortedRows(keyed, order === undefined ? undefined : columns[order.column]?.sortValue, order?.direction);
  const sortBy = (column: number) =>
    setOrder((o) => ({ column, direction: o?.column === column && o.direction === 'ascending' ? 'descending' : 'ascending' }));
  return (
    <>
      {overflows && scrollCue !== undefined ? (
        <p className="scroll-cue muted" aria-hidden="true">
          {scrollCue}
        </p>
      ) : null}
      <div
        ref={frame}
        className={dense === true ? 'table-wrap dense' : 'table-wrap'}
        {...(overflows ? { tabIndex: 0, role: 'region', 'aria-label': caption ?? scrollCue } : {})}
      >
        <table>
          {caption === undefined ? null : <caption className="visually-hidden">{caption}</caption>}
          <thead>
            <tr>
              {selection === undefined ? null : (
                <th scope="col" className="select">
                  <SelectAll rows={keyed} selection={selection} />
                </th>
              )}
              {columns.map((c, i) => {
                const direction = order?.column === i ? order.direction : undefined;
                return (
                  <th key={i} scope="col" className={c.numeric === true ? 'num' : undefined} aria-sort={direction}>
                    {c.sortValue === undefined ? (
                      c.header
                    ) : (
                      <button type="button" className="sort" onClick={() => sortBy(i)}>
                        {c.header}
                        <span className="sort-cue" aria-hidden="true">
                          {direction === 'ascending' ? '▲' : direction === 'descending' ? '▼' : '↕'}
                        </span>
                      </button>
                    )}
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {shown.map(({ row, key }) => (
              <tr key={key} className={rowClassName?.(row)}>
                {selection === undefined ? null : (
                  <td className="select">
                    <SelectOne row={row} rowKey={key} selection={selection} />
                  </td>
                )}
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
    </>
  );
}

/** `rows` by `value` in `direction` (nulls last either way), ties in their own order; as they are without a value. */
export function sortedRows<T extends { readonly row: Row }, Row>(rows: readonly T[], value: ((row: Row) => string | number | null) | undefined, direction: TableSort['direction'] = 'ascending'): readonly T[] {
  if (value === undefined) return rows;
  const sign = direction === 'ascending' ? 1 : -1;
  return rows
    .map((r, index) => ({ r, index, v: value(r.row) }))
    .sort((a, b) => {
      if (a.v === null || b.v === null) return a.v === b.v ? a.index - b.index : a.v === null ? 1 : -1;
      const c = typeof a.v === 'number' && typeof b.v === 'number' ? a.v - b.v : String(a.v).localeCompare(String(b.v), undefined, { numeric: true });
      return c === 0 ? a.index - b.index : sign * c;
    })
    .map(({ r }) => r);
}

function SelectOne<Row>({ row, rowKey, selection }: { readonly row: Row; readonly rowKey: string; readonly selection: TableSelection<Row> }) {
  const label = selection.label(row);
  if (label === null) return null;
  const toggle = (on: boolean) => {
    const next = new Set(selection.selected);
    if (on) next.add(rowKey);
    else next.delete(rowKey);
    selection.onChange(next);
  };
  return <input type="checkbox" aria-label={label} checked={selection.selected.has(rowKey)} onChange={(e) => toggle(e.target.checked)} />;
}

function SelectAll<Row>({ rows, selection }: { readonly rows: readonly { readonly row: Row; readonly key: string }[]; readonly selection: TableSelection<Row> }) {
  const choosable = rows.filter((r) => selection.label(r.row) !== null).map((r) => r.key);
  const chosen = choosable.filter((k) => selection.selected.has(k)).length;
  const all = choosable.length > 0 && chosen === choosable.length;
  return (
    <input
      type="checkbox"
      aria-label={selection.allLabel}
      checked={all}
      disabled={choosable.length === 0}
      // Some chosen, not all: neither checked nor not (a DOM property only).
      ref={(el) => {
        if (el !== null) el.indeterminate = chosen > 0 && !all;
      }}
      onChange={() => selection.onChange(all ? new Set() : new Set(choosable))}
    />
  );
}

/** Whether the frame is wider inside than it shows (measured after each render of new content, `version`, and at every resize). */
export function useOverflow(frame: { readonly current: HTMLElement | null }, version: number): boolean {
  const [overflows, setOverflows] = useState(false);
  useEffect(() => {
    const el = frame.current;
    if (el === null) return undefined;
    const measure = () => setOverflows(el.scrollWidth > el.clientWidth + 1);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    const table = el.firstElementChild;
    if (table !== null) observer.observe(table);
    return () => observer.disconnect();
  }, [frame, version]);
  return overflows;
}

function classesOf<Row>(column: Column<Row>, row: Row): string | undefined {
  const extra = typeof column.className === 'function' ? column.className(row) : column.className;
  const classes = [column.numeric === true ? 'num' : undefined, extra].filter((c) => c !== undefined && c !== '');
  return classes.length === 0 ? undefined : classes.join(' ');
}
