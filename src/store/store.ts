import { sql, type Kysely, type Selectable } from 'kysely';
import { InvalidInputError } from '../model/errors.ts';
import type { ChangeHandlers, ChangeWatch } from './change-feed.ts';
import { LEASE_LOCK, REPLICA_APP, type Database } from './migrations.ts';
import {
  FINAL_STATES,
  JOB_STATES,
  StoreConflictError,
  type FirstPlacement,
  type Job,
  type JobEvent,
  type JobFilter,
  type JobState,
  type Lease,
  type Checkpoint,
  type LedgerEntry,
  type LogEntry,
  type LogNode,
  type BookedRange,
  type LedgerJobUsage,
  type LedgerPoint,
  type LedgerRow,
  type NewJob,
  type NewSite,
  type NewToken,
  type Org,
  type OrgQuota,
  type LogTail,
  type PartsEvent,
  type SpanMetrics,
  type SpanStep,
  type PendingUsage,
  type Placement,
  type PlacementPart,
  type Site,
  type SiteHealth,
  type SiteKey,
  type SitePatch,
  type SiteReport,
  type Store,
  type SubmitResult,
  type Token,
  type Transition,
  type UsageOutcome,
  type WitnessKey,
} from './types.ts';

type Row<T extends keyof Database> = Selectable<Database[T]>;
/** A job's row with its diagnosis (from job_diagnoses; null when it has none). */
type JobRow = Row<'jobs'> & { readonly diagnosis: Record<string, unknown> | null };

/** States whose job holds a placement (its latest one, numbered by `attempts`). */
const HOLDING_PLACEMENT: ReadonlySet<JobState> = new Set(['placed', 'running']);
const ACTIVE_STATES: readonly JobState[] = JOB_STATES.filter((s) => !FINAL_STATES.has(s));
/** Rows per multi-row INSERT: well under PostgreSQL's 65,535 parameters per statement. */
const ROWS_PER_INSERT = 1000;
/** Diagnoses written per statement (see setDiagnoses). */
const DIAGNOSES_PER_STATEMENT = 100;

/**
 * The Store on Kysely: the same SQL on embedded PGlite and on a PostgreSQL server.
 * It does not own how the database was opened; `close` is handed in by the opener
 * (which also releases a data directory's lock).
 */
export class KyselyStore implements Store {
  private closing: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    readonly kind: 'pglite' | 'postgres',
    private readonly onClose: () => Promise<void>,
    private readonly watch?: (handlers: ChangeHandlers) => Promise<ChangeWatch>,
  ) {}

  watchChanges(handlers: ChangeHandlers): Promise<ChangeWatch> {
    if (this.watch === undefined) return Promise.reject(new Error('the embedded store has no change feed: it serves one process (replicas need a PostgreSQL server, DATABASE_URL)'));
    return this.watch(handlers);
  }

  async createOrg(org: Org): Promise<Org> {
    const row = await conflicts(this.db.insertInto('orgs').values({ id: org.id, name: org.name, created_at: org.createdAt }).returningAll().executeTakeFirstOrThrow());
    return toOrg(row);
  }

  async getOrg(id: string): Promise<Org | null> {
    const row = await this.db.selectFrom('orgs').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toOrg(row) : null;
  }

  async listOrgs(): Promise<Org[]> {
    return (await this.db.selectFrom('orgs').selectAll().orderBy('created_at').orderBy('id').execute()).map(toOrg);
  }

  async orgQuota(orgId: string): Promise<Partial<OrgQuota>> {
    const row = await this.db.selectFrom('org_quotas').select('quota').where('org_id', '=', orgId).executeTakeFirst();
    return row?.quota ?? {};
  }

  async setOrgQuota(orgId: string, patch: { readonly [K in keyof OrgQuota]?: number | null }): Promise<boolean> {
    if ((await this.getOrg(orgId)) === null) return false;
    const set = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined && v !== null));
    const removed = Object.entries(patch).filter(([, v]) => v === null).map(([k]) => k);
    // Merged in SQL: two patches of different quotas both hold; `- text[]` removes the ones set to null.
    await this.db
      .insertInto('org_quotas')
      .values({ org_id: orgId, quota: JSON.stringify(set) })
      .onConflict((oc) => oc.column('org_id').doUpdateSet({ quota: sql<string>`(org_quotas.quota || ${JSON.stringify(set)}::jsonb) - ${removed}::text[]` }))
      .execute();
    return true;
  }

  async createToken(token: NewToken): Promise<Token> {
    const row = await conflicts(
      this.db
        .insertInto('tokens')
        .values({ id: token.id, role: token.role, org_id: token.orgId, site_id: token.siteId, name: token.name, secret_hash: token.secretHash, created_at: token.createdAt })
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
    return toToken(row);
  }

  async findToken(id: string): Promise<{ token: Token; secretHash: string } | null> {
    const row = await this.db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? { token: toToken(row), secretHash: row.secret_hash } : null;
  }

  async listTokens(orgId?: string): Promise<Token[]> {
    let query = this.db.selectFrom('tokens').selectAll().orderBy('created_at').orderBy('id');
    if (orgId !== undefined) query = query.where('org_id', '=', orgId);
    return (await query.execute()).map(toToken);
  }

  async tokensById(ids: readonly string[]): Promise<Token[]> {
    if (ids.length === 0) return [];
    return (await this.db.selectFrom('tokens').selectAll().where('id', '=', sql<string>`any(${sql.val([...new Set(ids)])}::text[])`).execute()).map(toToken);
  }

  /** Revoking twice keeps the first revocation time; true while the token exists. */
  async revokeToken(id: string, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('tokens')
      .set({ revoked_at: sql<number>`coalesce(revoked_at, ${at})` })
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async countTokens(): Promise<number> {
    const { n } = await this.db.selectFrom('tokens').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return n;
  }

  async createSite(site: NewSite): Promise<Site> {
    const row = await conflicts(
      this.db
        .insertInto('sites')
        .values({
          id: site.id,
          org_id: site.orgId,
          name: site.name,
          capacity: JSON.stringify(site.capacity),
          price_per_gpu_hour: site.pricePerGpuHour,
          share: JSON.stringify(site.share),
          wan_links: JSON.stringify(site.wanLinks),
          span_endpoint: site.spanEndpoint == null ? null : JSON.stringify(site.spanEndpoint),
          created_at: site.createdAt,
        })
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
    return toSite(row);
  }

  async getSite(id: string): Promise<Site | null> {
    const row = await this.db.selectFrom('sites').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toSite(row) : null;
  }

  async listSites(orgId?: string): Promise<Site[]> {
    let query = this.db.selectFrom('sites').selectAll().orderBy('created_at').orderBy('id');
    if (orgId !== undefined) query = query.where('org_id', '=', orgId);
    return (await query.execute()).map(toSite);
  }

  async updateSite(id: string, patch: SitePatch): Promise<Site | null> {
    const set = {
      ...(patch.name === undefined ? {} : { name: patch.name }),
      ...(patch.capacity === undefined ? {} : { capacity: JSON.stringify(patch.capacity) }),
      ...(patch.pricePerGpuHour === undefined ? {} : { price_per_gpu_hour: patch.pricePerGpuHour }),
      // Merged in SQL, not read and written back: two patches of different fields both hold.
      ...(patch.share === undefined ? {} : { share: sql<string>`share || ${JSON.stringify(patch.share)}::jsonb` }),
      ...(patch.wanLinks === undefined ? {} : { wan_links: JSON.stringify(patch.wanLinks) }),
      ...(patch.spanEndpoint === undefined ? {} : { span_endpoint: patch.spanEndpoint === null ? null : JSON.stringify(patch.spanEndpoint) }),
    };
    if (Object.keys(set).length === 0) return this.getSite(id);
    const row = await this.db.updateTable('sites').set(set).where('id', '=', id).returningAll().executeTakeFirst();
    return row ? toSite(row) : null;
  }

  /** Records that the site's agent reported at `at`, with what it reported. Health is the caller's call (setSiteHealth). */
  async heartbeat(id: string, at: number, report: SiteReport = {}): Promise<boolean> {
    const result = await this.db
      .updateTable('sites')
      .set({
        last_heartbeat_at: at,
        ...(report.capacity === undefined ? {} : { reported_capacity: JSON.stringify(report.capacity) }),
        ...(report.sandboxCapable === undefined ? {} : { sandbox_capable: report.sandboxCapable }),
      })
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async touchSites(times: readonly { readonly siteId: string; readonly at: number }[]): Promise<number> {
    if (times.length === 0) return 0;
    // One statement whatever the count: the times as one JSON parameter, the ids also as an array for the primary key.
    const { rows } = await sql<{ id: string }>`
      update sites s set last_heartbeat_at = greatest(coalesce(s.last_heartbeat_at, t.at), t.at)
      from jsonb_to_recordset(${JSON.stringify(times.map((t) => ({ id: t.siteId, at: t.at })))}::jsonb) as t(id text, at bigint)
      where s.id = t.id and s.id = any(${times.map((t) => t.siteId)}::text[])
      returning s.id`.execute(this.db);
    return rows.length;
  }

  async siteHeartbeats(): Promise<{ siteId: string; at: number }[]> {
    const rows = await this.db.selectFrom('sites').select(['id', 'last_heartbeat_at']).where('last_heartbeat_at', 'is not', null).execute();
    return rows.map((r) => ({ siteId: r.id, at: r.last_heartbeat_at ?? 0 }));
  }

  async takeLease(holder: string, url: string, ttlMs: number): Promise<Lease> {
    for (let tries = 0; ; tries++) {
      try {
        return await this.db.transaction().execute(async (trx) => {
          await sql`set local lock_timeout = '2s'`.execute(trx);
          await sql`select pg_advisory_xact_lock(${LEASE_LOCK})`.execute(trx);
          const { rows } = await sql<LeaseRow>`
            insert into leader_lease (name, holder, url, epoch, expires_at) values ('leader', ${holder}, ${url}, 1, ${DB_NOW_MS} + ${ttlMs})
            on conflict (name) do update set holder = excluded.holder, url = excluded.url, epoch = leader_lease.epoch + 1, expires_at = excluded.expires_at
              where leader_lease.expires_at < ${DB_NOW_MS}
            returning holder, url, epoch, expires_at`.execute(trx);
          const row = rows[0] ?? (await trx.selectFrom('leader_lease').select(['holder', 'url', 'epoch', 'expires_at']).where('name', '=', 'leader').executeTakeFirstOrThrow());
          return toLease(row);
        });
      } catch (err) {
        if ((err as { code?: unknown }).code !== '55P03' || tries > 0) throw err;
        // The lock stays held: a holder mid-transaction. Past its lease (a paused process), its sessions are ended.
        const { rows } = await sql<{ holder: string }>`select holder from leader_lease where name = 'leader' and expires_at < ${DB_NOW_MS}`.execute(this.db);
        const stale = rows[0]?.holder;
        if (stale === undefined) throw err;
        await sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = ${`${REPLICA_APP}${stale}`} and pid <> pg_backend_pid()`.execute(this.db);
      }
    }
  }

  async renewLease(holder: string, ttlMs: number): Promise<boolean> {
    const { rows } = await sql`update leader_lease set expires_at = ${DB_NOW_MS} + ${ttlMs} where name = 'leader' and holder = ${holder} returning 1`.execute(this.db);
    return rows.length > 0;
  }

  async lease(): Promise<Lease | null> {
    const row = await this.db.selectFrom('leader_lease').select(['holder', 'url', 'epoch', 'expires_at']).where('name', '=', 'leader').executeTakeFirst();
    return row === undefined ? null : toLease(row);
  }

  async setSiteHealth(id: string, health: SiteHealth): Promise<boolean> {
    const result = await this.db.updateTable('sites').set({ health }).where('id', '=', id).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /**
   * Recipe:
   * 1. one row per distinct (org, idempotency key): a key repeated inside the batch names one job;
   * 2. one statement inserts the jobs, ON CONFLICT DO NOTHING (a key an earlier submission took
   *    inserts nothing), and a 'submitted' event (seq 1) per job created: atomic by itself;
   * 3. the jobs whose keys earlier submissions took are read back, so every input gets its job.
   */
  async submitJobs(jobs: readonly NewJob[]): Promise<SubmitResult[]> {
    if (jobs.length === 0) return [];
    const rows: NewJob[] = [];
    /** For each input, the index of the row that stands for it. */
    const rowOf: number[] = [];
    const rowByKey = new Map<string, number>();
    for (const job of jobs) {
      const key = slot(job.orgId, job.idempotencyKey);
      const seen = key === null ? undefined : rowByKey.get(key);
      if (seen !== undefined) {
        rowOf.push(seen);
        continue;
      }
      if (key !== null) rowByKey.set(key, rows.length);
      rowOf.push(rows.length);
      rows.push(job);
    }

    const byRow = await conflicts(insertJobs(this.db, rows));
    const createdRows = new Set(byRow.flatMap((job, row) => (job ? [row] : [])));

    // Jobs are never deleted, so a taken key's job is there to read once the insert is done.
    const earlier = new Map<string | null, Job>();
    for (const chunk of chunks(rows.filter((_, row) => !createdRows.has(row)))) {
      const found = await jobsWithDiagnoses(this.db)
        .where((eb) => eb(eb.refTuple('jobs.org_id', 'jobs.idempotency_key'), 'in', chunk.map((j) => eb.tuple(j.orgId, j.idempotencyKey))))
        .execute();
      for (const row of found) earlier.set(slot(row.org_id, row.idempotency_key), toJob(row));
    }

    return rowOf.map((row, i): SubmitResult => {
      const input = rows[row];
      const job = byRow[row] ?? (input && earlier.get(slot(input.orgId, input.idempotencyKey)));
      if (!job) throw new Error(`submitJobs: input ${i} has no job after the insert (a bug)`);
      // Only the first input of a row reports it created; a repeat of its key did not.
      return { job, created: createdRows.delete(row) };
    });
  }

  async getJob(id: string): Promise<Job | null> {
    const key = jobKey(id);
    if (key === null) return null;
    const row = await jobsWithDiagnoses(this.db).where('jobs.id', '=', key).executeTakeFirst();
    return row ? toJob(row) : null;
  }

  async listJobs(filter: JobFilter): Promise<Job[]> {
    if (!Number.isSafeInteger(filter.limit) || filter.limit < 0) throw new InvalidInputError('limit', `${filter.limit} is not a count of jobs`, 'a whole number ≥ 0');
    const newest = filter.order === 'newest';
    // Both orders walk the (org_id, id) or (state, id) index, forwards or backwards.
    let query = jobsWithDiagnoses(this.db).orderBy('jobs.id', newest ? 'desc' : 'asc').limit(filter.limit);
    if (filter.orgId !== undefined) query = query.where('jobs.org_id', '=', filter.orgId);
    if (filter.states !== undefined) {
      if (filter.states.length === 0) return [];
      query = query.where('jobs.state', 'in', filter.states);
    }
    if (filter.search !== undefined && filter.search !== '') {
      const pattern = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      query = query.where(sql<boolean>`(cast(jobs.id as text) like ${pattern} escape '\\' or jobs.name ilike ${pattern} escape '\\')`);
    }
    if (filter.after !== undefined) {
      const after = jobKey(filter.after);
      if (after === null) throw new InvalidInputError('after', `"${filter.after}" is not a job id`, 'the id of a job, as listed');
      query = query.where('jobs.id', newest ? '<' : '>', after);
    }
    return (await query.execute()).map(toJob);
  }

  async activeJobs(ids?: readonly string[]): Promise<Job[]> {
    let query = jobsWithDiagnoses(this.db).where('jobs.state', 'in', ACTIVE_STATES);
    if (ids !== undefined) query = query.where('jobs.id', '=', anyOf(jobKeys(ids)));
    return (await query.orderBy('jobs.id').execute()).map(toJob);
  }

  /**
   * Set-based: one statement per batch, not per change (moveJobs). Recipe:
   * 1. split the changes into rounds: a job's k-th change goes into round k, so a round
   *    moves each job at most once and each job's changes still apply in input order
   *    (the only order the contract can see: different jobs share no rows); a round of
   *    more than ROWS_PER_INSERT changes is split again;
   * 2. each piece is one statement that locks its jobs, moves them, and writes what
   *    follows from the moves (moveJobs); the last one also writes the ledger entries;
   * 3. on the embedded database one statement is the whole transition: it has one session,
   *    so no one can move a job between the lock and the rest of the statement. Anything
   *    else runs in a transaction that first locks every job the batch moves, in id order,
   *    in a statement of its own: two batches that share jobs then queue on a server instead
   *    of deadlocking, and each later statement's snapshot sees what the batch before it
   *    wrote. (NO KEY UPDATE is the lock an UPDATE takes; it lets other transactions insert
   *    rows that reference the job.)
   */
  async transition(changes: readonly Transition[], ledger: readonly LedgerEntry[] = []): Promise<(Job | null)[]> {
    for (const change of changes) checkPlacement(change);
    if (changes.length === 0 && ledger.length === 0) return [];
    const rounds: Move[][] = [];
    const movesOf = new Map<number, number>();
    changes.forEach((change, index) => {
      const id = jobKey(change.jobId);
      if (id === null) return; // names no job: does not apply
      const round = movesOf.get(id) ?? 0;
      movesOf.set(id, round + 1);
      (rounds[round] ??= []).push({ index, id, change });
    });
    const pieces = rounds.flatMap((round) => [...chunks(round)]);
    if (pieces.length === 0) pieces.push([]); // the ledger alone
    const named = changes.map((c) => jobKey(c.jobId) ?? -1);
    const run = async (db: Kysely<Database>) => {
      const after: (Job | null)[] = changes.map(() => null);
      const moved = new Set<number>();
      for (const [i, piece] of pieces.entries()) {
        const last = i === pieces.length - 1;
        for (const { index, job } of await moveJobs(db, piece, last ? { entries: ledger, named, movedBefore: [...moved] } : null)) {
          after[index] = job;
          moved.add(Number(job.id));
        }
      }
      return after;
    };
    if (pieces.length === 1 && this.kind === 'pglite') return conflicts(run(this.db));
    return conflicts(
      this.db.transaction().execute(async (trx) => {
        const keys = [...movesOf.keys()].sort((a, b) => a - b);
        if (keys.length > 0) await trx.selectFrom('jobs').select('id').where('id', '=', anyOf(keys)).orderBy('id').forNoKeyUpdate().execute();
        return run(trx);
      }),
    );
  }

  async setDiagnoses(diagnoses: ReadonlyMap<string, Readonly<Record<string, unknown>> | null>): Promise<void> {
    const entries = [...diagnoses].flatMap(([id, diagnosis]) => {
      const key = jobKey(id);
      return key === null ? [] : [{ id: key, diagnosis }];
    });
    const cleared = entries.filter((e) => e.diagnosis === null).map((e) => e.id);
    if (cleared.length > 0) await this.db.deleteFrom('job_diagnoses').where('job_id', '=', anyOf(cleared)).execute();
    const given = entries.filter((e) => e.diagnosis !== null);
    // One statement per chunk: the entries travel as one JSON parameter, their ids also as an
    // array, which the planner sizes and looks up in the primary key. (Joined on the JSON
    // alone, it guesses 100 rows and reads the whole table: 13 ms at 20k jobs.) Chunks, with a
    // turn of the event loop between them: other statements (submissions) have the session in between.
    for (let i = 0; i < given.length; i += DIAGNOSES_PER_STATEMENT) {
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
      const chunk = given.slice(i, i + DIAGNOSES_PER_STATEMENT);
      await sql`
        insert into job_diagnoses (job_id, diagnosis)
        select d.id, d.diagnosis
        from jsonb_to_recordset(${JSON.stringify(chunk)}::jsonb) as d(id bigint, diagnosis jsonb)
          join jobs on jobs.id = d.id
        where jobs.id = ${anyOf(chunk.map((e) => e.id))} and jobs.state = 'pending'
        on conflict (job_id) do update set diagnosis = excluded.diagnosis`.execute(this.db);
    }
  }

  async updateParts(jobId: string, attempt: number, expected: readonly PlacementPart[], parts: readonly PlacementPart[], event: PartsEvent, ledger: readonly LedgerEntry[] = []): Promise<boolean> {
    return this.onHoldingAttempt(jobId, attempt, async (trx, key, state) => {
      const updated = await trx
        .updateTable('placements')
        .set({ parts: JSON.stringify(parts) })
        .where('job_id', '=', key)
        .where('attempt', '=', attempt)
        .where(sql<boolean>`parts = ${JSON.stringify(expected)}::jsonb`)
        .executeTakeFirst();
      if (updated.numUpdatedRows === 0n) return false;
      await appendEvent(trx, key, state, event);
      if (ledger.length > 0) await sql`${ledgerInsert(ledger)}`.execute(trx);
      return true;
    });
  }

  /** Runs `write` in a transaction holding the job's row, if the job is placed or running at `attempt`; false otherwise. */
  private onHoldingAttempt(jobId: string, attempt: number, write: (trx: Kysely<Database>, key: number, state: string) => Promise<boolean>): Promise<boolean> {
    const key = jobKey(jobId);
    if (key === null) return Promise.resolve(false);
    return conflicts(
      this.db.transaction().execute(async (trx) => {
        const job = await trx.selectFrom('jobs').select(['state', 'attempts']).where('id', '=', key).forNoKeyUpdate().executeTakeFirst();
        if (job === undefined || job.attempts !== attempt || !HOLDING_PLACEMENT.has(job.state)) return false;
        return write(trx, key, job.state);
      }),
    );
  }

  async addSpanStep(jobId: string, attempt: number, siteId: string, step: SpanStep): Promise<boolean> {
    const key = jobKey(jobId);
    if (key === null) return false;
    if (step.step === 1) {
      const { rows } = await sql<{ steps: number }>`
        insert into span_metrics (job_id, attempt, site_id, steps, compute_s, sync_s, wait_s, first_loss, last_loss, updated_at)
        values (${key}, ${attempt}, ${siteId}, 1, ${step.computeS}, ${step.syncS}, ${step.waitS}, ${step.loss}, ${step.loss}, ${step.at})
        on conflict (job_id, attempt, site_id) do nothing
        returning steps`.execute(this.db);
      return rows.length > 0;
    }
    // A next step adds to the sums only if it is the next: a retried post adds nothing.
    const updated = await this.db
      .updateTable('span_metrics')
      .set((eb) => ({ steps: eb('steps', '+', 1), compute_s: eb('compute_s', '+', step.computeS), sync_s: eb('sync_s', '+', step.syncS), wait_s: eb('wait_s', '+', step.waitS), last_loss: step.loss, updated_at: step.at }))
      .where('job_id', '=', key).where('attempt', '=', attempt).where('site_id', '=', siteId).where('steps', '=', step.step - 1)
      .executeTakeFirst();
    return updated.numUpdatedRows > 0n;
  }

  async spanMetrics(jobId: string): Promise<SpanMetrics[]> {
    const key = jobKey(jobId);
    if (key === null) return [];
    const rows = await this.db.selectFrom('span_metrics').selectAll().where('job_id', '=', key).orderBy('attempt').orderBy('site_id').execute();
    return rows.map((r) => ({ jobId: String(r.job_id), attempt: r.attempt, siteId: r.site_id, steps: r.steps, computeS: r.compute_s, syncS: r.sync_s, waitS: r.wait_s, firstLoss: r.first_loss, lastLoss: r.last_loss, updatedAt: r.updated_at }));
  }

  async addEvent(jobId: string, attempt: number, event: PartsEvent): Promise<boolean> {
    return this.onHoldingAttempt(jobId, attempt, async (trx, key, state) => {
      await appendEvent(trx, key, state, event);
      return true;
    });
  }

  async setLogTails(tails: readonly LogTail[]): Promise<boolean[]> {
    // The last tail given for each site's run, in one statement (an upsert may not touch one row twice).
    const last = new Map<string, { i: number; job_id: number; attempt: number; site_id: string; tail: string; at: number }>();
    tails.forEach((t, i) => {
      const key = jobKey(t.jobId);
      if (key !== null) last.set(JSON.stringify([key, t.attempt, t.siteId]), { i, job_id: key, attempt: t.attempt, site_id: t.siteId, tail: t.tail, at: t.at });
    });
    const rows = [...last.values()];
    if (rows.length === 0) return tails.map(() => false);
    // Only where the placement has a part on the site (which also keeps an unknown site from breaking its reference).
    const { rows: kept } = await sql<{ job_id: number; attempt: number; site_id: string }>`
      insert into placement_logs (job_id, attempt, site_id, tail, at)
      select t.job_id, t.attempt, t.site_id, t.tail, t.at
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as t(i int, job_id bigint, attempt int, site_id text, tail text, at bigint)
      join placements p on p.job_id = t.job_id and p.attempt = t.attempt and p.parts @> jsonb_build_array(jsonb_build_object('siteId', t.site_id))
      where p.job_id = ${anyOf(rows.map((r) => r.job_id))}
      on conflict (job_id, attempt, site_id) do update set tail = excluded.tail, at = excluded.at
      returning job_id, attempt, site_id`.execute(this.db);
    const keyOf = (jobId: number | null, attempt: number, siteId: string) => JSON.stringify([jobId, attempt, siteId]);
    const done = new Set(kept.map((r) => keyOf(Number(r.job_id), r.attempt, r.site_id)));
    return tails.map((t) => done.has(keyOf(jobKey(t.jobId), t.attempt, t.siteId)));
  }

  async logTails(jobId: string): Promise<LogTail[]> {
    const key = jobKey(jobId);
    if (key === null) return [];
    const rows = await this.db.selectFrom('placement_logs').selectAll().where('job_id', '=', key).orderBy('attempt').orderBy('site_id').execute();
    return rows.map((r) => ({ jobId: String(r.job_id), attempt: r.attempt, siteId: r.site_id, tail: r.tail, at: r.at }));
  }

  async placements(jobId: string): Promise<Placement[]> {
    const key = jobKey(jobId);
    if (key === null) return [];
    return (await this.db.selectFrom('placements').selectAll().where('job_id', '=', key).orderBy('attempt').execute()).map(toPlacement);
  }

  async latestPlacements(ids: readonly string[]): Promise<Placement[]> {
    const keys = jobKeys(ids);
    if (keys.length === 0) return [];
    // Per job its highest attempt, one step down the (job_id, attempt) key each: a join on the jobs table let
    // PostgreSQL read placements whole, which at a page of 50 it finds cheaper for a small table and which grows with it.
    const { rows } = await sql<Row<'placements'>>`
      select p.* from unnest(${sql.val(keys)}::bigint[]) as k (id)
      cross join lateral (select * from placements where placements.job_id = k.id order by attempt desc limit 1) as p`.execute(this.db);
    return rows.map(toPlacement);
  }

  async activePlacements(ids?: readonly string[]): Promise<Placement[]> {
    let query = this.db
      .selectFrom('placements')
      .innerJoin('jobs', (join) => join.onRef('jobs.id', '=', 'placements.job_id').onRef('jobs.attempts', '=', 'placements.attempt'))
      .selectAll('placements')
      .where('jobs.state', 'in', [...HOLDING_PLACEMENT]);
    if (ids !== undefined) query = query.where('jobs.id', '=', anyOf(jobKeys(ids)));
    return (await query.orderBy('placements.job_id').execute()).map(toPlacement);
  }

  async events(jobId: string): Promise<JobEvent[]> {
    const key = jobKey(jobId);
    if (key === null) return [];
    return (await this.db.selectFrom('job_events').selectAll().where('job_id', '=', key).orderBy('seq').execute()).map(toEvent);
  }

  async sitesWithPendingUsage(): Promise<string[]> {
    const rows = await this.db.selectFrom('ledger_entries').select('site_id').distinct().where('logged_idx', 'is', null).execute();
    return rows.map((r) => r.site_id);
  }

  async pendingUsage(query: { readonly siteId: string; readonly limit: number } | { readonly endedBefore: number; readonly limit: number } | { readonly jobId: string; readonly limit: number } | { readonly siteId?: string; readonly ids: readonly number[] }): Promise<PendingUsage[]> {
    let q = this.db.selectFrom('ledger_entries').selectAll().where('logged_idx', 'is', null);
    if ('ids' in query) {
      if (query.ids.length === 0) return [];
      if (query.siteId !== undefined) q = q.where('site_id', '=', query.siteId);
      return (await q.where('id', '=', anyOf(query.ids)).orderBy('id').execute()).map(toPending);
    }
    if ('jobId' in query) q = q.where('job_id', '=', jobKey(query.jobId) ?? -1);
    else q = 'siteId' in query ? q.where('site_id', '=', query.siteId) : q.where('at', '<', query.endedBefore);
    return (await q.orderBy('id').limit(query.limit).execute()).map(toPending);
  }

  async appendLog(firstIndex: number, entries: readonly Omit<LogEntry, 'index'>[], nodes: readonly LogNode[]): Promise<void> {
    if (entries.length === 0 && nodes.length === 0) return;
    await conflicts(
      this.db.transaction().execute(async (trx) => {
        // One writer, no gaps: the log must end where this batch begins (the lock orders concurrent appends).
        await sql`lock table log_entries in exclusive mode`.execute(trx);
        const n = await logLength(trx);
        if (n !== firstIndex) throw new StoreConflictError(`the usage log holds ${n} entries, not ${firstIndex}: another writer appended`, 'log_entries_size');
        // Each column one array parameter (unnest), whatever the count: a statement of fixed text, parsed and
        // planned in a fraction of the time of a multi-row VALUES list, and entries and their marks in one.
        if (entries.length > 0) {
          const ids = entries.map((e) => e.entryId);
          const { rows } = await sql<{ marked: number }>`
            with logged as (
              insert into log_entries (idx, entry_id, note, writer, logged_at)
              select * from unnest(${sql.val(entries.map((_, i) => firstIndex + i))}::bigint[], ${sql.val(ids)}::bigint[],
                ${sql.val(entries.map((e) => e.note))}::text[], ${sql.val(entries.map((e) => e.writer))}::text[], ${sql.val(entries.map((e) => e.loggedAt))}::bigint[])
              returning idx, entry_id
            ), marked as (
              update ledger_entries set logged_idx = logged.idx from logged
              where ledger_entries.id = logged.entry_id and ledger_entries.logged_idx is null
                -- The ids again, as an index condition: embedded PGlite keeps no statistics (no autovacuum, no
                -- analyze), and without it the planner hashes every pending entry to find these.
                and ledger_entries.id = ${anyOf(ids)}
              returning 1
            )
            select count(*)::int as marked from marked`.execute(trx);
          if (rows[0]?.marked !== entries.length) throw new StoreConflictError('a usage entry is unknown or in the log already', 'ledger_entries_logged_idx');
        }
        if (nodes.length > 0) {
          await sql`insert into log_nodes (level, idx, hash)
            select level, idx, decode(hash, 'hex') from unnest(${sql.val(nodes.map((n) => n.level))}::smallint[], ${sql.val(nodes.map((n) => n.index))}::bigint[],
              ${sql.val(nodes.map((n) => Buffer.from(n.hash).toString('hex')))}::text[]) as n(level, idx, hash)`.execute(trx);
        }
      }),
    );
  }

  async logSize(): Promise<number> {
    return logLength(this.db);
  }

  async logEntries(from: number, to: number): Promise<LogEntry[]> {
    return (await this.db.selectFrom('log_entries').selectAll().where('idx', '>=', from).where('idx', '<', to).orderBy('idx').execute()).map(toLogEntry);
  }

  async logEntriesOf(orgId: string, from: number, limit: number): Promise<LogEntry[]> {
    // The log in index order, each entry's org looked up by its key (the lateral `limit 1` keeps the
    // planner from hashing all the org's entries instead, which it would for every page): a page reads
    // the log from `from` until `limit` entries match, so paging through the log reads it once.
    const { rows } = await sql<Row<'log_entries'>>`
      select l.idx, l.entry_id, l.note, l.writer, l.logged_at
      from log_entries l
      cross join lateral (
        select 1 from ledger_entries e
        where e.id = l.entry_id and (e.consumer_org_id = ${orgId} or e.provider_org_id = ${orgId})
        limit 1
      ) as concerns
      where l.idx >= ${from}
      order by l.idx
      limit ${limit}`.execute(this.db);
    return rows.map(toLogEntry);
  }

  async logNodes(ids: readonly { readonly level: number; readonly index: number }[]): Promise<LogNode[]> {
    if (ids.length === 0) return [];
    // One `idx = any(…)` per level: an index scan each, some four times faster than one (level, idx) test per node.
    const byLevel = new Map<number, number[]>();
    for (const id of ids) {
      const indexes = byLevel.get(id.level);
      if (indexes === undefined) byLevel.set(id.level, [id.index]);
      else indexes.push(id.index);
    }
    const rows = await this.db
      .selectFrom('log_nodes')
      .selectAll()
      .where((eb) => eb.or([...byLevel].map(([level, indexes]) => eb.and([eb('level', '=', level), eb('idx', '=', sql<number>`any(${sql.val(indexes)}::bigint[])`)]))))
      .execute();
    const found = new Map(rows.map((r) => [`${r.level}/${r.idx}`, r.hash]));
    return ids.map((id) => {
      const hash = found.get(`${id.level}/${id.index}`);
      if (hash === undefined) throw new StoreConflictError(`no stored hash of the log's subtree at level ${id.level}, index ${id.index}`, 'log_nodes');
      return { level: id.level, index: id.index, hash: new Uint8Array(hash) };
    });
  }

  async saveCheckpoint(checkpoint: Checkpoint): Promise<void> {
    await conflicts(this.db.insertInto('log_checkpoints').values({ size: checkpoint.size, note: checkpoint.note, at: checkpoint.at }).execute());
  }

  async checkpoint(size?: number): Promise<Checkpoint | null> {
    let q = this.db.selectFrom('log_checkpoints').selectAll();
    q = size === undefined ? q.orderBy('size', 'desc').limit(1) : q.where('size', '=', size);
    const row = await q.executeTakeFirst();
    return row === undefined ? null : { size: Number(row.size), note: row.note, at: Number(row.at) };
  }

  async addCosignature(size: number, witness: string, line: string, at: number): Promise<boolean> {
    if ((await this.checkpoint(size)) === null) return false;
    await this.db
      .insertInto('log_cosignatures')
      .values({ size, witness, line, at })
      .onConflict((oc) => oc.columns(['size', 'witness']).doUpdateSet({ line, at }))
      .execute();
    return true;
  }

  async cosignatures(size: number): Promise<{ witness: string; line: string; at: number }[]> {
    const rows = await this.db.selectFrom('log_cosignatures').select(['witness', 'line', 'at']).where('size', '=', size).orderBy('witness').execute();
    return rows.map((r) => ({ witness: r.witness, line: r.line, at: Number(r.at) }));
  }

  async addSiteKey(key: Omit<SiteKey, 'revokedAt'>): Promise<void> {
    await conflicts(this.db.insertInto('site_keys').values({ site_id: key.siteId, key_hash: key.keyHash, verifier_key: key.verifierKey, created_at: key.createdAt }).execute());
  }

  async siteKeys(siteId?: string): Promise<SiteKey[]> {
    let q = this.db.selectFrom('site_keys').selectAll().orderBy('created_at').orderBy('site_id').orderBy('key_hash');
    if (siteId !== undefined) q = q.where('site_id', '=', siteId);
    return (await q.execute()).map((r) => ({ siteId: r.site_id, keyHash: r.key_hash, verifierKey: r.verifier_key, createdAt: Number(r.created_at), revokedAt: r.revoked_at === null ? null : Number(r.revoked_at) }));
  }

  async revokeSiteKey(siteId: string, keyHash: string, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('site_keys')
      .set({ revoked_at: sql<number>`coalesce(revoked_at, ${at})` })
      .where('site_id', '=', siteId)
      .where('key_hash', '=', keyHash)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async addWitnessKey(key: Omit<WitnessKey, 'revokedAt'>): Promise<void> {
    await conflicts(this.db.insertInto('witness_keys').values({ name: key.name, key_hash: key.keyHash, org_id: key.orgId, verifier_key: key.verifierKey, created_at: key.createdAt }).execute());
  }

  async witnessKeys(orgId?: string): Promise<WitnessKey[]> {
    let q = this.db.selectFrom('witness_keys').selectAll().orderBy('created_at').orderBy('name').orderBy('key_hash');
    if (orgId !== undefined) q = q.where('org_id', '=', orgId);
    return (await q.execute()).map((r) => ({ name: r.name, keyHash: r.key_hash, orgId: r.org_id, verifierKey: r.verifier_key, createdAt: Number(r.created_at), revokedAt: r.revoked_at === null ? null : Number(r.revoked_at) }));
  }

  async revokeWitnessKey(name: string, keyHash: string, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('witness_keys')
      .set({ revoked_at: sql<number>`coalesce(revoked_at, ${at})` })
      .where('name', '=', name)
      .where('key_hash', '=', keyHash)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async ledger(orgId?: string, logSize?: number, range: BookedRange = {}): Promise<LedgerRow[]> {
    // Sorted bytewise: the same order on PGlite and on any server, whatever its locale.
    const { rows } = await sql<{ org_id: string; gpu_type: string; contributed: number; consumed: number; own: number }>`
      select org_id, gpu_type, sum(contributed) as contributed, sum(consumed) as consumed, sum(own) as own
      from ${perOrgEntries(orgId, logSize, range)}
      group by org_id, gpu_type
      order by org_id collate "C", gpu_type collate "C"`.execute(this.db);
    return rows.map((r) => ({
      orgId: r.org_id,
      gpuType: r.gpu_type,
      contributedGpuH: r.contributed / 3600,
      consumedGpuH: r.consumed / 3600,
      ownGpuH: r.own / 3600,
      creditsGpuH: (r.contributed - r.consumed) / 3600,
    }));
  }

  async ledgerHistory(bucketMs: number, orgId?: string, range: BookedRange = {}): Promise<LedgerPoint[]> {
    if (!Number.isSafeInteger(bucketMs) || bucketMs < 1) throw new InvalidInputError('bucketMs', `${bucketMs} is not a length of time in ms`, 'a whole number of ms ≥ 1');
    const bucket = sql`${bucketMs}::bigint`;
    // The counting rules of `ledger`, grouped by bucket instead of GPU type. The bucket is
    // floored in bigint arithmetic (exact on both databases; `/` alone would truncate
    // towards zero, not floor, for times before 1970).
    const { rows } = await sql<{ org_id: string; bucket_at: number; contributed: number; consumed: number; own: number }>`
      select org_id, at - ((at % ${bucket}) + ${bucket}) % ${bucket} as bucket_at,
        sum(contributed) as contributed, sum(consumed) as consumed, sum(own) as own
      from ${perOrgEntries(orgId, undefined, range)}
      group by org_id, bucket_at
      order by bucket_at, org_id collate "C"`.execute(this.db);
    return rows.map((r) => ({ orgId: r.org_id, at: r.bucket_at, contributedGpuH: r.contributed / 3600, consumedGpuH: r.consumed / 3600, ownGpuH: r.own / 3600 }));
  }

  async firstPlacements(since: number): Promise<FirstPlacement[]> {
    const rows = await this.db
      .selectFrom('placements')
      .innerJoin('jobs', 'jobs.id', 'placements.job_id')
      .select(['jobs.org_id', 'jobs.submitted_at', 'placements.placed_at'])
      .where('placements.attempt', '=', 1)
      .where('placements.placed_at', '>=', since)
      .execute();
    return rows.map((r) => ({ orgId: r.org_id, submittedAt: r.submitted_at, placedAt: r.placed_at }));
  }

  async ledgerJobs(orgId: string | undefined, range: BookedRange, limit: number): Promise<LedgerJobUsage[]> {
    const concerns = orgId === undefined ? sql`` : sql`and (e.consumer_org_id = ${orgId} or e.provider_org_id = ${orgId})`;
    const { rows } = await sql<{ job_id: number; name: string; site_id: string; consumer_org_id: string; provider_org_id: string; gpu_type: string; gpu_seconds: number; last_at: number }>`
      select e.job_id, j.name, e.site_id, e.consumer_org_id, e.provider_org_id, e.gpu_type, sum(e.gpu_seconds) as gpu_seconds, max(e.at) as last_at
      from ledger_entries e join jobs j on j.id = e.job_id
      where e.logged_idx is not null ${concerns} ${bookedIn(range, sql`e.at`)}
      group by e.job_id, j.name, e.site_id, e.consumer_org_id, e.provider_org_id, e.gpu_type
      order by last_at desc, e.job_id desc, e.site_id collate "C", e.gpu_type collate "C"
      limit ${limit}`.execute(this.db);
    return rows.map((r) => ({
      jobId: String(r.job_id), jobName: r.name, siteId: r.site_id, consumerOrgId: r.consumer_org_id, providerOrgId: r.provider_org_id, gpuType: r.gpu_type,
      gpuH: r.gpu_seconds / 3600, lastAt: Number(r.last_at),
    }));
  }

  /** Safe to call twice; the second call waits for the first. */
  close(): Promise<void> {
    this.closing ??= this.onClose();
    return this.closing;
  }
}

/** One change of a transition batch, with the job key it names and its place in the batch. */
interface Move {
  readonly index: number;
  readonly id: number;
  readonly change: Transition;
}

/** The ledger entries a transition writes with its last statement (see `transition`). */
interface LedgerWrite {
  readonly entries: readonly LedgerEntry[];
  /** The job keys the transition's changes name (-1: a change that names no job). */
  readonly named: readonly number[];
  /** Jobs that earlier statements of the same transition moved. */
  readonly movedBefore: readonly number[];
}

/**
 * One statement: locks the moves' jobs in id order (without waiting when the caller holds
 * the locks already), moves each job whose state is in its move's `from` (at most one move
 * per job), and, for the moves that applied, writes what follows (Transition's contract):
 * - the placement held ends when the job leaves placed/running or gets a new one; a new
 *   placement is inserted with the move to placed; a move to running starts the current one;
 * - diagnoses: a given one is stored; without one, a job kept waiting keeps its last, and
 *   any other move clears it;
 * - an event per move;
 * - with `ledger`, its entries, except those of a named job that no move of the transition
 *   moved: a run's usage is written by the move that ended it, not again by one that lost
 *   the race to end it.
 * Every part reads the snapshot the statement started with, so each reads the jobs as the
 * lock left them (`locked`: the row as locked, the newest). The moves travel as one JSON
 * parameter (PGlite parses one large parameter faster than many small ones) and their ids
 * as an array, which the planner looks up in the primary keys. Returns the moves that
 * applied, with each job after its move.
 */
async function moveJobs(db: Kysely<Database>, moves: readonly Move[], ledger: LedgerWrite | null): Promise<{ index: number; job: Job }[]> {
  const input = moves.map(({ index, id, change }) => ({
    move: index,
    id,
    from_states: change.from,
    attempt: change.attempt ?? null,
    to_state: change.to,
    at: change.at,
    parts: change.placement ?? null,
    type: change.type,
    detail: change.detail ?? {},
    keeps: change.diagnosis === undefined && change.to === 'pending',
    given: change.diagnosis ?? null,
  }));
  const ids = anyOf(moves.map((m) => m.id));
  const holding = sql.join([...HOLDING_PLACEMENT].map((s) => sql.lit(s)));
  const entries = ledger?.entries ?? [];
  const { rows } = await sql<Row<'jobs'> & { move: number; diagnosis: Record<string, unknown> | null }>`
    with m as materialized (
      select * from jsonb_to_recordset(${JSON.stringify(input)}::jsonb)
        as m (move integer, id bigint, from_states text[], attempt integer, to_state text, at bigint, parts jsonb, type text, detail jsonb, keeps boolean, given jsonb)
    ),
    locked as materialized (
      select id, state, attempts from jobs where id = ${ids} order by id for no key update
    ),
    moved as (
      update jobs set
        state = m.to_state,
        updated_at = m.at,
        attempts = jobs.attempts + case when m.parts is null then 0 else 1 end
      from m, locked
      where jobs.id = ${ids} and jobs.id = m.id and locked.id = m.id and locked.state = any(m.from_states)
        and (m.attempt is null or locked.attempts = m.attempt)
      returning jobs.*, m.move, locked.state as left_state, m.parts, m.type, m.detail, m.keeps, m.given
    ),
    ended as (
      update placements set ended_at = moved.updated_at
      from moved
      where placements.job_id = ${ids} and placements.job_id = moved.id and placements.ended_at is null
        and moved.left_state in (${holding}) and (moved.parts is not null or moved.state not in (${holding}))
    ),
    placed as (
      insert into placements (job_id, attempt, parts, placed_at)
      select id, attempts, parts, updated_at from moved where parts is not null
    ),
    started as (
      update placements set started_at = coalesce(placements.started_at, moved.updated_at)
      from moved
      where placements.job_id = ${ids} and placements.job_id = moved.id and placements.attempt = moved.attempts and moved.state = 'running'
    ),
    cleared as (
      delete from job_diagnoses
      where job_id = ${ids} and job_id in (select id from moved where not keeps and given is null)
    ),
    diagnosed as (
      insert into job_diagnoses (job_id, diagnosis)
      select id, given from moved where given is not null
      on conflict (job_id) do update set diagnosis = excluded.diagnosis
    ),
    events as (
      insert into job_events (job_id, seq, at, type, from_state, to_state, detail)
      select id, coalesce((select max(seq) from job_events earlier where earlier.job_id = moved.id), 0) + 1, updated_at, type, left_state, state, detail
      from moved
    ),
    usage as (
      ${ledgerInsert(entries)}
      where l.job_id <> all(${sql.val(ledger?.named ?? [])}::bigint[])
        or l.job_id = any(${sql.val(ledger?.movedBefore ?? [])}::bigint[])
        or l.job_id in (select id from moved)
    )
    select moved.*, case when moved.given is not null then moved.given when moved.keeps then kept.diagnosis end as diagnosis
    from moved left join job_diagnoses kept on kept.job_id = ${ids} and kept.job_id = moved.id`.execute(db);
  return rows.map((row) => ({ index: row.move, job: toJob(row) }));
}

/**
 * Jobs joined with their diagnoses: what every read of jobs selects. Only a waiting job
 * has one: on PostgreSQL a pass's write can land just after the job moved on (and its
 * diagnosis was cleared); the next move clears that one too.
 */
const jobsWithDiagnoses = (db: Kysely<Database>) =>
  db
    .selectFrom('jobs')
    .leftJoin('job_diagnoses', 'job_diagnoses.job_id', 'jobs.id')
    .selectAll('jobs')
    .select(sql<Record<string, unknown> | null>`case when jobs.state = 'pending' then job_diagnoses.diagnosis end`.as('diagnosis'));

/**
 * Inserts `rows` as pending jobs with their 'submitted' events, in one statement: the rows as
 * one JSON parameter, so that the text is the same whatever their count (and runs prepared,
 * pglite-thread.ts), inserted in their order. Returns, per row, the job created, or undefined
 * when its idempotency key was taken.
 */
async function insertJobs(db: Kysely<Database>, rows: readonly NewJob[]): Promise<(Job | undefined)[]> {
  const input = rows.map((j, i) => ({ i, org_id: j.orgId, name: j.name, demand: j.demand, submitted_by: j.submittedBy, submitted_at: j.submittedAt, idempotency_key: j.idempotencyKey }));
  const { rows: inserted } = await sql<Row<'jobs'>>`
    with inserted as (
      insert into jobs (org_id, name, state, demand, submitted_by, submitted_at, updated_at, idempotency_key)
      select j.org_id, j.name, 'pending', j.demand, j.submitted_by, j.submitted_at, j.submitted_at, j.idempotency_key
      from jsonb_to_recordset(${JSON.stringify(input)}::jsonb)
        as j (i integer, org_id text, name text, demand jsonb, submitted_by text, submitted_at bigint, idempotency_key text)
      order by j.i
      on conflict (org_id, idempotency_key) do nothing
      returning *
    ),
    submitted as (
      insert into job_events (job_id, seq, at, type, from_state, to_state, detail)
      select id, 1, submitted_at, 'submitted', null, state, '{}'::jsonb from inserted
    )
    select * from inserted`.execute(db);
  return matchInserted(rows, inserted).map((row) => row && toJob({ ...row, diagnosis: null }));
}

/**
 * Each ledger entry in the usage log as it counts for each org, as a subquery `per_org` (org_id, gpu_type,
 * at, contributed, consumed, own): for its provider (contributed, or own when provider =
 * consumer) and, when the two differ, for its consumer (consumed). With `orgId`, only
 * that org's rows.
 */
function perOrgEntries(orgId?: string, logSize?: number, range: BookedRange = {}) {
  const provider = orgId === undefined ? sql`` : sql`and provider_org_id = ${orgId}`;
  const consumer = orgId === undefined ? sql`` : sql`and consumer_org_id = ${orgId}`;
  const logged = sql`${logSize === undefined ? sql`logged_idx is not null` : sql`logged_idx < ${logSize}`} ${bookedIn(range, sql`at`)}`;
  return sql`(
    select provider_org_id as org_id, gpu_type, at,
      case when consumer_org_id <> provider_org_id then gpu_seconds else 0 end as contributed,
      0::double precision as consumed,
      case when consumer_org_id = provider_org_id then gpu_seconds else 0 end as own
    from ledger_entries where ${logged} ${provider}
    union all
    select consumer_org_id, gpu_type, at, 0, gpu_seconds, 0
    from ledger_entries where ${logged} and consumer_org_id <> provider_org_id ${consumer}
  ) as per_org`;
}

/** `and <at> >= from and <at> < to` for the ends `range` gives (nothing for an open end). */
function bookedIn(range: BookedRange, at: ReturnType<typeof sql>) {
  return sql`${range.from === undefined ? sql`` : sql`and ${at} >= ${range.from}`} ${range.to === undefined ? sql`` : sql`and ${at} < ${range.to}`}`;
}

/**
 * `insert into ledger_entries … from jsonb_to_recordset(entries) as l`: the entries as one
 * JSON parameter, whatever their count; a caller may add a `where` on `l`.
 */
function ledgerInsert(ledger: readonly LedgerEntry[]) {
  const rows = ledger.map((e) => ({
    job_id: jobKey(e.jobId) ?? -1, // -1 names no job: the foreign key rejects it
    attempt: e.attempt,
    site_id: e.siteId,
    consumer_org_id: e.consumerOrgId,
    provider_org_id: e.providerOrgId,
    gpu_type: e.gpuType,
    gpus: e.gpus,
    start_at: e.startAt,
    gpu_seconds: e.gpuSeconds,
    outcome: e.outcome,
    at: e.at,
  }));
  return sql`
    insert into ledger_entries (job_id, attempt, site_id, consumer_org_id, provider_org_id, gpu_type, gpus, start_at, gpu_seconds, outcome, at)
    select l.job_id, l.attempt, l.site_id, l.consumer_org_id, l.provider_org_id, l.gpu_type, l.gpus, l.start_at, l.gpu_seconds, l.outcome, l.at
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
      as l (job_id bigint, attempt integer, site_id text, consumer_org_id text, provider_org_id text, gpu_type text, gpus integer, start_at bigint, gpu_seconds double precision, outcome text, at bigint)`;
}

/** A placement comes with a move to 'placed' and only then: a placed job without one could never run. */
function checkPlacement(change: Transition): void {
  if (change.to === 'placed' && change.placement === undefined) {
    throw new InvalidInputError('placement', `job ${change.jobId} moves to placed without a placement`, 'the placement parts with every move to placed');
  }
  if (change.to === 'placed' && change.placement?.length === 0) {
    throw new InvalidInputError('placement', `job ${change.jobId} moves to placed on no site: its placement has no parts`, 'a placement of one part or more');
  }
  if (change.to !== 'placed' && change.placement !== undefined) {
    throw new InvalidInputError('placement', `job ${change.jobId} moves to ${change.to} with a placement`, 'a placement only with a move to placed');
  }
}

/**
 * Job ids are decimal strings of a bigint identity. Returns the number the database
 * holds, or null when `id` cannot name a job (so callers answer "not found").
 */
function jobKey(id: string): number | null {
  if (!/^(0|[1-9][0-9]*)$/.test(id)) return null;
  const key = Number(id);
  return Number.isSafeInteger(key) ? key : null;
}

/** The keys of the ids that can be job ids (others name no job). */
const jobKeys = (ids: readonly string[]): number[] => ids.map(jobKey).filter((k) => k !== null);

/** `= any(ids)`: one array parameter, whatever the count, which the planner looks up in an index. */
const anyOf = (ids: readonly number[]) => sql<number>`any(${sql.val(ids)}::bigint[])`;

/** `xs` in slices of at most ROWS_PER_INSERT, for multi-row statements. */
function* chunks<T>(xs: readonly T[]): Generator<T[]> {
  for (let start = 0; start < xs.length; start += ROWS_PER_INSERT) yield xs.slice(start, start + ROWS_PER_INSERT);
}

/** The one identity of an idempotency key across orgs (null: the job has no key). */
function slot(orgId: string, idempotencyKey: string | null): string | null {
  return idempotencyKey === null ? null : JSON.stringify([orgId, idempotencyKey]);
}

/**
 * Which input row each inserted job row belongs to (undefined: its key was taken).
 * Identity ids follow the insert's order (its rows' order), and only keyed rows can be skipped, so the
 * keyless rows take the keyless jobs in id order and keyed rows match by key.
 */
function matchInserted(rows: readonly NewJob[], inserted: readonly Row<'jobs'>[]): (Row<'jobs'> | undefined)[] {
  const byKey = new Map<string, Row<'jobs'>>();
  const keyless: Row<'jobs'>[] = [];
  for (const row of [...inserted].sort((a, b) => a.id - b.id)) {
    const key = slot(row.org_id, row.idempotency_key);
    if (key === null) keyless.push(row);
    else byKey.set(key, row);
  }
  let next = 0;
  return rows.map((row) => {
    const key = slot(row.orgId, row.idempotencyKey);
    return key === null ? keyless[next++] : byKey.get(key);
  });
}

/** Runs one change; a broken uniqueness or reference rule becomes StoreConflictError (types.ts). */
async function conflicts<T>(change: Promise<T>): Promise<T> {
  try {
    return await change;
  } catch (err) {
    const e = err as { code?: unknown; constraint?: unknown; detail?: unknown; message?: unknown };
    if (e.code === '23505' || e.code === '23503') {
      const detail = typeof e.detail === 'string' ? e.detail : '';
      // "Key (id)=(acme) already exists." / "Key (org_id)=(x) is not present in table "orgs"."
      const value = /^Key \(.+?\)=\((.*)\) (?:already exists|is not present)/.exec(detail)?.[1];
      throw new StoreConflictError(`${String(e.message)}${detail === '' ? '' : ` (${detail})`}`, typeof e.constraint === 'string' ? e.constraint : 'unknown', value);
    }
    throw err;
  }
}

const toOrg = (r: Row<'orgs'>): Org => ({ id: r.id, name: r.name, createdAt: r.created_at });

const toToken = (r: Row<'tokens'>): Token => ({ id: r.id, role: r.role, orgId: r.org_id, siteId: r.site_id, name: r.name, createdAt: r.created_at, revokedAt: r.revoked_at });

type LeaseRow = { holder: string; url: string; epoch: number | string; expires_at: number | string };
const toLease = (r: LeaseRow): Lease => ({ holder: r.holder, url: r.url, epoch: Number(r.epoch), expiresAt: Number(r.expires_at) });
/** Now on the database's clock, epoch ms: what lease expiries are judged by (replicas' own clocks may differ). */
const DB_NOW_MS = sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`;

const toSite = (r: Row<'sites'>): Site => ({
  id: r.id,
  orgId: r.org_id,
  name: r.name,
  capacity: r.capacity,
  pricePerGpuHour: r.price_per_gpu_hour,
  share: r.share,
  wanLinks: r.wan_links,
  spanEndpoint: r.span_endpoint ?? null,
  health: r.health,
  lastHeartbeatAt: r.last_heartbeat_at,
  createdAt: r.created_at,
  reportedCapacity: r.reported_capacity,
  sandboxCapable: r.sandbox_capable,
});

const toJob = (r: JobRow): Job => ({
  id: String(r.id),
  orgId: r.org_id,
  name: r.name,
  state: r.state,
  demand: r.demand,
  submittedBy: r.submitted_by,
  submittedAt: r.submitted_at,
  updatedAt: r.updated_at,
  attempts: r.attempts,
  diagnosis: r.diagnosis,
});

const toPlacement = (r: Row<'placements'>): Placement => ({
  jobId: String(r.job_id), attempt: r.attempt, parts: r.parts, placedAt: r.placed_at, startedAt: r.started_at, endedAt: r.ended_at,
});

const toPending = (r: Row<'ledger_entries'>): PendingUsage => ({
  id: Number(r.id), jobId: String(r.job_id), attempt: r.attempt, siteId: r.site_id, consumerOrgId: r.consumer_org_id, providerOrgId: r.provider_org_id,
  gpuType: r.gpu_type, gpus: r.gpus, startAt: Number(r.start_at), at: Number(r.at), gpuSeconds: r.gpu_seconds, outcome: r.outcome as UsageOutcome,
});

const toLogEntry = (r: Pick<Row<'log_entries'>, 'idx' | 'entry_id' | 'note' | 'writer' | 'logged_at'>): LogEntry => ({
  index: Number(r.idx), entryId: Number(r.entry_id), note: r.note, writer: r.writer, loggedAt: Number(r.logged_at),
});

/** Appends an event that changes no state (the job's row is locked by the caller's transaction). */
const appendEvent = (trx: Kysely<Database>, key: number, state: string, event: PartsEvent) =>
  sql`
    insert into job_events (job_id, seq, at, type, from_state, to_state, detail)
    select ${key}, coalesce((select max(seq) from job_events where job_id = ${key}), 0) + 1, ${event.at}, ${event.type}, ${state}, ${state}, ${JSON.stringify(event.detail)}::jsonb`.execute(trx);

const toEvent = (r: Row<'job_events'>): JobEvent => ({ jobId: String(r.job_id), seq: r.seq, at: r.at, type: r.type, fromState: r.from_state, toState: r.to_state, detail: r.detail });

/**
 * The usage log's length: its last index + 1, read from the primary key's index (the log
 * has no gaps: appendLog refuses them), where count(*) would read every row at every append.
 */
async function logLength(db: Kysely<Database>): Promise<number> {
  const { last } = await db.selectFrom('log_entries').select((eb) => eb.fn.max<number | null>('idx').as('last')).executeTakeFirstOrThrow();
  return last === null ? 0 : Number(last) + 1;
}
