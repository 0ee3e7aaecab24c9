// What the store's hot paths cost, checked on the database itself rather than on a
// stopwatch: how many statements a call sends, and whether any of them reads a whole
// table. Run on embedded PGlite (store.test.ts) and PostgreSQL 15
// (test/store-postgres.test.ts); each case gets a fresh, empty database from `open`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompiledQuery, type Kysely, type KyselyPlugin } from 'kysely';
import type { Database } from './migrations.ts';
import { KyselyStore } from './store.ts';
import type { JobDemand, Store, Transition } from './types.ts';

/** A migrated, empty database and how to let go of it. */
export interface CostDatabase {
  readonly db: Kysely<Database>;
  readonly kind: Store['kind'];
  readonly close: () => Promise<void>;
}

/** A store whose every statement is recorded, compiled, for counting and EXPLAIN. */
interface RecordingStore {
  readonly store: Store;
  /** The statements sent by `fn`, in order (transaction control not included). */
  readonly statements: (fn: () => Promise<unknown>) => Promise<CompiledQuery[]>;
}

function recording(db: Kysely<Database>, kind: Store['kind']): RecordingStore {
  let seen: CompiledQuery[] | undefined;
  const recorder: KyselyPlugin = {
    transformQuery: ({ node, queryId }) => {
      seen?.push(db.getExecutor().compileQuery(node, queryId));
      return node;
    },
    transformResult: ({ result }) => Promise.resolve(result),
  };
  const store = new KyselyStore(db.withPlugin(recorder), kind, async () => {});
  return {
    store,
    statements: async (fn) => {
      seen = [];
      try {
        await fn();
        return seen;
      } finally {
        seen = undefined;
      }
    },
  };
}

interface PlanNode {
  readonly 'Node Type': string;
  readonly 'Relation Name'?: string;
  readonly 'Index Name'?: string;
  readonly 'Index Cond'?: string;
  readonly Plans?: readonly PlanNode[];
}

/** The plan PostgreSQL would run `query` with (EXPLAIN, so nothing is executed), as a flat list of nodes. */
async function planOf(db: Kysely<Database>, query: CompiledQuery): Promise<PlanNode[]> {
  const { rows } = await db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(`explain (format json) ${query.sql}`, [...query.parameters]));
  const cell = Object.values(rows[0] ?? {})[0];
  const [explained] = (typeof cell === 'string' ? JSON.parse(cell) : cell) as [{ Plan: PlanNode }];
  const nodes: PlanNode[] = [];
  const walk = (node: PlanNode) => {
    nodes.push(node);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(explained.Plan);
  return nodes;
}

/** The tables `query`'s plan reads whole (a sequential scan), with the statement, for a readable failure. */
async function wholeTableReads(db: Kysely<Database>, query: CompiledQuery): Promise<string[]> {
  return (await planOf(db, query)).filter((n) => n['Node Type'] === 'Seq Scan').map((n) => `${n['Relation Name'] ?? '?'} in: ${query.sql.replace(/\s+/g, ' ').slice(0, 120)}`);
}

const demand: JobDemand = { gpus: 8, gpuTypes: null, gang: true, estimateS: 3600, priority: 0, preemptible: true, checkpointIntervalS: null, command: null, plan: null };

/** Org a with site sa, and `count` pending jobs of a (submitted 1,000 per statement); returns their ids. */
async function jobs(store: Store, count: number): Promise<string[]> {
  await store.createOrg({ id: 'a', name: 'Org A', createdAt: 1 });
  await store.createSite({ id: 'sa', orgId: 'a', name: 'site a', capacity: [{ gpuType: 'H100', nodes: 4, gpusPerNode: 8 }], pricePerGpuHour: null, share: { lendFraction: 1, reclaim: true, reclaimNoticeS: 0 }, wanLinks: [], createdAt: 1 });
  const ids: string[] = [];
  for (let start = 0; start < count; start += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - start) }, (_, i) => ({ orgId: 'a', name: `j${start + i}`, demand, submittedBy: 'u', submittedAt: 10, idempotencyKey: null }));
    ids.push(...(await store.submitJobs(batch)).map((r) => r.job.id));
  }
  return ids;
}

/** Enough jobs that reading the table is the planner's worst choice, and statistics that say so. */
const TABLE_SIZE = 5000;

const place = (jobId: string, at: number): Transition => ({ jobId, from: ['pending'], to: 'placed', at, type: 'placed', placement: [{ siteId: 'sa', gpuType: 'H100', gpus: 8, nodes: 1 }] });
const start = (jobId: string, at: number): Transition => ({ jobId, from: ['placed'], to: 'running', at, type: 'started' });
const finish = (jobId: string, at: number): Transition => ({ jobId, from: ['running'], to: 'succeeded', at, type: 'finished' });

const CASES: Record<string, (db: Kysely<Database>, kind: Store['kind']) => Promise<void>> = {
  'setDiagnoses: finds its jobs by primary key, never by reading the jobs table': async (db, kind) => {
    const { store, statements } = recording(db, kind);
    const ids = await jobs(store, TABLE_SIZE);
    await db.executeQuery(CompiledQuery.raw('analyze jobs'));
    for (const count of [1, 10, 250]) {
      const diagnoses = new Map(ids.slice(100, 100 + count).map((id, i) => [id, { summary: `why ${i}` }]));
      const sent = await statements(() => store.setDiagnoses(diagnoses));
      assert.equal(sent.length, Math.ceil(count / 100), 'one statement per 100 diagnoses');
      for (const query of sent) assert.deepEqual(await wholeTableReads(db, query), [], `${count} diagnoses`);
      for (const [id, diagnosis] of diagnoses) assert.deepEqual((await store.getJob(id))?.diagnosis, diagnosis);
    }
  },

  'transition: a batch sends the same few statements whatever its size, none reading a whole table': async (db, kind) => {
    const { store, statements } = recording(db, kind);
    const ids = await jobs(store, TABLE_SIZE);
    await db.executeQuery(CompiledQuery.raw('analyze jobs'));
    const [one = '', ...hundred] = ids.slice(0, 101);
    const ledger = (jobIds: readonly string[]) => jobIds.map((jobId) => ({ jobId, attempt: 1, siteId: 'sa', consumerOrgId: 'a', providerOrgId: 'a', gpuType: 'H100', gpus: 1, startAt: 3940, gpuSeconds: 60, at: 4000, outcome: 'succeeded' as const }));
    for (const [what, change] of [['place', place], ['start', start], ['finish', finish]] as const) {
      const single = await statements(() => store.transition([change(one, 1000)], what === 'finish' ? ledger([one]) : []));
      const batch = await statements(() => store.transition(hundred.map((id) => change(id, 1000)), what === 'finish' ? ledger(hundred) : []));
      assert.ok(single.length <= 6, `${what}: ${single.length} statements for one change`);
      assert.equal(batch.length, single.length, `${what}: 100 changes send as many statements as one`);
      for (const query of single) assert.deepEqual(await wholeTableReads(db, query), [], what);
    }
    // A batch that moves each job twice takes two rounds, still not one per change.
    const [first = '', ...rest] = ids.slice(101, 202);
    const twice = (id: string) => [place(id, 5000), start(id, 5001)];
    const single = await statements(() => store.transition(twice(first)));
    const batch = await statements(() => store.transition(rest.flatMap(twice)));
    assert.equal(batch.length, single.length, 'two moves per job, 100 jobs');
    assert.deepEqual((await store.getJob(rest[99] ?? ''))?.state, 'running');
  },

  'a page of the job list: newest first, its latest placements and its submitters, one statement each, none reading a whole table': async (db, kind) => {
    const { store, statements } = recording(db, kind);
    const ids = await jobs(store, TABLE_SIZE);
    // Placements enough that reading their table whole would be the planner's worst choice.
    await store.transition(ids.slice(-2000).map((id) => place(id, 1000)));
    await db.executeQuery(CompiledQuery.raw('analyze'));
    const [listed] = await statements(async () => {
      const page = await store.listJobs({ orgId: 'a', order: 'newest', after: ids.at(-1) ?? '', limit: 51 });
      assert.deepEqual(page.map((j) => j.id), ids.slice(-52, -1).reverse());
    });
    assert.ok(listed !== undefined);
    // job_diagnoses holds only waiting jobs' diagnoses (none here): reading it whole is the planner's right choice.
    assert.deepEqual((await wholeTableReads(db, listed)).filter((r) => r.startsWith('jobs ')), [], 'the listing reads the jobs table by its index');
    const page = ids.slice(-50);
    const sent = await statements(async () => assert.equal((await store.latestPlacements(page)).length, 50));
    assert.equal(sent.length, 1, 'one statement for the page, not one per job');
    for (const query of sent) assert.deepEqual(await wholeTableReads(db, query), [], 'the placements');
    assert.equal((await statements(() => store.tokensById(['u', 'v', 'w']))).length, 1, 'one statement for the submitters');
  },
};

/** Registers one node:test test per case, each on a fresh database from `open`. */
export function storeCostConformance(name: string, open: () => Promise<CostDatabase>): void {
  for (const [title, body] of Object.entries(CASES)) {
    // The runner awaits what test() registers; there is nothing to await here.
    void test(`store cost (${name}): ${title}`, async () => {
      const { db, kind, close } = await open();
      try {
        await body(db, kind);
      } finally {
        await close();
      }
    });
  }
}
