/**
 * The byte encodings the ledger's text formats use, written here rather than taken
 * from Node's Buffer so that the dashboard runs the same code in the browser.
 * Decoders are strict: a value has exactly one accepted encoding, so that a signed
 * note, a checkpoint or a record has one byte form and one leaf hash.
 */

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A lone UTF-16 surrogate: a string that has no UTF-8 form (TextEncoder would write U+FFFD instead). */
const LONE_SURROGATE = /\p{Cs}/u;

/** Whether every code unit of `s` belongs to a well-formed code point. */
export function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/** UTF-8 bytes of a well-formed string (check with `isWellFormed` first: a lone surrogate becomes U+FFFD). */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** The text of valid UTF-8 bytes, or undefined for anything else (a byte order mark is kept as U+FEFF). */
export function fromUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_VALUE[B64.charCodeAt(i)] = i;

/** Standard base64 (RFC 4648 §4) with padding. */
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] ?? 0) << 16;
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8);
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + '=';
  }
  return out;
}

/**
 * The bytes of canonical standard base64, or undefined: the length must be a multiple
 * of 4, padding only at the end, and the bits that padding leaves over must be zero
 * (so that no two strings decode to the same bytes; Go's decoder is laxer on that).
 */
export function fromBase64(s: string): Uint8Array | undefined {
  if (s.length % 4 !== 0) return undefined;
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  const value = (i: number, padding: boolean): number => {
    const code = s.charCodeAt(i);
    if (padding && code === 0x3d) return 0; // '=' in the padding
    return code < 128 ? (B64_VALUE[code] ?? -1) : -1;
  };
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const last = i + 4 === s.length;
    const a = value(i, false);
    const b = value(i + 1, false);
    const c = value(i + 2, last && pad === 2);
    const d = value(i + 3, last && pad >= 1);
    if ((a | b | c | d) < 0) return undefined;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    if (last && pad === 2 && (n & 0xffff) !== 0) return undefined;
    if (last && pad === 1 && (n & 0xff) !== 0) return undefined;
    out[o++] = (n >> 16) & 0xff;
    if (o < out.length) out[o++] = (n >> 8) & 0xff;
    if (o < out.length) out[o++] = n & 0xff;
  }
  return out;
}

/** Lower-case hex, two digits a byte. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** The bytes of an even-length hex string (either case), or undefined. */
export function fromHex(s: string): Uint8Array | undefined {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) return undefined;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Byte equality; not constant-time (everything compared here is public). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The big-endian uint32 at `offset` (4 bytes must be there). */
export function readUint32(bytes: Uint8Array, offset = 0): number {
  return (((bytes[offset] ?? 0) << 24) | ((bytes[offset + 1] ?? 0) << 16) | ((bytes[offset + 2] ?? 0) << 8) | (bytes[offset + 3] ?? 0)) >>> 0;
}

export function uint32Bytes(n: number): Uint8Array {
  return new Uint8Array([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

/** The big-endian uint64 at `offset` (8 bytes must be there), exactly. */
export function readUint64(bytes: Uint8Array, offset = 0): bigint {
  return (BigInt(readUint32(bytes, offset)) << 32n) | BigInt(readUint32(bytes, offset + 4));
}

export function uint64Bytes(n: bigint): Uint8Array {
  return concatBytes(uint32Bytes(Number((n >> 32n) & 0xffffffffn)), uint32Bytes(Number(n & 0xffffffffn)));
}

/** Whether `s` is a decimal natural number written canonically: digits only, no leading zero (but "0"). */
export function isCanonicalDecimal(s: string): boolean {
  return /^(0|[1-9][0-9]*)$/.test(s);
}
