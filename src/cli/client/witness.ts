import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { openCheckpoint, type Checkpoint } from '../../ledger/checkpoint.ts';
import { cosignatureSigner } from '../../ledger/cosignature.ts';
import { fromBase64, toBase64, utf8 } from '../../ledger/encoding.ts';
import { noteVerifier, signNote } from '../../ledger/note.ts';
import { treeName, witnessProofNeeds, witnessVerdict, type CosignedTree } from '../../ledger/witness.ts';
import { InvalidInputError, isSuanliError } from '../../model/errors.ts';
import { visibleLine } from '../../model/text.ts';
import type { CheckpointResponse, CosignatureResponse, ProofResponse, WhoAmIResponse, WitnessResponse, WitnessSummary } from '../../server/schemas.ts';
import * as parse from '../parse.ts';
import { ClientError, isClientError } from './errors.ts';
import type { ApiClient, Wire } from './http.ts';
import { connect, emit, examples, withConnection, type ClientIo, type CommonFlags } from './shared.ts';
import { readState, statePath, witnessDir, witnessKey, writeEvidence, writeState, type WitnessState } from './witness-files.ts';

/**
 * `suanli ledger witness`: a member's witness of the usage log. Each round it
 *
 *   1. registers its cosigner key for its org (made at its first run; registering again is a no-op);
 *   2. fetches the latest checkpoint and checks the log's signature with the pinned log key;
 *   3. judges it against the last checkpoint it cosigned on this server (src/ledger/witness.ts),
 *      with the log's consistency proof from that size;
 *   4. only then keeps it as its last cosigned (before the cosignature leaves), cosigns and posts.
 *
 * A split view — a checkpoint the log signed that cannot extend one this witness
 * cosigned — is reported loudly with both checkpoints kept as evidence, and from then
 * on this witness cosigns nothing more from that server.
 */

interface WitnessFlags extends CommonFlags {
  readonly once?: boolean;
  readonly every?: string;
  readonly rounds?: string;
  readonly logKey?: string;
  readonly dir?: string;
  readonly name?: string;
  readonly org?: string;
}

type CheckpointAnswer = Wire<typeof CheckpointResponse>;
type Summary = Wire<typeof WitnessSummary>;

/** What one round did, as --json prints it. */
export interface WitnessReport {
  readonly server: string;
  readonly origin: string;
  readonly log_key: string;
  readonly witness: string;
  readonly outcome: 'cosigned' | 'already_cosigned' | 'split_view';
  /** How the checkpoint relates to the last one cosigned here. */
  readonly consistency: 'first_use' | 'unchanged' | 'proved' | 'broken';
  readonly checkpoint: { readonly size: number; readonly root: string };
  readonly previous: { readonly size: number; readonly root: string } | null;
  /** Member orgs that witnessed the checkpoint, as the control plane counts them; null on a split view. */
  readonly witnesses: Summary | null;
  /** The evidence file of a split view. */
  readonly evidence: string | null;
  readonly detail: string;
}

/** What every round needs: the server, the witness's key and where it keeps its state. */
interface Witness {
  readonly io: ClientIo;
  readonly api: ApiClient;
  readonly dir: string;
  readonly signerKey: string;
  readonly verifierKey: string;
  /** `<name>+<hash>`, as its cosignature lines and the API name it. */
  readonly id: string;
  readonly org: string | undefined;
  readonly logKeyFlag: string | undefined;
  /** --json: a split view's report is printed on stdout too, before the error. */
  readonly json: boolean;
}

export function witnessCommand(io: ClientIo): Command {
  return withConnection(new Command('witness'))
    .description("witness the usage log: check that the latest checkpoint extends the last one this witness cosigned, then cosign it; report a split view loudly, keeping both checkpoints as evidence")
    .option('--once', 'one round, then exit (the default): for cron')
    .option('--every <duration>', 'keep witnessing, a round every DURATION (30s, 5m); only a split view stops it')
    .option('--rounds <n>', 'with --every, stop after N rounds')
    .option('--log-key <key>', "the log's verifier key to trust (default: the one the server names at the first run, pinned from then on)")
    .option('--dir <dir>', 'where the witness keeps its key, what it cosigned, and evidence (default: witness/ beside the config file)')
    .option('--name <name>', "the witness key's name when the first run makes it (default: witness.<org>)")
    .option('--org <org>', 'the org the witness belongs to (an admin token must say)')
    .addHelpText('after', `
The witness key (a C2SP cosigner key) is made at the first run in the witness directory
(mode 0600) and registered for the token's org. For each server it keeps the log key it
pinned and the last checkpoint it cosigned; a checkpoint that does not extend that one is
never cosigned. Exit codes: 0 cosigned (or cosigned already), 1 a split view, a refused
checkpoint or a failure, 2 bad usage.
${examples(
  'suanli ledger witness --once                          # one round, e.g. from cron: */5 * * * *',
  'suanli ledger witness --every 1m                      # keep witnessing',
  'suanli ledger witness --once --log-key "suanli-ledger+caa09f01+AR/g…"   # pin the log key you were given',
  'suanli ledger witness --once --json --dir /var/lib/suanli-witness',
)}`)
    .action(async (_flags: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<WitnessFlags>();
      if (o.once === true && o.every !== undefined) throw new InvalidInputError('every', 'cannot be given with --once', 'either --once or --every DURATION');
      const everyS = o.every === undefined ? undefined : parse.duration('every', o.every);
      const rounds = o.rounds === undefined ? Infinity : parse.integer('rounds', o.rounds);
      if (o.logKey !== undefined) logVerifier(o.logKey, 'log-key');
      let w: Witness | undefined;
      for (let round = 1; ; round++) {
        try {
          w ??= await start(io, o);
          const report = await witnessRound(w);
          emit(io, o, report, () => reportText(report), everyS === undefined ? 2 : 0);
        } catch (err) {
          // Looping, a round that fails is reported and the next one tries again; a split view, bad usage, a bug or the last round's failure ends it.
          if (everyS === undefined || !isClientError(err) || err.usage || err.code === 'split_view' || round >= rounds) throw err;
          io.err(`suanli: round ${round}: ${visibleLine(err.message)}; trying again in ${o.every ?? ''}`);
        }
        if (everyS === undefined || round >= rounds) return;
        await sleep(everyS * 1000);
      }
    });
}

/** Connects, learns the token's org, and loads (or makes) the witness key. */
async function start(io: ClientIo, o: WitnessFlags): Promise<Witness> {
  const api = await connect(o);
  const me = await api.get<Wire<typeof WhoAmIResponse>>('/whoami');
  const org = me.org_id ?? o.org;
  if (org === undefined) throw new InvalidInputError('org', 'an admin token must say which org the witness belongs to', 'an org id');
  if (me.role === 'agent') throw new ClientError('not_logged_in', 'an agent token cannot witness the log: use a member token of the org (`suanli token create --role member`)');
  const dir = witnessDir(o.dir);
  const key = await witnessKey(dir, () => Promise.resolve(o.name ?? `witness.${org}`));
  if (key.created) io.err(`made the witness key ${keyOf(key.verifierKey)} in ${key.path}`);
  return { io, api, dir, signerKey: key.signerKey, verifierKey: key.verifierKey, id: keyOf(key.verifierKey), org: me.org_id === null ? org : undefined, logKeyFlag: o.logKey, json: o.json === true };
}

/** One round: register, fetch, judge, keep, cosign, post. Throws `split_view` or `checkpoint_refused` when it does not cosign. */
export async function witnessRound(w: Witness): Promise<WitnessReport> {
  const { api, io } = w;
  const registered = await api.request<Wire<typeof WitnessResponse>>('POST', '/ledger/witnesses', { body: { verifier_key: w.verifierKey, ...(w.org === undefined ? {} : { org_id: w.org }) } });
  if (registered.status === 201) io.err(`registered the witness key ${w.id} for org ${registered.body.org_id} on ${api.server}`);
  const path = statePath(w.dir, api.server);
  const state = await readState(path);
  if (state !== null && state.splitView !== null) {
    throw new ClientError('split_view', `SPLIT VIEW found earlier on ${api.server}: the evidence is in ${state.splitView}. This witness cosigns nothing more from this log; once the matter is settled, move ${path} away to start again`);
  }
  const answer = await api.get<CheckpointAnswer>('/ledger/checkpoint');
  const logKey = pinnedLogKey(w, state, answer, path);
  const origin = state?.origin ?? answer.origin;
  const opened = openCheckpoint(utf8(answer.note), { origin, log: logVerifier(logKey, 'log-key') });
  if (!opened.ok) {
    const renamed = answer.log_key === logKey ? '' : `; the server names the log key ${answer.log_key}, this witness pinned ${logKey}`;
    throw new ClientError('checkpoint_refused', `not cosigned: the checkpoint ${api.server} shows does not verify: ${opened.detail}${renamed}`);
  }
  const seen = opened.checkpoint;
  const cosignedBefore = state?.cosigned ?? null;
  const last: CosignedTree | null = cosignedBefore === null ? null : { size: cosignedBefore.size, rootHash: fromBase64(cosignedBefore.root) ?? new Uint8Array() };
  const needs = witnessProofNeeds(last, seen);
  const proof = needs === null ? [] : (await api.get<Wire<typeof ProofResponse>>('/ledger/proof/consistency', needs)).hashes.map((h) => fromBase64(h) ?? new Uint8Array());
  const verdict = witnessVerdict(last, seen, proof);
  const base = { server: api.server, origin, log_key: logKey, witness: w.id, checkpoint: { size: seen.size, root: toBase64(seen.rootHash) }, previous: cosignedBefore === null ? null : { size: cosignedBefore.size, root: cosignedBefore.root } };

  if (!verdict.ok) {
    if (verdict.reason !== 'split_view' || state === null || cosignedBefore === null) throw new ClientError('checkpoint_refused', `not cosigned: ${verdict.detail}`);
    const at = new Date();
    const evidence = await writeEvidence(w.dir, api.server, at, evidenceText({ server: api.server, origin, logKey, witness: w.id, at, detail: verdict.detail, cosigned: cosignedBefore.note, shown: answer.note, seen, proof: needs === null ? null : { ...needs, hashes: proof } }));
    await writeState(path, { ...state, splitView: evidence });
    const report: WitnessReport = { ...base, outcome: 'split_view', consistency: 'broken', witnesses: null, evidence, detail: verdict.detail };
    if (w.json) emit(io, { json: true }, report, () => '');
    throw new ClientError('split_view', `SPLIT VIEW on ${api.server}: ${verdict.detail}. Both checkpoints, each signed by the log's key, are kept as evidence in ${evidence}; this witness cosigns nothing more from this log`);
  }

  const consistency = verdict.kind === 'first' ? 'first_use' : verdict.kind === 'unchanged' ? 'unchanged' : 'proved';
  if (verdict.kind === 'unchanged' && answer.cosignatures.some((c) => c.witness === w.id)) {
    return { ...base, outcome: 'already_cosigned', consistency, witnesses: answer.witnesses, evidence: null, detail: `${treeName(seen.size, seen.rootHash)} was cosigned already` };
  }
  // Kept before the cosignature leaves: whatever happens next, this witness never cosigns a tree that does not extend this one.
  const cosignedAt = new Date();
  const kept: WitnessState = { server: api.server, origin, logKey, cosigned: { size: seen.size, root: toBase64(seen.rootHash), note: answer.note, cosignedAt: cosignedAt.toISOString() }, splitView: null };
  await writeState(path, kept);
  const cosigned = new TextDecoder().decode(signNote(opened.text, [cosignatureSigner(w.signerKey, Math.floor(cosignedAt.getTime() / 1000))]));
  const line = cosigned.slice(opened.text.length + 1).trimEnd();
  const posted = await api.post<Wire<typeof CosignatureResponse>>('/ledger/cosignatures', { size: seen.size, cosignature: line });
  return { ...base, outcome: 'cosigned', consistency, witnesses: posted.witnesses, evidence: null, detail: cosignedDetail(seen, verdict.kind, state) };
}

/** The log key to check with: the pinned one; at the first run --log-key, else the server's (trusted on first use). */
function pinnedLogKey(w: Witness, state: WitnessState | null, answer: CheckpointAnswer, path: string): string {
  if (state !== null) {
    if (w.logKeyFlag !== undefined && w.logKeyFlag !== state.logKey) {
      throw new ClientError('bad_config', `--log-key differs from the log key pinned in ${path} (${state.logKey}); if the log's key really changed, move ${path} away to start again`);
    }
    return state.logKey;
  }
  if (w.logKeyFlag !== undefined) return w.logKeyFlag;
  w.io.err(`trusting the log key ${answer.log_key} that ${w.api.server} names, on first use (give --log-key to pin one you were given)`);
  return answer.log_key;
}

/** The log's note verifier, or bad input naming the flag. */
function logVerifier(key: string, flag: string) {
  try {
    return noteVerifier(key);
  } catch (err) {
    if (isSuanliError(err)) throw new InvalidInputError(flag, err.message.replace(/^[^:]+: /, '').replace(/; accepted: .*$/, ''), "the log's verifier key, <name>+<hash>+<key> (GET /api/v1/ledger/keys)");
    throw err;
  }
}

/** `<name>+<hash>` of a verifier key. */
const keyOf = (verifierKey: string): string => verifierKey.split('+').slice(0, 2).join('+');

function cosignedDetail(seen: Checkpoint, kind: 'first' | 'unchanged' | 'extended', state: WitnessState | null): string {
  const tree = treeName(seen.size, seen.rootHash);
  if (kind === 'first') return `cosigned ${tree}, the first checkpoint this witness cosigns on this server`;
  if (kind === 'unchanged') return `cosigned ${tree} again (the server had no cosignature of it by this witness)`;
  return `cosigned ${tree}: it extends size ${state?.cosigned?.size ?? '?'} (root ${state?.cosigned?.root ?? '?'}), cosigned before`;
}

function reportText(r: WitnessReport): string {
  const w = r.witnesses;
  const witnessed = w === null ? '' : `\nwitnessed by ${w.cosigned} of the ${w.registered} member org${w.registered === 1 ? '' : 's'} with a witness${w.cosigned_by.length === 0 ? '' : ` (${w.cosigned_by.join(', ')})`}`;
  return `${r.origin} on ${r.server}: ${r.detail}${witnessed}`;
}

interface Evidence {
  readonly server: string;
  readonly origin: string;
  readonly logKey: string;
  readonly witness: string;
  readonly at: Date;
  readonly detail: string;
  readonly cosigned: string;
  readonly shown: string;
  readonly seen: Checkpoint;
  readonly proof: { readonly from: number; readonly to: number; readonly hashes: readonly Uint8Array[] } | null;
}

/** The evidence file: what was found, then both checkpoints exactly as the log signed them, and the proof it gave. */
function evidenceText(e: Evidence): string {
  const proof = e.proof === null ? '' : `\n## The consistency proof ${e.server} gave from size ${e.proof.from} to size ${e.proof.to} (RFC 9162 §2.1.4, base64)\n${e.proof.hashes.map((h) => `${toBase64(h)}\n`).join('') || '(none)\n'}`;
  return [
    `# SPLIT VIEW of the usage log ${e.origin}, served by ${e.server}`,
    `# found ${e.at.toISOString()} by the witness ${e.witness}`,
    `# ${e.detail}`,
    `# Both checkpoints below are signed by the log's key ${e.logKey}; no one append-only log can have both.`,
    '# Each is a C2SP signed note: check it with that key (suanli, or Go\'s golang.org/x/mod/sumdb/note).',
    '',
    `## The checkpoint this witness cosigned`,
    e.cosigned,
    `## The checkpoint ${e.server} showed afterwards (${treeName(e.seen.size, e.seen.rootHash)})`,
    e.shown,
  ].join('\n') + proof;
}
