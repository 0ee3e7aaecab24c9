// A job that spans sites, for real (issue 15): two sites, each a network namespace with its
// own agent process, joined by one link shaped with `tc tbf`; the control plane (`suanli
// serve`) in the root namespace. A DiLoCo job (examples/diloco, PyTorch on CPU, gloo) runs
// across both sites: it runs on both, its loss falls, and what its parts measured — each
// outer step's synchronization seconds and the compute utilization — is within ±20% of what
// `suanli plan span` plans for the same model size, H, bytes per parameter and shaped
// bandwidth, at a bandwidth where compute dominates and one where communication does. The
// plan's inner-step time is measured first, on both sites at once (diloco.py
// --measure-inner-step). Then the owner of one site reclaims it mid-run: the other part
// meets under a new membership and trains on alone to the end.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ControlPlaneClient } from '../src/agent/control-plane-client.ts';
import { JobDetailResponse, JobResponse } from '../src/server/schemas.ts';
import { BIN, inProcess } from './support/cli.ts';
import { waitFor } from './support/live-pool.ts';
import { createTwoSites, inSite, NET_SITES, netnsMissing, removeTwoSites, SERVER_ADDRESS, shapeLink } from './support/netns.ts';
import { serve, type Running } from './support/serve.ts';

const PYTHON = '/usr/bin/python3';
const DILOCO = join(import.meta.dirname, '..', 'examples', 'diloco', 'diloco.py');
/** The model and its DiLoCo: an MLP 512 wide (280,065 parameters, 1.12 MB of FP32 pseudo-gradient), H = 40. */
const MODEL = ['--hidden', '512', '--batch', '64'];
const H = 40;
const BYTES_PER_PARAM = 4;
/** Where compute dominates (about 90% utilization) and where communication does (about 55%). */
const BANDWIDTHS_MBIT = [100, 10] as const;
const TOLERANCE = 0.2;

const noTorch = () => (spawnSync(PYTHON, ['-c', 'import torch.distributed as d; assert d.is_gloo_available()']).status === 0 ? undefined : 'PyTorch with gloo is not installed for /usr/bin/python3 (Debian: python3-torch)');
const missing = () => netnsMissing() ?? noTorch();

interface Measured {
  outer_steps: number;
  utilization: number;
  per_outer_step: { compute_s: number; sync_s: number; wait_s: number };
  first_loss: number | null;
  last_loss: number | null;
  parts: { site_id: string; steps: number; compute_s: number; sync_s: number }[];
}

describe('a DiLoCo job across two sites in network namespaces joined by a shaped link', { skip: process.env.CI === 'true' ? false : missing() }, () => {
  let dir: string;
  let server: Running | undefined;
  let admin: ControlPlaneClient;
  let token = '';
  const agents: ChildProcess[] = [];
  const agentOut: string[] = ['', ''];
  const siteIds: string[] = [];

  before(async () => {
    const why = missing();
    if (why !== undefined) throw new Error(why);
    dir = mkdtempSync(join(tmpdir(), 'suanli-netns-'));
    createTwoSites();
    shapeLink(BANDWIDTHS_MBIT[0]);
    server = await serve(join(dir, 'cp'), {}, BIN, ['--host', SERVER_ADDRESS, '--pass-interval', '0.2']);
    token = /admin token \(shown only now; keep it safe\): (\S+)/.exec(server.out())?.[1] ?? '';
    assert.ok(token !== '', server.out());
    admin = new ControlPlaneClient({ server: server.url, token });
    // acme lends its site; beta's job spans acme's and its own. Each site's runs take the other's parts on the shaped link.
    for (const [i, org] of ['acme', 'beta'].entries()) {
      const site = NET_SITES[i];
      assert.ok(site !== undefined);
      await admin.call('POST', '/orgs', { id: org, name: org });
      const created = await admin.call<{ id: string }>('POST', '/sites', {
        name: `${org} lab`, org_id: org, capacity: [{ gpu_type: 'h100', nodes: 1, gpus_per_node: 8 }],
        span_endpoint: { addresses: [site.linkAddress], ports: { from: 31_000 + 100 * i, to: 31_099 + 100 * i } },
        share: { borrowed_network: 'host' },
      });
      siteIds.push(created.id);
    }
    await declareLink(BANDWIDTHS_MBIT[0]);
    for (const [i, site] of NET_SITES.entries()) {
      const id = siteIds[i] ?? '';
      const { token: agentToken } = await admin.call<{ token: string }>('POST', '/tokens', { name: `agent ${i}`, role: 'agent', org_id: i === 0 ? 'acme' : 'beta', site_id: id });
      const child = spawn(inSite(site, [])[0] ?? 'ip', [...inSite(site, [process.execPath, BIN, 'agent', '--server', server.url, '--gpus', 'h100:8', '--work-dir', join(dir, `agent-${i}`), '--heartbeat', '1']).slice(1)], {
        env: { ...process.env, SUANLI_AGENT_TOKEN: agentToken }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.on('data', (c: Buffer) => (agentOut[i] += c.toString()));
      child.stderr?.on('data', (c: Buffer) => (agentOut[i] += c.toString()));
      agents.push(child);
    }
    await waitFor('both agents heartbeating', async () => {
      const sites = await Promise.all(siteIds.map((id) => admin.call<{ health: string }>('GET', `/sites/${id}`)));
      return sites.every((s) => s.health === 'up') ? true : undefined;
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${agentOut.join('\n---\n')}`);
    });
  });

  after(async () => {
    for (const a of agents) a.kill('SIGTERM');
    await Promise.all(agents.map((a) => (a.exitCode === null ? new Promise((r) => a.once('exit', r)) : Promise.resolve())));
    await server?.stop('SIGTERM');
    removeTwoSites();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** Both sites declare the link between them at the bandwidth it is shaped to: what the scheduler plans with. */
  async function declareLink(mbit: number): Promise<void> {
    for (const [i, id] of siteIds.entries()) {
      await admin.call('PATCH', `/sites/${id}`, { wan_links: [{ to_site: siteIds[1 - i], gbps: mbit / 1000, latency_ms: 0.1 }] });
    }
  }

  const job = async (id: string) => JobDetailResponse.parse(await admin.call('GET', `/jobs/${id}`));
  const logOf = (id: string, site: number, attempt = 1) => {
    const path = join(dir, `agent-${site}`, 'logs', `${id}.${attempt}.log`);
    return existsSync(path) ? readFileSync(path, 'utf8') : '(no log)';
  };
  const ended = (id: string, timeoutMs: number) => waitFor(`job ${id} ended`, async () => {
    const j = await job(id);
    return ['succeeded', 'failed', 'cancelled'].includes(j.state) ? j : undefined;
  }, timeoutMs);

  /** One inner step's seconds at each site, both measuring at once (as they compute at once in the job). */
  async function innerStepSeconds(): Promise<{ params: number; seconds: number[] }> {
    const runs = NET_SITES.map((site) => new Promise<string>((resolve, reject) => {
      const argv = inSite(site, [PYTHON, DILOCO, ...MODEL, '--measure-inner-step', '30']);
      const child = spawn(argv[0] ?? '', argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`diloco.py --measure-inner-step exited ${code}: ${out}`))));
    }));
    const answers = (await Promise.all(runs)).map((out) => JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { params: number; inner_step_s: number });
    return { params: answers[0]?.params ?? 0, seconds: answers.map((a) => a.inner_step_s) };
  }

  test('it runs on both sites, the loss falls, and each outer step’s synchronization and the utilization are within ±20% of `suanli plan span`, compute-bound and communication-bound', { timeout: 300_000 }, async () => {
    const rows: string[] = [];
    for (const mbit of BANDWIDTHS_MBIT) {
      shapeLink(mbit);
      await declareLink(mbit);
      const step = await innerStepSeconds();
      const plan = await inProcess([
        'plan', 'span', '--params', String(step.params), '--seq-len', '1', '--batch-tokens', '64', '--steps', '1000',
        '--site', 'a:measured:1', '--site', 'b:measured:1', '--step-time', `a=${step.seconds[0]}`, '--step-time', `b=${step.seconds[1]}`,
        '--wan', `a-b:${mbit / 1000}:0.1`, '--inner-steps', String(H), '--bytes-per-param', String(BYTES_PER_PARAM), '--stragglers', 'wait', '--json',
      ]);
      assert.equal(plan.code, 0, plan.err);
      const planned = JSON.parse(plan.out) as { sync_seconds: number; compute_utilization: number; verdict: string };

      const span = { replica_gpus: 8, params: step.params, bytes_per_param: BYTES_PER_PARAM, outer_step_s: H * Math.max(...step.seconds), min_efficiency: 0.05, max_single_site_wait_s: 0 };
      const id = JobResponse.parse(await admin.call('POST', '/jobs', { name: `diloco ${mbit} Mbit/s`, org_id: 'beta', gpus: 16, estimate_s: 600, command: [PYTHON, DILOCO, ...MODEL, '--inner-steps', String(H), '--outer-steps', '6'], span })).id;
      const done = await ended(id, 150_000);
      const logs = [0, 1].map((i) => logOf(id, i, done.attempts));
      assert.equal(done.state, 'succeeded', `${logs.join('\n---\n')}\n${agentOut.join('\n---\n')}`);
      // (a) on both sites: both agents ran a part, and the parts met as one group of two.
      for (const log of logs) assert.match(log, /part [01] of 2 \(share 0\.50\), generation 1/);
      assert.deepEqual(new Set(done.placements.at(-1)?.parts.map((p) => p.site_id)), new Set(siteIds));
      // (b) the loss falls.
      const m = done.measured as Measured | null;
      assert.ok(m !== null && m.first_loss !== null && m.last_loss !== null, JSON.stringify(done.measured));
      assert.ok(m.last_loss < m.first_loss * 0.8, `the loss falls: ${m.first_loss} → ${m.last_loss}`);
      assert.equal(m.outer_steps, 6);
      // (c) measured against planned: the exchange itself (each part's synchronization less its wait for the slower part
      // at the barrier before it, which the plan counts as straggler wait, not synchronization), and the utilization.
      const syncPerStep = m.per_outer_step.sync_s - m.per_outer_step.wait_s;
      const syncError = syncPerStep / planned.sync_seconds - 1;
      const utilizationError = m.utilization / planned.compute_utilization - 1;
      const row = `${String(mbit).padStart(4)} Mbit/s  sync ${syncPerStep.toFixed(3)} s vs ${planned.sync_seconds.toFixed(3)} s planned (${(syncError * 100).toFixed(1)}%)  utilization ${(m.utilization * 100).toFixed(1)}% vs ${(planned.compute_utilization * 100).toFixed(1)}% planned (${(utilizationError * 100).toFixed(1)}%; the scheduler planned ${((done.measured?.planned_utilization ?? 0) * 100).toFixed(1)}%)  ${planned.verdict}  loss ${m.first_loss.toFixed(4)} → ${m.last_loss.toFixed(4)}`;
      rows.push(row);
      const shown = await inProcess(['job', 'show', id, '--server', server?.url ?? '', '--token', token]);
      assert.match(shown.out, /measured \(attempt \d+, 6 outer steps\): utilization [\d.]+%, planned [\d.]+%; loss .*\n {2}per outer step: compute .* s, synchronization .* s \(of which .* s waiting for slower parts\)/);
      rows.push(`  suanli job show: ${shown.out.slice(shown.out.indexOf('measured (')).split('\n').slice(0, 2).join('\n  ')}`);
      assert.ok(Math.abs(syncError) <= TOLERANCE, `at ${mbit} Mbit/s: ${row}`);
      assert.ok(Math.abs(utilizationError) <= TOLERANCE, `at ${mbit} Mbit/s: ${row}`);
    }
    console.log(`DiLoCo across two namespaces, measured against suanli plan span (H = ${H}, FP32):\n${rows.join('\n')}`);
  });

  test('the owner of one site reclaims it mid-run: that part stops at the notice, the other meets under a new membership and trains on alone to the end', { timeout: 300_000 }, async () => {
    shapeLink(BANDWIDTHS_MBIT[0]);
    await declareLink(BANDWIDTHS_MBIT[0]);
    const span = { replica_gpus: 8, params: 280_065, bytes_per_param: BYTES_PER_PARAM, outer_step_s: 1, min_efficiency: 0.05, max_single_site_wait_s: 0 };
    const id = JobResponse.parse(await admin.call('POST', '/jobs', { name: 'diloco shrinks', org_id: 'beta', gpus: 16, estimate_s: 600, command: [PYTHON, DILOCO, ...MODEL, '--inner-steps', '10', '--outer-steps', '40'], span })).id;
    await waitFor('a few outer steps', async () => (((await job(id)).measured?.outer_steps ?? 0) >= 3 ? true : undefined), 90_000);
    // acme takes its GPUs back for a job of its own.
    const own = JobResponse.parse(await admin.call('POST', '/jobs', { name: 'own', org_id: 'acme', gpus: 8, estimate_s: 60, command: ['true'] })).id;
    const done = await ended(id, 150_000);
    const betaLog = logOf(id, 1);
    assert.equal(done.state, 'succeeded', `${logOf(id, 0)}\n---\n${betaLog}`);
    assert.equal((await ended(own, 30_000)).state, 'succeeded');
    const memberships = done.events.filter((e) => e.type === 'membership').map((e) => ({ generation: e.detail.generation, sites: [...(e.detail.sites as string[])].sort() }));
    assert.deepEqual(memberships, [{ generation: 1, sites: [...siteIds].sort() }, { generation: 2, sites: [siteIds[1]] }]);
    assert.ok(done.events.some((e) => e.type === 'shrunk'), JSON.stringify(done.events.map((e) => e.type)));
    assert.match(betaLog, /a part left .*; meeting the others again\npart 0 of 1 \(share 1\.00\), generation 2/);
    const losses = [...betaLog.matchAll(/outer step \d+: loss ([\d.]+)/g)].map((x) => Number(x[1]));
    assert.ok(losses.length >= 40 && (losses.at(-1) ?? 1) < (losses[0] ?? 0) * 0.5, `it trained on to the end and the loss fell: ${losses.length} steps, ${losses[0]} → ${losses.at(-1)}`);
  });
});
