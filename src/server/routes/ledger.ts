import { toBase64 } from '../../ledger/encoding.ts';
import { accessOf, secured, type Api } from '../control-plane.ts';
import { ApiError, notFound } from '../errors.ts';
import {
  CheckpointQuery, CheckpointResponse, ConsistencyQuery, ErrorResponse, InclusionQuery, InclusionsQuery, InclusionsResponse, LEDGER_BUCKET_S, LedgerHistoryQuery, LedgerHistoryResponse, ledgerHistoryJson, LedgerJobsQuery, LedgerJobsResponse, LedgerQuery, LedgerResponse, ledgerJson,
  LogEntriesQuery, LogEntriesResponse, LogKeysResponse, MAX_PROOFS_PER_REQUEST, ProofResponse,
} from '../schemas.ts';
import { witnessSummary } from './witnesses.ts';

const iso = (ms: number) => new Date(ms).toISOString();

export function ledgerRoutes(app: Api): void {
  const { store } = app.suanli;
  const cp = app.suanli;
  const sizeCheck = (size: number, field: string) => {
    if (size > cp.usage.length) throw new ApiError('invalid_request', `${field}: the usage log holds ${cp.usage.length} entries, not ${size}`, { field });
  };
  app.get('/api/v1/ledger', {
    config: { operation: 'ledger.show' },
    schema: {
      tags: ['ledger'], ...secured,
      summary: 'GPU-hours contributed and consumed per org and GPU type, and the credits that result; an org sees its own rows and pool-wide totals',
      querystring: LedgerQuery, response: { 200: LedgerResponse, '4xx': ErrorResponse },
    },
  }, async (req) => {
    const org = accessOf(req).listOrg(req.query.org);
    const { size, from, to } = req.query;
    if (size !== undefined) sizeCheck(size, 'query.size');
    const all = await store.ledger(undefined, size, { from, to });
    return ledgerJson(org === undefined ? all : all.filter((r) => r.orgId === org), all);
  });
  app.get('/api/v1/ledger/history', {
    config: { operation: 'ledger.history' },
    schema: {
      tags: ['ledger'], ...secured,
      summary: 'GPU-hours contributed, consumed and used on its own sites per org and hour or UTC day, and the credits of each; an org sees only its own',
      querystring: LedgerHistoryQuery, response: { 200: LedgerHistoryResponse, '4xx': ErrorResponse },
    },
  }, async (req) => {
    // Unlike GET /ledger there are no pool-wide series: summed over orgs, contributed equals consumed in every bucket.
    const org = accessOf(req).listOrg(req.query.org);
    const { bucket, from, to } = req.query;
    const bucketS = LEDGER_BUCKET_S[bucket];
    return ledgerHistoryJson(bucketS, await store.ledgerHistory(bucketS * 1000, org, { from, to }));
  });
  app.get('/api/v1/ledger/jobs', {
    config: { operation: 'ledger.jobs' },
    schema: {
      tags: ['ledger'], ...secured,
      summary: "The jobs behind the ledger: each job's GPU-hours per site and GPU type, with the site's price and the cost; an org sees what it consumed and the usage of its sites",
      querystring: LedgerJobsQuery, response: { 200: LedgerJobsResponse, '4xx': ErrorResponse },
    },
  }, async (req) => {
    const access = accessOf(req);
    const { from, to, limit } = req.query;
    const org = access.listOrg(req.query.org);
    const viewer = access.principal.orgId;
    // One row more than asked says whether there are more.
    const rows = await store.ledgerJobs(org, { from, to }, limit + 1);
    const shown = rows.slice(0, limit);
    const prices = new Map(await Promise.all([...new Set(shown.map((r) => r.siteId))].map(async (id) => [id, (await store.getSite(id))?.pricePerGpuHour ?? null] as const)));
    const jobs = await Promise.all(shown.map(async (r) => {
      const price = prices.get(r.siteId) ?? null;
      // Another org's job on the viewer's site is named by its id only; another org's site by its label.
      const site = viewer === null || r.providerOrgId === viewer ? r.siteId : ((await cp.sites.entry(r.siteId))?.label ?? r.providerOrgId);
      return {
        job_id: r.jobId, job_name: viewer === null || r.consumerOrgId === viewer ? r.jobName : null, consumer_org_id: r.consumerOrgId, provider_org_id: r.providerOrgId,
        site, gpu_type: r.gpuType, gpu_h: r.gpuH, last_at: iso(r.lastAt), price_per_gpu_hour: price, cost: price === null ? null : r.gpuH * price,
      };
    }));
    return { jobs, truncated: rows.length > limit };
  });

  // The usage log: what a member needs to check the ledger itself (`suanli ledger verify`) and what a witness cosigns.
  const tags = ['ledger'];
  app.get('/api/v1/ledger/checkpoint', {
    config: { operation: 'ledger.log' },
    schema: { tags, ...secured, summary: "The usage log's latest signed checkpoint (or the one of a given size), with its witnesses' cosignatures", querystring: CheckpointQuery, response: { 200: CheckpointResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const checkpoint = await store.checkpoint(req.query.size);
    if (checkpoint === null) throw req.query.size === undefined ? new ApiError('not_found', 'the usage log has no checkpoint yet (no usage has been logged)') : notFound('checkpoint of size', String(req.query.size));
    const root = checkpoint.note.split('\n')[2] ?? '';
    const cosignatures = await store.cosignatures(checkpoint.size);
    return {
      origin: checkpoint.note.split('\n')[0] ?? '', size: checkpoint.size, root, note: checkpoint.note, at: iso(checkpoint.at), log_key: cp.logVerifierKey,
      cosignatures: cosignatures.map((c) => ({ witness: c.witness, line: c.line, at: iso(c.at) })),
      witnesses: await witnessSummary(store, cosignatures),
    };
  });

  app.get('/api/v1/ledger/entries', {
    config: { operation: 'ledger.log' },
    schema: { tags, ...secured, summary: "Entries of the usage log from an index: an org gets the records that concern it (as consumer or provider), the admin any org's or all", querystring: LogEntriesQuery, response: { 200: LogEntriesResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const q = req.query;
    const org = accessOf(req).listOrg(q.org);
    const entries = org === undefined ? await store.logEntries(q.from, q.from + q.limit) : await store.logEntriesOf(org, q.from, q.limit);
    const last = entries.at(-1);
    const full = org === undefined ? q.from + entries.length < cp.usage.length : entries.length === q.limit;
    return { entries: entries.map((e) => ({ index: e.index, note: e.note, writer: e.writer, logged_at: iso(e.loggedAt) })), next: full && last !== undefined ? last.index + 1 : null };
  });

  app.get('/api/v1/ledger/proof/inclusion', {
    config: { operation: 'ledger.log' },
    schema: { tags, ...secured, summary: 'The inclusion proof of an entry in the log at a size (RFC 9162 §2.1.3)', querystring: InclusionQuery, response: { 200: ProofResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const { index, size } = req.query;
    sizeCheck(size, 'query.size');
    if (index >= size) throw new ApiError('invalid_request', `query.index: ${index} is not below the size ${size}`, { field: 'query.index' });
    return { hashes: (await cp.usage.inclusionProof(index, size)).map(toBase64) };
  });

  app.get('/api/v1/ledger/proof/inclusions', {
    config: { operation: 'ledger.log' },
    schema: { tags, ...secured, summary: `The inclusion proofs of up to ${MAX_PROOFS_PER_REQUEST} entries in the log at one size: what a member checks its records with, in few requests`, querystring: InclusionsQuery, response: { 200: InclusionsResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const { size } = req.query;
    sizeCheck(size, 'query.size');
    const indices = req.query.indices.split(',').map(Number);
    const beyond = indices.find((i) => i >= size);
    if (beyond !== undefined) throw new ApiError('invalid_request', `query.indices: ${beyond} is not below the size ${size}`, { field: 'query.indices' });
    const proofs = await cp.usage.inclusionProofs(indices, size);
    return { size, proofs: indices.map((index, i) => ({ index, hashes: proofs[i]!.map(toBase64) })) };
  });

  app.get('/api/v1/ledger/proof/consistency', {
    config: { operation: 'ledger.log' },
    schema: { tags, ...secured, summary: 'The consistency proof between two sizes of the log (RFC 9162 §2.1.4)', querystring: ConsistencyQuery, response: { 200: ProofResponse, '4xx': ErrorResponse } },
  }, async (req) => {
    const { from, to } = req.query;
    sizeCheck(to, 'query.to');
    if (from > to) throw new ApiError('invalid_request', `query.from: ${from} is more than query.to (${to})`, { field: 'query.from' });
    return { hashes: (await cp.usage.consistencyProof(from, to)).map(toBase64) };
  });

  app.get('/api/v1/ledger/keys', {
    config: { operation: 'ledger.log' },
    schema: { tags, ...secured, summary: "The log's key and every site's record-signing keys (revoked ones too), by the sites' labels", response: { 200: LogKeysResponse, '4xx': ErrorResponse } },
  }, async () => {
    const keys = await store.siteKeys();
    const sites = await Promise.all(keys.map(async (k) => {
      const entry = await cp.sites.entry(k.siteId);
      return { site: entry?.label ?? k.siteId, org_id: entry?.orgId ?? '', verifier_key: k.verifierKey, created_at: iso(k.createdAt), revoked_at: k.revokedAt === null ? null : iso(k.revokedAt) };
    }));
    return { origin: cp.usage.origin, log_key: cp.logVerifierKey, sites };
  });
}
