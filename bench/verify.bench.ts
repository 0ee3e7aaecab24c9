// `suanli ledger verify` at scale (issue 14's targets): a control plane on embedded
// PGlite (a directory) whose usage log holds RECORDS records that concern one org —
// runs booked straight into the store and logged through the server's UsageLog, each
// signed by its site's key (1% by the control plane alone), not through agents — and
// a member of that org verifying it with the real CLI in its own process. Figures:
// appends per second through the UsageLog (target ≥ 2,000), and seconds per verify
// (target ≤ 30 s), median of the rounds.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gpuSecondsOf } from '../src/ledger/usage-record.ts';
import type { NoteSigner } from '../src/ledger/note.ts';
import { newKeyPair } from '../src/server/log-keys.ts';
import { buildServer } from '../src/server/app.ts';
import { openStore } from '../src/store/index.ts';
import type { LedgerEntry } from '../src/store/types.ts';
import { BIN } from '../test/support/cli.ts';
import { bookRuns, enrollSiteKey, logPending, siteRecordKey } from '../test/support/usage-log.ts';
import { report, summarize, type BenchResult } from './harness.ts';

const RECORDS = Number(process.env.SUANLI_BENCH_VERIFY_RECORDS ?? 100_000);
/** Attempts per job: each is its own run, so its own record. */
const ATTEMPTS = 10;
const T0 = Date.UTC(2026, 0, 1);
const DEMAND = { gpus: 8, gpuTypes: ['h100'], gang: true, estimateS: 3600, priority: 0, preemptible: true, checkpointIntervalS: null, command: null, plan: null };

export async function benchVerify(rounds = 3): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'suanli-bench-verify-'));
  const store = await openStore({ dataDir: join(dir, 'data') });
  const app = await buildServer({ store, logKey: newKeyPair('suanli-ledger').signerKey, schedule: false });
  const results: BenchResult[] = [];
  try {
    await app.ready();
    const admin = { authorization: `Bearer ${app.suanli.adminToken ?? ''}` };
    const post = async <T>(url: string, payload: unknown): Promise<T> => {
      const res = await app.inject({ method: 'POST', url: `/api/v1${url}`, headers: admin, payload: payload as Record<string, unknown> });
      if (res.statusCode >= 300) throw new Error(`POST ${url}: ${res.statusCode} ${res.body}`);
      return res.json<T>();
    };
    // Two orgs, a site each, each site with its record key.
    for (const id of ['acme', 'beta']) await post('/orgs', { id, name: id });
    const sites = new Map<string, string>();
    const signers = new Map<string, NoteSigner>();
    for (const [org, gpuType] of [['acme', 'h100'], ['beta', 'a100']] as const) {
      const site = await post<{ id: string }>('/sites', { name: `${org} lab`, org_id: org, capacity: [{ gpu_type: gpuType, nodes: 1000, gpus_per_node: 8 }] });
      const key = siteRecordKey();
      await enrollSiteKey(store, site.id, key.verifierKey);
      sites.set(org, site.id);
      signers.set(site.id, key.signer);
    }

    // RECORDS runs that concern acme: beta borrowing acme's h100s, acme borrowing beta's a100s, acme on its own.
    const jobs = Math.ceil(RECORDS / ATTEMPTS);
    const ids: string[] = [];
    for (let j = 0; j < jobs; j += 1000) {
      const batch = Array.from({ length: Math.min(1000, jobs - j) }, (_, k) => ({ orgId: (j + k) % 3 === 0 ? 'beta' : 'acme', name: `job ${j + k}`, demand: DEMAND, submittedBy: 'bench', submittedAt: T0, idempotencyKey: null }));
      ids.push(...(await store.submitJobs(batch)).map((s) => s.job.id));
    }
    const entries: LedgerEntry[] = [];
    for (let n = 0; n < RECORDS; n++) {
      const j = Math.floor(n / ATTEMPTS);
      const consumer = j % 3 === 0 ? 'beta' : 'acme';
      const provider = consumer === 'beta' || j % 3 === 1 ? 'acme' : 'beta';
      const gpus = 1 + (n % 8);
      const startAt = T0 + n * 60_000;
      const at = startAt + 1000 + ((n * 7919) % 3_600_000);
      entries.push({ jobId: ids[j] ?? '', attempt: 1 + (n % ATTEMPTS), siteId: sites.get(provider) ?? '', consumerOrgId: consumer, providerOrgId: provider, gpuType: provider === 'acme' ? 'h100' : 'a100', gpus, startAt, at, gpuSeconds: gpuSecondsOf(gpus, startAt, at), outcome: n % 50 === 0 ? 'lost' : 'succeeded' });
    }
    let t0 = performance.now();
    await bookRuns(store, entries);
    console.log(`booked ${RECORDS.toLocaleString('en-US')} runs in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    // Logged through the UsageLog in batches of 1,000 (as the server logs a heartbeat's signatures); 1% by the control plane alone.
    t0 = performance.now();
    const rates: number[] = [];
    let alone = 0;
    await logPending(store, app.suanli.usage, signers, { alone: () => alone++ % 100 === 0, batch: 1000, onBatch: (n, ms) => rates.push((n * 1000) / ms) });
    await app.suanli.usage.checkpoint();
    console.log(`logged ${app.suanli.usage.length.toLocaleString('en-US')} records in ${((performance.now() - t0) / 1000).toFixed(1)} s (site signatures included)`);
    results.push(summarize(`UsageLog append, batches of 1,000, embedded PGlite (${app.suanli.usage.length.toLocaleString('en-US')} records)`, 'records/s', rates));

    // A member of acme verifies, with the CLI in its own process; every round a first verify (state removed).
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const member = (await post<{ token: string }>('/tokens', { name: 'acme member', role: 'member', org_id: 'acme' })).token;
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const config = join(dir, `cli-${r}`, 'config.json');
      const begin = performance.now();
      const { stdout } = await promisify(execFile)(process.execPath, [BIN, 'ledger', 'verify', '--server', url, '--token', member, '--json'], { env: { ...process.env, SUANLI_CONFIG: config }, maxBuffer: 256 << 20 });
      times.push((performance.now() - begin) / 1000);
      const out = JSON.parse(stdout) as { verified: boolean; records: { checked: number; control_plane_alone: number } };
      if (!out.verified || out.records.checked !== RECORDS) throw new Error(`verify did not pass: ${stdout.slice(0, 2000)}`);
      console.log(`round ${r + 1}: verified ${out.records.checked.toLocaleString('en-US')} records (${out.records.control_plane_alone} by the control plane alone) in ${times.at(-1)?.toFixed(1)} s`);
    }
    results.push(summarize(`suanli ledger verify, an org with ${RECORDS.toLocaleString('en-US')} records (CLI process, first verify)`, 's', times));
  } finally {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  report('verify', results);
}
