import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { Clock } from '../model/clock.ts';
import { InvalidInputError } from '../model/errors.ts';
import type { Role, Store, Token } from '../store/types.ts';
import { ApiError } from './errors.ts';
import type { Principal } from './permissions.ts';
import { type BucketRate, TokenBuckets } from './token-buckets.ts';

/**
 * Bearer tokens: `sl_<id>_<secret>`. The id finds the token's row; the secret is
 * stored only as a hash. A secret the server made (crypto.randomBytes, 192 bits) is
 * kept as its SHA-256: no one can guess such a secret, so a slow hash would only make
 * every first check cost tens of ms (a thousand agents reconnecting after a restart
 * queued for half a minute, past their leases). A secret someone chose (the first
 * admin token, SUANLI_ADMIN_TOKEN) may be guessable: it is kept as an scrypt hash
 * with its own salt, and checked in the line below. The full token is shown once,
 * when it is created.
 */
const TOKEN_FORMAT = /^sl_([0-9a-z]{4,64})_([0-9A-Za-z]{32,256})$/;
const TOKEN_ACCEPTED = 'sl_<id>_<secret>: id of 4–64 lower-case letters or digits, secret of 32–256 letters or digits';
/**
 * What could be someone's token with a mistyped or truncated secret: it is answered
 * exactly like a wrong secret (same cost, same text, counted by the limits), so that
 * neither the answer nor its time says whether the id exists. Anything else is
 * refused at once as malformed, which tells nothing about any token.
 */
const PLAUSIBLE_TOKEN = /^sl_([0-9a-z]{4,64})_([\x21-\x7e]{1,256})$/;

/** scrypt's cost: N = 2^14, r = 8, p = 1 (Node's defaults, ~16 MiB and tens of ms per hash, on the thread pool). */
const SCRYPT = { N: 16_384, r: 8, p: 1, keyLength: 32, saltBytes: 16 } as const;

function scryptAsync(secret: string, salt: Buffer, keyLength: number, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keyLength, { N: cost.N, r: cost.r, p: cost.p, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/**
 * How a secret is kept: `scrypt$N$r$p$salt$hash` (base64url; the parameters travel with the hash so they can
 * change later) for one someone chose, `sha256$hash` (base64url) for one the server made (`madeHere`).
 */
export async function hashSecret(secret: string, madeHere = false): Promise<string> {
  if (madeHere) return `sha256$${sha256(secret).toString('base64url')}`;
  const salt = randomBytes(SCRYPT.saltBytes);
  const key = await scryptAsync(secret, salt, SCRYPT.keyLength, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Whether checking a secret against `stored` is slow by design (scrypt): such checks wait their turn (Authenticator, 4). */
export const isSlowHash = (stored: string): boolean => stored.startsWith('scrypt$');

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme === 'sha256' && n !== undefined) return equalBytes(sha256(secret), Buffer.from(n, 'base64url'));
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64url');
  return equalBytes(await scryptAsync(secret, Buffer.from(salt, 'base64url'), expected.length, { N: Number(n), r: Number(r), p: Number(p) }), expected);
}

const equalBytes = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);

/** A fresh token id and secret, and the bearer string made of them. */
export function newTokenSecret(): { id: string; secret: string; bearer: string } {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(24).toString('hex');
  return { id, secret, bearer: `sl_${id}_${secret}` };
}

/** The token of an `Authorization: Bearer <token>` header (the scheme in any case, RFC 9110 §11.1), or undefined when the header is not of that form. */
export function bearerOf(header: string | undefined): string | undefined {
  return /^bearer +(\S+)$/i.exec((header ?? '').trim())?.[1];
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

/**
 * Creates a token in the store and returns it with the bearer string, which exists nowhere else afterwards. `given`:
 * a bearer someone chose (its secret kept with scrypt); by default a new one (kept with SHA-256).
 */
export async function issueToken(store: Store, clock: Clock, fields: TokenFields, given?: string): Promise<{ token: Token; bearer: string }> {
  const bearer = given ?? newTokenSecret().bearer;
  const parsed = parseBearer(bearer);
  if (parsed === null) throw new InvalidInputError('token', 'not a token', TOKEN_ACCEPTED);
  const token = await store.createToken({ id: parsed.id, ...fields, secretHash: await hashSecret(parsed.secret, given === undefined), createdAt: clock.now() });
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
  /**
   * How long a verification is trusted without a look at the store, ms: bounds how late a revocation made by another
   * server process is seen. The look is one store read, never a second scrypt (see Authenticator, 3).
   */
  readonly cacheTtlMs?: number;
  /** Failed sign-ins allowed per source address (`req.ip`); default FAILURES_PER_SOURCE. */
  readonly failuresPerSource?: BucketRate;
  /** Failed sign-ins allowed per token id, from all addresses together; default FAILURES_PER_TOKEN_ID. */
  readonly failuresPerTokenId?: BucketRate;
  /** Most source addresses, and most token ids, whose failures are tracked (each; default 10,000). See TokenBuckets. */
  readonly maxTracked?: number;
  /** Most bearers remembered as known good (default 10,000, oldest forgotten first). */
  readonly knownGoodSize?: number;
  /** Verifications of bearers not known good that run at once (default UNPROVEN_CONCURRENCY)… */
  readonly unprovenConcurrency?: number;
  /** …and that may wait for their turn (default 32); more are refused with a 429. */
  readonly unprovenQueue?: number;
}

/**
 * Failed sign-ins per source address: 20 at once, then one every 3 s. A person
 * mistyping a token, or a client retrying a revoked one every few seconds, stays
 * under it; a guesser gets ~1,200 tries an hour per address (nothing against a
 * 192-bit secret) and costs the server at most one scrypt per 3 s after the burst
 * (~1 % of a core).
 */
export const FAILURES_PER_SOURCE: BucketRate = { burst: 20, refillMs: 3000 };
/**
 * Failed sign-ins per token id, whatever the addresses: 10 at once, then one every
 * 6 s. Many addresses together still cannot guess at one token faster than ~600
 * tries an hour, nor spend more than one scrypt per 6 s on it. Half the per-address
 * figures: one id is a narrower target than one address, whose users may share it.
 */
export const FAILURES_PER_TOKEN_ID: BucketRate = { burst: 10, refillMs: 6000 };

/**
 * Scrypts of bearers not known good at once: half the cores, and at most 2, half
 * of libuv's thread pool (4 threads unless UV_THREADPOOL_SIZE says otherwise). So a
 * flood's scrypts never hold every core nor every thread, and a known-good bearer's
 * re-verification runs beside them at once. One on a 2-core machine.
 */
export const UNPROVEN_CONCURRENCY = Math.max(1, Math.min(2, Math.floor(availableParallelism() / 2)));

/** Checks of bearers not known good that may wait in one address's line (one is checked at a time); more are a 429. */
const SOURCE_LINE = 10_000;

/** A 429 `rate_limited`; `retryAfterS` (whole seconds, ≥ 1) is for the Retry-After header. */
export class RateLimitedError extends ApiError {
  readonly retryAfterS: number;
  constructor(waitMs: number, why: string) {
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    super('rate_limited', `header.authorization: ${why}; retry in ${seconds} s`, { field: 'header.authorization' });
    this.retryAfterS = seconds;
  }
}

/** The seconds a refused sign-in should wait (its Retry-After), or undefined for any other error. */
export function retryAfterS(err: unknown): number | undefined {
  return err instanceof ApiError && err.code === 'rate_limited' && 'retryAfterS' in err && typeof err.retryAfterS === 'number' ? err.retryAfterS : undefined;
}

/**
 * At most `concurrency` tasks at once and `queue` more waiting, in order of
 * arrival; beyond that a task is refused (429) without running.
 */
class TaskQueue {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly concurrency: number, private readonly queue: number) {}

  /** Nothing running, nothing waiting. */
  get idle(): boolean {
    return this.running === 0 && this.waiting.length === 0;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running < this.concurrency) this.running++;
    else if (this.waiting.length < this.queue) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else throw new RateLimitedError(1000, 'too many sign-ins being checked at once');
    try {
      return await task();
    } finally {
      // The slot passes to the next in line, or is freed.
      const next = this.waiting.shift();
      if (next === undefined) this.running--;
      else next();
    }
  }
}

interface Verified {
  readonly principal: Principal;
  readonly expiresAt: number;
}

/** Sets `key` as the newest entry of `map`, forgetting the oldest beyond `max`. */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as string);
}

/** What a sign-in for no usable token is checked against, so that it costs what a wrong secret of a server-made token costs. */
const DUMMY_HASH = `sha256$${sha256(randomBytes(24).toString('hex')).toString('base64url')}`;

/**
 * Turns an Authorization header into a Principal. scrypt is slow by design, so
 * successful verifications are cached, keyed by a SHA-256 of the whole token (the
 * secret is never kept), bounded in size and age, and dropped when the token is
 * revoked through `forget`. Concurrent first uses of one token share one scrypt.
 *
 * Against a hostile caller:
 * 1. Every plausible token costs one store read and one hash check, whether its id
 *    exists, is revoked or its secret is wrong (the first two against a fixed dummy
 *    SHA-256), and gets the same 401: neither the answer nor its time tells which
 *    server-made tokens exist. (A wrong secret for the one token someone chose, the
 *    first admin's, costs an scrypt: its id is the one such a check tells of.)
 * 2. Failures are limited per source address and per token id (token buckets on
 *    the injected clock, TokenBuckets); past the limit a sign-in is refused with a
 *    429 and Retry-After before any store read or scrypt, so a flood costs almost
 *    nothing. A token is taken from both buckets before verifying and given back
 *    when the sign-in succeeds: concurrent guesses cannot overrun the limit.
 * 3. A bearer that verified here before is "known good" (its SHA-256, in a bounded
 *    set, with the hash its token's row held): the limits never refuse it, so a flood
 *    of wrong tokens on its id or from its address cannot lock it out. Once its cache
 *    entry expires it is checked again with one store read and no scrypt: its secret
 *    matched that row's hash, so only the row can have changed (revoked, or not the
 *    same row). So verified tokens never come back as a storm of scrypts when their
 *    cache entries expire together (every agent's, a minute after a restart).
 * 4. Checks that need an scrypt are made `unprovenConcurrency` at a time (see
 *    UNPROVEN_CONCURRENCY), `unprovenQueue` more waiting, the rest refused 429: a
 *    flood's scrypts never hold every core nor every thread, and no other check
 *    (a known-good bearer's, a server-made token's first) ever waits behind them.
 */
export class Authenticator {
  private readonly verified = new Map<string, Verified>();
  /** SHA-256 of a bearer that verified → its token's id and the secret hash its row held, oldest first. */
  private readonly knownGood = new Map<string, KnownGood>();
  /** Per source address with checks under way: their line (one at a time). */
  private readonly sourceLines = new Map<string, TaskQueue>();
  /** Secrets checked with scrypt since start (see `secretChecks`). */
  private scrypts = 0;
  private readonly inFlight = new Map<string, Promise<Principal>>();
  private readonly sources: TokenBuckets;
  private readonly tokenIds: TokenBuckets;
  private readonly unproven: TaskQueue;
  private readonly cacheSize: number;
  private readonly cacheTtlMs: number;
  private readonly knownGoodSize: number;
  /** Bumped by `forget`: a verification that was under way when a token was revoked is not cached. */
  private forgets = 0;

  constructor(private readonly store: Store, private readonly clock: Clock, options: AuthenticatorOptions = {}) {
    this.cacheSize = options.cacheSize ?? 10_000;
    this.cacheTtlMs = options.cacheTtlMs ?? 60_000;
    this.knownGoodSize = options.knownGoodSize ?? 10_000;
    const maxTracked = options.maxTracked ?? 10_000;
    this.sources = new TokenBuckets(clock, options.failuresPerSource ?? FAILURES_PER_SOURCE, maxTracked);
    this.tokenIds = new TokenBuckets(clock, options.failuresPerTokenId ?? FAILURES_PER_TOKEN_ID, maxTracked);
    this.unproven = new TaskQueue(options.unprovenConcurrency ?? UNPROVEN_CONCURRENCY, options.unprovenQueue ?? 32);
  }

  /** `source` is the caller's address (Fastify's `req.ip`), which the per-source limit counts by. */
  async authenticate(header: string | undefined, source: string): Promise<Principal> {
    if (header === undefined || header === '') throw new ApiError('unauthorized', 'header.authorization: missing; send Authorization: Bearer <token>', { field: 'header.authorization' });
    const bearer = bearerOf(header);
    if (bearer === undefined) throw new ApiError('unauthorized', 'header.authorization: expected "Bearer <token>"', { field: 'header.authorization' });
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
    const known = this.knownGood.get(key);
    const verifying = (known !== undefined ? this.reverify(key, known) : this.verifyUnproven(bearer, source)).finally(() => this.inFlight.delete(key));
    const shared = verifying.then((v) => v.principal);
    shared.catch(() => undefined); // its failure is this call's to throw; a concurrent caller sees it too
    this.inFlight.set(key, shared);
    const { principal, secretHash } = await verifying;
    if (forgets === this.forgets) {
      remember(this.verified, key, { principal, expiresAt: now + this.cacheTtlMs }, this.cacheSize);
      remember(this.knownGood, key, { tokenId: principal.tokenId, secretHash }, this.knownGoodSize);
    }
    return principal;
  }

  /**
   * Drops every cached verification of the token (of every token, without one), and its bearers' known-good standing;
   * call when it is revoked. Idempotent.
   */
  forget(tokenId?: string): void {
    this.forgets++;
    for (const [key, v] of this.verified) if (tokenId === undefined || v.principal.tokenId === tokenId) this.verified.delete(key);
    for (const [key, k] of this.knownGood) if (tokenId === undefined || k.tokenId === tokenId) this.knownGood.delete(key);
  }

  /** How many secrets were checked with scrypt since start: known-good bearers are not, whatever their cache. */
  secretChecks(): number {
    return this.scrypts;
  }

  /** How many source addresses and token ids have failures tracked, and bearers are known good (all bounded). */
  tracked(): { sources: number; tokenIds: number; knownGood: number } {
    return { sources: this.sources.size, tokenIds: this.tokenIds.size, knownGood: this.knownGood.size };
  }

  /**
   * A known-good bearer: no limit, no queue, no scrypt: its token's row, read again, must be unrevoked and hold the
   * same secret hash. One that fails now (revoked elsewhere) is known good no more.
   */
  private async reverify(key: string, known: KnownGood): Promise<{ principal: Principal; secretHash: string }> {
    const found = await this.store.findToken(known.tokenId);
    if (found === null || found.token.revokedAt !== null || found.secretHash !== known.secretHash) {
      this.knownGood.delete(key);
      throw unknownOrRevoked();
    }
    return { principal: principalOf(found.token), secretHash: found.secretHash };
  }

  private async verifyUnproven(bearer: string, source: string): Promise<{ principal: Principal; secretHash: string }> {
    const id = PLAUSIBLE_TOKEN.exec(bearer)?.[1];
    if (id === undefined) throw new ApiError('unauthorized', `header.authorization: malformed token; expected ${TOKEN_ACCEPTED}`, { field: 'header.authorization' });
    const idWait = this.tokenIds.take(id);
    if (idWait > 0) throw new RateLimitedError(idWait, 'too many failed sign-ins for this token');
    // From one address, one check at a time, the rest in line (many agents behind one address, a NAT or a replica
    // forwarding, sign in at once after a restart: they wait their turn, a few ms, rather than being refused for
    // failures they did not make). Each takes one of the address's failures when its turn comes, and gives it back
    // when it succeeds, as every guess always did: however many guesses come at once, no more fail than allowed.
    let line = this.sourceLines.get(source);
    if (line === undefined) this.sourceLines.set(source, (line = new TaskQueue(1, SOURCE_LINE)));
    const mine = line;
    try {
      const verified = await mine.run(async () => {
        const sourceWait = this.sources.take(source);
        if (sourceWait > 0) throw new RateLimitedError(sourceWait, 'too many failed sign-ins from this address');
        try {
          const v = await this.verify(bearer);
          this.sources.giveBack(source);
          return v;
        } catch (err) {
          // A turn refused by the scrypt line costs the address nothing; a failure, one.
          if (retryAfterS(err) !== undefined) this.sources.giveBack(source);
          throw err;
        }
      });
      this.tokenIds.giveBack(id);
      return verified;
    } catch (err) {
      // A refusal (the address out of failures, a line full) is not a failure of this id.
      if (retryAfterS(err) !== undefined) this.tokenIds.giveBack(id);
      throw err;
    } finally {
      if (mine.idle) this.sourceLines.delete(source);
    }
  }


  /**
   * One store read and one hash check for every plausible token, usable or not: a SHA-256 at once, an scrypt (a
   * secret someone chose) in the line.
   */
  private async verify(bearer: string): Promise<{ principal: Principal; secretHash: string }> {
    const [, id = '', secret = ''] = PLAUSIBLE_TOKEN.exec(bearer) ?? [];
    const found = id === '' ? null : await this.store.findToken(id);
    const usable = found !== null && found.token.revokedAt === null && parseBearer(bearer) !== null ? found : null;
    const stored = usable?.secretHash ?? DUMMY_HASH;
    let matches: boolean;
    if (isSlowHash(stored)) {
      matches = await this.unproven.run(() => verifySecret(secret, stored));
      this.scrypts++;
    } else matches = await verifySecret(secret, stored);
    if (usable === null || !matches) throw unknownOrRevoked();
    return { principal: principalOf(usable.token), secretHash: usable.secretHash };
  }
}

/** A bearer that verified here: its token, and the secret hash its row held then. */
interface KnownGood {
  readonly tokenId: string;
  readonly secretHash: string;
}

const unknownOrRevoked = () => new ApiError('unauthorized', 'header.authorization: unknown or revoked token', { field: 'header.authorization' });

const principalOf = (t: Token): Principal => ({ tokenId: t.id, role: t.role, orgId: t.orgId, siteId: t.siteId });
