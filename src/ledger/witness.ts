/**
 * A witness's judgement (c2sp.org/tlog-cosignature: a cosignature says the checkpoint
 * is consistent with every earlier one the witness cosigned). Before it cosigns the
 * checkpoint a log shows, a witness compares it with the last one it cosigned:
 *
 *   1. nothing cosigned yet: the first checkpoint is taken on trust (first use);
 *   2. a smaller tree: refused — an old checkpoint replayed, or the log rolled back;
 *   3. the same size: cosigned again only with the same root; another root is a split view;
 *   4. a larger tree: only if the log's consistency proof from the old size verifies;
 *      a proof that does not is a split view.
 *
 * Two phases, like the stored tree's: `witnessProofNeeds` says which proof to fetch
 * (if any), `witnessVerdict` judges with it. The log's signature on the checkpoint is
 * checked before (`openCheckpoint`); keeping the last cosigned checkpoint, durably and
 * before the cosignature leaves, is the caller's.
 */
import type { Checkpoint } from './checkpoint.ts';
import { equalBytes, toBase64 } from './encoding.ts';
import { emptyRoot, verifyConsistency } from './merkle.ts';

/** What a witness keeps of the last checkpoint it cosigned (its note, too, as evidence: the caller's). */
export interface CosignedTree {
  readonly size: number;
  readonly rootHash: Uint8Array;
}

/** Why a witness refuses to cosign. */
export const WITNESS_FAILURES = {
  split_view: 'the log shows a checkpoint inconsistent with one this witness cosigned',
  rolled_back: 'the log shows a smaller tree than one this witness cosigned',
  bad_empty_root: 'a checkpoint of the empty log whose root is not the empty tree’s',
} as const;
export type WitnessFailure = keyof typeof WITNESS_FAILURES;

export type WitnessVerdict =
  | {
      readonly ok: true;
      /** `first`: nothing cosigned before; `unchanged`: the same tree again; `extended`: a larger tree, proved consistent. */
      readonly kind: 'first' | 'unchanged' | 'extended';
    }
  | { readonly ok: false; readonly reason: WitnessFailure; readonly detail: string };

/** `size 5 (root TszzRg…=)`: how messages name a tree. */
export const treeName = (size: number, rootHash: Uint8Array): string => `size ${size} (root ${toBase64(rootHash)})`;

/** The consistency proof the witness needs before judging `seen`, as sizes `from` → `to`; null when it needs none. */
export function witnessProofNeeds(last: CosignedTree | null, seen: Checkpoint): { readonly from: number; readonly to: number } | null {
  if (last === null || last.size === 0 || seen.size <= last.size) return null;
  return { from: last.size, to: seen.size };
}

/**
 * Whether a witness whose last cosigned tree is `last` may cosign `seen` (a checkpoint
 * whose log signature verified), given the consistency proof `witnessProofNeeds` asked
 * for. Never throws; a refusal's detail names both trees by size and root.
 */
export function witnessVerdict(last: CosignedTree | null, seen: Checkpoint, proof: readonly Uint8Array[] = []): WitnessVerdict {
  const shown = treeName(seen.size, seen.rootHash);
  if (seen.size === 0 && !equalBytes(seen.rootHash, emptyRoot())) return { ok: false, reason: 'bad_empty_root', detail: `${WITNESS_FAILURES.bad_empty_root}: ${shown}` };
  if (last === null) return { ok: true, kind: 'first' };
  const cosigned = treeName(last.size, last.rootHash);
  if (seen.size < last.size) {
    return { ok: false, reason: 'rolled_back', detail: `the log shows ${shown}, smaller than ${cosigned}, which this witness cosigned: an old checkpoint replayed, or a truncated log` };
  }
  if (seen.size === last.size) {
    return equalBytes(seen.rootHash, last.rootHash)
      ? { ok: true, kind: 'unchanged' }
      : { ok: false, reason: 'split_view', detail: `the log shows ${shown}, but this witness cosigned ${cosigned}: the same size with another root (a rewritten history)` };
  }
  // Every tree extends the empty one (whose root was checked when it was cosigned).
  if (last.size === 0) return { ok: true, kind: 'extended' };
  const verdict = verifyConsistency(last.size, seen.size, proof, last.rootHash, seen.rootHash);
  if (verdict.ok) return { ok: true, kind: 'extended' };
  return { ok: false, reason: 'split_view', detail: `the log shows ${shown}, which it cannot prove extends ${cosigned}, which this witness cosigned (${verdict.detail})` };
}
