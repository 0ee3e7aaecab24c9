import { accessOf, secured, type Api } from '../control-plane.ts';
import { ErrorResponse, LEDGER_BUCKET_S, LedgerHistoryQuery, LedgerHistoryResponse, ledgerHistoryJson, LedgerQuery, LedgerResponse, ledgerJson } from '../schemas.ts';

export function ledgerRoutes(app: Api): void {
  const { store } = app.suanli;
  app.get('/api/v1/ledger', {
    config: { operation: 'ledger.show' },
    schema: {
      tags: ['ledger'], ...secured,
      summary: 'GPU-hours contributed and consumed per org and GPU type, and the credits that result; an org sees its own rows and pool-wide totals',
      querystring: LedgerQuery, response: { 200: LedgerResponse, '4xx': ErrorResponse },
    },
  }, async (req) => {
    const org = accessOf(req).listOrg(req.query.org);
    const all = await store.ledger();
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
    const bucketS = LEDGER_BUCKET_S[req.query.bucket];
    return ledgerHistoryJson(bucketS, await store.ledgerHistory(bucketS * 1000, org));
  });
}
