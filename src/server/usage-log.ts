import type { FastifyBaseLogger } from 'fastify';
import { formatCheckpoint } from '../ledger/checkpoint.ts';
import { utf8 } from '../ledger/encoding.ts';
import {
  completedSubtreesFrom, completedSubtreesNeeds, consistencyProofFrom, consistencyProofNeeds, inclusionProofFrom, inclusionProofNeeds, inclusionProofsFrom, leafHash, treeRootFrom, treeRootNeeds,
  type NodeId,
} from '../ledger/merkle.ts';
import { signNote, type NoteSignature, type NoteSigner } from '../ledger/note.ts';
import { formatUsageRecord, type UsageRecord } from '../ledger/usage-record.ts';
import { jobId, orgId, siteId } from '../model/ids.ts';
import type { Clock } from '../model/clock.ts';
import type { LogNode, PendingUsage, Store, UsageWriter } from '../store/types.ts';
import type { NativeSigner } from './log-keys.ts';

/**
 * The usage log: every ledger entry counts in the ledger once it is logged here, as a
 * signed usage record that is a leaf of an append-only Merkle log (RFC 9162), whose
 * signed checkpoints any member can check it against (src/ledger).
 *
 * - A record signed by its site's agent (it saw the run, and vouches for the time) is
 *   logged with that signature and the control plane's; an entry its site does not
 *   sign within `aloneAfterMs` — the site was lost, its agent refused, or is silent —
 *   is logged by the control plane alone (`writer control-plane` in its text).
 * - This server is the log's one writer: it keeps the log's size and the hashes of
 *   its right edge in memory, appends one batch at a time (the store refuses a batch
 *   that does not start where the log ends), and signs a checkpoint every
 *   `intervalMs` while records arrive.
 */
export interface UsageLogOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: FastifyBaseLogger;
  /** The control plane's log key: it countersigns every record and signs every checkpoint (off the event loop when it can). */
  readonly signer: NoteSigner & Partial<Pick<NativeSigner, 'signAsync'>>;
  /** The checkpoints' origin line: the log's name. */
  readonly origin: string;
  /** How a site is named in the records (its neutral label, the same every org sees). */
  readonly labelOf: (siteId: string) => Promise<string>;
  /** A checkpoint at least this often while records arrive, ms. */
  readonly intervalMs: number;
  /** An entry its site has not signed after this long (from its end), ms, is logged by the control plane alone. */
  readonly aloneAfterMs: number;
}

/** An entry to log: its site's signature over its record's text, or null (the control plane's alone); the text when known. */
export interface UsageItem {
  readonly entry: PendingUsage;
  readonly site: NoteSignature | null;
  readonly text?: string;
}

/**
 * Which sites may have usage entries waiting for their agent's signature. Every heartbeat offers its site's agent
 * those entries; read from the store at every heartbeat (a thousand sites: two hundred reads a second) they are
 * mostly none. A site is known to have none once a read found none and no entry of it was written since (entries
 * are written by JobLifecycle, which tells `written`, and `sync` asks the store which sites have any every few
 * seconds, one statement for all); after a restart every site is read once.
 */
export class PendingBySite {
  private readonly none = new Set<string>();
  /** Entries written per site since start: a read that overlapped a write proves nothing. */
  private readonly writes = new Map<string, number>();

  /** Ledger entries were written (or may have been: a transaction that failed tells too). */
  written(entries: readonly { readonly siteId: string }[]): void {
    for (const e of entries) {
      this.none.delete(e.siteId);
      this.writes.set(e.siteId, (this.writes.get(e.siteId) ?? 0) + 1);
    }
  }

  /**
   * The sites the store says have pending entries (`read`, every few seconds): an entry written behind this server's
   * back (by hand in the database, or another process) is offered to its site's agent within that time too.
   */
  async sync(read: () => Promise<readonly string[]>): Promise<void> {
    for (const siteId of await read()) this.none.delete(siteId);
  }

  /** The site's pending entries by `read`, or none without a read when the site is known to have none. */
  async read<T>(siteId: string, read: () => Promise<readonly T[]>): Promise<readonly T[]> {
    if (this.none.has(siteId)) return [];
    const before = this.writes.get(siteId) ?? 0;
    const found = await read();
    if (found.length === 0 && (this.writes.get(siteId) ?? 0) === before) this.none.add(siteId);
    return found;
  }
}

const nodeKey = (n: NodeId) => `${n.level}/${n.index}`;
/** Entries logged per batch (one store transaction each). */
const BATCH = 1000;

export class UsageLog {
  private size = 0;
  /** The hashes of the complete subtrees on the log's right edge: what the next append needs. */
  private edge = new Map<string, Uint8Array>();
  private chain: Promise<unknown> = Promise.resolve();
  /** The entries in an append not finished yet (started or not). */
  private readonly appending = new Set<number>();
  /** The append not started yet, which calls join. */
  private next: { items: UsageItem[]; done: Promise<void> } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private checkpointed = 0;
  private hasCheckpoint = false;

  constructor(private readonly o: UsageLogOptions) {}

  /** Reads the log's size and right edge; starts the checkpoint timer unless `timer` is false. Call once, before any append. */
  async start(timer = true): Promise<void> {
    await this.load();
    const last = await this.o.store.checkpoint();
    this.checkpointed = last?.size ?? 0;
    this.hasCheckpoint = last !== null;
    await this.checkpoint();
    if (timer) this.schedule();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.chain.catch(() => undefined);
  }

  /** The log's name, the first line of its checkpoints. */
  get origin(): string {
    return this.o.origin;
  }

  /** Entries in the log, as this writer last appended. */
  get length(): number {
    return this.size;
  }

  /** The record of a pending entry, as its site is asked to sign it (or as the control plane writes it alone). */
  async recordOf(entry: PendingUsage, writer: UsageWriter): Promise<UsageRecord> {
    return {
      jobId: jobId(entry.jobId), attempt: entry.attempt, siteId: siteId(await this.o.labelOf(entry.siteId)), consumerOrgId: orgId(entry.consumerOrgId), providerOrgId: orgId(entry.providerOrgId),
      gpuType: entry.gpuType, gpus: entry.gpus, startMs: entry.startAt, endMs: entry.at, gpuSeconds: entry.gpuSeconds, outcome: entry.outcome, writer,
    };
  }

  /**
   * Logs entries: each with its site's signature over its record's text (`site`), or
   * none (the control plane alone); `text`, that record's text when the caller has it
   * (it checked the site's signature over it). One at a time: a call waits for the one before.
   */
  append(items: readonly UsageItem[]): Promise<void> {
    // Calls that arrive while an append runs are logged together in the next one: one transaction (and one
    // commit to disk) for what several heartbeats carried, rather than one each.
    const next = this.next ?? this.startNext();
    // An entry given twice (twice in one call, or again while its append runs) is logged once: the store
    // would refuse the second, and with it the whole append it joined.
    for (const item of items) {
      if (this.appending.has(item.entry.id)) continue;
      this.appending.add(item.entry.id);
      next.items.push(item);
    }
    return next.done;
  }

  /** The append the calls arriving now join: it starts when the ones before it are done. */
  private startNext(): { items: UsageItem[]; done: Promise<void> } {
    const items: UsageItem[] = [];
    const done = this.chain.then(() => {
      this.next = null; // from here on, calls join the append after this one
      return this.appendNow(items);
    }).finally(() => {
      // Logged (the store's pending entries leave them out from now on), or not (pending still, to be given again).
      for (const item of items) this.appending.delete(item.entry.id);
    });
    this.chain = done.catch(() => undefined);
    this.next = { items, done };
    return this.next;
  }

  /** Logs, alone, every pending entry that ended more than `aloneAfterMs` ago; then signs a checkpoint if the log grew. */
  async tick(): Promise<void> {
    // Ended at least `aloneAfterMs` ago: endedBefore is exclusive.
    await this.logAlone(this.o.clock.now() - this.o.aloneAfterMs + 1);
    await this.checkpoint();
  }

  /** Logs, as the control plane's alone, the job's pending entries (its runs were moved by the admin's hand: no agent vouches for them). */
  async logJobAlone(jobId: string): Promise<void> {
    const pending = await this.o.store.pendingUsage({ jobId, limit: BATCH });
    if (pending.length > 0) await this.append(pending.map((entry) => ({ entry, site: null })));
  }

  /** Logs, as the control plane's alone, every pending entry that ended before `endedBefore` (ms). */
  async logAlone(endedBefore: number): Promise<void> {
    for (;;) {
      const stale = await this.o.store.pendingUsage({ endedBefore, limit: BATCH });
      if (stale.length > 0) await this.append(stale.map((entry) => ({ entry, site: null })));
      if (stale.length < BATCH) return;
    }
  }

  /** Signs and stores a checkpoint of the log as it is, unless the last one has the same size. */
  checkpoint(): Promise<void> {
    const run = this.chain.then(async () => {
      // The empty log is checkpointed once too, so that a member can pin the log from its start.
      if (this.size === this.checkpointed && (this.size > 0 || this.hasCheckpoint)) return;
      const size = this.size;
      const root = treeRootFrom(size, treeRootNeeds(size).map((n) => this.hashOf(n)));
      // A checkpoint of the size signed before (an earlier process) is kept, not signed again.
      if ((await this.o.store.checkpoint(size)) !== null) {
        this.checkpointed = size;
        this.hasCheckpoint = true;
        return;
      }
      const note = new TextDecoder().decode(signNote(formatCheckpoint({ origin: this.o.origin, size, rootHash: root, extensions: [] }), [this.o.signer]));
      await this.o.store.saveCheckpoint({ size, note, at: this.o.clock.now() });
      this.checkpointed = size;
      this.hasCheckpoint = true;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The root of the log at `size` (≤ its length). */
  async root(size: number): Promise<Uint8Array> {
    return treeRootFrom(size, await this.hashes(treeRootNeeds(size)));
  }

  /** The inclusion proof of entry `index` in the log at `size`. */
  async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    return inclusionProofFrom(index, size, await this.hashes(inclusionProofNeeds(index, size)));
  }

  /** The inclusion proofs of entries `indices` in the log at `size`, in that order: each stored hash they share read once, in one query. */
  async inclusionProofs(indices: readonly number[], size: number): Promise<Uint8Array[][]> {
    const needs = indices.map((index) => inclusionProofNeeds(index, size));
    const unique = new Map(needs.flat().map((n) => [nodeKey(n), n]));
    const stored = new Map((await this.o.store.logNodes([...unique.values()])).map((n) => [nodeKey(n), n.hash]));
    return inclusionProofsFrom(indices, size, (n) => stored.get(nodeKey(n))!);
  }

  /** The consistency proof from the log at `oldSize` to the log at `newSize`. */
  async consistencyProof(oldSize: number, newSize: number): Promise<Uint8Array[]> {
    return consistencyProofFrom(oldSize, newSize, await this.hashes(consistencyProofNeeds(oldSize, newSize)));
  }

  private async hashes(ids: readonly NodeId[]): Promise<Uint8Array[]> {
    return (await this.o.store.logNodes(ids)).map((n) => n.hash);
  }

  private hashOf(id: NodeId): Uint8Array {
    const hash = this.edge.get(nodeKey(id));
    if (hash === undefined) throw new Error(`the usage log's right edge has no hash at level ${id.level}, index ${id.index}`);
    return hash;
  }

  private async load(): Promise<void> {
    this.size = await this.o.store.logSize();
    this.edge = new Map((await this.o.store.logNodes(treeRootNeeds(this.size))).map((n) => [nodeKey(n), n.hash]));
  }

  private async appendNow(items: readonly UsageItem[]): Promise<void> {
    for (let start = 0; start < items.length; start += BATCH) {
      const batch = items.slice(start, start + BATCH);
      try {
        await this.appendBatch(batch);
      } catch (err) {
        // Another writer, or an entry logged meanwhile (alone, its time up, after its site was asked to sign it):
        // start again from the store's view, with the entries still pending, once.
        await this.load();
        const pending = new Set((await this.o.store.pendingUsage({ ids: batch.map((i) => i.entry.id) })).map((p) => p.id));
        const rest = batch.filter((i) => pending.has(i.entry.id));
        if (rest.length === batch.length) throw err;
        if (rest.length > 0) await this.appendBatch(rest);
      }
    }
  }

  /** Appends `batch` (at most BATCH entries), in one store transaction. */
  private async appendBatch(batch: readonly UsageItem[]): Promise<void> {
    // The texts, and the log's countersignatures over them made off the event loop (the thread pool's),
    // before the synchronous part: the notes, the leaves and the hashes they finish.
    const texts = await Promise.all(batch.map(async ({ entry, site, text }) => text ?? formatUsageRecord(await this.recordOf(entry, site === null ? 'control-plane' : 'site'))));
    const { signAsync } = this.o.signer;
    const countersigned = signAsync === undefined ? undefined : await Promise.all(texts.map((t) => signAsync(utf8(t))));
    const entries = [];
    const nodes: LogNode[] = [];
    const edge = new Map(this.edge);
    const at = this.o.clock.now();
    for (const [i, { entry, site }] of batch.entries()) {
      const writer: UsageWriter = site === null ? 'control-plane' : 'site';
      const text = texts[i]!;
      const made = countersigned?.[i];
      const note = signNote(text, [made === undefined ? this.o.signer : { ...this.o.signer, sign: () => made }], site === null ? [] : [site]);
      const index = this.size + i;
      const added = completedSubtreesFrom(index, leafHash(note), completedSubtreesNeeds(index).map((n) => {
        const hash = edge.get(nodeKey(n));
        if (hash === undefined) throw new Error(`the usage log's right edge has no hash at level ${n.level}, index ${n.index}`);
        return hash;
      }));
      for (const n of added) edge.set(nodeKey(n), n.hash);
      nodes.push(...added);
      entries.push({ entryId: entry.id, note: new TextDecoder().decode(note), writer, loggedAt: at });
    }
    await this.o.store.appendLog(this.size, entries, nodes);
    this.size += batch.length;
    const keep = new Set(treeRootNeeds(this.size).map(nodeKey));
    this.edge = new Map([...edge].filter(([k]) => keep.has(k)));
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.tick()
        .catch((err: unknown) => this.o.logger.error({ err }, 'usage log: logging or checkpointing failed'))
        .finally(() => {
          if (this.timer !== null) this.schedule();
        });
    }, this.o.intervalMs);
    this.timer.unref();
  }
}

/** The UTF-8 bytes of a stored note (leaf data, checkpoint). */
export const noteBytes = (note: string): Uint8Array => utf8(note);
