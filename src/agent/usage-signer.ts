import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeSignerKey, generateSignerKey, noteSigner, parseNote, signNote, type NoteSigner } from '../ledger/note.ts';
import { parseUsageRecord } from '../ledger/usage-record.ts';

/**
 * What a site's agent vouches for in the usage log (issue 14): it keeps the site's
 * signing key (made at its first start, `<work dir>/site.key`, mode 0600: it never
 * leaves the site), remembers what it saw of each run — when it started and ended
 * here, on how many GPUs — and signs a usage record the control plane asks it to only
 * when the record claims no more than that: a run of this site, the GPUs it was given,
 * and times inside what the agent saw, give or take `toleranceMs` (reports take a
 * moment to reach the control plane). Anything else it refuses, saying why; the
 * control plane then logs the record as its own alone, which every member can see.
 */

/** The name of a site's record key, on its signature lines (the key hash tells sites apart; the name reveals nothing). */
export const SITE_KEY_NAME = 'suanli-site';

interface Seen {
  startedAt?: number;
  endedAt?: number;
  gpus?: number;
}

/** The DER prefix of an Ed25519 private key's 32-byte seed in PKCS #8 (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Runs remembered after they end (the oldest forgotten first): well beyond what the control plane asks to sign. */
const REMEMBERED = 10_000;

export interface UsageToSign {
  readonly id: number;
  readonly record: string;
}

export interface UsageReview {
  readonly signatures: { readonly id: number; readonly signature: string }[];
  readonly refused: { readonly id: number; readonly reason: string }[];
}

export class UsageSigner {
  private key: { readonly signer: NoteSigner; readonly verifierKey: string };
  private readonly seen = new Map<string, Seen>();

  /** `keyPath`: where the site's key is kept (made there if absent). */
  constructor(private readonly keyPath: string, private readonly toleranceMs = 60_000) {
    this.key = UsageSigner.load(keyPath);
  }

  /** The site's verifier key, which its heartbeats present. */
  get verifierKey(): string {
    return this.key.verifierKey;
  }

  /**
   * A new key in place of one the site's org-admin revoked: the old file is kept beside
   * it as `<key file>.revoked-<epoch ms>` (what it signed still verifies), and the new
   * one is presented from the next heartbeat on. Returns where the old one went.
   */
  rotate(now = Date.now()): string {
    const kept = `${this.keyPath}.revoked-${now}`;
    renameSync(this.keyPath, kept);
    this.key = UsageSigner.load(this.keyPath);
    return kept;
  }

  /** The key at `keyPath`, made there (mode 0600) if absent. */
  private static load(keyPath: string): { readonly signer: NoteSigner; readonly verifierKey: string } {
    if (!existsSync(keyPath)) {
      mkdirSync(dirname(keyPath), { recursive: true });
      writeFileSync(keyPath, `${generateSignerKey(SITE_KEY_NAME, new Uint8Array(randomBytes(32))).signerKey}\n`, { mode: 0o600, flag: 'wx' });
    }
    const signerKey = readFileSync(keyPath, 'utf8').trim();
    const { name, key } = decodeSignerKey(signerKey);
    // The library checks the key and names it; node:crypto signs, some twenty times faster than the pure Ed25519 (a site
    // signs every run it ran). The same PKCS #8 wrapping of the seed as the control plane's log key (src/server/log-keys.ts).
    const pure = noteSigner(signerKey);
    const native = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, key]), format: 'der', type: 'pkcs8' });
    const signer: NoteSigner = { name: pure.name, keyHash: pure.keyHash, sign: (text) => new Uint8Array(sign(null, text, native)) };
    return { signer, verifierKey: generateSignerKey(name, key).verifierKey };
  }

  /** The run was given `gpus` GPUs here. */
  assigned(runId: string, gpus: number): void {
    this.note(runId).gpus = gpus;
  }

  /** The run was seen running (or already ended) here, at `at` (ms); the first sighting counts. */
  started(runId: string, at = Date.now()): void {
    const s = this.note(runId);
    s.startedAt ??= at;
  }

  /** The run was seen ended (or stopped) here. */
  ended(runId: string, at = Date.now()): void {
    const s = this.note(runId);
    s.startedAt ??= at;
    s.endedAt ??= at;
  }

  /**
   * Signs the records that claim no more than this site saw; refuses the others, saying
   * why. `knownHere` tells whether the executor knows a run this agent did not watch
   * (it ran before the agent's restart): such a run's times cannot be checked.
   */
  review(items: readonly UsageToSign[], knownHere: (runId: string) => boolean): UsageReview {
    const out: { signatures: { id: number; signature: string }[]; refused: { id: number; reason: string }[] } = { signatures: [], refused: [] };
    for (const item of items) {
      const why = this.objection(item.record, knownHere);
      if (why !== null) {
        out.refused.push({ id: item.id, reason: why });
        continue;
      }
      const note = signNote(item.record, [this.key.signer]);
      const parsed = parseNote(note);
      const signature = parsed.ok ? parsed.signatures.at(-1)?.base64 : undefined;
      if (signature === undefined) out.refused.push({ id: item.id, reason: 'the record could not be signed' });
      else out.signatures.push({ id: item.id, signature });
    }
    return out;
  }

  /** Why this site will not vouch for the record, or null. */
  private objection(text: string, knownHere: (runId: string) => boolean): string | null {
    let record;
    try {
      record = parseUsageRecord(text);
    } catch (err) {
      return `not a usage record: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (record.writer !== 'site') return 'a record for the site to sign says writer site';
    const runId = `${record.jobId}.${record.attempt}`;
    const seen = this.seen.get(runId);
    if (seen === undefined) return knownHere(runId) ? null : `run ${runId} did not run here, as far as this agent knows`;
    if (seen.gpus !== undefined && record.gpus !== seen.gpus) return `run ${runId} had ${seen.gpus} GPUs here, not ${record.gpus}`;
    const tol = this.toleranceMs;
    if (seen.startedAt !== undefined && record.startMs < seen.startedAt - tol) return `run ${runId} started here at ${iso(seen.startedAt)}, not ${iso(record.startMs)}`;
    const end = seen.endedAt ?? Date.now();
    if (record.endMs > end + tol) return `run ${runId} ${seen.endedAt === undefined ? 'still runs' : `ended here at ${iso(end)}`}, not at ${iso(record.endMs)}`;
    return null;
  }

  private note(runId: string): Seen {
    let s = this.seen.get(runId);
    if (s === undefined) {
      s = {};
      this.seen.set(runId, s);
      if (this.seen.size > REMEMBERED) this.seen.delete(this.seen.keys().next().value as string);
    }
    return s;
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
