import type { IncomingMessage } from 'node:http';
import type { FastifyReply } from 'fastify';
import { RateLimitedError } from './auth.ts';
import type { Operation } from './permissions.ts';

// What keeps one caller's flood from taking the server from the others: requests
// under way per token, and refusals that do not read what they refuse.

/**
 * A request refused before its body was read, whose body is large: the connection
 * is closed once the refusal is sent, rather than reading and discarding the body
 * (a flood of megabyte bodies would cost the server their bytes even when refused).
 */
export function dropUnreadBody(raw: IncomingMessage, reply: FastifyReply): void {
  const length = Number(raw.headers['content-length'] ?? 0);
  if (length <= 64 * 1024 && raw.headers['transfer-encoding'] === undefined) return;
  void reply.header('connection', 'close');
  reply.raw.once('finish', () => raw.socket.destroy());
}

/**
 * Requests under way per token, in all and per operation. The operations named here
 * are those one caller can make heavy: an agent's heartbeats and reports (an honest
 * agent sends them one at a time, its loops awaiting each) and a dry run (a rebuild
 * of the scheduler's core). Everything else is bounded only by the total, a safety
 * net that a bulk submitter over many connections stays under.
 */
export class InFlight {
  private static readonly PER_OPERATION: Partial<Record<Operation, number>> = { 'agent.heartbeat': 1, 'agent.report': 2, 'jobs.dry-run': 2 };
  private readonly held = new Map<string, number>();

  constructor(private readonly perToken: number) {}

  /** Takes a slot for the request, or throws a 429; returns the release (idempotent). */
  take(tokenId: string, operation: Operation): () => void {
    const keys = [tokenId, `${tokenId} ${operation}`];
    const limits = [this.perToken, Math.min(this.perToken, InFlight.PER_OPERATION[operation] ?? this.perToken)];
    keys.forEach((key, i) => {
      const n = this.held.get(key) ?? 0;
      if (n >= (limits[i] ?? 0)) throw new RateLimitedError(1000, `this token has ${n} requests under way${i === 0 ? '' : ` to ${operation}`}, the most it may have at once`);
    });
    for (const key of keys) this.held.set(key, (this.held.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const key of keys) {
        const n = (this.held.get(key) ?? 1) - 1;
        if (n <= 0) this.held.delete(key);
        else this.held.set(key, n);
      }
    };
  }
}

/**
 * Token buckets by key whose rate is given at each take: a site's allowance follows
 * what its org-admin declares. Real time (performance.now by default), not the
 * server's clock: they bound real load. At most `maxKeys` keys; past that the ones
 * whose buckets are full again are forgotten (a full bucket is what a new key has).
 */
export class RateByKey {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly now: () => number = () => performance.now(), private readonly maxKeys = 100_000) {}

  /** Takes a token from `key`'s bucket, which refills at `perSecond` up to `burst`: 0 when taken, else the ms until one is. */
  take(key: string, perSecond: number, burst: number): number {
    const now = this.now();
    const b = this.buckets.get(key);
    const tokens = b === undefined ? burst : Math.min(burst, b.tokens + ((now - b.at) * perSecond) / 1000);
    if (tokens < 1) {
      this.buckets.set(key, { tokens, at: now });
      return Math.ceil(((1 - tokens) * 1000) / perSecond);
    }
    if (this.buckets.size >= this.maxKeys && b === undefined) {
      for (const [k, v] of this.buckets) if (v.tokens + ((now - v.at) * perSecond) / 1000 >= burst) this.buckets.delete(k);
    }
    this.buckets.set(key, { tokens: tokens - 1, at: now });
    return 0;
  }
}

/**
 * Route handlers under way, whatever became of their connections: a handler goes on
 * after its caller went away (an agent stopping aborts its requests), and the server
 * must not close the store under it. `idle()` resolves once none is under way.
 */
export class HandlersUnderWay {
  private count = 0;
  private waiters: (() => void)[] = [];

  /** Counts `result` (a handler's return value) until it settles; returns it. */
  track<T>(result: T): T {
    if (!(result instanceof Promise)) return result;
    this.count++;
    const done = () => {
      if (--this.count > 0) return;
      for (const w of this.waiters.splice(0)) w();
    };
    result.then(done, done);
    return result;
  }

  idle(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((r) => this.waiters.push(r));
  }
}
