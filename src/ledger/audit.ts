/**
 * A member's audit of the usage log: what `suanli ledger verify` runs, and the dashboard
 * in the browser. Given what the member pinned (the log's origin and key), the last
 * checkpoint it verified, and what the server sent — the latest checkpoint, the proof
 * that it extends the last verified one, every record that concerns the member's org
 * with its inclusion proof, the sites' keys and the credits the API reports — it says
 * what holds and, for each thing that does not, why, naming the checkpoint (size, root)
 * or the entry (index, job, attempt).
 *
 * Pure and total: no I/O, no clock; every input may be hostile (it came from the
 * server) and gives a report, never a throw. Signatures are checked through
 * `verifierOf` (by default the library's own Ed25519; a Node caller may pass a native
 * one, which is faster): the only way the audit touches keys.
 *
 * What it cannot check: that a run a site signed did real work, that the keys the
 * server lists for other orgs' sites are theirs (each org checks its own), and records
 * the server left out of the log altogether (a credit the API reports without a record
 * shows up; a run never reported does not).
 */
import { openCheckpoint, type Checkpoint } from './checkpoint.ts';
import { equalBytes, toBase64 } from './encoding.ts';
import { emptyRoot, HASH_SIZE, leafHash, verifyConsistency, verifyInclusion } from './merkle.ts';
import { keyId, noteVerifier, openNote, parseNote, type NoteSignature, type NoteVerifier } from './note.ts';
import { treeName } from './witness.ts';
import { credits, parseUsageRecord, type CreditRow, type UsageRecord } from './usage-record.ts';
import { orgId } from '../model/ids.ts';

/** What a member pins: the log it follows, by origin and verifier key. */
export interface LedgerTrust {
  readonly origin: string;
  /** The log's verifier key (`<name>+<hash>+<base64>`): it signs checkpoints and countersigns every record. */
  readonly logKey: string;
}

/** A tree the member verified before: its size and root. */
export interface TreeHead {
  readonly size: number;
  readonly rootHash: Uint8Array;
}

/** One log entry as the server sent it: its index, the record note (the leaf data), its inclusion proof at the checkpoint's size. */
export interface AuditEntry {
  readonly index: number;
  readonly note: Uint8Array;
  readonly proof: readonly Uint8Array[];
}

/** A site's record key as the server lists it, by the label records name the site with (revoked keys too). */
export interface ListedSiteKey {
  readonly site: string;
  readonly verifierKey: string;
  /** When the control plane took it (epoch ms); absent: not known, and the key does not count as in force for any run. */
  readonly createdAtMs?: number;
  /** When its org-admin revoked it (epoch ms), or null. */
  readonly revokedAtMs: number | null;
}

/** The API's figures for the org and one GPU type (a GET /ledger row). */
export interface ReportedCredit {
  /** The row's org; rows of other orgs are ignored. */
  readonly orgId?: string;
  readonly gpuType: string;
  readonly contributedGpuH: number;
  readonly consumedGpuH: number;
  readonly ownGpuH: number;
}

export interface LedgerAuditInput {
  readonly trust: LedgerTrust;
  /** The latest checkpoint, a signed note. */
  readonly checkpoint: Uint8Array;
  /** The last checkpoint this member verified (none at the first audit). */
  readonly lastVerified?: TreeHead | null;
  /**
   * The indices of the org's entries verified at `lastVerified`: each must be given again (a log only
   * grows, so a record once in it stays). Absent: nothing to compare (the first audit).
   */
  readonly verifiedBefore?: readonly number[];
  /** The consistency proof from `lastVerified` to the checkpoint (none when the sizes are equal). */
  readonly consistencyProof?: readonly Uint8Array[];
  /** The org whose ledger this is. */
  readonly org: string;
  /** Every entry that concerns the org below the checkpoint's size. */
  readonly entries: readonly AuditEntry[];
  readonly siteKeys: readonly ListedSiteKey[];
  readonly reported: readonly ReportedCredit[];
  /** How a verifier key becomes a verifier; throws for a key it cannot use. Default: `noteVerifier`. */
  readonly verifierOf?: (verifierKey: string) => NoteVerifier;
}

/** Why the audit did not pass: a closed set; `detail` of each failure says the rest. */
export const AUDIT_FAILURES = {
  bad_trust: 'the pinned log key is not a verifier key',
  checkpoint_unverified: 'the checkpoint does not open with the pinned log key and origin',
  log_truncated: 'the checkpoint is smaller than the last one verified: the log was truncated, or an old checkpoint is replayed',
  history_rewritten: 'the checkpoint has the size of the last one verified but another root: history was rewritten',
  inconsistent: 'the checkpoint does not extend the last one verified',
  not_in_tree: 'the entry is not in the tree at the checkpoint: its inclusion proof fails',
  tampered: 'the record note is malformed: not a signed note, or not a usage record',
  site_signature: 'a record its site wrote has no valid signature by a key the server lists for that site',
  not_countersigned: "the control plane's countersignature is missing",
  not_orgs_record: 'the record concerns neither as consumer nor as provider the org being audited',
  record_gone: 'an entry of the org verified at the last verified checkpoint is no longer among those the server lists',
  unvouched: 'the control plane wrote alone a record of a run that did not end lost, at a site with a key in force then: the site did not sign it, and may never have run it',
  duplicate_run: 'a second record of the same run (job, attempt, site and GPU type): it would count twice',
  credits_mismatch: 'the credits the API reports differ from those the verified records add up to',
} as const;
export type AuditFailureReason = keyof typeof AUDIT_FAILURES;

/** An entry as messages name it; job and attempt are null when its note does not say. */
export interface EntryRef {
  readonly index: number;
  readonly jobId: string | null;
  readonly attempt: number | null;
}

export interface AuditFailure {
  readonly reason: AuditFailureReason;
  /** One line naming the checkpoint (size, root), the entry (index, job, attempt) or the GPU type. */
  readonly detail: string;
  readonly entry?: EntryRef;
  readonly gpuType?: string;
}

/** One figure that differs: the API's and the verified records', in GPU-hours. */
export interface CreditMismatch {
  readonly gpuType: string;
  readonly figure: 'contributed' | 'consumed' | 'own';
  readonly reportedGpuH: number;
  readonly recomputedGpuH: number;
}

export interface LedgerAudit {
  /** Verified when nothing failed. */
  readonly ok: boolean;
  readonly org: string;
  /** The checkpoint, when its signature verified with the pinned key; null otherwise. */
  readonly checkpoint: Checkpoint | null;
  /**
   * How it relates to the last verified one: `first` (none before), `unchanged` (the
   * same size and root), `extends` (a consistency proof showed it), `failed`, or
   * `unchecked` (the checkpoint did not verify).
   */
  readonly consistency: 'first' | 'unchanged' | 'extends' | 'failed' | 'unchecked';
  readonly entries: {
    /** Entries given. */
    readonly checked: number;
    /** Entries that passed every check; only these count in `credits.recomputed`. */
    readonly verified: number;
    /** Verified entries signed by their site. */
    readonly bySite: number;
    /** The indices of the verified entries, ascending: what the next audit's `verifiedBefore` is. */
    readonly verifiedIndices: readonly number[];
    /** Verified entries no site signed: the control plane wrote them alone (`writer control-plane`). Worth showing, not a failure. */
    readonly controlPlaneAlone: readonly EntryRef[];
  };
  readonly credits: {
    /** The org's credits over the verified records and those the control plane wrote alone where the site should have signed (`unvouched`: in the log, counted by the API) (`credits`). */
    readonly recomputed: readonly CreditRow[];
    /** The API's rows for the org, as given. */
    readonly reported: readonly ReportedCredit[];
    readonly mismatches: readonly CreditMismatch[];
  };
  /** Everything that did not hold: the checkpoint's first, then entries by index, then credits. */
  readonly failures: readonly AuditFailure[];
}

/** One GPU-millisecond: figures closer than this agree (records are exact to the ms). */
const ABSOLUTE_TOLERANCE_GPU_H = 1 / 3_600_000;

/**
 * The audit, in order: the checkpoint's signature; its consistency with the last
 * verified one; each entry's first failure (inclusion, the note, the site's signature,
 * the countersignature's line, the org, a run seen before); the credits of the verified
 * records against the API's. Never throws.
 */
export function auditLedger(input: LedgerAuditInput): LedgerAudit {
  const failures: AuditFailure[] = [];
  const org = typeof input?.org === 'string' ? input.org : '';
  const entries: readonly unknown[] = Array.isArray(input?.entries) ? (input.entries as readonly unknown[]) : [];
  const reported = (Array.isArray(input?.reported) ? (input.reported as readonly unknown[]) : []).filter((r): r is ReportedCredit => isReportedRow(r) && (r.orgId === undefined || r.orgId === org));
  const unchecked = (consistency: LedgerAudit['consistency'] = 'unchecked'): LedgerAudit => ({
    ok: false, org, checkpoint: null, consistency, entries: { checked: entries.length, verified: 0, verifiedIndices: [], bySite: 0, controlPlaneAlone: [] }, credits: { recomputed: [], reported, mismatches: [] }, failures,
  });
  const verifierOf = typeof input?.verifierOf === 'function' ? input.verifierOf : noteVerifier;

  // 1. The checkpoint, with the pinned key.
  const log = verifierFrom(verifierOf, input?.trust?.logKey);
  if (log === undefined) {
    failures.push({ reason: 'bad_trust', detail: `${AUDIT_FAILURES.bad_trust}: ${typeof input?.trust?.logKey === 'string' ? JSON.stringify(input.trust.logKey).slice(0, 120) : 'not a key'}` });
    return unchecked();
  }
  const origin = typeof input.trust.origin === 'string' ? input.trust.origin : '';
  const opened = isBytes(input.checkpoint) ? openCheckpoint(input.checkpoint, { origin, log }) : ({ ok: false, detail: 'no checkpoint note' } as const);
  if (!opened.ok) {
    failures.push({ reason: 'checkpoint_unverified', detail: `the checkpoint does not verify with the pinned log key ${keyId(log.name, log.keyHash)} and origin ${JSON.stringify(origin)}: ${opened.detail}` });
    return unchecked();
  }
  const checkpoint = opened.checkpoint;

  // 2. Consistency with the last checkpoint verified.
  const consistency = checkConsistency(checkpoint, input.lastVerified ?? null, input.consistencyProof);
  if (consistency.failure !== undefined) failures.push(consistency.failure);

  // 3. Each entry, in index order: the first thing that fails. A record in the tree the checkpoint signs is the
  // control plane's word, signed with the log key already: its countersignature line must be there, but checking
  // it again would prove nothing more (and was half of a verify's time: one Ed25519 check a record).
  const keys = siteVerifiers(input.siteKeys, verifierOf, log);
  const logByInclusion: NoteVerifier = { name: log.name, keyHash: log.keyHash, verify: () => true };
  const at = (e: unknown) => (isObject(e) && isCount(e.index) ? e.index : Number.POSITIVE_INFINITY);
  const ordered = entries.map((e, i) => ({ e, i, index: at(e) })).sort((a, b) => (a.index === b.index ? a.i - b.i : a.index < b.index ? -1 : 1));
  const verified: UsageRecord[] = [];
  const verifiedIndices: number[] = [];
  const unvouched: UsageRecord[] = [];
  const controlPlaneAlone: EntryRef[] = [];
  const firstOfRun = new Map<string, number>();
  let bySite = 0;
  for (const { e } of ordered) {
    const checked = checkEntry(e, checkpoint, logByInclusion, keys, org);
    if (!checked.ok) {
      failures.push(checked.failure);
      continue;
    }
    const { record, ref } = checked;
    // A run counts once. What legitimately repeats: a job's attempts (a retry is a new attempt), an
    // attempt's parts on several sites (a job spanning sites), and its GPU types on one site.
    const run = [record.jobId, record.attempt, record.siteId, record.gpuType].join('\n');
    const first = firstOfRun.get(run);
    if (first !== undefined) {
      const again = first === ref.index ? `entry #${ref.index} is given twice` : `after entry #${first}`;
      failures.push({ reason: 'duplicate_run', detail: `${name(ref)}: a second record of job ${record.jobId} attempt ${record.attempt} on site ${record.siteId} (${record.gpuType}), ${again}: a run counts once`, entry: ref });
      continue;
    }
    firstOfRun.set(run, ref.index);
    // A record the control plane wrote alone is expected where no site could sign: the run was lost with its
    // site, or the site had no key in force. Anywhere else the site was there to sign it, and did not.
    const ring = keys.get(record.siteId);
    if (!checked.siteSigned && record.outcome !== 'lost' && ring?.inForce.some((k) => k.fromMs <= record.endMs && record.endMs < k.untilMs) === true) {
      failures.push({ reason: 'unvouched', detail: `${name(ref)}: written by the control plane alone, ${record.outcome} on site ${record.siteId} at ${record.endMs} ms, when the site had a record key in force and did not sign it: the site may never have run it`, entry: ref });
      unvouched.push(record); // in the log all the same: the API counts it, and so do the credits compared
      continue;
    }
    verified.push(record);
    verifiedIndices.push(ref.index);
    if (checked.siteSigned) bySite++;
    else controlPlaneAlone.push(ref);
  }

  // 4. The entries verified last time, still listed: a record once logged is never taken back.
  if (consistency.status !== 'failed' && Array.isArray(input.verifiedBefore) && isObject(input.lastVerified) && isBytes(input.lastVerified.rootHash)) {
    const listed = new Set(ordered.map((o) => o.index));
    for (const index of input.verifiedBefore) {
      if (isCount(index) && !listed.has(index)) failures.push({ reason: 'record_gone', detail: `entry #${index}, verified in checkpoint ${treeName(Number(input.lastVerified.size), input.lastVerified.rootHash)}, is not among the entries the server lists now: a logged record was taken back`, entry: { index, jobId: null, attempt: null } });
    }
  }

  // 5. The credits of the verified records against the API's.
  const recomputed = credits([...verified, ...unvouched], orgId(org));
  const mismatches = compareCredits(recomputed, reported, Math.max(entries.length, verified.length));
  for (const m of mismatches) {
    const diff = formatGpuH(Math.abs(m.reportedGpuH - m.recomputedGpuH));
    const why = m.reportedGpuH > m.recomputedGpuH ? `the API counts ${diff} that no verified record shows (a record counted but hidden)` : `the verified records show ${diff} that the API does not count (a record shown but not counted)`;
    failures.push({ reason: 'credits_mismatch', detail: `${m.gpuType} ${m.figure}: the API reports ${formatGpuH(m.reportedGpuH)}, the verified records add up to ${formatGpuH(m.recomputedGpuH)}: ${why}`, gpuType: m.gpuType });
  }

  return {
    ok: failures.length === 0, org, checkpoint, consistency: consistency.status,
    entries: { checked: entries.length, verified: verified.length, verifiedIndices, bySite, controlPlaneAlone },
    credits: { recomputed, reported, mismatches },
    failures,
  };
}

/** "entry #17 (job 4312 attempt 1)". */
function name(ref: EntryRef): string {
  return `entry #${ref.index} (job ${ref.jobId ?? '?'} attempt ${ref.attempt ?? '?'})`;
}

// ---- the checkpoint -----------------------------------------------------------------

function checkConsistency(checkpoint: Checkpoint, last: TreeHead | null, proof: readonly Uint8Array[] | undefined): { status: LedgerAudit['consistency']; failure?: AuditFailure } {
  if (last === null) return { status: 'first' };
  const now = treeName(checkpoint.size, checkpoint.rootHash);
  const failed = (reason: AuditFailureReason, detail: string) => ({ status: 'failed' as const, failure: { reason, detail } });
  if (!isObject(last) || !isCount(last.size) || !isBytes(last.rootHash) || last.rootHash.length !== HASH_SIZE) return failed('inconsistent', 'the last verified checkpoint is not a tree size and a 32-byte root');
  const before = treeName(last.size, last.rootHash);
  if (checkpoint.size < last.size) return failed('log_truncated', `checkpoint ${now} is smaller than the last verified checkpoint (${before}): the log was truncated, or an old checkpoint is replayed`);
  if (checkpoint.size === last.size) {
    return equalBytes(checkpoint.rootHash, last.rootHash) ? { status: 'unchanged' } : failed('history_rewritten', `checkpoint ${now} has the size of the last verified checkpoint but not its root (${toBase64(last.rootHash)}): history was rewritten`);
  }
  if (last.size === 0) return equalBytes(last.rootHash, emptyRoot()) ? { status: 'extends' } : failed('inconsistent', `the last verified checkpoint (${before}) has not the empty tree's root`);
  const verdict = verifyConsistency(last.size, checkpoint.size, Array.isArray(proof) ? proof : [], last.rootHash, checkpoint.rootHash);
  return verdict.ok ? { status: 'extends' } : failed('inconsistent', `checkpoint ${now} does not extend the last verified checkpoint, ${before}: ${verdict.detail}`);
}

// ---- entries --------------------------------------------------------------------------

/** A site's usable keys: their verifiers, when each was revoked, and the times each was in force (from its taking to its revocation). */
interface SiteKeyring {
  readonly verifiers: readonly NoteVerifier[];
  readonly revokedAtMs: ReadonlyMap<string, number>;
  readonly inForce: readonly { readonly fromMs: number; readonly untilMs: number }[];
}

/**
 * The listed keys by site label, each usable key once. A key that cannot be read is
 * left out (it verifies nothing), and so is the log's own key listed as a site's: the
 * control plane must not vouch for a site.
 */
function siteVerifiers(listed: unknown, verifierOf: (key: string) => NoteVerifier, log: NoteVerifier): ReadonlyMap<string, SiteKeyring> {
  const bySite = new Map<string, { verifiers: NoteVerifier[]; revokedAtMs: Map<string, number>; inForce: { fromMs: number; untilMs: number }[]; seen: Set<string> }>();
  for (const k of Array.isArray(listed) ? (listed as unknown[]) : []) {
    if (!isObject(k) || typeof k.site !== 'string' || typeof k.verifierKey !== 'string') continue;
    const verifier = verifierFrom(verifierOf, k.verifierKey);
    if (verifier === undefined || (verifier.name === log.name && verifier.keyHash === log.keyHash)) continue;
    const id = keyId(verifier.name, verifier.keyHash);
    let ring = bySite.get(k.site);
    if (ring === undefined) bySite.set(k.site, (ring = { verifiers: [], revokedAtMs: new Map(), inForce: [], seen: new Set() }));
    if (typeof k.createdAtMs === 'number' && Number.isFinite(k.createdAtMs)) {
      ring.inForce.push({ fromMs: k.createdAtMs, untilMs: typeof k.revokedAtMs === 'number' && Number.isFinite(k.revokedAtMs) ? k.revokedAtMs : Number.POSITIVE_INFINITY });
    }
    if (typeof k.revokedAtMs === 'number' && Number.isFinite(k.revokedAtMs)) ring.revokedAtMs.set(id, Math.min(k.revokedAtMs, ring.revokedAtMs.get(id) ?? Number.POSITIVE_INFINITY));
    if (ring.seen.has(k.verifierKey)) continue;
    ring.seen.add(k.verifierKey);
    ring.verifiers.push(verifier);
  }
  return bySite;
}

type EntryCheck =
  | { readonly ok: true; readonly record: UsageRecord; readonly ref: EntryRef; readonly siteSigned: boolean }
  | { readonly ok: false; readonly failure: AuditFailure };

/**
 * One entry's first failure, in the order the audit states them; or its record, verified. `log`: how the
 * log key's signature on a record is taken (the audit passes one that accepts it: inclusion vouches for it).
 */
function checkEntry(entry: unknown, checkpoint: Checkpoint, log: NoteVerifier, keys: ReadonlyMap<string, SiteKeyring>, org: string): EntryCheck {
  const e = isObject(entry) ? entry : {};
  const index = typeof e.index === 'number' ? e.index : Number.NaN;
  const note = isBytes(e.note) ? e.note : undefined;
  const ref = refOf(index, note);
  const fail = (reason: AuditFailureReason, why: string): EntryCheck => ({ ok: false, failure: { reason, detail: `${name(ref)}: ${why}`, entry: ref } });

  // Inclusion: the note is the leaf at its index in the tree the checkpoint signs.
  const tree = treeName(checkpoint.size, checkpoint.rootHash);
  if (note === undefined) return fail('not_in_tree', `no note bytes, so not in the tree at checkpoint ${tree}`);
  const proof = Array.isArray(e.proof) ? (e.proof as readonly Uint8Array[]) : [];
  const inclusion = verifyInclusion(index, checkpoint.size, leafHash(note), proof, checkpoint.rootHash);
  if (!inclusion.ok) return fail('not_in_tree', `not in the tree at checkpoint ${tree}: ${inclusion.detail}`);

  // The note: a usage record, with the signatures it must carry.
  const parsed = parseNote(note);
  if (!parsed.ok) return fail('tampered', `not a signed note (line ${parsed.line}: ${parsed.detail})`);
  let record: UsageRecord;
  try {
    record = parseUsageRecord(parsed.text);
  } catch (err) {
    return fail('tampered', `not a usage record (${err instanceof Error ? err.message : String(err)})`);
  }
  const site = keys.get(record.siteId);
  const opened = openNote(note, [log, ...(site?.verifiers ?? [])]);
  const isLog = (s: { readonly name: string; readonly keyHash: number }) => s.name === log.name && s.keyHash === log.keyHash;
  const logId = keyId(log.name, log.keyHash);
  if (!opened.ok) {
    switch (opened.reason) {
      case 'malformed':
        return fail('tampered', `not a signed note (line ${opened.line}: ${opened.detail})`);
      case 'bad_signature':
        return fail('site_signature', `the signature by ${opened.key}, a key of site ${record.siteId}, does not verify`);
      case 'ambiguous_key':
        return fail('site_signature', `site ${record.siteId} is listed with two keys named ${opened.key}`);
      case 'unverified':
        return record.writer === 'site' ? fail('site_signature', missingSiteSignature(record, site)) : fail('not_countersigned', `no signature by the control plane's key ${logId}`);
    }
  }
  const siteSignature = opened.verified.find((s) => !isLog(s));
  if (record.writer === 'site' && siteSignature === undefined) return fail('site_signature', missingSiteSignature(record, site));
  if (siteSignature !== undefined) {
    const revokedAt = site?.revokedAtMs.get(keyId(siteSignature.name, siteSignature.keyHash));
    if (revokedAt !== undefined && record.endMs > revokedAt) return fail('site_signature', `signed by ${keyIdOf(siteSignature)}, which site ${record.siteId}'s org-admin revoked at ${revokedAt} ms, before the run ended at ${record.endMs} ms`);
  }
  if (!opened.verified.some(isLog)) return fail('not_countersigned', `no signature by the control plane's key ${logId}`);
  if (record.consumerOrgId !== org && record.providerOrgId !== org) return fail('not_orgs_record', `consumed by ${record.consumerOrgId} on ${record.providerOrgId}'s site: not a record of ${org}`);
  return { ok: true, record, ref: { index, jobId: record.jobId, attempt: record.attempt }, siteSigned: siteSignature !== undefined };
}

function missingSiteSignature(record: UsageRecord, site: SiteKeyring | undefined): string {
  return site === undefined || site.verifiers.length === 0
    ? `the record says its site ${record.siteId} wrote it, but the server lists no key for that site`
    : `the record says its site ${record.siteId} wrote it, but no key of that site signed it`;
}

const keyIdOf = (s: NoteSignature) => keyId(s.name, s.keyHash);

/** The entry's job and attempt as its note states them, read leniently: for naming an entry whose note may not parse. */
function refOf(index: number, note: Uint8Array | undefined): EntryRef {
  const text = note === undefined ? '' : new TextDecoder('utf-8', { fatal: false }).decode(note.subarray(0, 4096));
  const job = /^job ([\x21-\x7e]{1,200})$/m.exec(text)?.[1] ?? null;
  const attempt = /^attempt ([0-9]{1,15})$/m.exec(text)?.[1];
  return { index, jobId: job, attempt: attempt === undefined ? null : Number(attempt) };
}

// ---- credits ---------------------------------------------------------------------------

const FIGURES = [['contributed', 'contributedGpuH'], ['consumed', 'consumedGpuH'], ['own', 'ownGpuH']] as const;

/**
 * The audit's comparison of credits: every figure (contributed, consumed, own) of every
 * GPU type either side has on which the API's rows and the recomputed ones disagree,
 * by GPU type, then figure. A missing row counts as zeros.
 *
 * The API sums GPU-seconds as doubles, the audit exact GPU-ms: two figures agree when
 * they differ by at most one GPU-millisecond or by what summing `terms` doubles may
 * round away (4 (terms + 1) ε of the larger: a forward-error bound of the sum, with
 * room for the conversions to hours). So a record left out shows unless it is that small.
 */
export function compareCredits(recomputed: readonly CreditRow[], reported: readonly ReportedCredit[], terms: number): CreditMismatch[] {
  const relative = 4 * (Math.max(0, Number.isFinite(terms) ? terms : 0) + 1) * Number.EPSILON;
  const zero = { contributedGpuH: 0, consumedGpuH: 0, ownGpuH: 0 };
  const sum = new Map<string, { contributedGpuH: number; consumedGpuH: number; ownGpuH: number }>();
  for (const r of reported) {
    const s = sum.get(r.gpuType) ?? { ...zero };
    for (const [, field] of FIGURES) s[field] += r[field];
    sum.set(r.gpuType, s);
  }
  const mine = new Map(recomputed.map((r) => [r.gpuType, r]));
  const types = [...new Set([...mine.keys(), ...sum.keys()])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: CreditMismatch[] = [];
  for (const gpuType of types) {
    const a = sum.get(gpuType) ?? zero;
    const b = mine.get(gpuType) ?? zero;
    for (const [figure, field] of FIGURES) {
      if (!agree(a[field], b[field], relative)) out.push({ gpuType, figure, reportedGpuH: a[field], recomputedGpuH: b[field] });
    }
  }
  return out;
}

function agree(a: number, b: number, relative: number): boolean {
  return Math.abs(a - b) <= Math.max(ABSOLUTE_TOLERANCE_GPU_H, relative * Math.max(Math.abs(a), Math.abs(b)));
}

/** "12.5 GPU-h", to the GPU-millisecond at most. */
function formatGpuH(h: number): string {
  return `${Number(h.toPrecision(12))} GPU-h`;
}

// ---- hostile input ------------------------------------------------------------------------

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function isReportedRow(r: unknown): r is ReportedCredit {
  return isObject(r) && typeof r.gpuType === 'string' && (r.orgId === undefined || typeof r.orgId === 'string')
    && FIGURES.every(([, field]) => typeof r[field] === 'number' && Number.isFinite(r[field]));
}

/** The verifier of a key, or undefined for anything that is not one (or a verifier that is not well-formed). */
function verifierFrom(verifierOf: (key: string) => NoteVerifier, key: unknown): NoteVerifier | undefined {
  if (typeof key !== 'string') return undefined;
  try {
    const v = verifierOf(key);
    return isObject(v) && typeof v.name === 'string' && typeof v.keyHash === 'number' && typeof v.verify === 'function' ? v : undefined;
  } catch {
    return undefined;
  }
}
