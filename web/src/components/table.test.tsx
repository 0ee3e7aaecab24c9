// The shared table rendered to HTML: header cells, row headers, figures' alignment,
// per-row classes, the hidden caption and the sentence that stands for no rows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderToString } from 'react-dom/server';
import { sortedRows, Table, type Column } from './table.tsx';

interface Row {
  readonly org: string;
  readonly credits: number;
}

const columns: readonly Column<Row>[] = [
  { header: 'Org', cell: (r) => r.org },
  { header: 'Credits', cell: (r) => r.credits, numeric: true, className: (r) => (r.credits < 0 ? 'negative' : undefined) },
  { header: 'Note', cell: () => 'x', className: 'detail' },
];
const rows: readonly Row[] = [{ org: 'acme', credits: 3 }, { org: 'beta', credits: -2 }];

test('every column has a header; each row’s first cell is its header; figures are right-aligned', () => {
  const h = renderToString(<Table columns={columns} rows={rows} rowKey={(r) => r.org} />);
  assert.match(h, /^<div class="table-wrap"><table><thead><tr><th scope="col">Org<\/th><th scope="col" class="num">Credits<\/th><th scope="col">Note<\/th><\/tr><\/thead>/);
  assert.match(h, /<tr><th scope="row">acme<\/th><td class="num">3<\/td><td class="detail">x<\/td><\/tr>/);
  assert.match(h, /<tr><th scope="row">beta<\/th><td class="num negative">-2<\/td>/, 'a per-row class adds to the numeric one');
  assert.doesNotMatch(h, /<caption/);
});

test('a caption names the table for screen readers only; no rows show the empty sentence, or an empty body', () => {
  assert.match(renderToString(<Table columns={columns} rows={rows} rowKey={(r) => r.org} caption="Credits by org" />), /<caption class="visually-hidden">Credits by org<\/caption>/);
  assert.equal(renderToString(<Table columns={columns} rows={[]} rowKey={(r) => r.org} empty="Nothing yet." />), '<p class="empty">Nothing yet.</p>');
  assert.match(renderToString(<Table columns={columns} rows={[]} rowKey={(r) => r.org} />), /<tbody><\/tbody>/);
  assert.match(renderToString(<Table columns={columns} rows={rows} rowKey={(r) => r.org} dense />), /^<div class="table-wrap dense">/, 'a table of many columns packs them tighter');
});

test('sorting: by a column’s value either way, nulls last both ways, ties and unsortable columns in the rows’ own order', () => {
  const rows = [{ row: { k: 'b', v: 2 } }, { row: { k: 'n', v: null } }, { row: { k: 'a', v: 10 } }, { row: { k: 'c', v: 2 } }];
  const by = (r: { k: string; v: number | null }) => r.v;
  assert.deepEqual(sortedRows(rows, by, 'ascending').map((r) => r.row.k), ['b', 'c', 'a', 'n']);
  assert.deepEqual(sortedRows(rows, by, 'descending').map((r) => r.row.k), ['a', 'b', 'c', 'n']);
  assert.deepEqual(sortedRows(rows, undefined).map((r) => r.row.k), ['b', 'n', 'a', 'c']);
  const names = [{ row: 'job-10' }, { row: 'job-9' }, { row: 'Job-1' }];
  assert.deepEqual(sortedRows(names, (r: string) => r).map((r) => r.row), ['Job-1', 'job-9', 'job-10'], 'text by its numbers as people read them');
});

test('a sortable column’s header is a button; the sorted one carries aria-sort; a selection adds a labelled checkbox column', () => {
  const sortable: readonly Column<Row>[] = [{ header: 'Org', cell: (r) => r.org, sortValue: (r) => r.org }, { header: 'Credits', cell: (r) => r.credits, numeric: true, sortValue: (r) => r.credits }];
  const h = renderToString(
    <Table columns={sortable} rows={rows} rowKey={(r) => r.org} sort={{ column: 1, direction: 'ascending' }} selection={{ selected: new Set(['beta']), onChange: () => undefined, label: (r) => (r.credits < 0 ? `Select ${r.org}` : null), allLabel: 'Select all' }} />,
  );
  assert.match(h, /<th scope="col" class="select"><input type="checkbox" aria-label="Select all" checked=""/, 'every row that can be chosen is');
  assert.match(h, /<th scope="col"><button type="button" class="sort">Org<span class="sort-cue" aria-hidden="true">↕<\/span><\/button><\/th>/);
  assert.match(h, /<th scope="col" class="num" aria-sort="ascending"><button type="button" class="sort">Credits<span class="sort-cue" aria-hidden="true">▲<\/span>/);
  assert.match(h, /<tbody><tr><td class="select"><input type="checkbox" aria-label="Select beta" checked=""\/><\/td><th scope="row">beta<\/th>.*<tr><td class="select"><\/td><th scope="row">acme<\/th>/, 'sorted by credits; acme cannot be chosen');
});
