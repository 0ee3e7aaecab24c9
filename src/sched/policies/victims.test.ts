import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { JobRecord } from '../state.ts';
import { Scheduler } from '../scheduler.ts';
import { job, pool, site } from '../test-builders.ts';
import { rebuild, ranked, type RankFn } from './victims.ts';

const FC_SEED = Number(process.env['FC_SEED'] ?? 20261126);

/** Three kinds of rank the policies use: fixed while a job runs, piecewise constant in time, and read afresh at each instant. */
const RANKS: Record<string, RankFn> = {
  'fixed, real-valued (SRTF)': Object.assign((v: JobRecord) => v.startedAtS + v.remainingEstimateS, { validUntil: () => Infinity }),
  'levels with a validity (LAS)': Object.assign((v: JobRecord, now: number) => Math.min(3, Math.floor((now - v.startedAtS) / 100)), {
    validUntil: (v: JobRecord, now: number) => (now - v.startedAtS >= 300 ? Infinity : v.startedAtS + 100 * (Math.floor((now - v.startedAtS) / 100) + 1)),
  }),
  'fixed small integers, ties everywhere': Object.assign((v: JobRecord) => v.spec.gpus % 3, { validUntil: () => Infinity }),
  'read at each instant': (v: JobRecord, now: number) => now - v.startedAtS,
};

const step = fc.oneof(
  fc.record({ kind: fc.constant('submit' as const), gpus: fc.constantFrom(1, 2, 4, 8), runs: fc.integer({ min: 1, max: 500 }) }),
  fc.record({ kind: fc.constantFrom('finish' as const, 'preempt' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('advance' as const), by: fc.constantFrom(0, 1, 50, 100, 250) }),
);

for (const [name, rank] of Object.entries(RANKS)) {
  test(`victim order: a cached and patched order equals a rebuilt one after any starts and stops (${name})`, () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
        const scheduler = new Scheduler(pool(site('a1').nodes(2).gpusPerNode(8)), { policy: 'sjf' });
        let now = 0;
        let n = 0;
        for (const s of steps) {
          if (s.kind === 'submit') scheduler.submit(job(`j${n++}`).org('a').gpus(s.gpus).at(now).runs(s.runs).build());
          else if (s.kind === 'advance') now += s.by;
          else {
            const running = scheduler.state.jobs.filter((j) => j.phase === 'running');
            const victim = running[s.pick % Math.max(1, running.length)];
            if (victim && s.kind === 'finish') scheduler.finish(victim, now);
            else if (victim) scheduler.stop(victim, now, 'preempted'); // requeued: it restarts in a later pass
          }
          scheduler.pass(now);
          const ctx = { state: scheduler.state, now, ownSitesOnly: false, reservation: null };
          for (const st of scheduler.state.sites) {
            const got = ranked(st, ctx, rank);
            const want = rebuild(st, ctx, rank);
            assert.deepEqual(got.jobs.map((j) => j.seq), want.jobs.map((j) => j.seq));
            assert.deepEqual(Array.from(got.keys), Array.from(want.keys));
            assert.deepEqual(Array.from(got.cumulativeGpus), gpusPrefix(st.running, got.jobs));
          }
        }
      }),
      { seed: FC_SEED, numRuns: 300 },
    );
  });
}

function gpusPrefix(running: ReadonlyMap<number, number>, jobs: readonly JobRecord[]): number[] {
  const out = [0];
  for (const j of jobs) out.push((out[out.length - 1] ?? 0) + (running.get(j.seq) ?? 0));
  return out;
}
