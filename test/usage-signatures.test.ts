// The agent's signatures of usage records, through the heartbeat: those of what the
// control plane last asked the site to sign (kept in memory), and those of what an
// earlier control plane process asked (read from the store); a signature sent again,
// or one that does not verify, logs nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildServer } from '../src/server/app.ts';
import { openStore } from '../src/store/index.ts';
import { bookRuns, recordSignature, siteRecordKey } from './support/usage-log.ts';

type Api = Awaited<ReturnType<typeof buildServer>>;
interface Answer {
  usage_to_sign: { id: number; record: string }[];
}

test('signatures of records asked for by this process or an earlier one are logged, each once; a bad one is not', async () => {
  const store = await openStore({ memory: true });
  const servers: Api[] = [];
  try {
    const serve = async () => {
      const app = await buildServer({ store, schedule: false });
      servers.push(app);
      return app;
    };
    const first = await serve();
    const admin = { authorization: `Bearer ${first.suanli.adminToken ?? ''}` };
    const call = async <T>(app: Api, url: string, payload: object, headers = admin): Promise<T> => {
      const res = await app.inject({ method: 'POST', url, payload, headers });
      assert.ok(res.statusCode < 300, `${url}: ${res.statusCode} ${res.body}`);
      return res.json<T>();
    };
    await call(first, '/api/v1/orgs', { id: 'acme', name: 'Acme' });
    const capacity = [{ gpu_type: 'h100', nodes: 1, gpus_per_node: 8 }];
    const site = await call<{ id: string }>(first, '/api/v1/sites', { name: 'acme lab', org_id: 'acme', capacity });
    const agent = { authorization: `Bearer ${(await call<{ token: string }>(first, '/api/v1/tokens', { name: 'agent', role: 'agent', org_id: 'acme', site_id: site.id })).token}` };
    const [job] = await store.submitJobs([{ orgId: 'acme', name: 'j', demand: { gpus: 1, gpuTypes: ['h100'], gang: true, estimateS: 60, priority: 0, preemptible: true, checkpointIntervalS: null, command: null, plan: null }, submittedBy: 't', submittedAt: 0, idempotencyKey: null }]);
    const t0 = Date.now();
    await bookRuns(store, [1, 2, 3].map((attempt) => ({ jobId: job!.job.id, attempt, siteId: site.id, consumerOrgId: 'acme', providerOrgId: 'acme', gpuType: 'h100', gpus: 1, startAt: t0, at: t0 + 1000, gpuSeconds: 1, outcome: 'succeeded' as const })));
    const key = siteRecordKey();
    const heartbeat = (app: Api, usage_signatures: { id: number; signature: string }[]) =>
      call<Answer>(app, '/api/v1/agent/heartbeat', { capacity, runs: [], sandbox_capable: false, site_key: key.verifierKey, usage_signatures, usage_refused: [] }, agent);
    const sign = (u: { id: number; record: string }) => ({ id: u.id, signature: recordSignature(key.signer, u.record).base64 });

    // Asked by the first process; signed to the second (which never asked): read from the store.
    const asked = (await heartbeat(first, [])).usage_to_sign;
    assert.equal(asked.length, 3);
    await first.close();
    const second = await serve();
    const [a, b, c] = asked;
    const wrong = { id: c!.id, signature: recordSignature(key.signer, `${c!.record}tampered\n`).base64 };
    const next = await heartbeat(second, [sign(a!), sign(b!), wrong]);
    assert.equal(await store.logSize(), 2, 'the two good signatures logged, the one over another text not');
    assert.deepEqual(next.usage_to_sign.map((u) => u.id), [c!.id], 'the third asked for again');
    // The same signatures again (a replay), and the third's, of what this process asked: one more entry.
    await heartbeat(second, [sign(a!), sign(b!), sign(next.usage_to_sign[0]!)]);
    assert.equal(await store.logSize(), 3);
    const logged = await store.logEntries(0, 10);
    assert.deepEqual(logged.map((e) => e.entryId).sort((x, y) => x - y), asked.map((u) => u.id).sort((x, y) => x - y), 'each entry once');
    assert.deepEqual((await heartbeat(second, [])).usage_to_sign, []);
  } finally {
    for (const app of servers) await app.close();
    await store.close();
  }
});
