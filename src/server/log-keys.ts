import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { SiteKey, Store } from '../store/types.ts';
import { ReadCache } from './read-cache.ts';
import { decodeSignerKey, decodeVerifierKey, generateSignerKey, noteSigner, noteVerifier, type NoteSigner, type NoteVerifier } from '../ledger/note.ts';

/**
 * Ed25519 note keys with Node's own (native) Ed25519: the same signatures as the pure
 * library's (src/ledger/note.ts, checked against it in the tests), some twenty times
 * faster, which the control plane needs to countersign and check thousands of usage
 * records a second. The library still parses and checks the keys.
 */

/** PKCS #8 and SPKI DER prefixes of an Ed25519 private seed and public key (RFC 8410). */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** A note signer whose signatures can also be made off the event loop, on libuv's thread pool. */
export interface NativeSigner extends NoteSigner {
  signAsync(text: Uint8Array): Promise<Uint8Array>;
}

/** A note verifier that can also check off the event loop, on libuv's thread pool. */
export interface NativeVerifier extends NoteVerifier {
  verifyAsync(text: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

/** A signer for `PRIVATE+KEY+…` that signs with node:crypto. */
export function nativeSigner(signerKey: string): NativeSigner {
  const { name, keyHash } = noteSigner(signerKey); // checks the key and its hash
  const key: KeyObject = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, decodeSignerKey(signerKey).key]), format: 'der', type: 'pkcs8' });
  return {
    name, keyHash,
    sign: (text) => new Uint8Array(sign(null, text, key)),
    signAsync: (text) => new Promise((resolve, reject) => sign(null, text, key, (err, signature) => (err === null ? resolve(new Uint8Array(signature)) : reject(err)))),
  };
}

/** Verifiers made, by verifier key: a key's KeyObject is made once (a site's key serves every heartbeat). */
const verifiers = new Map<string, NativeVerifier>();
/** Verifiers kept at most; beyond, the cache starts again (keys come and go with sites). */
const VERIFIERS_KEPT = 10_000;

/** A verifier for `<name>+<hash>+<key>` that checks with node:crypto; throws as `noteVerifier` for a key it cannot read. */
export function nativeVerifier(verifierKey: string): NativeVerifier {
  const cached = verifiers.get(verifierKey);
  if (cached !== undefined) return cached;
  const { name, keyHash } = noteVerifier(verifierKey);
  const key: KeyObject = createPublicKey({ key: verifierSpki(verifierKey), format: 'der', type: 'spki' });
  const made: NativeVerifier = {
    name, keyHash,
    verify: (text, signature) => {
      try {
        return signature.length === 64 && verify(null, text, key, signature);
      } catch {
        return false;
      }
    },
    verifyAsync: (text, signature) => new Promise((resolve) => {
      if (signature.length !== 64) return resolve(false);
      try {
        verify(null, text, key, signature, (err, ok) => resolve(err === null && ok));
      } catch {
        resolve(false);
      }
    }),
  };
  if (verifiers.size >= VERIFIERS_KEPT) verifiers.clear();
  verifiers.set(verifierKey, made);
  return made;
}

/** The public key of a verifier key `<name>+<hash>+<key>` as SPKI DER, what node:crypto takes (anywhere, a worker thread too). */
export function verifierSpki(verifierKey: string): Buffer {
  return Buffer.concat([SPKI_PREFIX, decodeVerifierKey(verifierKey).key]);
}

/** A new note key pair named `name`, from 32 random bytes. */
export function newKeyPair(name: string): { signerKey: string; verifierKey: string } {
  return generateSignerKey(name, new Uint8Array(randomBytes(32)));
}

/**
 * The signer key kept in `path` (mode 0600), made there at the first call: how a
 * control plane keeps its log key, and an agent its site key, across restarts.
 */
export function keyFile(path: string, name: string): { signerKey: string; created: boolean } {
  if (existsSync(path)) return { signerKey: readFileSync(path, 'utf8').trim(), created: false };
  const { signerKey } = newKeyPair(name);
  writeFileSync(path, `${signerKey}\n`, { mode: 0o600, flag: 'wx' });
  return { signerKey, created: true };
}

/** The verifier key of a signer key. */
export function verifierKeyOf(signerKey: string): string {
  const { name, key } = decodeSignerKey(signerKey);
  return generateSignerKey(name, key).verifierKey;
}

/**
 * Each site's record keys as the store holds them, read once per site and kept: every heartbeat asks for its
 * site's. The leading replica is their only writer (a key taken at a heartbeat, one revoked through the API), and
 * both writes go through here, which forgets the site's keys once the write is done (a read under way may be older);
 * another replica's writes reach a follower's book through the change feed (change-follower.ts).
 */
export class SiteKeyBook {
  private readonly bySite = new ReadCache<SiteKey[]>();

  constructor(private readonly store: Pick<Store, 'siteKeys' | 'addSiteKey' | 'revokeSiteKey'>) {}

  /** The site's keys, revoked ones too. */
  of(siteId: string): Promise<SiteKey[]> {
    return this.bySite.get(siteId, () => this.store.siteKeys(siteId));
  }

  /** Forgets the site's keys (every site's, without one): another replica changed them, or may have. */
  forget(siteId?: string): void {
    this.bySite.forget(siteId);
  }

  async add(key: Omit<SiteKey, 'revokedAt'>): Promise<void> {
    try {
      await this.store.addSiteKey(key);
    } finally {
      this.bySite.forget(key.siteId);
    }
  }

  async revoke(siteId: string, keyHash: string, at: number): Promise<boolean> {
    try {
      return await this.store.revokeSiteKey(siteId, keyHash, at);
    } finally {
      this.bySite.forget(siteId);
    }
  }
}
