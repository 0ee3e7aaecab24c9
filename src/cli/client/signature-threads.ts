import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { equalBytes, toBase64 } from '../../ledger/encoding.ts';
import { keyId, noteVerifier, parseNote, type NoteVerifier } from '../../ledger/note.ts';
import { nativeVerifier, verifierSpki } from '../../server/log-keys.ts';

/**
 * The Ed25519 signatures of many notes checked on every core while they arrive, before
 * an audit reads them: what makes `suanli ledger verify` of 100,000 records take
 * seconds rather than a minute, a site's signature a record being most of its work. The
 * audit stays as it is (pure, one thread): it gets a `verifierOf` whose verifiers
 * answer from these results when they hold one for the same key, signature and text
 * bytes, and check natively otherwise. Nothing is trusted that was not checked: a
 * result counts only for the exact text it was computed over.
 */

/** Signatures checked where they are asked for until this many are queued: threads cost more than they save below it. */
const MIN_PARALLEL = 2000;

type Job = { readonly key: number; readonly text: Uint8Array; readonly signature: Uint8Array };

export class SignatureChecks {
  private readonly keys: { readonly key: string; readonly id: string; readonly spki: Uint8Array }[];
  private readonly byId = new Map<string, number[]>();
  private readonly results = new Map<string, { text: Uint8Array; valid: boolean }[]>();
  private queued: Job[] = [];
  private threads: { readonly worker: Worker; readonly waiting: { resolve(valid: Uint8Array): void; reject(err: unknown): void }[] }[] = [];
  private readonly answers: Promise<void>[] = [];
  private turn = 0;

  /** `verifierKeys`: the keys whose signatures to check (keys that cannot be read are skipped); `threads`: at most this many. */
  constructor(verifierKeys: readonly string[], private readonly threadCount = availableParallelism()) {
    this.keys = [...new Set(verifierKeys)].flatMap((key) => {
      try {
        const v = noteVerifier(key);
        return [{ key, id: keyId(v.name, v.keyHash), spki: new Uint8Array(verifierSpki(key)) }];
      } catch {
        return [];
      }
    });
    this.keys.forEach((k, i) => this.byId.set(k.id, [...(this.byId.get(k.id) ?? []), i]));
  }

  /** Queues every signature line of `notes` by one of the keys; sends them to the threads once there are enough. */
  add(notes: readonly Uint8Array[]): void {
    for (const note of notes) {
      const parsed = parseNote(note);
      if (!parsed.ok) continue;
      for (const sig of parsed.signatures) for (const key of this.byId.get(keyId(sig.name, sig.keyHash)) ?? []) this.queued.push({ key, text: parsed.textBytes, signature: sig.signature });
    }
    if (this.threadCount >= 2 && (this.threads.length > 0 || this.queued.length >= MIN_PARALLEL)) this.send();
  }

  /** Waits for every answer, stops the threads, and gives the verifiers to audit with. */
  async verifierOf(): Promise<(verifierKey: string) => NoteVerifier> {
    if (this.threads.length > 0) this.send();
    try {
      await Promise.all(this.answers);
    } finally {
      await Promise.all(this.threads.map((t) => t.worker.terminate()));
      this.threads = [];
    }
    const indexOf = new Map(this.keys.map((k, i) => [k.key, i]));
    return (verifierKey) => {
      const native = nativeVerifier(verifierKey);
      const index = indexOf.get(verifierKey);
      return {
        name: native.name, keyHash: native.keyHash,
        verify: (text, signature) => {
          const known = index === undefined ? undefined : this.results.get(`${index}:${toBase64(signature)}`)?.find((r) => equalBytes(r.text, text));
          return known === undefined ? native.verify(text, signature) : known.valid;
        },
      };
    };
  }

  /** The queued jobs to the next thread (started at the first call), their answers recorded when they come. */
  private send(): void {
    const jobs = this.queued;
    this.queued = [];
    if (jobs.length === 0) return;
    if (this.threads.length === 0) {
      const spkis = this.keys.map((k) => k.spki);
      this.threads = Array.from({ length: this.threadCount }, () => {
        const worker = new Worker(WORKER, { eval: true, workerData: spkis });
        worker.unref(); // never what keeps the process alive: a verify that fails early exits all the same
        const waiting: { resolve(valid: Uint8Array): void; reject(err: unknown): void }[] = [];
        worker.on('message', (valid: Uint8Array) => waiting.shift()?.resolve(valid));
        worker.on('error', (err) => waiting.splice(0).forEach((w) => w.reject(err)));
        return { worker, waiting };
      });
    }
    const thread = this.threads[this.turn++ % this.threads.length]!;
    this.answers.push(new Promise<Uint8Array>((resolve, reject) => {
      thread.waiting.push({ resolve, reject });
      thread.worker.postMessage(jobs);
    }).then((valid) => jobs.forEach((job, i) => {
      const at = `${job.key}:${toBase64(job.signature)}`;
      this.results.set(at, [...(this.results.get(at) ?? []), { text: job.text, valid: valid[i] === 1 }]);
    })));
  }
}

/** A thread's whole program: the public keys (SPKI DER) as its data; jobs in, one byte a job out (1: the signature verifies), in order. */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
const keys = workerData.map((k) => createPublicKey({ key: Buffer.from(k), format: 'der', type: 'spki' }));
parentPort.on('message', (jobs) => {
  const valid = new Uint8Array(jobs.length);
  for (let i = 0; i < jobs.length; i++) {
    const { key, text, signature } = jobs[i];
    try { valid[i] = signature.length === 64 && verify(null, text, keys[key], signature) ? 1 : 0; } catch { valid[i] = 0; }
  }
  parentPort.postMessage(valid, [valid.buffer]);
});`;
