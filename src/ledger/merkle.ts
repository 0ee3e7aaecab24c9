/**
 * The log's Merkle tree (RFC 9162 §2.1, the same as RFC 6962 and Go's sumdb/tlog):
 * leaf and node hashes, the root of a tree of n leaves, inclusion and consistency
 * proofs and their verification.
 *
 * Storage model: the store keeps the hash of every complete subtree, named by
 * `{ level, index }` (level k, index i covers leaves [i·2^k, (i+1)·2^k); level 0 is
 * the leaf hashes). They never change once written, because the log only grows.
 * Every operation on a stored tree is two pure phases: `…Needs(args)` lists the
 * complete subtrees whose hashes it reads (O(log n) of them), the caller fetches
 * them in one query, and `…From(args, hashes)` combines them (hashes in the order
 * of the needs). Nothing here walks the tree or touches storage.
 *
 * Sizes and indexes are JS numbers: whole, ≥ 0 and at most 2^53 − 1.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { InvalidInputError } from '../model/errors.ts';
import { concatBytes, equalBytes } from './encoding.ts';

/** Bytes in a hash (SHA-256). */
export const HASH_SIZE = 32;

/** A complete subtree: level k, index i covers leaves [i·2^k, (i+1)·2^k). */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/** A complete subtree and its hash: what the store writes once and keeps. */
export interface StoredNode extends NodeId {
  readonly hash: Uint8Array;
}

const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);

/** SHA-256(0x00 ‖ data): the hash of one leaf of the log (the leaf data is a record note's bytes). */
export function leafHash(data: Uint8Array): Uint8Array {
  return sha256(concatBytes(LEAF_PREFIX, data));
}

/** SHA-256(0x01 ‖ left ‖ right): the hash of an interior node. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concatBytes(NODE_PREFIX, left, right));
}

/** The root of the empty tree: SHA-256 of nothing. */
export function emptyRoot(): Uint8Array {
  return sha256(new Uint8Array(0));
}

/**
 * RFC 9162's MTH over the given leaf hashes, computed directly: the tree splits at
 * the largest power of two below n. O(n): for small trees, tests and audits that hold
 * every leaf; a stored tree uses `treeRootNeeds`/`treeRootFrom`.
 */
export function merkleTreeHash(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) return emptyRoot();
  const hashOf = (lo: number, hi: number): Uint8Array => {
    if (hi - lo === 1) return leafHashes[lo]!;
    const k = largestPowerOfTwoBelow(hi - lo);
    return nodeHash(hashOf(lo, lo + k), hashOf(lo + k, hi));
  };
  return hashOf(0, leafHashes.length);
}

// ---- appending ---------------------------------------------------------------

/**
 * The complete subtrees whose hashes appending leaf `leafIndex` reads: the left
 * siblings of the subtrees that the new leaf completes, one per trailing 1 bit of
 * `leafIndex` (none for an even index; on average one). The caller must append
 * leaves in order: leaf `leafIndex` comes after leaves 0 … leafIndex − 1 are stored.
 */
export function completedSubtreesNeeds(leafIndex: number): NodeId[] {
  checkCount('leafIndex', leafIndex, MAX_INDEX);
  const needs: NodeId[] = [];
  for (let level = 0, i = leafIndex; i % 2 === 1; level++, i = (i - 1) / 2) needs.push({ level, index: i - 1 });
  return needs;
}

/**
 * What the store inserts when it appends leaf `leafIndex`: the leaf itself (level 0)
 * and every subtree it completes, lowest level first, with their hashes — given the
 * hashes of `completedSubtreesNeeds(leafIndex)`, in that order. After it, every
 * complete subtree of the tree of leafIndex + 1 leaves is stored.
 */
export function completedSubtreesFrom(leafIndex: number, leafHashValue: Uint8Array, hashes: readonly Uint8Array[]): StoredNode[] {
  const needs = completedSubtreesNeeds(leafIndex);
  checkHash('leafHash', leafHashValue);
  checkHashes(needs, hashes);
  const added: StoredNode[] = [{ level: 0, index: leafIndex, hash: leafHashValue }];
  let hash = leafHashValue;
  needs.forEach((need, i) => {
    hash = nodeHash(hashes[i]!, hash);
    added.push({ level: need.level + 1, index: need.index / 2, hash });
  });
  return added;
}

// ---- the root ----------------------------------------------------------------

/** The complete subtrees that make up a tree of `size` leaves, left to right (at most log₂ size + 1). */
export function treeRootNeeds(size: number): NodeId[] {
  checkCount('size', size, MAX_SIZE);
  return rangeNodes(0, size);
}

/** The root of a tree of `size` leaves from the hashes of `treeRootNeeds(size)`. */
export function treeRootFrom(size: number, hashes: readonly Uint8Array[]): Uint8Array {
  const needs = treeRootNeeds(size);
  checkHashes(needs, hashes);
  return needs.length === 0 ? emptyRoot() : foldRange(hashes, 0, hashes.length);
}

// ---- inclusion ---------------------------------------------------------------

/** The complete subtrees an inclusion proof of leaf `index` in a tree of `size` leaves is made of. */
export function inclusionProofNeeds(index: number, size: number): NodeId[] {
  return inclusionPlan(index, size).flatMap(([lo, hi]) => rangeNodes(lo, hi));
}

/**
 * The inclusion proof (RFC 9162 §2.1.3.1 PATH) of leaf `index` in the tree of `size`
 * leaves, from the hashes of `inclusionProofNeeds(index, size)`: the sibling hashes
 * from the leaf up to the root.
 */
export function inclusionProofFrom(index: number, size: number, hashes: readonly Uint8Array[]): Uint8Array[] {
  const plan = inclusionPlan(index, size);
  return proofFromPlan(plan, hashes);
}

/**
 * The inclusion proofs of leaves `indices` in one tree of `size` leaves, each as
 * `inclusionProofFrom` gives it, from `hashOf` (the hash of each node
 * `inclusionProofNeeds` names for them): a range the proofs share, the right edge's
 * above all, is folded once rather than once a proof.
 */
export function inclusionProofsFrom(indices: readonly number[], size: number, hashOf: (node: NodeId) => Uint8Array): Uint8Array[][] {
  const folded = new Map<string, Uint8Array>();
  return indices.map((index) => inclusionPlan(index, size).map(([lo, hi]) => {
    const key = `${lo}:${hi}`;
    let hash = folded.get(key);
    if (hash === undefined) {
      const needs = rangeNodes(lo, hi);
      const hashes = needs.map(hashOf);
      checkHashes(needs, hashes);
      hash = foldRange(hashes, 0, hashes.length);
      folded.set(key, hash);
    }
    return hash;
  }));
}

// ---- consistency ---------------------------------------------------------------

/** The complete subtrees a consistency proof from the tree of `oldSize` leaves to the tree of `newSize` is made of. */
export function consistencyProofNeeds(oldSize: number, newSize: number): NodeId[] {
  return consistencyPlan(oldSize, newSize).ranges.flatMap(([lo, hi]) => rangeNodes(lo, hi));
}

/**
 * The consistency proof (RFC 9162 §2.1.4.1 PROOF) that the tree of `newSize` leaves
 * extends the tree of `oldSize` leaves (0 < oldSize ≤ newSize; empty when equal),
 * from the hashes of `consistencyProofNeeds(oldSize, newSize)`.
 */
export function consistencyProofFrom(oldSize: number, newSize: number, hashes: readonly Uint8Array[]): Uint8Array[] {
  return proofFromPlan(consistencyPlan(oldSize, newSize).ranges, hashes);
}

// ---- verification ----------------------------------------------------------------

/** Why a proof did not verify. */
export const PROOF_FAILURES = {
  bad_arguments: 'the sizes or the index are impossible',
  bad_hash: 'a hash is not 32 bytes',
  wrong_proof_length: 'the proof has too many or too few hashes for these sizes',
  root_mismatch: 'the proof leads to another root',
  old_root_mismatch: 'the proof does not lead to the old root',
  new_root_mismatch: 'the proof does not lead to the new root: the new tree does not extend the old one',
} as const;
export type ProofFailure = keyof typeof PROOF_FAILURES;

/** A proof's verdict: verified, or the first thing that failed, explained. */
export type ProofVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: ProofFailure; readonly detail: string };

const VERIFIED: ProofVerdict = { ok: true };
const failed = (reason: ProofFailure, detail: string): ProofVerdict => ({ ok: false, reason, detail });

/**
 * Whether `proof` shows that the leaf with hash `leafHashValue` is leaf `index` of the
 * tree of `size` leaves whose root is `root` (RFC 9162 §2.1.3.2). Never throws:
 * values of any type (from JSON, say) give a verdict.
 */
export function verifyInclusion(index: number, size: number, leafHashValue: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): ProofVerdict {
  if (!isCount(size, MAX_SIZE) || !isCount(index, MAX_INDEX) || index >= size) return failed('bad_arguments', `leaf ${String(index)} is not in a tree of ${String(size)} leaves`);
  const bad = badHash({ leafHash: leafHashValue, root }, proof);
  if (bad !== undefined) return failed('bad_hash', bad);
  const plan = inclusionPlan(index, size);
  if (proof.length !== plan.length) return failed('wrong_proof_length', `${proof.length} hashes; leaf ${index} of ${size} takes ${plan.length}`);
  // The plan runs from the leaf's sibling up; a sibling range that starts after the leaf is its right sibling.
  let hash = leafHashValue;
  plan.forEach(([lo], i) => {
    hash = lo > index ? nodeHash(hash, proof[i]!) : nodeHash(proof[i]!, hash);
  });
  return equalBytes(hash, root) ? VERIFIED : failed('root_mismatch', `leaf ${index} of ${size}: ${PROOF_FAILURES.root_mismatch}`);
}

/**
 * Whether `proof` shows that the tree of `newSize` leaves with root `newRoot` extends
 * the tree of `oldSize` leaves with root `oldRoot` (RFC 9162 §2.1.4.2). Requires
 * 0 < oldSize ≤ newSize: every tree extends the empty one, so a proof from size 0
 * means nothing and is refused. Never throws.
 */
export function verifyConsistency(oldSize: number, newSize: number, proof: readonly Uint8Array[], oldRoot: Uint8Array, newRoot: Uint8Array): ProofVerdict {
  if (!isCount(oldSize, MAX_SIZE) || !isCount(newSize, MAX_SIZE) || oldSize < 1 || oldSize > newSize) {
    return failed('bad_arguments', `no consistency proof goes from ${String(oldSize)} to ${String(newSize)} leaves (0 < old ≤ new)`);
  }
  const bad = badHash({ oldRoot, newRoot }, proof);
  if (bad !== undefined) return failed('bad_hash', bad);
  const { ranges, sendsShared } = consistencyPlan(oldSize, newSize);
  if (proof.length !== ranges.length) return failed('wrong_proof_length', `${proof.length} hashes; ${oldSize} → ${newSize} takes ${ranges.length}`);
  if (oldSize === newSize) return equalBytes(oldRoot, newRoot) ? VERIFIED : failed('new_root_mismatch', `two different roots for ${oldSize} leaves`);
  // Start from the subtree both trees share (the old root itself when it is the whole
  // old tree), then climb: a left sibling lies in the old tree too, a right one only in the new.
  let oldHash = sendsShared ? proof[0]! : oldRoot;
  let newHash = oldHash;
  const first = sendsShared ? 1 : 0;
  for (let i = first; i < ranges.length; i++) {
    const sibling = proof[i]!;
    if (ranges[i]![0] >= oldSize) {
      newHash = nodeHash(newHash, sibling);
    } else {
      oldHash = nodeHash(sibling, oldHash);
      newHash = nodeHash(sibling, newHash);
    }
  }
  if (!equalBytes(oldHash, oldRoot)) return failed('old_root_mismatch', `${oldSize} → ${newSize}: ${PROOF_FAILURES.old_root_mismatch}`);
  if (!equalBytes(newHash, newRoot)) return failed('new_root_mismatch', `${oldSize} → ${newSize}: ${PROOF_FAILURES.new_root_mismatch}`);
  return VERIFIED;
}

// ---- the shape of proofs -------------------------------------------------------------

/** A leaf range [lo, hi) whose subtree hash is one element of a proof. */
type Range = readonly [lo: number, hi: number];

/**
 * The ranges whose hashes make up the inclusion proof of `index` in a tree of `size`,
 * from the leaf's sibling up to the root's child (RFC 9162 PATH, §2.1.3.1): at each
 * split (the largest power of two k below the width), the half without the leaf.
 */
function inclusionPlan(index: number, size: number): Range[] {
  checkCount('size', size, MAX_SIZE);
  checkCount('index', index, MAX_INDEX);
  if (index >= size) throw new InvalidInputError('index', `leaf ${index} is not in a tree of ${size} leaves`, 'an index below the tree size');
  const down: Range[] = [];
  let lo = 0;
  let hi = size;
  while (hi - lo > 1) {
    const k = largestPowerOfTwoBelow(hi - lo);
    if (index < lo + k) {
      down.push([lo + k, hi]);
      hi = lo + k;
    } else {
      down.push([lo, lo + k]);
      lo += k;
    }
  }
  return down.reverse();
}

/**
 * The ranges whose hashes make up the consistency proof from `oldSize` to `newSize`
 * (RFC 9162 SUBPROOF, §2.1.4.1), in proof order: first the subtree where the walk
 * stops, which both trees share — not sent (`sendsShared` false) when it is the whole
 * old tree [0, oldSize), whose root the verifier holds — then the sibling at each
 * split on the way back up.
 */
function consistencyPlan(oldSize: number, newSize: number): { readonly ranges: Range[]; readonly sendsShared: boolean } {
  checkCount('oldSize', oldSize, MAX_SIZE);
  checkCount('newSize', newSize, MAX_SIZE);
  if (oldSize < 1 || oldSize > newSize) throw new InvalidInputError('oldSize', `no consistency proof goes from ${oldSize} to ${newSize} leaves`, '0 < oldSize ≤ newSize');
  if (oldSize === newSize) return { ranges: [], sendsShared: false };
  const up: Range[] = [];
  let lo = 0;
  let hi = newSize;
  while (oldSize !== hi) {
    const k = largestPowerOfTwoBelow(hi - lo);
    if (oldSize <= lo + k) {
      up.push([lo + k, hi]);
      hi = lo + k;
    } else {
      up.push([lo, lo + k]);
      lo += k;
    }
  }
  up.reverse();
  return lo === 0 ? { ranges: up, sendsShared: false } : { ranges: [[lo, hi], ...up], sendsShared: true };
}

/** The proof's hashes: each range's hash folded from its complete subtrees' hashes. */
function proofFromPlan(plan: readonly Range[], hashes: readonly Uint8Array[]): Uint8Array[] {
  const needs = plan.flatMap(([lo, hi]) => rangeNodes(lo, hi));
  checkHashes(needs, hashes);
  const proof: Uint8Array[] = [];
  let at = 0;
  for (const [lo, hi] of plan) {
    const count = rangeNodes(lo, hi).length;
    proof.push(foldRange(hashes, at, at + count));
    at += count;
  }
  return proof;
}

/**
 * The complete subtrees covering leaves [lo, hi), left to right, largest first:
 * RFC 9162 splits a range at the largest power of two below its width, so its left
 * part is complete and only the right part splits further. Every range a proof or
 * root needs starts on a multiple of its first subtree's width.
 */
function rangeNodes(lo: number, hi: number): NodeId[] {
  const nodes: NodeId[] = [];
  while (lo < hi) {
    let level = 31 - Math.clz32(Math.min(hi - lo, 0xffffffff)); // ⌊log₂⌋ of the width, up to 2³² at once
    while (2 ** (level + 1) <= hi - lo) level++;
    const width = 2 ** level;
    nodes.push({ level, index: lo / width });
    lo += width;
  }
  return nodes;
}

/** The hash of a range from its complete subtrees' hashes `hashes[from..to)`: right to left, as the tree nests them. */
function foldRange(hashes: readonly Uint8Array[], from: number, to: number): Uint8Array {
  let hash = hashes[to - 1]!;
  for (let i = to - 2; i >= from; i--) hash = nodeHash(hashes[i]!, hash);
  return hash;
}

/** The largest power of two strictly below n (n ≥ 2): where RFC 9162 splits a tree of n leaves. */
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

// ---- argument checks -------------------------------------------------------------

const MAX_SIZE = Number.MAX_SAFE_INTEGER;
const MAX_INDEX = Number.MAX_SAFE_INTEGER - 1;

function isCount(n: unknown, max: number): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= max;
}

function checkCount(field: string, n: number, max: number): void {
  if (!isCount(n, max)) throw new InvalidInputError(field, `${String(n)} is not a leaf count or index`, `a whole number from 0 to ${max}`);
}

function checkHash(field: string, hash: unknown): void {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_SIZE) throw new InvalidInputError(field, 'is not a 32-byte hash', 'a SHA-256 hash (32 bytes)');
}

/** The stored hashes must answer the needs one for one: a shorter or longer list is the caller's bug. */
function checkHashes(needs: readonly NodeId[], hashes: readonly Uint8Array[]): void {
  if (!Array.isArray(hashes) || hashes.length !== needs.length) {
    throw new InvalidInputError('hashes', `${Array.isArray(hashes) ? hashes.length : 'no'} hashes for ${needs.length} needed nodes`, 'one hash per needed node, in the order of the needs');
  }
  hashes.forEach((h, i) => checkHash(`hashes[${i}] (level ${needs[i]!.level}, index ${needs[i]!.index})`, h));
}

/** The first named value or proof element that is not a 32-byte hash, described; undefined when all are. */
function badHash(named: Readonly<Record<string, unknown>>, proof: unknown): string | undefined {
  for (const [name, value] of Object.entries(named)) if (!(value instanceof Uint8Array) || value.length !== HASH_SIZE) return `${name} is not a 32-byte hash`;
  if (!Array.isArray(proof)) return 'the proof is not a list of hashes';
  const i = proof.findIndex((h) => !(h instanceof Uint8Array) || h.length !== HASH_SIZE);
  return i < 0 ? undefined : `proof[${i}] is not a 32-byte hash`;
}
