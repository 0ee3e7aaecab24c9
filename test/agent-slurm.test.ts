// A site agent with the Slurm executor against a real Slurm 22.05 (2 nodes × 8 fake
// h100 GPUs) started here by the project's own scripts, and a live control plane:
// the site's capacity comes from Slurm, a gang across both nodes is one multi-node
// Slurm job, a job scancelled behind Suanli's back is reported failed and retried
// per its max_retries, and a job cancelled through the API is stopped in Slurm.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { Agent } from '../src/agent/agent.ts';
import { jobName, SlurmExecutor } from '../src/executors/slurm.ts';
import { runId } from '../src/executors/types.ts';
import { SiteResponse } from '../src/server/schemas.ts';
import { LivePool, waitFor } from './support/live-pool.ts';
import { skipWithoutSlurm, slurmMissing, startSlurm, type Slurm } from './support/slurm.ts';

const missing = slurmMissing();
let slurm: Slurm | undefined;
let pool: LivePool | undefined;
let agent: Agent | undefined;
let executor: SlurmExecutor | undefined;
const scratch = mkdtempSync(join(tmpdir(), 'suanli-agent-slurm-'));

before(async () => {
  if (missing !== undefined) return;
  slurm = await startSlurm({ nodes: 2, gpusPerNode: 8, gpuType: 'h100' });
  // Declared larger than Slurm has (two nodes more, say, being installed): the agent's heartbeat brings what Slurm says.
  pool = await LivePool.start({}, undefined, [{ gpu_type: 'h100', nodes: 4, gpus_per_node: 8 }]);
  executor = new SlurmExecutor({ url: slurm.restUrl, user: 'root', token: slurm.token });
  agent = new Agent({ server: pool.url, token: pool.agentToken, executor, workDir: scratch, heartbeatMs: 300, watchMs: 200, waitS: 2, maxBackoffMs: 500 });
  await agent.start();
});
after(async () => {
  await agent?.stop();
  await executor?.close();
  await pool?.close();
  await slurm?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

function need(t: TestContext): { slurm: Slurm; pool: LivePool } | undefined {
  if (missing !== undefined) {
    skipWithoutSlurm(t, missing);
    return undefined;
  }
  if (slurm === undefined || pool === undefined) throw new Error('Slurm or the control plane did not start (see the before hook)');
  return { slurm, pool };
}

/** The Slurm jobs named `name` (a run's Slurm job name) that are not finished. */
async function liveSlurmJobs(s: Slurm, name: string): Promise<string[]> {
  const out = await s.command('squeue', '--noheader', '--name', name, '--states', 'PENDING,RUNNING,CONFIGURING,COMPLETING', '--format', '%i');
  return out.split('\n').filter((l) => l.trim() !== '');
}

test('the site’s usable capacity is what Slurm has (2 nodes of 8 h100), within what its org-admin declared (4)', async (t) => {
  const ctx = need(t);
  if (ctx === undefined) return;
  const site = await waitFor('capacity from Slurm', async () => {
    const s = SiteResponse.parse(await ctx.pool.client.call('GET', `/sites/${ctx.pool.siteId}`));
    return s.health === 'up' && s.reported_capacity?.[0]?.nodes === 2 ? s : undefined;
  });
  assert.deepEqual([site.capacity, site.reported_capacity], [[{ gpu_type: 'h100', nodes: 4, gpus_per_node: 8 }], [{ gpu_type: 'h100', nodes: 2, gpus_per_node: 8 }]]);
});

test('a gang of 16 GPUs runs as one Slurm job across both nodes', async (t) => {
  const ctx = need(t);
  if (ctx === undefined) return;
  await waitFor('capacity from Slurm', async () => (SiteResponse.parse(await ctx.pool.client.call('GET', `/sites/${ctx.pool.siteId}`)).reported_capacity?.[0]?.nodes === 2 ? true : undefined));
  const id = await ctx.pool.submit(['/bin/sh', '-c', 'echo "rank on $(hostname)"'], 16);
  const done = await ctx.pool.until(id, 'succeeded');
  const tail = String(done.events.find((e) => e.type === 'succeeded')?.detail.log_tail);
  assert.equal(tail.match(/rank on/g)?.length, 2, `one line per node: ${tail}`);
  assert.deepEqual(done.placements[0]?.parts.map((p) => [p.gpus, p.nodes]), [[16, 2]]);
});

test('scancel behind Suanli’s back: the run is reported failed (cancelled outside) and retried; an API cancel then stops it in Slurm', async (t) => {
  const ctx = need(t);
  if (ctx === undefined) return;
  const id = await ctx.pool.submit(['/bin/sh', '-c', 'sleep 300'], 2, { max_retries: 1 });
  await ctx.pool.until(id, 'running');
  const [first] = await liveSlurmJobs(ctx.slurm, jobName(runId(id, 1)));
  assert.ok(first !== undefined, 'attempt 1 is a Slurm job');
  await ctx.slurm.command('scancel', first);

  const second = await waitFor('attempt 2 running', async () => {
    const j = await ctx.pool.job(id);
    return j.attempts === 2 && j.state === 'running' ? j : undefined;
  }, 60_000);
  const failed = second.events.find((e) => e.type === 'run_failed');
  assert.deepEqual([failed?.detail.reason, failed?.detail.retry], ['cancelled_outside', '1 of 1'], JSON.stringify(failed));
  assert.equal((await liveSlurmJobs(ctx.slurm, jobName(runId(id, 2)))).length, 1);

  await ctx.pool.client.call('POST', `/jobs/${id}/cancel`);
  await waitFor('attempt 2 stopped in Slurm', async () => ((await liveSlurmJobs(ctx.slurm, jobName(runId(id, 2)))).length === 0 ? true : undefined), 30_000);
  assert.equal((await ctx.pool.job(id)).state, 'cancelled');
});
