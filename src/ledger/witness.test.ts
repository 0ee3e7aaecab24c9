import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Checkpoint } from './checkpoint.ts';
import { utf8 } from './encoding.ts';
import { consistencyProofFrom, consistencyProofNeeds, emptyRoot, leafHash, merkleTreeHash, type NodeId } from './merkle.ts';
import { witnessProofNeeds, witnessVerdict, type CosignedTree } from './witness.ts';

const leaves = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => leafHash(utf8(`${prefix} ${i}\n`)));
const checkpoint = (hashes: readonly Uint8Array[]): Checkpoint => ({ origin: 'example.com/log', size: hashes.length, rootHash: merkleTreeHash(hashes), extensions: [] });
const tree = (hashes: readonly Uint8Array[]): CosignedTree => ({ size: hashes.length, rootHash: merkleTreeHash(hashes) });
const subtree = (hashes: readonly Uint8Array[]) => (n: NodeId) => merkleTreeHash(hashes.slice(n.index * 2 ** n.level, (n.index + 1) * 2 ** n.level));
/** The consistency proof from `from` leaves to all of `hashes`, as the log would serve it. */
const proof = (hashes: readonly Uint8Array[], from: number) => consistencyProofFrom(from, hashes.length, consistencyProofNeeds(from, hashes.length).map(subtree(hashes)));
const verdictOf = (v: ReturnType<typeof witnessVerdict>) => (v.ok ? v.kind : v.reason);

test('the first checkpoint is taken on trust; the same tree again is unchanged; a proved extension is cosigned', () => {
  const log = leaves('record', 7);
  assert.equal(verdictOf(witnessVerdict(null, checkpoint(log))), 'first');
  assert.equal(witnessProofNeeds(null, checkpoint(log)), null);
  assert.equal(verdictOf(witnessVerdict(tree(log), checkpoint(log))), 'unchanged');
  assert.equal(witnessProofNeeds(tree(log), checkpoint(log)), null, 'the same size needs no proof');
  const grown = [...log, ...leaves('later', 5)];
  assert.deepEqual(witnessProofNeeds(tree(log), checkpoint(grown)), { from: 7, to: 12 });
  assert.equal(verdictOf(witnessVerdict(tree(log), checkpoint(grown), proof(grown, 7))), 'extended');
  assert.equal(verdictOf(witnessVerdict(tree([]), checkpoint(grown))), 'extended', 'every tree extends the empty one');
  assert.equal(witnessProofNeeds(tree([]), checkpoint(grown)), null);
});

test('a rewritten history (the same size, another root) is a split view naming both trees', () => {
  const v = witnessVerdict(tree(leaves('record', 4)), checkpoint(leaves('forged', 4)));
  assert.ok(!v.ok);
  assert.equal(v.reason, 'split_view');
  assert.match(v.detail, /the log shows size 4 \(root [A-Za-z0-9+/]{43}=\), but this witness cosigned size 4 \(root [A-Za-z0-9+/]{43}=\): the same size with another root/);
});

test('a larger tree that forks from the cosigned one is a split view, whatever proof the log sends', () => {
  const cosigned = leaves('record', 5);
  const fork = [...cosigned.slice(0, 3), ...leaves('forged', 6)];
  assert.equal(verdictOf(witnessVerdict(tree(cosigned), checkpoint(fork), proof(fork, 5))), 'split_view', "the fork's own proof");
  assert.equal(verdictOf(witnessVerdict(tree(cosigned), checkpoint(fork), [])), 'split_view', 'no proof');
  const honest = [...cosigned, ...leaves('later', 4)];
  const v = witnessVerdict(tree(cosigned), checkpoint(fork), proof(honest, 5));
  assert.ok(!v.ok);
  assert.match(v.detail, /size 9 .*cannot prove extends size 5 .*new root/, 'the honest tree’s proof does not reach the fork’s root');
});

test('a smaller tree than the one cosigned is refused, even an earlier checkpoint of the same log', () => {
  const log = leaves('record', 6);
  const v = witnessVerdict(tree(log), checkpoint(log.slice(0, 4)));
  assert.ok(!v.ok);
  assert.equal(v.reason, 'rolled_back');
  assert.match(v.detail, /the log shows size 4 .*smaller than size 6 .*an old checkpoint replayed, or a truncated log/);
});

test('a checkpoint of the empty log must have the empty root', () => {
  assert.equal(verdictOf(witnessVerdict(null, { origin: 'l', size: 0, rootHash: emptyRoot(), extensions: [] })), 'first');
  assert.equal(verdictOf(witnessVerdict(null, { origin: 'l', size: 0, rootHash: leafHash(utf8('x')), extensions: [] })), 'bad_empty_root');
});

test('property: a witness cosigns a tree exactly when it extends the one it cosigned', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 }), (m, extra, forkAt) => {
      const cosigned = leaves('a', m);
      const honest = [...cosigned, ...leaves('b', extra)];
      assert.equal(witnessVerdict(tree(cosigned), checkpoint(honest), proof(honest, m)).ok, true);
      // A tree that differs from the cosigned one in some leaf below m is never cosigned.
      const at = forkAt % m;
      const forked = honest.map((h, i) => (i === at ? leafHash(utf8('forged')) : h));
      assert.equal(witnessVerdict(tree(cosigned), checkpoint(forked), proof(forked, m)).ok, false);
    }),
  );
});
