import { request as httpRequest, Agent as HttpAgent, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { Lease, Store } from '../store/types.ts';
import { ApiError, errorBody } from './errors.ts';
import type { Operation } from './permissions.ts';

/**
 * Replicas: several `suanli serve` processes on one PostgreSQL server, of which one, the
 * leader, holds a lease in the store (Store.takeLease, renewed every `leaseMs / 5`) and
 * does everything a single server does: the scheduling loop, the usage log, and every
 * request. The others, followers, forward each API request to the leader (as Nomad's and
 * Consul's servers forward to their leader) and take the lease over when it lapses: then
 * they bring their copies up to the lease and serve (a follower keeps them current from the store's change feed:
 * change-follower.ts). So the in-memory mirrors are written by one replica at a time, and every replica answers the
 * API, the dashboard and the agents.
 *
 * Fencing is the store's: a replica's sessions are named for it, and a write of one that
 * does not hold the lease fails (migrations.ts, 0009). A leader that cannot renew, or
 * whose write was fenced, steps down at once: it stops its loop and its usage log and
 * becomes a follower; its mirrors are loaded whole again a lease later. A leader paused past
 * its lease (SIGSTOP) and resumed knows it from its own clock: it serves nothing until
 * its next renewal says whether it still leads.
 */
export interface ReplicaOptions {
  /** This replica's id (random per process): the lease's holder, and the name of its sessions. */
  readonly id: string;
  /** How long a lease holds without renewal, ms: a dead leader is replaced within about this long. */
  readonly leaseMs: number;
}

export interface LeadershipHooks {
  /** This replica took the lease: load the state and start what only the leader runs. Requests wait until it resolves. */
  readonly elected: () => Promise<void>;
  /** This replica lost the lease: stop what only the leader runs. */
  readonly deposed: () => Promise<void>;
}

export type Role = 'follower' | 'electing' | 'leader';

export class Leadership {
  private roleNow: Role = 'follower';
  private leaseNow: Lease | null = null;
  /** performance.now() of the last renewal (or taking) that succeeded. */
  private renewedAt = -Infinity;
  private url = '';
  private timer: NodeJS.Timeout | null = null;
  /** After a takeover failed (a wrong log key), this replica leaves the lease to the others for a while. */
  private contendAfter = -Infinity;
  private ticking: Promise<void> = Promise.resolve();
  private stopped = true;
  private readonly agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

  constructor(
    private readonly store: Store,
    readonly options: ReplicaOptions,
    private readonly hooks: LeadershipHooks,
    private readonly log: FastifyBaseLogger,
  ) {}

  get id(): string {
    return this.options.id;
  }

  get role(): Role {
    return this.roleNow;
  }

  /** The lease as last read: who leads, and where. */
  get lease(): Lease | null {
    return this.leaseNow;
  }

  /** Whether this replica answers requests itself: it leads, and its lease has not lapsed by its own clock. */
  get serving(): boolean {
    return this.roleNow === 'leader' && performance.now() - this.renewedAt < this.options.leaseMs;
  }

  /** Starts contending for the lease, reachable at `url`; resolves after the first attempt (and election, if it won). */
  async start(url: string): Promise<void> {
    this.url = url;
    this.stopped = false;
    await this.tick();
    this.schedule();
  }

  /** Stops; a leader gives its lease up (it expires now), so that another takes over at its next attempt. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.ticking;
    if (this.roleNow === 'leader') {
      await this.store.renewLease(this.id, 0).catch(() => false);
      await this.stepDown('shutting down');
    }
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  /** A write of this replica was fenced: another replica leads. Steps down now. */
  fenced(): void {
    if (this.roleNow !== 'follower') void this.stepDown('a write was fenced: another replica holds the lease');
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => this.schedule());
    }, Math.max(50, this.options.leaseMs / 5));
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      if (this.roleNow === 'leader') {
        const sent = performance.now();
        if (await this.store.renewLease(this.id, this.options.leaseMs)) this.renewedAt = sent;
        else await this.stepDown('another replica took the lease');
        return;
      }
      const sent = performance.now();
      if (sent < this.contendAfter) {
        this.leaseNow = await this.store.lease();
        return;
      }
      const lease = await this.store.takeLease(this.id, this.url, this.options.leaseMs);
      this.leaseNow = lease;
      if (lease.holder !== this.id) return;
      this.renewedAt = sent;
      this.roleNow = 'electing';
      this.log.warn({ replica: this.id, epoch: lease.epoch }, 'replica: took the leader lease; loading the state');
      try {
        await this.hooks.elected();
        this.roleNow = 'leader';
        this.log.warn({ replica: this.id, epoch: lease.epoch }, 'replica: leading');
      } catch (err) {
        this.log.error({ err }, 'replica: could not take over; giving the lease up to the others for a while');
        this.contendAfter = performance.now() + 10 * this.options.leaseMs;
        await this.store.renewLease(this.id, 0).catch(() => false);
        await this.stepDown('the takeover failed');
      }
    } catch (err) {
      this.log.error({ err, replica: this.id }, 'replica: the lease could not be read or renewed');
      if (this.roleNow === 'leader' && performance.now() - this.renewedAt >= this.options.leaseMs) await this.stepDown('the lease lapsed: the store did not answer');
    }
  }

  private async stepDown(why: string): Promise<void> {
    if (this.roleNow === 'follower') return;
    this.roleNow = 'follower';
    this.log.warn({ replica: this.id, why }, 'replica: no longer leading');
    await this.hooks.deposed().catch((err: unknown) => this.log.error({ err }, 'replica: stopping the leader’s work failed'));
  }

  /**
   * Answers the request by the leader's answer: the request as it came (its body unread, streamed through), with
   * the caller's address added to X-Forwarded-For. A 503 with Retry-After when no other replica leads, or the
   * leader does not answer: the caller tries again, here or at another replica.
   */
  forward(req: FastifyRequest, reply: FastifyReply): void {
    const leader = this.leaseNow;
    const unavailable = (why: string) => {
      const e = new ApiError('unavailable', `${why}; try again shortly`);
      if (!reply.raw.headersSent) reply.raw.writeHead(e.status, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '1' });
      reply.raw.end(JSON.stringify(errorBody(e)));
    };
    void reply.hijack();
    if (leader === null || leader.holder === this.id || req.headers[FORWARDED_BY] !== undefined) {
      const why = this.roleNow === 'electing' ? 'this replica is taking over as leader'
        : leader?.holder === this.id && performance.now() < this.contendAfter ? 'this replica could not take over as leader (its log says why) and leaves the lease to the others'
        : 'no replica leads now';
      unavailable(why);
      return;
    }
    const target = new URL(leader.url);
    const https = target.protocol === 'https:';
    const headers: IncomingHttpHeaders = { ...req.headers, host: target.host, [FORWARDED_BY]: this.id, 'x-forwarded-for': [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter((x) => x !== undefined).join(', ') };
    const upstream = (https ? httpsRequest : httpRequest)({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent: https ? this.agents.https : this.agents.http }, (res) => {
      reply.raw.writeHead(res.statusCode ?? 502, res.headers);
      res.pipe(reply.raw);
    });
    upstream.on('error', (err) => {
      if (reply.raw.headersSent) reply.raw.destroy();
      else unavailable(`the leader (${leader.url}) did not answer: ${err.message}`);
    });
    // A caller that goes away (an agent's long poll) takes its forwarded request with it.
    reply.raw.on('close', () => upstream.destroy());
    req.raw.pipe(upstream);
  }
}

/** Set on a forwarded request: a replica that is not the leader answers it 503 rather than forward it again. */
const FORWARDED_BY = 'x-suanli-forwarded-by';

/**
 * Reads a follower answers itself while its copies are current (change-follower.ts), rather than forwarding them:
 * each reads the store (which every replica shares) and, for labels and queued counts, the copies the feed keeps.
 * The others read what only the leader holds (the usage log's tree, the pool's history, a site's placements) or
 * write. A follower's answer is as fresh as the store: a job acknowledged by the leader is there.
 */
export const ANSWERED_BY_ANY_REPLICA: ReadonlySet<Operation> = new Set<Operation>(['jobs.list', 'jobs.show', 'orgs.list', 'orgs.show', 'orgs.quota.show', 'sites.list', 'sites.show', 'tokens.list', 'tokens.whoami', 'ledger.history']);

/** The header of every answer of a replica: its id (a forwarded request's answer carries the leader's). */
export const ANSWERED_BY = 'x-suanli-replica';

/** Whether a request is the leader's to answer: the API (not its docs), which reads and writes the state. */
export const forwardable = (url: string): boolean => url.startsWith('/api/') && !url.startsWith('/api/v1/docs') && !url.startsWith('/api/v1/openapi.json');
