// The usage log seen from outside its normal path, for the ledger's tamper tests and
// bench: site record keys made and enrolled as an agent's first heartbeat does, site
// signatures over pending entries as an agent makes them, many runs booked straight
// into the store and logged through the server's UsageLog, and the database under a
// store (PGlite in memory) for the edits an attacker with its password would make.
import { openDatabase } from '../../src/store/index.ts';
import { KyselyStore } from '../../src/store/store.ts';
import { concatBytes, toBase64, uint32Bytes, utf8 } from '../../src/ledger/encoding.ts';
import { keyId, noteVerifier, type NoteSignature, type NoteSigner } from '../../src/ledger/note.ts';
import { formatUsageRecord } from '../../src/ledger/usage-record.ts';
import { nativeSigner, newKeyPair } from '../../src/server/log-keys.ts';
import type { UsageLog } from '../../src/server/usage-log.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/store/migrations.ts';
import type { LedgerEntry, PendingUsage, Store } from '../../src/store/types.ts';

/** A site's record key, as its agent makes one: the signer it keeps and the verifier key it presents. */
export function siteRecordKey(): { readonly signer: NoteSigner; readonly verifierKey: string } {
  const { signerKey, verifierKey } = newKeyPair('suanli-site');
  return { signer: nativeSigner(signerKey), verifierKey };
}

/** Enrolls a site's record key, as the control plane does at the agent's first heartbeat. */
export async function enrollSiteKey(store: Store, siteId: string, verifierKey: string, at = 0): Promise<void> {
  const v = noteVerifier(verifierKey);
  await store.addSiteKey({ siteId, keyHash: keyId(v.name, v.keyHash), verifierKey, createdAt: at });
}

/** The signature line `signer` makes over the record of a pending entry, as an agent returns it. */
export async function siteSignature(usage: UsageLog, entry: PendingUsage, signer: NoteSigner): Promise<NoteSignature> {
  return recordSignature(signer, formatUsageRecord(await usage.recordOf(entry, 'site')));
}

/** The signature line `signer` makes over a usage record's text (its `base64` is what a heartbeat's usage_signatures carry). */
export function recordSignature(signer: NoteSigner, record: string): NoteSignature {
  const signature = signer.sign(utf8(record));
  return { name: signer.name, keyHash: signer.keyHash, base64: toBase64(concatBytes(uint32Bytes(signer.keyHash), signature)), signature };
}

/**
 * Logs every pending entry, each signed by its site's signer (`signers` by store site id)
 * or, for a site without one or when `alone` says so, by the control plane alone; in
 * batches of `batch`, each append timed (`onBatch`: entries and ms, the sites' signing
 * not counted). Returns how many it logged.
 */
export async function logPending(
  store: Store, usage: UsageLog, signers: ReadonlyMap<string, NoteSigner>,
  o: { readonly alone?: (entry: PendingUsage) => boolean; readonly batch?: number; readonly onBatch?: (entries: number, ms: number) => void } = {},
): Promise<number> {
  const { alone = () => false, batch = 1000, onBatch = () => {} } = o;
  let logged = 0;
  for (;;) {
    const pending = await store.pendingUsage({ endedBefore: Number.MAX_SAFE_INTEGER, limit: batch });
    if (pending.length === 0) return logged;
    const items = await Promise.all(pending.map(async (entry) => {
      const signer = signers.get(entry.siteId);
      return { entry, site: signer === undefined || alone(entry) ? null : await siteSignature(usage, entry, signer) };
    }));
    const t0 = performance.now();
    await usage.append(items);
    onBatch(items.length, performance.now() - t0);
    logged += items.length;
  }
}

/** Books finished runs straight into the store, as the control plane does when runs end (their jobs must exist). */
export async function bookRuns(store: Store, entries: readonly LedgerEntry[], chunk = 5000): Promise<void> {
  for (let i = 0; i < entries.length; i += chunk) await store.transition([], entries.slice(i, i + chunk));
}

/** A store on PGlite in memory, with the database under it: what a test edits as an attacker with the database's password would. */
export async function storeWithDatabase(): Promise<{ readonly store: Store; readonly db: Kysely<Database> }> {
  const { db, kind, close } = await openDatabase({ memory: true });
  return { store: new KyselyStore(db, kind, close), db };
}
