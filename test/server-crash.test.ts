// Durability under SIGKILL: a real `suanli serve` process on the embedded store is
// killed at random moments during a burst of submissions, restarted, and killed
// again. Clients retry every submission they were not answered for, with the same
// Idempotency-Key. At the end, what clients were told must be exactly what the store
// holds: every acknowledged job present with the id it was acknowledged with, and
// no submission stored twice.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore } from '../src/store/index.ts';
import { Rng } from '../src/sim/rng.ts';

const ADMIN = `sl_crashtest_${'x'.repeat(40)}`;
const BIN = join(import.meta.dirname, '..', 'bin', 'suanli.js');

interface Running {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<void>;
}

/** Starts `suanli serve` on a free port and resolves once it prints its URL. */
function startServer(dataDir: string): Promise<Running> {
  const child = spawn(process.execPath, [BIN, 'serve', '--data-dir', dataDir, '--port', '0', '--log-level', 'error'], {
    env: { ...process.env, SUANLI_ADMIN_TOKEN: ADMIN, DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[^\s]+?)(?: |$)/m.exec(out);
      if (m?.[1]) resolve({ child, url: m[1].replace(/[—,;]$/, ''), exited });
    });
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => reject(new Error(`suanli serve exited (${code}) before listening:\n${out}\n${err}`)));
  });
}

async function submit(url: string, key: string): Promise<string | null> {
  try {
    const res = await fetch(`${url}/api/v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ name: key, org_id: 'crash', gpus: 1, estimate_s: 60 }),
    });
    if (res.status !== 200 && res.status !== 201) throw new Error(`submission ${key}: HTTP ${res.status} ${await res.text()}`);
    return ((await res.json()) as { id: string }).id;
  } catch (e) {
    // A connection refused or reset by the kill: not acknowledged, so the client retries.
    if (e instanceof TypeError) return null;
    throw e;
  }
}

test('SIGKILL during a burst of submissions loses no acknowledged job and duplicates none', { timeout: 180_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'suanli-crash-'));
  const rng = new Rng(20261126);
  const acked = new Map<string, string>();
  const unanswered = new Set<string>();
  let next = 0;
  try {
    let server = await startServer(dataDir);
    const org = await fetch(`${server.url}/api/v1/orgs`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ id: 'crash', name: 'Crash test' }) });
    assert.equal(org.status, 201, await org.text());

    const kills = 4;
    for (let round = 0; round <= kills; round++) {
      const last = round === kills;
      let stop = false;
      // Eight clients, each retrying what it was not answered for before sending new submissions.
      const clients = Array.from({ length: 8 }, async () => {
        while (!stop) {
          const retry = [...unanswered][0];
          const key = retry ?? `job-${next++}`;
          unanswered.add(key);
          const id = await submit(server.url, key);
          if (id === null) return; // the server is gone: this round is over for this client
          const earlier = acked.get(key);
          assert.ok(earlier === undefined || earlier === id, `${key} was acknowledged as ${earlier}, then as ${id}`);
          acked.set(key, id);
          unanswered.delete(key);
          if (last && unanswered.size === 0) return;
        }
      });
      if (!last) {
        // Kill at a random point of the burst: after a random number of acknowledgements and a random few ms more.
        const target = acked.size + rng.int(20, 300);
        while (acked.size < target) await new Promise((r) => setTimeout(r, 5));
        await new Promise((r) => setTimeout(r, rng.int(0, 50)));
        server.child.kill('SIGKILL');
        stop = true;
        await Promise.all(clients);
        await server.exited;
        server = await startServer(dataDir);
      } else {
        await Promise.all(clients);
        server.child.kill('SIGTERM');
        await server.exited;
      }
    }
    assert.equal(unanswered.size, 0, 'every submission was answered in the end');
    assert.ok(acked.size >= 4 * 20, `a burst worth the name: ${acked.size} submissions`);

    const store = await openStore({ dataDir });
    try {
      const jobs = await store.listJobs({ orgId: 'crash', limit: 1_000_000 });
      const byName = new Map<string, string[]>();
      for (const j of jobs) byName.set(j.name, [...(byName.get(j.name) ?? []), j.id]);
      for (const [key, id] of acked) assert.deepEqual(byName.get(key), [id], `${key}: acknowledged as ${id}, stored as ${byName.get(key)?.join(', ') ?? 'nothing'}`);
      assert.equal(jobs.length, acked.size, 'no job the clients were not told about');
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
