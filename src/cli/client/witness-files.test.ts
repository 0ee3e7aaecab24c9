import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cosignatureVerifier } from '../../ledger/cosignature.ts';
import { generateSignerKey } from '../../ledger/note.ts';
import { readState, serverSlug, statePath, witnessDir, witnessKey, writeEvidence, writeState, type WitnessState } from './witness-files.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'suanli-witness-files-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const badConfig = (path: RegExp) => (err: unknown) => (err as { code?: string }).code === 'bad_config' && path.test((err as Error).message);

test('the witness directory sits beside the config file unless --dir says', () => {
  assert.equal(witnessDir(undefined, { SUANLI_CONFIG: '/etc/suanli/ci.json' }), '/etc/suanli/witness');
  assert.equal(witnessDir('/var/lib/w', { SUANLI_CONFIG: '/etc/suanli/ci.json' }), '/var/lib/w');
  assert.equal(serverSlug('https://pool.example.org:8443/suanli'), 'pool.example.org_8443_suanli');
  assert.equal(statePath('/w', 'http://127.0.0.1:8040'), '/w/127.0.0.1_8040.json');
});

test('the key is made once, named as asked, readable by its owner only; later runs read the same key', async () => {
  const keys = join(dir, 'keys');
  let asked = 0;
  const name = () => Promise.resolve(`witness.acme${++asked}`);
  const made = await witnessKey(keys, name);
  assert.equal(made.created, true);
  assert.match(made.verifierKey, /^witness\.acme1\+[0-9a-f]{8}\+/);
  assert.doesNotThrow(() => cosignatureVerifier(made.verifierKey));
  assert.equal((await stat(made.path)).mode & 0o777, 0o600);
  assert.equal((await stat(keys)).mode & 0o777, 0o700);
  const again = await witnessKey(keys, name);
  assert.deepEqual([again.created, again.signerKey, again.verifierKey, asked], [false, made.signerKey, made.verifierKey, 1]);
});

test('a key file that holds no cosigner key is a bad_config error naming it', async () => {
  for (const [i, text] of ['garbage\n', `${generateSignerKey('plain', new Uint8Array(32).fill(1)).signerKey}\n`].entries()) {
    const d = join(dir, `bad-key-${i}`);
    await witnessKey(d, () => Promise.resolve('x')).then((k) => writeFile(k.path, text));
    await assert.rejects(witnessKey(d, () => Promise.resolve('x')), badConfig(/witness\.key does not hold a cosigner signer key/));
  }
});

test('the state is written whole, private, and read back; none before the first run', async () => {
  const path = join(dir, 'state', 'server.json');
  assert.equal(await readState(path), null);
  const state: WitnessState = {
    server: 'http://s', origin: 'o', logKey: 'k+00000000+AA', splitView: null,
    cosigned: { size: 3, root: 'cm9vdA==', note: 'o\n3\ncm9vdA==\n\n— k AAAA\n', cosignedAt: '2026-12-01T00:00:00.000Z' },
  };
  await writeState(path, state);
  assert.deepEqual(await readState(path), state);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  await writeState(path, { ...state, cosigned: null, splitView: '/evidence.txt' });
  assert.deepEqual(await readState(path), { ...state, cosigned: null, splitView: '/evidence.txt' });
});

test('a state file not as the witness wrote it is refused, never taken as a fresh start', async () => {
  const path = join(dir, 'broken.json');
  const good = { server: 's', origin: 'o', log_key: 'k', cosigned: { size: 1, root: 'r', note: 'n', cosigned_at: 't' }, split_view: null };
  for (const broken of ['{"server"', '[]', JSON.stringify({ ...good, log_key: 5 }), JSON.stringify({ ...good, cosigned: { ...good.cosigned, size: '1' } }), JSON.stringify({ ...good, cosigned: undefined })]) {
    await writeFile(path, broken);
    await assert.rejects(readState(path), badConfig(/the witness state .*broken\.json is not as the witness wrote it/), broken);
  }
});

test('evidence is a new private file named by the server and the time', async () => {
  const path = await writeEvidence(join(dir, 'ev'), 'http://127.0.0.1:8040', new Date(Date.UTC(2026, 11, 1, 10, 20, 30, 456)), 'both notes\n');
  assert.equal(path, join(dir, 'ev', 'split-view-127.0.0.1_8040-20261201T102030Z.txt'));
  assert.equal(await readFile(path, 'utf8'), 'both notes\n');
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  await assert.rejects(writeEvidence(join(dir, 'ev'), 'http://127.0.0.1:8040', new Date(Date.UTC(2026, 11, 1, 10, 20, 30)), 'other\n'), { code: 'EEXIST' }, 'never overwritten');
});
