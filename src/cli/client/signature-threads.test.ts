import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8 } from '../../ledger/encoding.ts';
import { keyId, noteVerifier, openNote, signNote } from '../../ledger/note.ts';
import { nativeSigner, newKeyPair } from '../../server/log-keys.ts';
import { SignatureChecks } from './signature-threads.ts';

const SITE = newKeyPair('suanli-site');
const LOG = newKeyPair('suanli-ledger');
const OTHER = newKeyPair('suanli-site');

/** `n` notes signed by the site then the log, as usage records are. */
function notes(n: number): Uint8Array[] {
  const site = nativeSigner(SITE.signerKey);
  const log = nativeSigner(LOG.signerKey);
  return Array.from({ length: n }, (_, i) => signNote(`record ${i}\n`, [site, log]));
}

test('on threads, each signature checked for its own text: valid ones verify, a copied or forged one does not', async () => {
  const signed = notes(1500); // 3,000 signatures: on threads
  // A hostile server's additions: another text under a valid note's signatures, and a note signed by a key not listed.
  const copied = utf8(new TextDecoder().decode(signed[7]).replace('record 7\n', 'record 7777\n'));
  const stranger = signNote('record x\n', [nativeSigner(OTHER.signerKey), nativeSigner(LOG.signerKey)]);
  const all = [...signed, copied, stranger];
  const checks = new SignatureChecks([SITE.verifierKey, LOG.verifierKey, 'not a key'], 2);
  // As pages arrive: the first alone is too few for threads, the rest starts them.
  checks.add(all.slice(0, 100));
  checks.add(all.slice(100, 1200));
  checks.add(all.slice(1200));
  const verifierOf = await checks.verifierOf();
  const keys = [verifierOf(SITE.verifierKey), verifierOf(LOG.verifierKey)];
  for (const note of signed.slice(0, 50)) assert.deepEqual(openNote(note, keys).ok, true);
  const opened = openNote(copied, keys);
  assert.equal(opened.ok, false, 'the copied signatures were made over another text');
  assert.equal(!opened.ok && opened.reason, 'bad_signature');
  const unknown = openNote(stranger, keys);
  assert.deepEqual(unknown.ok && unknown.verified.map((s) => keyId(s.name, s.keyHash)), [keyId(noteVerifier(LOG.verifierKey).name, noteVerifier(LOG.verifierKey).keyHash)], 'only the log signs it among the keys given');
  // A signature it never saw is checked there and then.
  const fresh = signNote('record new\n', [nativeSigner(SITE.signerKey)]);
  assert.equal(openNote(fresh, keys).ok, true);
  assert.equal(openNote(utf8('record new!\n\n' + new TextDecoder().decode(fresh).split('\n\n')[1]), keys).ok, false);
});

test('a few signatures are checked where they are asked for, with the same answers', async () => {
  const signed = notes(10);
  const checks = new SignatureChecks([SITE.verifierKey, LOG.verifierKey]);
  checks.add(signed);
  const verifierOf = await checks.verifierOf();
  for (const note of signed) assert.equal(openNote(note, [verifierOf(SITE.verifierKey), verifierOf(LOG.verifierKey)]).ok, true);
  const broken = utf8(new TextDecoder().decode(signed[0]).replace('record 0', 'record 9'));
  assert.equal(openNote(broken, [verifierOf(SITE.verifierKey)]).ok, false);
});
