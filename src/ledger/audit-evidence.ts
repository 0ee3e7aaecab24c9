/**
 * What a member's audit needs from the server, and what it keeps for the next one:
 * the one sequence of requests `suanli ledger verify` and the dashboard both make.
 * After the caller has read the latest checkpoint (and decided which log key it
 * trusts), `fetchAuditEvidence` reads the consistency proof from the last tree the
 * member verified, the API's credits as of the checkpoint, every record of the org
 * below the checkpoint's size with its inclusion proof, and the sites' keys.
 *
 * No I/O of its own: requests go through the injected `get` (the CLI's HTTP client,
 * the browser's fetch), which resolves to the parsed JSON answer or rejects. Answers
 * are read as unknown. What the audit judges (a note, a hash, a key) is passed on as
 * it came, for the audit to refuse naming the entry; an answer the evidence cannot be
 * read from at all (no list of entries, pages that go backwards) is a
 * `LedgerEvidenceError` naming the request.
 */
import type { AuditEntry, LedgerAudit, LedgerAuditInput, LedgerTrust, ListedSiteKey, ReportedCredit } from './audit.ts';
import { fromBase64, toBase64, utf8 } from './encoding.ts';

/** GET a path of the API (`/ledger/entries`) with a query: the parsed JSON answer; rejects for a refusal or no answer. */
export type LedgerGet = (path: string, query: Readonly<Record<string, string | number>>) => Promise<unknown>;

/** Entries a page (the server's most) and inclusion proofs a request (the server's most: MAX_PROOFS_PER_REQUEST). */
export const ENTRIES_PER_PAGE = 1000;
export const PROOFS_PER_REQUEST = 500;
/** Proof requests in flight while the next page of entries is read. */
const PROOF_REQUESTS_IN_FLIGHT = 4;

/** A tree the member verified for one org: what the next audit must extend, and the entries it must list again. */
export interface VerifiedTree {
  readonly size: number;
  /** Its root, base64. */
  readonly root: string;
  /** The org's entries verified in it (and those found gone), ascending. */
  readonly indices: readonly number[];
}

/** How far the reading of records is: the org's records read so far, up to which log entry, of the checkpoint's size. */
export interface EvidenceProgress {
  readonly records: number;
  readonly scanned: number;
  readonly size: number;
}

export interface EvidenceRequest {
  readonly org: string;
  /** The size of the checkpoint audited: entries from it on are not in its tree. */
  readonly size: number;
  /** The last tree verified for the org, if any: a consistency proof from it is read when it is smaller. */
  readonly last?: VerifiedTree | undefined;
  /** Called after each page of entries. */
  readonly onProgress?: (progress: EvidenceProgress) => void;
  /** Called with the sites' keys, read before the records. */
  readonly onSiteKeys?: (keys: readonly ListedSiteKey[]) => void;
  /** Called with each page's record notes as they arrive (the CLI starts checking their signatures meanwhile). */
  readonly onNotes?: (notes: readonly Uint8Array[]) => void;
}

/** The audit's input that comes from the server besides the checkpoint. */
export interface AuditEvidence {
  readonly consistencyProof?: readonly Uint8Array[];
  readonly entries: readonly AuditEntry[];
  readonly siteKeys: readonly ListedSiteKey[];
  readonly reported: readonly ReportedCredit[];
}

/** An answer the evidence cannot be read from; `request` names it (`GET /ledger/entries from 12`). */
export class LedgerEvidenceError extends Error {
  override readonly name = 'LedgerEvidenceError';
  readonly code = 'bad_response';
  constructor(readonly request: string, readonly problem: string) {
    super(`${request}: ${problem}`);
  }
}

/**
 * The evidence for auditing `org` at the checkpoint of `size`, in order: the
 * consistency proof (when the last verified tree is smaller and not empty), the
 * credits as of that size (GET /ledger?size=), the keys, the records with their proofs.
 */
export async function fetchAuditEvidence(get: LedgerGet, request: EvidenceRequest): Promise<AuditEvidence> {
  const { org, size, last } = request;
  const consistencyProof = last !== undefined && last.size >= 1 && last.size < size
    ? hashesOf(await get('/ledger/proof/consistency', { from: last.size, to: size }), `GET /ledger/proof/consistency from ${last.size} to ${size}`)
    : undefined;
  const reported = reportedOf(await get('/ledger', { org, size }));
  const siteKeys = siteKeysOf(await get('/ledger/keys', {}));
  request.onSiteKeys?.(siteKeys);
  const entries = await fetchRecords(get, request);
  return { ...(consistencyProof === undefined ? {} : { consistencyProof }), entries, siteKeys, reported };
}

/** The audit's input: what the member trusts and verified last, the checkpoint note as the server sent it, the evidence. */
export function auditInput(known: { readonly trust: LedgerTrust; readonly org: string; readonly last?: VerifiedTree | undefined }, checkpointNote: string, evidence: AuditEvidence): LedgerAuditInput {
  const { last } = known;
  return {
    trust: known.trust, org: known.org, checkpoint: utf8(checkpointNote),
    lastVerified: last === undefined ? null : { size: last.size, rootHash: fromBase64(last.root) ?? new Uint8Array(0) },
    ...(last === undefined ? {} : { verifiedBefore: last.indices }),
    ...evidence,
  };
}

/**
 * What to keep of an audit for the next one: the checkpoint, when it verified with the
 * pinned key and extends the last one (even if records failed), with the org's verified
 * entries and those found gone (so that these keep failing rather than pass from the
 * next audit on); null when the checkpoint did not hold.
 */
export function treeToKeep(audit: LedgerAudit): VerifiedTree | null {
  if (audit.checkpoint === null || audit.consistency === 'failed') return null;
  const gone = audit.failures.flatMap((f) => (f.reason === 'record_gone' && f.entry !== undefined ? [f.entry.index] : []));
  const indices = gone.length === 0 ? audit.entries.verifiedIndices : [...new Set([...audit.entries.verifiedIndices, ...gone])].sort((a, b) => a - b);
  return { size: audit.checkpoint.size, root: toBase64(audit.checkpoint.rootHash), indices };
}

/**
 * Every log entry below `size` that concerns `org`, with its inclusion proof at `size`:
 * pages of entries one after the other, proofs for each page read meanwhile, a few
 * requests at a time. A server that pages backwards is refused rather than followed.
 */
async function fetchRecords(get: LedgerGet, { org, size, onProgress, onNotes }: EvidenceRequest): Promise<AuditEntry[]> {
  const notes: { index: number; note: Uint8Array }[] = [];
  const proofs = new Map<number, readonly Uint8Array[]>();
  const requests = new RequestPool(PROOF_REQUESTS_IN_FLIGHT);
  const askProofs = (indices: readonly number[]) => requests.run(async () => {
    const what = `GET /ledger/proof/inclusions at size ${size}`;
    const asked = new Set(indices);
    for (const p of listOf(await get('/ledger/proof/inclusions', { indices: indices.join(','), size }), 'proofs', what)) {
      if (isObject(p) && typeof p.index === 'number' && asked.has(p.index)) proofs.set(p.index, hashesOf(p, what));
    }
  });
  let from = 0;
  let pending: number[] = [];
  for (;;) {
    const what = `GET /ledger/entries of ${org} from ${from}`;
    const page = await get('/ledger/entries', { org, from, limit: ENTRIES_PER_PAGE });
    let end = false;
    const read = notes.length;
    for (const e of listOf(page, 'entries', what)) {
      const index = isObject(e) ? e.index : undefined;
      if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < from) throw new LedgerEvidenceError(what, `entry ${JSON.stringify(index) ?? 'without an index'} on the page from ${from}: entries go forwards`);
      if (index >= size) {
        end = true; // logged after the checkpoint: not in the tree it signs
        break;
      }
      notes.push({ index, note: isObject(e) && typeof e.note === 'string' ? utf8(e.note) : new Uint8Array(0) });
      pending.push(index);
      from = index + 1;
    }
    onNotes?.(notes.slice(read).map((n) => n.note));
    for (; pending.length >= PROOFS_PER_REQUEST; pending = pending.slice(PROOFS_PER_REQUEST)) await askProofs(pending.slice(0, PROOFS_PER_REQUEST));
    onProgress?.({ records: notes.length, scanned: Math.min(from, size), size });
    const next = isObject(page) ? page.next : undefined;
    if (end || next === null || from >= size) break;
    if (typeof next !== 'number' || next < from) throw new LedgerEvidenceError(what, `next ${JSON.stringify(next) ?? 'none'} after entry ${from - 1}: entries go forwards`);
    from = next;
  }
  if (pending.length > 0) await askProofs(pending);
  await requests.drain();
  return notes.map(({ index, note }) => ({ index, note, proof: proofs.get(index) ?? [] }));
}

/** At most `limit` requests at once: `run` waits for room, `drain` for the rest and throws the first failure. */
class RequestPool {
  private readonly running = new Set<Promise<void>>();
  private failure: { readonly error: unknown } | undefined;
  constructor(private readonly limit: number) {}

  async run(task: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.limit) await Promise.race(this.running);
    this.raise();
    const p: Promise<void> = task().catch((error: unknown) => {
      this.failure ??= { error };
    }).finally(() => this.running.delete(p));
    this.running.add(p);
  }

  async drain(): Promise<void> {
    await Promise.all(this.running);
    this.raise();
  }

  private raise(): void {
    if (this.failure !== undefined) throw this.failure.error;
  }
}

// ---- reading answers --------------------------------------------------------------------

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `answer[field]` as a list, or a LedgerEvidenceError. */
function listOf(answer: unknown, field: string, what: string): readonly unknown[] {
  const list = isObject(answer) ? answer[field] : undefined;
  if (!Array.isArray(list)) throw new LedgerEvidenceError(what, `the answer has no list of ${field}`);
  return list;
}

/** A proof's hashes; one that is not canonical base64 becomes no bytes, which the audit refuses as a hash. */
function hashesOf(answer: unknown, what: string): Uint8Array[] {
  return listOf(answer, 'hashes', what).map((h) => (typeof h === 'string' ? fromBase64(h) : undefined) ?? new Uint8Array(0));
}

/** GET /ledger's rows as the audit compares them; a row without its figures is not a ledger row. */
function reportedOf(answer: unknown): ReportedCredit[] {
  const what = 'GET /ledger';
  return listOf(answer, 'rows', what).map((r) => {
    if (!isObject(r) || typeof r.org_id !== 'string' || typeof r.gpu_type !== 'string' || typeof r.contributed_gpu_h !== 'number' || typeof r.consumed_gpu_h !== 'number' || typeof r.own_gpu_h !== 'number') {
      throw new LedgerEvidenceError(what, 'a row without its org, GPU type and figures');
    }
    return { orgId: r.org_id, gpuType: r.gpu_type, contributedGpuH: r.contributed_gpu_h, consumedGpuH: r.consumed_gpu_h, ownGpuH: r.own_gpu_h };
  });
}

/** GET /ledger/keys's sites' keys; times that do not parse are left for the audit to disregard. */
function siteKeysOf(answer: unknown): ListedSiteKey[] {
  const what = 'GET /ledger/keys';
  return listOf(answer, 'sites', what).map((k) => {
    if (!isObject(k) || typeof k.site !== 'string' || typeof k.verifier_key !== 'string') throw new LedgerEvidenceError(what, 'a key without its site and verifier key');
    const revoked = typeof k.revoked_at === 'string' ? Date.parse(k.revoked_at) : null;
    return { site: k.site, verifierKey: k.verifier_key, ...(typeof k.created_at === 'string' ? { createdAtMs: Date.parse(k.created_at) } : {}), revokedAtMs: revoked };
  });
}
