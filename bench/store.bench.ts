// The store's two write paths: jobs per second through submitJobs, one job per call
// and batches of 50 (as the server's submission batcher commits them), each job with
// an idempotency key; and milliseconds per transition of 100 changes (a scheduling
// pass placing 100 jobs, then starting them), on embedded PGlite (a directory, and
// memory) and, when its binaries are installed, a throwaway PostgreSQL 15 with the
// tests' settings (fsync off).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type StoreOptions } from '../src/store/index.ts';
import type { NewJob, Store, Transition } from '../src/store/types.ts';
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

/** Changes per transition call in the transition cases. */
const CHANGES = 100;

/**
 * Milliseconds per transition of CHANGES changes of one kind: each round submits
 * CHANGES jobs (untimed), then times one call placing them all and one starting them all.
 */
async function transitionTime(store: Store, where: string, rounds: number): Promise<BenchResult[]> {
  let at = 0;
  const place = (jobId: string): Transition => ({ jobId, from: ['pending'], to: 'placed', at: ++at, type: 'placed', placement: [{ siteId: 'bench-site', gpuType: 'H100', gpus: 8, nodes: 1 }], detail: { pass: at } });
  const start = (jobId: string): Transition => ({ jobId, from: ['placed'], to: 'running', at: ++at, type: 'started' });
  const timed = async (changes: readonly Transition[]) => {
    const begin = performance.now();
    const after = await store.transition(changes);
    const ms = performance.now() - begin;
    if (after.some((job) => job === null)) throw new Error('bench: a transition did not apply');
    return ms;
  };
  const times = { place: [] as number[], start: [] as number[] };
  for (let r = -2; r < rounds; r++) { // two warm-up rounds: plans and caches
    const ids = (await store.submitJobs(Array.from({ length: CHANGES }, (_, i) => ({ orgId: 'bench', name: `t${r}.${i}`, demand: DEMAND, submittedBy: 'bench', submittedAt: at, idempotencyKey: null })))).map((s) => s.job.id);
    const placeMs = await timed(ids.map(place));
    const startMs = await timed(ids.map(start));
    if (r < 0) continue;
    times.place.push(placeMs);
    times.start.push(startMs);
  }
  return [summarize(`transition of ${CHANGES} changes (place): ${where}`, 'ms', times.place), summarize(`transition of ${CHANGES} changes (start): ${where}`, 'ms', times.start)];
}

async function benchOne(where: string, options: StoreOptions, rounds: number): Promise<BenchResult[]> {
  const store = await openStore(options);
  try {
    await store.createOrg({ id: 'bench', name: 'Bench', createdAt: 0 });
    await store.createSite({ id: 'bench-site', orgId: 'bench', name: 'Bench site', capacity: [{ gpuType: 'H100', nodes: 1000, gpusPerNode: 8 }], pricePerGpuHour: null, share: { lendFraction: 1, reclaim: true, reclaimNoticeS: 0 }, wanLinks: [], createdAt: 0 });
    const results: BenchResult[] = [];
    for (const batch of BATCHES) results.push(await submitRate(store, where, batch, rounds));
    results.push(...(await transitionTime(store, where, rounds)));
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
