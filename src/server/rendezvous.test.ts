import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Placement } from '../store/types.ts';
import { ApiError } from './errors.ts';
import { checkEndpoints, Rendezvous, RendezvousTokens } from './rendezvous.ts';

const placement = (...sites: string[]): Placement => ({
  jobId: '7', attempt: 2, parts: sites.map((siteId) => ({ siteId, gpuType: 'h100', gpus: siteId === 'big' ? 16 : 8, nodes: 1 })),
  placedAt: 0, startedAt: null, endedAt: null,
});
const code = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return err instanceof ApiError ? `${err.status} ${err.field ?? ''}` : String(err);
  }
};

test('rendezvous tokens: what one control plane mints it opens; tampered, foreign or mangled ones are refused with 401', () => {
  const tokens = new RendezvousTokens('PRIVATE+KEY+suanli-ledger+abc+secret');
  const part = { jobId: '7', attempt: 2, siteId: 'lab-0badc0de' };
  const t = tokens.mint(part);
  assert.deepEqual(tokens.open(t), part);
  assert.notEqual(tokens.mint(part), t, 'a fresh nonce each time');
  assert.doesNotMatch(Buffer.from(t.slice(4), 'base64url').toString('latin1'), /lab-0badc0de/, 'the site id is sealed');
  const flipped = `${t.slice(0, 10)}${t[10] === 'A' ? 'B' : 'A'}${t.slice(11)}`;
  for (const bad of [flipped, new RendezvousTokens('another key').mint(part), 'srz_', 'srz_!!!', 'sl_x_y', undefined, `srz_${'A'.repeat(600)}`]) {
    assert.equal(code(() => tokens.open(bad)), '401 header.authorization', String(bad).slice(0, 20));
  }
});

test('endpoints: host:port within the declared addresses and ports; anything else is refused naming the endpoint', () => {
  const declared = { addresses: ['10.1.0.2', 'fd00::2', 'gw.example'], ports: { from: 29_500, to: 29_599 } };
  assert.deepEqual(checkEndpoints(['10.1.0.2:29500', '[fd00::2]:29599', 'gw.example:29550'], declared), ['10.1.0.2:29500', '[fd00::2]:29599', 'gw.example:29550']);
  assert.equal(code(() => checkEndpoints(['10.1.0.3:29500'], declared)), '400 endpoints[0]');
  assert.equal(code(() => checkEndpoints(['10.1.0.2:29500', '10.1.0.2:29600'], declared)), '400 endpoints[1]');
  assert.equal(code(() => checkEndpoints(['fd00::2:29500'], declared)), '400 endpoints[0]', 'an IPv6 address goes in brackets');
  assert.equal(code(() => checkEndpoints(['[gw.example]:29500'], declared)), '400 endpoints[0]');
  assert.equal(code(() => checkEndpoints([], declared)), '400 endpoints');
  assert.equal(code(() => checkEndpoints(['10.1.0.2:29500'], null)), '400 endpoints', 'a site that declared none');
});

test('membership: ready once every part published; a new generation when a part leaves; barriers are woken by a publish', async () => {
  const r = new Rendezvous();
  const label = (id: string) => `org:${id}`;
  const generations: number[] = [];
  const three = placement('big', 'a', 'b');
  const before = r.membership(three, 8, label);
  assert.deepEqual([before.ready, before.generation, before.waitingFor], [false, 0, ['org:big', 'org:a', 'org:b']]);
  const woken = r.wait('7', 2, 5000);
  const t0 = performance.now();
  r.publish({ jobId: '7', attempt: 2, siteId: 'big' }, ['10.0.0.1:1']);
  await woken;
  assert.ok(performance.now() - t0 < 1000, 'a publish wakes the barrier');
  r.publish({ jobId: '7', attempt: 2, siteId: 'a' }, ['10.0.0.2:1']);
  r.publish({ jobId: '7', attempt: 2, siteId: 'b' }, ['10.0.0.3:1']);
  const all = r.membership(three, 8, label, (g) => generations.push(g));
  assert.deepEqual([all.ready, all.generation], [true, 1]);
  assert.deepEqual(all.members.map((m) => [m.index, m.site, m.replicas, m.share]), [[0, 'org:big', 2, 0.5], [1, 'org:a', 1, 0.25], [2, 'org:b', 1, 0.25]], 'uneven sites weigh by their replicas');
  assert.equal(r.membership(three, 8, label, (g) => generations.push(g)).generation, 1, 'the same parts: the same generation');
  // Site a leaves (a shrink): the others get generation 2 without it.
  const shrunk = r.membership(placement('big', 'b'), 8, label, (g) => generations.push(g));
  assert.deepEqual([shrunk.generation, shrunk.members.map((m) => m.site), shrunk.members.map((m) => m.share)], [2, ['org:big', 'org:b'], [2 / 3, 1 / 3]]);
  assert.deepEqual(generations, [1, 2], 'each new generation told once');
  assert.deepEqual(r.membership(placement(), 8, label), { generation: 0, ready: false, members: [], waitingFor: [] }, 'no parts: no rendezvous');
  // The attempt ends: swept.
  r.sweep(() => false);
  assert.equal(r.size, 0);
});
