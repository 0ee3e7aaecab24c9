// A hostile borrower's code on a lender's machines (item 11), end to end: a live control
// plane, the lender's real agent with the local executor as `suanli agent` builds it
// (its work dir hidden from contained runs), and a borrowed job whose command tries
// what a rival would — read the agent's token and state, write outside its directory,
// kill the lender's own run — next to that lender's own run, which is not sandboxed.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent } from '../../src/agent/agent.ts';
import { LocalExecutor } from '../../src/executors/local.ts';
import { LivePool, waitFor } from '../support/live-pool.ts';
import { sandboxMissing, skipWithoutSandbox } from '../support/sandbox.ts';
import { submitAs } from '../support/hostile.ts';

describe('a borrowed run on a lender’s machines is contained; the lender’s own run is not', () => {
  let pool: LivePool;
  let dir: string;
  let workDir: string;
  let agent: Agent;
  let executor: LocalExecutor;
  let missing: string | undefined;
  const tokenBefore = process.env.SUANLI_AGENT_TOKEN;

  before(async () => {
    missing = await sandboxMissing();
    if (missing !== undefined) return;
    pool = await LivePool.start();
    await pool.client.call('POST', '/orgs', { id: 'rival', name: 'A rival with no GPUs' });
    dir = mkdtempSync(join(tmpdir(), 'suanli-borrowed-'));
    workDir = join(dir, 'lender-agent');
    mkdirSync(workDir);
    // Where an operator keeps the agent's token, and the environment it is started with.
    writeFileSync(join(workDir, 'agent-token'), pool.agentToken, { mode: 0o600 });
    process.env.SUANLI_AGENT_TOKEN = pool.agentToken;
    // As `suanli agent` builds it: contained runs do not see the agent's work dir, /home or /root.
    executor = new LocalExecutor({ stateDir: join(workDir, 'state'), inventory: [{ gpuType: 'h100', nodes: 1, gpusPerNode: 8 }], pollMs: 100, killGraceMs: 300, sandbox: { hide: [workDir, '/home', '/root'] } });
    agent = new Agent({ server: pool.url, token: pool.agentToken, executor, workDir, heartbeatMs: 300, watchMs: 100, logEveryMs: 200, waitS: 2, maxBackoffMs: 500 });
    await agent.start();
  });
  after(async () => {
    if (tokenBefore === undefined) delete process.env.SUANLI_AGENT_TOKEN;
    else process.env.SUANLI_AGENT_TOKEN = tokenBefore;
    if (missing !== undefined) return;
    await agent.stop();
    for (const r of await executor.list()) await executor.cancel(r.handle);
    await executor.close();
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('it cannot read the agent’s token or state, write outside its directory, kill the lender’s run, or see the token in its environment', async (t) => {
    if (missing !== undefined) return skipWithoutSandbox(t, missing);
    // The lender's own run (unsandboxed, as its policy leaves own runs): it may write where the lender likes.
    const pidFile = join(dir, 'own.pid');
    const own = await submitAs(pool, 'acme', 4, ['sh', '-c', `echo $$ > ${pidFile}; echo "own env:\${SUANLI_AGENT_TOKEN:+set}"; exec sleep 60`]);
    await pool.until(own, 'running');
    const pid = Number(await waitFor('the own run’s pid', () => Promise.resolve(existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim() || undefined : undefined)));

    const outside = join(dir, 'written-by-borrower');
    const script = [
      `cat ${join(workDir, 'agent-token')} >/dev/null 2>&1 && echo READ-TOKEN || echo no-token`,
      `ls ${join(workDir, 'state', 'runs')} 2>/dev/null | grep -q . && echo SAW-STATE || echo no-state`,
      'touch /etc/suanli-pwned 2>/dev/null && echo WROTE-ETC || echo no-etc',
      `touch ${outside} 2>/dev/null && echo WROTE-OUTSIDE || echo no-outside`,
      `kill -9 ${pid} 2>/dev/null && echo KILLED || echo no-kill`,
      'echo "env:${SUANLI_AGENT_TOKEN:-unset}"',
      'echo "uid:$(id -u)"',
      'echo mine > ./mine && echo wrote-own-dir',
    ].join('; ');
    const borrowed = await submitAs(pool, 'rival', 4, ['sh', '-c', script]);
    const done = await pool.until(borrowed, 'succeeded');
    const tail = String(done.events.find((e) => e.type === 'succeeded')?.detail.log_tail);
    for (const line of ['no-token', 'no-state', 'no-etc', 'no-outside', 'no-kill', 'env:unset', 'uid:65534', 'wrote-own-dir']) assert.match(tail, new RegExp(`^${line}$`, 'm'), tail);
    assert.ok(!existsSync('/etc/suanli-pwned') && !existsSync(outside), 'nothing written outside its directory');
    // The lender's run is alive and still its job's current run.
    assert.doesNotThrow(() => process.kill(pid, 0), 'the lender’s own run was not killed');
    assert.equal((await pool.job(own)).state, 'running');
    await pool.client.call('POST', `/jobs/${own}/cancel`);
  });

  test('the lender may let borrowed work run unsandboxed: then it runs as the site’s own would', async (t) => {
    if (missing !== undefined) return skipWithoutSandbox(t, missing);
    await pool.client.call('PATCH', `/sites/${pool.siteId}`, { share: { sandbox_borrowed: false } });
    const marker = join(dir, 'unsandboxed');
    const id = await submitAs(pool, 'rival', 1, ['sh', '-c', `touch ${marker}; echo "uid:$(id -u)"`]);
    const done = await pool.until(id, 'succeeded');
    assert.ok(existsSync(marker), 'not sandboxed: it wrote where the lender allowed');
    assert.match(String(done.events.find((e) => e.type === 'succeeded')?.detail.log_tail), new RegExp(`^uid:${process.getuid?.() ?? ''}$`, 'm'));
  });
});
