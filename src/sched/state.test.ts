import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PoolState, SiteState } from './state.ts';
import { pool, site } from './test-builders.ts';

/** Org indices: the sites' owner (index 0) and another org borrowing there. */
const OWNER = 0;
const BORROWER = 1;

/** A site of `nodes` × `gpusPerNode` GPUs with `taken[i]` GPUs already taken on node i (by job 1000 + i). */
function siteWith(nodes: number, gpusPerNode: number, taken: readonly number[] = []): SiteState {
  const s = new SiteState(0, site('a1').org('a').nodes(nodes).gpusPerNode(gpusPerNode).build(), 0);
  taken.forEach((n, node) => {
    if (n > 0) s.commit(1000 + node, [node], [n], s.org);
  });
  return s;
}

/** The (node, GPUs) pairs of a choice, sorted by node, so tests do not depend on bucket order. */
const pairs = (c: { nodes: number[]; counts: number[] } | null) =>
  c === null ? null : c.nodes.map((n, i) => [n, c.counts[i]] as const).sort((a, b) => a[0] - b[0]);

/** Free GPUs per node, and the site's totals, as one comparable value. */
const snapshot = (s: SiteState) => ({ free: s.free, borrowed: s.borrowed, nodeFree: [...s.nodeFree], maxNodeFree: s.maxNodeFree(), running: [...s.running] });

test('a request that fits one node takes the fullest node that still fits it (best fit)', () => {
  // free per node: 3, 1, 6, 8
  const s = siteWith(4, 8, [5, 7, 2, 0]);
  assert.deepEqual(pairs(s.choose(2)), [[0, 2]], '2 GPUs: the node with 3 free, not the empty one');
  assert.deepEqual(pairs(s.choose(1)), [[1, 1]], '1 GPU: the node with 1 free');
  assert.deepEqual(pairs(s.choose(4)), [[2, 4]], '4 GPUs: the node with 6 free');
  assert.deepEqual(pairs(s.choose(7)), [[3, 7]], '7 GPUs: only the empty node holds it');
  assert.deepEqual(pairs(s.choose(8)), [[3, 8]]);
});

test('choose does not commit: asking twice gives the same answer and leaves the site as it was', () => {
  const s = siteWith(4, 8, [5, 7, 2, 0]);
  const before = snapshot(s);
  assert.deepEqual(pairs(s.choose(2)), pairs(s.choose(2)));
  assert.deepEqual(pairs(s.choose(20)), pairs(s.choose(20)));
  assert.deepEqual(snapshot(s), before);
});

test('a multi-node request takes whole free nodes first, then the best fit for the rest', () => {
  // free per node: 3, 8, 5, 8
  const s = siteWith(4, 8, [5, 0, 3, 0]);
  assert.deepEqual(pairs(s.choose(20)), [[1, 8], [2, 4], [3, 8]], 'two whole nodes, then 4 from the node with 5 free');
  assert.deepEqual(pairs(s.choose(16)), [[1, 8], [3, 8]], 'exactly two whole nodes');
  const eleven = pairs(s.choose(11));
  assert.deepEqual(eleven?.[0], [0, 3], 'the remainder of 3 on the node with exactly 3 free');
  assert.ok(eleven?.length === 2 && [1, 3].includes(eleven[1]?.[0] ?? -1) && eleven[1]?.[1] === 8, 'and one whole free node');
});

test('a multi-node request with no whole free node spreads over the largest remainders', () => {
  // free per node: 3, 3, 6
  const s = siteWith(3, 8, [5, 5, 2]);
  const c = s.choose(12);
  assert.ok(c !== null);
  assert.deepEqual(pairs(c), [[0, 3], [1, 3], [2, 6]]);
  assert.equal(s.choose(13), null, 'only 12 free');
});

test('a request larger than the free GPUs, or a one-node request with the free GPUs split across nodes, gets null', () => {
  const s = siteWith(2, 4, [1, 1]); // free 3 and 3
  assert.equal(s.choose(7), null, 'only 6 free');
  assert.equal(s.choose(4), null, 'fits one node in size, but no node has 4 free');
  const five = s.choose(5);
  assert.deepEqual(five?.counts.slice().sort(), [2, 3], 'a multi-node request may use split GPUs');
  assert.deepEqual(pairs(s.choose(6)), [[0, 3], [1, 3]]);
});

test('commit takes the chosen GPUs; release restores the site exactly', () => {
  const s = siteWith(4, 8, [5, 0, 3, 0]);
  const before = snapshot(s);
  const small = s.choose(2);
  assert.ok(small !== null);
  const p1 = s.commit(1, small.nodes, small.counts, OWNER);
  const big = s.choose(20);
  assert.ok(big !== null);
  const p2 = s.commit(2, big.nodes, big.counts, BORROWER);
  assert.equal(p1.gpus, 2);
  assert.equal(p2.gpus, 20);
  assert.equal(s.free, before.free - 22);
  assert.equal(s.borrowed, 20, 'a borrower commit counts as borrowed');
  assert.deepEqual([...s.running], [...before.running, [1, 2], [2, 20]]);
  s.release(2, p2, BORROWER);
  s.release(1, p1, OWNER);
  assert.deepEqual(snapshot(s), before);
  assert.deepEqual(pairs(s.choose(2)), [[0, 2]], 'the best-fit index is as before');
});

test('free counts never go negative and always add up, whatever is taken and released', () => {
  const op = fc.oneof(fc.record({ take: fc.integer({ min: 1, max: 40 }) }), fc.record({ release: fc.nat() }));
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 8 }), fc.array(op, { maxLength: 60 }), (nodes, gpn, ops) => {
      const s = siteWith(nodes, gpn);
      const held: { job: number; part: ReturnType<SiteState['commit']>; org: number }[] = [];
      let nextJob = 0;
      for (const o of ops) {
        if ('take' in o) {
          const c = s.choose(o.take);
          const fitsOneNode = o.take <= gpn;
          const expectNull = o.take > s.free || (fitsOneNode && s.maxNodeFree() < o.take);
          assert.equal(c === null, expectNull, `choose(${o.take}) with free ${s.free}, node free ${[...s.nodeFree].join(',')}`);
          if (c === null) continue;
          assert.equal(c.counts.reduce((a, b) => a + b, 0), o.take, 'takes exactly what was asked');
          assert.equal(new Set(c.nodes).size, c.nodes.length, 'each node once');
          c.nodes.forEach((n, i) => assert.ok((c.counts[i] ?? 0) > 0 && (c.counts[i] ?? 0) <= (s.nodeFree[n] ?? 0), 'no node gives more than it has free'));
          if (fitsOneNode) assert.equal(c.nodes.length, 1, 'a request that fits one node uses one node');
          const org = nextJob % 2 === 1 ? BORROWER : OWNER;
          held.push({ job: nextJob, part: s.commit(nextJob, c.nodes, c.counts, org), org });
          nextJob++;
        } else if (held.length > 0) {
          const [h] = held.splice(o.release % held.length, 1);
          if (h) s.release(h.job, h.part, h.org);
        }
        assert.ok(s.free >= 0 && s.free <= s.total);
        assert.equal([...s.nodeFree].reduce((a, b) => a + b, 0), s.free, 'node free GPUs add up to the site free count');
        assert.ok([...s.nodeFree].every((f) => f >= 0 && f <= gpn));
        assert.equal(s.free, s.total - held.reduce((n, h) => n + h.part.gpus, 0));
        assert.equal(s.borrowed, held.filter((h) => h.org === BORROWER).reduce((n, h) => n + h.part.gpus, 0));
        assert.equal(s.heldBy.get(BORROWER) ?? 0, s.borrowed, 'one borrowing org holds all that is borrowed');
        assert.equal(s.maxNodeFree(), Math.max(0, ...s.nodeFree));
      }
    }),
    { numRuns: 300 },
  );
});

test('the lend cap is the floor of the lend fraction of the site', () => {
  assert.equal(new SiteState(0, site('b1').nodes(2).gpusPerNode(8).lend(0.5).build(), 0).lendCap, 8);
  assert.equal(new SiteState(0, site('b1').nodes(1).gpusPerNode(7).lend(0.5).build(), 0).lendCap, 3);
  assert.equal(new SiteState(0, site('b1').lend(0).build(), 0).lendCap, 0);
});

test('the pool knows each org by index, what it contributes, and its sites by GPU type', () => {
  const state = new PoolState(pool(site('a1').org('a').nodes(2), site('b1').org('b').type('a100'), site('a2').org('a').gpusPerNode(4)), ['c', 'a']);
  assert.deepEqual(state.orgIds, ['a', 'b', 'c'], 'site owners first, then orgs that only submit');
  assert.deepEqual([...state.contributed], [20, 8, 0]);
  assert.deepEqual([...state.using], [0, 0, 0]);
  assert.deepEqual(Object.fromEntries(state.sitesByType), { h100: [0, 2], a100: [1] });
  assert.equal(state.totalGpus(), 28);
  assert.equal(state.sites[2]?.org, 0);
});
