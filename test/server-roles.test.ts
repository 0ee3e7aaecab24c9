// The permission matrix, walked whole: every endpoint × every role (and no token)
// × an object of the caller's own org and one of another org, each with the exact
// status expected. Written out here independently of src/server/permissions.ts, so
// that a change to the table shows up as a failing cell.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { z } from 'zod';
import { ErrorResponse, JobListResponse, OrgListResponse, SiteListResponse, TokenCreatedResponse, WitnessResponse } from '../src/server/schemas.ts';
import { cosignatureSigner, generateCosignerKey } from '../src/ledger/cosignature.ts';
import { parseNote, signNote } from '../src/ledger/note.ts';
import { newKeyPair } from '../src/server/log-keys.ts';
import { type Call, TestServer } from './support/server.ts';

type Caller = 'admin' | 'org-admin' | 'member' | 'agent' | 'none';
const CALLERS: readonly Caller[] = ['admin', 'org-admin', 'member', 'agent', 'none'];
type Org = 'acme' | 'beta';

interface Request extends Call {
  readonly method: string;
  readonly url: string;
}

/** Callers belong to acme: "own" targets acme's objects, "other" beta's. The admin belongs to no org. */
const OWN: Org = 'acme';
const OTHER: Org = 'beta';

/** [own, other] per caller. */
type Row = Readonly<Record<Caller, readonly [number, number]>>;
const row = (admin: [number, number], orgAdmin: [number, number], member: [number, number], agent: [number, number]): Row => ({ admin, 'org-admin': orgAdmin, member, agent, none: [401, 401] });
const OK = 200;
const NEW = 201;

let s: TestServer;
const sites = new Map<Org, string>();
const tokens = new Map<Caller, string | null>();
let fresh = 0;

/** A new witness key; one registered for `org` (by the admin). */
const witnessKey = () => generateCosignerKey(`witness-${++fresh}`, new Uint8Array(randomBytes(32)));
const keyOf = (verifierKey: string) => verifierKey.split('+').slice(0, 2).join('+');
async function registeredWitness(org: Org) {
  const key = witnessKey();
  await s.ok(WitnessResponse, 201, 'POST', '/api/v1/ledger/witnesses', { body: { verifier_key: key.verifierKey, org_id: org } });
  return key;
}

/** Per endpoint: the request against an object of `org`, made afresh for each call where the call uses it up. */
const ENDPOINTS: Readonly<Record<string, { expect: Row; request: (org: Org) => Promise<Request> }>> = {
  'POST /api/v1/orgs': {
    expect: row([NEW, NEW], [403, 403], [403, 403], [403, 403]),
    request: () => Promise.resolve({ method: 'POST', url: '/api/v1/orgs', body: { name: `new org ${++fresh}` } }),
  },
  'GET /api/v1/orgs': { expect: row([OK, OK], [OK, OK], [OK, OK], [403, 403]), request: () => Promise.resolve({ method: 'GET', url: '/api/v1/orgs' }) },
  'GET /api/v1/orgs/{id}': { expect: row([OK, OK], [OK, 404], [OK, 404], [403, 403]), request: (org) => Promise.resolve({ method: 'GET', url: `/api/v1/orgs/${org}` }) },
  'GET /api/v1/orgs/{id}/quota': { expect: row([OK, OK], [OK, 404], [OK, 404], [403, 403]), request: (org) => Promise.resolve({ method: 'GET', url: `/api/v1/orgs/${org}/quota` }) },
  'PATCH /api/v1/orgs/{id}/quota': {
    expect: row([OK, OK], [403, 403], [403, 403], [403, 403]),
    request: (org) => Promise.resolve({ method: 'PATCH', url: `/api/v1/orgs/${org}/quota`, body: { sites: 1000 } }),
  },
  'POST /api/v1/tokens': {
    expect: row([NEW, NEW], [NEW, 404], [403, 403], [403, 403]),
    request: (org) => Promise.resolve({ method: 'POST', url: '/api/v1/tokens', body: { name: 'm', role: 'member', org_id: org } }),
  },
  'GET /api/v1/tokens': { expect: row([OK, OK], [OK, 404], [403, 403], [403, 403]), request: (org) => Promise.resolve({ method: 'GET', url: `/api/v1/tokens?org=${org}` }) },
  'DELETE /api/v1/tokens/{id}': {
    expect: row([OK, OK], [OK, 404], [403, 403], [403, 403]),
    request: async (org) => {
      const t = await s.ok(TokenCreatedResponse, 201, 'POST', '/api/v1/tokens', { body: { name: 'throwaway', role: 'member', org_id: org } });
      return { method: 'DELETE', url: `/api/v1/tokens/${t.id}` };
    },
  },
  'POST /api/v1/sites': {
    expect: row([NEW, NEW], [NEW, 404], [403, 403], [403, 403]),
    request: (org) => Promise.resolve({ method: 'POST', url: '/api/v1/sites', body: { name: 'more', org_id: org, capacity: [{ gpu_type: 'h100', nodes: 0, gpus_per_node: 8 }] } }),
  },
  'GET /api/v1/sites': { expect: row([OK, OK], [OK, 404], [OK, 404], [403, 403]), request: (org) => Promise.resolve({ method: 'GET', url: `/api/v1/sites?org=${org}` }) },
  'GET /api/v1/sites/{id}': { expect: row([OK, OK], [OK, 404], [OK, 404], [OK, 404]), request: (org) => Promise.resolve({ method: 'GET', url: `/api/v1/sites/${sites.get(org) ?? ''}` }) },
  'GET /api/v1/sites/{id}/keys': { expect: row([OK, OK], [OK, 404], [OK, 404], [OK, 404]), request: (org) => Promise.resolve({ method: 'GET', url: `/api/v1/sites/${sites.get(org) ?? ''}/keys` }) },
  'DELETE /api/v1/sites/{id}/keys/{key}': {
    expect: row([OK, OK], [OK, 404], [403, 403], [403, 403]),
    request: async (org) => {
      const verifierKey = newKeyPair(`k${++fresh}`).verifierKey;
      const key = verifierKey.split('+').slice(0, 2).join('+');
      await s.store.addSiteKey({ siteId: sites.get(org) ?? '', keyHash: key, verifierKey, createdAt: 1 });
      return { method: 'DELETE', url: `/api/v1/sites/${sites.get(org) ?? ''}/keys/${encodeURIComponent(key)}` };
    },
  },
  'GET /api/v1/sites/{id}/jobs': { expect: row([OK, OK], [OK, 404], [OK, 404], [403, 403]), request: (org) => Promise.resolve({ method: 'GET', url: `/api/v1/sites/${sites.get(org) ?? ''}/jobs` }) },
  'PATCH /api/v1/sites/{id}': {
    expect: row([OK, OK], [OK, 404], [403, 403], [403, 403]),
    request: (org) => Promise.resolve({ method: 'PATCH', url: `/api/v1/sites/${sites.get(org) ?? ''}`, body: { name: `renamed ${++fresh}` } }),
  },
  'POST /api/v1/sites/{id}/heartbeat': {
    expect: row([403, 403], [403, 403], [403, 403], [OK, 404]),
    request: (org) => Promise.resolve({ method: 'POST', url: `/api/v1/sites/${sites.get(org) ?? ''}/heartbeat`, body: {} }),
  },
  'POST /api/v1/agent/heartbeat': {
    expect: row([403, 403], [403, 403], [403, 403], [OK, OK]),
    request: () => Promise.resolve({ method: 'POST', url: '/api/v1/agent/heartbeat', body: {} }),
  },
  'GET /api/v1/agent/assignments': {
    expect: row([403, 403], [403, 403], [403, 403], [OK, OK]),
    request: () => Promise.resolve({ method: 'GET', url: '/api/v1/agent/assignments?wait=0' }),
  },
  'POST /api/v1/agent/reports': {
    expect: row([403, 403], [403, 403], [403, 403], [OK, 404]),
    request: async (org) => {
      // Placed by hand on the org's own site (a pass might lend it to the other org's).
      const id = await s.job(org, 1);
      await s.app.suanli.lifecycle.apply([{ jobId: id, from: 'pending', to: 'placed', at: s.clock.now(), type: 'placed', placement: [{ siteId: sites.get(org) ?? '', gpuType: 'h100', gpus: 1, nodes: 1 }] }]);
      return { method: 'POST', url: '/api/v1/agent/reports', body: { job_id: id, attempt: 1, state: 'running' } };
    },
  },
  // A batch is answered 200 with an answer per report: another org's run is that report's own 404.
  'POST /api/v1/agent/reports/batch': {
    expect: row([403, 403], [403, 403], [403, 403], [OK, OK]),
    request: async (org) => {
      const id = await s.job(org, 1);
      await s.app.suanli.lifecycle.apply([{ jobId: id, from: 'pending', to: 'placed', at: s.clock.now(), type: 'placed', placement: [{ siteId: sites.get(org) ?? '', gpuType: 'h100', gpus: 1, nodes: 1 }] }]);
      return { method: 'POST', url: '/api/v1/agent/reports/batch', body: { reports: [{ job_id: id, attempt: 1, state: 'running' }] } };
    },
  },
  'POST /api/v1/jobs': {
    expect: row([NEW, NEW], [NEW, 404], [NEW, 404], [403, 403]),
    request: (org) => Promise.resolve({ method: 'POST', url: '/api/v1/jobs', body: { org_id: org, gpus: 1, estimate_s: 60 } }),
  },
  'GET /api/v1/jobs': { expect: row([OK, OK], [OK, 404], [OK, 404], [403, 403]), request: (org) => Promise.resolve({ method: 'GET', url: `/api/v1/jobs?org=${org}` }) },
  'GET /api/v1/jobs/{id}': {
    expect: row([OK, OK], [OK, 404], [OK, 404], [403, 403]),
    request: async (org) => ({ method: 'GET', url: `/api/v1/jobs/${await s.job(org, 1)}` }),
  },
  'GET /api/v1/jobs/{id}/members': {
    expect: row([OK, OK], [OK, 404], [OK, 404], [403, 403]),
    request: async (org) => ({ method: 'GET', url: `/api/v1/jobs/${await s.job(org, 1)}/members` }),
  },
  'POST /api/v1/jobs/{id}/cancel': {
    expect: row([OK, OK], [OK, 404], [OK, 404], [403, 403]),
    request: async (org) => ({ method: 'POST', url: `/api/v1/jobs/${await s.job(org, 1)}/cancel` }),
  },
  'POST /api/v1/jobs/dry-run': {
    expect: row([OK, OK], [OK, 404], [OK, 404], [403, 403]),
    request: (org) => Promise.resolve({ method: 'POST', url: '/api/v1/jobs/dry-run', body: { org_id: org, gpus: 1, estimate_s: 60 } }),
  },
  'POST /api/v1/internal/jobs/{id}/state': {
    expect: row([OK, OK], [403, 403], [403, 403], [403, 403]),
    request: async (org) => {
      const id = await s.job(org, 1);
      await s.pass();
      return { method: 'POST', url: `/api/v1/internal/jobs/${id}/state`, body: { state: 'running' } };
    },
  },
  'GET /api/v1/ledger': { expect: row([OK, OK], [OK, 404], [OK, 404], [403, 403]), request: (org) => Promise.resolve({ method: 'GET', url: `/api/v1/ledger?org=${org}` }) },
  'GET /api/v1/ledger/history': { expect: row([OK, OK], [OK, 404], [OK, 404], [403, 403]), request: (org) => Promise.resolve({ method: 'GET', url: `/api/v1/ledger/history?bucket=hour&org=${org}` }) },
  'GET /api/v1/ledger/jobs': { expect: row([OK, OK], [OK, 404], [OK, 404], [403, 403]), request: (org) => Promise.resolve({ method: 'GET', url: `/api/v1/ledger/jobs?org=${org}` }) },
  'GET /api/v1/ledger/checkpoint': { expect: row([OK, OK], [OK, OK], [OK, OK], [403, 403]), request: () => Promise.resolve({ method: 'GET', url: '/api/v1/ledger/checkpoint' }) },
  'GET /api/v1/ledger/entries': { expect: row([OK, OK], [OK, 404], [OK, 404], [403, 403]), request: (org) => Promise.resolve({ method: 'GET', url: `/api/v1/ledger/entries?org=${org}` }) },
  'GET /api/v1/ledger/proof/inclusion': { expect: row([OK, OK], [OK, OK], [OK, OK], [403, 403]), request: () => Promise.resolve({ method: 'GET', url: '/api/v1/ledger/proof/inclusion?index=0&size=1' }) },
  'GET /api/v1/ledger/proof/inclusions': { expect: row([OK, OK], [OK, OK], [OK, OK], [403, 403]), request: () => Promise.resolve({ method: 'GET', url: '/api/v1/ledger/proof/inclusions?indices=0,0&size=1' }) },
  'GET /api/v1/ledger/proof/consistency': { expect: row([OK, OK], [OK, OK], [OK, OK], [403, 403]), request: () => Promise.resolve({ method: 'GET', url: '/api/v1/ledger/proof/consistency?from=1&to=1' }) },
  'GET /api/v1/ledger/keys': { expect: row([OK, OK], [OK, OK], [OK, OK], [403, 403]), request: () => Promise.resolve({ method: 'GET', url: '/api/v1/ledger/keys' }) },
  'GET /api/v1/ledger/witnesses': { expect: row([OK, OK], [OK, OK], [OK, OK], [403, 403]), request: () => Promise.resolve({ method: 'GET', url: '/api/v1/ledger/witnesses' }) },
  'POST /api/v1/ledger/witnesses': {
    expect: row([NEW, NEW], [NEW, 404], [NEW, 404], [403, 403]),
    request: (org) => Promise.resolve({ method: 'POST', url: '/api/v1/ledger/witnesses', body: { verifier_key: witnessKey().verifierKey, org_id: org } }),
  },
  'DELETE /api/v1/ledger/witnesses/{key}': {
    expect: row([OK, OK], [OK, 404], [OK, 404], [403, 403]),
    request: async (org) => ({ method: 'DELETE', url: `/api/v1/ledger/witnesses/${encodeURIComponent(keyOf((await registeredWitness(org)).verifierKey))}` }),
  },
  'POST /api/v1/ledger/cosignatures': {
    // A cosignature speaks for itself: any member may post one by any org's registered witness.
    expect: row([NEW, NEW], [NEW, NEW], [NEW, NEW], [403, 403]),
    request: async (org) => {
      const { signerKey } = await registeredWitness(org);
      const checkpoint = await s.store.checkpoint();
      const parsed = parseNote(new TextEncoder().encode(checkpoint?.note ?? ''));
      const cosigned = new TextDecoder().decode(signNote(parsed.ok ? parsed.text : '', [cosignatureSigner(signerKey, 1_800_000_000)]));
      return { method: 'POST', url: '/api/v1/ledger/cosignatures', body: { size: checkpoint?.size, cosignature: cosigned.trimEnd().split('\n').at(-1) } };
    },
  },
  'GET /api/v1/whoami': { expect: row([OK, OK], [OK, OK], [OK, OK], [OK, OK]), request: () => Promise.resolve({ method: 'GET', url: '/api/v1/whoami' }) },
  'GET /api/v1/pool': { expect: row([OK, OK], [OK, OK], [OK, OK], [403, 403]), request: () => Promise.resolve({ method: 'GET', url: '/api/v1/pool' }) },
  'POST /api/v1/plan': { expect: row([OK, OK], [OK, OK], [OK, OK], [403, 403]), request: () => Promise.resolve({ method: 'POST', url: '/api/v1/plan', body: { kind: 'video', seconds: 2, width: 640, height: 480 } }) },
};

before(async () => {
  s = await TestServer.start();
  for (const org of [OWN, OTHER]) {
    await s.org(org);
    sites.set(org, await s.site(org, 4, 8));
  }
  tokens.set('admin', s.admin);
  tokens.set('org-admin', await s.token('org-admin', OWN));
  tokens.set('member', await s.token('member', OWN));
  tokens.set('agent', await s.token('agent', OWN, sites.get(OWN)));
  tokens.set('none', null);
  // One record in the usage log, so that its proofs exist.
  const job = await s.job(OWN, 1);
  await s.store.transition([], [{ jobId: job, attempt: 1, siteId: sites.get(OWN) ?? '', consumerOrgId: OWN, providerOrgId: OWN, gpuType: 'h100', gpus: 1, startAt: 0, at: 1000, gpuSeconds: 1, outcome: 'succeeded' }]);
  await s.app.suanli.usage.logAlone(Number.MAX_SAFE_INTEGER);
});
after(() => s.close());

test('the matrix covers every operation the OpenAPI document lists', async () => {
  const doc = await s.ok(z.object({ paths: z.record(z.string(), z.record(z.string(), z.object({ security: z.unknown().optional() }))) }), 200, 'GET', '/api/v1/openapi.json', { token: null });
  const documented = Object.entries(doc.paths)
    .flatMap(([path, ops]) => Object.entries(ops).filter(([, op]) => op.security !== undefined).map(([method]) => `${method.toUpperCase()} ${path}`))
    .sort();
  assert.deepEqual(documented, Object.keys(ENDPOINTS).sort());
});

test('every endpoint × every role × own and other org answers with exactly the expected status', async () => {
  const wrong: string[] = [];
  for (const [endpoint, { expect, request }] of Object.entries(ENDPOINTS)) {
    for (const caller of CALLERS) {
      for (const [i, org] of [OWN, OTHER].entries()) {
        const r = await request(org);
        const got = await s.req(r.method, r.url, { ...r, token: tokens.get(caller) ?? null });
        const want = expect[caller][i];
        if (got.status !== want) wrong.push(`${endpoint} as ${caller} on ${i === 0 ? 'own' : 'other'} org: expected ${want}, got ${got.status} ${got.text.slice(0, 160)}`);
        else if (want >= 400) {
          const code = { 401: 'unauthorized', 403: 'forbidden', 404: 'not_found' }[want];
          if (ErrorResponse.safeParse(got.body).data?.error.code !== code) wrong.push(`${endpoint} as ${caller}: expected error code ${code ?? '?'}, got ${got.text.slice(0, 160)}`);
        }
      }
    }
  }
  assert.deepEqual(wrong, []);
});

test("lists never show another org's objects, and a 404 for them reads like one for an unknown id", async () => {
  const member = tokens.get('member') ?? '';
  const other = await s.job(OTHER, 1);
  const lists = {
    orgs: (await s.ok(OrgListResponse, 200, 'GET', '/api/v1/orgs', { token: member })).orgs.map((o) => o.id),
    sites: (await s.ok(SiteListResponse, 200, 'GET', '/api/v1/sites', { token: member })).sites.map((x) => x.org_id),
    jobs: (await s.ok(JobListResponse, 200, 'GET', '/api/v1/jobs?limit=500', { token: member })).jobs.map((j) => j.org_id),
  };
  for (const [list, orgs] of Object.entries(lists)) {
    assert.ok(orgs.length > 0, list);
    assert.deepEqual(new Set(orgs), new Set([OWN]), `${list} shows only acme's`);
  }
  const hidden = await s.fail(404, 'GET', `/api/v1/jobs/${other}`, { token: member });
  const unknown = await s.fail(404, 'GET', '/api/v1/jobs/no-such-job', { token: member });
  assert.equal(hidden.message.replace(other, 'ID'), unknown.message.replace('no-such-job', 'ID'));
});

test('an org-admin cannot mint admins nor agents for another org’s site; an agent sees only its own site', async () => {
  const orgAdmin = tokens.get('org-admin') ?? '';
  assert.equal((await s.fail(403, 'POST', '/api/v1/tokens', { token: orgAdmin, body: { name: 'x', role: 'admin' } })).field, 'role');
  await s.fail(404, 'POST', '/api/v1/tokens', { token: orgAdmin, body: { name: 'x', role: 'agent', site_id: sites.get(OTHER) } });
  const second = await s.site(OWN, 1, 8);
  const agent = tokens.get('agent') ?? '';
  await s.fail(404, 'GET', `/api/v1/sites/${second}`, { token: agent });
  await s.fail(404, 'POST', `/api/v1/sites/${second}/heartbeat`, { token: agent, body: {} });
});
