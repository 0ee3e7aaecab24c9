// Witnesses against a live control plane (listening, on the embedded store), driving
// `suanli ledger witness` in process. A dishonest control plane is played by a hook that
// answers one member's token from another tree — a fork of the log, signed with the
// log's own key — and swallows that member's cosignatures: a split view. Each test
// names what the control plane tried, and holds the check that catches it.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { formatCheckpoint, openCheckpoint } from '../../src/ledger/checkpoint.ts';
import { cosignatureSigner, cosignatureVerifier, generateCosignerKey } from '../../src/ledger/cosignature.ts';
import { toBase64, utf8 } from '../../src/ledger/encoding.ts';
import { consistencyProofFrom, consistencyProofNeeds, leafHash, merkleTreeHash, type NodeId } from '../../src/ledger/merkle.ts';
import { generateSignerKey, noteSigner, noteVerifier, parseNote, signNote } from '../../src/ledger/note.ts';
import type { Api } from '../../src/server/control-plane.ts';
import { newKeyPair } from '../../src/server/log-keys.ts';
import { CheckpointResponse, JobResponse, WitnessListResponse } from '../../src/server/schemas.ts';
import { inProcess } from '../support/cli.ts';
import { send } from '../support/hostile.ts';
import { LivePool } from '../support/live-pool.ts';

type CheckpointAnswer = ReturnType<typeof CheckpointResponse.parse>;

/** The log's key, known to the test: the dishonest control plane signs its forks with it. */
const LOG_KEY = newKeyPair('suanli-ledger');
const ORIGIN = 'suanli.test/ledger';

/** What the control plane shows one token instead of its log: a forked tree, or one checkpoint alone. */
interface View {
  /** The leaf hashes of the tree it shows (for the proofs); absent: no proofs are answered from the view. */
  readonly leaves?: readonly Uint8Array[];
  readonly note: string;
  /** The log key it names (default: the real one). */
  readonly logKey?: string;
  /** Shown for one checkpoint request only. */
  readonly once?: boolean;
}

/** A live pool whose answers to some tokens come from `views` (GET checkpoint, consistency proofs; their cosignatures are swallowed into `swallowed`). */
async function dishonestPool() {
  const views = new Map<string, View>();
  const swallowed: { token: string; size: number; cosignature: string }[] = [];
  const pool = await LivePool.start({ schedule: false, logKey: LOG_KEY.signerKey, ledgerOrigin: ORIGIN }, undefined, undefined, (app: Api) => {
    app.addHook('preHandler', async (req: FastifyRequest, reply: FastifyReply) => {
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      const view = views.get(token);
      if (view === undefined) return;
      const path = req.url.split('?')[0];
      if (req.method === 'GET' && path === '/api/v1/ledger/checkpoint') {
        if (view.once === true) views.delete(token);
        await reply.send(answerOf(view));
      } else if (req.method === 'GET' && path === '/api/v1/ledger/proof/consistency' && view.leaves !== undefined) {
        const { from, to } = req.query as { from: number; to: number };
        await reply.send({ hashes: proofIn(view.leaves.slice(0, to), from).map(toBase64) });
      } else if (req.method === 'POST' && path === '/api/v1/ledger/cosignatures') {
        const body = req.body as { size: number; cosignature: string };
        swallowed.push({ token, ...body });
        await reply.code(201).send({ size: body.size, witness: 'swallowed', org_id: 'swallowed', cosigned_at: new Date().toISOString(), witnesses: { cosigned: 1, registered: 1, cosigned_by: ['swallowed'] } });
      }
    });
  });
  await send(pool, pool.admin, 'POST', '/orgs', { id: 'beta', name: 'Beta' });
  const job = JobResponse.parse(await pool.client.call('POST', '/jobs', { name: 'usage', org_id: 'acme', gpus: 1, estimate_s: 60 })).id;
  let attempt = 0;
  return {
    pool, views, swallowed,
    /** `n` more records in the real log, and a checkpoint of it. */
    async grow(n: number): Promise<void> {
      const entries = Array.from({ length: n }, () => ({ jobId: job, attempt: ++attempt, siteId: pool.siteId, consumerOrgId: 'acme', providerOrgId: 'acme', gpuType: 'h100', gpus: 1, startAt: 0, at: 1000, gpuSeconds: 1, outcome: 'succeeded' as const }));
      await pool.store.transition([], entries);
      await pool.app.suanli.usage.logAlone(Number.MAX_SAFE_INTEGER);
      await pool.app.suanli.usage.checkpoint();
    },
    /** A member token of `org`. */
    async member(org: string): Promise<string> {
      return (await pool.client.call<{ token: string }>('POST', '/tokens', { name: `${org} witness`, role: 'member', org_id: org })).token;
    },
  };
}

/** The leaf hashes of the real log's first `n` entries. */
async function realLeaves(pool: LivePool, n: number): Promise<Uint8Array[]> {
  return (await pool.store.logEntries(0, n)).map((e) => leafHash(utf8(e.note)));
}

/** A checkpoint of the tree over `leaves`, signed by `signerKey` (the log's, unless the test forges another). */
function signedCheckpoint(leaves: readonly Uint8Array[], signerKey = LOG_KEY.signerKey): string {
  return new TextDecoder().decode(signNote(formatCheckpoint({ origin: ORIGIN, size: leaves.length, rootHash: merkleTreeHash(leaves), extensions: [] }), [noteSigner(signerKey)]));
}

/** The consistency proof from `from` leaves to all of `leaves`. */
function proofIn(leaves: readonly Uint8Array[], from: number): Uint8Array[] {
  const hashOf = (n: NodeId) => merkleTreeHash(leaves.slice(n.index * 2 ** n.level, (n.index + 1) * 2 ** n.level));
  return consistencyProofFrom(from, leaves.length, consistencyProofNeeds(from, leaves.length).map(hashOf));
}

/** GET /ledger/checkpoint's answer for a view. */
function answerOf(view: View): CheckpointAnswer {
  const [origin = '', size = '0', root = ''] = view.note.split('\n');
  return { origin, size: Number(size), root, note: view.note, at: new Date().toISOString(), log_key: view.logKey ?? LOG_KEY.verifierKey, cosignatures: [], witnesses: { cosigned: 0, registered: 0, cosigned_by: [] } };
}

const rootOf = (note: string) => note.split('\n')[2] ?? '';
/** `size 4 \(root …\)` as a pattern: how messages name a tree. */
const tree = (size: number, root: string) => `size ${size} \\(root ${root.replace(/[+/]/g, (c) => `\\${c}`)}\\)`;

/** `suanli ledger witness --once` as a member with its own witness directory; extra flags after. */
function witness(pool: LivePool, token: string, dir: string, ...extra: string[]) {
  return inProcess(['ledger', 'witness', '--once', '--server', pool.url, '--token', token, '--dir', dir, ...extra]);
}

async function latest(pool: LivePool, token = pool.admin): Promise<CheckpointAnswer> {
  const answer = await send(pool, token, 'GET', '/ledger/checkpoint');
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return CheckpointResponse.parse(answer.body);
}

/** The verified cosignatures on a checkpoint answer, counting only the witnesses whose verifier keys are given: what a reader requiring k of them checks. */
function verifiedCosigners(answer: { note: string; cosignatures: readonly { line: string }[] }, witnessKeys: readonly string[]): string[] {
  const note = `${answer.note}${answer.cosignatures.map((c) => c.line).join('')}`;
  const opened = openCheckpoint(utf8(note), { origin: ORIGIN, log: noteVerifier(LOG_KEY.verifierKey), cosigners: witnessKeys.map(cosignatureVerifier) });
  assert.ok(opened.ok, opened.ok ? '' : opened.detail);
  return opened.cosignatures.map((c) => c.name);
}

async function witnessKeyOf(pool: LivePool, org: string): Promise<string> {
  const { witnesses } = WitnessListResponse.parse((await send(pool, pool.admin, 'GET', '/ledger/witnesses')).body);
  const key = witnesses.find((w) => w.org_id === org && w.revoked_at === null);
  assert.ok(key !== undefined, `a witness key of ${org}`);
  return key.verifier_key;
}

let scratch = '';
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'suanli-witness-'));
});
after(() => rm(scratch, { recursive: true, force: true }));

describe('a member runs a witness', () => {
  let p: Awaited<ReturnType<typeof dishonestPool>>;
  before(async () => {
    p = await dishonestPool();
  });
  after(() => p.pool.close());

  test('its first run makes and registers its key, pins the log key, cosigns; the checkpoint counts it; later runs cosign only proved extensions', async () => {
    const { pool } = p;
    const acme = await p.member('acme');
    const dir = join(scratch, 'acme');
    await p.grow(3);
    const first = await witness(pool, acme, dir);
    assert.equal(first.code, 0, first.err);
    assert.match(first.err, /made the witness key witness\.acme\+[0-9a-f]{8} in .*witness\.key/);
    assert.match(first.err, /registered the witness key witness\.acme\+[0-9a-f]{8} for org acme/);
    assert.match(first.err, new RegExp(`trusting the log key ${LOG_KEY.verifierKey.replace(/[+/]/g, (c) => `\\${c}`)} .* on first use`));
    const cp3 = await latest(pool);
    assert.match(first.out, new RegExp(`${ORIGIN} on ${pool.url}: cosigned ${tree(3, cp3.root)}, the first checkpoint this witness cosigns`));
    assert.match(first.out, /witnessed by 1 of the 1 member org with a witness \(acme\)/);
    assert.equal((await stat(join(dir, 'witness.key'))).mode & 0o777, 0o600);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);

    // The control plane kept the cosignature, and it verifies for anyone with the witness's key.
    assert.deepEqual(cp3.witnesses, { cosigned: 1, registered: 1, cosigned_by: ['acme'] });
    const acmeKey = await witnessKeyOf(pool, 'acme');
    assert.deepEqual(verifiedCosigners(cp3, [acmeKey]), ['witness.acme']);
    const state = JSON.parse(await readFile(join(dir, `${pool.url.replace('http://', '').replace(/[^A-Za-z0-9.-]+/g, '_')}.json`), 'utf8')) as { log_key: string; cosigned: { size: number; root: string; note: string } };
    assert.deepEqual([state.log_key, state.cosigned.size, state.cosigned.root, state.cosigned.note], [LOG_KEY.verifierKey, 3, cp3.root, cp3.note]);

    // Nothing new: nothing to cosign again.
    const again = await witness(pool, acme, dir, '--json');
    assert.equal(again.code, 0, again.err);
    const unchanged = JSON.parse(again.out) as { outcome: string; consistency: string };
    assert.deepEqual([unchanged.outcome, unchanged.consistency], ['already_cosigned', 'unchanged']);
    assert.equal(again.err, '', 'no key made, nothing registered, no log key trusted anew');

    // The log grows: the consistency proof from size 3 is checked, then the new checkpoint cosigned.
    await p.grow(4);
    const grown = await witness(pool, acme, dir, '--json');
    assert.equal(grown.code, 0, grown.err);
    const report = JSON.parse(grown.out) as { outcome: string; consistency: string; checkpoint: { size: number }; previous: { size: number; root: string } };
    assert.deepEqual([report.outcome, report.consistency, report.checkpoint.size, report.previous], ['cosigned', 'proved', 7, { size: 3, root: cp3.root }]);
    assert.deepEqual(verifiedCosigners(await latest(pool), [acmeKey]), ['witness.acme']);
  });

  test('--every keeps witnessing, a round at a time, one JSON line each', async () => {
    const { pool } = p;
    const beta = await p.member('beta');
    const r = await inProcess(['ledger', 'witness', '--every', '0.05s', '--rounds', '2', '--json', '--server', pool.url, '--token', beta, '--dir', join(scratch, 'beta-loop')]);
    assert.equal(r.code, 0, r.err);
    const rounds = r.out.split('\n').map((l) => JSON.parse(l) as { outcome: string; witnesses: { cosigned_by: string[] } });
    assert.deepEqual(rounds.map((x) => x.outcome), ['cosigned', 'already_cosigned']);
    assert.deepEqual(rounds[1]?.witnesses.cosigned_by, ['acme', 'beta']);
  });

  test('looping, a round that fails is reported and the next one tries again', async () => {
    const { pool } = p;
    const acme = await p.member('acme');
    const down = await inProcess(['ledger', 'witness', '--every', '0.05s', '--rounds', '2', '--server', 'http://127.0.0.1:1', '--token', acme, '--dir', join(scratch, 'down')]);
    assert.equal(down.code, 1);
    assert.match(down.err, /^suanli: round 1: cannot reach the Suanli server at http:\/\/127\.0\.0\.1:1 .*; trying again in 0\.05s\nsuanli: cannot reach/);
    // A checkpoint refused in one round (the log key is not the pinned one) does not stop the witness; the next round cosigns.
    const dir = join(scratch, 'refused-then-ok');
    p.views.set(acme, { note: signedCheckpoint([], newKeyPair('suanli-ledger').signerKey), once: true });
    const r = await inProcess(['ledger', 'witness', '--every', '0.05s', '--rounds', '2', '--log-key', LOG_KEY.verifierKey, '--server', pool.url, '--token', acme, '--dir', dir]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /round 1: not cosigned: the checkpoint .* does not verify: no signature by suanli-ledger\+/);
    assert.match(r.out, /cosigned size 7 /);
  });

  test('bad usage is one line naming the flag, exit 2', async () => {
    const { pool } = p;
    const acme = await p.member('acme');
    const both = await inProcess(['ledger', 'witness', '--once', '--every', '1m', '--server', pool.url, '--token', acme]);
    assert.deepEqual([both.code, both.err], [2, 'suanli: --every: cannot be given with --once; accepted: either --once or --every DURATION']);
    const key = await witness(pool, acme, join(scratch, 'bad-key'), '--log-key', 'not-a-key');
    assert.equal(key.code, 2);
    assert.match(key.err, /^suanli: --log-key: .*accepted: the log's verifier key/);
    const help = await inProcess(['ledger', 'witness', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /Examples:\n\s+suanli ledger witness --once/);
    const agent = await witness(pool, pool.agentToken, join(scratch, 'agent'));
    assert.equal(agent.code, 2);
    assert.match(agent.err, /an agent token cannot witness the log/);
  });
});

describe('witness keys and cosignatures, from a hostile member', () => {
  let p: Awaited<ReturnType<typeof dishonestPool>>;
  let acme = '';
  let beta = '';
  const acmeKey = generateCosignerKey('witness.acme', new Uint8Array(32).fill(7));
  const postKey = (token: string, verifier_key: string) => send(p.pool, token, 'POST', '/ledger/witnesses', { verifier_key });
  /** `— <name> <base64>`: the witness's signature line on the checkpoint `note`. */
  const lineOn = (note: string, signerKey: string) => {
    const parsed = parseNote(utf8(note));
    assert.ok(parsed.ok);
    return new TextDecoder().decode(signNote(parsed.text, [cosignatureSigner(signerKey, 1_800_000_000)])).slice(parsed.text.length + 1).trimEnd();
  };
  before(async () => {
    p = await dishonestPool();
    acme = await p.member('acme');
    beta = await p.member('beta');
    await p.grow(2);
  });
  after(() => p.pool.close());

  test('a key is a cosigner key, of one org; agents may not register one; the field is named', async () => {
    assert.equal((await postKey(acme, acmeKey.verifierKey)).status, 201);
    assert.equal((await postKey(acme, acmeKey.verifierKey)).status, 200, 'again: already registered');
    const stolen = await postKey(beta, acmeKey.verifierKey);
    assert.deepEqual([stolen.status, stolen.body.error], [409, { code: 'conflict', message: `verifier_key: the witness key ${acmeKey.verifierKey.split('+').slice(0, 2).join('+')} is registered by another org`, field: 'verifier_key' }]);
    const ed25519 = await postKey(acme, generateSignerKey('witness.plain', new Uint8Array(32).fill(8)).verifierKey);
    assert.deepEqual([ed25519.status, (ed25519.body.error as { field: string }).field], [400, 'verifier_key']);
    assert.match((ed25519.body.error as { message: string }).message, /key type 1 is not a cosigner key \(4\)/);
    const garbage = await postKey(acme, 'witness+zz+AAAA');
    assert.deepEqual([garbage.status, (garbage.body.error as { field: string }).field], [400, 'verifier_key']);
    assert.equal((await postKey(p.pool.agentToken, generateCosignerKey('w', new Uint8Array(32).fill(9)).verifierKey)).status, 403);
  });

  test('a cosignature is kept only on a checkpoint that exists, by a registered key, over that checkpoint', async () => {
    const cp = await latest(p.pool);
    const post = (body: unknown, token = beta) => send(p.pool, token, 'POST', '/ledger/cosignatures', body);
    const fieldOf = (a: { body: Record<string, unknown> }) => (a.body.error as { field?: string } | undefined)?.field;
    const missing = await post({ size: 99, cosignature: lineOn(cp.note, acmeKey.signerKey) });
    assert.deepEqual([missing.status, fieldOf(missing)], [404, 'size']);
    const garbage = await post({ size: cp.size, cosignature: 'not a signature line' });
    assert.deepEqual([garbage.status, fieldOf(garbage)], [400, 'cosignature']);
    const two = await post({ size: cp.size, cosignature: `${lineOn(cp.note, acmeKey.signerKey)}\n${lineOn(cp.note, acmeKey.signerKey)}` });
    assert.deepEqual([two.status, fieldOf(two)], [400, 'cosignature']);
    const stranger = generateCosignerKey('witness.stranger', new Uint8Array(32).fill(10));
    const unregistered = await post({ size: cp.size, cosignature: lineOn(cp.note, stranger.signerKey) });
    assert.deepEqual([unregistered.status, fieldOf(unregistered)], [400, 'cosignature']);
    assert.match((unregistered.body.error as { message: string }).message, /signed by witness\.stranger\+[0-9a-f]{8}, which is not a registered witness key/);
    // A cosignature of another checkpoint (here, the one of size 0) posted as this one's.
    const empty = (await p.pool.store.checkpoint(0))?.note ?? '';
    const elsewhere = await post({ size: cp.size, cosignature: lineOn(empty, acmeKey.signerKey) });
    assert.deepEqual([elsewhere.status, fieldOf(elsewhere)], [400, 'cosignature']);
    assert.match((elsewhere.body.error as { message: string }).message, /does not verify with witness\.acme\+[0-9a-f]{8} as a cosignature\/v1 of the checkpoint of size 2/);
    assert.deepEqual((await latest(p.pool)).cosignatures, [], 'nothing kept');
    // Any member may hand in a good one: it speaks for itself.
    const good = await post({ size: cp.size, cosignature: lineOn(cp.note, acmeKey.signerKey) });
    assert.equal(good.status, 201, JSON.stringify(good.body));
    assert.deepEqual([good.body.org_id, good.body.cosigned_at, good.body.witnesses], ['acme', new Date(1_800_000_000_000).toISOString(), { cosigned: 1, registered: 1, cosigned_by: ['acme'] }]);
    assert.deepEqual(verifiedCosigners(await latest(p.pool), [acmeKey.verifierKey]), ['witness.acme']);
  });

  test('its org revokes a key (no other org can); its cosignatures are then refused and no longer counted', async () => {
    const id = acmeKey.verifierKey.split('+').slice(0, 2).join('+');
    assert.equal((await send(p.pool, beta, 'DELETE', `/ledger/witnesses/${encodeURIComponent(id)}`)).status, 404, "another org's key is not found");
    const revoked = await send(p.pool, acme, 'DELETE', `/ledger/witnesses/${encodeURIComponent(id)}`);
    assert.equal(revoked.status, 200);
    assert.notEqual(revoked.body.revoked_at, null);
    assert.deepEqual((await latest(p.pool)).witnesses, { cosigned: 0, registered: 0, cosigned_by: [] });
    const cp = await latest(p.pool);
    const refused = await send(p.pool, acme, 'POST', '/ledger/cosignatures', { size: cp.size, cosignature: lineOn(cp.note, acmeKey.signerKey) });
    assert.equal(refused.status, 400);
    assert.match((refused.body.error as { message: string }).message, /a witness key revoked at/);
    const again = await postKey(acme, acmeKey.verifierKey);
    assert.deepEqual([again.status, (again.body.error as { message: string }).message], [409, `verifier_key: the witness key ${id} was revoked at ${String(revoked.body.revoked_at)}; make a new key`]);
  });
});

describe('two members shown two trees (a split view)', () => {
  let p: Awaited<ReturnType<typeof dishonestPool>>;
  before(async () => {
    p = await dishonestPool();
  });
  after(() => p.pool.close());

  test('each witness cosigns only its own view; no checkpoint gets both; when B sees the tree A cosigned, B reports the split view with both checkpoints', async () => {
    const { pool } = p;
    const [acme, beta] = [await p.member('acme'), await p.member('beta')];
    const [dirA, dirB] = [join(scratch, 'split-a'), join(scratch, 'split-b')];
    await p.grow(2);
    for (const [token, dir] of [[acme, dirA], [beta, dirB]] as const) assert.equal((await witness(pool, token, dir)).code, 0);
    assert.deepEqual((await latest(pool)).witnesses.cosigned_by, ['acme', 'beta'], 'both witnessed size 2');

    // The log grows to 4 for everyone but B, who is shown a fork of it: the same first
    // 2 records, then 2 others (say, without a record B is owed), signed with the log's key.
    await p.grow(2);
    const fork = [...(await realLeaves(pool, 2)), leafHash(utf8('forged 1\n')), leafHash(utf8('forged 2\n'))];
    const forkNote = signedCheckpoint(fork);
    p.views.set(beta, { leaves: fork, note: forkNote });
    const a = await witness(pool, acme, dirA);
    const b = await witness(pool, beta, dirB);
    assert.deepEqual([a.code, b.code], [0, 0], `${a.err}\n${b.err}`);
    const real = await latest(pool);
    assert.notEqual(real.root, rootOf(forkNote));
    assert.match(a.out, new RegExp(`cosigned ${tree(4, real.root)}: it extends size 2`));
    assert.match(b.out, new RegExp(`cosigned ${tree(4, rootOf(forkNote))}: it extends size 2`), 'B was fooled: the fork extends what B cosigned');
    assert.equal(p.swallowed.length, 1, "B's cosignature went to the dishonest control plane, not to the log");

    // A member that requires both witnesses accepts neither tree: each has one cosignature.
    const keys = [await witnessKeyOf(pool, 'acme'), await witnessKeyOf(pool, 'beta')];
    assert.deepEqual(verifiedCosigners(real, keys), ['witness.acme']);
    assert.deepEqual(verifiedCosigners({ note: forkNote, cosignatures: p.swallowed.map((s) => ({ line: `${s.cosignature}\n` })) }, keys), ['witness.beta']);

    // B is shown the real log again, now grown to 6: it cannot extend the fork B cosigned.
    p.views.delete(beta);
    await p.grow(2);
    const now = await latest(pool);
    const caught = await witness(pool, beta, dirB, '--json');
    assert.equal(caught.code, 1);
    assert.match(caught.err, new RegExp(`^suanli: SPLIT VIEW on ${pool.url}: the log shows ${tree(6, now.root)}, which it cannot prove extends ${tree(4, rootOf(forkNote))}, which this witness cosigned`));
    const evidencePath = /kept as evidence in (\S+);/.exec(caught.err)?.[1] ?? '';
    const report = JSON.parse(caught.out) as { outcome: string; evidence: string; checkpoint: { size: number; root: string }; previous: { size: number; root: string } };
    assert.deepEqual([report.outcome, report.evidence, report.checkpoint, report.previous], ['split_view', evidencePath, { size: 6, root: now.root }, { size: 4, root: rootOf(forkNote) }]);
    const evidence = await readFile(evidencePath, 'utf8');
    assert.ok(evidence.includes(forkNote), 'the fork B cosigned, as the log signed it');
    assert.ok(evidence.includes(now.note), 'the tree B was shown afterwards, as the log signed it');
    assert.match(evidence, /## The consistency proof .* gave from size 4 to size 6/);
    assert.equal((await stat(evidencePath)).mode & 0o777, 0o600);
    // Both notes in the evidence verify with the log's key: proof that the log signed two trees.
    for (const note of [forkNote, now.note]) assert.ok(openCheckpoint(utf8(note), { origin: ORIGIN, log: noteVerifier(LOG_KEY.verifierKey) }).ok);

    // From then on B's witness cosigns nothing from this log, and says why.
    const later = await witness(pool, beta, dirB);
    assert.equal(later.code, 1);
    assert.match(later.err, new RegExp(`SPLIT VIEW found earlier on ${pool.url}: the evidence is in ${evidencePath.replace(/[.+]/g, (c) => `\\${c}`)}`));
    assert.deepEqual((await latest(pool)).witnesses.cosigned_by, [], 'size 6 has no cosignature: B refused it, A has not run');
    // A, whose view was never forked, goes on cosigning.
    assert.equal((await witness(pool, acme, dirA)).code, 0);
  });
});

describe('one witness shown an old checkpoint, a foreign key, a rewritten history', () => {
  let p: Awaited<ReturnType<typeof dishonestPool>>;
  let acme = '';
  const dir = () => join(scratch, 'replay');
  before(async () => {
    p = await dishonestPool();
    acme = await p.member('acme');
    await p.grow(3);
    assert.equal((await witness(p.pool, acme, dir())).code, 0);
    await p.grow(2);
    assert.equal((await witness(p.pool, acme, dir())).code, 0);
  });
  after(() => p.pool.close());

  test('a replayed old checkpoint (genuine, signed by the log) is refused, naming both sizes; nothing is cosigned', async () => {
    const old = (await p.pool.store.checkpoint(3))?.note ?? '';
    const cp5 = await latest(p.pool);
    p.views.set(acme, { note: old });
    const r = await witness(p.pool, acme, dir());
    p.views.delete(acme);
    assert.equal(r.code, 1);
    assert.equal(r.err, `suanli: not cosigned: the log shows size 3 (root ${rootOf(old)}), smaller than size 5 (root ${cp5.root}), which this witness cosigned: an old checkpoint replayed, or a truncated log`);
    assert.deepEqual(p.swallowed, []);
    // Not a split view: shown the real log again, the witness goes on.
    const back = await witness(p.pool, acme, dir(), '--json');
    assert.deepEqual([back.code, (JSON.parse(back.out) as { outcome: string }).outcome], [0, 'already_cosigned']);
  });

  test('a checkpoint signed by another key than the pinned log key is refused, and the key the server names is shown', async () => {
    const other = newKeyPair('suanli-ledger');
    const leaves = [...(await realLeaves(p.pool, 5)), leafHash(utf8('more\n'))];
    p.views.set(acme, { leaves, note: signedCheckpoint(leaves, other.signerKey), logKey: other.verifierKey });
    const r = await witness(p.pool, acme, dir());
    p.views.delete(acme);
    assert.equal(r.code, 1);
    assert.match(r.err, /^suanli: not cosigned: the checkpoint .* shows does not verify: .*; the server names the log key suanli-ledger\+[0-9a-f]{8}\+\S+, this witness pinned suanli-ledger\+/);
    assert.deepEqual(p.swallowed, []);
    const pinned = await witness(p.pool, acme, dir(), '--log-key', other.verifierKey);
    assert.equal(pinned.code, 2, '--log-key cannot re-pin silently');
    assert.match(pinned.err, /--log-key differs from the log key pinned in/);
  });

  test('a rewritten history (the same size, another root, signed by the log) is a split view, with both checkpoints as evidence', async () => {
    const cp5 = await latest(p.pool);
    const rewritten = [...(await realLeaves(p.pool, 4)), leafHash(utf8('rewritten\n'))];
    const note = signedCheckpoint(rewritten);
    p.views.set(acme, { leaves: rewritten, note });
    const r = await witness(p.pool, acme, dir());
    p.views.delete(acme);
    assert.equal(r.code, 1);
    assert.match(r.err, new RegExp(`^suanli: SPLIT VIEW on .*: the log shows ${tree(5, rootOf(note))}, but this witness cosigned ${tree(5, cp5.root)}: the same size with another root \\(a rewritten history\\)\\. Both checkpoints, each signed by the log's key, are kept as evidence in \\S+split-view-`));
    assert.deepEqual(p.swallowed, [], 'nothing cosigned');
    const evidence = await readFile(/kept as evidence in (\S+);/.exec(r.err)?.[1] ?? '', 'utf8');
    assert.ok(evidence.includes(cp5.note) && evidence.includes(note), 'both checkpoints');
  });
});
