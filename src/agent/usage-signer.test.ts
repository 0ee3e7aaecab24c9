import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fromBase64, readUint32, utf8 } from '../ledger/encoding.ts';
import { noteVerifier } from '../ledger/note.ts';
import { formatUsageRecord, gpuSecondsOf, type UsageRecord } from '../ledger/usage-record.ts';
import { jobId, orgId, siteId } from '../model/ids.ts';
import { UsageSigner } from './usage-signer.ts';

const dir = mkdtempSync(join(tmpdir(), 'suanli-usage-signer-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 0, 1);
function record(patch: Partial<UsageRecord> = {}): string {
  const base = { jobId: jobId('7'), attempt: 1, siteId: siteId('acme:site-1'), consumerOrgId: orgId('beta'), providerOrgId: orgId('acme'), gpuType: 'h100', gpus: 4, startMs: T0, endMs: T0 + 60_000, outcome: 'succeeded', writer: 'site', ...patch } as const;
  return formatUsageRecord({ ...base, gpuSeconds: gpuSecondsOf(base.gpus, base.startMs, base.endMs) });
}

/** Whether `signature` (a signed-note line's base64) is `verifierKey`'s over `text`, by the pure library's Ed25519. */
function signs(verifierKey: string, text: string, signature: string): boolean {
  const raw = fromBase64(signature)!;
  const v = noteVerifier(verifierKey);
  return readUint32(raw) === v.keyHash && v.verify(utf8(text), raw.subarray(4));
}

test('the site key: made once (0600), kept across restarts; it signs what the site saw, as the pure Ed25519 verifies', () => {
  const path = join(dir, 'a', 'site.key');
  const signer = new UsageSigner(path, 1000);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(new UsageSigner(path).verifierKey, signer.verifierKey, 'the same key after a restart');
  signer.assigned('7.1', 4);
  signer.started('7.1', T0);
  signer.ended('7.1', T0 + 60_000);
  const text = record();
  const review = signer.review([{ id: 1, record: text }], () => false);
  assert.deepEqual(review.refused, []);
  assert.ok(signs(signer.verifierKey, text, review.signatures[0]!.signature), 'node:crypto signs what the library verifies');

  // More than it saw: refused, saying why.
  const refused = signer.review([
    { id: 2, record: record({ gpus: 8 }) },
    { id: 3, record: record({ attempt: 2 }) },
    { id: 4, record: record({ endMs: T0 + 3_600_000 }) },
  ], () => false);
  assert.deepEqual(refused.signatures, []);
  assert.deepEqual(refused.refused.map((r) => r.id), [2, 3, 4]);
  assert.match(refused.refused[0]!.reason, /had 4 GPUs here, not 8/);
  assert.match(refused.refused[1]!.reason, /did not run here/);
  assert.match(refused.refused[2]!.reason, /ended here at/);
});

test('rotate: a new key, the old one kept beside it, and records signed by the new one', () => {
  const path = join(dir, 'b', 'site.key');
  const signer = new UsageSigner(path);
  const old = signer.verifierKey;
  const kept = signer.rotate(12345);
  assert.equal(kept, `${path}.revoked-12345`);
  assert.deepEqual(readdirSync(join(dir, 'b')).sort(), ['site.key', 'site.key.revoked-12345']);
  assert.notEqual(signer.verifierKey, old);
  assert.equal(new UsageSigner(path).verifierKey, signer.verifierKey, 'the new key is the one kept');
  signer.ended('7.1', T0 + 60_000);
  const text = record({ startMs: T0 + 60_000 - 1, gpus: 1 });
  const [signature] = signer.review([{ id: 1, record: text }], () => false).signatures;
  assert.ok(signs(signer.verifierKey, text, signature!.signature));
  assert.ok(!signs(old, text, signature!.signature));
});
