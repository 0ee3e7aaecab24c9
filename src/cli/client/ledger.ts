import { Command } from 'commander';
import type { LedgerResponse } from '../../server/schemas.ts';
import * as fmt from '../format.ts';
import type { Wire } from './http.ts';
import { connect, emit, examples, withConnection, type ClientIo, type CommonFlags } from './shared.ts';

type Ledger = Wire<typeof LedgerResponse>;

function ledgerText(l: Ledger): string {
  const orgs = l.rows.length === 0 ? 'no GPU-hours recorded for these orgs yet' : fmt.columns([
    ['org', 'GPU type', 'contributed', 'consumed', 'own use', 'credits'],
    ...l.rows.map((r) => [r.org_id, r.gpu_type, fmt.hours(r.contributed_gpu_h), fmt.hours(r.consumed_gpu_h), fmt.hours(r.own_gpu_h), fmt.hours(r.credits_gpu_h)]),
  ]);
  const pool = l.pool.length === 0 ? 'none yet' : fmt.columns([
    ['GPU type', 'contributed', 'consumed', 'own use'],
    ...l.pool.map((r) => [r.gpu_type, fmt.hours(r.contributed_gpu_h), fmt.hours(r.consumed_gpu_h), fmt.hours(r.own_gpu_h)]),
  ]);
  return `${orgs}\n\npool-wide totals\n${pool}`;
}

export function ledgerCommand(io: ClientIo): Command {
  return withConnection(new Command('ledger'))
    .description('GPU-hours each org contributed to and consumed from the pool, per GPU type, and the credits that result (an org sees its own rows and pool-wide totals)')
    .option('--org <org>', "only this org's rows")
    .addHelpText('after', examples('suanli ledger', 'suanli ledger --org acme --json'))
    .action(async (o: CommonFlags & { org?: string }) => {
      const l = await (await connect(o)).get<Ledger>('/ledger', { org: o.org });
      emit(io, o, l, () => ledgerText(l));
    });
}
