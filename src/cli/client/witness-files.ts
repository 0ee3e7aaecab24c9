import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { COSIGNATURE_TYPE, generateCosignerKey } from '../../ledger/cosignature.ts';
import { decodeSignerKey, type NoteKeyPair } from '../../ledger/note.ts';
import { configPath } from './config.ts';
import { ClientError } from './errors.ts';

/**
 * What a witness keeps, in one directory (default `witness/` beside the CLI's config
 * file; mode 0700, every file 0600):
 *
 * - `witness.key` — its cosigner signer key, made at the first run and never replaced;
 * - `<server>.json` — per control plane: the log key and origin it pinned, the last
 *   checkpoint it cosigned (size, root and the log's signed note), and once found, the
 *   split view's evidence file; written before a cosignature leaves, so that a crash
 *   can never let it cosign two trees that do not agree;
 * - `split-view-<server>-<time>.txt` — the evidence of a split view: both checkpoints.
 */

/** The last checkpoint a witness cosigned on one control plane. */
export interface CosignedCheckpoint {
  readonly size: number;
  /** base64, as the checkpoint states it. */
  readonly root: string;
  /** The checkpoint as the log signed it (its note), kept as evidence should the log later disown it. */
  readonly note: string;
  readonly cosignedAt: string;
}

/** What a witness keeps per control plane. */
export interface WitnessState {
  readonly server: string;
  readonly origin: string;
  /** The log's verifier key, pinned at the first run (or given by --log-key). */
  readonly logKey: string;
  readonly cosigned: CosignedCheckpoint | null;
  /** The evidence file of a split view found on this server; the witness cosigns nothing more from it while set. */
  readonly splitView: string | null;
}

/** --dir, else `witness/` beside the config file ($SUANLI_CONFIG, $XDG_CONFIG_HOME/suanli, ~/.config/suanli). */
export function witnessDir(flag: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): string {
  return flag ?? join(dirname(configPath(env)), 'witness');
}

/** `127.0.0.1_8040`: a control plane's URL as a file name. */
export const serverSlug = (server: string): string => server.replace(/^https?:\/\//, '').replace(/[^A-Za-z0-9.-]+/g, '_');

export const statePath = (dir: string, server: string): string => join(dir, `${serverSlug(server)}.json`);

/**
 * The witness's cosigner key from `<dir>/witness.key`, made there (named by `name()`)
 * when there is none. A file that holds no cosigner signer key is a `bad_config` error.
 */
export async function witnessKey(dir: string, name: () => Promise<string>): Promise<NoteKeyPair & { readonly path: string; readonly created: boolean }> {
  const path = join(dir, 'witness.key');
  let text: string | undefined;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw new ClientError('bad_config', `cannot read the witness key ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (text === undefined) {
    const pair = generateCosignerKey(await name(), new Uint8Array(randomBytes(32)));
    await writePrivate(path, `${pair.signerKey}\n`, 'wx');
    return { ...pair, path, created: true };
  }
  try {
    const { name: keyName, type, key } = decodeSignerKey(text);
    if (type !== COSIGNATURE_TYPE) throw new Error(`key type ${type}`);
    const pair = generateCosignerKey(keyName, key);
    if (pair.signerKey !== text) throw new Error('the key hash does not match the key');
    return { ...pair, path, created: false };
  } catch (err) {
    throw new ClientError('bad_config', `${path} does not hold a cosigner signer key (PRIVATE+KEY+<name>+<hash>+<key>, type 4); move it away to make a new key`, { cause: err });
  }
}

/** The witness's state for one server; null before its first run there. A file not as written is a `bad_config` error. */
export async function readState(path: string): Promise<WitnessState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return null;
    throw new ClientError('bad_config', `cannot read the witness state ${path}: ${(err as Error).message}`, { cause: err });
  }
  const bad = () => new ClientError('bad_config', `the witness state ${path} is not as the witness wrote it; restore it, or move it away to start again (trusting the log anew)`);
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ClientError('bad_config', bad().message, { cause: err });
  }
  const c = o.cosigned as Record<string, unknown> | null | undefined;
  const isText = (v: unknown): v is string => typeof v === 'string';
  if (typeof o !== 'object' || o === null || !isText(o.server) || !isText(o.origin) || !isText(o.log_key) || !(o.split_view === null || isText(o.split_view))) throw bad();
  if (c !== null && (typeof c !== 'object' || !Number.isSafeInteger(c.size) || !isText(c.root) || !isText(c.note) || !isText(c.cosigned_at))) throw bad();
  return {
    server: o.server, origin: o.origin, logKey: o.log_key, splitView: o.split_view,
    cosigned: c === null ? null : { size: c.size as number, root: c.root as string, note: c.note as string, cosignedAt: c.cosigned_at as string },
  };
}

/** Saves the state, replacing the file atomically: a reader (or a crash) never sees half of it. */
export async function writeState(path: string, s: WitnessState): Promise<void> {
  const c = s.cosigned;
  const json = { server: s.server, origin: s.origin, log_key: s.logKey, cosigned: c === null ? null : { size: c.size, root: c.root, note: c.note, cosigned_at: c.cosignedAt }, split_view: s.splitView };
  await writePrivate(path, `${JSON.stringify(json, null, 2)}\n`);
}

/** Writes the evidence of a split view found on `server` at `at`; returns the file's path. */
export async function writeEvidence(dir: string, server: string, at: Date, text: string): Promise<string> {
  const path = join(dir, `split-view-${serverSlug(server)}-${at.toISOString().replace(/[-:]|\.\d+/g, '')}.txt`);
  await writePrivate(path, text, 'wx');
  return path;
}

/**
 * Writes a file only its owner can read, in a directory only its owner can enter:
 * `wx` makes it only if it does not exist; otherwise it replaces it atomically.
 */
async function writePrivate(path: string, text: string, flag: 'wx' | 'replace' = 'replace'): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  if (flag === 'wx') {
    await writeFile(path, text, { mode: 0o600, flag: 'wx' });
    return;
  }
  const temporary = `${path}.${process.pid}.tmp`;
  await rm(temporary, { force: true });
  await writeFile(temporary, text, { mode: 0o600, flag: 'wx' });
  await rename(temporary, path);
}
