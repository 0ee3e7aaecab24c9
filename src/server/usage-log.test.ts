import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { utf8 } from '../ledger/encoding.ts';
import { leafHash, merkleTreeHash } from '../ledger/merkle.ts';
import { openNote } from '../ledger/note.ts';
import { openStore } from '../store/index.ts';
import type { Store } from '../store/types.ts';
import { nativeSigner, nativeVerifier, newKeyPair } from './log-keys.ts';
import { PendingBySite, UsageLog } from './usage-log.ts';

const LOG = newKeyPair('suanli-ledger');

/** A store in memory with one org, its site s1 and one job of its. */
async function oneJob(): Promise<{ store: Store; jobId: string }> {
  const store = await openStore({ memory: true });
  await store.createOrg({ id: 'acme', name: 'Acme', createdAt: 0 });
  await store.createSite({ id: 's1', orgId: 'acme', name: 's1', capacity: [{ gpuType: 'h100', nodes: 1, gpusPerNode: 8 }], pricePerGpuHour: null, share: { lendFraction: 1, reclaim: false, reclaimNoticeS: 0 }, wanLinks: [], createdAt: 0 });
  const [job] = await store.submitJobs([{ orgId: 'acme', name: 'j', demand: { gpus: 1, gpuTypes: ['h100'], gang: true, estimateS: 60, priority: 0, preemptible: true, checkpointIntervalS: null, command: null, plan: null }, submittedBy: 't', submittedAt: 0, idempotencyKey: null }]);
  return { store, jobId: job!.job.id };
}

/** The usage of the job's attempts `from`…`to` on s1, one GPU-second each: pending ledger entries. */
const runsOf = (jobId: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => ({
  jobId, attempt: from + i, siteId: 's1', consumerOrgId: 'acme', providerOrgId: 'acme', gpuType: 'h100', gpus: 1, startAt: 0, at: 1000, gpuSeconds: 1, outcome: 'succeeded' as const,
}));

test('appends that arrive while one runs are logged together, in one transaction, each entry once; the tree is the same', async () => {
  const { store, jobId } = await oneJob();
  try {
    await store.transition([], runsOf(jobId, 1, 9));
    let transactions = 0;
    const counting: Store = new Proxy(store, {
      get: (t, k): unknown => (k === 'appendLog' ? (...a: Parameters<Store['appendLog']>) => (transactions++, t.appendLog(...a)) : Reflect.get(t, k)),
    });
    const usage = new UsageLog({ store: counting, clock: { now: () => 5000 }, logger: pino({ level: 'silent' }), signer: nativeSigner(LOG.signerKey), origin: 'test/log', labelOf: (id) => Promise.resolve(id), intervalMs: 60_000, aloneAfterMs: 60_000 });
    await usage.start(false);
    const pending = await store.pendingUsage({ siteId: 's1', limit: 100 });
    const alone = (from: number, to: number) => pending.slice(from, to).map((entry) => ({ entry, site: null }));
    // Calls made at once go together; so do the three arriving while the first runs (one entry twice).
    const first = usage.append(alone(0, 3));
    await new Promise((r) => setImmediate(r)); // the first has started (without coalescing: four transactions)
    await Promise.all([first, usage.append(alone(3, 5)), usage.append(alone(5, 8)), usage.append(alone(7, 9))]);
    assert.equal(transactions, 2);
    assert.equal(usage.length, 9);
    const entries = await store.logEntries(0, 100);
    assert.deepEqual(entries.map((e) => e.index), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(new Set(entries.map((e) => e.entryId)).size, 9, 'each entry once');
    for (const e of entries) assert.ok(openNote(utf8(e.note), [nativeVerifier(LOG.verifierKey)]).ok, 'countersigned by the log key');
    assert.deepEqual(await usage.root(9), merkleTreeHash(entries.map((e) => leafHash(utf8(e.note)))));
    await usage.stop();
  } finally {
    await store.close();
  }
});

test('an entry logged meanwhile (alone, its time up) does not keep the others of its append out of the log; one given again while its append runs is logged once', async () => {
  const { store, jobId } = await oneJob();
  try {
    await store.transition([], runsOf(jobId, 1, 6));
    const usage = new UsageLog({ store, clock: { now: () => 5000 }, logger: pino({ level: 'silent' }), signer: nativeSigner(LOG.signerKey), origin: 'test/log', labelOf: (id) => Promise.resolve(id), intervalMs: 60_000, aloneAfterMs: 60_000 });
    await usage.start(false);
    const pending = await store.pendingUsage({ siteId: 's1', limit: 100 });
    const alone = (from: number, to: number) => pending.slice(from, to).map((entry) => ({ entry, site: null }));
    // Entry 2 is logged (as a site's stale offer would be, after the control plane logged it alone); then all six are given.
    await usage.append(alone(1, 2));
    await usage.append(alone(0, 6));
    assert.equal(usage.length, 6);
    let entries = await store.logEntries(0, 100);
    assert.deepEqual(entries.map((e) => e.entryId).sort((a, b) => a - b), pending.map((p) => p.id), 'every entry logged, once');
    // Given again while its append runs, and again after: once (the second call joins nothing; the third finds it logged).
    await store.transition([], runsOf(jobId, 7, 7));
    const [late] = await store.pendingUsage({ siteId: 's1', limit: 100 });
    const running = usage.append([{ entry: late!, site: null }]);
    await new Promise((r) => setImmediate(r));
    await Promise.all([running, usage.append([{ entry: late!, site: null }])]);
    await usage.append([{ entry: late!, site: null }]);
    entries = await store.logEntries(0, 100);
    assert.equal(entries.length, 7);
    assert.equal(usage.length, 7);
    assert.deepEqual(await usage.root(7), merkleTreeHash(entries.map((e) => leafHash(utf8(e.note)))));
    await usage.stop();
  } finally {
    await store.close();
  }
});

/** A PendingBySite, a read that finds nothing, and how many times it ran. */
function countedReads(): { pending: PendingBySite; none: () => Promise<number[]>; reads: () => number } {
  let count = 0;
  return {
    pending: new PendingBySite(),
    none: () => {
      count++;
      return Promise.resolve([]);
    },
    reads: () => count,
  };
}

test('a site known to have no pending usage is not read again until an entry of it is written; a read that overlapped a write proves nothing', async () => {
  const { pending, none, reads } = countedReads();
  assert.deepEqual(await pending.read('s1', none), []);
  assert.deepEqual(await pending.read('s1', none), []);
  assert.equal(reads(), 1, 'the second heartbeat reads nothing');
  pending.written([{ siteId: 's2' }]);
  await pending.read('s1', none);
  assert.equal(reads(), 1, 'another site’s entry changes nothing here');
  pending.written([{ siteId: 's1' }]);
  assert.deepEqual(await pending.read('s1', () => Promise.resolve([7])), [7], 'read again once an entry of it is written');
  let answer: (found: number[]) => void = () => undefined;
  const slow = pending.read('s1', () => new Promise<number[]>((resolve) => (answer = resolve)));
  pending.written([{ siteId: 's1' }]); // written while that read was out: it may have missed it
  answer([]);
  await slow;
  await pending.read('s1', none);
  assert.equal(reads(), 2, 'so the next heartbeat reads again');
});

test('the sites the store says have pending usage are read again, even if none was written through this server', async () => {
  const { pending, none, reads } = countedReads();
  await pending.read('s1', none);
  await pending.read('s1', none);
  assert.equal(reads(), 1);
  await pending.sync(() => Promise.resolve(['s1']));
  await pending.read('s1', none);
  assert.equal(reads(), 2, 'written behind its back, and seen');
});
