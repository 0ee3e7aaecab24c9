// The verifiable ledger's pure part (src/ledger): a log of 1,000,000 usage-record notes
// kept as an in-memory map of complete-subtree hashes, the way the store will keep them.
// Targets: an inclusion or a consistency proof generated and verified in ≤ 5 ms each at
// 1,000,000 leaves; appends per second (leaf hash and completed subtrees) at that size;
// and what signing and opening a record note costs (Ed25519).
import { orgId, jobId, siteId } from '../src/model/ids.ts';
import {
  completedSubtreesFrom,
  completedSubtreesNeeds,
  consistencyProofFrom,
  consistencyProofNeeds,
  inclusionProofFrom,
  inclusionProofNeeds,
  leafHash,
  treeRootFrom,
  treeRootNeeds,
  verifyConsistency,
  verifyInclusion,
  type NodeId,
} from '../src/ledger/merkle.ts';
import { generateSignerKey, noteSigner, noteVerifier } from '../src/ledger/note.ts';
import { countersignRecordNote, gpuSecondsOf, openRecordNote, recordNote, type UsageRecord } from '../src/ledger/usage-record.ts';
import { opsPerSecond, report, summarize, type BenchResult } from './harness.ts';

const LEAVES = 1_000_000;

/** Complete-subtree hashes by (level, index), as the store's table will hold them. */
class SubtreeMap {
  private readonly hashes = new Map<number, Uint8Array>();
  size = 0;
  private static key(level: number, index: number): number {
    return level * 2 ** 40 + index;
  }
  read(ids: readonly NodeId[]): Uint8Array[] {
    return ids.map((id) => this.hashes.get(SubtreeMap.key(id.level, id.index))!);
  }
  append(data: Uint8Array): void {
    const added = completedSubtreesFrom(this.size, leafHash(data), this.read(completedSubtreesNeeds(this.size)));
    for (const n of added) this.hashes.set(SubtreeMap.key(n.level, n.index), n.hash);
    this.size++;
  }
}

/** A record note's worth of bytes (about 330: a record and two signatures), different per leaf. */
function leafData(i: number): Uint8Array {
  const text = `suanli/usage-record/v1\njob ${i}\nattempt 1\nsite acme-east\nconsumer beta-labs\nprovider acme\ngpu-type h100\ngpus 8\nstart-ms 1767225600000\nend-ms 1767229200000\ngpu-seconds 28800\noutcome succeeded\nwriter site\n\n`;
  return new TextEncoder().encode(text + '— acme-east '.padEnd(100, 'x') + '\n— suanli '.padEnd(100, 'y') + '\n');
}

/** A deterministic spread of indexes (no Math.random: same figures, same work, each run). */
function spread(n: number, count: number, salt: number): number[] {
  return Array.from({ length: count }, (_, i) => (((i + 1) * 2_654_435_761 + salt * 40_503) % n));
}

/** Milliseconds per operation, one figure per round of `perRound` operations. */
function msPerOp(name: string, rounds: number, perRound: number, op: (i: number, round: number) => void): BenchResult {
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < perRound; i++) op(i, r);
    times.push((performance.now() - t0) / perRound);
  }
  return summarize(name, 'ms', times);
}

export function benchLedger(rounds = 5): void {
  const results: BenchResult[] = [];
  const log = new SubtreeMap();
  const t0 = performance.now();
  for (let i = 0; i < LEAVES; i++) log.append(leafData(i));
  results.push(summarize(`append ${LEAVES.toLocaleString('en-US')} leaves from empty (whole build)`, 'appends/s', [LEAVES / ((performance.now() - t0) / 1000)]));

  const size = log.size;
  const root = treeRootFrom(size, log.read(treeRootNeeds(size)));
  const PER_ROUND = 500;

  // Inclusion: generation (needs, map reads, combination), then verification, then both.
  const indexes = spread(size, PER_ROUND, 1);
  const proofs = indexes.map((i) => inclusionProofFrom(i, size, log.read(inclusionProofNeeds(i, size))));
  const leafHashes = indexes.map((i) => leafHash(leafData(i)));
  results.push(msPerOp(`inclusion proof: generate at ${size.toLocaleString('en-US')} leaves`, rounds, PER_ROUND, (i) => inclusionProofFrom(indexes[i]!, size, log.read(inclusionProofNeeds(indexes[i]!, size)))));
  results.push(msPerOp(`inclusion proof: verify at ${size.toLocaleString('en-US')} leaves`, rounds, PER_ROUND, (i) => {
    if (!verifyInclusion(indexes[i]!, size, leafHashes[i]!, proofs[i]!, root).ok) throw new Error('inclusion proof failed');
  }));
  results.push(msPerOp(`inclusion proof: generate + verify at ${size.toLocaleString('en-US')} leaves`, rounds, PER_ROUND, (i) => {
    const proof = inclusionProofFrom(indexes[i]!, size, log.read(inclusionProofNeeds(indexes[i]!, size)));
    if (!verifyInclusion(indexes[i]!, size, leafHashes[i]!, proof, root).ok) throw new Error('inclusion proof failed');
  }));

  // Consistency from an earlier size to the whole log (old roots computed beforehand, as a witness holds them).
  const oldSizes = spread(size - 1, PER_ROUND, 2).map((m) => m + 1);
  const oldRoots = oldSizes.map((m) => treeRootFrom(m, log.read(treeRootNeeds(m))));
  const consistencyProofs = oldSizes.map((m) => consistencyProofFrom(m, size, log.read(consistencyProofNeeds(m, size))));
  results.push(msPerOp(`consistency proof: generate, m → ${size.toLocaleString('en-US')}`, rounds, PER_ROUND, (i) => consistencyProofFrom(oldSizes[i]!, size, log.read(consistencyProofNeeds(oldSizes[i]!, size)))));
  results.push(msPerOp(`consistency proof: verify, m → ${size.toLocaleString('en-US')}`, rounds, PER_ROUND, (i) => {
    if (!verifyConsistency(oldSizes[i]!, size, consistencyProofs[i]!, oldRoots[i]!, root).ok) throw new Error('consistency proof failed');
  }));
  results.push(msPerOp(`consistency proof: generate + verify, m → ${size.toLocaleString('en-US')}`, rounds, PER_ROUND, (i) => {
    const proof = consistencyProofFrom(oldSizes[i]!, size, log.read(consistencyProofNeeds(oldSizes[i]!, size)));
    if (!verifyConsistency(oldSizes[i]!, size, proof, oldRoots[i]!, root).ok) throw new Error('consistency proof failed');
  }));
  results.push(msPerOp(`tree root from stored subtrees at ${size.toLocaleString('en-US')} leaves`, rounds, PER_ROUND, () => treeRootFrom(size, log.read(treeRootNeeds(size)))));

  // Appends on top of the million: the steady-state rate the control plane would see.
  results.push(opsPerSecond(`append at ${size.toLocaleString('en-US')}+ leaves (leaf hash + completed subtrees)`, () => log.append(leafData(log.size)), rounds));

  // Signing and opening record notes: Ed25519 dominates.
  const siteKey = generateSignerKey('acme-east.sites.suanli.example', new Uint8Array(32).fill(2));
  const cpKey = generateSignerKey('suanli.example/control-plane', new Uint8Array(32).fill(1));
  const site = noteSigner(siteKey.signerKey);
  const cp = noteSigner(cpKey.signerKey);
  const siteVerifiers = [noteVerifier(siteKey.verifierKey)];
  const keys = { controlPlane: [noteVerifier(cpKey.verifierKey)], site: () => siteVerifiers };
  const record = (i: number): UsageRecord => ({ jobId: jobId(String(i)), attempt: 1, siteId: siteId('acme-east'), consumerOrgId: orgId('beta-labs'), providerOrgId: orgId('acme'), gpuType: 'h100', gpus: 8, startMs: 1_767_225_600_000, endMs: 1_767_229_200_000 + i, gpuSeconds: gpuSecondsOf(8, 1_767_225_600_000, 1_767_229_200_000 + i), outcome: 'succeeded', writer: 'site' });
  let n = 0;
  results.push(opsPerSecond('record note: the site signs', () => recordNote(record(n++), [site]), rounds));
  const bySite = recordNote(record(0), [site]);
  results.push(opsPerSecond('record note: the control plane checks and countersigns', () => countersignRecordNote(bySite, () => siteVerifiers, cp), rounds));
  const logged = recordNote(record(0), [site, cp]);
  results.push(opsPerSecond('record note: a member opens a logged record (2 signatures)', () => openRecordNote(logged, keys), rounds));
  report('ledger', results);
}
