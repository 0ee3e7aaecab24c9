import { Command } from 'commander';
import type { DryRunResponse, JobDetailResponse, JobListResponse, JobResponse } from '../../server/schemas.ts';
import type { MembershipResponse } from '../../server/routes/rendezvous.ts';
import { FINAL_STATES, JOB_STATES } from '../../store/types.ts';
import { InvalidInputError } from '../../model/errors.ts';
import * as fmt from '../format.ts';
import * as parse from '../parse.ts';
import { pathOf, type Wire } from './http.ts';
import { connect, emit, examples, withConnection, yesNo, type ClientIo, type CommonFlags } from './shared.ts';

type Job = Wire<typeof JobResponse>;
type JobDetail = Wire<typeof JobDetailResponse>;
type Part = NonNullable<Wire<typeof DryRunResponse>['placement']>[number];

/** The flags that describe a job's demand, shared by submit and dry-run. */
interface DemandFlags extends CommonFlags {
  readonly org?: string;
  readonly name?: string;
  readonly gpus: string;
  readonly types?: string;
  readonly estimate: string;
  readonly priority?: string;
  readonly preemptible: boolean;
  /** A duration; false with --no-checkpoint. */
  readonly checkpoint?: string | false;
  readonly retries?: string;
  readonly span?: string;
}

const SPAN_KEYS = ['replica', 'params', 'bytes', 'outer', 'hidden', 'min', 'wait'] as const;
const SPAN_FORMAT = 'replica=GPUS,params=N,outer=DURATION[,bytes=B,hidden=DURATION,min=F,wait=DURATION]';

/** --span replica=8,params=30B,outer=40m,bytes=1,min=0.8,wait=1h → the API's span body. */
export function spanFrom(text: string): Record<string, number> {
  const given = new Map<string, string>();
  for (const pair of text.split(',')) {
    const [key = '', value] = pair.split('=').map((x) => x.trim());
    if (!(SPAN_KEYS as readonly string[]).includes(key)) throw new InvalidInputError('span', `unknown key "${key}" in "${text}"`, `${SPAN_FORMAT} (keys ${SPAN_KEYS.join(', ')})`);
    if (value === undefined || value === '') throw new InvalidInputError('span', `${key} has no value in "${text}"`, SPAN_FORMAT);
    given.set(key, value);
  }
  for (const key of ['replica', 'params', 'outer']) if (!given.has(key)) throw new InvalidInputError('span', `${key} is required in "${text}"`, SPAN_FORMAT);
  const opt = <T>(key: string, read: (flag: string, v: string) => T, name: string) => {
    const v = given.get(key);
    return v === undefined ? {} : { [name]: read(`span ${key}`, v) };
  };
  return {
    replica_gpus: parse.integer('span replica', given.get('replica') ?? ''),
    params: parse.quantity('span params', given.get('params') ?? ''),
    outer_step_s: parse.duration('span outer', given.get('outer') ?? ''),
    ...opt('bytes', parse.number, 'bytes_per_param'),
    ...opt('hidden', parse.duration, 'hidden_s'),
    ...opt('min', (f, v) => parse.numberBetween(f, v, 0.01, 1), 'min_efficiency'),
    ...opt('wait', parse.duration, 'max_single_site_wait_s'),
  };
}

function demandOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--gpus <n>', 'GPUs the job needs at once')
    .requiredOption('--estimate <duration>', 'expected run time: 90s, 30m, 2h, 1.5d, or seconds')
    .option('--types <list>', 'GPU types it may run on, comma-separated, e.g. h100,a100 (default: any)')
    .option('--org <org>', 'the org the job is for (admin tokens must name it; others submit for their own org)')
    .option('--name <name>', 'a name to recognise the job by')
    .option('--priority <n>', 'higher runs first within the org’s share: -1000 to 1000 (default 0)')
    .option('--no-preemptible', 'never stop this job to make room for another')
    .option('--checkpoint <duration>', 'how often the job checkpoints; work since the last checkpoint is lost on preemption (default 1h)')
    .option('--no-checkpoint', 'the job never checkpoints: preemption loses all its work')
    .option('--retries <n>', 'start a failed run again up to n times: a non-zero exit, killed outside Suanli, or ended by its engine (default 0)')
    .option('--span <spec>', `the job may span sites when no single site can start it soon: ${SPAN_FORMAT} (outer: compute seconds of one outer step, from suanli plan span --json)`)
    .argument('[command...]', 'what to run, after -- (e.g. -- torchrun train.py --lr 3e-4)');
}

/** The API's job body from the flags; flags not given are left to the server's defaults. */
function demandFrom(o: DemandFlags, command: readonly string[]): Record<string, unknown> {
  return {
    ...(o.name === undefined ? {} : { name: o.name }),
    ...(o.org === undefined ? {} : { org_id: o.org }),
    gpus: parse.integer('gpus', o.gpus),
    ...(o.types === undefined ? {} : { gpu_types: parse.list('types', o.types, (_f, t) => t) }),
    estimate_s: parse.duration('estimate', o.estimate),
    ...(o.priority === undefined ? {} : { priority: parse.integerBetween('priority', o.priority, -1000, 1000) }),
    ...(o.preemptible ? {} : { preemptible: false }),
    ...(o.checkpoint === undefined ? {} : { checkpoint_interval_s: o.checkpoint === false ? null : parse.duration('checkpoint', o.checkpoint) }),
    ...(o.retries === undefined ? {} : { max_retries: parse.integerBetween('retries', o.retries, 0, 100) }),
    ...(o.span === undefined ? {} : { span: spanFrom(o.span) }),
    ...(command.length === 0 ? {} : { command }),
  };
}

const typesText = (types: readonly string[] | null): string => (types === null ? 'any' : types.join(','));
/** A part, and who lends its site when it is not the job's own org's (`orgId`; null: not known, so always said). */
const partText = (orgId: string | null) => (p: Part): string =>
  `${p.gpus} × ${p.gpu_type} at ${p.site_id}${p.lender_org_id === orgId ? '' : orgId === null ? ` (org ${p.lender_org_id})` : ` (lent by ${p.lender_org_id})`} (${fmt.plural(p.nodes, 'node')})${p.started_at === undefined ? '' : ` started ${fmt.timestamp(p.started_at)}`}`;
const demandText = (j: Job): string => `${fmt.plural(j.gpus, 'GPU')} (${typesText(j.gpu_types)}) for ${fmt.duration(j.estimate_s)}`;
/** An event's detail as `key=value` pairs. */
const detailText = (d: Record<string, unknown>): string => Object.entries(d).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');

function jobTable(jobs: readonly Job[]): string {
  return fmt.columns([
    ['id', 'org', 'name', 'state', 'GPUs', 'types', 'estimate', 'submitted', 'waiting because'],
    ...jobs.map((j) => [j.id, j.org_id, j.name, j.state, fmt.count(j.gpus), typesText(j.gpu_types), fmt.duration(j.estimate_s), fmt.timestamp(j.submitted_at), j.diagnosis?.message ?? '']),
  ]);
}

/** A job with its spec, placements, events and, verbatim, the scheduler's reason it waits. */
function jobDetail(j: JobDetail): string {
  const spec = fmt.sections(`job ${j.id}${j.name === '' ? '' : ` "${j.name}"`} · org ${j.org_id} · ${j.state}`, [
    ['spec', [
      ['GPUs', `${fmt.count(j.gpus)}${j.gang ? ' (all at once)' : ''}`],
      ['GPU types', typesText(j.gpu_types)],
      ['estimate', fmt.duration(j.estimate_s)],
      ['priority', String(j.priority)],
      ['preemptible', yesNo(j.preemptible)],
      ['checkpoint', j.checkpoint_interval_s === null ? 'never' : `every ${fmt.duration(j.checkpoint_interval_s)}`],
      ['retries', j.max_retries === 0 ? 'none' : `up to ${j.max_retries} after a failure`],
      ['spans sites', j.span === null ? 'no' : `in replicas of ${j.span.replica_gpus} GPUs, at least ${fmt.percent(j.span.min_efficiency)} efficient; ${fmt.bytes(j.span.sync_bytes)} per sync after ${fmt.duration(j.span.outer_step_s)} of compute${j.span.hidden_s > 0 ? ` (${fmt.duration(j.span.hidden_s)} hidden)` : ''}; only if no one site can start it within ${fmt.duration(j.span.max_single_site_wait_s)}`],
      ['command', j.command === null ? '—' : j.command.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')],
      ['submitted', `${fmt.timestamp(j.submitted_at)} by token ${j.submitted_by}`],
      ['updated', fmt.timestamp(j.updated_at)],
      ['attempts', String(j.attempts)],
    ]],
  ]);
  const waiting = j.diagnosis === null ? [] : ['', `waiting: ${j.diagnosis.message}`];
  const placements = j.placements.length === 0 ? ['', 'placements: none yet'] : ['', 'placements', fmt.columns([
    ['attempt', 'where', 'placed', 'started', 'ended'],
    ...j.placements.map((p) => [String(p.attempt), p.parts.map(partText(j.org_id)).join('; ') || '—', fmt.timestamp(p.placed_at), fmt.timestamp(p.started_at), fmt.timestamp(p.ended_at)]),
  ])];
  const m = j.measured;
  const loss = m === null || m.first_loss === null || m.last_loss === null ? '' : `; loss ${m.first_loss.toPrecision(3)} → ${m.last_loss.toPrecision(3)}`;
  const measured = m === null ? [] : [
    '', `measured (attempt ${m.attempt}, ${fmt.plural(m.outer_steps, 'outer step')}): utilization ${fmt.percent(m.utilization)}${m.planned_utilization === null ? '' : `, planned ${fmt.percent(m.planned_utilization)}`}${loss}`,
    `  per outer step: compute ${fmt.duration(m.per_outer_step.compute_s)}, synchronization ${fmt.duration(m.per_outer_step.sync_s)} (of which ${fmt.duration(m.per_outer_step.wait_s)} waiting for slower parts)`,
  ];
  const last = j.placements.at(-1);
  const log = last?.log_tail == null ? [] : ['', `log of attempt ${last.attempt}, as of ${fmt.timestamp(last.log_at)} (the last lines)`, last.log_tail.trimEnd()];
  const events = ['', 'events', fmt.columns([
    ['#', 'at', 'event', 'state', 'detail'],
    ...j.events.map((e) => [String(e.seq), fmt.timestamp(e.at), e.type, e.from_state === null && e.to_state === null ? '' : `${e.from_state ?? '—'} → ${e.to_state ?? '—'}`, detailText(e.detail)]),
  ])];
  return [spec, ...waiting, ...placements, ...measured, ...log, ...events].join('\n');
}

function dryRunText(r: Wire<typeof DryRunResponse>): string {
  const demand = `${fmt.plural(r.gpus, 'GPU')} for ${fmt.duration(r.estimate_s)}`;
  if (r.outcome === 'place') {
    const preempt = r.would_preempt > 0 ? `\nit would preempt ${fmt.plural(r.would_preempt, 'running job')}` : '';
    return `${demand}: would start now on ${(r.placement ?? []).map(partText(null)).join('; ')}${preempt}`;
  }
  return `${demand}: would wait: ${r.diagnosis?.message ?? 'no reason given'}`;
}

const FOLLOW_EVERY_MS = 2000;

/**
 * What `next` (a log tail) adds to `before` (the tail printed last): the part after
 * their longest overlap; all of `next` when they share nothing (the log moved on
 * further than one tail, or a new attempt began).
 */
export function newLines(before: string, next: string): string {
  if (before === '') return next;
  for (let start = 0; start < before.length; start++) {
    const suffix = before.slice(start);
    if (next.startsWith(suffix)) return next.slice(suffix.length);
  }
  return next;
}

export function jobCommand(io: ClientIo): Command {
  const job = new Command('job')
    .description('submit jobs to the pool, follow them, cancel them, or ask where one would run now')
    .addHelpText('after', examples('suanli job submit --gpus 8 --types h100 --estimate 2h -- python train.py', 'suanli job list --state pending,running', 'suanli job show 42'));

  demandOptions(withConnection(job.command('submit')))
    .description('submit a job; with --idempotency-key, a retried submit returns the first job instead of making a second')
    .option('--idempotency-key <key>', 'makes retries safe: the same key (in the same org) with the same job answers with the first job; with another job it is refused')
    .addHelpText('after', examples(
      'suanli job submit --gpus 8 --types h100 --estimate 2h -- torchrun --nproc-per-node 8 train.py',
      'suanli job submit --org acme --name sweep-3 --gpus 64 --types h100,a100 --estimate 1.5d --checkpoint 30m --priority 10 -- ./run.sh',
      'suanli job submit --gpus 1 --estimate 10m --no-preemptible --idempotency-key nightly-2026-01-01 --json -- ./eval.sh',
    ))
    .action(async (command: string[], o: DemandFlags & { idempotencyKey?: string }) => {
      const body = demandFrom(o, command);
      const api = await connect(o);
      const { status, body: j } = await api.request<Job>('POST', '/jobs', { body, ...(o.idempotencyKey === undefined ? {} : { headers: { 'idempotency-key': o.idempotencyKey } }) });
      // 201: created now; 200: the key was seen before and this is the first job.
      const what = status === 201 ? `submitted job ${j.id}` : `job ${j.id} was already submitted with this idempotency key; not submitted again`;
      emit(io, o, j, () => `${what}: ${demandText(j)}, ${j.state}\nfollow it with: suanli job show ${j.id}`);
    });

  withConnection(job.command('list'))
    .description('list jobs, oldest first, a page at a time (an org sees its own)')
    .option('--state <states>', `only jobs in these states, comma-separated (${JOB_STATES.join(', ')})`)
    .option('--org <org>', "only this org's jobs")
    .option('--limit <n>', 'jobs per page (default 50, at most 500)')
    .option('--after <id>', 'start after this job (the cursor a previous page printed)')
    .option('--all', 'follow the pages to the end')
    .addHelpText('after', examples('suanli job list', 'suanli job list --state pending,placed --org acme', 'suanli job list --all --json', 'suanli job list --limit 100 --after 1200'))
    .action(async (o: CommonFlags & { state?: string; org?: string; limit?: string; after?: string; all?: boolean }) => {
      const query = {
        state: o.state === undefined ? undefined : parse.list('state', o.state, (f, s) => parse.oneOf(f, s, JOB_STATES)).join(','),
        org: o.org,
        limit: o.limit === undefined ? undefined : parse.integer('limit', o.limit),
      };
      const api = await connect(o);
      const jobs: Job[] = [];
      let next = o.after ?? null;
      do {
        const page = await api.get<Wire<typeof JobListResponse>>('/jobs', { ...query, after: next ?? undefined });
        jobs.push(...page.jobs);
        next = page.next;
      } while (o.all === true && next !== null);
      emit(io, o, { jobs, next }, () => (jobs.length === 0 ? 'no jobs' : jobTable(jobs)) + (next === null ? '' : `\n\nmore: add --after ${next} for the next page, or --all`));
    });

  withConnection(job.command('show'))
    .description('show a job: its spec, placements, event history and why it waits')
    .argument('<id>', 'job id')
    .addHelpText('after', examples('suanli job show 42', 'suanli job show 42 --json'))
    .action(async (id: string, o: CommonFlags) => {
      const j = await (await connect(o)).get<JobDetail>(pathOf('jobs', id));
      emit(io, o, j, () => jobDetail(j));
    });

  withConnection(job.command('members'))
    .description('the rendezvous of a job that spans sites: its parts, where each listens, and the membership generation')
    .argument('<id>', 'job id')
    .addHelpText('after', `
Each part of a spanning job publishes where it listens (SUANLI_RENDEZVOUS_URL and
SUANLI_RENDEZVOUS_TOKEN in its run; examples/rendezvous has a client) and meets the
others at a barrier. A new generation begins when the set of parts changes (a part left).
${examples('suanli job members 42', 'suanli job members 42 --json')}`)
    .action(async (id: string, o: CommonFlags) => {
      const m = await (await connect(o)).get<Wire<typeof MembershipResponse>>(pathOf('jobs', id, 'members'));
      emit(io, o, m, () => {
        const head = `job ${m.job_id} attempt ${m.attempt}: generation ${m.generation}, ${m.ready ? 'every part published' : `waiting for ${m.waiting_for.join(', ')}`}`;
        return `${head}\n${fmt.columns([['part', 'site', 'listens at', 'replicas', 'share'], ...m.members.map((x) => [String(x.index), x.site, x.endpoints.join(' ') || '—', fmt.count(x.replicas), fmt.percent(x.share)])])}`;
      });
    });

  withConnection(job.command('logs'))
    .description('the end of a job’s log, as its site’s agent last sent it (every few seconds while it runs)')
    .argument('<id>', 'job id')
    .option('--attempt <n>', 'this attempt’s log (default: the latest)')
    .option('--follow', 'keep printing new lines until the job ends')
    .addHelpText('after', `
The log comes from the lender's agent and is shown, not obeyed: its newlines and tabs
are kept, and every other control character (ANSI colour and cursor sequences, carriage
returns, bells) or bidi or invisible character is shown escaped, as \\u{1b}[31m. With
--json the exact text comes as JSON, those characters as \\u escapes.
${examples('suanli job logs 42', 'suanli job logs 42 --follow', 'suanli job logs 42 --attempt 1 --json')}`)
    .action(async (id: string, o: CommonFlags & { attempt?: string; follow?: boolean }) => {
      const attempt = o.attempt === undefined ? undefined : parse.integer('attempt', o.attempt);
      const api = await connect(o);
      const read = async () => {
        const j = await api.get<JobDetail>(pathOf('jobs', id));
        const p = attempt === undefined ? j.placements.at(-1) : j.placements.find((x) => x.attempt === attempt);
        if (attempt !== undefined && p === undefined) throw new InvalidInputError('attempt', `job ${j.id} has no attempt ${attempt}`, `1 to ${j.placements.length}`);
        return { job: j, log: { job_id: j.id, state: j.state, attempt: p?.attempt ?? null, log_tail: p?.log_tail ?? null, log_at: p?.log_at ?? null } };
      };
      let { job: j, log } = await read();
      if (o.follow !== true) {
        emit(io, o, log, () => log.log_tail ?? (log.attempt === null ? `job ${j.id} has not been placed yet` : `no log from attempt ${log.attempt} yet`));
        return;
      }
      let printed = '';
      for (;;) {
        const tail = log.log_tail ?? '';
        const fresh = newLines(printed, tail);
        if (fresh !== '') emit(io, o, { ...log, log_tail: fresh }, () => fresh.replace(/\n$/, ''), 0);
        printed = tail;
        if (FINAL_STATES.has(j.state)) return;
        await new Promise((r) => setTimeout(r, FOLLOW_EVERY_MS));
        ({ job: j, log } = await read());
      }
    });

  withConnection(job.command('cancel'))
    .description('cancel a job that has not finished')
    .argument('<id>', 'job id')
    .addHelpText('after', examples('suanli job cancel 42'))
    .action(async (id: string, o: CommonFlags) => {
      const j = await (await connect(o)).post<Job>(pathOf('jobs', id, 'cancel'));
      emit(io, o, j, () => `cancelled job ${j.id}`);
    });

  demandOptions(withConnection(job.command('dry-run')))
    .description('where this job would start if submitted now, or why it would wait; nothing is submitted')
    .addHelpText('after', examples('suanli job dry-run --gpus 64 --types h100 --estimate 12h', 'suanli job dry-run --org acme --gpus 8 --estimate 1h --no-preemptible --json'))
    .action(async (command: string[], o: DemandFlags) => {
      const body = demandFrom(o, command);
      const r = await (await connect(o)).post<Wire<typeof DryRunResponse>>('/jobs/dry-run', body);
      emit(io, o, r, () => dryRunText(r));
    });

  return job;
}
