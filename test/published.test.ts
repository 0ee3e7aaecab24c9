// The planner against figures its subjects' authors published (src/plan/published-figures.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PUBLISHED_FIGURES, compareFigure } from '../src/plan/index.ts';

const checked = PUBLISHED_FIGURES.filter((f) => f.check);

test('at least five published figures are held to a stated tolerance', () => {
  assert.ok(checked.length >= 5);
  assert.ok(new Set(checked.map((f) => f.model)).size >= 5, 'from at least five different models');
});

for (const f of checked) {
  test(`${f.model}: ${f.what}, ${f.conditions} — published ${f.published} ${f.unit}, within ×${f.tolerance}`, () => {
    const { planner, ratio, within } = compareFigure(f);
    assert.ok(within, `planner ${planner.toFixed(1)} ${f.unit} vs published ${f.published} (ratio ${ratio.toFixed(2)}, tolerance ×${f.tolerance}); source: ${f.source}`);
  });
}

test('figures not held to a tolerance say why', () => {
  for (const f of PUBLISHED_FIGURES.filter((x) => !x.check)) assert.ok((f.note ?? '').length > 20, f.id);
});
