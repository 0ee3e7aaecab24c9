// The shared table rendered to HTML: header cells, row headers, figures' alignment,
// per-row classes, the hidden caption and the sentence that stands for no rows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderToString } from 'react-dom/server';
import { Table, type Column } from './table.tsx';

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
