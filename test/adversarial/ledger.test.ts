// `suanli ledger verify` against a control plane that cheats. Each test runs a live pool
// (on an embedded store whose database the test holds) with a real agent of acme's site
// signing the usage records of real runs — acme's own and beta's borrowed ones — then
// plays an operator with the database's password and the log's key: it edits, deletes,
// forges, rewrites, truncates or replays, and the member's verify (the CLI, in process)
// must fail with a message naming the entry or the checkpoint. A split view (two
// members shown two trees) is a witness's to catch: test/adversarial/witness.test.ts.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sql, type Kysely } from 'kysely';
import { formatCheckpoint } from '../../src/ledger/checkpoint.ts';
import { utf8 } from '../../src/ledger/encoding.ts';
import { completedSubtreesFrom, completedSubtreesNeeds, leafHash, merkleTreeHash, type StoredNode } from '../../src/ledger/merkle.ts';
import { noteSigner, signNote } from '../../src/ledger/note.ts';
import type { Api } from '../../src/server/control-plane.ts';
import { nativeSigner, newKeyPair } from '../../src/server/log-keys.ts';
import type { Database } from '../../src/store/migrations.ts';
import type { LedgerEntry } from '../../src/store/types.ts';
import { inProcess } from '../support/cli.ts';
import { AgentFleet, send, submitAs } from '../support/hostile.ts';
import { LivePool, waitFor } from '../support/live-pool.ts';
import { siteRecordKey, siteSignature, storeWithDatabase } from '../support/usage-log.ts';

/** The log's key, known to the test: the cheating operator re-signs checkpoints with it. */
const LOG_KEY = newKeyPair('suanli-ledger');
const ORIGIN = 'suanli.test/ledger';

/** What `suanli ledger verify --json` prints. */
interface Verified {
  verified: boolean;
  org: string;
  checkpoint: { size: number; root: string; signature_verified: boolean };
  log_key: { pinned: string; pinned_now: boolean };
  consistency: { status: string; last_verified: { size: number } | null };
  records: { checked: number; verified: number; by_site: number; control_plane_alone: number };
  credits: { gpu_type: string; recomputed: { credits_gpu_h: number }; reported: { credits_gpu_h: number } }[];
  problems: { reason: string; detail: string; entry?: { index: number; job_id: string | null; attempt: number | null } }[];
}

interface Scene {
  readonly pool: LivePool;
  readonly db: Kysely<Database>;
  readonly fleet: AgentFleet;
  readonly dir: string;
  readonly tokens: Readonly<Record<'acme' | 'beta', string>>;
  /** A checkpoint answer the control plane shows instead of its latest (a replay), when set. */
  replay?: unknown;
  /** The heartbeats' refusals to sign, as the control plane received them. */
  readonly refused: { id: number; reason: string }[];
}

let s: Scene;

beforeEach(async () => {
  const { store, db } = await storeWithDatabase();
  const refused: { id: number; reason: string }[] = [];
  const scene: Partial<Scene> & { refused: typeof refused } = { refused };
  const pool = await LivePool.start({ store, logKey: LOG_KEY.signerKey, ledgerOrigin: ORIGIN, checkpointIntervalMs: 100 }, undefined, undefined, (app: Api) => {
    app.addHook('preHandler', async (req: FastifyRequest, reply: FastifyReply) => {
      const path = req.url.split('?')[0];
      if (req.method === 'POST' && path === '/api/v1/agent/heartbeat') refused.push(...((req.body as { usage_refused?: { id: number; reason: string }[] }).usage_refused ?? []));
      if (req.method === 'GET' && path === '/api/v1/ledger/checkpoint' && scene.replay !== undefined && (req.query as { size?: string }).size === undefined) await reply.send(scene.replay);
    });
  });
  // Beta borrows acme's site; its runs there are not sandboxed here (what a sandbox contains is another suite's).
  await send(pool, pool.admin, 'POST', '/orgs', { id: 'beta', name: 'Beta' });
  await send(pool, pool.admin, 'PATCH', `/sites/${pool.siteId}`, { sandbox_borrowed: false });
  const member = async (org: string) => (await pool.client.call<{ token: string }>('POST', '/tokens', { name: `${org} member`, role: 'member', org_id: org })).token;
  const fleet = new AgentFleet(pool);
  await fleet.start('acme-lab', { heartbeatMs: 150 });
  Object.assign(scene, { pool, db, fleet, dir: await mkdtemp(join(tmpdir(), 'suanli-verify-')), tokens: { acme: await member('acme'), beta: await member('beta') } });
  s = scene as Scene;
  await runs(['acme', 'beta', 'acme', 'beta']);
});

afterEach(async () => {
  await s.fleet.close();
  await s.pool.close();
  await rm(s.dir, { recursive: true, force: true });
});

/** Runs a job of each org given, one GPU, to its end; then waits until their usage is signed, logged and checkpointed. */
async function runs(orgs: readonly string[]): Promise<void> {
  // A run of some length: one that starts and ends in the same report (an instant `true`) uses no GPU-seconds, and a
  // record of it tampered with changes no sum.
  const ids = await Promise.all(orgs.map((org) => submitAs(s.pool, org, 1, ['sleep', '0.2'])));
  for (const id of ids) await s.pool.until(id, 'succeeded');
  await settled();
}

/** Waits until nothing is pending and the latest checkpoint covers the whole log. */
async function settled(): Promise<number> {
  return waitFor('the usage logged and checkpointed', async () => {
    const pending = await s.pool.store.pendingUsage({ endedBefore: Number.MAX_SAFE_INTEGER, limit: 1 });
    const size = await s.pool.store.logSize();
    return pending.length === 0 && (await s.pool.store.checkpoint())?.size === size ? size : undefined;
  });
}

/** `suanli ledger verify --json` as a member of `org`, with that member's own config dir (its pinned key, its last verified checkpoint). */
async function verify(org: 'acme' | 'beta', ...extra: string[]): Promise<{ code: number; report: Verified; err: string }> {
  process.env.SUANLI_CONFIG = join(s.dir, org, 'config.json');
  try {
    const { code, out, err } = await inProcess(['ledger', 'verify', '--server', s.pool.url, '--token', s.tokens[org], '--json', ...extra]);
    return { code, report: JSON.parse(out) as Verified, err };
  } finally {
    delete process.env.SUANLI_CONFIG;
  }
}

/**
 * The problems verify found, after asserting it failed with exit 1, found just these
 * (by reason, in order) and named the first on its last line.
 */
function failedWith(v: { code: number; report: Verified; err: string }, ...reasons: string[]): Verified['problems'] {
  assert.equal(v.code, 1, v.err);
  assert.equal(v.report.verified, false);
  assert.deepEqual(v.report.problems.map((p) => p.reason), reasons, JSON.stringify(v.report.problems, null, 1));
  assert.ok(v.err.includes(`the ledger of ${v.report.org} did not verify: ${v.report.problems[0]!.detail}`), v.err);
  return v.report.problems;
}

/** The log entries of `org`'s runs (consumed or contributed), by index. */
async function entriesOf(org: string): Promise<{ idx: number; note: string; job_id: string }[]> {
  const { rows } = await sql<{ idx: number; note: string; job_id: string }>`
    select l.idx, l.note, e.job_id from log_entries l join ledger_entries e on e.id = l.entry_id
    where e.consumer_org_id = ${org} or e.provider_org_id = ${org} order by l.idx`.execute(s.db);
  return rows.map((r) => ({ ...r, idx: Number(r.idx) }));
}

/** The operator rebuilds every stored hash of the log from its notes as they now are, and re-signs the latest checkpoint. */
async function rebuildTree(): Promise<void> {
  const notes = (await s.pool.store.logEntries(0, 1_000_000)).map((e) => e.note);
  const nodes = new Map<string, StoredNode>();
  notes.forEach((note, i) => {
    for (const n of completedSubtreesFrom(i, leafHash(utf8(note)), completedSubtreesNeeds(i).map((id) => nodes.get(`${id.level}/${id.index}`)!.hash))) nodes.set(`${n.level}/${n.index}`, n);
  });
  await s.db.deleteFrom('log_nodes').execute();
  await s.db.insertInto('log_nodes').values([...nodes.values()].map((n) => ({ level: n.level, idx: n.index, hash: n.hash }))).execute();
  const size = notes.length;
  const note = new TextDecoder().decode(signNote(formatCheckpoint({ origin: ORIGIN, size, rootHash: merkleTreeHash(notes.map((n) => leafHash(utf8(n)))), extensions: [] }), [noteSigner(LOG_KEY.signerKey)]));
  await s.db.deleteFrom('log_cosignatures').where('size', '=', size).execute();
  await s.db.updateTable('log_checkpoints').set({ note }).where('size', '=', size).execute();
}

const entryNamed = (index: number, job: string) => new RegExp(`^entry #${index} \\(job ${job} attempt \\d+\\): `);

describe('suanli ledger verify against a cheating control plane', () => {
  test('an honest log verifies for each member; the next verify proves the log grew from the checkpoint verified', async () => {
    for (const org of ['acme', 'beta'] as const) {
      const first = await verify(org);
      assert.equal(first.code, 0, first.err);
      const mine = await entriesOf(org);
      assert.deepEqual([first.report.verified, first.report.records.checked, first.report.records.by_site, first.report.records.control_plane_alone], [true, mine.length, mine.length, 0]);
      assert.deepEqual([first.report.log_key.pinned, first.report.log_key.pinned_now, first.report.consistency.status], [LOG_KEY.verifierKey, true, 'first']);
      assert.match(first.err, /first verify of .*: pinned the log key it shows, suanli-ledger\+/);
      for (const c of first.report.credits) assert.ok(Math.abs(c.recomputed.credits_gpu_h - c.reported.credits_gpu_h) < 1e-9, JSON.stringify(c));
    }
    await runs(['beta']);
    const again = await verify('beta');
    assert.equal(again.code, 0, again.err);
    assert.deepEqual([again.report.consistency.status, again.report.log_key.pinned_now], ['extends', false]);
    // The one-screen summary says so.
    process.env.SUANLI_CONFIG = join(s.dir, 'beta', 'config.json');
    const text = await inProcess(['ledger', 'verify', '--server', s.pool.url, '--token', s.tokens.beta]).finally(() => delete process.env.SUANLI_CONFIG);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /^ledger of beta on .*: verified$/m);
    assert.match(text.out, /unchanged since you verified it/);
  });

  test('bad input: a --log-key that is no key, a ledger state that is not one, an admin without --org: exit 2 naming it, nothing written', async () => {
    const badKey = await inProcess(['ledger', 'verify', '--server', s.pool.url, '--token', s.tokens.beta, '--log-key', 'suanli-ledger+0000+nope']);
    assert.equal(badKey.code, 2, badKey.err);
    assert.match(badKey.err, /^suanli: --log-key: /);
    const state = join(s.dir, 'broken', 'ledger-state.json');
    await mkdir(join(s.dir, 'broken'), { recursive: true });
    await writeFile(state, '{"version": 1, "servers": {"x": 3}}');
    process.env.SUANLI_CONFIG = join(s.dir, 'broken', 'config.json');
    const broken = await inProcess(['ledger', 'verify', '--server', s.pool.url, '--token', s.tokens.beta]).finally(() => delete process.env.SUANLI_CONFIG);
    assert.equal(broken.code, 2, broken.err);
    assert.ok(broken.err.includes(`the ledger state ${state} is not what \`suanli ledger verify\` writes`), broken.err);
    assert.equal(await readFile(state, 'utf8'), '{"version": 1, "servers": {"x": 3}}', 'left as it was');
    const admin = await inProcess(['ledger', 'verify', '--server', s.pool.url, '--token', s.pool.admin]);
    assert.equal(admin.code, 2, admin.err);
    assert.match(admin.err, /^suanli: --org: /);
  });

  test('a record tampered with in the database: its note no longer in the tree; the credits edited: the GPU type named', async () => {
    const [target] = await entriesOf('beta');
    await s.db.updateTable('log_entries').set({ note: target!.note.replace(/^gpus 1$/m, 'gpus 8') }).where('idx', '=', target!.idx).execute();
    // Not in the tree, so not counted: and the API's figures, which still count it, no longer add up.
    const [problem] = failedWith(await verify('beta'), 'not_in_tree', 'credits_mismatch');
    assert.match(problem!.detail, entryNamed(target!.idx, target!.job_id));
    assert.match(problem!.detail, /not in the tree at checkpoint size \d+ \(root .*\): leaf \d+ of \d+: the proof leads to another root/);

    await s.db.updateTable('log_entries').set({ note: target!.note }).where('idx', '=', target!.idx).execute();
    await s.db.updateTable('ledger_entries').set({ gpu_seconds: sql`gpu_seconds * 100` }).where('logged_idx', '=', target!.idx).execute();
    const [credits] = failedWith(await verify('beta'), 'credits_mismatch');
    assert.match(credits!.detail, /^h100 consumed: the API reports .* GPU-h, the verified records add up to .* GPU-h: the API counts .* that no verified record shows/);
  });

  test('a record deleted after a member verified it: named, and it keeps failing', async () => {
    assert.equal((await verify('acme')).code, 0);
    const mine = await entriesOf('acme');
    const gone = mine[1]!;
    // Gone from the listing and from the API's sums: what the member saw before is all that shows it.
    await s.db.deleteFrom('log_entries').where('idx', '=', gone.idx).execute();
    await s.db.deleteFrom('ledger_entries').where('logged_idx', '=', gone.idx).execute();
    for (let round = 0; round < 2; round++) {
      const [problem] = failedWith(await verify('acme'), 'record_gone');
      assert.match(problem!.detail, new RegExp(`^entry #${gone.idx}, verified in checkpoint size \\d+ \\(root .*\\), is not among the entries the server lists now: a logged record was taken back$`));
      assert.deepEqual(problem!.entry, { index: gone.idx, job_id: null, attempt: null });
    }
  });

  test('a record appended with a signature by a key that is not its site’s', async () => {
    const job = await submitAs(s.pool, 'beta', 1, ['true']);
    await s.pool.until(job, 'succeeded');
    await settled();
    await s.fleet.close(); // the honest agent is gone; the operator signs for the site with a key of its own making
    const forged: LedgerEntry = { jobId: job, attempt: 1, siteId: s.pool.siteId, consumerOrgId: 'beta', providerOrgId: 'acme', gpuType: 'h100', gpus: 8, startAt: Date.now() - 3_600_000, at: Date.now(), gpuSeconds: 8 * 3600, outcome: 'succeeded' };
    await s.pool.store.transition([], [forged]);
    const usage = s.pool.app.suanli.usage;
    const stranger = siteRecordKey();
    const pending = await s.pool.store.pendingUsage({ endedBefore: Number.MAX_SAFE_INTEGER, limit: 10 });
    assert.equal(pending.length, 1);
    const target = pending[0]!;
    const index = usage.length;
    await usage.append([{ entry: target, site: await siteSignature(usage, target, stranger.signer) }]);
    await usage.checkpoint();
    // Not signed by the site, so not counted: and the API, which counts it, no longer adds up.
    const [signature] = failedWith(await verify('beta'), 'site_signature', 'credits_mismatch');
    assert.match(signature!.detail, new RegExp(`^entry #${index} \\(job ${job} attempt 1\\): the record says its site acme:site-1 wrote it, but no key of that site signed it$`));
  });

  test('a rewritten history (the same size, another root): caught by the member who verified before', async () => {
    const before = await verify('beta');
    assert.equal(before.code, 0);
    // A record of acme's own run, which beta's verify does not read (the log's order is the order runs ended in).
    const betas = new Set((await entriesOf('beta')).map((e) => e.idx));
    const target = (await entriesOf('acme')).find((e) => !betas.has(e.idx));
    assert.ok(target !== undefined, 'a record of acme alone');
    await s.db.updateTable('log_entries').set({ note: target.note.replace(/^gpus 1$/m, 'gpus 2') }).where('idx', '=', target.idx).execute();
    await rebuildTree();
    const [problem] = failedWith(await verify('beta'), 'history_rewritten');
    const size = before.report.checkpoint.size;
    assert.match(problem!.detail, new RegExp(`^checkpoint size ${size} \\(root .*\\) has the size of the last verified checkpoint but not its root \\(${before.report.checkpoint.root.replace(/[+/]/g, '\\$&')}\\): history was rewritten$`));
  });

  test('a truncated log: the checkpoint is smaller than the one verified', async () => {
    await runs(['acme']); // a checkpoint after the one of the runs before
    const before = await verify('acme');
    assert.equal(before.code, 0);
    const { rows } = await sql<{ size: number }>`select size from log_checkpoints where size > 0 and size < ${before.report.checkpoint.size} order by size desc limit 1`.execute(s.db);
    const keep = Number(rows[0]!.size);
    await s.db.deleteFrom('log_cosignatures').where('size', '>', keep).execute();
    await s.db.deleteFrom('log_checkpoints').where('size', '>', keep).execute();
    await s.db.deleteFrom('log_entries').where('idx', '>=', keep).execute();
    await s.db.updateTable('ledger_entries').set({ logged_idx: null }).where('logged_idx', '>=', keep).execute();
    const [problem] = failedWith(await verify('acme'), 'log_truncated');
    assert.match(problem!.detail, new RegExp(`^checkpoint size ${keep} \\(root .*\\) is smaller than the last verified checkpoint \\(size ${before.report.checkpoint.size} \\(root .*\\)\\): the log was truncated, or an old checkpoint is replayed$`));
  });

  test('a replayed old checkpoint: named by its size', async () => {
    const old = (await send(s.pool, s.pool.admin, 'GET', '/ledger/checkpoint')).body;
    await runs(['acme']);
    const before = await verify('acme');
    assert.equal(before.code, 0);
    s.replay = old;
    const [problem] = failedWith(await verify('acme'), 'log_truncated');
    assert.match(problem!.detail, new RegExp(`^checkpoint size ${(old as { size: number }).size} \\(root .*\\) is smaller than the last verified checkpoint \\(size ${before.report.checkpoint.size} `));
  });

  test("a hostile site's agent refusing another site's records: that site is still asked to sign them", async () => {
    await s.fleet.close(); // acme's agent gone: its heartbeats are made here, by hand
    const [job] = await entriesOf('beta');
    await s.pool.store.transition([], [{ jobId: job!.job_id, attempt: 9, siteId: s.pool.siteId, consumerOrgId: 'beta', providerOrgId: 'acme', gpuType: 'h100', gpus: 1, startAt: Date.now() - 1000, at: Date.now(), gpuSeconds: 1, outcome: 'succeeded' }]);
    const [pending] = await s.pool.store.pendingUsage({ siteId: s.pool.siteId, limit: 1 });
    const hostile = await s.pool.addSite('beta', 'beta lab');
    const refused = await send(s.pool, hostile.token, 'POST', '/agent/heartbeat', { usage_refused: [{ id: pending!.id, reason: 'never ran here' }] });
    assert.equal(refused.status, 200, JSON.stringify(refused.body));
    const acmeKey = (await send<{ keys: { verifier_key: string }[] }>(s.pool, s.pool.admin, 'GET', `/sites/${s.pool.siteId}/keys`)).body.keys[0]!.verifier_key;
    // Written behind the server's back (here, by hand): its site's agent is asked within the server's look at the store (2 s).
    const asked = await waitFor('acme asked to sign it', async () => {
      const answer = await send<{ usage_to_sign: { id: number }[] }>(s.pool, s.pool.agentToken, 'POST', '/agent/heartbeat', { site_key: acmeKey });
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      if (answer.body.usage_to_sign.length > 0) return answer.body.usage_to_sign;
      await new Promise((r) => setTimeout(r, 300));
      return undefined;
    });
    assert.deepEqual(asked.map((u) => u.id), [pending!.id]);
  });

  test('a key rotated: revoked by its org-admin, the agent makes a new one; records under both verify, the old key signing anything later does not', async () => {
    const cli = (...args: string[]) => inProcess([...args, '--server', s.pool.url, '--token', s.pool.admin, '--json']);
    const listed = await cli('site', 'keys', s.pool.siteId);
    assert.equal(listed.code, 0, listed.err);
    const [old] = (JSON.parse(listed.out) as { keys: { key: string; revoked_at: string | null }[] }).keys;
    assert.equal(old?.revoked_at, null);
    const revoked = await cli('site', 'revoke-key', s.pool.siteId, old.key);
    assert.equal(revoked.code, 0, revoked.err);
    const keys = await waitFor('the agent presenting a new key', async () => {
      const k = (JSON.parse((await cli('site', 'keys', s.pool.siteId)).out) as { keys: { key: string; revoked_at: string | null }[] }).keys;
      return k.length === 2 ? k : undefined;
    });
    assert.deepEqual(keys.map((k) => [k.key === old.key, k.revoked_at === null]), [[true, false], [false, true]]);
    await runs(['beta', 'acme']);
    const both = await verify('beta');
    assert.equal(both.code, 0, JSON.stringify(both.report.problems));
    assert.equal(both.report.records.by_site, both.report.records.checked);

    // Whoever holds the old key signs a run that ended after the revocation: it does not count.
    const job = await submitAs(s.pool, 'beta', 1, ['true']);
    await s.pool.until(job, 'succeeded');
    await settled();
    const oldKey = (await readdir(join(s.fleet.dir, 'acme-lab'))).find((f) => f.startsWith('site.key.revoked-'));
    assert.ok(oldKey !== undefined, 'the agent kept its old key beside the new one');
    const oldSigner = nativeSigner((await readFile(join(s.fleet.dir, 'acme-lab', oldKey), 'utf8')).trim());
    await s.fleet.close();
    await s.pool.store.transition([], [{ jobId: job, attempt: 2, siteId: s.pool.siteId, consumerOrgId: 'beta', providerOrgId: 'acme', gpuType: 'h100', gpus: 1, startAt: Date.now() - 1000, at: Date.now(), gpuSeconds: 1, outcome: 'succeeded' }]);
    const [pending] = await s.pool.store.pendingUsage({ endedBefore: Number.MAX_SAFE_INTEGER, limit: 1 });
    const usage = s.pool.app.suanli.usage;
    const index = usage.length;
    await usage.append([{ entry: pending!, site: await siteSignature(usage, pending!, oldSigner) }]);
    await usage.checkpoint();
    const [problem] = failedWith(await verify('beta'), 'site_signature', 'credits_mismatch');
    assert.match(problem!.detail, new RegExp(`^entry #${index} \\(job ${job} attempt 2\\): signed by ${old.key.replace('+', '\\+')}, which site acme:site-1's org-admin revoked at \\d+ ms, before the run ended at \\d+ ms$`));
  });

  test('a record of an attempt the site never ran: its agent refuses to sign, and the record the control plane logs alone is named', async () => {
    const [job] = await entriesOf('beta');
    const invented: LedgerEntry = { jobId: job!.job_id, attempt: 7, siteId: s.pool.siteId, consumerOrgId: 'beta', providerOrgId: 'acme', gpuType: 'h100', gpus: 4, startAt: Date.now() - 600_000, at: Date.now(), gpuSeconds: 4 * 600, outcome: 'succeeded' };
    await s.pool.store.transition([], [invented]);
    await waitFor('the agent refusing the record', () => Promise.resolve(s.refused.length > 0 ? true : undefined));
    assert.match(s.refused[0]!.reason, /attempt 7|never|not/);
    const index = s.pool.app.suanli.usage.length;
    await s.pool.app.suanli.usage.logAlone(Number.MAX_SAFE_INTEGER);
    await settled();
    for (const org of ['beta', 'acme'] as const) {
      const [problem] = failedWith(await verify(org), 'unvouched');
      assert.match(problem!.detail, new RegExp(`^entry #${index} \\(job ${job!.job_id} attempt 7\\): written by the control plane alone, succeeded on site acme:site-1 at \\d+ ms, when the site had a record key in force and did not sign it: the site may never have run it$`));
    }
  });
});
