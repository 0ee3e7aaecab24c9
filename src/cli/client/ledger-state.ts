import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { configPath, writePrivateFile } from './config.ts';
import { ClientError } from './errors.ts';

/**
 * What `suanli ledger verify` remembers between runs, per server: the log it pinned
 * (origin and verifier key) and, per org, the last checkpoint it verified (size and
 * root), which the next run's checkpoint must extend. Kept beside the saved login in
 * `ledger-state.json` (mode 0600, replaced atomically). A verified checkpoint never
 * moves backwards: a smaller one recorded meanwhile (another run) does not replace it.
 */

/** The log a member follows on one server: pinned at its first verify, or with --log-key. */
export interface LogPin {
  readonly origin: string;
  readonly logKey: string;
  /** When it was pinned (ISO). */
  readonly pinnedAt: string;
}

/** The last checkpoint verified for one org. */
export interface VerifiedCheckpoint {
  readonly size: number;
  /** The indices of the org's entries verified in it, ascending: each must still be listed at the next verify. */
  readonly indices: readonly number[];
  /** Its root, base64. */
  readonly root: string;
  /** When the server signed it, as it said (ISO). */
  readonly checkpointAt: string;
  /** When it was verified (ISO). */
  readonly verifiedAt: string;
}

export interface ServerLedgerState {
  readonly pin: LogPin;
  readonly orgs: Readonly<Record<string, VerifiedCheckpoint>>;
}

export interface LedgerState {
  readonly servers: Readonly<Record<string, ServerLedgerState>>;
}

type Env = Readonly<Record<string, string | undefined>>;

/** `ledger-state.json` in the directory of the saved login (`$SUANLI_CONFIG`'s, else `~/.config/suanli`). */
export function ledgerStatePath(env: Env = process.env): string {
  return join(dirname(configPath(env)), 'ledger-state.json');
}

/** The state saved at `path`; empty when there is none. A file that is not this state is a `bad_config` error naming it. */
export async function readLedgerState(path: string): Promise<LedgerState> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return { servers: {} };
    throw new ClientError('bad_config', `cannot read the ledger state ${path}: ${(err as Error).message}`, { cause: err });
  }
  const broken = `the ledger state ${path} is not what \`suanli ledger verify\` writes; fix it, or delete it to pin the log again at the next verify`;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ClientError('bad_config', broken, { cause: err });
  }
  const state = fromJson(data);
  if (state === undefined) throw new ClientError('bad_config', broken);
  return state;
}

/**
 * Records a verified checkpoint for `org` on `server`, with the pin it was verified
 * against, re-reading the file first so that a concurrent run's larger checkpoint is
 * kept (never backwards). Returns what the file now holds for the org.
 */
export async function recordVerified(path: string, server: string, org: string, pin: LogPin, checkpoint: VerifiedCheckpoint): Promise<VerifiedCheckpoint> {
  const state = await readLedgerState(path);
  const before = state.servers[server];
  const kept = before?.orgs[org];
  const latest = kept !== undefined && kept.size > checkpoint.size ? kept : checkpoint;
  const next: LedgerState = { servers: { ...state.servers, [server]: { pin, orgs: { ...before?.orgs, [org]: latest } } } };
  await writePrivateFile(path, `${JSON.stringify(toJson(next), null, 2)}\n`);
  return latest;
}

// ---- the file's JSON ---------------------------------------------------------------

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown): v is string => typeof v === 'string';

function toJson(state: LedgerState): Json {
  return {
    version: 1,
    servers: Object.fromEntries(Object.entries(state.servers).map(([server, s]) => [server, {
      origin: s.pin.origin, log_key: s.pin.logKey, pinned_at: s.pin.pinnedAt,
      orgs: Object.fromEntries(Object.entries(s.orgs).map(([org, c]) => [org, { size: c.size, indices: packIndices(c.indices), root: c.root, checkpoint_at: c.checkpointAt, verified_at: c.verifiedAt }])),
    }])),
  };
}

function fromJson(data: unknown): LedgerState | undefined {
  if (!isObject(data) || data.version !== 1 || !isObject(data.servers)) return undefined;
  const servers: Record<string, ServerLedgerState> = {};
  for (const [server, s] of Object.entries(data.servers)) {
    if (!isObject(s) || !isText(s.origin) || !isText(s.log_key) || !isText(s.pinned_at) || !isObject(s.orgs)) return undefined;
    const orgs: Record<string, VerifiedCheckpoint> = {};
    for (const [org, c] of Object.entries(s.orgs)) {
      const indices = isObject(c) && isText(c.indices) ? unpackIndices(c.indices) : undefined;
      if (!isObject(c) || !Number.isSafeInteger(c.size) || (c.size as number) < 0 || indices === undefined || !isText(c.root) || !isText(c.checkpoint_at) || !isText(c.verified_at)) return undefined;
      orgs[org] = { size: c.size as number, indices, root: c.root, checkpointAt: c.checkpoint_at, verifiedAt: c.verified_at };
    }
    servers[server] = { pin: { origin: s.origin, logKey: s.log_key, pinnedAt: s.pinned_at }, orgs };
  }
  return { servers };
}

/** Ascending indices as the gaps between them in base 36, dot-separated: some 3 bytes an entry rather than 7. */
function packIndices(indices: readonly number[]): string {
  return indices.map((index, i) => (index - (i === 0 ? 0 : indices[i - 1]!)).toString(36)).join('.');
}

/** What `packIndices` wrote; undefined for anything else. */
function unpackIndices(text: string): number[] | undefined {
  if (text === '') return [];
  const indices: number[] = [];
  let at = 0;
  for (const gap of text.split('.')) {
    if (!/^[0-9a-z]{1,11}$/.test(gap)) return undefined;
    at += parseInt(gap, 36);
    if (!Number.isSafeInteger(at)) return undefined;
    indices.push(at);
  }
  return indices;
}
