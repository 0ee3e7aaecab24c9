import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { equalBytes, toBase64 } from '../../ledger/encoding.ts';
import { keyId, noteVerifier, parseNote, type NoteVerifier } from '../../ledger/note.ts';
import { nativeVerifier, verifierSpki } from '../../server/log-keys.ts';

/**
 * The Ed25519 signatures of many notes checked on every core before an audit reads
 * them: what makes `suanli ledger verify` of 100,000 records take seconds rather than
 * a minute, two signatures a record being most of its work. The audit stays as it is
 * (pure, one thread): it gets a `verifierOf` whose verifiers answer from these
 * results when they hold one for the same key, signature and text bytes, and check
 * natively otherwise. Nothing is trusted that was not checked: a result counts only
 * for the exact text it was computed over.
 */

/** Below this many signatures a thread costs more than it saves. */
const MIN_PARALLEL = 2000;

/**
 * Checks every signature line of `notes` by one of `verifierKeys` (keys that cannot be
 * read are skipped) on up to `threads` worker threads; returns the `verifierOf` to
 * audit with.
 */
export async function precheckedVerifiers(notes: readonly Uint8Array[], verifierKeys: readonly string[], threads = availableParallelism()): Promise<(verifierKey: string) => NoteVerifier> {
  const keys = [...new Set(verifierKeys)].flatMap((key) => {
    try {
      const v = noteVerifier(key);
      return [{ key, id: keyId(v.name, v.keyHash), spki: verifierSpki(key) }];
    } catch {
      return [];
    }
  });
  const byId = new Map<string, number[]>();
  keys.forEach((k, i) => byId.set(k.id, [...(byId.get(k.id) ?? []), i]));
  const jobs: { key: number; text: Uint8Array; signature: Uint8Array }[] = [];
  for (const note of notes) {
    const parsed = parseNote(note);
    if (!parsed.ok) continue;
    for (const sig of parsed.signatures) for (const key of byId.get(keyId(sig.name, sig.keyHash)) ?? []) jobs.push({ key, text: parsed.textBytes, signature: sig.signature });
  }
  const results = new Map<string, { text: Uint8Array; valid: boolean }[]>();
  if (jobs.length >= MIN_PARALLEL && threads >= 2) {
    const size = Math.ceil(jobs.length / threads);
    const chunks = Array.from({ length: threads }, (_, t) => jobs.slice(t * size, (t + 1) * size)).filter((c) => c.length > 0);
    const answers = await Promise.all(chunks.map((chunk) => checkOnThread(keys.map((k) => k.spki), chunk)));
    chunks.forEach((chunk, c) => chunk.forEach((job, i) => {
      const at = `${job.key}:${toBase64(job.signature)}`;
      results.set(at, [...(results.get(at) ?? []), { text: job.text, valid: answers[c]![i] === 1 }]);
    }));
  }
  const indexOf = new Map(keys.map((k, i) => [k.key, i]));
  return (verifierKey) => {
    const native = nativeVerifier(verifierKey);
    const index = indexOf.get(verifierKey);
    return {
      name: native.name, keyHash: native.keyHash,
      verify: (text, signature) => {
        const known = index === undefined ? undefined : results.get(`${index}:${toBase64(signature)}`)?.find((r) => equalBytes(r.text, text));
        return known === undefined ? native.verify(text, signature) : known.valid;
      },
    };
  };
}

/** A worker's whole program: public keys (SPKI DER) and jobs in, one byte per job out (1: the signature verifies). */
const WORKER = `
const { parentPort } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
parentPort.once('message', ({ keys, jobs }) => {
  const objects = keys.map((k) => createPublicKey({ key: Buffer.from(k), format: 'der', type: 'spki' }));
  const valid = new Uint8Array(jobs.length);
  for (let i = 0; i < jobs.length; i++) {
    const { key, text, signature } = jobs[i];
    try { valid[i] = signature.length === 64 && verify(null, text, objects[key], signature) ? 1 : 0; } catch { valid[i] = 0; }
  }
  parentPort.postMessage(valid, [valid.buffer]);
});`;

function checkOnThread(keys: readonly Uint8Array[], jobs: readonly { key: number; text: Uint8Array; signature: Uint8Array }[]): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true });
    worker.once('message', (valid: Uint8Array) => {
      resolve(valid);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.postMessage({ keys, jobs });
  });
}
