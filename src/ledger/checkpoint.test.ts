import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cosignCheckpoint, formatCheckpoint, openCheckpoint, parseCheckpoint, type CheckpointOpening } from './checkpoint.ts';
import { cosignatureSigner, cosignatureVerifier, generateCosignerKey } from './cosignature.ts';
import { fromBase64, toBase64, utf8 } from './encoding.ts';
import { leafHash, merkleTreeHash } from './merkle.ts';
import { generateSignerKey, noteSigner, noteVerifier, openNote, signNote } from './note.ts';

const seed = (n: number) => new Uint8Array(32).fill(n);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const reasonOf = (o: CheckpointOpening | { ok: true }) => (o.ok ? 'ok' : o.reason);

test("a checkpoint's text is Go's tree note and the C2SP example, both ways", () => {
  // Go sumdb/tlog note_test.go TestFormatTree / TestParseTree.
  const golden = 'go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n';
  const tree = { origin: 'go.sum database tree', size: 123456789012, rootHash: leafHash(utf8('hello world')), extensions: [] };
  assert.equal(formatCheckpoint(tree), golden);
  assert.deepEqual(parseCheckpoint(golden), tree);
  assert.deepEqual(parseCheckpoint(`${golden}JOE\n`).extensions, ['JOE'], 'lines after the root are extensions');
  // c2sp.org/tlog-checkpoint example.
  const example = parseCheckpoint('example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n');
  assert.equal(example.origin, 'example.com/behind-the-sofa');
  assert.equal(example.size, 20852163);
  assert.equal(toBase64(example.rootHash), 'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=');
  assert.equal(formatCheckpoint({ origin: 'log', size: 0, rootHash: merkleTreeHash([]), extensions: [] }), 'log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n');
});

test('a text that is no checkpoint is refused with its line named', () => {
  const root = 'TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=';
  const cases: [string, string][] = [
    [`go.sum database tree\n0xabcdef\n${root}\n`, 'checkpoint line 2'],
    ['go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n', 'checkpoint line 3'],
    [`log\n012\n${root}\n`, 'checkpoint line 2'],
    [`log\n9007199254740992\n${root}\n`, 'checkpoint line 2'],
    [`log\n-1\n${root}\n`, 'checkpoint line 2'],
    ['log\n5\n', 'checkpoint line 3'],
    ['log\n', 'checkpoint line 2'],
    [`\n5\n${root}\n`, 'checkpoint line 1'],
    [`log\n5\n${root}\n\n`, 'checkpoint line 4'],
    [`log\n5\n${root}\next\n\nmore\n`, 'checkpoint line 5'],
    [`log\n5\n${root}`, 'checkpoint line 3'],
    [`log\n5\n${root.slice(0, -4)}\n`, 'checkpoint line 3'],
    [`lo\u0007g\n5\n${root}\n`, 'checkpoint line 1'],
  ];
  for (const [bad, field] of cases) assert.throws(() => parseCheckpoint(bad), { code: 'invalid_input', field }, JSON.stringify(bad));
  const ok = { origin: 'log', size: 5, rootHash: fromBase64(root)!, extensions: [] };
  assert.throws(() => formatCheckpoint({ ...ok, origin: '' }), { field: 'origin' });
  assert.throws(() => formatCheckpoint({ ...ok, origin: 'a\nb' }), { field: 'origin' });
  assert.throws(() => formatCheckpoint({ ...ok, size: -1 }), { field: 'size' });
  assert.throws(() => formatCheckpoint({ ...ok, rootHash: new Uint8Array(31) }), { field: 'rootHash' });
  assert.throws(() => formatCheckpoint({ ...ok, extensions: [''] }), { field: 'extensions[0]' });
});

test('a sum.golang.org checkpoint opens for its origin and key, and not for another origin (transparency-dev/formats)', () => {
  const note = utf8('go.sum database tree\n6476701\nmb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n— sum.golang.org Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n');
  const log = noteVerifier('sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8');
  const opened = openCheckpoint(note, { origin: 'go.sum database tree', log });
  assert.ok(opened.ok);
  assert.equal(opened.checkpoint.size, 6476701);
  assert.deepEqual(opened.cosignatures, []);
  assert.equal(reasonOf(openCheckpoint(note, { origin: 'Go rocks but I might have the wrong ID', log })), 'wrong_origin');
});

test('witnesses cosign a checkpoint one after the other; a member counts the cosigners it trusts', () => {
  const origin = 'suanli.example/ledger';
  const logKey = generateSignerKey(origin, seed(1));
  const log = noteVerifier(logKey.verifierKey);
  const [w1, w2, w3] = [11, 12, 13].map((n) => generateCosignerKey(`witness-${n}.example`, seed(n)));
  const checkpoint = { origin, size: 3, rootHash: merkleTreeHash(['a', 'b', 'c'].map((s) => leafHash(utf8(s)))), extensions: [] };
  const signed = signNote(formatCheckpoint(checkpoint), [noteSigner(logKey.signerKey)]);

  const first = cosignCheckpoint(signed, { origin, log }, cosignatureSigner(w1!.signerKey, 1_800_000_000));
  assert.ok(first.ok);
  const second = cosignCheckpoint(first.note, { origin, log }, cosignatureSigner(w2!.signerKey, 1_800_000_060));
  assert.ok(second.ok);
  const third = cosignCheckpoint(second.note, { origin, log }, cosignatureSigner(w3!.signerKey, 1_800_000_120));
  assert.ok(third.ok);
  const lines = text(third.note).split('\n').filter((l) => l.startsWith('—'));
  assert.deepEqual(lines.map((l) => l.split(' ')[1]), [origin, 'witness-11.example', 'witness-12.example', 'witness-13.example'], 'each signature stays where it was');

  // A member who trusts w1 and w2 (not w3) sees their two cosignatures, and w3's as unknown.
  const opened = openCheckpoint(third.note, { origin, log, cosigners: [cosignatureVerifier(w1!.verifierKey), cosignatureVerifier(w2!.verifierKey)] });
  assert.ok(opened.ok);
  assert.deepEqual(opened.checkpoint, checkpoint);
  assert.deepEqual(opened.cosignatures.map((c) => [c.name, c.atS]), [['witness-11.example', 1_800_000_000], ['witness-12.example', 1_800_000_060]]);
  assert.deepEqual(opened.unknown.map((s) => s.name), ['witness-13.example']);

  // Re-cosigning replaces the witness's earlier cosignature instead of adding a second.
  const again = cosignCheckpoint(third.note, { origin, log }, cosignatureSigner(w1!.signerKey, 1_800_000_500));
  assert.ok(again.ok);
  const reopened = openCheckpoint(again.note, { origin, log, cosigners: [cosignatureVerifier(w1!.verifierKey)] });
  assert.ok(reopened.ok);
  assert.deepEqual(reopened.cosignatures.map((c) => c.atS), [1_800_000_500]);
});

test("a checkpoint that the log did not sign, that was altered, or that is no checkpoint does not open, and says why", () => {
  const origin = 'suanli.example/ledger';
  const logKey = generateSignerKey(origin, seed(1));
  const log = noteVerifier(logKey.verifierKey);
  const checkpoint = { origin, size: 1, rootHash: leafHash(utf8('a')), extensions: [] };
  const signed = signNote(formatCheckpoint(checkpoint), [noteSigner(logKey.signerKey)]);
  const witness = generateCosignerKey('w.example', seed(9));
  const byWitnessOnly = signNote(formatCheckpoint(checkpoint), [cosignatureSigner(witness.signerKey, 5)]);
  const cosigners = [cosignatureVerifier(witness.verifierKey)];

  assert.equal(reasonOf(openCheckpoint(byWitnessOnly, { origin, log, cosigners })), 'not_signed_by_log');
  assert.equal(reasonOf(openCheckpoint(byWitnessOnly, { origin, log })), 'not_signed_by_log');
  assert.equal(reasonOf(openCheckpoint(utf8(text(signed).replace('\n1\n', '\n2\n')), { origin, log })), 'bad_signature');
  assert.equal(reasonOf(openCheckpoint(utf8(text(signed).slice(0, -1)), { origin, log })), 'malformed_note');
  assert.equal(reasonOf(openCheckpoint(signNote('not\na checkpoint\n', [noteSigner(logKey.signerKey)]), { origin, log })), 'malformed_checkpoint');
  assert.equal(reasonOf(openCheckpoint(signed, { origin, log: noteVerifier(generateSignerKey(origin, seed(2)).verifierKey) })), 'not_signed_by_log');
  assert.equal(reasonOf(openCheckpoint(signed, { origin, log, cosigners: [log] })), 'ambiguous_key');
  assert.equal(reasonOf(cosignCheckpoint(utf8('junk'), { origin, log }, cosignatureSigner(witness.signerKey, 5))), 'malformed_note');
  assert.ok(openNote(signed, [log]).ok);
});
