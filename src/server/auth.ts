import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../model/clock.ts';
import { InvalidInputError } from '../model/errors.ts';
import type { Role, Store, Token } from '../store/types.ts';
import { ApiError } from './errors.ts';
import type { Principal } from './permissions.ts';

/**
 * Bearer tokens: `sl_<id>_<secret>`. The id finds the token's row; the secret is
 * random (crypto.randomBytes) and stored only as an scrypt hash with its own salt.
 * The full token is shown once, when it is created.
 */
const TOKEN_FORMAT = /^sl_([0-9a-z]{4,64})_([0-9A-Za-z]{32,256})$/;
const TOKEN_ACCEPTED = 'sl_<id>_<secret>: id of 4–64 lower-case letters or digits, secret of 32–256 letters or digits';

/** scrypt's cost: N = 2^14, r = 8, p = 1 (Node's defaults, ~16 MiB and tens of ms per hash, on the thread pool). */
const SCRYPT = { N: 16_384, r: 8, p: 1, keyLength: 32, saltBytes: 16 } as const;

function scryptAsync(secret: string, salt: Buffer, keyLength: number, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keyLength, { N: cost.N, r: cost.r, p: cost.p, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** `scrypt$N$r$p$salt$hash` (base64url); the parameters travel with the hash so they can change later. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(SCRYPT.saltBytes);
  const key = await scryptAsync(secret, salt, SCRYPT.keyLength, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await scryptAsync(secret, Buffer.from(salt, 'base64url'), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A fresh token id and secret, and the bearer string made of them. */
export function newTokenSecret(): { id: string; secret: string; bearer: string } {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(24).toString('hex');
  return { id, secret, bearer: `sl_${id}_${secret}` };
}

export function parseBearer(bearer: string): { id: string; secret: string } | null {
  const m = TOKEN_FORMAT.exec(bearer);
  return m === null ? null : { id: m[1] ?? '', secret: m[2] ?? '' };
}

export interface TokenFields {
  readonly role: Role;
  readonly orgId: string | null;
  readonly siteId: string | null;
  readonly name: string;
}

/** Creates a token in the store and returns it with the bearer string, which exists nowhere else afterwards. */
export async function issueToken(store: Store, clock: Clock, fields: TokenFields, bearer = newTokenSecret().bearer): Promise<{ token: Token; bearer: string }> {
  const parsed = parseBearer(bearer);
  if (parsed === null) throw new InvalidInputError('token', 'not a token', TOKEN_ACCEPTED);
  const token = await store.createToken({ id: parsed.id, ...fields, secretHash: await hashSecret(parsed.secret), createdAt: clock.now() });
  return { token, bearer };
}

/**
 * The first admin token, when the store has none yet: the one given (the
 * SUANLI_ADMIN_TOKEN variable), or a new one. Returns the bearer string to show
 * once, or null when tokens already exist (a restart: nothing to show).
 */
export async function bootstrapAdminToken(store: Store, clock: Clock, given?: string): Promise<string | null> {
  if ((await store.countTokens()) > 0) return null;
  if (given !== undefined && parseBearer(given) === null) throw new InvalidInputError('SUANLI_ADMIN_TOKEN', 'the environment variable holds no token', TOKEN_ACCEPTED);
  const { bearer } = await issueToken(store, clock, { role: 'admin', orgId: null, siteId: null, name: 'admin (first start)' }, given);
  return bearer;
}

export interface AuthenticatorOptions {
  /** Most verified tokens remembered (oldest forgotten first). */
  readonly cacheSize?: number;
  /** How long a verification is trusted, ms: bounds how late a revocation made by another server process is seen. */
  readonly cacheTtlMs?: number;
}

interface Verified {
  readonly principal: Principal;
  readonly expiresAt: number;
}

/**
 * Turns an Authorization header into a Principal. scrypt is slow by design, so
 * successful verifications are cached, keyed by a SHA-256 of the whole token (the
 * secret is never kept), bounded in size and age, and dropped when the token is
 * revoked through `forget`. Concurrent first uses of one token share one scrypt.
 * Failures are not cached: a wrong secret costs the caller a full scrypt each time.
 */
export class Authenticator {
  private readonly verified = new Map<string, Verified>();
  private readonly inFlight = new Map<string, Promise<Principal>>();
  private readonly cacheSize: number;
  private readonly cacheTtlMs: number;
  /** Bumped by `forget`: a verification that was under way when a token was revoked is not cached. */
  private forgets = 0;

  constructor(private readonly store: Store, private readonly clock: Clock, options: AuthenticatorOptions = {}) {
    this.cacheSize = options.cacheSize ?? 10_000;
    this.cacheTtlMs = options.cacheTtlMs ?? 60_000;
  }

  async authenticate(header: string | undefined): Promise<Principal> {
    if (header === undefined || header === '') throw new ApiError('unauthorized', 'header.authorization: missing; send Authorization: Bearer <token>', { field: 'header.authorization' });
    const m = /^Bearer +(\S+)$/i.exec(header.trim());
    if (m === null) throw new ApiError('unauthorized', 'header.authorization: expected "Bearer <token>"', { field: 'header.authorization' });
    const bearer = m[1] ?? '';
    const key = createHash('sha256').update(bearer).digest('base64url');
    const now = this.clock.now();
    const hit = this.verified.get(key);
    if (hit !== undefined) {
      if (hit.expiresAt > now) return hit.principal;
      this.verified.delete(key);
    }
    const pending = this.inFlight.get(key);
    if (pending !== undefined) return pending;
    const forgets = this.forgets;
    const verifying = this.verify(bearer).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, verifying);
    const principal = await verifying;
    if (forgets === this.forgets) {
      this.verified.set(key, { principal, expiresAt: now + this.cacheTtlMs });
      if (this.verified.size > this.cacheSize) this.verified.delete(this.verified.keys().next().value as string);
    }
    return principal;
  }

  /** Drops every cached verification of the token; call when it is revoked. Idempotent. */
  forget(tokenId: string): void {
    this.forgets++;
    for (const [key, v] of this.verified) if (v.principal.tokenId === tokenId) this.verified.delete(key);
  }

  private async verify(bearer: string): Promise<Principal> {
    const parsed = parseBearer(bearer);
    if (parsed === null) throw new ApiError('unauthorized', `header.authorization: malformed token; expected ${TOKEN_ACCEPTED}`, { field: 'header.authorization' });
    const found = await this.store.findToken(parsed.id);
    const invalid = new ApiError('unauthorized', 'header.authorization: unknown or revoked token', { field: 'header.authorization' });
    if (found === null || found.token.revokedAt !== null) throw invalid;
    if (!(await verifySecret(parsed.secret, found.secretHash))) throw invalid;
    const t = found.token;
    return { tokenId: t.id, role: t.role, orgId: t.orgId, siteId: t.siteId };
  }
}
