import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fromBase64, utf8 } from './encoding.ts';
import { ed25519VerifierKey, generateSignerKey, keyHash, noteSigner, noteVerifier, openNote, signNote, type NoteOpening, type NoteSignature } from './note.ts';

// Vectors from Go's golang.org/x/mod/sumdb/note (note_test.go and the package doc).
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG = '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG = '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';
const PETER = { name: 'PeterNeumann', keyHash: 0xc74f20a3, base64: 'x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=' };
const ENOCH = { name: 'EnochRoot', keyHash: 0xaf0cfe78, base64: 'rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=' };

const peter = noteVerifier(PETER_VKEY);
const enoch = noteVerifier(ENOCH_VKEY);
/** The signatures of an opening, without their decoded bytes, to compare with Go's Signature values. */
const lines = (sigs: readonly NoteSignature[]) => sigs.map(({ name, keyHash: hash, base64 }) => ({ name, keyHash: hash, base64 }));
const open = (s: string, verifiers = [peter]): NoteOpening => openNote(utf8(s), verifiers);

test("verifier and signer keys parse as Go's, and every mangling of them is refused (TestNewVerifier, TestNewSigner)", () => {
  assert.equal(peter.name, 'PeterNeumann');
  assert.equal(peter.keyHash, 0xc74f20a3);
  const signer = noteSigner(PETER_SKEY);
  assert.equal(signer.keyHash, 0xc74f20a3);
  for (const [key, parse] of [
    [PETER_VKEY, noteVerifier],
    [PETER_SKEY, noteSigner],
  ] as const) {
    for (let i = 0; i <= key.length; i++) {
      for (let j = i + 1; j <= key.length; j++) if (i !== 0 || j !== key.length) assert.throws(() => parse(key.slice(i, j)), { code: 'invalid_input' }, key.slice(i, j));
    }
    for (let i = 0; i < key.length; i++) {
      const mangled = key.slice(0, i) + String.fromCharCode(key.charCodeAt(i) + 1) + key.slice(i + 1);
      assert.throws(() => parse(mangled), { code: 'invalid_input' }, mangled);
    }
  }
  assert.throws(() => noteVerifier('PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=='), { field: 'verifierKey' }, 'wrong length key, with adjusted key hash');
  assert.throws(() => noteVerifier('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'), { field: 'verifierKey' }, 'unknown algorithm, with adjusted key hash');
  // A signer key's secret never appears in the error.
  assert.throws(() => noteSigner(PETER_SKEY.replace('c74f20a3', 'c74f20a4')), (err: Error) => !err.message.includes('AYEKFALV'));
});

test('a key generated from a seed is the one Go encodes for that seed', () => {
  const seed = fromBase64('AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz')!.subarray(1);
  assert.deepEqual(generateSignerKey('PeterNeumann', seed), { signerKey: PETER_SKEY, verifierKey: PETER_VKEY });
  const publicKey = fromBase64('ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW')!.subarray(1);
  assert.equal(ed25519VerifierKey('PeterNeumann', publicKey), PETER_VKEY);
  assert.equal(keyHash('PeterNeumann', 1, publicKey), 0xc74f20a3);
  assert.throws(() => generateSignerKey('PeterNeumann', seed.subarray(1)), { field: 'seed' });
  assert.throws(() => generateSignerKey('Peter Neumann', seed), { field: 'name' });
  assert.throws(() => generateSignerKey('Peter+Neumann', seed), { field: 'name' });
  assert.throws(() => ed25519VerifierKey('PeterNeumann', publicKey.subarray(1)), { field: 'publicKey' });
});

test('property: a generated key signs what its verifier accepts, and nothing altered (TestGenerateKey)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.string({ minLength: 1, maxLength: 40 }), (seed, body) => {
      const { signerKey, verifierKey } = generateSignerKey('EnochRoot', seed);
      const signer = noteSigner(signerKey);
      const verifier = noteVerifier(verifierKey);
      assert.equal(signer.keyHash, verifier.keyHash);
      const msg = utf8('hi');
      const sig = signer.sign(msg);
      assert.ok(verifier.verify(msg, sig));
      const bad = sig.slice();
      bad[0]! ^= 1;
      assert.ok(!verifier.verify(msg, bad));
      assert.ok(!verifier.verify(utf8('hj'), sig));
      const text = `${body.replace(/[\u0000-\u001f]/g, '.')}\n`;
      if (!/\p{Cs}/u.test(text)) {
        const opened = openNote(signNote(text, [signer]), [verifier]);
        assert.ok(opened.ok && opened.text === text, JSON.stringify(opened));
      }
    }),
    { numRuns: 40 },
  );
});

test("signing gives Go's exact note, and a key's new signature replaces its old one (TestSign)", () => {
  const signer = noteSigner(PETER_SKEY);
  const want = `${TEXT}\n${PETER_SIG}`;
  assert.equal(new TextDecoder().decode(signNote(TEXT, [signer])), want);
  assert.equal(new TextDecoder().decode(signNote(TEXT, [signer], [{ name: 'PeterNeumann', keyHash: 0xc74f20a3, base64: 'x08go/ZJ', signature: new Uint8Array(2) }])), want);
  assert.throws(() => signNote('abc', [signer]), { field: 'text' });
  assert.throws(() => signNote('a\u0001b\n', [signer]), { field: 'text' });
  assert.throws(() => signNote('\ud800\n', [signer]), { field: 'text' });
  assert.throws(() => signNote(TEXT, [], [{ name: 'a+b', keyHash: 0, base64: 'ABCD', signature: new Uint8Array() }]), { field: 'existing[0]' });
  assert.throws(() => signNote(TEXT, [], [{ name: 'PeterNeumann', keyHash: 0xc74f20a3, base64: 'BADHASH=', signature: new Uint8Array() }]), { field: 'existing[0]' });
  assert.throws(() => signNote(TEXT, [{ ...signer, name: 'bad name' }]), { field: 'signers[0].name' });
  assert.throws(() => signNote(TEXT, []), { field: 'signers' });
  // Adding a signature to a note someone else signed keeps theirs first.
  const opened = open(`${TEXT}\n${ENOCH_SIG}`, [enoch]);
  assert.ok(opened.ok);
  assert.equal(new TextDecoder().decode(signNote(opened.text, [signer], opened.signatures)), `${TEXT}\n${ENOCH_SIG}${PETER_SIG}`);
});

test('opening says which signatures verified and which keys are unknown (TestOpen)', () => {
  const both = `${TEXT}\n${PETER_SIG}${ENOCH_SIG}`;
  let n = open(both);
  assert.ok(n.ok);
  assert.equal(n.text, TEXT);
  assert.deepEqual(lines(n.verified), [PETER]);
  assert.deepEqual(lines(n.unknown), [ENOCH]);

  n = open(both, [peter, enoch]);
  assert.ok(n.ok);
  assert.deepEqual(lines(n.verified), [PETER, ENOCH]);
  assert.deepEqual(n.unknown, []);

  n = open(both, []);
  assert.ok(!n.ok && n.reason === 'unverified');
  assert.equal(n.detail, 'note has no verifiable signatures');
  assert.deepEqual(lines(n.unknown), [PETER, ENOCH]);
  assert.equal(n.text, TEXT);

  n = open(`${TEXT}\n${ENOCH_SIG}`, [enoch, peter, enoch]);
  assert.ok(!n.ok && n.reason === 'ambiguous_key' && n.key === 'EnochRoot+af0cfe78');
  assert.ok(open(`${TEXT}\n${PETER_SIG}`, [enoch, peter, enoch]).ok, 'an unused duplicated verifier');

  for (const verifiers of [[peter], []]) {
    n = open(`${TEXT}\n${PETER_SIG.repeat(101)}`, verifiers);
    assert.ok(!n.ok && n.reason === 'malformed', 'too many signatures');
  }
  assert.ok(open(`${TEXT}\n${PETER_SIG.repeat(100)}`).ok, 'a hundred');

  n = open(`${TEXT}\n${PETER_SIG.slice(0, 58)}ABCD${PETER_SIG.slice(58)}`);
  assert.deepEqual(n, { ok: false, reason: 'bad_signature', key: 'PeterNeumann+c74f20a3', detail: 'invalid signature for key PeterNeumann+c74f20a3' });

  // Duplicated verified and unverified signatures: one each, but a differing unknown line stays.
  // (Go slices bytes: its [:60] is [:58] here, the em dash being 3 bytes and 1 character.)
  const enochAbcd = `${ENOCH_SIG.slice(0, 58)}ABCD${ENOCH_SIG.slice(58)}`;
  n = open(`${TEXT}\n${PETER_SIG}${PETER_SIG}${ENOCH_SIG}${ENOCH_SIG}${enochAbcd}`);
  assert.ok(n.ok);
  assert.deepEqual(lines(n.verified), [PETER]);
  assert.deepEqual(lines(n.unknown), [ENOCH, { ...ENOCH, base64: `${ENOCH.base64.slice(0, 46)}ABCD${ENOCH.base64.slice(46)}` }]);
});

test('malformed notes are refused with the line named (TestOpen bad messages)', () => {
  const bad: [string, number][] = [
    [TEXT, 3],
    [`${TEXT}\n`, 4],
    [`${TEXT}\n${PETER_SIG.slice(0, -1)}`, 4],
    [`\u0001${TEXT}\n${PETER_SIG}`, 1],
    [`${TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`, 4],
    [`${TEXT}\n${PETER_SIG}Unexpected line.\n`, 5],
    [`${TEXT}\n- PeterNeumann ${PETER.base64}\n`, 4],
    [`${TEXT}\n— PeterNeumann\n`, 4],
    [`${TEXT}\n— PeterNeumann AAAA\n`, 4],
    [`${TEXT}\n— PeterNeumann ${PETER.base64.slice(0, -2)}\n`, 4],
    [`${TEXT}\n— Peter+Neumann ${PETER.base64}\n`, 4],
  ];
  for (const [msg, line] of bad) assert.deepEqual(pick(open(msg)), { reason: 'malformed', line }, JSON.stringify(msg));
  const invalidUtf8 = new Uint8Array([...utf8('ok\n'), 0xff, ...utf8(`${TEXT}\n${PETER_SIG}`)]);
  assert.deepEqual(pick(openNote(invalidUtf8, [peter])), { reason: 'malformed', line: 2 });
  assert.equal(pick(openNote('not bytes' as never, [peter])).reason, 'malformed');
});

test("the C2SP signed-note example and a sum.golang.org checkpoint open with their published keys", () => {
  // c2sp.org/signed-note "Example".
  const example = noteVerifier('example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k');
  const opened = openNote(utf8('This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n'), [example]);
  assert.ok(opened.ok && opened.text === 'This is an example message.\n');
  // transparency-dev/formats log/note_test.go: a checkpoint of the Go checksum database.
  const sumdb = noteVerifier('sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8');
  const checkpoint = 'go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n— sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n';
  const cp = openNote(utf8(checkpoint), [sumdb]);
  assert.ok(cp.ok && cp.text === 'go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n');
  assert.equal(pick(openNote(utf8(checkpoint.replace('6476701', '6476702')), [sumdb])).reason, 'bad_signature');
});

test('a verifier that throws counts as a failed signature, not a crash', () => {
  const throwing = { name: 'PeterNeumann', keyHash: 0xc74f20a3, verify: () => { throw new Error('boom'); } };
  assert.equal(pick(open(`${TEXT}\n${PETER_SIG}`, [throwing])).reason, 'bad_signature');
});

function pick(o: NoteOpening): { reason: string; line?: number } {
  if (o.ok) return { reason: 'ok' };
  return o.reason === 'malformed' ? { reason: o.reason, line: o.line } : { reason: o.reason };
}
