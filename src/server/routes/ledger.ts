import { accessOf, secured, type Api } from '../control-plane.ts';
import { ErrorResponse, LedgerQuery, LedgerResponse, ledgerJson } from '../schemas.ts';

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
}
