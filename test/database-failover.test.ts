// The loss of the PostgreSQL primary (issue 17). A primary with a streaming standby in
// synchronous mode (synchronous_standby_names '*', synchronous_commit on: a commit returns
// once the standby has it), `suanli serve` on it through a TCP proxy standing for the
// address a deployment moves to the new primary (a virtual IP, or HAProxy under Patroni),
// a real agent, and a client submitting with idempotency keys. Mid-burst the primary is
// killed (pg_ctl -m immediate), the standby promoted and the proxy pointed at it: the
// control plane reconnects by itself and goes on, and every acknowledged job is there,
// once, and runs once. The figures are printed.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { newKeyPair } from '../src/server/log-keys.ts';
import { BIN } from './support/cli.ts';
import { FailoverClient } from './support/failover-client.ts';
import { postgresMissing, skipWithoutPostgres, startPostgres, startStandby, type Postgres } from './support/postgres.ts';
import { serve, type Running } from './support/serve.ts';
import { TcpProxy } from './support/tcp-proxy.ts';

const ADMIN = `sl_dbfailover_${'d'.repeat(40)}`;

const missing = postgresMissing();
if (missing !== undefined) {
  test('the PostgreSQL primary lost', (t) => skipWithoutPostgres(t, missing));
} else {
  let primary: Postgres | undefined;
  let standby: (Postgres & { promote(): Promise<void> }) | undefined;
  let proxy: TcpProxy | undefined;
  let server: Running | undefined;
  let agent: ChildProcess | undefined;
  let agentLog = '';
  const dir = mkdtempSync(join(tmpdir(), 'suanli-dbfailover-'));

  before(async () => {
    primary = await startPostgres();
    standby = await startStandby(primary);
    await primary.sql(`alter system set synchronous_standby_names = '*'`);
    await primary.sql('select pg_reload_conf()');
    await primary.sql('alter database app set synchronous_commit = on');
    proxy = await TcpProxy.start(`http://127.0.0.1:${primary.port}`);
  });

  after(async () => {
    agent?.kill('SIGTERM');
    await server?.stop('SIGTERM');
    await proxy?.close();
    await standby?.stop();
    await primary?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the primary killed mid-burst, the standby promoted: the control plane reconnects and goes on; no acknowledged job lost or stored twice, none run twice', async () => {
    assert.ok(primary !== undefined && standby !== undefined && proxy !== undefined);
    const databaseUrl = `postgres://postgres@127.0.0.1:${new URL(proxy.url).port}/app`;
    // The standby is attached, and synchronous (once the primary has reloaded its configuration).
    const check = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${primary.port}/app` });
    await check.connect();
    const states = async () => (await check.query<{ sync_state: string }>('select sync_state from pg_stat_replication')).rows.map((r) => r.sync_state);
    for (let i = 0; i < 100 && (await states()).join() !== 'sync'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await states(), ['sync']);
    await check.end();

    server = await serve(join(dir, 'serve'), { DATABASE_URL: databaseUrl, SUANLI_ADMIN_TOKEN: ADMIN, SUANLI_LOG_KEY: newKeyPair('suanli-ledger').signerKey }, BIN, ['--lease', '3s']);
    const running = server;
    const client = new FailoverClient(() => [running.url], ADMIN, 'acme', join(dir, 'ran'));
    assert.equal((await client.call('POST', '/orgs', { id: 'acme', name: 'Acme' })).status, 201);
    const site = (await client.call('POST', '/sites', { name: 'lab', org_id: 'acme', capacity: [{ gpu_type: 'h100', nodes: 1, gpus_per_node: 8 }] })).json as { id: string };
    const token = ((await client.call('POST', '/tokens', { name: 'agent', role: 'agent', org_id: 'acme', site_id: site.id })).json as { token: string }).token;
    agent = spawn(process.execPath, [BIN, 'agent', '--server', running.url, '--token', token, '--gpus', 'h100:8', '--work-dir', join(dir, 'agent'), '--heartbeat', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stdout?.on('data', (c: Buffer) => (agentLog += c.toString()));
    agent.stderr?.on('data', (c: Buffer) => (agentLog += c.toString()));

    let outage = 0;
    await client.burst(120, 40, async () => {
      const t0 = performance.now();
      await primary?.kill();
      await standby?.promote();
      proxy?.retarget(`http://127.0.0.1:${standby?.port ?? 0}`);
      // Back when a submission is acknowledged again.
      await client.submit();
      outage = (performance.now() - t0) / 1000;
      console.log(`primary killed, standby promoted: submissions acknowledged again after ${outage.toFixed(2)} s`);
    });
    assert.ok(outage > 0 && outage < 30, `${outage.toFixed(2)} s`);
    await client.allRanOnce('after the primary was lost', () => agentLog);
  });
}
