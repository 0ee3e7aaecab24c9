/**
 * Signed notes (c2sp.org/signed-note, the format of Go's golang.org/x/mod/sumdb/note)
 * with Ed25519 keys: a UTF-8 text ending in a newline, a blank line, then one line
 * per signature, `— <key name> <base64(4-byte key hash ‖ signature)>`.
 *
 * Keys travel as Go's text encodings: a signer key `PRIVATE+KEY+<name>+<hash>+<base64(type ‖ seed)>`
 * (secret: it signs) and a verifier key `<name>+<hash>+<base64(type ‖ public key)>`, where
 * the hash is the first 4 bytes of SHA-256(name ‖ "\n" ‖ type ‖ public key) in hex and
 * the type is 0x01 for plain Ed25519 note signatures.
 *
 * Pure: the caller supplies the 32 random bytes a key is made from; nothing here reads
 * a clock or draws randomness. Opening a note never throws: it returns an opening that
 * says what verified, what is from keys it does not know, or what is wrong.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { InvalidInputError } from '../model/errors.ts';
import { concatBytes, fromBase64, fromUtf8, isWellFormed, readUint32, toBase64, uint32Bytes, utf8 } from './encoding.ts';

/** The signature type byte of plain Ed25519 note signatures (c2sp.org/signed-note). */
export const ED25519_NOTE_TYPE = 0x01;
/** Signatures a note may carry; more make it malformed (Go's limit; the spec asks for at least 16). */
export const MAX_NOTE_SIGNATURES = 100;

/** A key that checks signatures: its name and key hash say which signature lines it is for. */
export interface NoteVerifier {
  readonly name: string;
  /** The 32-bit key id (big-endian first 4 bytes of the key's SHA-256 hash; see the file comment). */
  readonly keyHash: number;
  /** Whether `signature` (the bytes after the key hash on a line) signs `text` (the note text, final newline included). Never throws. */
  verify(text: Uint8Array, signature: Uint8Array): boolean;
}

/** A key that signs note texts. */
export interface NoteSigner {
  readonly name: string;
  readonly keyHash: number;
  /** The signature bytes over `text` (the note text, final newline included). */
  sign(text: Uint8Array): Uint8Array;
}

/** One signature line of a note. */
export interface NoteSignature {
  readonly name: string;
  readonly keyHash: number;
  /** base64(key hash ‖ signature), as written on the line. */
  readonly base64: string;
  /** The signature bytes, after the key hash. */
  readonly signature: Uint8Array;
}

/** A signer key and the verifier key to hand out for it. */
export interface NoteKeyPair {
  /** `PRIVATE+KEY+…`: whoever holds it can sign; keep it secret. */
  readonly signerKey: string;
  readonly verifierKey: string;
}

/** Why a note did not open. */
export const NOTE_FAILURES = {
  malformed: 'not a well-formed signed note',
  bad_signature: "a known key's signature does not verify",
  ambiguous_key: 'two known keys share this name and key hash',
  unverified: 'no known key signed the note',
} as const;
export type NoteFailure = keyof typeof NOTE_FAILURES;

/**
 * What opening a note found. Opened: the text, the signatures that verified (one per
 * key), those from keys not given (unchecked), and both together in note order (what
 * to keep when adding a signature: `signNote(text, [me], signatures)`). Not opened:
 * `malformed` names the line (1-based; the blank line before the signatures counts);
 * `bad_signature` and `ambiguous_key` name the key (`name+hash`); `unverified` still
 * carries the text and signatures, for a caller that wants to say whose they are.
 */
export type NoteOpening =
  | { readonly ok: true; readonly text: string; readonly verified: readonly NoteSignature[]; readonly unknown: readonly NoteSignature[]; readonly signatures: readonly NoteSignature[] }
  | { readonly ok: false; readonly reason: 'malformed'; readonly line: number; readonly detail: string }
  | { readonly ok: false; readonly reason: 'bad_signature' | 'ambiguous_key'; readonly key: string; readonly detail: string }
  | { readonly ok: false; readonly reason: 'unverified'; readonly text: string; readonly unknown: readonly NoteSignature[]; readonly detail: string };

const EM_DASH_SPACE = '\u2014 ';
const NEWLINE = 0x0a;
/** Unicode white space (Go's unicode.IsSpace) or a plus: neither may stand in a key name. */
const NAME_FORBIDDEN = /[\p{White_Space}+]/u;
const NOTE_CONTROL = /[\u0000-\u0009\u000b-\u001f]/;

/** Whether `name` may name a key (Go's rule): non-empty, well-formed, without Unicode white space or `+`. */
export function isValidKeyName(name: string): boolean {
  return typeof name === 'string' && name !== '' && isWellFormed(name) && !NAME_FORBIDDEN.test(name);
}

/** The 32-bit key id: the first 4 bytes, big-endian, of SHA-256(name ‖ "\n" ‖ type ‖ public key). */
export function keyHash(name: string, signatureType: number, publicKey: Uint8Array): number {
  return readUint32(sha256(concatBytes(utf8(`${name}\n`), new Uint8Array([signatureType]), publicKey)));
}

/** `name+hash` in hex, as keys are named in messages (Go's "unknown key PeterNeumann+c74f20a3"). */
export function keyId(name: string, hash: number): string {
  return `${name}+${hash.toString(16).padStart(8, '0')}`;
}

/** A new Ed25519 note key named `name`, from 32 secret random bytes the caller drew. */
export function generateSignerKey(name: string, seed: Uint8Array): NoteKeyPair {
  return encodeKeyPair(name, seed, ED25519_NOTE_TYPE);
}

/** The verifier key of an Ed25519 public key (32 bytes) under `name` (Go's NewEd25519VerifierKey). */
export function ed25519VerifierKey(name: string, publicKey: Uint8Array): string {
  checkName('name', name);
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) throw new InvalidInputError('publicKey', 'is not 32 bytes', 'an Ed25519 public key (32 bytes)');
  return `${keyId(name, keyHash(name, ED25519_NOTE_TYPE, publicKey))}+${toBase64(concatBytes(new Uint8Array([ED25519_NOTE_TYPE]), publicKey))}`;
}

/** The signer of a signer key `PRIVATE+KEY+<name>+<hash>+<base64(0x01 ‖ seed)>`; InvalidInputError (field `signerKey`) otherwise. */
export function noteSigner(signerKey: string): NoteSigner {
  const { name, hash, type, key } = decodeSignerKey(signerKey);
  if (type !== ED25519_NOTE_TYPE) throw new InvalidInputError('signerKey', `key type ${type} is not Ed25519 (1)`, 'an Ed25519 note signer key');
  const publicKey = ed25519.getPublicKey(key);
  if (hash !== keyHash(name, type, publicKey)) throw new InvalidInputError('signerKey', 'the key hash does not match the key', 'a signer key as generated, unaltered');
  return { name, keyHash: hash, sign: (text) => ed25519Sign(key, text) };
}

/** The verifier of a verifier key `<name>+<hash>+<base64(0x01 ‖ public key)>`; InvalidInputError (field `verifierKey`) otherwise. */
export function noteVerifier(verifierKey: string): NoteVerifier {
  const { name, hash, type, key } = decodeVerifierKey(verifierKey);
  if (type !== ED25519_NOTE_TYPE) throw new InvalidInputError('verifierKey', `key type ${type} is not Ed25519 (1)`, 'an Ed25519 note verifier key');
  if (hash !== keyHash(name, type, key)) throw new InvalidInputError('verifierKey', 'the key hash does not match the key', 'a verifier key as generated, unaltered');
  return { name, keyHash: hash, verify: (text, signature) => ed25519Verify(key, text, signature) };
}

/**
 * The signed note of `text` (which must end in a newline and hold no control character
 * but newlines): `existing` signature lines first — less any by a key among `signers`,
 * whose new signature replaces it — then one line per signer, in order (Go's note.Sign).
 * Adding a signature to a note someone else signed is `signNote(opening.text, [me],
 * opening.signatures)`.
 */
export function signNote(text: string, signers: readonly NoteSigner[], existing: readonly NoteSignature[] = []): Uint8Array {
  checkNoteText(text);
  const textBytes = utf8(text);
  const replaced = new Set<string>();
  signers.forEach((s, i) => {
    checkName(`signers[${i}].name`, s.name);
    const id = keyId(s.name, s.keyHash);
    if (replaced.has(id)) throw new InvalidInputError(`signers[${i}]`, `signs twice with ${id}`, 'each key once');
    replaced.add(id);
  });
  existing.forEach((sig, i) => {
    const raw = typeof sig.base64 === 'string' ? fromBase64(sig.base64) : undefined;
    if (!isValidKeyName(sig.name) || raw === undefined || raw.length < 5 || readUint32(raw) !== sig.keyHash) {
      throw new InvalidInputError(`existing[${i}]`, 'is not a signature line as openNote returns them', 'signatures from openNote');
    }
  });
  const lines = [
    ...existing.filter((sig) => !replaced.has(keyId(sig.name, sig.keyHash))).map((sig) => `${EM_DASH_SPACE}${sig.name} ${sig.base64}\n`),
    ...signers.map((s) => `${EM_DASH_SPACE}${s.name} ${toBase64(concatBytes(uint32Bytes(s.keyHash), s.sign(textBytes)))}\n`),
  ];
  if (lines.length === 0) throw new InvalidInputError('signers', 'no signature', 'at least one signer');
  if (lines.length > MAX_NOTE_SIGNATURES) throw new InvalidInputError('signers', `${lines.length} signatures`, `at most ${MAX_NOTE_SIGNATURES}`);
  return concatBytes(textBytes, utf8(`\n${lines.join('')}`));
}

/**
 * Opens a signed note with the keys the caller trusts (Go's note.Open): every signature
 * by a known key must verify, at least one must, and signatures by unknown keys are
 * kept unchecked (the spec: ignore them). A key's second signature is ignored, as are
 * repeated identical unknown lines. Never throws, whatever `note` holds.
 */
export function openNote(note: Uint8Array, verifiers: readonly NoteVerifier[]): NoteOpening {
  const parsed = parseNote(note);
  if (!parsed.ok) return parsed;
  const { text, textBytes, signatures } = parsed;
  const verified: NoteSignature[] = [];
  const unknown: NoteSignature[] = [];
  const kept: NoteSignature[] = [];
  const seenKeys = new Set<string>();
  const seenUnknown = new Set<string>();
  for (const sig of signatures) {
    const id = keyId(sig.name, sig.keyHash);
    const matching = verifiers.filter((v) => v.name === sig.name && v.keyHash === sig.keyHash);
    if (matching.length === 0) {
      const line = `${sig.name} ${sig.base64}`;
      if (!seenUnknown.has(line)) {
        unknown.push(sig);
        kept.push(sig);
      }
      seenUnknown.add(line);
      continue;
    }
    if (matching.length > 1) return { ok: false, reason: 'ambiguous_key', key: id, detail: `${NOTE_FAILURES.ambiguous_key}: ${id}` };
    if (seenKeys.has(id)) continue;
    seenKeys.add(id);
    if (!safeVerify(matching[0]!, textBytes, sig.signature)) return { ok: false, reason: 'bad_signature', key: id, detail: `invalid signature for key ${id}` };
    verified.push(sig);
    kept.push(sig);
  }
  if (verified.length === 0) return { ok: false, reason: 'unverified', text, unknown, detail: 'note has no verifiable signatures' };
  return { ok: true, text, verified, unknown, signatures: kept };
}

// ---- parsing ---------------------------------------------------------------------

/** A note split into its text and signature lines, nothing verified; or where it is malformed. */
export type ParsedNote =
  | { readonly ok: true; readonly text: string; readonly textBytes: Uint8Array; readonly signatures: readonly NoteSignature[] }
  | { readonly ok: false; readonly reason: 'malformed'; readonly line: number; readonly detail: string };
type Malformed = Extract<ParsedNote, { ok: false }>;

const malformed = (line: number, detail: string): Malformed => ({ ok: false, reason: 'malformed', line, detail });

/**
 * The syntax of a note, checked; no signature is. The text of an unverified note must
 * not be relied on: this is for choosing which keys to open it with (a usage record
 * names its site, whose key then verifies it). Never throws.
 */
export function parseNote(note: Uint8Array): ParsedNote {
  if (!((note as unknown) instanceof Uint8Array)) return malformed(0, 'a note is bytes');
  const whole = fromUtf8(note);
  if (whole === undefined) return malformed(lineOfBadUtf8(note), 'not valid UTF-8');
  const control = NOTE_CONTROL.exec(whole);
  if (control !== null) return malformed(lineAt(whole, control.index), `control character U+${control[0].charCodeAt(0).toString(16).padStart(4, '0')}`);
  const split = whole.lastIndexOf('\n\n');
  if (split < 0) return malformed(lineAt(whole, whole.length), 'no blank line before the signatures');
  const text = whole.slice(0, split + 1);
  const block = whole.slice(split + 2);
  const firstSignatureLine = lineAt(whole, split + 2);
  if (block === '' || !block.endsWith('\n')) return malformed(lineAt(whole, whole.length), 'the signatures must end in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) return malformed(firstSignatureLine + MAX_NOTE_SIGNATURES, `more than ${MAX_NOTE_SIGNATURES} signatures`);
  const signatures: NoteSignature[] = [];
  for (const [i, line] of lines.entries()) {
    const sig = parseSignatureLine(line);
    if (typeof sig === 'string') return malformed(firstSignatureLine + i, sig);
    signatures.push(sig);
  }
  return { ok: true, text, textBytes: note.subarray(0, utf8(text).length), signatures };
}

/** One signature line, or what is wrong with it. */
function parseSignatureLine(line: string): NoteSignature | string {
  if (!line.startsWith(EM_DASH_SPACE)) return 'a signature line starts with an em dash (U+2014) and a space';
  const rest = line.slice(EM_DASH_SPACE.length);
  const space = rest.indexOf(' ');
  const name = space < 0 ? rest : rest.slice(0, space);
  const base64 = space < 0 ? '' : rest.slice(space + 1);
  if (!isValidKeyName(name)) return 'the key name is empty or holds a space or a plus';
  const raw = fromBase64(base64);
  if (base64 === '' || raw === undefined) return 'the signature is not canonical base64';
  if (raw.length < 5) return 'the signature is shorter than a key hash and one byte';
  return { name, keyHash: readUint32(raw), base64, signature: raw.subarray(4) };
}

/** The 1-based line of the character at `index`. */
function lineAt(s: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index && i < s.length; i++) if (s.charCodeAt(i) === NEWLINE) line++;
  return line;
}

function lineOfBadUtf8(bytes: Uint8Array): number {
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === NEWLINE) {
      if (fromUtf8(bytes.subarray(start, i)) === undefined) return line;
      line++;
      start = i + 1;
    }
  }
  return line;
}

// ---- checks and key encodings, shared with cosignature.ts -----------------------------------

/** Throws InvalidInputError unless `text` can be a note's text. */
export function checkNoteText(text: string, field = 'text'): void {
  if (typeof text !== 'string' || !text.endsWith('\n')) throw new InvalidInputError(field, 'does not end in a newline', 'note text ending in "\\n"');
  if (!isWellFormed(text)) throw new InvalidInputError(field, 'holds a lone surrogate', 'well-formed Unicode text');
  const control = NOTE_CONTROL.exec(text);
  if (control !== null) throw new InvalidInputError(field, `holds control character U+${control[0].charCodeAt(0).toString(16).padStart(4, '0')} on line ${lineAt(text, control.index)}`, 'text without control characters other than newlines');
}

/** Throws InvalidInputError unless `name` can sign: a key name that a note may hold (no control character). */
export function checkName(field: string, name: string): void {
  if (!isValidKeyName(name) || NOTE_CONTROL.test(name)) throw new InvalidInputError(field, 'is not a key name', 'a non-empty name without spaces, plus signs or control characters, such as example.com/log');
}

/** Signer and verifier key encodings of the Ed25519 key of `seed` with signature type `type`. */
export function encodeKeyPair(name: string, seed: Uint8Array, type: number): NoteKeyPair {
  checkName('name', name);
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new InvalidInputError('seed', 'is not 32 bytes', '32 secret random bytes');
  const publicKey = ed25519.getPublicKey(seed);
  const id = keyId(name, keyHash(name, type, publicKey));
  const typed = (key: Uint8Array) => toBase64(concatBytes(new Uint8Array([type]), key));
  return { signerKey: `PRIVATE+KEY+${id}+${typed(seed)}`, verifierKey: `${id}+${typed(publicKey)}` };
}

interface DecodedKey {
  readonly name: string;
  /** The hash as written (not yet checked against the key). */
  readonly hash: number;
  readonly type: number;
  /** The seed (signer keys) or the public key (verifier keys); 32 bytes. */
  readonly key: Uint8Array;
}

/** `PRIVATE+KEY+<name>+<hash>+<base64(type ‖ 32-byte seed)>`, syntax only; errors never echo the key. */
export function decodeSignerKey(signerKey: string, field = 'signerKey'): DecodedKey {
  if (typeof signerKey !== 'string' || !signerKey.startsWith('PRIVATE+KEY+')) throw new InvalidInputError(field, 'does not start with PRIVATE+KEY+', 'PRIVATE+KEY+<name>+<hash>+<key>');
  return decodeKey(signerKey.slice('PRIVATE+KEY+'.length), field, 'PRIVATE+KEY+<name>+<hash>+<key>');
}

/** `<name>+<hash>+<base64(type ‖ 32-byte public key)>`, syntax and a valid Ed25519 point; the hash is not checked here. */
export function decodeVerifierKey(verifierKey: string, field = 'verifierKey'): DecodedKey {
  if (typeof verifierKey !== 'string') throw new InvalidInputError(field, 'is not text', '<name>+<hash>+<key>');
  const decoded = decodeKey(verifierKey, field, '<name>+<hash>+<key>');
  try {
    ed25519.Point.fromBytes(decoded.key, false);
  } catch {
    throw new InvalidInputError(field, 'the public key is not a point of Ed25519', 'an Ed25519 public key');
  }
  return decoded;
}

function decodeKey(encoded: string, field: string, accepted: string): DecodedKey {
  const [name = '', hash16 = '', ...rest] = encoded.split('+');
  const key = fromBase64(rest.join('+'));
  if (!isValidKeyName(name)) throw new InvalidInputError(field, 'the key name is empty or holds a space or a control character', accepted);
  if (!/^[0-9a-fA-F]{8}$/.test(hash16)) throw new InvalidInputError(field, 'the key hash is not 8 hex digits', accepted);
  if (key === undefined || key.length !== 33) throw new InvalidInputError(field, 'the key is not base64 of a type byte and 32 bytes', accepted);
  return { name, hash: parseInt(hash16, 16), type: key[0]!, key: key.subarray(1) };
}

/**
 * Ed25519 verification as RFC 8032 states it (noble's `zip215: false`): a signature
 * has one accepted encoding, so nobody but the signer can make a second valid one of
 * the same note (its bytes are a log leaf). False, never a throw, for wrong sizes.
 */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, seed);
}

/** A verifier's answer, with a throwing third-party verifier counted as a failed signature. */
function safeVerify(verifier: NoteVerifier, text: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verifier.verify(text, signature) === true;
  } catch {
    return false;
  }
}
