/**
 * Checkpoints (c2sp.org/tlog-checkpoint): the log's signed statement of its tree at a
 * size, a signed note whose text is
 *
 *   <origin>\n<tree size, decimal>\n<base64 root hash>\n[<extension line>\n…]
 *
 * The control plane signs it with the log's key; witnesses add cosignatures
 * (cosignature.ts). A member trusts a checkpoint whose log signature verifies and
 * which enough witnesses of its choosing cosigned; how many is its policy.
 */
import { InvalidInputError } from '../model/errors.ts';
import { fromBase64, isCanonicalDecimal, isWellFormed, toBase64 } from './encoding.ts';
import { cosignatureTime } from './cosignature.ts';
import { HASH_SIZE } from './merkle.ts';
import { checkNoteText, keyId, NOTE_FAILURES, openNote, signNote, type NoteSignature, type NoteSigner, type NoteVerifier } from './note.ts';

export interface Checkpoint {
  /** The log's identity, e.g. `suanli.example/ledger`: non-empty, one line. */
  readonly origin: string;
  /** Leaves in the tree; at most 2^53 − 1 here (the format allows 2^64 − 1). */
  readonly size: number;
  /** The tree's root (RFC 9162 MTH), 32 bytes. */
  readonly rootHash: Uint8Array;
  /** Opaque lines after the root, each non-empty; the spec advises against them (no monitor checks them). */
  readonly extensions: readonly string[];
}

/** A witness's cosignature on a checkpoint, verified. */
export interface Cosignature {
  readonly name: string;
  readonly keyHash: number;
  /** When the witness says it cosigned, POSIX seconds; null for a signature by a key that is not a cosigner key. */
  readonly atS: number | null;
  readonly signature: NoteSignature;
}

/** What a member trusts: the log it follows (by origin and key) and the witnesses it counts. */
export interface CheckpointTrust {
  readonly origin: string;
  readonly log: NoteVerifier;
  /** Witnesses' verifiers (cosignatureVerifier); signatures by others are returned as unknown. */
  readonly cosigners?: readonly NoteVerifier[];
}

/** Why a checkpoint did not open: the note's own failures, then the checkpoint's. */
export const CHECKPOINT_FAILURES = {
  malformed_note: NOTE_FAILURES.malformed,
  bad_signature: NOTE_FAILURES.bad_signature,
  ambiguous_key: NOTE_FAILURES.ambiguous_key,
  not_signed_by_log: "the log's key did not sign it",
  malformed_checkpoint: 'the text is not a checkpoint',
  wrong_origin: 'a checkpoint of another log',
} as const;
export type CheckpointFailure = keyof typeof CHECKPOINT_FAILURES;

export type CheckpointOpening =
  | {
      readonly ok: true;
      readonly checkpoint: Checkpoint;
      /** The note text, for re-signing (`signNote(text, [me], signatures)`). */
      readonly text: string;
      readonly logSignature: NoteSignature;
      /** The trusted witnesses' verified cosignatures, in note order. */
      readonly cosignatures: readonly Cosignature[];
      /** Signatures by keys not in the trust, kept unchecked. */
      readonly unknown: readonly NoteSignature[];
      /** Every kept signature in note order: what to keep when adding one. */
      readonly signatures: readonly NoteSignature[];
    }
  | { readonly ok: false; readonly reason: CheckpointFailure; readonly detail: string; readonly line?: number };

/** The checkpoint's note text (ends in a newline). InvalidInputError naming the field when a value cannot be written. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, rootHash, extensions } = checkpoint;
  checkLine('origin', origin);
  if (!Number.isSafeInteger(size) || size < 0) throw new InvalidInputError('size', `${String(size)} is not a tree size`, `a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`);
  if (!(rootHash instanceof Uint8Array) || rootHash.length !== HASH_SIZE) throw new InvalidInputError('rootHash', 'is not a 32-byte hash', 'a SHA-256 root hash (32 bytes)');
  extensions.forEach((line, i) => checkLine(`extensions[${i}]`, line));
  const text = [origin, String(size), toBase64(rootHash), ...extensions].map((l) => `${l}\n`).join('');
  checkNoteText(text, 'checkpoint');
  return text;
}

/** The checkpoint a note text states; InvalidInputError whose field names the line (`checkpoint line 2`). */
export function parseCheckpoint(text: string): Checkpoint {
  const read = readCheckpoint(text);
  if ('problem' in read) throw new InvalidInputError(`checkpoint line ${read.line}`, read.problem, read.accepted);
  return read;
}

/**
 * Opens a checkpoint note: the log's signature must verify (and every trusted key's),
 * the text must be a checkpoint of `trust.origin`. Returns the checkpoint with the
 * trusted witnesses' cosignatures; counting them against a policy (k of n) is the
 * caller's. Never throws.
 */
export function openCheckpoint(note: Uint8Array, trust: CheckpointTrust): CheckpointOpening {
  const cosigners = trust.cosigners ?? [];
  const opened = openNote(note, [trust.log, ...cosigners]);
  if (!opened.ok) {
    switch (opened.reason) {
      case 'malformed':
        return { ok: false, reason: 'malformed_note', detail: `line ${opened.line}: ${opened.detail}`, line: opened.line };
      case 'unverified':
        return { ok: false, reason: 'not_signed_by_log', detail: `no signature by ${keyId(trust.log.name, trust.log.keyHash)}` };
      case 'bad_signature':
        return { ok: false, reason: 'bad_signature', detail: opened.detail };
      case 'ambiguous_key':
        return { ok: false, reason: 'ambiguous_key', detail: opened.detail };
    }
  }
  const isLog = (s: NoteSignature) => s.name === trust.log.name && s.keyHash === trust.log.keyHash;
  const logSignature = opened.verified.find(isLog);
  if (logSignature === undefined) return { ok: false, reason: 'not_signed_by_log', detail: `no signature by ${keyId(trust.log.name, trust.log.keyHash)}` };
  const checkpoint = readCheckpoint(opened.text);
  if ('problem' in checkpoint) return { ok: false, reason: 'malformed_checkpoint', detail: `checkpoint line ${checkpoint.line}: ${checkpoint.problem}`, line: checkpoint.line };
  if (checkpoint.origin !== trust.origin) return { ok: false, reason: 'wrong_origin', detail: `origin ${JSON.stringify(checkpoint.origin)}, not ${JSON.stringify(trust.origin)}` };
  const cosignatures = opened.verified.filter((s) => !isLog(s)).map((s) => ({ name: s.name, keyHash: s.keyHash, atS: cosignatureTime(s) ?? null, signature: s }));
  return { ok: true, checkpoint, text: opened.text, logSignature, cosignatures, unknown: opened.unknown, signatures: opened.signatures };
}

/**
 * A witness's step: opens the checkpoint note as `openCheckpoint` does and adds the
 * cosignature of `cosigner` (from `cosignatureSigner(key, atS)`), keeping every other
 * signature. Checking consistency with the last checkpoint it cosigned is the witness's
 * job before this call. Never throws for a bad note: the opening says what is wrong.
 */
export function cosignCheckpoint(note: Uint8Array, trust: CheckpointTrust, cosigner: NoteSigner): { readonly ok: true; readonly note: Uint8Array; readonly checkpoint: Checkpoint } | Extract<CheckpointOpening, { ok: false }> {
  const opened = openCheckpoint(note, trust);
  if (!opened.ok) return opened;
  return { ok: true, note: signNote(opened.text, [cosigner], opened.signatures), checkpoint: opened.checkpoint };
}

// ---- parsing ---------------------------------------------------------------------

type Unreadable = { readonly line: number; readonly problem: string; readonly accepted: string };

function readCheckpoint(text: string): Checkpoint | Unreadable {
  if (typeof text !== 'string' || !text.endsWith('\n')) return { line: 1 + countLines(text), problem: 'the text does not end in a newline', accepted: 'lines ending in "\\n"' };
  const lines = text.slice(0, -1).split('\n');
  const problem = lines.findIndex((l) => !isWellFormed(l) || CONTROL.test(l));
  if (problem >= 0) return { line: problem + 1, problem: 'holds a control character or a lone surrogate', accepted: 'printable text' };
  const [origin = '', size = '', root = '', ...extensions] = lines;
  if (origin === '') return { line: 1, problem: 'the origin is empty', accepted: 'the log origin, e.g. example.com/log' };
  if (lines.length < 2) return { line: 2, problem: 'the tree size is missing', accepted: 'a decimal tree size' };
  if (!isCanonicalDecimal(size)) return { line: 2, problem: `${JSON.stringify(size)} is not a decimal tree size`, accepted: 'digits without a leading zero' };
  if (Number(size) > Number.MAX_SAFE_INTEGER) return { line: 2, problem: `${size} leaves is past what this library handles`, accepted: `at most ${Number.MAX_SAFE_INTEGER}` };
  if (lines.length < 3) return { line: 3, problem: 'the root hash is missing', accepted: 'a base64 SHA-256 hash' };
  const rootHash = fromBase64(root);
  if (rootHash === undefined || rootHash.length !== HASH_SIZE) return { line: 3, problem: `${JSON.stringify(root)} is not a base64 32-byte hash`, accepted: 'canonical base64 of 32 bytes' };
  const empty = extensions.indexOf('');
  if (empty >= 0) return { line: 4 + empty, problem: 'an extension line is empty', accepted: 'non-empty extension lines, or none' };
  return { origin, size: Number(size), rootHash, extensions };
}

const CONTROL = /[\u0000-\u001f]/;

function checkLine(field: string, line: string): void {
  if (typeof line !== 'string' || line === '' || !isWellFormed(line) || CONTROL.test(line)) throw new InvalidInputError(field, 'is empty or not one line of printable text', 'a non-empty line without control characters');
}

function countLines(text: unknown): number {
  return typeof text === 'string' ? text.split('\n').length - 1 : 0;
}

