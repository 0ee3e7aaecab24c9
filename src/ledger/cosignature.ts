/**
 * Witness cosignatures (c2sp.org/tlog-cosignature, cosignature/v1 with Ed25519): a
 * cosigner's statement that, at a time, the checkpoint is the largest it has seen for
 * the log and consistent with every earlier one. On the checkpoint note it is one more
 * signature line, `— <cosigner name> base64(key hash ‖ timestamp ‖ signature)`, where
 *
 *   key hash  = SHA-256(name ‖ "\n" ‖ 0x04 ‖ 32-byte Ed25519 public key)[:4]
 *   timestamp = u64 big-endian, POSIX seconds
 *   signature = Ed25519 over "cosignature/v1\ntime <decimal seconds>\n" ‖ the checkpoint's note text
 *
 * Cosigner keys use the note key encodings with type byte 0x04. A cosignature is a note
 * signature, so `openNote` checks it given `cosignatureVerifier(vkey)`; checkpoint.ts
 * wraps that for checkpoints. The time is an argument: nothing here reads a clock.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { InvalidInputError } from '../model/errors.ts';
import { concatBytes, readUint64, uint64Bytes, utf8 } from './encoding.ts';
import {
  checkNoteText,
  decodeSignerKey,
  decodeVerifierKey,
  ED25519_NOTE_TYPE,
  ed25519Sign,
  ed25519Verify,
  encodeKeyPair,
  keyHash,
  type NoteKeyPair,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
} from './note.ts';

/** The signature type byte of timestamped Ed25519 cosignatures (c2sp.org/signed-note). */
export const COSIGNATURE_TYPE = 0x04;

/**
 * The latest timestamp handled, in seconds: 2^53 − 1, the largest whole JS number. The
 * format allows up to 2^63 − 1, but the spec lets verifiers refuse timestamps in the
 * future, and every timestamp past this one is (by some 285 million years).
 */
export const MAX_COSIGNATURE_TIME_S = Number.MAX_SAFE_INTEGER;

const TIMESTAMP_BYTES = 8;
const ED25519_SIGNATURE_BYTES = 64;

/** The cosigner key hash: SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key)[:4]. */
export function cosignerKeyHash(name: string, publicKey: Uint8Array): number {
  return keyHash(name, COSIGNATURE_TYPE, publicKey);
}

/** The bytes a cosigner signs at `atS` (POSIX seconds) for a checkpoint whose note text is `checkpointText`. */
export function cosignatureMessage(checkpointText: string, atS: number): Uint8Array {
  checkNoteText(checkpointText, 'checkpointText');
  checkTime(atS);
  return messageBytes(utf8(checkpointText), BigInt(atS));
}

/** A new cosigner key named `name` (type 0x04), from 32 secret random bytes the caller drew. */
export function generateCosignerKey(name: string, seed: Uint8Array): NoteKeyPair {
  return encodeKeyPair(name, seed, COSIGNATURE_TYPE);
}

/**
 * A note signer that cosigns at `atS` (POSIX seconds), from a cosigner signer key
 * (`PRIVATE+KEY+<name>+<hash>+<base64(0x04 ‖ seed)>`). A witness makes one per
 * checkpoint it cosigns, after checking the checkpoint's signature and its consistency
 * with the last one it cosigned.
 */
export function cosignatureSigner(signerKey: string, atS: number): NoteSigner {
  const { name, hash, type, key } = decodeSignerKey(signerKey);
  if (type !== COSIGNATURE_TYPE) throw new InvalidInputError('signerKey', `key type ${type} is not a cosignature key (4)`, 'a cosigner signer key from generateCosignerKey');
  if (hash !== cosignerKeyHash(name, ed25519.getPublicKey(key))) throw new InvalidInputError('signerKey', 'the key hash does not match the key', 'a signer key as generated, unaltered');
  checkTime(atS);
  const time = BigInt(atS);
  return {
    name,
    keyHash: hash,
    sign: (text) => concatBytes(uint64Bytes(time), ed25519Sign(key, messageBytes(text, time))),
  };
}

/**
 * A note verifier for a cosigner's cosignatures, from its verifier key: type 0x04, or
 * a plain Ed25519 key (0x01) that a witness published, taken as its 0x04 key (the key
 * hash changes accordingly). InvalidInputError (field `verifierKey`) otherwise.
 */
export function cosignatureVerifier(verifierKey: string): NoteVerifier {
  const { name, hash, type, key } = decodeVerifierKey(verifierKey);
  if (type !== COSIGNATURE_TYPE && type !== ED25519_NOTE_TYPE) throw new InvalidInputError('verifierKey', `key type ${type} is not a cosignature key (4) nor Ed25519 (1)`, 'a cosigner verifier key');
  if (hash !== keyHash(name, type, key)) throw new InvalidInputError('verifierKey', 'the key hash does not match the key', 'a verifier key as generated, unaltered');
  return {
    name,
    keyHash: cosignerKeyHash(name, key),
    verify: (text, signature) => {
      const time = timestampOf(signature);
      return time !== undefined && ed25519Verify(key, messageBytes(text, BigInt(time)), signature.subarray(TIMESTAMP_BYTES));
    },
  };
}

/**
 * When a cosignature says it was made (POSIX seconds), read from its signature line;
 * undefined when the signature is not a cosignature/v1 one (wrong length) or its time
 * is past MAX_COSIGNATURE_TIME_S. Meaningful only once the signature verified.
 */
export function cosignatureTime(signature: NoteSignature): number | undefined {
  return timestampOf(signature.signature);
}

function timestampOf(signature: Uint8Array): number | undefined {
  if (!(signature instanceof Uint8Array) || signature.length !== TIMESTAMP_BYTES + ED25519_SIGNATURE_BYTES) return undefined;
  const time = readUint64(signature);
  return time > BigInt(MAX_COSIGNATURE_TIME_S) ? undefined : Number(time);
}

function messageBytes(text: Uint8Array, time: bigint): Uint8Array {
  return concatBytes(utf8(`cosignature/v1\ntime ${time}\n`), text);
}

function checkTime(atS: number): void {
  if (!Number.isSafeInteger(atS) || atS < 0) throw new InvalidInputError('atS', `${String(atS)} is not a time in whole seconds`, `POSIX seconds from 0 to ${MAX_COSIGNATURE_TIME_S}`);
}
