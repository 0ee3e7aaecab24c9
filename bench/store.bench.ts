// The store's submission path: jobs per second through submitJobs, one job per call
// and batches of 50 (as the server's submission batcher commits them), each job with
// an idempotency key, on embedded PGlite (a directory, and memory) and, when its
// binaries are installed, a throwaway PostgreSQL 15 with the tests' settings (fsync off).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type StoreOptions } from '../src/store/index.ts';
import type { NewJob, Store } from '../src/store/types.ts';
import { postgresMissing, startPostgres } from '../test/support/postgres.ts';
import { report, summarize, type BenchResult } from './harness.ts';

const BATCHES = [1, 50];
const DEMAND = { gpus: 8, gpuTypes: ['H100'], gang: true, estimateS: 3600, priority: 0, preemptible: true, checkpointIntervalS: null, command: ['train.sh'], plan: null };

/** Jobs committed per second by back-to-back submitJobs calls of `batch` jobs, over rounds of `roundMs`. */
async function submitRate(store: Store, where: string, batch: number, rounds: number, roundMs = 1000): Promise<BenchResult> {
  let seq = 0;
  const next = (): NewJob[] =>
    Array.from({ length: batch }, () => {
      seq++;
      return { orgId: 'bench', name: `job ${seq}`, demand: DEMAND, submittedBy: 'bench', submittedAt: seq, idempotencyKey: `${where}-${batch}-${seq}` };
    });
  for (let i = 0; i < 20; i++) await store.submitJobs(next()); // warm-up: plans and caches
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let jobs = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < roundMs) {
      await store.submitJobs(next());
      jobs += batch;
      elapsed = performance.now() - start;
    }
    rates.push((jobs * 1000) / elapsed);
  }
  return summarize(`submitJobs, batches of ${batch}: ${where}`, 'jobs/s', rates);
}

async function benchOne(where: string, options: StoreOptions, rounds: number): Promise<BenchResult[]> {
  const store = await openStore(options);
  try {
    await store.createOrg({ id: 'bench', name: 'Bench', createdAt: 0 });
    const results: BenchResult[] = [];
    for (const batch of BATCHES) results.push(await submitRate(store, where, batch, rounds));
    return results;
  } finally {
    await store.close();
  }
}

export async function benchStore(rounds = 5): Promise<void> {
  const results: BenchResult[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'suanli-bench-store-'));
  try {
    results.push(...(await benchOne('PGlite directory', { dataDir }, rounds)));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  results.push(...(await benchOne('PGlite memory', { memory: true }, rounds)));
  const missing = postgresMissing();
  if (missing === undefined) {
    const server = await startPostgres();
    try {
      results.push(...(await benchOne('PostgreSQL 15, fsync off', { databaseUrl: server.databaseUrl }, rounds)));
    } finally {
      await server.stop();
    }
  } else {
    console.log(`skipped PostgreSQL 15: ${missing}`);
  }
  report('store', results);
}
