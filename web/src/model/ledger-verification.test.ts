import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keptMemoryText, ledgerMemoryKey, pinOf, PROBLEMS_SHOWN, readLedgerMemory, verificationPanel, type KeptTree, type LedgerMemory } from './ledger-verification.ts';
import { ledgerAudit, LOG_KEY } from './test-data.ts';

const PIN = { origin: 'suanli.test/ledger', logKey: LOG_KEY.verifierKey, pinnedAt: '2026-11-26T15:00:00.000Z' };
const tree = (size: number): KeptTree => ({ size, root: 'AAAA', indices: [0, 3], checkpointAt: '2026-11-26T15:10:00.000Z', verifiedAt: '2026-11-26T15:11:00.000Z' });

test('an honest log verifies; the run the control plane logged alone is a note, not a problem', () => {
  const { audit, checkpoint } = ledgerAudit();
  const panel = verificationPanel(audit, { pin: PIN, firstUse: true, logKeyShown: checkpoint.log_key, last: undefined });
  assert.equal(panel.verified, true);
  assert.equal(panel.signatureVerified, true);
  assert.equal(panel.consistency, 'first');
  assert.deepEqual(panel.records, { checked: 2, verified: 2, bySite: 1 });
  assert.deepEqual(panel.alone, { count: 1, shown: [{ index: 1, jobId: '8', attempt: 1 }], more: 0 });
  assert.deepEqual(panel.problems, { count: 0, shown: [], more: 0 });
  assert.equal(panel.keyShown, null);
  assert.equal(panel.last, null);
});

test('problems are the audit’s own words: the first twelve, and how many more', () => {
  const { audit, checkpoint } = ledgerAudit({}, Array.from({ length: 14 }, () => 0)); // entry 0 fourteen times, entry 1 never
  const panel = verificationPanel(audit, { pin: PIN, firstUse: false, logKeyShown: checkpoint.log_key, last: tree(1) });
  assert.equal(panel.verified, false);
  assert.equal(panel.problems.count, 14);
  assert.equal(panel.problems.shown.length, PROBLEMS_SHOWN);
  assert.equal(panel.problems.more, 2);
  assert.equal(panel.problems.shown[0]?.detail, audit.failures[0]?.detail);
  assert.match(panel.problems.shown[0]?.detail ?? '', /^entry #0 \(job 7 attempt 1\): a second record of job 7 attempt 1 on site acme-lab \(h100\), entry #0 is given twice/);
  assert.match(audit.failures.at(-1)?.detail ?? '', /^h100 own: the API reports 2\.5/, 'the uncounted run shows in the credits');
});

test('a checkpoint signed by another key than the pinned one does not verify, and the key the server shows now is named', () => {
  const other = 'suanli-ledger+00000000+AQ==';
  const { audit, checkpoint } = ledgerAudit({ trust: { origin: 'suanli.test/ledger', logKey: 'not a key' } });
  const panel = verificationPanel(audit, { pin: { ...PIN, logKey: 'not a key' }, firstUse: false, logKeyShown: other, last: undefined });
  assert.equal(panel.verified, false);
  assert.equal(panel.signatureVerified, false);
  assert.equal(panel.consistency, 'unchecked');
  assert.equal(panel.keyShown, other);
  assert.equal(panel.problems.count, 2, 'the bad pin and the changed key');
  assert.notEqual(checkpoint.log_key, other);
  // The same audit, the server showing the pinned key: one problem fewer.
  assert.equal(verificationPanel(audit, { pin: { ...PIN, logKey: other }, firstUse: false, logKeyShown: other, last: undefined }).problems.count, 1);
});

test('the memory: pinned on first use, kept per org, never backwards, dropped with another key; anything else is no memory', () => {
  const shown = { origin: 'suanli.test/ledger', log_key: LOG_KEY.verifierKey };
  assert.deepEqual(pinOf(null, shown, '2026-11-27T00:00:00.000Z'), { pin: { origin: shown.origin, logKey: shown.log_key, pinnedAt: '2026-11-27T00:00:00.000Z' }, firstUse: true });
  const memory: LedgerMemory = { pin: PIN, orgs: { acme: tree(5) } };
  assert.deepEqual(pinOf(memory, { ...shown, log_key: 'another' }, 'now'), { pin: PIN, firstUse: false }, 'the pinned key stays whatever the server shows');

  const read = (text: string) => readLedgerMemory(text);
  assert.deepEqual(read(keptMemoryText(null, PIN, 'acme', tree(5))), memory);
  assert.deepEqual(read(keptMemoryText(memory, PIN, 'acme', tree(3)))?.orgs.acme?.size, 5, 'a smaller tree does not replace a larger one');
  assert.deepEqual(read(keptMemoryText(memory, PIN, 'acme', tree(8)))?.orgs.acme?.size, 8);
  assert.deepEqual(Object.keys(read(keptMemoryText(memory, PIN, 'beta', tree(2)))?.orgs ?? {}), ['acme', 'beta']);
  assert.deepEqual(read(keptMemoryText(memory, { ...PIN, logKey: 'another' }, 'beta', tree(2)))?.orgs, { beta: tree(2) }, 'trees verified with another key are not kept');

  for (const broken of [null, '', 'not json', '[]', '{"pin":{}}', JSON.stringify({ pin: PIN, orgs: { acme: { ...tree(1), indices: [-1] } } }), JSON.stringify({ pin: PIN, orgs: { acme: { ...tree(1), size: '1' } } })]) {
    assert.equal(readLedgerMemory(broken), null, String(broken));
  }
  assert.equal(ledgerMemoryKey('https://pool.example'), 'suanli:ledger:https://pool.example');
});
