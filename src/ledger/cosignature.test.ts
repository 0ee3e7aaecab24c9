import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { test } from 'node:test';
import { fromBase64, utf8 } from './encoding.ts';
import { cosignatureMessage, cosignatureSigner, cosignatureTime, cosignatureVerifier, cosignerKeyHash, generateCosignerKey } from './cosignature.ts';
import { generateSignerKey, noteSigner, noteVerifier, openNote, signNote, type NoteSignature } from './note.ts';

// c2sp.org/tlog-cosignature: the example checkpoint, its cosignature line, and the signed message at its time.
const SPEC_CHECKPOINT = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
const SPEC_NOTE = `${SPEC_CHECKPOINT}\n— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n`;

const seed = (n: number) => new Uint8Array(32).fill(n);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

test("the signed message is the spec's: two header lines, then the checkpoint's note text", () => {
  assert.equal(text(cosignatureMessage(SPEC_CHECKPOINT, 1679315147)), `cosignature/v1\ntime 1679315147\n${SPEC_CHECKPOINT}`);
  assert.equal(text(cosignatureMessage(`${SPEC_CHECKPOINT}ext\n`, 0)), `cosignature/v1\ntime 0\n${SPEC_CHECKPOINT}ext\n`);
  assert.throws(() => cosignatureMessage(SPEC_CHECKPOINT, -1), { field: 'atS' });
  assert.throws(() => cosignatureMessage(SPEC_CHECKPOINT, 1.5), { field: 'atS' });
  assert.throws(() => cosignatureMessage('no newline', 1), { field: 'checkpointText' });
});

test("the spec's example cosignature line carries the key hash and the time of its example message", () => {
  const opened = openNote(utf8(SPEC_NOTE), []);
  assert.ok(!opened.ok && opened.reason === 'unverified');
  const w1 = opened.unknown.find((s) => s.name === 'witness.example.com/w1')!;
  assert.equal(w1.keyHash, 0x8d66cf3f);
  assert.equal(cosignatureTime(w1), 1679315147);
  const log = opened.unknown.find((s) => s.name === 'example.com/behind-the-sofa')!;
  assert.equal(cosignatureTime(log), undefined, 'a plain Ed25519 note signature is no cosignature');
});

test('cosigner verifier keys and timestamps as transparency-dev/formats reads them (note_cosigv1_test.go)', () => {
  const remora = cosignatureVerifier('remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2');
  assert.equal(remora.keyHash, 0xda77ade7);
  assert.equal(cosignerKeyHash('remora.n621.de', fromBase64('BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2')!.subarray(1)), 0xda77ade7);
  // A plain Ed25519 vkey (type 0x01) is taken as the same key's cosigner key: another key hash.
  const plain = cosignatureVerifier('TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6');
  assert.equal(plain.keyHash, cosignerKeyHash('TEST', fromBase64('AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6')!.subarray(1)));
  assert.notEqual(plain.keyHash, 0x7997405c);
  for (const bad of ['bananas.sigstore.dev+12344556', 'rekor.sigstore.dev+12345678+THIS_IS_NOT_BASE64!', 'rekor.sigstore.dev+12345678+AwEB', 'remora.n621.de+00000000+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2']) {
    assert.throws(() => cosignatureVerifier(bad), { code: 'invalid_input', field: 'verifierKey' }, bad);
  }
  const sig = (base64: string): NoteSignature => ({ name: 'w', keyHash: 0, base64, signature: fromBase64(base64)!.subarray(4) });
  assert.equal(cosignatureTime(sig('ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==')), 1727964367);
  assert.equal(cosignatureTime(sig('eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xkNQY=')), undefined, 'wrong type of signature');
});

test('a cosignature verifies with its cosigner key, states its time, covers extension lines, and is checked by Ed25519 itself', () => {
  const { signerKey, verifierKey } = generateCosignerKey('witness.example/w1', seed(3));
  assert.match(verifierKey, /^witness\.example\/w1\+[0-9a-f]{8}\+B/, 'a type 0x04 key');
  const at = 1_790_000_000;
  const body = `${SPEC_CHECKPOINT}extension\n`;
  const note = signNote(body, [cosignatureSigner(signerKey, at)]);
  const verifier = cosignatureVerifier(verifierKey);
  const opened = openNote(note, [verifier]);
  assert.ok(opened.ok, JSON.stringify(opened));
  assert.equal(cosignatureTime(opened.verified[0]!), at);

  // Ed25519 as Node's OpenSSL implements it accepts the signature over the spec's message.
  const publicKey = fromBase64(verifierKey.split('+')[2]!)!.subarray(1);
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' });
  assert.ok(verify(null, cosignatureMessage(body, at), key, opened.verified[0]!.signature.subarray(8)));

  // The extension line is signed: changing it breaks the cosignature.
  const altered = text(note).replace('extension', 'extensioN');
  assert.equal(openNote(utf8(altered), [verifier]).ok, false);
  // So is the time: the same signature under another timestamp does not verify.
  const raw = fromBase64(opened.verified[0]!.base64)!;
  raw[11]! ^= 1;
  const retimed = text(note).replace(opened.verified[0]!.base64, Buffer.from(raw).toString('base64'));
  assert.equal(openNote(utf8(retimed), [verifier]).ok, false);
});

test('cosigner keys are not note keys: neither verifies the other kind of signature', () => {
  const cosigner = generateCosignerKey('w', seed(5));
  const plain = generateSignerKey('w', seed(5));
  const cosigned = signNote(SPEC_CHECKPOINT, [cosignatureSigner(cosigner.signerKey, 1)]);
  const opened = openNote(cosigned, [noteVerifier(plain.verifierKey)]);
  assert.ok(!opened.ok && opened.reason === 'unverified', 'a plain vkey of the same key does not match the cosignature');
  assert.throws(() => cosignatureSigner(plain.signerKey, 1), { field: 'signerKey' });
  assert.throws(() => noteSigner(cosigner.signerKey), { field: 'signerKey' });
  assert.throws(() => noteVerifier(cosigner.verifierKey), { field: 'verifierKey' });
  assert.throws(() => cosignatureSigner(cosigner.signerKey, -5), { field: 'atS' });
});
