import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { jobId, orgId, siteId } from '../model/ids.ts';
import { auditLedger, compareCredits, type AuditEntry, type AuditFailureReason, type LedgerAudit, type LedgerAuditInput, type ListedSiteKey, type ReportedCredit } from './audit.ts';
import { formatCheckpoint } from './checkpoint.ts';
import { toBase64, utf8 } from './encoding.ts';
import {
  completedSubtreesFrom, completedSubtreesNeeds, consistencyProofFrom, consistencyProofNeeds, inclusionProofFrom, inclusionProofNeeds, leafHash, treeRootFrom, treeRootNeeds, type NodeId,
} from './merkle.ts';
import { generateSignerKey, noteSigner, noteVerifier, signNote, type NoteSigner, type NoteVerifier } from './note.ts';
import { credits, gpuSecondsOf, parseUsageRecord, recordNote, type UsageRecord } from './usage-record.ts';
import { treeName } from './witness.ts';

const HOUR = 3_600_000;
const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const ORIGIN = 'suanli.test/ledger';

const key = (name: string, n: number) => generateSignerKey(name, new Uint8Array(32).fill(n));
const LOG = key('suanli-ledger', 1);
const ACME_EAST = key('suanli-site', 2);
const BETA_WEST = key('suanli-site', 3);
const STRANGER = key('suanli-site', 4);
const log = noteSigner(LOG.signerKey);
const signer = { acme: noteSigner(ACME_EAST.signerKey), beta: noteSigner(BETA_WEST.signerKey), stranger: noteSigner(STRANGER.signerKey) };
const SITE_KEYS: ListedSiteKey[] = [
  { site: 'acme:site-1', verifierKey: ACME_EAST.verifierKey, revokedAtMs: null },
  { site: 'beta:site-1', verifierKey: BETA_WEST.verifierKey, revokedAtMs: null },
];

/** A run of beta's job on acme's site by default: 8 h100 for an hour, written by the site. */
function record(patch: Partial<UsageRecord> = {}): UsageRecord {
  const base = { jobId: jobId('40'), attempt: 1, siteId: siteId('acme:site-1'), consumerOrgId: orgId('beta'), providerOrgId: orgId('acme'), gpuType: 'h100', gpus: 8, startMs: T0, endMs: T0 + HOUR, outcome: 'succeeded', writer: 'site', ...patch } as const;
  return { ...base, gpuSeconds: gpuSecondsOf(base.gpus, base.startMs, base.endMs) };
}

/** The note the control plane logs: the site's signature then its own; or its own alone. */
function logged(r: UsageRecord, site: NoteSigner | null = r.siteId.startsWith('beta') ? signer.beta : signer.acme): Uint8Array {
  return recordNote(r, r.writer === 'control-plane' || site === null ? [log] : [site, log]);
}

/** A log as the store keeps it: leaves and complete-subtree hashes, with checkpoints and proofs. */
class TestLog {
  readonly notes: Uint8Array[] = [];
  private readonly nodes = new Map<string, Uint8Array>();
  constructor(notes: readonly Uint8Array[] = []) {
    for (const n of notes) this.append(n);
  }
  get size(): number {
    return this.notes.length;
  }
  append(note: Uint8Array): number {
    const i = this.notes.length;
    for (const n of completedSubtreesFrom(i, leafHash(note), this.read(completedSubtreesNeeds(i)))) this.nodes.set(`${n.level}/${n.index}`, n.hash);
    this.notes.push(note);
    return i;
  }
  private read(ids: readonly NodeId[]): Uint8Array[] {
    return ids.map((id) => this.nodes.get(`${id.level}/${id.index}`)!);
  }
  root(size = this.size): Uint8Array {
    return treeRootFrom(size, this.read(treeRootNeeds(size)));
  }
  checkpoint(size = this.size, by: NoteSigner = log, origin = ORIGIN): Uint8Array {
    return signNote(formatCheckpoint({ origin, size, rootHash: this.root(size), extensions: [] }), [by]);
  }
  entry(index: number, size = this.size): AuditEntry {
    return { index, note: this.notes[index]!, proof: inclusionProofFrom(index, size, this.read(inclusionProofNeeds(index, size))) };
  }
  consistency(from: number, to = this.size): Uint8Array[] {
    return consistencyProofFrom(from, to, this.read(consistencyProofNeeds(from, to)));
  }
}

/** What the API reports for `org`: the server's sums of GPU-seconds as doubles, over the records it counts. */
function reportedFor(records: readonly UsageRecord[], org: string): ReportedCredit[] {
  const rows = new Map<string, { contributed: number; consumed: number; own: number }>();
  for (const r of records) {
    if (r.consumerOrgId !== org && r.providerOrgId !== org) continue;
    const row = rows.get(r.gpuType) ?? { contributed: 0, consumed: 0, own: 0 };
    if (r.consumerOrgId === r.providerOrgId) row.own += r.gpuSeconds;
    else if (r.providerOrgId === org) row.contributed += r.gpuSeconds;
    else row.consumed += r.gpuSeconds;
    rows.set(r.gpuType, row);
  }
  return [...rows].map(([gpuType, s]) => ({ orgId: org, gpuType, contributedGpuH: s.contributed / 3600, consumedGpuH: s.consumed / 3600, ownGpuH: s.own / 3600 }));
}

/** A pool's log: beta borrows acme's h100s and acme beta's a100s, acme runs on its own site, one run lost and logged by the control plane alone. */
const RECORDS: UsageRecord[] = [
  record(),
  record({ jobId: jobId('41'), consumerOrgId: orgId('acme'), gpus: 4, endMs: T0 + HOUR / 2 }),
  record({ jobId: jobId('42'), siteId: siteId('beta:site-1'), consumerOrgId: orgId('acme'), providerOrgId: orgId('beta'), gpuType: 'a100', gpus: 2, endMs: T0 + 3 * HOUR + 7 }),
  record({ jobId: jobId('40'), attempt: 2, startMs: T0 + 2 * HOUR, endMs: T0 + 2 * HOUR + 1234, outcome: 'failed' }), // a retry: a new attempt
  record({ jobId: jobId('43'), outcome: 'lost', writer: 'control-plane', endMs: T0 + 20 * 60_000 }),
  record({ jobId: jobId('44'), siteId: siteId('beta:site-1'), consumerOrgId: orgId('beta'), providerOrgId: orgId('beta'), gpuType: 'a100', gpus: 1 }), // beta's own: not acme's
  record({ jobId: jobId('45'), siteId: siteId('beta:site-1'), providerOrgId: orgId('beta'), consumerOrgId: orgId('acme'), gpuType: 'a100', gpus: 3, endMs: T0 + 333 }), // job 45 spans two sites:
  record({ jobId: jobId('45'), siteId: siteId('acme:site-1'), consumerOrgId: orgId('acme'), gpus: 5, endMs: T0 + 333 }), //   the same attempt on another site
];
const NOTES = RECORDS.map((r) => logged(r));

const concerns = (org: string) => (r: UsageRecord) => r.consumerOrgId === org || r.providerOrgId === org;

/** An audit of `org`'s entries in a log of `notes`, as an honest server answers; `patch` changes the input. */
function honest(org = 'acme', notes: readonly Uint8Array[] = NOTES, patch: Partial<LedgerAuditInput> = {}): { input: LedgerAuditInput; tree: TestLog } {
  const tree = new TestLog(notes);
  const records = notes.map((n) => {
    try {
      return parseUsageRecord(`${new TextDecoder().decode(n).split('\n\n')[0]}\n`);
    } catch {
      return null; // not a record: given to the org as the server would, for the audit to find out
    }
  });
  const entries = records.flatMap((r, i) => (r === null || concerns(org)(r) ? [tree.entry(i)] : []));
  const reported = reportedFor(records.filter((r) => r !== null), org);
  return { tree, input: { trust: { origin: ORIGIN, logKey: LOG.verifierKey }, checkpoint: tree.checkpoint(), org, entries, siteKeys: SITE_KEYS, reported, ...patch } };
}

const reasons = (a: LedgerAudit): AuditFailureReason[] => a.failures.map((f) => f.reason);

test('an honest log verifies for each org: every record in the tree, signed, counted once, credits as the API reports', () => {
  for (const org of ['acme', 'beta']) {
    const { input, tree } = honest(org);
    const audit = auditLedger(input);
    assert.deepEqual(audit.failures, [], org);
    assert.equal(audit.ok, true);
    assert.deepEqual([audit.checkpoint?.size, audit.consistency], [tree.size, 'first']);
    assert.equal(toBase64(audit.checkpoint!.rootHash), toBase64(tree.root()));
    const mine = RECORDS.filter(concerns(org));
    assert.deepEqual([audit.entries.checked, audit.entries.verified], [mine.length, mine.length]);
    assert.deepEqual(audit.credits.recomputed, credits(mine, orgId(org)));
    assert.deepEqual(audit.credits.mismatches, []);
  }
  const acme = auditLedger(honest('acme').input);
  assert.deepEqual(acme.entries.controlPlaneAlone, [{ index: 4, jobId: '43', attempt: 1 }], 'the lost run: no site vouches for it, which is not a failure');
  assert.equal(acme.entries.bySite, 6);
});

test('the checkpoint must open with the pinned key and origin; a pinned key that is no key is said so', () => {
  const { input, tree } = honest();
  const other = noteSigner(key('suanli-ledger', 9).signerKey);
  const cases: [Partial<LedgerAuditInput>, AuditFailureReason, RegExp][] = [
    [{ checkpoint: tree.checkpoint(tree.size, other) }, 'checkpoint_unverified', /pinned log key suanli-ledger\+[0-9a-f]{8} .*no signature by suanli-ledger/],
    [{ checkpoint: tree.checkpoint(tree.size, log, 'another.example/ledger') }, 'checkpoint_unverified', /origin "another\.example\/ledger", not "suanli\.test\/ledger"/],
    [{ checkpoint: utf8('suanli.test/ledger\n8\nnot a root\n\n— suanli-ledger AAAAAAAA\n') }, 'checkpoint_unverified', /does not verify/],
    [{ trust: { origin: ORIGIN, logKey: 'suanli-ledger+00000000+nonsense' } }, 'bad_trust', /pinned log key is not a verifier key/],
  ];
  for (const [patch, reason, detail] of cases) {
    const audit = auditLedger({ ...input, ...patch });
    assert.deepEqual([audit.ok, reasons(audit), audit.checkpoint, audit.consistency, audit.entries.verified], [false, [reason], null, 'unchecked', 0]);
    assert.match(audit.failures[0]!.detail, detail);
  }
});

test('consistency with the last checkpoint verified: extended, unchanged, truncated or replayed, rewritten, not extended', () => {
  const { input, tree } = honest();
  const head = (size: number) => ({ size, rootHash: tree.root(size) });
  const at = (size: number) => treeNameOf(tree, size);
  assert.equal(auditLedger({ ...input, lastVerified: head(3), consistencyProof: tree.consistency(3) }).consistency, 'extends');
  assert.equal(auditLedger({ ...input, lastVerified: head(tree.size) }).consistency, 'unchanged');
  assert.equal(auditLedger({ ...input, lastVerified: { size: 0, rootHash: new TestLog().root() } }).consistency, 'extends', 'every tree extends the empty one');

  // The server shows an older checkpoint than the member verified: truncated, or replayed.
  const old = honest('acme', NOTES.slice(0, 5));
  const truncated = auditLedger({ ...old.input, lastVerified: head(8) });
  assert.deepEqual([truncated.ok, truncated.consistency, reasons(truncated)], [false, 'failed', ['log_truncated']]);
  assert.equal(truncated.failures[0]!.detail, `checkpoint ${at(5)} is smaller than the last verified checkpoint (${at(8)}): the log was truncated, or an old checkpoint is replayed`);

  // The same size with another root: one record rewritten and the tree rebuilt.
  const rewritten = honest('acme', NOTES.map((n, i) => (i === 2 ? logged({ ...RECORDS[2]!, gpus: 20, gpuSeconds: gpuSecondsOf(20, T0, T0 + 3 * HOUR + 7) }) : n)));
  const same = auditLedger({ ...rewritten.input, lastVerified: head(8) });
  assert.deepEqual(reasons(same), ['history_rewritten'], 'the rebuilt tree holds the new record, and the API counts it: only the pin sees the change');
  assert.match(same.failures[0]!.detail, new RegExp(`^checkpoint ${escape(treeName(8, rewritten.tree.root()))} has the size of the last verified checkpoint but not its root \\(${escape(toBase64(tree.root()))}\\): history was rewritten$`));

  // A larger tree that does not extend the verified one: the rewritten history grew on.
  rewritten.tree.append(logged(record({ jobId: jobId('99') })));
  const grown = auditLedger({ ...rewritten.input, checkpoint: rewritten.tree.checkpoint(), lastVerified: head(8), consistencyProof: rewritten.tree.consistency(8) });
  assert.equal(grown.failures[0]?.reason, 'inconsistent');
  assert.match(grown.failures[0]?.detail ?? '', new RegExp(`^checkpoint size 9 \\(root .*\\) does not extend the last verified checkpoint, ${escape(at(8))}: 8 → 9: the proof does not lead to the new root: the new tree does not extend the old one$`));
  const noProof = auditLedger({ ...input, lastVerified: head(3) });
  assert.match(noProof.failures[0]!.detail, /0 hashes; 3 → 8 takes \d+/);
});

test('an entry verified at the last checkpoint must be listed again: a logged record is never taken back', () => {
  const before = honest('acme', NOTES.slice(0, 5));
  const last = auditLedger(before.input);
  assert.deepEqual(last.entries.verifiedIndices, [0, 1, 2, 3, 4]);
  const { input, tree } = honest();
  const since = { lastVerified: { size: 5, rootHash: tree.root(5) }, consistencyProof: tree.consistency(5), verifiedBefore: last.entries.verifiedIndices };
  assert.deepEqual(auditLedger({ ...input, ...since }).failures, [], 'all still listed, and more');
  // Entry 2 dropped from the listing, and its credits from the API's figures: only the memory of it shows.
  const withoutTwo = honest('acme', NOTES, {});
  const hidden = auditLedger({ ...withoutTwo.input, ...since, entries: withoutTwo.input.entries.filter((e) => e.index !== 2), reported: reportedFor(RECORDS.filter((_, i) => i !== 2), 'acme') });
  assert.deepEqual(reasons(hidden), ['record_gone']);
  assert.equal(hidden.failures[0]!.detail, `entry #2, verified in checkpoint ${treeName(5, tree.root(5))}, is not among the entries the server lists now: a logged record was taken back`);
  assert.deepEqual(hidden.failures[0]!.entry, { index: 2, jobId: null, attempt: null });
});

test('a record the control plane wrote alone where the site had a key in force and the run was not lost: unvouched, named', () => {
  const keysSince = (ms: number, revokedAtMs: number | null = null): ListedSiteKey[] => SITE_KEYS.map((k) => ({ ...k, createdAtMs: ms, revokedAtMs }));
  const invented = record({ jobId: jobId('77'), writer: 'control-plane' }); // succeeded on acme's site, which never signed it
  const notes = [...NOTES, logged(invented)];
  const { input } = honest('beta', notes, { siteKeys: keysSince(T0) });
  const audit = auditLedger(input);
  assert.deepEqual(reasons(audit), ['unvouched'], 'one failure: the invented run; the lost run written alone is expected');
  assert.equal(audit.failures[0]!.detail, `entry #8 (job 77 attempt 1): written by the control plane alone, succeeded on site acme:site-1 at ${T0 + HOUR} ms, when the site had a record key in force and did not sign it: the site may never have run it`);
  assert.deepEqual(audit.credits.mismatches, [], 'in the log and counted by the API: the credits agree');
  // Where no site could have signed, the same record is only listed: no key yet, or the key revoked before the run ended.
  for (const [siteKeys, log] of [[keysSince(T0 + 2 * HOUR), notes], [keysSince(T0, T0 + 1), [logged(invented)]], [SITE_KEYS, notes]] as const) {
    const alone = auditLedger(honest('beta', log, { siteKeys }).input);
    assert.deepEqual(alone.failures, [], JSON.stringify(siteKeys));
    assert.ok(alone.entries.controlPlaneAlone.some((e) => e.index === log.length - 1));
  }
});

test('each entry’s first failure names it: not in the tree, tampered, the site’s signature, the countersignature, another org’s, a run twice', () => {
  const expect = (notes: Uint8Array[], change: (input: LedgerAuditInput, tree: TestLog) => LedgerAuditInput, reason: AuditFailureReason, detail: RegExp) => {
    const { input, tree } = honest('acme', notes);
    const audit = auditLedger(change(input, tree));
    assert.equal(audit.ok, false);
    const failure = audit.failures.find((f) => f.entry !== undefined);
    assert.equal(failure?.reason, reason, JSON.stringify(audit.failures));
    assert.match(failure.detail, detail);
  };
  const replace = (i: number, note: Uint8Array) => NOTES.map((n, j) => (j === i ? note : n));
  const withEntry = (i: number, patch: Partial<AuditEntry>) => (input: LedgerAuditInput) => ({ ...input, entries: input.entries.map((e) => (e.index === i ? { ...e, ...patch } : e)) });
  const same = (input: LedgerAuditInput) => input;

  // The database's note edited after it was logged: its leaf hash is not in the tree.
  const edited = utf8(new TextDecoder().decode(NOTES[0]).replace('gpus 8', 'gpus 9'));
  expect(NOTES, withEntry(0, { note: edited }), 'not_in_tree', /^entry #0 \(job 40 attempt 1\): not in the tree at checkpoint size 8 \(root .*\): leaf 0 of 8: the proof leads to another root$/);
  expect(NOTES, withEntry(1, { index: 9 }), 'not_in_tree', /^entry #9 \(job 41 attempt 1\): not in the tree .*: leaf 9 is not in a tree of 8 leaves$/);
  expect(NOTES, withEntry(1, { proof: [] }), 'not_in_tree', /leaf 1 of 8: the proof leads to another root|0 hashes; leaf 1 of 8 takes 3/);
  // Logged so (the tree holds it), but the text is not what the control plane signed.
  const forged = utf8(new TextDecoder().decode(NOTES[0]).replace('gpus 8\n', 'gpus 9\n').replace('gpu-seconds 28800', 'gpu-seconds 32400'));
  expect(replace(0, logged(record(), signer.acme).subarray(0, 40)), same, 'tampered', /^entry #0 \(job 40 attempt 1\): not a signed note/);
  expect(replace(0, forged), same, 'site_signature', /^entry #0 \(job 40 attempt 1\): the signature by suanli-site\+[0-9a-f]{8}, a key of site acme:site-1, does not verify$/);
  const forgedAlone = utf8(new TextDecoder().decode(NOTES[4]).replace('outcome lost', 'outcome failed'));
  // A record the control plane wrote alone, edited and logged so: the control plane's word all the same (it signed
  // the tree that holds it, with the key of its countersignature), which the audit takes without checking that again.
  const alone = auditLedger(honest('acme', replace(4, forgedAlone)).input);
  assert.deepEqual(alone.failures, []);
  assert.ok(alone.entries.controlPlaneAlone.some((e) => e.index === 4));
  // The site's signature: missing, by another site's key, or by a key revoked before the run ended.
  expect(replace(0, logged(record(), null)), same, 'site_signature', /^entry #0 \(job 40 attempt 1\): the record says its site acme:site-1 wrote it, but no key of that site signed it$/);
  expect(replace(0, logged(record(), signer.beta)), same, 'site_signature', /no key of that site signed it/);
  expect(replace(0, logged(record(), signer.stranger)), same, 'site_signature', /no key of that site signed it/);
  expect(replace(0, logged(record({ siteId: siteId('acme:site-9') }))), same, 'site_signature', /its site acme:site-9 wrote it, but the server lists no key for that site/);
  expect(NOTES, (input) => ({ ...input, siteKeys: [{ ...SITE_KEYS[0]!, revokedAtMs: T0 + HOUR - 1 }, SITE_KEYS[1]!] }), 'site_signature', new RegExp(`revoked at ${T0 + HOUR - 1} ms, before the run ended at ${T0 + HOUR} ms`));
  expect(NOTES, (input) => ({ ...input, siteKeys: [SITE_KEYS[0]!, { site: 'acme:site-1', verifierKey: ACME_EAST.verifierKey.replace('suanli-site', 'suanli-sitf'), revokedAtMs: null }] }), 'site_signature', /./);
  // The log's own key listed as a site's key does not vouch for the site.
  expect(replace(0, logged(record(), null)), (input) => ({ ...input, siteKeys: [...SITE_KEYS, { site: 'acme:site-1', verifierKey: LOG.verifierKey, revokedAtMs: null }] }), 'site_signature', /no key of that site signed it/);
  // Signed by the site but never countersigned.
  expect(replace(0, recordNote(record(), [signer.acme])), same, 'not_countersigned', /^entry #0 \(job 40 attempt 1\): no signature by the control plane's key suanli-ledger\+[0-9a-f]{8}$/);
  expect(replace(4, recordNote(RECORDS[4]!, [signer.acme])), same, 'not_countersigned', /^entry #4 \(job 43 attempt 1\): no signature by the control plane's key/);
  // Another org's record among acme's.
  expect(NOTES, (input, tree) => ({ ...input, entries: [...input.entries, tree.entry(5)] }), 'not_orgs_record', /^entry #5 \(job 44 attempt 1\): consumed by beta on beta's site: not a record of acme$/);
  // The same run twice: a second record, or the same entry given again.
  const again = logged({ ...RECORDS[0]!, endMs: T0 + 2 * HOUR, gpuSeconds: gpuSecondsOf(8, T0, T0 + 2 * HOUR) });
  expect([...NOTES, again], same, 'duplicate_run', /^entry #8 \(job 40 attempt 1\): a second record of job 40 attempt 1 on site acme:site-1 \(h100\), after entry #0: a run counts once$/);
  expect(NOTES, (input, tree) => ({ ...input, entries: [...input.entries, tree.entry(0)] }), 'duplicate_run', /^entry #0 \(job 40 attempt 1\): .*entry #0 is given twice/);
});

test('what legitimately repeats is not a duplicate: attempts, the sites and the GPU types of one attempt', () => {
  const parts = [
    record(), record({ attempt: 2 }), record({ siteId: siteId('beta:site-1'), providerOrgId: orgId('beta'), consumerOrgId: orgId('acme') }), record({ gpuType: 'a100' }),
  ].map((r) => logged(r));
  const audit = auditLedger(honest('acme', parts).input);
  assert.deepEqual(audit.failures, []);
  assert.equal(audit.entries.verified, 4);
});

test('credits: a record counted but hidden, and one shown but not counted, name the GPU type and both figures', () => {
  const { input } = honest();
  const hidden = auditLedger({ ...input, entries: input.entries.filter((e) => e.index !== 2) });
  assert.deepEqual(reasons(hidden), ['credits_mismatch']);
  // Entry 2: acme's job 42 on 2 of beta's a100 for 3 h and 7 ms; job 45 used 3 of them for 333 ms.
  assert.equal(hidden.failures[0]!.detail, 'a100 consumed: the API reports 6.00028138889 GPU-h, the verified records add up to 0.0002775 GPU-h: the API counts 6.00000388889 GPU-h that no verified record shows (a record counted but hidden)');
  const a100 = input.reported.find((r) => r.gpuType === 'a100')!;
  assert.deepEqual(hidden.credits.mismatches, [{ gpuType: 'a100', figure: 'consumed', reportedGpuH: a100.consumedGpuH, recomputedGpuH: (3 * 333) / HOUR }]);
  const uncounted = auditLedger({ ...input, reported: input.reported.map((r) => (r.gpuType === 'h100' ? { ...r, contributedGpuH: r.contributedGpuH - 8 } : r)) });
  assert.deepEqual(uncounted.failures.map((f) => [f.reason, f.gpuType]), [['credits_mismatch', 'h100']]);
  assert.match(uncounted.failures[0]!.detail, /^h100 contributed: the API reports [\d.]+ GPU-h, the verified records add up to [\d.]+ GPU-h: the verified records show 8 GPU-h that the API does not count \(a record shown but not counted\)$/);
  const none = auditLedger({ ...input, reported: [] });
  assert.deepEqual(none.credits.mismatches.map((m) => `${m.gpuType} ${m.figure}`), ['a100 consumed', 'h100 contributed', 'h100 own'], 'no rows at all: every figure that is not zero');
  assert.deepEqual(auditLedger({ ...input, reported: [...input.reported, { orgId: 'beta', gpuType: 'h100', contributedGpuH: 1, consumedGpuH: 0, ownGpuH: 0 }] }).failures, [], "another org's rows are not the org's");
  // A failed entry is not counted: the API's figure for it shows as hidden too.
  const { input: forged } = honest('acme', NOTES.map((n, i) => (i === 0 ? logged(record(), null) : n)));
  assert.deepEqual(reasons(auditLedger(forged)), ['site_signature', 'credits_mismatch']);
});

test('property: the API’s double sums agree with the exact sums of any records, and one GPU-second more does not', () => {
  const arbRun = fc.record({ gpus: fc.integer({ min: 1, max: 4096 }), ms: fc.integer({ min: 1, max: 30 * 24 * HOUR }), lent: fc.boolean(), own: fc.boolean(), gpuType: fc.constantFrom('h100', 'a100') });
  fc.assert(fc.property(fc.array(arbRun, { minLength: 1, maxLength: 400 }), fc.constantFrom('contributed', 'consumed', 'own'), (runs, extra) => {
    const records = runs.map((x, n) => record({
      jobId: jobId(String(n)), gpuType: x.gpuType, gpus: x.gpus, endMs: T0 + x.ms,
      providerOrgId: orgId(x.own || x.lent ? 'acme' : 'beta'), consumerOrgId: orgId(x.own || !x.lent ? 'acme' : 'beta'),
    }));
    const mine = credits(records, orgId('acme'));
    assert.deepEqual(compareCredits(mine, reportedFor(records, 'acme'), records.length), []);
    const [consumer, provider] = extra === 'contributed' ? ['beta', 'acme'] : extra === 'consumed' ? ['acme', 'beta'] : ['acme', 'acme'];
    const more = reportedFor([...records, record({ jobId: jobId('extra'), gpus: 1, endMs: T0 + 1000, consumerOrgId: orgId(consumer), providerOrgId: orgId(provider) })], 'acme');
    assert.deepEqual(compareCredits(mine, more, records.length).map((m) => [m.gpuType, m.figure]), [['h100', extra]]);
  }), { numRuns: 100 });
});

test('property: a flipped byte in any entry’s note fails that entry, by index, and nothing else but the credits', () => {
  const { input } = honest();
  fc.assert(fc.property(fc.nat({ max: input.entries.length - 1 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (which, at, xor) => {
    const e = input.entries[which]!;
    const note = e.note.slice();
    note[at % note.length]! ^= xor;
    const audit = auditLedger({ ...input, entries: input.entries.map((x) => (x === e ? { ...x, note } : x)) });
    const entryFailures = audit.failures.filter((f) => f.entry !== undefined);
    assert.deepEqual(entryFailures.map((f) => [f.reason, f.entry?.index]), [['not_in_tree', e.index]]);
    assert.ok(audit.failures.every((f) => f.entry !== undefined || f.reason === 'credits_mismatch'));
  }), { numRuns: 80 });
});

test('property: leaving out any entry of the org shows as a record counted but hidden', () => {
  const { input } = honest();
  fc.assert(fc.property(fc.nat({ max: input.entries.length - 1 }), (drop) => {
    const audit = auditLedger({ ...input, entries: input.entries.filter((_, i) => i !== drop) });
    assert.ok(audit.failures.length > 0 && audit.failures.every((f) => f.reason === 'credits_mismatch' && /counted but hidden/.test(f.detail)), JSON.stringify(audit.failures));
  }));
});

test('property: nothing the server sends makes the audit throw', () => {
  const { input, tree } = honest();
  const bytes = fc.uint8Array({ maxLength: 600 });
  const hostile = fc.record({
    checkpoint: fc.oneof(fc.constant(input.checkpoint), bytes, fc.anything()),
    lastVerified: fc.oneof(fc.constant(undefined), fc.constant(null), fc.record({ size: fc.oneof(fc.integer(), fc.double(), fc.anything()), rootHash: fc.oneof(bytes, fc.anything()) }), fc.anything()),
    consistencyProof: fc.oneof(fc.constant(undefined), fc.array(bytes, { maxLength: 20 }), fc.anything()),
    org: fc.oneof(fc.constant('acme'), fc.string(), fc.anything()),
    entries: fc.oneof(
      fc.array(fc.record({ index: fc.oneof(fc.nat({ max: 12 }), fc.double(), fc.anything()), note: fc.oneof(fc.constantFrom(...tree.notes), bytes, fc.anything()), proof: fc.oneof(fc.array(bytes, { maxLength: 5 }), fc.anything()) }), { maxLength: 10 }),
      fc.anything(),
    ),
    siteKeys: fc.oneof(fc.constant(SITE_KEYS), fc.array(fc.record({ site: fc.anything(), verifierKey: fc.oneof(fc.string(), fc.constant(ACME_EAST.verifierKey)), revokedAtMs: fc.anything() })), fc.anything()),
    reported: fc.oneof(fc.constant(input.reported), fc.array(fc.record({ gpuType: fc.anything(), contributedGpuH: fc.anything(), consumedGpuH: fc.double(), ownGpuH: fc.double() })), fc.anything()),
    trust: fc.oneof(fc.constant(input.trust), fc.record({ origin: fc.anything(), logKey: fc.oneof(fc.string(), fc.constant(LOG.verifierKey), fc.anything()) }), fc.anything()),
  });
  fc.assert(fc.property(hostile, (h) => {
    const audit = auditLedger(h as unknown as LedgerAuditInput);
    assert.equal(typeof audit.ok, 'boolean');
    assert.equal(audit.ok, audit.failures.length === 0);
  }), { numRuns: 300 });
  assert.doesNotThrow(() => auditLedger(undefined as unknown as LedgerAuditInput));
  assert.doesNotThrow(() => auditLedger({ ...input, verifierOf: () => { throw new Error('no'); } }));
});

test('a verifier the caller passes is what checks every signature checked: the checkpoint and the sites’ (records in its tree are the control plane’s)', () => {
  const { input } = honest();
  let calls = 0;
  const counting = (k: string): NoteVerifier => {
    const v = noteVerifier(k);
    return { ...v, verify: (text, signature) => (calls++, v.verify(text, signature)) };
  };
  assert.deepEqual(auditLedger({ ...input, verifierOf: counting }).failures, []);
  assert.equal(calls, 1 + 6, 'the checkpoint, and the site’s signature on each site record (none on the lost run’s, the control plane’s alone)');
});

// ---- helpers -------------------------------------------------------------------------------

function treeNameOf(tree: TestLog, size: number): string {
  return treeName(size, tree.root(size));
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
