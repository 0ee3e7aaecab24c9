// A flood of wrong tokens against a listening server, over real HTTP and the system
// clock: CLIENTS concurrent clients in another process, all from 127.0.0.1, send
// wrong secrets for a few token ids (secrets someone chose, so each check is an scrypt)
// for FLOOD_SECONDS (default 3), while a client in this process signs in again and
// again with a token that has verified before. Its
// answers must keep coming quickly. The figures are printed; the bounds asserted are
// generous, for a busy 2-core machine shared with other work.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type AuthenticatorOptions, hashSecret, issueToken, newTokenSecret, UNPROVEN_CONCURRENCY } from '../src/server/auth.ts';
import { systemClock } from '../src/server/app.ts';
import { TokenCreatedResponse } from '../src/server/schemas.ts';
import { TestServer } from './support/server.ts';

const SECONDS = Number(process.env.FLOOD_SECONDS ?? 3);
const CLIENTS = 40;

interface Figures {
  /** Flood answers by status. */
  readonly flood: Readonly<Record<number, number>>;
  /** The known-good client's latencies, ms, sorted. */
  readonly latencies: readonly number[];
  readonly statuses: ReadonlySet<number>;
}

/** The flooding clients: another process, so that their own work is not on the server's event loop. Prints the answers by status as JSON. */
const FLOODER = `
const [url, seconds, clients, ...victims] = process.argv.slice(1);
const { randomBytes } = await import('node:crypto');
const stop = performance.now() + Number(seconds) * 1000;
const answers = {};
await Promise.all(Array.from({ length: Number(clients) }, async (_, i) => {
  const victim = victims[i % victims.length];
  while (performance.now() < stop) {
    const res = await fetch(url, { headers: { authorization: 'Bearer ' + victim.replace(/_[^_]+$/, '_' + randomBytes(24).toString('hex')) } });
    await res.arrayBuffer();
    answers[res.status] = (answers[res.status] ?? 0) + 1;
  }
}));
console.log(JSON.stringify(answers));
`;

/** Runs the flood; resolves with its answers by status. */
function runFlood(url: string, victims: readonly string[]): Promise<Record<number, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', FLOODER, url, String(SECONDS), String(CLIENTS), ...victims], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as Record<number, number>) : reject(new Error(`the flood exited with ${code ?? 'a signal'}: ${out}`))));
  });
}

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;

async function flood(auth: AuthenticatorOptions): Promise<Figures> {
  const s = await TestServer.start({ clock: systemClock, auth });
  try {
    await s.org('acme');
    const token = async (name: string) => (await s.ok(TokenCreatedResponse, 201, 'POST', '/api/v1/tokens', { body: { name, role: 'member', org_id: 'acme' } })).token;
    const good = await token('good');
    // Tokens whose secrets someone chose (kept with scrypt, as the first admin's): each wrong guess at one costs an scrypt.
    const chosen = async (name: string) => (await issueToken(s.store, s.clock, { role: 'member', orgId: 'acme', siteId: null, name }, newTokenSecret().bearer)).bearer;
    const victims = [await chosen('v1'), await chosen('v2'), await chosen('v3'), await chosen('v4')];
    const url = `${await s.app.listen({ port: 0, host: '127.0.0.1' })}/api/v1/orgs`;
    const get = async (bearer: string): Promise<number> => {
      const res = await fetch(url, { headers: { authorization: `Bearer ${bearer}` } });
      await res.arrayBuffer();
      return res.status;
    };
    assert.equal(await get(good), 200, 'verified once: known good from now on');

    const flooding = runFlood(url, victims);
    const latencies: number[] = [];
    const statuses = new Set<number>();
    await sleep(300); // the flood is under way
    const stop = performance.now() + (SECONDS - 0.5) * 1000;
    while (performance.now() < stop) {
      const t0 = performance.now();
      statuses.add(await get(good));
      latencies.push(performance.now() - t0);
      await sleep(5);
    }
    const flood = await flooding;
    return { flood, latencies: latencies.sort((a, b) => a - b), statuses };
  } finally {
    await s.close();
  }
}

function report(name: string, f: Figures): void {
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  console.log(`${name}: ${CLIENTS} clients × ${SECONDS} s, flood answers ${JSON.stringify(f.flood)}; known good: ${f.latencies.length} requests, p50 ${ms(percentile(f.latencies, 0.5))}, p99 ${ms(percentile(f.latencies, 0.99))}, max ${ms(f.latencies.at(-1) ?? Number.NaN)}`);
}

test('during a flood from one address, a known-good token keeps answering quickly; the flood is refused 429 after its first failures', async () => {
  const f = await flood({});
  report('default limits', f);
  assert.deepEqual([...f.statuses], [200]);
  assert.ok(f.latencies.length >= 20, 'the known-good client got answers all along');
  // Well under 100 ms on a quiet machine (a cache hit behind a few refusals); the bound leaves room for a busy one.
  assert.ok(percentile(f.latencies, 0.99) < 250, `p99 ${percentile(f.latencies, 0.99).toFixed(1)} ms`);
  const failures = f.flood[401] ?? 0;
  assert.ok((f.flood[429] ?? 0) > 10 * failures, 'almost all of the flood is refused before any scrypt');
  assert.ok(failures <= 20 + Math.ceil(SECONDS / 3) + 1, `${failures} failures verified: the burst and its refill`);
});

test('with the limits lifted (a flood from many addresses) and the cache off, a known-good token checked again at every request never waits behind the flood’s scrypts, with the line or without', async () => {
  // One scrypt's time on this machine now, for the figures printed.
  const scrypts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await hashSecret('a secret');
    scrypts.push(performance.now() - t0);
  }
  const unlimited = { burst: 1e9, refillMs: 1 };
  const options = { cacheTtlMs: 0, failuresPerSource: unlimited, failuresPerTokenId: unlimited };
  const lined = await flood(options);
  report(`no limits, no cache, ${UNPROVEN_CONCURRENCY} unproven at once (one scrypt alone: ${percentile(scrypts.sort((a, b) => a - b), 0.5).toFixed(1)} ms)`, lined);
  // With no line, the flood's scrypts fill libuv's pool: a known-good check that needed one would wait behind them all.
  const unlined = await flood({ ...options, unprovenConcurrency: Number.POSITIVE_INFINITY, unprovenQueue: 0 });
  report('no limits, no cache, no line', unlined);
  for (const [how, f] of [['with the line', lined], ['without', unlined]] as const) {
    assert.deepEqual([...f.statuses], [200], how);
    assert.ok(f.latencies.length >= 5, `${how}: the known-good client got answers all along`);
    const p99 = percentile(f.latencies, 0.99);
    assert.ok(p99 < 1000, `${how}: p99 ${p99.toFixed(1)} ms`);
  }
});
