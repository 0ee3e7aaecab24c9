import { Command } from 'commander';
import { auditInput, fetchAuditEvidence, LedgerEvidenceError, treeToKeep, type LedgerGet } from '../../ledger/audit-evidence.ts';
import { auditLedger, type EntryRef, type LedgerAudit } from '../../ledger/audit.ts';
import { keyId, noteVerifier } from '../../ledger/note.ts';
import { InvalidInputError } from '../../model/errors.ts';
import type { CheckpointResponse, LedgerResponse, WhoAmIResponse } from '../../server/schemas.ts';
import * as fmt from '../format.ts';
import { ClientError } from './errors.ts';
import type { ApiClient, Wire } from './http.ts';
import { SignatureChecks } from './signature-threads.ts';
import { ledgerStatePath, readLedgerState, recordVerified, type LogPin, type VerifiedCheckpoint } from './ledger-state.ts';
import { connect, emit, examples, withConnection, type ClientIo, type CommonFlags } from './shared.ts';

type Ledger = Wire<typeof LedgerResponse>;

function ledgerText(l: Ledger): string {
  const orgs = l.rows.length === 0 ? 'no GPU-hours recorded for these orgs yet' : fmt.columns([
    ['org', 'GPU type', 'contributed', 'consumed', 'own use', 'credits'],
    ...l.rows.map((r) => [r.org_id, r.gpu_type, fmt.hours(r.contributed_gpu_h), fmt.hours(r.consumed_gpu_h), fmt.hours(r.own_gpu_h), fmt.hours(r.credits_gpu_h)]),
  ]);
  const pool = l.pool.length === 0 ? 'none yet' : fmt.columns([
    ['GPU type', 'contributed', 'consumed', 'own use'],
    ...l.pool.map((r) => [r.gpu_type, fmt.hours(r.contributed_gpu_h), fmt.hours(r.consumed_gpu_h), fmt.hours(r.own_gpu_h)]),
  ]);
  return `${orgs}\n\npool-wide totals\n${pool}`;
}

/**
 * `suanli ledger` shows the ledger as the server computes it (`show`, the default);
 * `suanli ledger verify` checks it against the usage log instead of trusting it.
 */
export function ledgerCommand(io: ClientIo): Command {
  const ledger = new Command('ledger')
    .description("the ledger: GPU-hours each org contributed to and consumed from the pool, and the credits that result; `verify` checks it against the signed usage log")
    .addHelpText('after', examples('suanli ledger', 'suanli ledger --org acme --json', 'suanli ledger verify'));
  const show = withConnection(new Command('show'))
    .description('GPU-hours each org contributed to and consumed from the pool, per GPU type, and the credits that result (an org sees its own rows and pool-wide totals); the default')
    .option('--org <org>', "only this org's rows")
    .addHelpText('after', examples('suanli ledger', 'suanli ledger show --org acme --json'))
    .action(async (o: CommonFlags & { org?: string }) => {
      const l = await (await connect(o)).get<Ledger>('/ledger', { org: o.org });
      emit(io, o, l, () => ledgerText(l));
    });
  // A default subcommand rather than an action on `ledger` itself: then `ledger verify --json` reaches verify's
  // options (a parent with options of the same names would take them), and `suanli ledger --org x` still shows.
  ledger.addCommand(show, { isDefault: true });
  ledger.addCommand(verifyCommand(io));
  return ledger;
}

// ---- suanli ledger verify ------------------------------------------------------------------

type Checkpoint = Wire<typeof CheckpointResponse>;
/** What did not hold: the audit's failures, and the CLI's own (the server showing another log key). */
type Problem = { readonly reason: string; readonly detail: string; readonly entry?: EntryRef };
type VerifyFlags = CommonFlags & { org?: string; logKey?: string };

/** Problems the table lists; --json lists them all. */
const PROBLEMS_SHOWN = 12;
/** Records written by the control plane alone that the table names. */
const ALONE_SHOWN = 5;

function verifyCommand(io: ClientIo): Command {
  return withConnection(new Command('verify'))
    .description("check the ledger yourself: the usage log's latest checkpoint against the pinned log key, its consistency with the last one you verified, every record of your org in it and signed, and the API's credits against those records; exit 0 when all holds, 1 naming what does not")
    .option('--org <org>', 'the org whose ledger to verify (the admin must say; others verify their own)')
    .option('--log-key <key>', "pin this log verifier key (as `suanli serve` prints it) instead of the one the server shows at the first verify")
    .addHelpText('after', `
The first verify of a server pins the log key it shows (and says so): compare it with
the key the pool's operator published, or give it with --log-key. Later runs check the
latest checkpoint against the pinned key and prove it extends the last one verified
(kept in ledger-state.json beside the saved login). What this cannot check: that a run
a site signed did real work; records the control plane wrote alone are listed.
${examples(
  'suanli ledger verify',
  'suanli ledger verify --log-key "suanli-ledger+3f2a9c1e+AR1a…"   # pin the key the operator published',
  'suanli ledger verify --org beta --json                        # the admin, for one org',
)}`)
    .action((o: VerifyFlags) => verify(io, o));
}

async function verify(io: ClientIo, o: VerifyFlags): Promise<void> {
  const report = await verifyLedger(await connect(o), { org: o.org, logKey: o.logKey, statePath: ledgerStatePath(), progress: progressLine(io), notice: (s) => io.err(`suanli: NOTE: ${s}`) });
  emit(io, o, verifyJson(report), () => verifyText(report));
  const { problems, org } = report;
  if (problems.length > 0) {
    const [first] = problems;
    throw new ClientError('not_verified', `the ledger of ${org} did not verify: ${first?.detail ?? ''}${problems.length > 1 ? ` (and ${fmt.plural(problems.length - 1, 'more problem')})` : ''}`);
  }
}

/** How `verifyLedger` runs: whose ledger, which key to pin, where the state is kept, and where progress and notices go. */
export interface VerifyOptions {
  /** The org whose ledger to verify (default: the token's). */
  readonly org?: string | undefined;
  /** A log verifier key to pin instead of the one the server shows at the first verify. */
  readonly logKey?: string | undefined;
  /** The ledger state file (`ledgerStatePath()` for the CLI). */
  readonly statePath: string;
  readonly progress?: (line: string, last?: boolean) => void;
  /** What the member should know: a key pinned on first use, or replaced. */
  readonly notice?: (text: string) => void;
}

/**
 * What `suanli ledger verify` does, without printing: the latest checkpoint against the
 * pinned key, its consistency with the last one verified, every record of the org with
 * its inclusion proof and signatures, and the API's credits against them (the audit,
 * src/ledger/audit.ts). The checkpoint is remembered when it holds. Throws only when
 * the server cannot be asked (or the org is not said); what did not hold is the report's.
 */
export async function verifyLedger(api: ApiClient, o: VerifyOptions): Promise<VerifyReport> {
  const server = api.server;
  const started = Date.now();
  const progress = o.progress ?? (() => {});
  const notice = o.notice ?? (() => {});

  // 1. Whose ledger: the token's org, or the one the admin names.
  const me = await api.get<Wire<typeof WhoAmIResponse>>('/whoami');
  const org = o.org ?? me.org_id ?? undefined;
  if (org === undefined) throw new InvalidInputError('org', 'the admin belongs to no org', "the org whose ledger to verify, e.g. --org acme");
  const flagKey = o.logKey === undefined ? undefined : checkedLogKey(o.logKey);

  // 2. The latest checkpoint, and the log it must be a checkpoint of: the pinned one.
  const { statePath } = o;
  const saved = (await readLedgerState(statePath)).servers[server];
  const checkpoint = await api.get<Checkpoint>('/ledger/checkpoint');
  const nowIso = new Date().toISOString();
  let pin: LogPin;
  if (flagKey !== undefined) {
    pin = saved?.pin.logKey === flagKey ? saved.pin : { origin: checkpoint.origin, logKey: flagKey, pinnedAt: nowIso };
    if (saved !== undefined && saved.pin.logKey !== flagKey) notice(`the log key pinned for ${server} is replaced by --log-key: ${saved.pin.logKey} → ${flagKey}`);
  } else if (saved !== undefined) {
    pin = saved.pin;
  } else {
    pin = { origin: checkpoint.origin, logKey: checkpoint.log_key, pinnedAt: nowIso };
    notice(`first verify of ${server}: pinned the log key it shows, ${checkpoint.log_key} (origin ${checkpoint.origin}). Compare it with the key the pool's operator published; from now on a checkpoint signed by any other key fails. --log-key pins a key you got elsewhere.`);
  }
  const problems: Problem[] = [];
  if (checkpoint.log_key !== pin.logKey) problems.push({ reason: 'log_key_changed', detail: `the server shows the log key ${checkpoint.log_key}, not the pinned ${pin.logKey}: checkpoints are checked with the pinned key` });
  const last = saved?.orgs[org];

  // 3. Everything the audit checks, at the checkpoint's size (src/ledger/audit-evidence.ts: the dashboard reads the same).
  const get: LedgerGet = (path, query) => api.get<unknown>(path, query);
  // The records' site signatures checked on every core while the rest arrives (their countersignatures the audit
  // takes by inclusion: the checkpoint that holds them is signed with the same key).
  let signatures = new SignatureChecks([]);
  const evidence = await fetchAuditEvidence(get, {
    org, size: checkpoint.size, last,
    onSiteKeys: (keys) => (signatures = new SignatureChecks(keys.map((k) => k.verifierKey))),
    onNotes: (notes) => signatures.add(notes),
    onProgress: (p) => progress(`fetching ${org}'s records: ${fmt.count(p.records)} (log entry ${fmt.count(p.scanned)} of ${fmt.count(p.size)})`),
  }).catch((err: unknown) => {
    throw err instanceof LedgerEvidenceError ? new ClientError('bad_response', `the server at ${server} answered ${err.message}`, { cause: err }) : err;
  });
  const { entries } = evidence;
  progress(`checking ${fmt.plural(entries.length, 'record')} of ${org}…`);

  // 4. The audit (src/ledger/audit.ts), with Node's native Ed25519, the signatures checked on every core beforehand.
  const verifierOf = await signatures.verifierOf();
  const audit = auditLedger({ ...auditInput({ trust: { origin: pin.origin, logKey: pin.logKey }, org, last }, checkpoint.note, evidence), verifierOf });
  problems.push(...audit.failures);
  progress(`checked ${fmt.plural(entries.length, 'record')} of ${org} in ${((Date.now() - started) / 1000).toFixed(1)} s`, true);

  // 5. Remember the checkpoint when it holds (signed by the pinned key, extending the last one), even if records failed.
  let recorded: VerifiedCheckpoint | undefined;
  const kept = treeToKeep(audit);
  if (kept !== null && checkpoint.log_key === pin.logKey) {
    recorded = await recordVerified(statePath, server, org, pin, { ...kept, checkpointAt: checkpoint.at, verifiedAt: nowIso });
  }

  // 6. What holds, and what does not.
  return { server, org, checkpoint, pin, last, audit, problems, firstUse: saved === undefined && flagKey === undefined, recorded };
}

/** The --log-key value as a verifier key; InvalidInputError naming the flag otherwise. */
function checkedLogKey(key: string): string {
  try {
    noteVerifier(key.trim());
  } catch (err) {
    throw new InvalidInputError('log-key', err instanceof Error ? err.message.replace(/^verifierKey: /, '') : String(err), 'a signed-note verifier key, <name>+<hash>+<key>, as `suanli serve` prints it');
  }
  return key.trim();
}

/** One line redrawn on stderr when it is a terminal; nothing otherwise. */
function progressLine(io: ClientIo): (line: string, last?: boolean) => void {
  let drawn = 0;
  return (line, last = false) => {
    if (io.isTty !== true) return;
    io.err(`\r${line.padEnd(drawn)}${last ? '\n' : ''}`);
    drawn = last ? 0 : line.length;
  };
}

// ---- the report -------------------------------------------------------------------------

export interface VerifyReport {
  readonly server: string;
  readonly org: string;
  readonly checkpoint: Checkpoint;
  readonly pin: LogPin;
  readonly last: VerifiedCheckpoint | undefined;
  readonly audit: LedgerAudit;
  readonly problems: readonly Problem[];
  readonly firstUse: boolean;
  readonly recorded: VerifiedCheckpoint | undefined;
}

type Figures = Record<'contributed' | 'consumed' | 'own' | 'credits', number>;

/** Per GPU type, the figures the verified records add up to and those the API reports (a missing row: zeros). */
function creditsBoth(audit: LedgerAudit): { gpuType: string; log: Figures; api: Figures }[] {
  const zero: Figures = { contributed: 0, consumed: 0, own: 0, credits: 0 };
  const log = new Map(audit.credits.recomputed.map((r) => [r.gpuType, { contributed: r.contributedGpuH, consumed: r.consumedGpuH, own: r.ownGpuH, credits: r.creditsGpuH }]));
  const api = new Map<string, Figures>();
  for (const r of audit.credits.reported) {
    const a = api.get(r.gpuType) ?? { ...zero };
    api.set(r.gpuType, { contributed: a.contributed + r.contributedGpuH, consumed: a.consumed + r.consumedGpuH, own: a.own + r.ownGpuH, credits: a.credits + r.contributedGpuH - r.consumedGpuH });
  }
  return [...new Set([...log.keys(), ...api.keys()])].sort().map((gpuType) => ({ gpuType, log: log.get(gpuType) ?? zero, api: api.get(gpuType) ?? zero }));
}

function verifyJson(r: VerifyReport): unknown {
  const { audit } = r;
  const gpuH = (f: Figures) => ({ contributed_gpu_h: f.contributed, consumed_gpu_h: f.consumed, own_gpu_h: f.own, credits_gpu_h: f.credits });
  const ref = (e: EntryRef) => ({ index: e.index, job_id: e.jobId, attempt: e.attempt });
  return {
    verified: r.problems.length === 0,
    server: r.server,
    org: r.org,
    checkpoint: { origin: r.checkpoint.origin, size: r.checkpoint.size, root: r.checkpoint.root, at: r.checkpoint.at, signature_verified: audit.checkpoint !== null },
    log_key: { pinned: r.pin.logKey, origin: r.pin.origin, pinned_at: r.pin.pinnedAt, pinned_now: r.firstUse, shown: r.checkpoint.log_key },
    consistency: { status: audit.consistency, last_verified: r.last === undefined ? null : { size: r.last.size, root: r.last.root, verified_at: r.last.verifiedAt } },
    records: {
      checked: audit.entries.checked, verified: audit.entries.verified, by_site: audit.entries.bySite,
      control_plane_alone: audit.entries.controlPlaneAlone.length, control_plane_alone_entries: audit.entries.controlPlaneAlone.map(ref),
    },
    credits: creditsBoth(audit).map((c) => ({ gpu_type: c.gpuType, recomputed: gpuH(c.log), reported: gpuH(c.api) })),
    problems: r.problems.map((p) => ({ reason: p.reason, detail: p.detail, ...(p.entry === undefined ? {} : { entry: ref(p.entry) }) })),
  };
}

function verifyText(r: VerifyReport): string {
  const { audit, checkpoint: cp } = r;
  const ok = r.problems.length === 0;
  const logKeyName = (() => {
    try {
      const v = noteVerifier(r.pin.logKey);
      return keyId(v.name, v.keyHash);
    } catch {
      return r.pin.logKey;
    }
  })();
  const history = (() => {
    switch (audit.consistency) {
      case 'first': return 'first verify of this org here: nothing to compare yet';
      case 'unchanged': return `unchanged since you verified it (${fmt.timestamp(r.last?.verifiedAt ?? null)})`;
      case 'extends': return `extends the checkpoint you verified before (size ${fmt.count(r.last?.size ?? 0)}): proven`;
      case 'failed': return 'does NOT extend the checkpoint you verified before';
      case 'unchecked': return 'not checked (the checkpoint did not verify)';
    }
  })();
  const e = audit.entries;
  const alone = e.controlPlaneAlone;
  const aloneNames = alone.slice(0, ALONE_SHOWN).map((x) => `#${x.index} (job ${x.jobId ?? '?'} attempt ${x.attempt ?? '?'})`).join(', ') + (alone.length > ALONE_SHOWN ? `, … ${fmt.count(alone.length - ALONE_SHOWN)} more` : '');
  const head = fmt.sections(`ledger of ${r.org} on ${r.server}: ${ok ? 'verified' : `NOT verified (${fmt.plural(r.problems.length, 'problem')})`}`, [
    ['checkpoint', [
      ['size', `${fmt.count(cp.size)}, signed ${fmt.timestamp(cp.at)}`],
      ['root', cp.root],
      ['log key', `${logKeyName}${r.firstUse ? ' (pinned now, on first use)' : `, pinned ${fmt.timestamp(r.pin.pinnedAt)}`}: ${audit.checkpoint !== null ? 'signature verified' : 'signature NOT verified'}`],
      ['history', history],
    ]],
    ['records', [
      ['checked', `${fmt.count(e.checked)} of ${r.org} in the log, ${fmt.count(e.verified)} verified (in the tree, signed, counted once)`],
      ['signed by site', fmt.count(e.bySite)],
      ['control plane alone', alone.length === 0 ? '0' : `${fmt.count(alone.length)}, no site vouches for them: ${aloneNames}`],
    ]],
  ]);
  const both = creditsBoth(audit);
  const total = (pick: (c: (typeof both)[number]) => Figures): Figures => both.reduce((t, c) => { const f = pick(c); return { contributed: t.contributed + f.contributed, consumed: t.consumed + f.consumed, own: t.own + f.own, credits: t.credits + f.credits }; }, { contributed: 0, consumed: 0, own: 0, credits: 0 });
  const row = (gpuType: string, from: string, f: Figures) => [gpuType, from, fmt.hours(f.contributed), fmt.hours(f.consumed), fmt.hours(f.own), fmt.hours(f.credits)];
  const credits = both.length === 0 ? 'no GPU-hours for this org in the log' : fmt.columns([
    ['GPU type', 'figures of', 'contributed', 'consumed', 'own use', 'credits'],
    ...both.flatMap((c) => [row(c.gpuType, 'the records', c.log), row('', 'the API', c.api)]),
    ...(both.length > 1 ? [row('all', 'the records', total((c) => c.log)), row('', 'the API', total((c) => c.api))] : []),
  ]);
  const shown = r.problems.slice(0, PROBLEMS_SHOWN).map((p) => `  ✗ ${p.detail}`);
  const more = r.problems.length > PROBLEMS_SHOWN ? [`  … and ${fmt.plural(r.problems.length - PROBLEMS_SHOWN, 'more problem')} (--json lists them all)`] : [];
  return [head, '', 'credits', credits, ...(ok ? [] : ['', 'what did not hold', ...shown, ...more])].join('\n');
}
