import { Migrator, sql, type ColumnType, type GeneratedAlways, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Capacity, JobDemand, JobState, PlacementPart, Role, Share, SiteHealth, SpanEndpoint, WanLink } from './types.ts';

/**
 * The database schema: its versioned migrations and the row types they produce.
 *
 * Rules for migrations:
 * - Append only. An applied migration never changes: its SQL is frozen history
 *   (hence literal state lists, not JOB_STATES), and the next change is a new entry.
 * - The SQL runs on PostgreSQL 15 (Debian's server) and on PGlite (PostgreSQL 18),
 *   so it uses nothing newer than 15.
 * - One statement per string: PGlite's extended protocol takes one statement at a time.
 * - Times are epoch milliseconds in bigint columns; both drivers read bigint as a JS number.
 */

/** A jsonb column: written as JSON text (pg would turn a JS array into a PostgreSQL array), read back parsed. */
type Json<T> = ColumnType<T, null extends T ? string | null : string, null extends T ? string | null : string>;
/** A column with a database default: optional on insert (nullable columns are optional anyway). */
type Defaulted<T> = ColumnType<T, T | undefined, T>;

export interface Database {
  orgs: { id: string; name: string; created_at: number };
  tokens: {
    id: string;
    role: Role;
    org_id: string | null;
    site_id: string | null;
    name: string;
    secret_hash: string;
    created_at: number;
    revoked_at: number | null;
  };
  sites: {
    id: string;
    org_id: string;
    name: string;
    capacity: Json<Capacity[]>;
    price_per_gpu_hour: number | null;
    share: Json<Share>;
    wan_links: Json<WanLink[]>;
    health: Defaulted<SiteHealth>;
    last_heartbeat_at: number | null;
    created_at: number;
    reported_capacity: Json<Capacity[] | null>;
    sandbox_capable: boolean | null;
    span_endpoint: Json<SpanEndpoint | null>;
  };
  /** An org's quotas where the admin set them (a quota not named takes the server's default). */
  org_quotas: { org_id: string; quota: Json<Partial<Record<"sites" | "nodes" | "gpus" | "queuedJobs", number>>> };
  jobs: {
    id: GeneratedAlways<number>;
    org_id: string;
    name: string;
    state: JobState;
    demand: Json<JobDemand>;
    submitted_by: string;
    submitted_at: number;
    updated_at: number;
    attempts: Defaulted<number>;
    idempotency_key: string | null;
  };
  /** A waiting job's latest diagnosis (none: not diagnosed yet, or not waiting). */
  job_diagnoses: {
    job_id: number;
    diagnosis: Json<Record<string, unknown>>;
  };
  placements: {
    job_id: number;
    attempt: number;
    parts: Json<PlacementPart[]>;
    placed_at: number;
    started_at: number | null;
    ended_at: number | null;
  };
  /** The end of the log of each site's run of an attempt, as that site's agent last sent it (migration 0014). */
  placement_logs: { job_id: number; attempt: number; site_id: string; tail: string; at: number };
  job_events: {
    job_id: number;
    seq: number;
    at: number;
    type: string;
    from_state: JobState | null;
    to_state: JobState | null;
    detail: Json<Record<string, unknown>>;
  };
  ledger_entries: {
    id: GeneratedAlways<number>;
    job_id: number;
    site_id: string;
    consumer_org_id: string;
    provider_org_id: string;
    gpu_type: string;
    gpu_seconds: number;
    at: number;
    attempt: Defaulted<number>;
    gpus: Defaulted<number>;
    start_at: Defaulted<number>;
    outcome: Defaulted<string>;
    /** The usage log's index of this entry; null while it is pending. */
    logged_idx: Defaulted<number | null>;
  };
  log_entries: { idx: number; entry_id: number; note: string; writer: 'site' | 'control-plane'; logged_at: number };
  log_nodes: { level: number; idx: number; hash: Uint8Array };
  log_checkpoints: { size: number; note: string; at: number };
  log_cosignatures: { size: number; witness: string; line: string; at: number };
  site_keys: { site_id: string; key_hash: string; verifier_key: string; created_at: number; revoked_at: number | null };
  witness_keys: { name: string; key_hash: string; org_id: string; verifier_key: string; created_at: number; revoked_at: number | null };
  leader_lease: { name: string; holder: string; url: string; epoch: number; expires_at: number };
  span_metrics: { job_id: number; attempt: number; site_id: string; steps: number; compute_s: number; sync_s: number; wait_s: number; first_loss: number | null; last_loss: number | null; updated_at: number };
}

/** The application_name prefix of a replica's sessions: what the fence knows it by (the holder id follows). */
export const REPLICA_APP = 'suanli-replica:';

/** The channel of the change feed (migration 0010): '<table> <key>' per changed row. */
export const CHANGES_CHANNEL = 'suanli_changes';

/** The advisory lock key of the leader lease: writes of replicas take it shared, a takeover exclusively. */
export const LEASE_LOCK = 7_827_455_401;

const MIGRATIONS: Readonly<Record<string, readonly string[]>> = {
  '0001-initial': [
    `create table orgs (
      id text primary key,
      name text not null,
      created_at bigint not null
    )`,
    `create table sites (
      id text primary key,
      org_id text not null references orgs (id),
      name text not null,
      capacity jsonb not null,
      price_per_gpu_hour double precision,
      share jsonb not null,
      wan_links jsonb not null,
      health text not null default 'unknown' check (health in ('unknown', 'up', 'lost')),
      last_heartbeat_at bigint,
      created_at bigint not null
    )`,
    `create index sites_org_id on sites (org_id)`,
    `create table tokens (
      id text primary key,
      role text not null check (role in ('admin', 'org-admin', 'member', 'agent')),
      org_id text references orgs (id),
      site_id text references sites (id),
      name text not null,
      secret_hash text not null,
      created_at bigint not null,
      revoked_at bigint
    )`,
    `create index tokens_org_id on tokens (org_id)`,
    `create table jobs (
      id bigint generated always as identity primary key,
      org_id text not null references orgs (id),
      name text not null,
      state text not null check (state in ('pending', 'placed', 'running', 'succeeded', 'failed', 'cancelled', 'preempted')),
      demand jsonb not null,
      submitted_by text not null,
      submitted_at bigint not null,
      updated_at bigint not null,
      attempts integer not null default 0,
      diagnosis jsonb,
      idempotency_key text,
      constraint jobs_org_idempotency_key unique (org_id, idempotency_key)
    )`,
    `create index jobs_org_id_id on jobs (org_id, id)`,
    `create index jobs_state_id on jobs (state, id)`,
    `create table placements (
      job_id bigint not null references jobs (id),
      attempt integer not null,
      parts jsonb not null,
      placed_at bigint not null,
      started_at bigint,
      ended_at bigint,
      primary key (job_id, attempt)
    )`,
    `create table job_events (
      job_id bigint not null references jobs (id),
      seq integer not null,
      at bigint not null,
      type text not null,
      from_state text,
      to_state text,
      detail jsonb not null,
      primary key (job_id, seq)
    )`,
    `create table ledger_entries (
      id bigint generated always as identity primary key,
      job_id bigint not null references jobs (id),
      site_id text not null references sites (id),
      consumer_org_id text not null references orgs (id),
      provider_org_id text not null references orgs (id),
      gpu_type text not null,
      gpu_seconds double precision not null check (gpu_seconds >= 0),
      at bigint not null
    )`,
    `create index ledger_entries_consumer on ledger_entries (consumer_org_id)`,
    `create index ledger_entries_provider on ledger_entries (provider_org_id)`,
  ],
  // A job's row is rewritten at every state change and every new diagnosis; room left in each
  // page lets PostgreSQL update it in place without touching the indexes (a HOT update):
  // 400 diagnoses at 40k jobs on PGlite take 13 ms instead of 19.
  '0002-jobs-fillfactor': [`alter table jobs set (fillfactor = 60)`],
  // The last lines of a run's log, as its agent last sent them (a new tail replaces the old).
  '0003-placement-log-tail': [`alter table placements add column log_tail text`, `alter table placements add column log_at bigint`],
  // Diagnoses move out of the job's row: every pass rewrites them for the jobs that arrived,
  // and a narrow row costs a sixth of a job's to write (400 diagnoses: 6 ms instead of 40).
  '0004-job-diagnoses': [
    `create table job_diagnoses (job_id bigint primary key references jobs (id), diagnosis jsonb not null)`,
    `insert into job_diagnoses (job_id, diagnosis) select id, diagnosis from jobs where diagnosis is not null and state = 'pending'`,
    `alter table jobs drop column diagnosis`,
  ],
  // What a site's agent last reported, kept apart from what its org-admin declared (`capacity`):
  // the scheduler uses the report bounded by the declaration, never more. And per-org quotas.
  '0005-agent-claims-and-quotas': [
    `alter table sites add column reported_capacity jsonb`,
    `alter table sites add column sandbox_capable boolean`,
    `create table org_quotas (org_id text primary key references orgs (id), quota jsonb not null)`,
  ],
  // The usage log: ledger entries count once logged as signed records in an append-only
  // Merkle log (RFC 9162), kept as its entries and the hashes of its complete subtrees,
  // with signed checkpoints, witnesses' cosignatures, and the sites' signing keys.
  // Entries from before the log existed are logged by the server at its first start.
  '0006-usage-log': [
    `alter table ledger_entries add column attempt integer not null default 0`,
    `alter table ledger_entries add column gpus integer not null default 0`,
    `alter table ledger_entries add column start_at bigint not null default 0`,
    `alter table ledger_entries add column outcome text not null default 'succeeded'`,
    `alter table ledger_entries add column logged_idx bigint`,
    // Entries booked before: one GPU, ending at 'at', starting so that their GPU-seconds are exact (to the ms).
    `update ledger_entries set attempt = 1, gpus = 1, start_at = at - round(gpu_seconds * 1000)::bigint, gpu_seconds = round(gpu_seconds * 1000) / 1000.0`,
    `create index ledger_entries_pending on ledger_entries (site_id, id) where logged_idx is null`,
    `create table log_entries (
      idx bigint primary key,
      entry_id bigint not null unique references ledger_entries (id),
      note text not null,
      writer text not null check (writer in ('site', 'control-plane')),
      logged_at bigint not null
    )`,
    `create table log_nodes (level smallint not null, idx bigint not null, hash bytea not null, primary key (level, idx))`,
    `create table log_checkpoints (size bigint primary key, note text not null, at bigint not null)`,
    `create table log_cosignatures (
      size bigint not null references log_checkpoints (size),
      witness text not null,
      line text not null,
      at bigint not null,
      primary key (size, witness)
    )`,
    `create table site_keys (
      site_id text not null references sites (id),
      key_hash text not null,
      verifier_key text not null,
      created_at bigint not null,
      revoked_at bigint,
      primary key (site_id, key_hash)
    )`,
  ],
  // Witnesses' cosigner keys, registered by their orgs' members: the control plane accepts
  // cosignatures of its checkpoints by these keys, and counts them. A key (name and hash)
  // is registered once, by one org; revoked, it stays, so that old cosignatures still verify.
  '0007-witness-keys': [
    `create table witness_keys (
      name text not null,
      key_hash text not null,
      org_id text not null references orgs (id),
      verifier_key text not null,
      created_at bigint not null,
      revoked_at bigint,
      primary key (name, key_hash)
    )`,
  ],
  // What the usage log's timer asks every few seconds: the pending entries that ended before a time.
  '0008-pending-usage-by-end': [`create index ledger_entries_pending_at on ledger_entries (at) where logged_idx is null`],
  // Replicas (several 'suanli serve' on one server): the leader holds this lease, renewed
  // every second, its expiry on the database's clock. Fencing: a replica's sessions are named
  // 'suanli-replica:<holder>' (application_name), and every write statement of such a
  // session, to any table, first checks that its holder still holds the lease — under a
  // shared advisory lock that a takeover takes exclusively, so a write checked before a
  // takeover commits before it. A deposed leader (killed, or paused past its lease and
  // resumed) can never commit. Other sessions (the embedded store, tools) are not fenced.
  '0009-leader-lease': [
    `create table leader_lease (
      name text primary key,
      holder text not null,
      url text not null,
      epoch bigint not null,
      expires_at bigint not null
    )`,
    `create function suanli_fence() returns trigger language plpgsql as $$
    declare
      app text := current_setting('application_name', true);
    begin
      if app is null or app not like 'suanli-replica:%' then
        return null;
      end if;
      perform pg_advisory_xact_lock_shared(7827455401); -- LEASE_LOCK
      if not exists (select 1 from leader_lease where name = 'leader' and holder = substr(app, 16)) then
        raise exception using errcode = 'SLF01', message = 'fenced: replica ' || substr(app, 16) || ' does not hold the leader lease';
      end if;
      return null;
    end $$`,
    `create trigger fence before insert or update or delete on orgs for each statement execute function suanli_fence()`,
    `create trigger fence before insert or update or delete on sites for each statement execute function suanli_fence()`,
    `create trigger fence before insert or update or delete on tokens for each statement execute function suanli_fence()`,
    `create trigger fence before insert or update or delete on jobs for each statement execute function suanli_fence()`,
    `create trigger fence before insert or update or delete on job_events for each statement execute function suanli_fence()`,
    `create trigger fence before insert or update or delete on placements for each statement execute function suanli_fence()`,
    `create trigger fence before insert or update or delete on job_diagnoses for each statement execute function suanli_fence()`,
    `create trigger fence before insert or update or delete on ledger_entries for each statement execute function suanli_fence()`,
    `create trigger fence before insert or update or delete on log_entries for each statement execute function suanli_fence()`,
    `create trigger fence before insert or update or delete on log_nodes for each statement execute function suanli_fence()`,
    `create trigger fence before insert or update or delete on log_checkpoints for each statement execute function suanli_fence()`,
    `create trigger fence before insert or update or delete on log_cosignatures for each statement execute function suanli_fence()`,
    `create trigger fence before insert or update or delete on site_keys for each statement execute function suanli_fence()`,
    `create trigger fence before insert or update or delete on witness_keys for each statement execute function suanli_fence()`,
    `create trigger fence before insert or update or delete on org_quotas for each statement execute function suanli_fence()`,
  ],
  // The change feed (src/store/change-feed.ts): every change of a replica's sessions to what the replicas keep in
  // memory is announced on the channel CHANGES_CHANNEL as '<table> <key>', after it commits, so that the others keep
  // their copies current without reading everything again. Heartbeat times (written for every site each second) and
  // log tails are not announced: no replica keeps them from the store. The embedded store has no replicas, and no
  // session named as one: the triggers' conditions keep them from ever running there.
  '0010-change-feed': [
    `create function suanli_changed() returns trigger language plpgsql as $$
    declare
      r record;
      k text;
    begin
      if tg_op = 'DELETE' then r := old; else r := new; end if;
      case tg_table_name
        when 'jobs' then k := r.id::text;
        when 'placements' then k := r.job_id::text;
        when 'sites' then k := r.id;
        when 'tokens' then k := r.id;
        when 'site_keys' then k := r.site_id;
        when 'org_quotas' then k := r.org_id;
      end case;
      perform pg_notify('suanli_changes', tg_table_name || ' ' || k);
      return null;
    end $$`,
    ...['jobs', 'tokens', 'site_keys', 'org_quotas'].map((table) => `create trigger changed after insert or update or delete on ${table} for each row when (current_setting('application_name', true) like 'suanli-replica:%') execute function suanli_changed()`),
    `create trigger changed after insert or delete on placements for each row when (current_setting('application_name', true) like 'suanli-replica:%') execute function suanli_changed()`,
    `create trigger changed_update after update on placements for each row when (current_setting('application_name', true) like 'suanli-replica:%' and (old.parts, old.started_at, old.ended_at) is distinct from (new.parts, new.started_at, new.ended_at)) execute function suanli_changed()`,
    `create trigger changed after insert or delete on sites for each row when (current_setting('application_name', true) like 'suanli-replica:%') execute function suanli_changed()`,
    `create trigger changed_update after update on sites for each row when (current_setting('application_name', true) like 'suanli-replica:%' and to_jsonb(old) - 'last_heartbeat_at' is distinct from to_jsonb(new) - 'last_heartbeat_at') execute function suanli_changed()`,
  ],
  // Where a site's runs accept the other sites' parts of a spanning job (types.ts SpanEndpoint); null: none.
  '0011-site-span-endpoint': [`alter table sites add column span_endpoint jsonb`],
  // What each part of a spanning attempt measured, summed over its outer steps (its program reports each step through
  // the rendezvous): the measured utilization shown next to the planned one. One row per part, whatever the steps.
  '0012-span-metrics': [
    `create table span_metrics (
      job_id bigint not null references jobs (id),
      attempt integer not null,
      site_id text not null references sites (id),
      steps integer not null,
      compute_s double precision not null,
      sync_s double precision not null,
      first_loss double precision,
      last_loss double precision,
      updated_at bigint not null,
      primary key (job_id, attempt, site_id)
    )`,
    `create trigger fence before insert or update or delete on span_metrics for each statement execute function suanli_fence()`,
  ],
  // Of a part's synchronization, the seconds it waited for slower parts to finish their inner steps: what tells a slow
  // network from a slow site (steps reported before this count none).
  '0013-span-metrics-wait': [`alter table span_metrics add column wait_s double precision not null default 0`],
  // Log tails move out of the placement's row to one row per site of the attempt: an attempt across sites has a log
  // on each, and kept in one column the newest report of either replaced the other's without saying whose it was.
  // A tail kept so far moves with its attempt when the attempt was on one site; an attempt across sites loses its
  // one tail (whose site is not known). Not announced on the change feed, as the tails were not.
  '0014-placement-logs': [
    `create table placement_logs (
      job_id bigint not null,
      attempt integer not null,
      site_id text not null references sites (id),
      tail text not null,
      at bigint not null,
      primary key (job_id, attempt, site_id),
      foreign key (job_id, attempt) references placements (job_id, attempt)
    )`,
    `insert into placement_logs (job_id, attempt, site_id, tail, at)
      select p.job_id, p.attempt, min(part ->> 'siteId'), p.log_tail, p.log_at
      from placements p, jsonb_array_elements(p.parts) as part
      where p.log_tail is not null and p.log_at is not null
      group by p.job_id, p.attempt, p.log_tail, p.log_at
      having count(distinct part ->> 'siteId') = 1`,
    `alter table placements drop column log_tail`,
    `alter table placements drop column log_at`,
    `create trigger fence before insert or update or delete on placement_logs for each statement execute function suanli_fence()`,
  ],
};

/** The migrations from code, not from a folder scan: the bundle and the tests see the same list. */
const provider: MigrationProvider = {
  getMigrations: () =>
    Promise.resolve(
      Object.fromEntries(
        Object.entries(MIGRATIONS).map(([name, statements]): [string, Migration] => [
          name,
          {
            async up(db: Kysely<unknown>) {
              for (const statement of statements) await sql.raw(statement).execute(db);
            },
          },
        ]),
      ),
    ),
};

/**
 * Brings the schema up to the latest migration, or up to `target` (a migration's name: what a test of the next
 * one's data starts from). Safe to call on every open, and from several processes at once on one server (Kysely's
 * Migrator takes a lock).
 */
export async function migrate(db: Kysely<Database>, target?: string): Promise<void> {
  const migrator = new Migrator({ db, provider });
  const { error } = await (target === undefined ? migrator.migrateToLatest() : migrator.migrateTo(target));
  if (error) throw error instanceof Error ? error : new Error('migration failed', { cause: error });
}
