/**
 * The control plane's durable state, as the server sees it. One implementation
 * (Kysely over PostgreSQL) runs on embedded PGlite or on a server through
 * DATABASE_URL; one conformance suite (store.conformance.ts) runs on both.
 *
 * Contracts every method keeps:
 * - Each call that changes state is one transaction: it happens whole or not at all.
 * - Times are epoch milliseconds from the caller's clock (the store reads no clock),
 *   so tests can drive time.
 * - Rows come back as plain objects; ids are strings.
 * - "Not found" is `null` (or `false` for changes), never an exception; broken
 *   invariants (an unknown org on insert, a duplicate id) throw StoreConflictError.
 */

import type { SpanSpec } from '../model/span.ts';
import type { ChangeHandlers, ChangeWatch } from './change-feed.ts';

export type Role = 'admin' | 'org-admin' | 'member' | 'agent';
export const ROLES: readonly Role[] = ['admin', 'org-admin', 'member', 'agent'];

export type JobState = 'pending' | 'placed' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'preempted';
export const JOB_STATES: readonly JobState[] = ['pending', 'placed', 'running', 'succeeded', 'failed', 'cancelled', 'preempted'];
export const FINAL_STATES: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled']);

export interface Org {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
}

/** An API token's identity and rights; the secret itself is stored only as a hash. */
export interface Token {
  readonly id: string;
  readonly role: Role;
  /** null only for admin tokens. */
  readonly orgId: string | null;
  /** Set only for agent tokens: the one site the agent may report for. */
  readonly siteId: string | null;
  readonly name: string;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

export interface NewToken {
  readonly id: string;
  readonly role: Role;
  readonly orgId: string | null;
  readonly siteId: string | null;
  readonly name: string;
  /** The hash of the secret (the server chooses the scheme, e.g. scrypt with salt). */
  readonly secretHash: string;
  readonly createdAt: number;
}

export interface Capacity {
  readonly gpuType: string;
  readonly nodes: number;
  readonly gpusPerNode: number;
}

/**
 * Where a site's runs accept connections from the other sites of a job that spans sites: the addresses (IP
 * literals or host names the other sites resolve) and the ports a run may listen on. A site without one takes no
 * part of such a job.
 */
export interface SpanEndpoint {
  readonly addresses: readonly string[];
  readonly ports: { readonly from: number; readonly to: number };
}

export interface WanLink {
  readonly toSite: string;
  readonly gbps: number;
  readonly latencyMs: number;
}

/** A site's share policy: what its owner lets the pool do with its GPUs (model/pool.ts SharePolicy, plus what the agent enforces). */
export interface Share {
  readonly lendFraction: number;
  readonly reclaim: boolean;
  readonly reclaimNoticeS: number;
  /** Which orgs may borrow: every org (absent, 'all'), none, or those listed. */
  readonly lendTo?: 'all' | 'none' | readonly string[];
  /** Most GPUs one borrowing org may hold at once (absent/null: no limit beyond lendFraction)… */
  readonly maxGpusPerBorrower?: number | null;
  /** …or, per org named, its own limit. */
  readonly borrowerGpuLimits?: Readonly<Record<string, number>>;
  /** Whether borrowed runs must be sandboxed by the site's agent (absent: true). */
  readonly sandboxBorrowed?: boolean;
  /** Network of a sandboxed borrowed run: none (a private loopback only) or the host's (absent: none). */
  readonly borrowedNetwork?: 'none' | 'host';
}

/** What an org may hold: sites, their declared nodes and GPUs, and jobs waiting at once. */
export interface OrgQuota {
  readonly sites: number;
  readonly nodes: number;
  readonly gpus: number;
  readonly queuedJobs: number;
}

export type SiteHealth = 'unknown' | 'up' | 'lost';

export interface Site {
  readonly id: string;
  readonly orgId: string;
  readonly name: string;
  /** One entry per GPU type the site has. */
  readonly capacity: readonly Capacity[];
  readonly pricePerGpuHour: number | null;
  readonly share: Share;
  readonly wanLinks: readonly WanLink[];
  /** Where its runs accept the other sites' parts of a spanning job (null: it takes no such part). */
  readonly spanEndpoint: SpanEndpoint | null;
  readonly health: SiteHealth;
  readonly lastHeartbeatAt: number | null;
  readonly createdAt: number;
  /**
   * What the site's agent last reported, already bounded by `capacity` when it was
   * reported (null: no report yet). The scheduler uses it, bounded again by the
   * declaration as it is now (model/capacity.ts boundCapacity).
   */
  readonly reportedCapacity: readonly Capacity[] | null;
  /** Whether the site's agent can sandbox runs, as it last said (null: it has not said). */
  readonly sandboxCapable: boolean | null;
}

export type NewSite = Omit<Site, 'health' | 'lastHeartbeatAt' | 'reportedCapacity' | 'sandboxCapable' | 'spanEndpoint'> & { readonly spanEndpoint?: SpanEndpoint | null };

/** What an agent's heartbeat says of its site beyond being alive. */
export interface SiteReport {
  readonly capacity?: readonly Capacity[];
  readonly sandboxCapable?: boolean;
}
/** The fields to change; `share` may name only some of the policy's fields, merged into the stored policy in the same statement. */
export type SitePatch = Partial<Pick<Site, 'name' | 'capacity' | 'pricePerGpuHour' | 'wanLinks' | 'spanEndpoint'>> & { readonly share?: Partial<Site['share']> };

/** What a job asks for; `plan` keeps the planner request it was sized from, if any. */
export interface JobDemand {
  readonly gpus: number;
  readonly gpuTypes: readonly string[] | null;
  readonly gang: boolean;
  readonly estimateS: number;
  readonly priority: number;
  readonly preemptible: boolean;
  readonly checkpointIntervalS: number | null;
  /** The command an executor runs (argv), if any. */
  readonly command: readonly string[] | null;
  /**
   * How many times a failed run is started again (a non-zero exit, killed outside
   * Suanli, or ended by its engine); absent in jobs stored before it existed: 0.
   * Runs lost with their site, or preempted, come back regardless and count not.
   */
  readonly maxRetries?: number;
  readonly plan: Readonly<Record<string, unknown>> | null;
  /** Set when the job may span sites (absent in jobs stored before it existed). */
  readonly span?: SpanSpec;
}

export interface Job {
  readonly id: string;
  readonly orgId: string;
  readonly name: string;
  readonly state: JobState;
  readonly demand: JobDemand;
  readonly submittedBy: string;
  readonly submittedAt: number;
  readonly updatedAt: number;
  /** How many times the job has been placed (1 after the first placement). */
  readonly attempts: number;
  /** Why the job waits, as the scheduler core explained it at the last pass (null once placed). */
  readonly diagnosis: Readonly<Record<string, unknown>> | null;
}

export interface NewJob {
  readonly orgId: string;
  readonly name: string;
  readonly demand: JobDemand;
  readonly submittedBy: string;
  readonly submittedAt: number;
  /** A retried submission with the same (org, key) returns the first job, never a second. */
  readonly idempotencyKey: string | null;
}

export interface SubmitResult {
  readonly job: Job;
  /** false when the idempotency key matched an earlier submission. */
  readonly created: boolean;
}

export interface JobFilter {
  /** Restrict to one org (the server sets this for every non-admin caller). */
  readonly orgId?: string;
  readonly states?: readonly JobState[];
  /** Jobs whose id or name holds this text, in any case (taken literally: `%` and `_` are no wildcards); empty: every job. */
  readonly search?: string;
  /** `oldest` (the default) or `newest` first: ids sort in submission order. */
  readonly order?: JobOrder;
  /** Return the jobs that come after this one in `order` (a cursor: the last id of the previous page). */
  readonly after?: string;
  readonly limit: number;
}

export type JobOrder = 'oldest' | 'newest';
export const JOB_ORDERS: readonly JobOrder[] = ['oldest', 'newest'];

export interface PlacementPart {
  readonly siteId: string;
  readonly gpuType: string;
  readonly gpus: number;
  readonly nodes: number;
  /**
   * For a placement on several sites: when this site's agent reported its part
   * started (absent: not yet). The job runs once every part has.
   */
  readonly startedAt?: number;
  /**
   * For a placement on several sites: when this site's agent reported its part
   * succeeded (absent: not yet). The job succeeds once every part has.
   */
  readonly succeededAt?: number;
}

/** The newest lines of one site's run of an attempt (job, attempt, site), as that site's agent sent them at `at`. */
export interface LogTail {
  readonly jobId: string;
  readonly attempt: number;
  readonly siteId: string;
  readonly tail: string;
  readonly at: number;
}

/** One outer step of one part of a spanning attempt, as its program measured it. */
export interface SpanStep {
  /** 1, 2, …: each step once, in order. */
  readonly step: number;
  readonly computeS: number;
  readonly syncS: number;
  /** Of syncS, the seconds spent waiting for slower parts to finish their inner steps (0 when not measured). */
  readonly waitS: number;
  readonly loss: number | null;
  readonly at: number;
}

/** A part's outer steps so far, summed. */
export interface SpanMetrics {
  readonly jobId: string;
  readonly attempt: number;
  readonly siteId: string;
  readonly steps: number;
  readonly computeS: number;
  readonly syncS: number;
  readonly waitS: number;
  readonly firstLoss: number | null;
  readonly lastLoss: number | null;
  readonly updatedAt: number;
}

/** An event that changes no state: it records what happened to a placement's parts. */
export interface PartsEvent {
  readonly at: number;
  readonly type: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface Placement {
  readonly jobId: string;
  readonly attempt: number;
  readonly parts: readonly PlacementPart[];
  readonly placedAt: number;
  readonly startedAt: number | null;
  readonly endedAt: number | null;
}

/** When a job was submitted and when it was first placed: how long it waited in the queue. */
export interface FirstPlacement {
  readonly orgId: string;
  readonly submittedAt: number;
  readonly placedAt: number;
}

export interface JobEvent {
  readonly jobId: string;
  /** 1, 2, 3… per job; the history is append-only. */
  readonly seq: number;
  readonly at: number;
  readonly type: string;
  readonly fromState: JobState | null;
  readonly toState: JobState | null;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** A state change: it applies only when the job is currently in one of `from`. */
export interface Transition {
  readonly jobId: string;
  readonly from: readonly JobState[];
  readonly to: JobState;
  readonly at: number;
  readonly type: string;
  readonly detail?: Readonly<Record<string, unknown>>;
  /** Only while the job is at this attempt: what a run reported applies to its own attempt, never to the next one. */
  readonly attempt?: number;
  /**
   * With to = 'placed': the new placement (attempts is incremented). Moving to
   * 'running' sets the current placement's startedAt; leaving placed/running ends it.
   */
  readonly placement?: readonly PlacementPart[];
  /** With to = 'pending' or while pending: the scheduler's latest diagnosis. */
  readonly diagnosis?: Readonly<Record<string, unknown>> | null;
}

import type { RecordWriter, UsageOutcome } from '../ledger/usage-record.ts';

export type { UsageOutcome } from '../ledger/usage-record.ts';

/**
 * GPU time one org's job used on one site, as the control plane saw it: consumption
 * for the job's org, contribution for the site's. It counts in the ledger once it is
 * in the usage log (`logUsage`), signed by the site's agent or, failing that, by the
 * control plane alone; until then it is pending.
 */
export interface LedgerEntry {
  readonly jobId: string;
  readonly attempt: number;
  readonly siteId: string;
  readonly consumerOrgId: string;
  readonly providerOrgId: string;
  readonly gpuType: string;
  readonly gpus: number;
  /** When the part started and ended (epoch ms); gpuSeconds = gpus × (at − startAt) / 1000. */
  readonly startAt: number;
  readonly at: number;
  readonly gpuSeconds: number;
  readonly outcome: UsageOutcome;
}

/** A ledger entry not yet in the usage log, with its id. */
export interface PendingUsage extends LedgerEntry {
  readonly id: number;
}

/** Who vouches for a logged usage record: the site's agent signed it, or the control plane wrote it alone. */
export type UsageWriter = RecordWriter;

/** One entry of the usage log: its index, the pending entry it logs, and the signed note the log's leaf is. */
export interface LogEntry {
  readonly index: number;
  readonly entryId: number;
  /** The signed note (the record's text and its signatures): the bytes of the Merkle leaf, as UTF-8. */
  readonly note: string;
  readonly writer: UsageWriter;
  readonly loggedAt: number;
}

/** The hash of a complete subtree of the log: leaves [index·2^level, (index+1)·2^level). */
export interface LogNode {
  readonly level: number;
  readonly index: number;
  readonly hash: Uint8Array;
}

/** A signed checkpoint of the log at `size`, and its witnesses' cosignature lines. */
export interface Checkpoint {
  readonly size: number;
  readonly note: string;
  readonly at: number;
}

/** A site's public key for signing usage records (a signed-note verifier key). */
export interface SiteKey {
  readonly siteId: string;
  readonly keyHash: string;
  /** `<name>+<hash>+<base64>`, the signed-note verifier key. */
  readonly verifierKey: string;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

/**
 * A witness's cosigner key (c2sp.org/tlog-cosignature), registered by a member of its
 * org: the control plane accepts and counts cosignatures of the log's checkpoints by it.
 */
export interface WitnessKey {
  /** The key's name, as its cosignature lines name it. */
  readonly name: string;
  /** The key hash, 8 hex digits: with the name, the key a cosignature line says signed it. */
  readonly keyHash: string;
  readonly orgId: string;
  /** `<name>+<hash>+<base64>`, the cosigner verifier key. */
  readonly verifierKey: string;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

export interface LedgerRow {
  readonly orgId: string;
  readonly gpuType: string;
  /** GPU-hours other orgs used on this org's sites. */
  readonly contributedGpuH: number;
  /** GPU-hours this org used on other orgs' sites. */
  readonly consumedGpuH: number;
  /** GPU-hours this org used on its own sites. */
  readonly ownGpuH: number;
  /** contributed − consumed: positive means the pool owes this org. */
  readonly creditsGpuH: number;
}

/** One org's ledger over one time bucket, summed over GPU types (the counting rules of LedgerRow). */
export interface LedgerPoint {
  readonly orgId: string;
  /** The bucket's start, epoch ms: floor(at / bucketMs) × bucketMs of the entries it sums. */
  readonly at: number;
  readonly contributedGpuH: number;
  readonly consumedGpuH: number;
  readonly ownGpuH: number;
}

/** Which entries a ledger query counts, by the time they were booked (`LedgerEntry.at`, epoch ms): from `from` on, before `to`; either end may be open. */
export interface BookedRange {
  readonly from?: number | undefined;
  readonly to?: number | undefined;
}

/** One job's usage of one site in the ledger (its entries in the usage log summed), with the job's name. */
export interface LedgerJobUsage {
  readonly jobId: string;
  readonly jobName: string;
  readonly siteId: string;
  readonly consumerOrgId: string;
  readonly providerOrgId: string;
  readonly gpuType: string;
  readonly gpuH: number;
  /** When its last entry was booked, epoch ms. */
  readonly lastAt: number;
}

export interface Store {
  readonly kind: 'pglite' | 'postgres';

  /**
   * Watches the changes other sessions of replicas commit (change-feed.ts): a server's store only; the embedded one
   * rejects (it serves one process).
   */
  watchChanges(handlers: ChangeHandlers): Promise<ChangeWatch>;

  createOrg(org: Org): Promise<Org>;
  getOrg(id: string): Promise<Org | null>;
  listOrgs(): Promise<Org[]>;
  /** The quotas the admin set for the org (those not set are absent: the server's defaults apply). */
  orgQuota(orgId: string): Promise<Partial<OrgQuota>>;
  /** Sets the named quotas (merged into those set before; null removes one); false when the org does not exist. */
  setOrgQuota(orgId: string, patch: { readonly [K in keyof OrgQuota]?: number | null }): Promise<boolean>;

  createToken(token: NewToken): Promise<Token>;
  /** The token and its stored hash, for verification; null if unknown. */
  findToken(id: string): Promise<{ token: Token; secretHash: string } | null>;
  listTokens(orgId?: string): Promise<Token[]>;
  /** The tokens of these ids that exist (revoked ones too), in any order: one statement, however many. */
  tokensById(ids: readonly string[]): Promise<Token[]>;
  revokeToken(id: string, at: number): Promise<boolean>;
  countTokens(): Promise<number>;

  createSite(site: NewSite): Promise<Site>;
  getSite(id: string): Promise<Site | null>;
  listSites(orgId?: string): Promise<Site[]>;
  updateSite(id: string, patch: SitePatch): Promise<Site | null>;
  /** Records that the site's agent reported at `at`, with what it reported (kept apart from the declared capacity). */
  heartbeat(id: string, at: number, report?: SiteReport): Promise<boolean>;
  /**
   * Records many sites' heartbeat times at once (what the server keeps in memory and writes in batches); a time never
   * moves back, and unknown sites are skipped. Resolves with how many sites were updated.
   */
  touchSites(times: readonly { readonly siteId: string; readonly at: number }[]): Promise<number>;
  /** Every site's last heartbeat time as written (sites never heard from are left out). */
  siteHeartbeats(): Promise<{ siteId: string; at: number }[]>;

  /**
   * Takes the leader lease for `holder` (reachable at `url`) for `ttlMs` when no one holds it or its holder let it
   * expire (by the database's clock), under the lock every fenced write takes shared: a write the old holder checked
   * before commits before this. If that lock is held past a few seconds by a holder whose lease expired (a paused
   * process, mid-transaction), that holder's sessions are ended. Resolves with the lease as it stands after, held by
   * `holder` or not.
   */
  takeLease(holder: string, url: string, ttlMs: number): Promise<Lease>;
  /** Extends `holder`'s lease to `ttlMs` from now (the database's clock); false when it holds it no more. */
  renewLease(holder: string, ttlMs: number): Promise<boolean>;
  /** The lease as it stands; null when none was ever taken. */
  lease(): Promise<Lease | null>;
  setSiteHealth(id: string, health: SiteHealth): Promise<boolean>;

  /** All in one transaction, in order; a batch is how the server commits many submissions at once. */
  submitJobs(jobs: readonly NewJob[]): Promise<SubmitResult[]>;
  getJob(id: string): Promise<Job | null>;
  listJobs(filter: JobFilter): Promise<Job[]>;
  /** Jobs not yet in a final state (of those `ids`, when given), in submission order: what the live scheduler reloads on start. */
  activeJobs(ids?: readonly string[]): Promise<Job[]>;
  /**
   * Applies the transitions in one transaction, each only if its job is in one of
   * its `from` states, appending one event per applied transition; and writes the
   * `ledger` entries, those of a job that a transition names only if one of its
   * transitions applied (a run ends once, however many report its end at once).
   * Returns, per transition, the job after it, or null when it did not apply.
   */
  transition(changes: readonly Transition[], ledger?: readonly LedgerEntry[]): Promise<(Job | null)[]>;
  /** Updates waiting jobs' diagnoses without events (they change every pass). */
  setDiagnoses(diagnoses: ReadonlyMap<string, Readonly<Record<string, unknown>> | null>): Promise<void>;
  placements(jobId: string): Promise<Placement[]>;
  /** The latest placement (attempt `attempts`) of each of these jobs that has one, in any order: one statement for a page of jobs. */
  latestPlacements(ids: readonly string[]): Promise<Placement[]>;
  /** The current placement of every placed or running job (of those `ids`, when given). */
  activePlacements(ids?: readonly string[]): Promise<Placement[]>;
  events(jobId: string): Promise<JobEvent[]>;
  /**
   * Replaces the parts of a job's current placement, if the job is placed or running
   * at `attempt` and the parts are still `expected` (compare and set: two agents
   * reporting at once cannot lose each other's change), appending `event` and the
   * ledger entries, in one transaction. False, changing nothing, otherwise.
   */
  updateParts(jobId: string, attempt: number, expected: readonly PlacementPart[], parts: readonly PlacementPart[], event: PartsEvent, ledger?: readonly LedgerEntry[]): Promise<boolean>;
  /** Adds a part's outer step to its sums, if it is the next one (steps so far + 1); false, changing nothing, otherwise (a repeat, a gap). */
  addSpanStep(jobId: string, attempt: number, siteId: string, step: SpanStep): Promise<boolean>;
  /** The sums of every part of the job's attempts, by attempt then site. */
  spanMetrics(jobId: string): Promise<SpanMetrics[]>;
  /** Appends an event that changes nothing else (a spanning job's new membership) if the job is placed or running at `attempt`; false otherwise. */
  addEvent(jobId: string, attempt: number, event: PartsEvent): Promise<boolean>;
  /**
   * Keeps the latest log tail of each site's run of a job's attempt given (replacing that site's last; the last
   * given wins), in one statement; per tail, false when there is no such placement or the site has no part in it.
   * A site's tail stays when its part leaves the placement (a shrink): it is where that part's log ended.
   */
  setLogTails(tails: readonly LogTail[]): Promise<boolean[]>;
  /** The log tails of every attempt of the job, by attempt then site id. */
  logTails(jobId: string): Promise<LogTail[]>;

  /**
   * Ledger entries of the site (or the job) not yet in the usage log, oldest first, at
   * most `limit`; or every site's pending entries that ended before `endedBefore`; or those
   * among `ids` (of the site, when given: what its agent signed).
   */
  pendingUsage(query: { readonly siteId: string; readonly limit: number } | { readonly endedBefore: number; readonly limit: number } | { readonly jobId: string; readonly limit: number } | { readonly siteId?: string; readonly ids: readonly number[] }): Promise<PendingUsage[]>;
  /** The sites that have usage entries not yet logged, each once. */
  sitesWithPendingUsage(): Promise<string[]>;
  /**
   * Appends entries to the usage log at indices `firstIndex`, `firstIndex + 1`, … with
   * the complete-subtree hashes they finish, in one transaction. The log must hold
   * exactly `firstIndex` entries and each ledger entry must still be pending, else
   * StoreConflictError and nothing is written: one writer, no gaps, no entry twice.
   */
  appendLog(firstIndex: number, entries: readonly Omit<LogEntry, 'index'>[], nodes: readonly LogNode[]): Promise<void>;
  /** Entries in the log. */
  logSize(): Promise<number>;
  /** Log entries [from, to), in order. */
  logEntries(from: number, to: number): Promise<LogEntry[]>;
  /** Log entries that concern the org (as consumer or provider), from index `from`, at most `limit`. */
  logEntriesOf(orgId: string, from: number, limit: number): Promise<LogEntry[]>;
  /** The stored hashes of the complete subtrees asked for; a missing one is an error (StoreConflictError). */
  logNodes(ids: readonly { readonly level: number; readonly index: number }[]): Promise<LogNode[]>;
  saveCheckpoint(checkpoint: Checkpoint): Promise<void>;
  /** The checkpoint of the largest size, or of `size`; null when there is none. */
  checkpoint(size?: number): Promise<Checkpoint | null>;
  /** Keeps a witness's cosignature line of the checkpoint at `size` (its latest replaces an earlier one); false without that checkpoint. */
  addCosignature(size: number, witness: string, line: string, at: number): Promise<boolean>;
  cosignatures(size: number): Promise<{ witness: string; line: string; at: number }[]>;
  addSiteKey(key: Omit<SiteKey, 'revokedAt'>): Promise<void>;
  siteKeys(siteId?: string): Promise<SiteKey[]>;
  revokeSiteKey(siteId: string, keyHash: string, at: number): Promise<boolean>;
  /** Registers a witness key; StoreConflictError (`witness_keys_pkey`) when its name and hash are registered already, revoked or not. */
  addWitnessKey(key: Omit<WitnessKey, 'revokedAt'>): Promise<void>;
  /** Witness keys, revoked ones too, oldest first; or one org's. */
  witnessKeys(orgId?: string): Promise<WitnessKey[]>;
  /** Revokes a witness key (the first revocation's time stays); false when there is no such key. */
  revokeWitnessKey(name: string, keyHash: string, at: number): Promise<boolean>;

  /**
   * Ledger totals per org and GPU type, from the entries in the usage log, optionally for one org only,
   * and optionally from its first `logSize` entries only: the ledger as of the checkpoint of that size;
   * with `range`, only the entries booked in it.
   */
  ledger(orgId?: string, logSize?: number, range?: BookedRange): Promise<LedgerRow[]>;
  /**
   * The ledger over time, from the entries in the usage log: per org and bucket of `bucketMs` (a whole number of ms ≥ 1,
   * else InvalidInputError), the sums `ledger` would give for the entries booked
   * (`LedgerEntry.at`) in that bucket, over every GPU type. Only buckets an org has
   * entries in; with `orgId`, only that org's points. Sorted by bucket, then by org
   * bytewise: the same answer on PGlite and on any PostgreSQL server. With `range`, only the entries booked in it.
   */
  ledgerHistory(bucketMs: number, orgId?: string, range?: BookedRange): Promise<LedgerPoint[]>;
  /**
   * The jobs behind the ledger: each job's GPU-hours per site and GPU type, from the entries in the usage log
   * booked in `range`; with `orgId`, only usage it consumed or provided. Newest first (by the last entry),
   * then by job and site; at most `limit` rows.
   */
  ledgerJobs(orgId: string | undefined, range: BookedRange, limit: number): Promise<LedgerJobUsage[]>;

  /**
   * Jobs first placed at or after `since` (ms; a later attempt after a requeue is not a first placement),
   * with their org, submission and first placement times: what the pool's queue-wait figures are made of.
   * In no particular order.
   */
  firstPlacements(since: number): Promise<FirstPlacement[]>;

  close(): Promise<void>;
}

/**
 * An insert broke a uniqueness or reference rule (duplicate id, unknown org): the
 * rule's name (`orgs_pkey`, `tokens_site_id_fkey`) and, when the database says, the
 * value of the key that broke it (`acme`). The message is the database's own text,
 * for logs; the API says it in its own words (src/server/errors.ts).
 */
/**
 * Whether `err` is a write refused because this replica no longer holds the leader lease
 * (another took it over: this one was paused or cut off past its lease). Nothing of the
 * write happened. (The fence is a trigger of the schema: migrations.ts, 0009.)
 */
export const isFencedError = (err: unknown): boolean => (err as { code?: unknown } | null)?.code === 'SLF01';

/** The leader lease among replicas (several `suanli serve` on one PostgreSQL server). */
export interface Lease {
  /** The replica that holds it (its id, random per process). */
  readonly holder: string;
  /** Where the other replicas reach it (they forward requests there). */
  readonly url: string;
  /** The fencing token: one more at every change of holder. */
  readonly epoch: number;
  /** Until when it holds, epoch ms on the database's clock. */
  readonly expiresAt: number;
}

export class StoreConflictError extends Error {
  override readonly name = 'StoreConflictError';
  constructor(message: string, readonly constraint: string, readonly value?: string) {
    super(message);
  }
}
