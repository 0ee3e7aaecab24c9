/**
 * Usage records: what one run of a job used on one site, the unit of the ledger that
 * rival members verify. A record is logged as a signed note whose text is the record's
 * canonical encoding, and the log's leaf data is that note's bytes:
 *
 *   suanli/usage-record/v1
 *   job 4312
 *   attempt 1
 *   site acme-east
 *   consumer beta-labs
 *   provider acme
 *   gpu-type h100
 *   gpus 8
 *   start-ms 1767225600000
 *   end-ms 1767229200000
 *   gpu-seconds 28800
 *   outcome succeeded
 *   writer site
 *
 * Who signs: a record the site's agent wrote (`writer site`) is signed by the site's key,
 * then countersigned by the control plane's when it is appended; a record the control
 * plane wrote alone (`writer control-plane`: a run it ended, a site that went silent)
 * carries only the control plane's signature. Every logged record is countersigned.
 *
 * The encoding is canonical (one text per record): fixed keys in a fixed order, ids of
 * printable ASCII without spaces, integers in canonical decimal, and GPU-seconds written
 * exactly — gpus × (end − start) / 1000 has at most three decimals — or refused.
 */
import { InvalidInputError } from '../model/errors.ts';
import { jobId, orgId, siteId, type JobId, type OrgId, type SiteId } from '../model/ids.ts';
import { isCanonicalDecimal } from './encoding.ts';
import { NOTE_FAILURES, openNote, parseNote, signNote, type NoteSignature, type NoteSigner, type NoteVerifier } from './note.ts';

/** The first line of every usage record: the format and its version. */
export const USAGE_RECORD_FORMAT = 'suanli/usage-record/v1';

/** How a run ended (`shrunk`: the part on this site was taken back while the job ran on). */
export const USAGE_OUTCOMES = ['succeeded', 'failed', 'cancelled', 'preempted', 'lost', 'shrunk'] as const;
export type UsageOutcome = (typeof USAGE_OUTCOMES)[number];

/** Who wrote a record: the site's agent, or the control plane alone. */
export const RECORD_WRITERS = ['site', 'control-plane'] as const;
export type RecordWriter = (typeof RECORD_WRITERS)[number];

export interface UsageRecord {
  readonly jobId: JobId;
  /** The job's placement it ran under: 1 for the first. */
  readonly attempt: number;
  readonly siteId: SiteId;
  /** The org whose job it was. */
  readonly consumerOrgId: OrgId;
  /** The org that owns the site (lent it, when it is not the consumer). */
  readonly providerOrgId: OrgId;
  readonly gpuType: string;
  readonly gpus: number;
  /** Epoch ms; endMs ≥ startMs. */
  readonly startMs: number;
  readonly endMs: number;
  /** gpus × (endMs − startMs) / 1000, as the nearest double (`gpuSecondsOf`); the text carries it exactly. */
  readonly gpuSeconds: number;
  readonly outcome: UsageOutcome;
  readonly writer: RecordWriter;
}

/** The lines after the format line, in order: key, and the record field it holds. */
const FIELDS = [
  ['job', 'jobId'],
  ['attempt', 'attempt'],
  ['site', 'siteId'],
  ['consumer', 'consumerOrgId'],
  ['provider', 'providerOrgId'],
  ['gpu-type', 'gpuType'],
  ['gpus', 'gpus'],
  ['start-ms', 'startMs'],
  ['end-ms', 'endMs'],
  ['gpu-seconds', 'gpuSeconds'],
  ['outcome', 'outcome'],
  ['writer', 'writer'],
] as const satisfies readonly (readonly [string, keyof UsageRecord])[];

const ID = /^[\x21-\x7e]{1,200}$/;
const ID_ACCEPTED = '1 to 200 printable ASCII characters without spaces';
const MS_PER_HOUR = 3_600_000;

/** gpus × (endMs − startMs) / 1000 as the double nearest its exact value (what `UsageRecord.gpuSeconds` must hold). */
export function gpuSecondsOf(gpus: number, startMs: number, endMs: number): number {
  return Number(gpuSecondsText(gpuMs(gpus, startMs, endMs)));
}

/** The record's canonical text (a note text: ends in a newline). InvalidInputError naming the field when a value cannot be written. */
export function formatUsageRecord(record: UsageRecord): string {
  const problem = recordProblem(record);
  if (problem !== undefined) throw new InvalidInputError(problem.field, problem.problem, problem.accepted);
  return [USAGE_RECORD_FORMAT, ...FIELDS.map(([key, field]) => `${key} ${field === 'gpuSeconds' ? gpuSecondsText(gpuMs(record.gpus, record.startMs, record.endMs)) : String(record[field])}`)]
    .map((line) => `${line}\n`)
    .join('');
}

/** The record a canonical text encodes; InvalidInputError whose field names the line (`usage record line 4 (site)`). */
export function parseUsageRecord(text: string): UsageRecord {
  const read = readUsageRecord(text);
  if ('problem' in read) throw new InvalidInputError(read.field, read.problem, read.accepted);
  return read;
}

/** The record as a signed note: its canonical text, signed by each signer in order (the site's first, when it signs). */
export function recordNote(record: UsageRecord, signers: readonly NoteSigner[]): Uint8Array {
  return signNote(formatUsageRecord(record), signers);
}

/** The keys a record is checked with: the control plane's (more than one across a rotation) and each site's, looked up by the record's site. */
export interface RecordKeys {
  readonly controlPlane: readonly NoteVerifier[];
  /** The keys enrolled for a site (none for an unknown site). Called once per note, with the site the record names. */
  readonly site: (site: SiteId) => readonly NoteVerifier[];
}

export const RECORD_FAILURES = {
  malformed_note: NOTE_FAILURES.malformed,
  bad_signature: NOTE_FAILURES.bad_signature,
  ambiguous_key: NOTE_FAILURES.ambiguous_key,
  malformed_record: 'the text is not a usage record',
  not_countersigned: "the control plane's key did not sign it",
  not_signed_by_site: "the site's key did not sign a record the site wrote",
  wrong_writer: 'the control plane countersigns only records the site wrote',
} as const;
export type RecordFailure = keyof typeof RECORD_FAILURES;

export type RecordRefusal = { readonly ok: false; readonly reason: RecordFailure; readonly detail: string; readonly line?: number };

export type RecordOpening =
  | {
      readonly ok: true;
      readonly record: UsageRecord;
      /** The site's verified signature; null for a record the control plane wrote alone and the site did not sign. */
      readonly siteSignature: NoteSignature | null;
      readonly controlPlaneSignature: NoteSignature;
      /** Signatures by keys not given, unchecked. */
      readonly unknown: readonly NoteSignature[];
    }
  | RecordRefusal;

/**
 * Opens a logged record (a leaf of the log): the text must be a usage record, the
 * control plane's signature must verify, and for a record the site wrote, the site's
 * too — by a key of the site the record names. Never throws (but for a throwing
 * `keys.site`, which is the caller's).
 */
export function openRecordNote(note: Uint8Array, keys: RecordKeys): RecordOpening {
  const read = readRecordOfNote(note);
  if (!read.ok) return read;
  const { record } = read;
  const siteKeys = keys.site(record.siteId);
  const opened = openNote(note, [...keys.controlPlane, ...siteKeys]);
  if (!opened.ok) return opened.reason === 'unverified' ? refuse('not_countersigned', `no signature by the control plane on ${describe(record)}`) : noteRefusal(opened);
  const signedBy = (verifiers: readonly NoteVerifier[]) => opened.verified.find((s) => verifiers.some((v) => v.name === s.name && v.keyHash === s.keyHash));
  const controlPlaneSignature = signedBy(keys.controlPlane);
  if (controlPlaneSignature === undefined) return refuse('not_countersigned', `no signature by the control plane on ${describe(record)}`);
  const siteSignature = signedBy(siteKeys) ?? null;
  if (record.writer === 'site' && siteSignature === null) return refuse('not_signed_by_site', `no signature by a key of site ${record.siteId} on ${describe(record)}`);
  return { ok: true, record, siteSignature, controlPlaneSignature, unknown: opened.unknown };
}

/**
 * The control plane's step when a site reports a record: the record must be one the
 * site wrote and signed with a key of the site it names; the result is the note to
 * append — the text, the site's verified signature(s), then the control plane's —
 * without any other signature line. The same bytes as `recordNote(record, [site,
 * controlPlane])`. Never throws (but for a throwing `siteKeys`).
 */
export function countersignRecordNote(note: Uint8Array, siteKeys: RecordKeys['site'], controlPlane: NoteSigner): { readonly ok: true; readonly note: Uint8Array; readonly record: UsageRecord } | RecordRefusal {
  const read = readRecordOfNote(note);
  if (!read.ok) return read;
  const { record, text } = read;
  if (record.writer !== 'site') return refuse('wrong_writer', `${describe(record)} says writer ${record.writer}`);
  const opened = openNote(note, siteKeys(record.siteId));
  if (!opened.ok) return opened.reason === 'unverified' ? refuse('not_signed_by_site', `no signature by a key of site ${record.siteId} on ${describe(record)}`) : noteRefusal(opened);
  return { ok: true, note: signNote(text, [controlPlane], opened.verified), record };
}

/** One org's GPU-hours per GPU type, by the server ledger's rules (src/store: LedgerRow). */
export interface CreditRow {
  readonly orgId: OrgId;
  readonly gpuType: string;
  /** Other orgs' use of this org's sites. */
  readonly contributedGpuH: number;
  /** This org's use of other orgs' sites. */
  readonly consumedGpuH: number;
  /** This org's use of its own sites. */
  readonly ownGpuH: number;
  /** contributed − consumed: positive means the pool owes this org. */
  readonly creditsGpuH: number;
}

/**
 * `org`'s ledger over `records`, as the server's `ledger(org)` counts it: a record
 * counts for its provider (contributed, or own when the provider is the consumer)
 * and, when they differ, for its consumer (consumed). One row per GPU type the org
 * provided or consumed (zero-length runs included), sorted bytewise. Sums are exact
 * (integer GPU-ms) and converted to hours once, so every member who sums the same
 * records gets the same bits in any order. Counting each run once is the caller's:
 * this sums what it is given.
 */
export function credits(records: readonly UsageRecord[], org: OrgId): CreditRow[] {
  const rows = new Map<string, { contributed: bigint; consumed: bigint; own: bigint }>();
  records.forEach((r, i) => {
    const problem = recordProblem(r);
    if (problem !== undefined) throw new InvalidInputError(`records[${i}].${problem.field}`, problem.problem, problem.accepted);
    if (r.providerOrgId !== org && r.consumerOrgId !== org) return;
    let row = rows.get(r.gpuType);
    if (row === undefined) rows.set(r.gpuType, (row = { contributed: 0n, consumed: 0n, own: 0n }));
    const ms = gpuMs(r.gpus, r.startMs, r.endMs);
    if (r.providerOrgId === org && r.consumerOrgId === org) row.own += ms;
    else if (r.providerOrgId === org) row.contributed += ms;
    else row.consumed += ms;
  });
  const hours = (ms: bigint) => Number(ms) / MS_PER_HOUR;
  return [...rows.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([gpuType, s]) => ({ orgId: org, gpuType, contributedGpuH: hours(s.contributed), consumedGpuH: hours(s.consumed), ownGpuH: hours(s.own), creditsGpuH: hours(s.contributed - s.consumed) }));
}

// ---- checks and parsing ------------------------------------------------------------------

interface Problem {
  readonly field: string;
  readonly problem: string;
  readonly accepted: string;
}

/** The first field of `r` that cannot be written, or undefined. */
function recordProblem(r: UsageRecord): (Problem & { readonly field: keyof UsageRecord }) | undefined {
  for (const field of ['jobId', 'siteId', 'consumerOrgId', 'providerOrgId', 'gpuType'] as const) {
    if (typeof r[field] !== 'string' || !ID.test(r[field])) return { field, problem: `${JSON.stringify(r[field])} is not an id`, accepted: ID_ACCEPTED };
  }
  const whole = (n: unknown, min: number) => typeof n === 'number' && Number.isSafeInteger(n) && n >= min;
  if (!whole(r.attempt, 1)) return { field: 'attempt', problem: `${String(r.attempt)} is not an attempt number`, accepted: 'a whole number ≥ 1' };
  if (!whole(r.gpus, 1)) return { field: 'gpus', problem: `${String(r.gpus)} is not a GPU count`, accepted: 'a whole number ≥ 1' };
  if (!whole(r.startMs, 0)) return { field: 'startMs', problem: `${String(r.startMs)} is not a time`, accepted: 'epoch ms, a whole number ≥ 0' };
  if (!whole(r.endMs, r.startMs)) return { field: 'endMs', problem: `${String(r.endMs)} is not a time at or after the start`, accepted: `epoch ms, a whole number ≥ startMs (${r.startMs})` };
  const exact = gpuSecondsText(gpuMs(r.gpus, r.startMs, r.endMs));
  if (r.gpuSeconds !== Number(exact)) return { field: 'gpuSeconds', problem: `${String(r.gpuSeconds)} is not gpus × (end − start) / 1000 = ${exact}`, accepted: 'gpuSecondsOf(gpus, startMs, endMs)' };
  if (!(USAGE_OUTCOMES as readonly string[]).includes(r.outcome)) return { field: 'outcome', problem: `${JSON.stringify(r.outcome)} is not an outcome`, accepted: USAGE_OUTCOMES.join(', ') };
  if (!(RECORD_WRITERS as readonly string[]).includes(r.writer)) return { field: 'writer', problem: `${JSON.stringify(r.writer)} is not a writer`, accepted: RECORD_WRITERS.join(', ') };
  return undefined;
}

/** The record of a canonical text, or the line (1-based) that is wrong and why. */
function readUsageRecord(text: string): UsageRecord | (Problem & { readonly line: number }) {
  const at = (line: number, problem: string, accepted: string) => ({ line, field: `usage record line ${line}${line >= 2 && line <= FIELDS.length + 1 ? ` (${FIELDS[line - 2]![0]})` : ''}`, problem, accepted });
  if (typeof text !== 'string' || !text.endsWith('\n')) return at(1, 'the text does not end in a newline', 'lines ending in "\\n"');
  const lines = text.slice(0, -1).split('\n');
  if (lines[0] !== USAGE_RECORD_FORMAT) return at(1, `${JSON.stringify(lines[0])} is not the format line`, USAGE_RECORD_FORMAT);
  const values: string[] = [];
  for (const [i, [key]] of FIELDS.entries()) {
    const line = lines[i + 1];
    if (line === undefined || !line.startsWith(`${key} `)) return at(i + 2, line === undefined ? 'the line is missing' : `${JSON.stringify(line)} is not "${key} <value>"`, `"${key} <value>", in the format's order`);
    values.push(line.slice(key.length + 1));
  }
  if (lines.length > FIELDS.length + 1) return at(FIELDS.length + 2, 'an unexpected line after the last field', 'nothing after the writer line');
  const [job = '', attempt = '', site = '', consumer = '', provider = '', gpuType = '', gpus = '', start = '', end = '', gpuSeconds = '', outcome = '', writer = ''] = values;
  const lineOf = (field: keyof UsageRecord) => 2 + FIELDS.findIndex(([, f]) => f === field);
  for (const field of ['attempt', 'gpus', 'startMs', 'endMs'] as const) {
    const value = values[lineOf(field) - 2]!;
    if (!isCanonicalDecimal(value) || !Number.isSafeInteger(Number(value))) return at(lineOf(field), `${JSON.stringify(value)} is not a whole number`, `digits without a leading zero, at most ${Number.MAX_SAFE_INTEGER}`);
  }
  if (!/^(0|[1-9][0-9]*)(\.[0-9]{1,3})?$/.test(gpuSeconds)) return at(lineOf('gpuSeconds'), `${JSON.stringify(gpuSeconds)} is not a decimal number of GPU-seconds`, 'digits, and up to three decimals');
  const record: UsageRecord = {
    jobId: jobId(job),
    attempt: Number(attempt),
    siteId: siteId(site),
    consumerOrgId: orgId(consumer),
    providerOrgId: orgId(provider),
    gpuType,
    gpus: Number(gpus),
    startMs: Number(start),
    endMs: Number(end),
    gpuSeconds: Number(gpuSeconds),
    outcome: outcome as UsageOutcome,
    writer: writer as RecordWriter,
  };
  const problem = recordProblem(record);
  if (problem !== undefined) return at(lineOf(problem.field), problem.problem, problem.accepted);
  const exact = gpuSecondsText(gpuMs(record.gpus, record.startMs, record.endMs));
  if (gpuSeconds !== exact) return at(lineOf('gpuSeconds'), `${gpuSeconds} is not written as ${exact}`, 'the exact decimal, without trailing zeros');
  return record;
}

function readRecordOfNote(note: Uint8Array): { readonly ok: true; readonly record: UsageRecord; readonly text: string } | RecordRefusal {
  const parsed = parseNote(note);
  if (!parsed.ok) return { ok: false, reason: 'malformed_note', detail: `line ${parsed.line}: ${parsed.detail}`, line: parsed.line };
  const record = readUsageRecord(parsed.text);
  if ('problem' in record) return { ok: false, reason: 'malformed_record', detail: `${record.field}: ${record.problem}`, line: record.line };
  return { ok: true, record, text: parsed.text };
}

function refuse(reason: RecordFailure, detail: string): RecordRefusal {
  return { ok: false, reason, detail };
}

function noteRefusal(opened: { readonly reason: 'malformed' | 'bad_signature' | 'ambiguous_key'; readonly detail: string }): RecordRefusal {
  return refuse(opened.reason === 'malformed' ? 'malformed_note' : opened.reason, opened.detail);
}

function describe(r: UsageRecord): string {
  return `the record of job ${r.jobId} attempt ${r.attempt} on site ${r.siteId}`;
}

/** Exact GPU-milliseconds: gpus × (end − start), in integers (past 2^53 a double would round). */
function gpuMs(gpus: number, startMs: number, endMs: number): bigint {
  return BigInt(gpus) * BigInt(endMs - startMs);
}

/** GPU-ms / 1000 written exactly: the integer part, then up to three decimals without trailing zeros. */
function gpuSecondsText(ms: bigint): string {
  const whole = ms / 1000n;
  const fraction = (ms % 1000n).toString().padStart(3, '0').replace(/0+$/, '');
  return fraction === '' ? String(whole) : `${whole}.${fraction}`;
}

