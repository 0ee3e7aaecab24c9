import type { VerifiedTree } from '../../../src/ledger/audit-evidence.ts';
import type { AuditFailure, EntryRef, LedgerAudit } from '../../../src/ledger/audit.ts';

/**
 * The ledger's verification in the browser, as the panel shows it: what this browser
 * remembers per server (the log key it pinned, and per org the last tree it verified:
 * trust on first use, as `suanli ledger verify` keeps ledger-state.json), and an
 * audit (src/ledger/audit.ts) turned into what the panel says. Pure: storage and
 * requests are the hook's (use-ledger-verification.ts).
 */

/** Problems the panel lists (the rest are counted), and records written by the control plane alone that it names. */
export const PROBLEMS_SHOWN = 12;
export const ALONE_SHOWN = 5;

/** The log this browser follows on one server: pinned at its first verification there. */
export interface LogPin {
  readonly origin: string;
  readonly logKey: string;
  /** When it was pinned (ISO). */
  readonly pinnedAt: string;
}

/** The last tree verified for one org, with when the server signed it and when it was verified (ISO). */
export interface KeptTree extends VerifiedTree {
  readonly checkpointAt: string;
  readonly verifiedAt: string;
}

/** What this browser keeps for one server, in localStorage under `ledgerMemoryKey(server)`. */
export interface LedgerMemory {
  readonly pin: LogPin;
  readonly orgs: Readonly<Record<string, KeptTree>>;
}

/** The localStorage key of a server's memory (its origin: `https://pool.example`). */
export const ledgerMemoryKey = (server: string): string => `suanli:ledger:${server}`;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function keptTreeOf(v: unknown): KeptTree | undefined {
  if (!isObject(v) || !isCount(v.size) || typeof v.root !== 'string' || typeof v.checkpointAt !== 'string' || typeof v.verifiedAt !== 'string') return undefined;
  if (!Array.isArray(v.indices) || !v.indices.every(isCount)) return undefined;
  return { size: v.size, root: v.root, indices: v.indices, checkpointAt: v.checkpointAt, verifiedAt: v.verifiedAt };
}

/** The memory stored as `text`; null when there is none, or when it is not what `keptMemoryText` writes (then the log is pinned again). */
export function readLedgerMemory(text: string | null): LedgerMemory | null {
  if (text === null) return null;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(data) || !isObject(data.pin) || !isObject(data.orgs)) return null;
  const { origin, logKey, pinnedAt } = data.pin;
  if (typeof origin !== 'string' || typeof logKey !== 'string' || typeof pinnedAt !== 'string') return null;
  const orgs: Record<string, KeptTree> = {};
  for (const [org, tree] of Object.entries(data.orgs)) {
    const kept = keptTreeOf(tree);
    if (kept === undefined) return null;
    orgs[org] = kept;
  }
  return { pin: { origin, logKey, pinnedAt }, orgs };
}

/**
 * The pin to verify with: the one remembered, or, at the first verification of this
 * server, the key the server shows now (`firstUse`: the panel says so and shows it).
 */
export function pinOf(memory: LedgerMemory | null, shown: { readonly origin: string; readonly log_key: string }, nowIso: string): { readonly pin: LogPin; readonly firstUse: boolean } {
  return memory === null ? { pin: { origin: shown.origin, logKey: shown.log_key, pinnedAt: nowIso }, firstUse: true } : { pin: memory.pin, firstUse: false };
}

/** The memory with `org`'s tree kept, as JSON to store; a larger tree kept meanwhile (another tab) stays: never backwards. */
export function keptMemoryText(memory: LedgerMemory | null, pin: LogPin, org: string, tree: KeptTree): string {
  const orgs = memory !== null && memory.pin.logKey === pin.logKey ? memory.orgs : {};
  const before = orgs[org];
  const next: LedgerMemory = { pin, orgs: { ...orgs, [org]: before !== undefined && before.size > tree.size ? before : tree } };
  return JSON.stringify(next);
}

/** What the panel shows of one verification. */
export interface VerificationPanel {
  /** Nothing failed, and the server shows the pinned key. */
  readonly verified: boolean;
  readonly org: string;
  readonly pin: LogPin;
  /** The key was pinned by this verification (trust on first use). */
  readonly firstUse: boolean;
  /** The key the server shows now when it is not the pinned one (checkpoints are checked with the pinned one); null when it is. */
  readonly keyShown: string | null;
  /** The checkpoint's signature verified with the pinned key. */
  readonly signatureVerified: boolean;
  readonly consistency: LedgerAudit['consistency'];
  /** The last tree verified here, if any. */
  readonly last: KeptTree | null;
  readonly records: { readonly checked: number; readonly verified: number; readonly bySite: number };
  /** Records the control plane wrote alone (verified: a note, not a failure): the first few, and how many more. */
  readonly alone: { readonly count: number; readonly shown: readonly EntryRef[]; readonly more: number };
  /** The audit's failures, verbatim: the first few, and how many more; `count` has the changed key too. */
  readonly problems: { readonly count: number; readonly shown: readonly AuditFailure[]; readonly more: number };
}

/** The panel of an audit of `audit.org`, with the pin it ran with, what the server shows now, and the last tree verified here. */
export function verificationPanel(audit: LedgerAudit, context: { readonly pin: LogPin; readonly firstUse: boolean; readonly logKeyShown: string; readonly last: KeptTree | undefined }): VerificationPanel {
  const keyShown = context.logKeyShown === context.pin.logKey ? null : context.logKeyShown;
  const alone = audit.entries.controlPlaneAlone;
  return {
    verified: audit.ok && keyShown === null,
    org: audit.org, pin: context.pin, firstUse: context.firstUse, keyShown,
    signatureVerified: audit.checkpoint !== null,
    consistency: audit.consistency,
    last: context.last ?? null,
    records: { checked: audit.entries.checked, verified: audit.entries.verified, bySite: audit.entries.bySite },
    alone: { count: alone.length, shown: alone.slice(0, ALONE_SHOWN), more: Math.max(0, alone.length - ALONE_SHOWN) },
    problems: { count: audit.failures.length + (keyShown === null ? 0 : 1), shown: audit.failures.slice(0, PROBLEMS_SHOWN), more: Math.max(0, audit.failures.length - PROBLEMS_SHOWN) },
  };
}
