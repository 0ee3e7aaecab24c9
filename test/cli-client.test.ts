// The client half of the CLI against a real control plane: a server on an in-memory
// store listening on 127.0.0.1, and `suanli` run in-process with a temporary config
// file. Scheduling passes run when a test asks (`s.pass()`), so placements are
// deterministic.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { JobResponse, SHARE_RULE_DEFAULTS, type DryRunResponse, type JobDetailResponse, type JobListResponse, type LedgerResponse, type OrgListResponse, type OrgResponse, type SiteResponse, type TokenCreatedResponse, type TokenListResponse } from '../src/server/schemas.ts';
import type { Wire } from '../src/cli/client/http.ts';
import { inProcess } from './support/cli.ts';
import { TestServer } from './support/server.ts';

/** `suanli ARGS --json` (before any `--`), which must succeed; its output parsed. */
async function json<T>(...args: string[]): Promise<T> {
  const at = args.includes('--') ? args.indexOf('--') : args.length;
  const r = await inProcess([...args.slice(0, at), '--json', ...args.slice(at)]);
  assert.equal(r.code, 0, `suanli ${args.join(' ')}: ${r.err}`);
  return JSON.parse(r.out) as T;
}

/** A failure: the exit code expected, one line on stderr matching `message`, nothing on stdout, no stack. */
async function fails(code: number, message: RegExp, ...args: string[]): Promise<void> {
  const r = await inProcess(args);
  assert.equal(r.code, code, `exit code of suanli ${args.join(' ')}: ${r.err}`);
  assert.match(r.err, message);
  assert.doesNotMatch(r.err, /\n\s+at |internal error/, 'no stack trace');
  assert.equal(r.out, '');
}

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  assert.ok(address !== null && typeof address !== 'string');
  return address.port;
}

describe('suanli as a client of a real control plane', () => {
  let s: TestServer;
  let url: string;
  let dir: string;
  let config: string;
  const savedEnv = { SUANLI_CONFIG: process.env.SUANLI_CONFIG, SUANLI_SERVER: process.env.SUANLI_SERVER, SUANLI_TOKEN: process.env.SUANLI_TOKEN };
  /** Set by the token test: a member of acme. */
  let member = '';

  before(async () => {
    s = await TestServer.start();
    url = await s.app.listen({ host: '127.0.0.1', port: 0 });
    dir = await mkdtemp(join(tmpdir(), 'suanli-client-'));
    config = join(dir, 'nested', 'config.json');
    process.env.SUANLI_CONFIG = config;
    delete process.env.SUANLI_SERVER;
    delete process.env.SUANLI_TOKEN;
  });
  after(async () => {
    for (const [k, v] of Object.entries(savedEnv)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
    await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('before login: a command says how to log in', async () => {
    await fails(2, /^suanli: no server to talk to: run `suanli login --server URL --token TOKEN`/, 'org', 'list');
    await fails(2, /^suanli: not logged in to http:\/\/127\.0\.0\.1:\d+: run `suanli login/, 'org', 'list', '--server', url);
  });

  test('login refuses a wrong token with the server’s message and saves nothing', async () => {
    await fails(1, /^suanli: header\.authorization: unknown or revoked token \(unauthorized, field header\.authorization\)/, 'login', '--server', url, '--token', 'sl_nobody00_0123456789abcdef0123456789abcdef');
    await assert.rejects(stat(config), { code: 'ENOENT' });
  });

  test('login checks the token, then saves server and token in a file only its owner can read', async () => {
    const r = await inProcess(['login', '--server', `${url}/api/v1/`, '--token', s.admin]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^logged in to ${url} with token \\w+ \\(admin \\(first start\\)\\), the admin; saved to ${config}`));
    assert.doesNotMatch(r.out, new RegExp(s.admin), 'the secret is not printed');
    assert.deepEqual(JSON.parse(await readFile(config, 'utf8')), { server: url, token: s.admin });
    assert.equal((await stat(config)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'nested'))).mode & 0o777, 0o700);
  });

  test('org create, list and show; --json prints the server’s JSON', async () => {
    const r = await inProcess(['org', 'create', 'Acme Labs', '--id', 'acme']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'created org acme (Acme Labs)');
    const beta = await json<Wire<typeof OrgResponse>>('org', 'create', 'Beta Research');
    assert.equal(beta.id, 'beta-research');
    const { orgs } = await json<Wire<typeof OrgListResponse>>('org', 'list');
    assert.deepEqual(orgs.map((o) => o.id).sort(), ['acme', 'beta-research']);
    const table = await inProcess(['org', 'list']);
    assert.match(table.out, /^id\s+name\s+created\n─+/);
    assert.match(table.out, /\nacme\s+Acme Labs\s+2026-01-01 00:00:00Z/);
    assert.equal((await json<Wire<typeof OrgResponse>>('org', 'show', 'acme')).name, 'Acme Labs');
    await fails(1, /^suanli: org "nope" not found \(not_found\)$/, 'org', 'show', 'nope');
    await fails(1, /^suanli: id: an org "acme" exists already \(conflict, field id\)$/, 'org', 'create', 'again', '--id', 'acme');
  });

  test('token create prints the secret once; list and revoke', async () => {
    const created = await json<Wire<typeof TokenCreatedResponse>>('token', 'create', 'alice', '--role', 'member', '--org', 'acme');
    assert.deepEqual([created.role, created.org_id], ['member', 'acme']);
    member = created.token;
    const spare = await inProcess(['token', 'create', 'spare', '--role', 'member', '--org', 'acme']);
    assert.equal(spare.code, 0, spare.err);
    const secret = /token \(shown only now; keep it safe\): (sl_\w+)/.exec(spare.out)?.[1] ?? '';
    assert.match(spare.out, new RegExp(`to use it: suanli login --server ${url} --token ${secret}`));
    const { tokens } = await json<Wire<typeof TokenListResponse>>('token', 'list', '--org', 'acme');
    assert.deepEqual(tokens.map((t) => t.name).sort(), ['alice', 'spare']);
    const spareId = tokens.find((t) => t.name === 'spare')?.id ?? '';
    const revoked = await inProcess(['token', 'revoke', spareId]);
    assert.match(revoked.out, new RegExp(`^revoked token ${spareId} \\("spare"\\) at 2026-01-01`));
    await fails(1, /unknown or revoked token \(unauthorized/, 'org', 'list', '--token', secret);
    await fails(2, /--role <role>' argument 'boss' is invalid/, 'token', 'create', 'x', '--role', 'boss');
  });

  test('site create with capacity, share terms and price; update keeps the terms not given; list and show', async () => {
    const acme = await json<Wire<typeof SiteResponse>>('site', 'create', 'Acme cluster', '--org', 'acme', '--capacity', 'h100:1x8', '--capacity', 'a100:2x4', '--lend', '0.5', '--no-reclaim', '--notice', '600', '--price', '1.5');
    assert.deepEqual(acme.capacity, [{ gpu_type: 'h100', nodes: 1, gpus_per_node: 8 }, { gpu_type: 'a100', nodes: 2, gpus_per_node: 4 }]);
    assert.deepEqual(acme.share, { ...SHARE_RULE_DEFAULTS, lend_fraction: 0.5, reclaim: false, reclaim_notice_s: 600 });
    assert.equal(acme.price_per_gpu_hour, 1.5);
    const updated = await json<Wire<typeof SiteResponse>>('site', 'update', acme.id, '--lend', '0.25', '--notice', '10m');
    assert.deepEqual(updated.share, { ...SHARE_RULE_DEFAULTS, lend_fraction: 0.25, reclaim: false, reclaim_notice_s: 600 }, 'reclaim stays off');
    const shown = await inProcess(['site', 'show', acme.id]);
    assert.match(shown.out, /^site acme-cluster-\w+ "Acme cluster" · org acme · 16 GPUs/);
    assert.match(shown.out, /lend fraction\s+25\.0%\n\s+reclaim\s+no\n\s+reclaim notice\s+10\.0 min\n\s+lends to\s+every org\n\s+limit per borrower\s+none\n\s+borrowed runs\s+sandboxed, network none\n\s+price\s+1\.5 per GPU-h/);
    const rules = await json<Wire<typeof SiteResponse>>('site', 'update', acme.id, '--lend-to', 'beta-research', '--borrower-limit', '4', '--borrower-limit', 'beta-research=6', '--no-sandbox-borrowed', '--borrowed-network', 'host');
    assert.deepEqual(rules.share, { lend_fraction: 0.25, reclaim: false, reclaim_notice_s: 600, lend_to: ['beta-research'], max_gpus_per_borrower: 4, borrower_gpu_limits: { 'beta-research': 6 }, sandbox_borrowed: false, borrowed_network: 'host' });
    assert.match((await inProcess(['site', 'show', acme.id])).out, /lends to\s+beta-research\n\s+limit per borrower\s+4 GPUs; beta-research 6 GPUs\n\s+borrowed runs\s+not sandboxed/);
    await fails(2, /--borrower-limit: "x=y" is not GPUS or ORG=GPUS/, 'site', 'update', acme.id, '--borrower-limit', 'x=y');
    await fails(1, /share\.lend_to\[0\]: no org "nobody"/, 'site', 'update', acme.id, '--lend-to', 'nobody');
    const created = await inProcess(['site', 'create', 'Beta cloud', '--org', 'beta-research', '--capacity', 'h100:1x8']);
    assert.match(created.out, /^created site beta-cloud-\w+ for org beta-research: 1×8 h100; lends 100\.0%, reclaims with no notice$/);
    const list = await inProcess(['site', 'list']);
    assert.match(list.out, /^id\s+org\s+name\s+capacity\s+GPUs/);
    assert.match(list.out, /acme-cluster-\w+\s+acme\s+Acme cluster\s+1×8 h100, 2×4 a100\s+16\s+25\.0%/);
    await fails(2, /^suanli: nothing to change/, 'site', 'update', acme.id);
    await fails(1, /^suanli: site "nope" not found \(not_found\)/, 'site', 'update', 'nope', '--price', 'none');
  });

  test('job submit; a retry with the same idempotency key returns the same job', async () => {
    const args = ['job', 'submit', '--token', member, '--name', 'train', '--gpus', '8', '--types', 'h100', '--estimate', '2h', '--checkpoint', '30m', '--priority', '-5', '--idempotency-key', 'train-1', '--', 'torchrun', 'train.py', '--lr', '3e-4'];
    const first = await inProcess(args);
    assert.equal(first.code, 0, first.err);
    const id = /^submitted job (\S+): 8 GPUs \(h100\) for 2\.00 h, pending/.exec(first.out)?.[1] ?? assert.fail(first.out);
    const again = await inProcess(args);
    assert.match(again.out, new RegExp(`^job ${id} was already submitted with this idempotency key; not submitted again`));
    const retried = await json<Wire<typeof JobResponse>>(...args);
    assert.equal(retried.id, id);
    assert.deepEqual([retried.org_id, retried.gpus, retried.gpu_types, retried.estimate_s, retried.checkpoint_interval_s, retried.priority, retried.command], ['acme', 8, ['h100'], 7200, 1800, -5, ['torchrun', 'train.py', '--lr', '3e-4']]);
    const { jobs } = await json<Wire<typeof JobListResponse>>('job', 'list', '--all');
    assert.equal(jobs.filter((j) => j.name === 'train').length, 1, 'one job, however many retries');
    await fails(1, new RegExp(`^suanli: header\\.idempotency-key: "train-1" was used for another submission \\(job ${id}\\); give a new key for a new job \\(idempotency_mismatch, field header\\.idempotency-key\\)$`), ...args.map((a) => (a === '8' ? '16' : a)));
  });

  test('job list pages with --limit and follows every page with --all', async () => {
    for (let i = 0; i < 4; i++) assert.equal((await inProcess(['job', 'submit', '--org', 'beta-research', '--gpus', '1', '--estimate', '10m', '--name', `small-${i}`, '--no-preemptible'])).code, 0);
    const page = await inProcess(['job', 'list', '--limit', '2']);
    assert.equal(page.code, 0, page.err);
    assert.equal(page.out.split('\n').filter((l) => /^\S+\s+(acme|beta-research)\s/.test(l)).length, 2);
    const next = /more: add --after (\S+) for the next page, or --all$/.exec(page.out)?.[1] ?? assert.fail(page.out);
    const second = await json<Wire<typeof JobListResponse>>('job', 'list', '--limit', '2', '--after', next);
    assert.equal(second.jobs.length, 2);
    const everything = await json<Wire<typeof JobListResponse>>('job', 'list', '--limit', '2', '--all');
    assert.equal(everything.next, null);
    assert.deepEqual(everything.jobs.map((j) => j.name), ['train', 'small-0', 'small-1', 'small-2', 'small-3']);
    const beta = await json<Wire<typeof JobListResponse>>('job', 'list', '--org', 'beta-research', '--state', 'pending,placed');
    assert.equal(beta.jobs.length, 4);
    const mine = await json<Wire<typeof JobListResponse>>('job', 'list', '--token', member);
    assert.deepEqual(mine.jobs.map((j) => j.org_id), ['acme'], 'a member sees its own org’s jobs');
    await fails(1, /^suanli: org "beta-research" not found \(not_found\)/, 'job', 'list', '--token', member, '--org', 'beta-research');
  });

  test('job show prints the spec, the placement, the events and the diagnosis verbatim', async () => {
    const waiting = await json<Wire<typeof JobResponse>>('job', 'submit', '--org', 'acme', '--gpus', '64', '--types', 'h100', '--estimate', '1h', '--name', 'too-big');
    await s.pass();
    const { jobs } = await json<Wire<typeof JobListResponse>>('job', 'list', '--all');
    const train = jobs.find((j) => j.name === 'train') ?? assert.fail('no train job');
    assert.equal(train.state, 'placed');
    const shown = await inProcess(['job', 'show', train.id]);
    assert.equal(shown.code, 0, shown.err);
    assert.match(shown.out, new RegExp(`^job ${train.id} "train" · org acme · placed`));
    assert.match(shown.out, /command\s+torchrun train\.py --lr 3e-4/);
    assert.match(shown.out, /checkpoint\s+every 30\.0 min/);
    assert.match(shown.out, /placements\nattempt.*\n─.*\n1\s+8 × h100 at acme-cluster-\w+ \(1 node\)/);
    assert.match(shown.out, /events\n.*\n─.*\n1\s+2026-01-01 00:00:00Z\s+submitted\s+— → pending\n2\s+.*placed\s+pending → placed/);
    const detail = await json<Wire<typeof JobDetailResponse>>('job', 'show', waiting.id);
    const message = detail.diagnosis?.message ?? assert.fail('no diagnosis');
    assert.match(message, /^0\/\d+ sites? fit/);
    const text = await inProcess(['job', 'show', waiting.id]);
    assert.ok(text.out.includes(`waiting: ${message}`), text.out);
    assert.match(text.out, /placements: none yet/);
    assert.ok((await inProcess(['job', 'list'])).out.includes(message), 'the list shows why jobs wait');
    await fails(1, /^suanli: job "999999" not found \(not_found\)/, 'job', 'show', '999999');
  });

  test('job cancel; cancelling twice is the server’s refusal', async () => {
    const { jobs } = await json<Wire<typeof JobListResponse>>('job', 'list', '--all');
    const big = jobs.find((j) => j.name === 'too-big') ?? assert.fail('no too-big job');
    const r = await inProcess(['job', 'cancel', big.id]);
    assert.equal(r.out, `cancelled job ${big.id}`);
    assert.equal((await json<Wire<typeof JobResponse>>('job', 'show', big.id)).state, 'cancelled');
    await fails(1, /is cancelled; .* \(conflict/, 'job', 'cancel', big.id);
  });

  test('job dry-run says where a job would start now, or why it would wait, and submits nothing', async () => {
    const before = (await json<Wire<typeof JobListResponse>>('job', 'list', '--all')).jobs.length;
    const place = await json<Wire<typeof DryRunResponse>>('job', 'dry-run', '--org', 'acme', '--gpus', '2', '--types', 'a100', '--estimate', '1h');
    assert.deepEqual([place.outcome, place.placement?.[0]?.gpu_type, place.would_preempt, place.diagnosis], ['place', 'a100', 0, null]);
    const text = await inProcess(['job', 'dry-run', '--org', 'acme', '--gpus', '2', '--types', 'a100', '--estimate', '1h', '--', 'python', 'eval.py']);
    assert.match(text.out, /^2 GPUs for 60\.0 min: would start now on 2 × a100 at acme-cluster-\w+ \(org acme\) \(1 node\)$/);
    const wait = await inProcess(['job', 'dry-run', '--org', 'acme', '--gpus', '1000', '--estimate', '1h']);
    assert.match(wait.out, /^1,000 GPUs for 60\.0 min: would wait: 0\/\d+ sites? fit: .*no site can ever hold this job$/);
    assert.equal((await json<Wire<typeof JobListResponse>>('job', 'list', '--all')).jobs.length, before);
  });

  test('ledger: GPU-hours contributed and consumed per org, and pool totals', async () => {
    const train = (await json<Wire<typeof JobListResponse>>('job', 'list', '--all')).jobs.find((j) => j.name === 'train') ?? assert.fail('no train job');
    const setState = (state: string) => s.ok(JobResponse, 200, 'POST', `/api/v1/internal/jobs/${train.id}/state`, { body: { state } });
    await setState('running');
    s.clock.advance(1800);
    await setState('succeeded');
    const ledger = await json<Wire<typeof LedgerResponse>>('ledger');
    assert.equal(ledger.rows.find((r) => r.org_id === 'acme' && r.gpu_type === 'h100')?.own_gpu_h, 4, '8 GPUs × 0.5 h on its own site');
    const table = await inProcess(['ledger', '--org', 'acme']);
    assert.match(table.out, /^org\s+GPU type\s+contributed\s+consumed\s+own use\s+credits\n─.*\nacme\s+h100\s.*4\.00 GPU-h/);
    assert.match(table.out, /pool-wide totals\nGPU type/);
  });

  test('names, diagnoses, event details and logs other members wrote reach the terminal escaped, and --json as exact data', async () => {
    // Old data, from before the API refused such names: written straight into the store.
    const name = 'evil\x1b[2J\x07\r\nname\u202Etxt.exe';
    const escapedName = 'evil\\u{1b}[2J\\u{7}\\u{d}\\u{a}name\\u{202e}txt.exe';
    const demand = { gpus: 1, gpuTypes: ['a100'], gang: true, estimateS: 600, priority: 0, preemptible: true, checkpointIntervalS: null, command: null, plan: null };
    const [placed, waiting] = await s.store.submitJobs([name, `${name} 2`].map((n) => ({ orgId: 'acme', name: n, demand, submittedBy: 'old', submittedAt: s.clock.now(), idempotencyKey: null })));
    const [site] = await s.store.listSites('acme');
    const id = placed?.job.id ?? assert.fail('no job');
    await s.store.transition([{ jobId: id, from: ['pending'], to: 'placed', at: s.clock.now(), type: 'placed', detail: { note: `\x1b]0;pwned\x07${name}` }, placement: [{ siteId: site?.id ?? '', gpuType: 'a100', gpus: 1, nodes: 1 }] }]);
    await s.store.setDiagnoses(new Map([[waiting?.job.id ?? '', { message: `0/1 sites fit\x1b[8m ${name}`, sites: 1, reasons: {}, never: false }]]));
    const log = 'step 1\n\x1b[31mloss 0.5\x1b[0m\r\u202Edone\tok\n';
    await s.store.setLogTails([{ jobId: id, attempt: 1, siteId: site?.id ?? '', tail: log, at: s.clock.now() }]);

    /** No hidden character: the C0 controls but newline and tab, DEL, C1, bidi and invisible format characters. */
    const clean = (out: string, what: string) => assert.doesNotMatch(out, /[\0-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/, what);
    const shown = async (...args: string[]) => {
      const r = await inProcess([...args, '--token', member]);
      assert.equal(r.code, 0, r.err);
      clean(r.out, args.join(' '));
      return r.out;
    };
    assert.ok((await shown('job', 'list')).includes(escapedName), 'a one-line cell: CR and LF escaped too');
    assert.ok((await shown('job', 'list')).includes(`0/1 sites fit\\u{1b}[8m ${escapedName}`), 'the diagnosis');
    const detail = await shown('job', 'show', id);
    assert.ok(detail.startsWith(`job ${id} "${escapedName}" · org acme · placed`), detail);
    assert.ok(detail.includes(`note=\\u{1b}]0;pwned\\u{7}${escapedName}`), 'the event detail');
    assert.ok(detail.includes('step 1\n\\u{1b}[31mloss 0.5\\u{1b}[0m\\u{d}\\u{202e}done\tok'), 'the log keeps its newlines and tabs');
    assert.equal(await shown('job', 'logs', id), 'step 1\n\\u{1b}[31mloss 0.5\\u{1b}[0m\\u{d}\\u{202e}done\tok\n');

    // --json: the exact strings back, every hidden character a \u escape.
    const list = JSON.parse(await shown('job', 'list', '--json')) as Wire<typeof JobListResponse>;
    assert.deepEqual(list.jobs.filter((j) => j.name.startsWith('evil')).map((j) => j.name), [name, `${name} 2`]);
    const json = JSON.parse(await shown('job', 'show', id, '--json')) as Wire<typeof JobDetailResponse>;
    assert.deepEqual([json.name, json.placements[0]?.log_tail, json.events.at(-1)?.detail], [name, log, { note: `\x1b]0;pwned\x07${name}` }]);
    assert.equal((JSON.parse(await shown('job', 'logs', id, '--json')) as { log_tail: string }).log_tail, log);

    // --follow prints what it has, escaped, and stops at a final state.
    await s.store.transition([{ jobId: id, from: ['placed'], to: 'failed', at: s.clock.now(), type: 'failed' }]);
    assert.equal(await shown('job', 'logs', id, '--follow'), 'step 1\n\\u{1b}[31mloss 0.5\\u{1b}[0m\\u{d}\\u{202e}done\tok');
    assert.equal((JSON.parse(await shown('job', 'logs', id, '--follow', '--json')) as { log_tail: string }).log_tail, log);

    // New names with such characters are refused; the refusal is printed escaped too.
    const refused = await inProcess(['job', 'submit', '--token', member, '--name', name, '--gpus', '1', '--estimate', '1m']);
    assert.equal(refused.code, 1);
    clean(refused.err, 'the refusal');
    assert.match(refused.err, /^suanli: name: must not contain control or bidi characters \(U\+001B at character 5\) \(invalid_request, field name\)$/);
  });

  test('bad flags: exit 2, one line naming the flag, before anything is sent', async () => {
    await fails(2, /^suanli: --gpus: must be above zero/, 'job', 'submit', '--gpus', '0', '--estimate', '1h');
    await fails(2, /^suanli: --estimate: "soon" is not a duration/, 'job', 'submit', '--gpus', '1', '--estimate', 'soon');
    await fails(2, /^suanli: --priority: 5000 is out of range/, 'job', 'dry-run', '--gpus', '1', '--estimate', '1h', '--priority', '5000');
    await fails(2, /^suanli: --capacity: "h100" is not TYPE:NODESxGPUS/, 'site', 'create', 'x', '--capacity', 'h100');
    await fails(2, /^suanli: --capacity: h100 is given twice/, 'site', 'create', 'x', '--capacity', 'h100:1x8', '--capacity', 'H100:2x8');
    await fails(2, /^suanli: --lend: 2 is out of range; accepted: a number from 0 to 1/, 'site', 'update', 'x', '--lend', '2');
    await fails(2, /^suanli: --state: unknown value "runing"/, 'job', 'list', '--state', 'runing');
    await fails(2, /^suanli: --server: "ftp:\/\/x" is not an http\(s\) URL/, 'org', 'list', '--server', 'ftp://x');
    await fails(2, /required option '--gpus <n>' not specified/, 'job', 'submit', '--estimate', '1h');
    await fails(2, /unknown option '--frobnicate'/, 'job', 'submit', '--gpus', '1', '--estimate', '1h', '--frobnicate');
  });

  test('a request the server refuses: exit 1 with its message, code and field', async () => {
    await fails(1, /^suanli: org_id: required for an admin token \(which org\?\) \(invalid_request, field org_id\)$/, 'job', 'submit', '--gpus', '1', '--estimate', '1h');
    await fails(1, /^suanli: a member token may not create sites \(forbidden\)$/, 'site', 'create', 'x', '--capacity', 'h100:1x8', '--token', member);
  });

  test('an unreachable server: exit 1, naming the URL', async () => {
    const port = await closedPort();
    await fails(1, new RegExp(`^suanli: cannot reach the Suanli server at http://127\\.0\\.0\\.1:${port} \\(connection refused\\); is \`suanli serve\` running there\\? \\(the server comes from --server\\)`), 'org', 'list', '--server', `127.0.0.1:${port}`, '--token', s.admin);
  });

  test('several servers (replicas): one that does not answer is passed over for the next; a write that may have reached one is not sent again', async () => {
    const port = await closedPort();
    const both = `127.0.0.1:${port},${url}`;
    const listed = await inProcess(['org', 'list', '--json', '--server', both, '--token', s.admin]);
    assert.equal(listed.code, 0, listed.err);
    assert.ok(Array.isArray((JSON.parse(listed.out) as { orgs: unknown[] }).orgs));
    // Refused outright (nothing listens): a submission is passed over too, as it reached no server.
    const made = await inProcess(['org', 'create', 'Replicated', '--id', 'replicated', '--server', both, '--token', s.admin]);
    assert.equal(made.code, 0, made.err);
    // One that takes the request and drops the connection may have done the work: a read goes on to the next, a write does not.
    const dropper = createServer((socket) => socket.once('data', () => socket.destroy()));
    await new Promise<void>((resolve) => dropper.listen(0, '127.0.0.1', resolve));
    try {
      const dropping = `127.0.0.1:${(dropper.address() as { port: number }).port},${url}`;
      assert.equal((await inProcess(['org', 'list', '--server', dropping, '--token', s.admin])).code, 0, 'a read');
      await fails(1, /^suanli: cannot reach the Suanli server at http:\/\/127\.0\.0\.1:\d+ /, 'org', 'create', 'Dropped', '--id', 'dropped', '--server', dropping, '--token', s.admin);
      assert.equal((await inProcess(['org', 'show', 'dropped', '--server', url, '--token', s.admin])).code, 1, 'and it was not sent to the next');
    } finally {
      dropper.close();
    }
    await fails(2, /^suanli: --server: "127\.0\.0\.1:1,not a url" is not an http\(s\) URL/, 'org', 'list', '--server', '127.0.0.1:1,not a url', '--token', s.admin);
  });

  test('flags override the variables, which override the saved login; a saved token goes only to its own server', async () => {
    try {
      process.env.SUANLI_TOKEN = 'sl_nobody00_0123456789abcdef0123456789abcdef';
      await fails(1, /unknown or revoked token \(unauthorized/, 'org', 'list');
      assert.equal((await inProcess(['org', 'list', '--token', s.admin])).code, 0);
      delete process.env.SUANLI_TOKEN;
      process.env.SUANLI_SERVER = `http://127.0.0.1:${await closedPort()}`;
      await fails(2, /^suanli: not logged in to http:\/\/127\.0\.0\.1:\d+/, 'org', 'list');
      process.env.SUANLI_TOKEN = s.admin;
      await fails(1, /^suanli: cannot reach .*\(the server comes from SUANLI_SERVER\)/, 'org', 'list');
      assert.equal((await inProcess(['org', 'list', '--server', url])).code, 0);
    } finally {
      delete process.env.SUANLI_SERVER;
      delete process.env.SUANLI_TOKEN;
    }
    assert.equal((await inProcess(['org', 'list'])).code, 0, 'the saved login again');
  });

  test('a config file that is not the expected JSON is named, exit 2', async () => {
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{"server": 8040');
    process.env.SUANLI_CONFIG = broken;
    try {
      await fails(2, new RegExp(`^suanli: the config file ${broken} is not JSON`), 'org', 'list');
    } finally {
      process.env.SUANLI_CONFIG = config;
    }
  });

  test('--help shows examples for every client command', async () => {
    const commands = [['login'], ['logout'], ['ledger'], ...['create', 'list', 'show'].map((c) => ['org', c]), ...['create', 'list', 'revoke'].map((c) => ['token', c]), ...['create', 'list', 'show', 'update'].map((c) => ['site', c]), ...['submit', 'list', 'show', 'cancel', 'dry-run'].map((c) => ['job', c])];
    for (const cmd of commands) {
      const r = await inProcess([...cmd, '--help']);
      assert.equal(r.code, 0, cmd.join(' '));
      assert.match(r.out, new RegExp(`Examples:\\n\\s+.*suanli ${cmd.join(' ')}`), cmd.join(' '));
    }
  });

  test('logout forgets the saved login', async () => {
    assert.equal((await inProcess(['logout'])).out, `logged out: removed ${config}`);
    await assert.rejects(stat(config), { code: 'ENOENT' });
    await fails(2, /^suanli: no server to talk to/, 'org', 'list');
    assert.deepEqual(await json('logout'), { config_file: config, removed: false });
  });
});
