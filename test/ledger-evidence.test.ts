// What a member's audit reads from a real control plane (src/ledger/audit-evidence.ts,
// shared by `suanli ledger verify` and the dashboard): a usage log with more records of
// one org than a page of entries and a request of proofs hold — runs booked straight
// into the store and logged through the server's UsageLog, signed by their sites —
// read through the API (Fastify's inject, with a member's token), audited, then read
// again after the log grew (audited with Node's Ed25519, the CLI's: the browser's is
// the e2e test's); and a server whose pages go backwards, refused.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { auditInput, ENTRIES_PER_PAGE, fetchAuditEvidence, PROOFS_PER_REQUEST, treeToKeep, type EvidenceProgress, type LedgerGet } from '../src/ledger/audit-evidence.ts';
import { auditLedger } from '../src/ledger/audit.ts';
import type { NoteSigner } from '../src/ledger/note.ts';
import { gpuSecondsOf } from '../src/ledger/usage-record.ts';
import { buildServer } from '../src/server/app.ts';
import type { Api } from '../src/server/control-plane.ts';
import { nativeVerifier, newKeyPair } from '../src/server/log-keys.ts';
import { openStore } from '../src/store/index.ts';
import type { LedgerEntry, Store } from '../src/store/types.ts';
import { bookRuns, enrollSiteKey, logPending, siteRecordKey } from './support/usage-log.ts';

/** Records of acme: more than a page of entries, and more than two requests of proofs. */
const RECORDS = ENTRIES_PER_PAGE + 2 * PROOFS_PER_REQUEST + 7;
const T0 = Date.UTC(2026, 0, 1);
const DEMAND = { gpus: 8, gpuTypes: ['h100'], gang: true, estimateS: 3600, priority: 0, preemptible: true, checkpointIntervalS: null, command: null, plan: null };

let app: Api;
let store: Store;
let member = '';
const sites = new Map<string, string>();
const signers = new Map<string, NoteSigner>();

/** Books and logs `n` runs from the `from`th: beta borrowing acme's h100s, acme borrowing beta's a100s, and beta's own (not acme's). */
async function logRuns(from: number, n: number): Promise<void> {
  const jobs = await store.submitJobs(Array.from({ length: n }, (_, k) => ({ orgId: (from + k) % 3 === 0 ? 'beta' : 'acme', name: `job ${from + k}`, demand: DEMAND, submittedBy: 'test', submittedAt: T0, idempotencyKey: null })));
  const entries: LedgerEntry[] = jobs.map((s, k) => {
    const i = from + k;
    const consumer = i % 3 === 0 ? 'beta' : 'acme';
    const provider = i % 3 === 1 ? 'beta' : 'acme';
    const own = i % 5 === 0 ? 'beta' : null; // every fifth run: beta on its own site
    const startAt = T0 + i * 60_000;
    const at = startAt + 1000 + ((i * 7919) % 3_600_000);
    const gpus = 1 + (i % 8);
    return {
      jobId: s.job.id, attempt: 1, siteId: sites.get(own ?? provider) ?? '', consumerOrgId: own ?? consumer, providerOrgId: own ?? provider,
      gpuType: (own ?? provider) === 'acme' ? 'h100' : 'a100', gpus, startAt, at, gpuSeconds: gpuSecondsOf(gpus, startAt, at), outcome: 'succeeded',
    };
  });
  await bookRuns(store, entries);
  await logPending(store, app.suanli.usage, signers);
  await app.suanli.usage.checkpoint();
}

/** The API through Fastify's inject, as the member's token sees it; a refusal rejects. */
const get: LedgerGet = async (path, query) => {
  const search = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
  const res = await app.inject({ method: 'GET', url: `/api/v1${path}?${search.toString()}`, headers: { authorization: `Bearer ${member}` } });
  if (res.statusCode !== 200) throw new Error(`GET ${path}: ${res.statusCode} ${res.body}`);
  return res.json<unknown>();
};

/** The latest checkpoint as the API shows it. */
const checkpoint = async () => (await get('/ledger/checkpoint', {})) as { origin: string; size: number; note: string; log_key: string };

before(async () => {
  store = await openStore({ memory: true });
  app = await buildServer({ store, logKey: newKeyPair('suanli-ledger').signerKey, schedule: false });
  await app.ready();
  const admin = { authorization: `Bearer ${app.suanli.adminToken ?? ''}` };
  const post = async <T>(url: string, payload: Record<string, unknown>): Promise<T> => {
    const res = await app.inject({ method: 'POST', url: `/api/v1${url}`, headers: admin, payload });
    assert.ok(res.statusCode < 300, `POST ${url}: ${res.statusCode} ${res.body}`);
    return res.json<T>();
  };
  for (const id of ['acme', 'beta']) await post('/orgs', { id, name: id });
  for (const [org, gpuType] of [['acme', 'h100'], ['beta', 'a100']] as const) {
    const site = await post<{ id: string }>('/sites', { name: `${org} lab`, org_id: org, capacity: [{ gpu_type: gpuType, nodes: 100, gpus_per_node: 8 }] });
    const key = siteRecordKey();
    await enrollSiteKey(store, site.id, key.verifierKey);
    sites.set(org, site.id);
    signers.set(site.id, key.signer);
  }
  member = (await post<{ token: string }>('/tokens', { name: 'acme member', role: 'member', org_id: 'acme' })).token;
  // Enough runs that acme's records (4 in 5 runs) number RECORDS.
  await logRuns(0, Math.ceil((RECORDS * 5) / 4));
});

after(async () => {
  await app.close();
  await store.close();
});

test('the evidence of an org with pages of records verifies, read a page at a time with proofs in batches; the log grown, it proves it extends', async () => {
  const asked: number[] = [];
  const counting: LedgerGet = (path, query) => {
    if (path === '/ledger/proof/inclusions') asked.push(String(query.indices).split(',').length);
    return get(path, query);
  };
  const progress: EvidenceProgress[] = [];
  const cp = await checkpoint();
  const trust = { origin: cp.origin, logKey: cp.log_key };
  const evidence = await fetchAuditEvidence(counting, { org: 'acme', size: cp.size, onProgress: (p) => progress.push(p) });
  assert.equal(evidence.consistencyProof, undefined, 'nothing verified before: no consistency proof');
  assert.ok(evidence.entries.length >= RECORDS, `acme's records: ${evidence.entries.length}`);
  assert.ok(asked.every((n) => n <= PROOFS_PER_REQUEST) && asked.reduce((a, b) => a + b, 0) === evidence.entries.length, `proof requests of ${asked.join(', ')}`);
  assert.ok(progress.length >= 2, 'progress after each page');
  assert.deepEqual(progress.at(-1), { records: evidence.entries.length, scanned: cp.size, size: cp.size });
  const first = auditLedger({ ...auditInput({ trust, org: 'acme' }, cp.note, evidence), verifierOf: nativeVerifier });
  assert.deepEqual(first.failures, []);
  assert.equal(first.consistency, 'first');
  assert.equal(first.entries.verified, evidence.entries.length);
  const kept = treeToKeep(first);
  assert.ok(kept !== null);
  assert.equal(kept.size, cp.size);

  await logRuns(10_000, 30);
  const grown = await checkpoint();
  assert.ok(grown.size > cp.size);
  const again = await fetchAuditEvidence(get, { org: 'acme', size: grown.size, last: kept });
  assert.ok((again.consistencyProof?.length ?? 0) > 0, 'a consistency proof from the tree verified before');
  const second = auditLedger({ ...auditInput({ trust, org: 'acme', last: kept }, grown.note, again), verifierOf: nativeVerifier });
  assert.deepEqual(second.failures, []);
  assert.equal(second.consistency, 'extends');
  assert.ok(second.entries.verified > first.entries.verified);
});

test('a server whose pages of entries go backwards is refused, naming the request', async () => {
  const cp = await checkpoint();
  let pages = 0;
  const backwards: LedgerGet = async (path, query) => {
    const answer = await get(path, query);
    return path === '/ledger/entries' && pages++ === 1 ? { ...(answer as object), next: 0 } : answer;
  };
  await assert.rejects(fetchAuditEvidence(backwards, { org: 'acme', size: cp.size }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'bad_response');
    assert.match(err.message, /^GET \/ledger\/entries of acme from \d+: next 0 after entry \d+: entries go forwards$/);
    return true;
  });
  await assert.rejects(fetchAuditEvidence(async (path, query) => (path === '/ledger/keys' ? { sites: 'none' } : get(path, query)), { org: 'acme', size: cp.size }), /GET \/ledger\/keys: the answer has no list of sites/);
});
