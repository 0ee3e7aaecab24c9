// Sign-in against a hostile member: what a failed sign-in costs and tells, the limits
// on failures (per source address, per token id) with 429 and Retry-After, the
// known-good bypass, the queue of verifications, and bounded memory. In-process
// through fastify.inject (with `remoteAddress` as the caller's address) and the
// ManualClock, which the buckets refill by. The flood over real HTTP is in
// server-auth-flood.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { issueToken, newTokenSecret } from '../src/server/auth.ts';
import type { ServerOptions } from '../src/server/app.ts';
import { ErrorResponse, TokenCreatedResponse, TokenResponse } from '../src/server/schemas.ts';
import { TestServer } from './support/server.ts';

interface Answer {
  readonly status: number;
  readonly code: string | undefined;
  readonly text: string;
  readonly retryAfter: string | undefined;
  /** When the answer arrived (performance.now()). */
  readonly at: number;
}

/** GET /api/v1/orgs (which reads no token) with `bearer`, from `source`. */
async function signIn(s: TestServer, bearer: string, source: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await s.app.inject({ method: 'GET', url: '/api/v1/orgs', remoteAddress: source, headers: { authorization: `Bearer ${bearer}`, ...headers } });
  const retryAfter = res.headers['retry-after'];
  let code: string | undefined;
  try {
    code = ErrorResponse.safeParse(JSON.parse(res.body)).data?.error.code;
  } catch {
    code = undefined;
  }
  return { status: res.statusCode, code, text: res.body, retryAfter: retryAfter === undefined ? undefined : String(retryAfter), at: performance.now() };
}

/** `bearer` with another secret of the same shape. */
const wrongSecret = (bearer: string): string => bearer.replace(/_[^_]+$/, `_${randomBytes(24).toString('hex')}`);
/** A token that does not exist (a random id). */
const unknownBearer = (): string => newTokenSecret().bearer;

/** Counts the store's token lookups (each one is followed by a hash check). */
function countLookups(s: TestServer): { count: number } {
  const counter = { count: 0 };
  const findToken = s.store.findToken.bind(s.store);
  s.store.findToken = (id) => {
    counter.count++;
    return findToken(id);
  };
  return counter;
}

/** A member token of acme, created by the admin. */
async function member(s: TestServer, name = 'm'): Promise<{ id: string; bearer: string }> {
  const t = await s.ok(TokenCreatedResponse, 201, 'POST', '/api/v1/tokens', { body: { name, role: 'member', org_id: 'acme' } });
  return { id: t.id, bearer: t.token };
}

/** A member token whose secret someone chose (as SUANLI_ADMIN_TOKEN's is): kept with scrypt, checked in the line. */
async function chosen(s: TestServer, name: string): Promise<{ id: string; bearer: string }> {
  const { token, bearer } = await issueToken(s.store, s.clock, { role: 'member', orgId: 'acme', siteId: null, name }, newTokenSecret().bearer);
  return { id: token.id, bearer };
}

async function server(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const s = await TestServer.start(options);
  await s.org('acme');
  return s;
}

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

describe('what a failed sign-in costs and tells', () => {
  let s: TestServer;
  before(async () => (s = await server()));
  after(() => s.close());

  test('a wrong secret, an unknown id, a revoked token and a malformed secret take as long and read the same', async () => {
    const live = await member(s, 'live');
    const revoked = await member(s, 'revoked');
    await s.ok(TokenResponse, 200, 'DELETE', `/api/v1/tokens/${revoked.id}`);
    const kinds: Readonly<Record<string, () => string>> = {
      'wrong secret': () => wrongSecret(live.bearer),
      'unknown id': unknownBearer,
      revoked: () => revoked.bearer,
      'malformed secret': () => `${live.bearer.slice(0, live.bearer.lastIndexOf('_'))}_short!`,
    };
    const times = new Map<string, number[]>(Object.keys(kinds).map((k) => [k, []]));
    const texts = new Set<string>();
    // Interleaved, so that the machine's noise falls on every kind alike; the clock moves a minute each round so no limit is reached.
    for (let round = 0; round < 21; round++) {
      s.clock.advance(60);
      for (const [kind, bearer] of Object.entries(kinds)) {
        const b = bearer();
        const t0 = performance.now();
        const a = await signIn(s, b, '10.1.0.1');
        times.get(kind)?.push(a.at - t0);
        assert.equal(a.status, 401, `${kind}: ${a.text}`);
        texts.add(a.text);
      }
    }
    const medians = Object.fromEntries([...times].map(([kind, ms]) => [kind, median(ms)]));
    console.log('median ms per failed sign-in:', JSON.stringify(medians, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v)));
    assert.deepEqual([...texts], ['{"error":{"code":"unauthorized","message":"header.authorization: unknown or revoked token","field":"header.authorization"}}']);
    const base = medians['wrong secret'] ?? Number.NaN;
    for (const [kind, ms] of Object.entries(medians)) {
      const ratio = ms / base;
      assert.ok(ratio > 0.5 && ratio < 2, `${kind}: median ${ms.toFixed(1)} ms against ${base.toFixed(1)} ms for a wrong secret (×${ratio.toFixed(2)})`);
    }
  });

  test('a token that is not even plausible is refused at once as malformed, and costs no lookup', async () => {
    const lookups = countLookups(s);
    for (const bearer of ['nope', 'sl_ab_0123456789abcdef0123456789abcdef', `sl_ABCD_${'a'.repeat(40)}`, `sl_abcd_${'a'.repeat(257)}`]) {
      const a = await signIn(s, bearer, '10.1.0.2');
      assert.equal(a.status, 401, bearer);
      assert.match(a.text, /malformed token/, bearer);
    }
    assert.equal(lookups.count, 0);
  });
});

describe('limits on failed sign-ins', () => {
  let s: TestServer;
  let lookups: { count: number };
  before(async () => {
    s = await server();
    lookups = countLookups(s);
  });
  after(() => s.close());

  test('past 20 failures from one address, sign-ins from it are a 429 with Retry-After, before any lookup or scrypt', async () => {
    const before = lookups.count;
    for (let i = 0; i < 20; i++) assert.equal((await signIn(s, unknownBearer(), '10.2.0.1')).status, 401, `failure ${i + 1}`);
    assert.equal(lookups.count - before, 20);
    for (let i = 0; i < 30; i++) {
      const a = await signIn(s, unknownBearer(), '10.2.0.1');
      assert.deepEqual([a.status, a.code, a.retryAfter], [429, 'rate_limited', '3'], a.text);
      assert.match(a.text, /too many failed sign-ins from this address; retry in 3 s/);
    }
    assert.equal(lookups.count - before, 20, 'refused sign-ins read nothing and hash nothing');
  });

  test('the address’s bucket refills with the clock, one failure every 3 s', async () => {
    s.clock.advance(2);
    assert.equal((await signIn(s, unknownBearer(), '10.2.0.1')).retryAfter, '1');
    s.clock.advance(1);
    assert.equal((await signIn(s, unknownBearer(), '10.2.0.1')).status, 401, 'one more try');
    assert.equal((await signIn(s, unknownBearer(), '10.2.0.1')).status, 429, 'and only one');
    s.clock.advance(60);
    for (let i = 0; i < 20; i++) assert.equal((await signIn(s, unknownBearer(), '10.2.0.1')).status, 401, `full again: failure ${i + 1}`);
    assert.equal((await signIn(s, unknownBearer(), '10.2.0.1')).status, 429);
  });

  test('another address is not affected by one address’s flood', async () => {
    assert.equal((await signIn(s, unknownBearer(), '10.2.0.1')).status, 429);
    assert.equal((await signIn(s, unknownBearer(), '10.2.0.2')).status, 401);
    const fresh = await member(s);
    assert.equal((await signIn(s, fresh.bearer, '10.2.0.2')).status, 200);
    assert.equal((await signIn(s, fresh.bearer, '10.2.0.1')).status, 200, 'known good now, even from the flooded address');
  });

  test('past 10 failures for one token id, from any addresses, sign-ins for that id are a 429; other ids are not', async () => {
    const target = await member(s, 'target');
    for (let i = 0; i < 10; i++) assert.equal((await signIn(s, wrongSecret(target.bearer), `10.3.0.${i}`)).status, 401, `failure ${i + 1}`);
    const refused = await signIn(s, wrongSecret(target.bearer), '10.3.1.1');
    assert.deepEqual([refused.status, refused.code, refused.retryAfter], [429, 'rate_limited', '6'], refused.text);
    assert.match(refused.text, /too many failed sign-ins for this token/);
    assert.equal((await signIn(s, target.bearer, '10.3.1.1')).status, 429, 'its right secret too, until it has verified once');
    assert.equal((await signIn(s, unknownBearer(), '10.3.1.1')).status, 401, 'another id from the same address');
    // An unknown id is limited exactly like an existing one: a 429 says nothing about existence.
    const ghost = unknownBearer();
    for (let i = 0; i < 10; i++) assert.equal((await signIn(s, wrongSecret(ghost), `10.3.2.${i}`)).status, 401);
    assert.equal((await signIn(s, wrongSecret(ghost), '10.3.1.1')).retryAfter, '6');
    s.clock.advance(6);
    assert.equal((await signIn(s, target.bearer, '10.3.1.1')).status, 200, 'a token back for the id: the right secret gets in');
  });

  test('a known-good bearer is never refused, even with its id and its address flooded and its cache expired; it is checked again without a scrypt', async () => {
    const good = await member(s, 'good');
    assert.equal((await signIn(s, good.bearer, '10.4.0.1')).status, 200);
    s.clock.advance(61); // past the verification cache's minute
    for (let i = 0; i < 12; i++) await signIn(s, wrongSecret(good.bearer), `10.4.1.${i}`);
    for (let i = 0; i < 22; i++) await signIn(s, unknownBearer(), '10.4.0.1');
    assert.equal((await signIn(s, wrongSecret(good.bearer), '10.4.9.9')).status, 429, 'its id is flooded');
    assert.equal((await signIn(s, unknownBearer(), '10.4.0.1')).status, 429, 'its address is flooded');
    const unproven = await member(s, 'unproven');
    assert.equal((await signIn(s, unproven.bearer, '10.4.0.1')).status, 429, 'a right token that never verified is limited like any');
    const before = lookups.count;
    const scrypts = s.app.suanli.auth.secretChecks();
    const a = await signIn(s, good.bearer, '10.4.0.1');
    assert.equal(a.status, 200, a.text);
    assert.equal(lookups.count - before, 1, 'checked again: one lookup…');
    assert.equal(s.app.suanli.auth.secretChecks(), scrypts, '…and no scrypt');
    assert.equal((await signIn(s, good.bearer, '10.4.7.7')).status, 200, 'from anywhere');
    assert.equal(lookups.count - before, 1, 'and cached again');
    await s.ok(TokenResponse, 200, 'DELETE', `/api/v1/tokens/${good.id}`);
    assert.equal((await signIn(s, good.bearer, '10.4.0.1')).status, 429, 'revoked: known good no more, so limited again');
    assert.equal((await signIn(s, good.bearer, '10.4.8.8')).status, 429, 'and its id is still flooded');
  });

  test('a known-good bearer whose token was revoked behind this server’s back (another process) is refused once its cache entry expires, and is known good no more', async () => {
    const good = await member(s, 'elsewhere');
    assert.equal((await signIn(s, good.bearer, '10.6.0.1')).status, 200);
    const scrypts = s.app.suanli.auth.secretChecks();
    // Revoked in the store directly, as another replica's API would: this server's cache is not told.
    assert.ok(await s.store.revokeToken(good.id, s.clock.now()));
    assert.equal((await signIn(s, good.bearer, '10.6.0.1')).status, 200, 'trusted for up to the cache’s minute');
    s.clock.advance(61);
    const refused = await signIn(s, good.bearer, '10.6.0.1');
    assert.deepEqual([refused.status, refused.code], [401, 'unauthorized'], refused.text);
    assert.equal(s.app.suanli.auth.secretChecks(), scrypts, 'seen from the store read alone');
    // Known good no more: the next try is checked from scratch (a server-made secret: a SHA-256, no scrypt).
    const before = lookups.count;
    assert.equal((await signIn(s, good.bearer, '10.6.0.1')).status, 401);
    assert.equal(lookups.count - before, 1);
    assert.equal(s.app.suanli.auth.secretChecks(), scrypts);
  });
});

describe('the queue of verifications', () => {
  test('scrypt checks (secrets someone chose) are made one at a time here, two more wait, the rest are a 429; a known-good bearer skips the line', async () => {
    const s = await server({ auth: { unprovenConcurrency: 1, unprovenQueue: 2, cacheTtlMs: 0 } });
    try {
      const good = await member(s, 'good');
      assert.equal((await signIn(s, good.bearer, '10.5.0.1')).status, 200);
      const targets = await Promise.all(Array.from({ length: 6 }, (_, i) => chosen(s, `chosen-${i}`)));
      const wrong = targets.map((t, i) => signIn(s, wrongSecret(t.bearer), `10.5.1.${i}`));
      const known = signIn(s, good.bearer, '10.5.0.1');
      const answers = await Promise.all(wrong);
      const k = await known;
      assert.deepEqual(answers.map((a) => a.status), [401, 401, 401, 429, 429, 429]);
      for (const a of answers.slice(3)) {
        assert.deepEqual([a.code, a.retryAfter], ['rate_limited', '1']);
        assert.match(a.text, /too many sign-ins being checked at once/);
      }
      assert.equal(k.status, 200, k.text);
      const lastWrong = Math.max(...answers.slice(0, 3).map((a) => a.at));
      assert.ok(k.at < lastWrong, `the known-good re-verification (cache off) ran beside the queue, not after it: ${(lastWrong - k.at).toFixed(1)} ms ahead`);
      // A 429 from the full queue costs the address nothing: 20 more failures are still allowed from one of them.
      for (let i = 0; i < 20; i++) assert.equal((await signIn(s, unknownBearer(), '10.5.1.5')).status, 401, `failure ${i + 1}`);
    } finally {
      await s.close();
    }
  });

  test('the first checks of many server-made tokens at once, from one address (agents behind a NAT, or a replica forwarding), take no scrypt and never wait in the line: none is refused', async () => {
    const s = await server({ auth: { unprovenConcurrency: 1, unprovenQueue: 2 } });
    try {
      const tokens = await Promise.all(Array.from({ length: 300 }, (_, i) => member(s, `agent-${i}`)));
      const scrypts = s.app.suanli.auth.secretChecks();
      const answers = await Promise.all(tokens.map((t) => signIn(s, t.bearer, '10.7.0.1')));
      assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
      assert.equal(s.app.suanli.auth.secretChecks(), scrypts);
      const stored = await s.store.findToken(tokens[0]?.id ?? '');
      assert.match(stored?.secretHash ?? '', /^sha256\$[A-Za-z0-9_-]{43}$/, 'kept as its SHA-256');
      const mine = await chosen(s, 'chosen');
      assert.match((await s.store.findToken(mine.id))?.secretHash ?? '', /^scrypt\$/, 'a chosen secret is kept with scrypt');
      assert.equal((await signIn(s, mine.bearer, '10.7.9.9')).status, 200);
      assert.equal(s.app.suanli.auth.secretChecks(), scrypts + 1);
    } finally {
      await s.close();
    }
  });

  test('a flood of wrong tokens at once from one address: they wait in its line, exactly its 20 failures are checked, the rest are a 429', async () => {
    const s = await server();
    try {
      const answers = await Promise.all(Array.from({ length: 400 }, () => signIn(s, unknownBearer(), '10.8.0.1')));
      const checked = answers.filter((a) => a.status === 401).length;
      assert.equal(answers.filter((a) => a.status === 429).length, 400 - checked);
      assert.equal(checked, 20);
      assert.equal((await signIn(s, unknownBearer(), '10.8.0.1')).status, 429, 'and the address is out of failures');
    } finally {
      await s.close();
    }
  });
});

describe('bounded memory', () => {
  test('a flood of random ids from random addresses tracks at most maxTracked of each; known-good bearers at most knownGoodSize', async () => {
    const s = await server({ auth: { maxTracked: 16, knownGoodSize: 4 } });
    try {
      let most = { sources: 0, tokenIds: 0 };
      for (let batch = 0; batch < 8; batch++) {
        const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => signIn(s, unknownBearer(), `10.6.${batch}.${i}`)));
        assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([401]));
        const t = s.app.suanli.auth.tracked();
        most = { sources: Math.max(most.sources, t.sources), tokenIds: Math.max(most.tokenIds, t.tokenIds) };
      }
      assert.ok(most.sources <= 16 && most.tokenIds <= 16, `tracked at most: ${JSON.stringify(most)}`);
      assert.ok(most.sources >= 12 && most.tokenIds >= 12, 'and they were tracked');
      for (let i = 0; i < 6; i++) assert.equal((await signIn(s, (await member(s, `m${i}`)).bearer, '10.6.9.9')).status, 200);
      assert.equal(s.app.suanli.auth.tracked().knownGood, 4);
    } finally {
      await s.close();
    }
  });
});

describe('behind a proxy', () => {
  test('with trustProxy the limit counts by X-Forwarded-For; without it, by the connection’s address', async () => {
    for (const trustProxy of [true, false]) {
      const s = await server(trustProxy ? { trustProxy } : {});
      try {
        for (let i = 0; i < 20; i++) await signIn(s, unknownBearer(), '192.0.2.1', { 'x-forwarded-for': '203.0.113.7' });
        const other = await signIn(s, unknownBearer(), '192.0.2.1', { 'x-forwarded-for': '203.0.113.8' });
        assert.equal(other.status, trustProxy ? 401 : 429, `trustProxy ${String(trustProxy)}`);
        assert.equal((await signIn(s, unknownBearer(), '192.0.2.1', { 'x-forwarded-for': '203.0.113.7' })).status, 429);
      } finally {
        await s.close();
      }
    }
  });
});
