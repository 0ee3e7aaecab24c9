import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fromBase64, fromHex, toBase64, toHex, utf8 } from './encoding.ts';
import {
  completedSubtreesFrom,
  completedSubtreesNeeds,
  consistencyProofFrom,
  consistencyProofNeeds,
  emptyRoot,
  inclusionProofFrom, inclusionProofsFrom,
  inclusionProofNeeds,
  leafHash,
  merkleTreeHash,
  nodeHash,
  treeRootFrom,
  treeRootNeeds,
  verifyConsistency,
  verifyInclusion,
  type NodeId,
  type ProofVerdict,
} from './merkle.ts';

const hex = (s: string): Uint8Array => fromHex(s)!;

/** A log kept the way the store will keep it: complete-subtree hashes by level and index, appended leaf by leaf. */
class MemoryLog {
  readonly nodes = new Map<string, Uint8Array>();
  size = 0;
  append(data: Uint8Array): void {
    const needs = completedSubtreesNeeds(this.size);
    for (const n of completedSubtreesFrom(this.size, leafHash(data), this.read(needs))) this.nodes.set(`${n.level}/${n.index}`, n.hash);
    this.size++;
  }
  read(ids: readonly NodeId[]): Uint8Array[] {
    return ids.map((id) => {
      const hash = this.nodes.get(`${id.level}/${id.index}`);
      assert.ok(hash, `node ${id.level}/${id.index} is not stored at size ${this.size}`);
      return hash;
    });
  }
  root(size = this.size): Uint8Array {
    return treeRootFrom(size, this.read(treeRootNeeds(size)));
  }
  inclusion(index: number, size = this.size): Uint8Array[] {
    return inclusionProofFrom(index, size, this.read(inclusionProofNeeds(index, size)));
  }
  consistency(oldSize: number, newSize = this.size): Uint8Array[] {
    return consistencyProofFrom(oldSize, newSize, this.read(consistencyProofNeeds(oldSize, newSize)));
  }
}

function logOf(leaves: readonly Uint8Array[]): MemoryLog {
  const log = new MemoryLog();
  for (const l of leaves) log.append(l);
  return log;
}

// RFC 9162 §2.1.3.1 PATH and §2.1.4.1 PROOF, written from the RFC's text over a list of
// leaf hashes: the reference the storage-friendly generation must agree with.
function referencePath(m: number, d: readonly Uint8Array[]): Uint8Array[] {
  if (d.length === 1) return [];
  const k = splitOf(d.length);
  return m < k ? [...referencePath(m, d.slice(0, k)), merkleTreeHash(d.slice(k))] : [...referencePath(m - k, d.slice(k)), merkleTreeHash(d.slice(0, k))];
}
function referenceSubproof(m: number, d: readonly Uint8Array[], b: boolean): Uint8Array[] {
  if (m === d.length) return b ? [] : [merkleTreeHash(d)];
  const k = splitOf(d.length);
  return m <= k ? [...referenceSubproof(m, d.slice(0, k), b), merkleTreeHash(d.slice(k))] : [...referenceSubproof(m - k, d.slice(k), false), merkleTreeHash(d.slice(0, k))];
}
function splitOf(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

// The RFC 6962 test tree used by transparency-dev/merkle (testonly/constants.go) and,
// before it, by Certificate Transparency's own tests: eight leaves, their roots at every
// size, and proofs (cmd/proofgen/main.go; leaf numbers there are 1-based).
const RFC6962_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hex);
const RFC6962_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const RFC6962_INCLUSION: readonly { index: number; size: number; proof: string[] }[] = [
  { index: 0, size: 1, proof: [] },
  { index: 0, size: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { index: 5, size: 8, proof: ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  { index: 1, size: 5, proof: ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
];
const RFC6962_CONSISTENCY: readonly { oldSize: number; newSize: number; proof: string[] }[] = [
  { oldSize: 1, newSize: 1, proof: [] },
  { oldSize: 1, newSize: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { oldSize: 6, newSize: 8, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { oldSize: 2, newSize: 5, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
  { oldSize: 6, newSize: 7, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
];
/** transparency-dev/merkle cmd/proofgen: a hash that is no root of anything here. */
const SOME_HASH = hex('abacaba000000000000000000000000000000000000000000060061e00123456');

test('leaf, node and empty-tree hashes follow RFC 9162 §2.1 (vectors: transparency-dev testonly, Go sumdb/tlog)', () => {
  assert.equal(toHex(emptyRoot()), RFC6962_ROOTS[0]);
  assert.equal(toHex(leafHash(new Uint8Array(0))), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  assert.equal(toHex(nodeHash(leafHash(hex('')), leafHash(hex('00')))), 'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125');
  // Go sumdb/tlog note_test.go: RecordHash("hello world") in a golden tree line.
  assert.equal(toBase64(leafHash(utf8('hello world'))), 'TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=');
});

test('the root at every size of the RFC 6962 test tree, directly and from stored subtrees', () => {
  const leafHashes = RFC6962_LEAVES.map(leafHash);
  const log = logOf(RFC6962_LEAVES);
  for (let size = 0; size <= 8; size++) {
    assert.equal(toHex(merkleTreeHash(leafHashes.slice(0, size))), RFC6962_ROOTS[size], `MTH of ${size}`);
    assert.equal(toHex(log.root(size)), RFC6962_ROOTS[size], `stored root of ${size}`);
  }
  assert.deepEqual(treeRootNeeds(7), [{ level: 2, index: 0 }, { level: 1, index: 2 }, { level: 0, index: 6 }]);
  assert.deepEqual(treeRootNeeds(0), []);
});

test('inclusion proofs of the RFC 6962 test tree are generated and verified as published', () => {
  const log = logOf(RFC6962_LEAVES);
  for (const v of RFC6962_INCLUSION) {
    const proof = log.inclusion(v.index, v.size);
    assert.deepEqual(proof.map(toHex), v.proof, `leaf ${v.index} of ${v.size}`);
    assert.deepEqual(verifyInclusion(v.index, v.size, leafHash(RFC6962_LEAVES[v.index]!), proof, hex(RFC6962_ROOTS[v.size]!)), { ok: true });
  }
});

test('consistency proofs of the RFC 6962 test tree are generated and verified as published', () => {
  const log = logOf(RFC6962_LEAVES);
  for (const v of RFC6962_CONSISTENCY) {
    const proof = log.consistency(v.oldSize, v.newSize);
    assert.deepEqual(proof.map(toHex), v.proof, `${v.oldSize} → ${v.newSize}`);
    assert.deepEqual(verifyConsistency(v.oldSize, v.newSize, proof, hex(RFC6962_ROOTS[v.oldSize]!), hex(RFC6962_ROOTS[v.newSize]!)), { ok: true });
  }
});

// The corruptions transparency-dev/merkle's testdata applies to each happy path
// (cmd/proofgen: invalidInclusionProof, invalidConsistencyProof): every one must fail.
test('every corrupted inclusion probe of transparency-dev/merkle testdata fails', () => {
  for (const v of RFC6962_INCLUSION) {
    const root = hex(RFC6962_ROOTS[v.size]!);
    const leaf = leafHash(RFC6962_LEAVES[v.index]!);
    const proof = v.proof.map(hex);
    const probes: [string, number, number, Uint8Array, Uint8Array[], Uint8Array][] = [
      ['leafIdx sub 1', v.index - 1, v.size, leaf, proof, root],
      ['leafIdx plus 1', v.index + 1, v.size, leaf, proof, root],
      ['leafIdx XOR 2', v.index ^ 2, v.size, leaf, proof, root],
      ['treeSize mul 2', v.index, v.size * 2, leaf, proof, root],
      ['treeSize div 2', v.index, Math.floor(v.size / 2), leaf, proof, root],
      ['wrong leaf', v.index, v.size, utf8('WrongLeaf'), proof, root],
      ['empty root', v.index, v.size, leaf, proof, emptyRoot()],
      ['random root', v.index, v.size, leaf, proof, SOME_HASH],
      ['trailing garbage', v.index, v.size, leaf, [...proof, new Uint8Array(0)], root],
      ['trailing root', v.index, v.size, leaf, [...proof, root], root],
      ['preceding garbage', v.index, v.size, leaf, [new Uint8Array(0), ...proof], root],
      ['preceding root', v.index, v.size, leaf, [root, ...proof], root],
      ...proof.map((_, i): [string, number, number, Uint8Array, Uint8Array[], Uint8Array] => ['modified proof bit 3', v.index, v.size, leaf, proof.map((h, j) => (j === i ? flipBit(h, 3) : h)), root]),
      ...(proof.length > 0 ? [['removed component', v.index, v.size, leaf, proof.slice(0, -1), root] as [string, number, number, Uint8Array, Uint8Array[], Uint8Array]] : []),
    ];
    for (const [desc, index, size, l, p, r] of probes) {
      assert.equal(verifyInclusion(index, size, l, p, r).ok, false, `${desc} (leaf ${v.index} of ${v.size})`);
    }
  }
  // testdata/inclusion/additional and single-entry: nothing is in the empty tree; hashes must be hashes.
  assert.equal(verifyInclusion(0, 0, SOME_HASH, [], emptyRoot()).ok, false);
  const only = hex('0d3aed023148ffd2a259fbd0cdc7fb3cf975658760d3775b82af6f90aacc2dfc');
  assert.deepEqual(verifyInclusion(0, 1, only, [], only), { ok: true });
  assert.equal(verifyInclusion(0, 1, new Uint8Array(0), [], only).ok, false);
  assert.equal(verifyInclusion(0, 1, only, [], new Uint8Array(0)).ok, false);
});

test('every corrupted consistency probe of transparency-dev/merkle testdata fails', () => {
  for (const v of RFC6962_CONSISTENCY.filter((c) => c.oldSize < c.newSize)) {
    const [r1, r2] = [hex(RFC6962_ROOTS[v.oldSize]!), hex(RFC6962_ROOTS[v.newSize]!)];
    const proof = v.proof.map(hex);
    const probes: [string, number, number, Uint8Array[], Uint8Array, Uint8Array][] = [
      ['size1 sub 1', v.oldSize - 1, v.newSize, proof, r1, r2],
      ['size1 plus 1', v.oldSize + 1, v.newSize, proof, r1, r2],
      ['size1 XOR 2', v.oldSize ^ 2, v.newSize, proof, r1, r2],
      ['size2 mul 2', v.oldSize, v.newSize * 2, proof, r1, r2],
      ['size2 div 2', v.oldSize, Math.floor(v.newSize / 2), proof, r1, r2],
      ['wrong root1', v.oldSize, v.newSize, proof, SOME_HASH, r2],
      ['wrong root2', v.oldSize, v.newSize, proof, r1, SOME_HASH],
      ['swapped roots', v.oldSize, v.newSize, proof, r2, r1],
      ['empty proof', v.oldSize, v.newSize, [], r1, r2],
      ['trailing garbage', v.oldSize, v.newSize, [...proof, new Uint8Array(0)], r1, r2],
      ['trailing root', v.oldSize, v.newSize, [...proof, r1], r1, r2],
      ['preceding garbage', v.oldSize, v.newSize, [new Uint8Array(0), ...proof], r1, r2],
      ['preceding root1', v.oldSize, v.newSize, [r1, ...proof], r1, r2],
      ['preceding root2', v.oldSize, v.newSize, [r2, ...proof], r1, r2],
      ['preceding proof[0]', v.oldSize, v.newSize, [proof[0]!, ...proof], r1, r2],
      ...proof.map((_, i): [string, number, number, Uint8Array[], Uint8Array, Uint8Array] => ['modified proof bit 4', v.oldSize, v.newSize, proof.map((h, j) => (j === i ? flipBit(h, 4) : h)), r1, r2]),
    ];
    for (const [desc, m, n, p, a, b] of probes) assert.equal(verifyConsistency(m, n, p, a, b).ok, false, `${desc} (${v.oldSize} → ${v.newSize})`);
  }
  // testdata/consistency/additional: from the empty tree, backwards, or between equal sizes with other roots.
  const e = emptyRoot();
  assert.equal(reasonOf(verifyConsistency(0, 0, [], e, e)), 'bad_arguments');
  assert.equal(reasonOf(verifyConsistency(0, 1, [e], e, e)), 'bad_arguments');
  assert.equal(reasonOf(verifyConsistency(2, 1, [], SOME_HASH, SOME_HASH)), 'bad_arguments');
  assert.equal(reasonOf(verifyConsistency(1, 1, [e], e, e)), 'wrong_proof_length');
  assert.deepEqual(verifyConsistency(1, 1, [], SOME_HASH, SOME_HASH), { ok: true });
  assert.equal(reasonOf(verifyConsistency(1, 1, [], SOME_HASH, e)), 'new_root_mismatch');
  assert.equal(reasonOf(verifyConsistency(1, 2, [], SOME_HASH, e)), 'wrong_proof_length');
});

test('a verdict names what failed, and nothing a caller passes makes it throw', () => {
  const log = logOf(RFC6962_LEAVES);
  const root = log.root();
  const proof = log.inclusion(5);
  const leaf = leafHash(RFC6962_LEAVES[5]!);
  assert.deepEqual(verifyInclusion(5, 8, leaf, proof, SOME_HASH), { ok: false, reason: 'root_mismatch', detail: 'leaf 5 of 8: the proof leads to another root' });
  assert.equal(reasonOf(verifyInclusion(5, 8, leaf, proof.slice(1), root)), 'wrong_proof_length');
  assert.equal(reasonOf(verifyInclusion(5, 8, leaf, [proof[0]!, new Uint8Array(31), proof[2]!], root)), 'bad_hash');
  const junk: unknown[] = [null, undefined, '5', 5.5, -1, NaN, Infinity, 2 ** 60, {}, [], 'abc'];
  for (const x of junk) {
    const anything = x as never;
    assert.equal(verifyInclusion(anything, 8, leaf, proof, root).ok, false);
    assert.equal(verifyInclusion(5, anything, leaf, proof, root).ok, false);
    assert.equal(verifyInclusion(5, 8, anything, proof, root).ok, false);
    assert.equal(verifyInclusion(5, 8, leaf, anything, root).ok, false);
    assert.equal(verifyConsistency(anything, 8, [], root, root).ok, false);
    assert.equal(verifyConsistency(3, 8, anything, root, root).ok, false);
    assert.equal(verifyConsistency(3, 8, [], anything, root).ok, false);
  }
  const consistency = log.consistency(3);
  const old = log.root(3);
  assert.equal(reasonOf(verifyConsistency(3, 8, consistency, SOME_HASH, root)), 'old_root_mismatch');
  assert.equal(reasonOf(verifyConsistency(3, 8, consistency, old, SOME_HASH)), 'new_root_mismatch');
});

test('generating from stored subtrees refuses impossible arguments and wrong hash lists with the field named', () => {
  assert.throws(() => inclusionProofNeeds(8, 8), { code: 'invalid_input', field: 'index' });
  assert.throws(() => inclusionProofNeeds(-1, 8), { code: 'invalid_input', field: 'index' });
  assert.throws(() => consistencyProofNeeds(0, 8), { code: 'invalid_input', field: 'oldSize' });
  assert.throws(() => consistencyProofNeeds(9, 8), { code: 'invalid_input', field: 'oldSize' });
  assert.throws(() => treeRootNeeds(1.5), { code: 'invalid_input', field: 'size' });
  assert.throws(() => treeRootFrom(3, [SOME_HASH]), { code: 'invalid_input', field: 'hashes' });
  assert.throws(() => treeRootFrom(2, [new Uint8Array(3)]), { code: 'invalid_input', field: 'hashes[0] (level 1, index 0)' });
  assert.throws(() => completedSubtreesFrom(1, new Uint8Array(5), [SOME_HASH]), { code: 'invalid_input', field: 'leafHash' });
});

test('appending stores exactly the complete subtrees, reading one earlier hash per subtree it completes', () => {
  assert.deepEqual(completedSubtreesNeeds(0), []);
  assert.deepEqual(completedSubtreesNeeds(6), []);
  assert.deepEqual(completedSubtreesNeeds(7), [{ level: 0, index: 6 }, { level: 1, index: 2 }, { level: 2, index: 0 }]);
  const added = completedSubtreesFrom(3, SOME_HASH, [SOME_HASH, SOME_HASH]);
  assert.deepEqual(added.map(({ level, index }) => `${level}/${index}`), ['0/3', '1/1', '2/0']);
  const log = new MemoryLog();
  for (let n = 0; n < 70; n++) {
    log.append(utf8(`leaf ${n}`));
    const expected = new Set<string>();
    for (let level = 0; 2 ** level <= log.size; level++) for (let i = 0; (i + 1) * 2 ** level <= log.size; i++) expected.add(`${level}/${i}`);
    assert.deepEqual(new Set(log.nodes.keys()), expected, `after ${log.size} leaves`);
  }
});

test('a proof in a tree of 1,000,000 leaves reads O(log n) stored hashes', () => {
  const n = 1_000_000;
  let most = { root: 0, inclusion: 0, consistency: 0, append: 0 };
  for (const i of [0, 1, 499_999, 524_287, 524_288, 999_998, 999_999]) {
    most = {
      root: Math.max(most.root, treeRootNeeds(i + 1).length),
      inclusion: Math.max(most.inclusion, inclusionProofNeeds(i, n).length),
      consistency: Math.max(most.consistency, consistencyProofNeeds(i + 1, n).length),
      append: Math.max(most.append, completedSubtreesNeeds(i).length),
    };
  }
  const log2n = Math.ceil(Math.log2(n)); // 20
  assert.ok(most.root <= log2n + 1 && most.append <= log2n, JSON.stringify(most));
  assert.ok(most.inclusion <= 2 * log2n && most.consistency <= 2 * log2n, JSON.stringify(most));
});

const leafData = (seed: number, i: number): Uint8Array => utf8(`${seed}:${i}`);

test('property: every proof from stored subtrees equals RFC 9162 PATH/PROOF, verifies against the naive root, and a flipped bit fails', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 160 }), fc.nat(), fc.nat(), fc.nat(), fc.nat(), (size, seed, pickIndex, pickOld, pickBit) => {
      const leaves = Array.from({ length: size }, (_, i) => leafData(seed, i));
      const hashes = leaves.map(leafHash);
      const log = logOf(leaves);
      const root = merkleTreeHash(hashes);
      assert.deepEqual(log.root(), root);

      const index = pickIndex % size;
      const inclusion = log.inclusion(index);
      assert.deepEqual(inclusion, referencePath(index, hashes));
      assert.deepEqual(verifyInclusion(index, size, hashes[index]!, inclusion, root), { ok: true });

      const oldSize = 1 + (pickOld % size);
      const oldRoot = merkleTreeHash(hashes.slice(0, oldSize));
      const consistency = log.consistency(oldSize);
      assert.deepEqual(consistency, referenceSubproof(oldSize, hashes, true));
      assert.deepEqual(verifyConsistency(oldSize, size, consistency, oldRoot, root), { ok: true });

      // One bit flipped anywhere: in a proof hash, the leaf hash or a root.
      const inclusionParts = [...inclusion, hashes[index]!, root];
      const at = pickBit % (inclusionParts.length * 256);
      const flipped = inclusionParts.map((h, i) => (i === Math.floor(at / 256) ? flipBit(h, at % 256) : h));
      assert.equal(verifyInclusion(index, size, flipped[inclusion.length]!, flipped.slice(0, inclusion.length), flipped[inclusion.length + 1]!).ok, false);

      if (oldSize < size) {
        const consistencyParts = [...consistency, oldRoot, root];
        const at2 = pickBit % (consistencyParts.length * 256);
        const flipped2 = consistencyParts.map((h, i) => (i === Math.floor(at2 / 256) ? flipBit(h, at2 % 256) : h));
        assert.equal(verifyConsistency(oldSize, size, flipped2.slice(0, consistency.length), flipped2[consistency.length]!, flipped2[consistency.length + 1]!).ok, false);
      }
    }),
    { numRuns: 300 },
  );
});

test('property: on trees of up to 70,000 leaves, proofs from stored subtrees verify against the stored roots', () => {
  // A virtual tree, hashed lazily and once: only the subtrees that proofs and roots read.
  const memo = new Map<string, Uint8Array>();
  const nodeAt = ({ level, index }: NodeId): Uint8Array => {
    const key = `${level}/${index}`;
    let hash = memo.get(key);
    if (hash === undefined) {
      hash = level === 0 ? leafHash(utf8(`leaf ${index}`)) : nodeHash(nodeAt({ level: level - 1, index: 2 * index }), nodeAt({ level: level - 1, index: 2 * index + 1 }));
      memo.set(key, hash);
    }
    return hash;
  };
  const read = (ids: readonly NodeId[]) => ids.map(nodeAt);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 70_000 }), fc.nat(), fc.nat(), (size, pickIndex, pickOld) => {
      const root = treeRootFrom(size, read(treeRootNeeds(size)));
      const index = pickIndex % size;
      const proof = inclusionProofFrom(index, size, read(inclusionProofNeeds(index, size)));
      assert.deepEqual(verifyInclusion(index, size, nodeAt({ level: 0, index }), proof, root), { ok: true });
      // Many proofs at once share their folded ranges: the same proofs, in the order asked.
      const indices = [index, (index * 7919) % size, size - 1, index];
      assert.deepEqual(inclusionProofsFrom(indices, size, nodeAt), indices.map((i) => inclusionProofFrom(i, size, read(inclusionProofNeeds(i, size)))));
      const oldSize = 1 + (pickOld % size);
      const oldRoot = treeRootFrom(oldSize, read(treeRootNeeds(oldSize)));
      const consistency = consistencyProofFrom(oldSize, size, read(consistencyProofNeeds(oldSize, size)));
      assert.deepEqual(verifyConsistency(oldSize, size, consistency, oldRoot, root), { ok: true });
    }),
    { numRuns: 60 },
  );
});

test('hashes travel as standard base64 (checkpoint root lines, JSON)', () => {
  assert.equal(toBase64(hex(RFC6962_ROOTS[8]!)), 'XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=');
  assert.equal(toHex(fromBase64('XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=')!), RFC6962_ROOTS[8]);
});

function reasonOf(verdict: ProofVerdict): string {
  return verdict.ok ? 'ok' : verdict.reason;
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[Math.floor(bit / 8) % out.length]! ^= 1 << bit % 8;
  return out;
}
