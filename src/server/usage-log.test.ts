import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { utf8 } from '../ledger/encoding.ts';
import { leafHash, merkleTreeHash } from '../ledger/merkle.ts';
import { openNote } from '../ledger/note.ts';
import { openStore } from '../store/index.ts';
import type { Store } from '../store/types.ts';
import { nativeSigner, nativeVerifier, newKeyPair } from './log-keys.ts';
import { UsageLog } from './usage-log.ts';

const LOG = newKeyPair('suanli-ledger');

test('appends that arrive while one runs are logged together, in one transaction, each entry once; the tree is the same', async () => {
  const store: Store = await openStore({ memory: true });
  try {
    await store.createOrg({ id: 'acme', name: 'Acme', createdAt: 0 });
    await store.createSite({ id: 's1', orgId: 'acme', name: 's1', capacity: [{ gpuType: 'h100', nodes: 1, gpusPerNode: 8 }], pricePerGpuHour: null, share: { lendFraction: 1, reclaim: false, reclaimNoticeS: 0 }, wanLinks: [], createdAt: 0 });
    const [job] = await store.submitJobs([{ orgId: 'acme', name: 'j', demand: { gpus: 1, gpuTypes: ['h100'], gang: true, estimateS: 60, priority: 0, preemptible: true, checkpointIntervalS: null, command: null, plan: null }, submittedBy: 't', submittedAt: 0, idempotencyKey: null }]);
    await store.transition([], Array.from({ length: 9 }, (_, i) => ({ jobId: job!.job.id, attempt: i + 1, siteId: 's1', consumerOrgId: 'acme', providerOrgId: 'acme', gpuType: 'h100', gpus: 1, startAt: 0, at: 1000, gpuSeconds: 1, outcome: 'succeeded' as const })));
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
