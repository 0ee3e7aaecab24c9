import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { isIPv6 } from 'node:net';
import type { Placement, SpanEndpoint } from '../store/types.ts';
import { ApiError } from './errors.ts';

/**
 * How the parts of a job that spans sites find each other (issue 15): each part's run gets a token scoped to its
 * job attempt and site (SUANLI_RENDEZVOUS_TOKEN) and the control plane's rendezvous URL. The part's first rank
 * publishes where it listens — addresses and ports its site declared (Site.spanEndpoint) — and waits at a barrier
 * until every current part has published; then every part gets the same membership: each part's index, site label,
 * endpoints and share of the batch, under a generation number. When a part leaves (the job shrank: a reclaim, a lost
 * site), the next barrier gives the others a new generation without it.
 *
 * The state lives in the leader's memory: after a takeover the parts publish again at their next barrier (the
 * client does so by itself). A token is worthless once its attempt is not the job's current one, or its site holds
 * no part of it any more.
 */

/** What a rendezvous token stands for: one part (a site) of one attempt of one job. */
export interface PartRef {
  readonly jobId: string;
  readonly attempt: number;
  readonly siteId: string;
}

/**
 * Rendezvous tokens: the part they stand for, sealed (AES-256-GCM under a key derived from the log key every replica
 * shares): the run cannot read another org's site id out of it, nor forge one for another part.
 */
export class RendezvousTokens {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = Buffer.from(hkdfSync('sha256', secret, 'suanli', 'suanli rendezvous tokens v1', 32));
  }

  mint(part: PartRef): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const sealed = Buffer.concat([cipher.update(JSON.stringify([part.jobId, part.attempt, part.siteId]), 'utf8'), cipher.final()]);
    return `srz_${Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64url')}`;
  }

  /** The part the token stands for; 401 for anything this server did not mint. */
  open(token: string | undefined): PartRef {
    const refuse = () => new ApiError('unauthorized', 'header.authorization: not a rendezvous token of this control plane (SUANLI_RENDEZVOUS_TOKEN)', { field: 'header.authorization' });
    if (token === undefined || !token.startsWith('srz_') || token.length > 512) throw refuse();
    const raw = Buffer.from(token.slice(4), 'base64url');
    if (raw.length < 12 + 16 + 2) throw refuse();
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      const text = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
      const [jobId, attempt, siteId] = JSON.parse(text) as [string, number, string];
      return { jobId, attempt, siteId };
    } catch {
      throw refuse();
    }
  }
}

/** One member of a job attempt's membership, as every part sees it. */
export interface Member {
  readonly index: number;
  /** The site's neutral label (`<org>:site-<n>`): the same for every part, whoever's site it is. */
  readonly site: string;
  readonly endpoints: readonly string[];
  /** Replicas of the job on the site (its GPUs over the job's GPUs per replica)… */
  readonly replicas: number;
  /** …and its share of the job's replicas: what its updates weigh. */
  readonly share: number;
}

export interface Membership {
  /** 0 until every part published once; then one more for each new set of parts. */
  readonly generation: number;
  /** Every current part has published (since the generation began). */
  readonly ready: boolean;
  readonly members: readonly Member[];
  /** Labels of the parts not yet published. */
  readonly waitingFor: readonly string[];
}

interface AttemptState {
  readonly published: Map<string, readonly string[]>;
  generation: number;
  /** The sites of the last generation, in placement order. */
  sites: readonly string[];
  readonly waiters: Set<() => void>;
}

/** Endpoints one part may publish at most. */
export const MAX_ENDPOINTS = 16;

/** A placement's sites in placement order: the parts' order everywhere (a part's SUANLI_SPAN_INDEX, its rank in the membership). */
export const partSites = (p: Pick<Placement, 'parts'>): string[] => [...new Set(p.parts.map((part) => part.siteId))];

/**
 * `host:port` endpoints, checked against what the site declared: the host among its addresses, the port in its range.
 * A hostile part cannot point the others anywhere its site's owner did not name. Throws 400 naming the bad one.
 */
export function checkEndpoints(endpoints: readonly string[], declared: SpanEndpoint | null, field = 'endpoints'): string[] {
  if (declared === null) throw new ApiError('invalid_request', `${field}: this site declares no address for other sites' parts (its span_endpoint); its org-admin sets one`, { field });
  if (endpoints.length === 0 || endpoints.length > MAX_ENDPOINTS) throw new ApiError('invalid_request', `${field}: give 1 to ${MAX_ENDPOINTS} endpoints`, { field });
  return endpoints.map((e, i) => {
    const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(e);
    const host = m?.[1] ?? m?.[2];
    const port = Number(m?.[3]);
    if (m === null || host === undefined || (m[1] !== undefined && !isIPv6(host))) throw new ApiError('invalid_request', `${field}[${i}]: "${e.slice(0, 100)}" is not host:port ([v6]:port for IPv6)`, { field: `${field}[${i}]` });
    if (!declared.addresses.includes(host)) throw new ApiError('invalid_request', `${field}[${i}]: ${host} is not among the site's declared addresses (${declared.addresses.join(', ')})`, { field: `${field}[${i}]` });
    if (port < declared.ports.from || port > declared.ports.to) throw new ApiError('invalid_request', `${field}[${i}]: port ${port} is outside the site's declared ports ${declared.ports.from}–${declared.ports.to}`, { field: `${field}[${i}]` });
    return e;
  });
}

/** The rendezvous of every spanning attempt running now, in the leader's memory. */
export class Rendezvous {
  private readonly attempts = new Map<string, AttemptState>();

  private stateOf(jobId: string, attempt: number): AttemptState {
    const key = `${jobId}.${attempt}`;
    let s = this.attempts.get(key);
    if (s === undefined) {
      s = { published: new Map(), generation: 0, sites: [], waiters: new Set() };
      this.attempts.set(key, s);
    }
    return s;
  }

  /** The part publishes where it listens (replacing what it published before), and the barrier's waiters look again. */
  publish(part: PartRef, endpoints: readonly string[]): void {
    const s = this.stateOf(part.jobId, part.attempt);
    s.published.set(part.siteId, endpoints);
    this.ring(s);
  }

  /**
   * The membership of the attempt as `placement` stands now (its parts in placement order; `labelOf` names each
   * site, `replicaGpus` sizes a replica). A new set of parts, all published, starts a generation; `onGeneration`
   * is told of it (the job's events record it).
   */
  membership(placement: Placement, replicaGpus: number, labelOf: (siteId: string) => string, onGeneration?: (generation: number, sites: readonly string[]) => void): Membership {
    // An attempt with no parts (a job not placed now) has no rendezvous.
    if (placement.parts.length === 0) return { generation: 0, ready: false, members: [], waitingFor: [] };
    const s = this.stateOf(placement.jobId, placement.attempt);
    const gpusBySite = new Map<string, number>();
    for (const p of placement.parts) gpusBySite.set(p.siteId, (gpusBySite.get(p.siteId) ?? 0) + p.gpus);
    const sites = partSites(placement);
    const waiting = sites.filter((id) => !s.published.has(id));
    const ready = waiting.length === 0;
    if (ready && (s.sites.length !== sites.length || s.sites.some((id, i) => id !== sites[i]))) {
      s.generation++;
      s.sites = sites;
      onGeneration?.(s.generation, sites);
    }
    const replicas = sites.map((id) => Math.max(1, Math.round((gpusBySite.get(id) ?? 0) / Math.max(1, replicaGpus))));
    const total = replicas.reduce((a, b) => a + b, 0);
    return {
      generation: s.generation,
      ready,
      members: sites.map((id, index) => ({ index, site: labelOf(id), endpoints: s.published.get(id) ?? [], replicas: replicas[index] ?? 1, share: (replicas[index] ?? 1) / total })),
      waitingFor: waiting.map(labelOf),
    };
  }

  /** Resolves when a part of the attempt publishes or `ms` pass, whichever is first. */
  wait(jobId: string, attempt: number, ms: number): Promise<void> {
    const s = this.stateOf(jobId, attempt);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        s.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      s.waiters.add(done);
    });
  }

  /** Wakes every barrier waiting on the job's attempts (its parts changed: a part left). */
  changed(jobId: string): void {
    for (const [key, s] of this.attempts) if (key.startsWith(`${jobId}.`)) this.ring(s);
  }

  /** Forgets the attempts `current` does not name as current (their parts' tokens are refused anyway). */
  sweep(current: (jobId: string, attempt: number) => boolean): void {
    for (const [key, s] of this.attempts) {
      const dot = key.lastIndexOf('.');
      if (s.waiters.size === 0 && !current(key.slice(0, dot), Number(key.slice(dot + 1)))) this.attempts.delete(key);
    }
  }

  get size(): number {
    return this.attempts.size;
  }

  private ring(s: AttemptState): void {
    for (const w of [...s.waiters]) w();
  }
}
