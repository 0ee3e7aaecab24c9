import { Command } from 'commander';
import type { OrgListResponse, OrgResponse } from '../../server/schemas.ts';
import * as fmt from '../format.ts';
import { pathOf, type Wire } from './http.ts';
import { connect, emit, examples, withConnection, type ClientIo, type CommonFlags } from './shared.ts';

type Org = Wire<typeof OrgResponse>;

const orgTable = (orgs: readonly Org[]): string => fmt.columns([['id', 'name', 'created'], ...orgs.map((o) => [o.id, o.name, fmt.timestamp(o.created_at)])]);

export function orgCommand(io: ClientIo): Command {
  const org = new Command('org')
    .description('the member organizations of the pool (an org sees only itself)')
    .addHelpText('after', examples('suanli org create "Acme Labs"', 'suanli org list', 'suanli org show acme-labs --json'));

  withConnection(org.command('create'))
    .description('create an org (admin)')
    .argument('<name>', 'display name')
    .option('--id <id>', 'id: lower-case letters, digits and dashes (default: the name, lower-cased, with dashes)')
    .addHelpText('after', examples('suanli org create "Acme Labs"              # id acme-labs', 'suanli org create "Beta Research" --id beta'))
    .action(async (name: string, o: CommonFlags & { id?: string }) => {
      const created = await (await connect(o)).post<Org>('/orgs', { name, ...(o.id === undefined ? {} : { id: o.id }) });
      emit(io, o, created, () => `created org ${created.id} (${created.name})`);
    });

  withConnection(org.command('list'))
    .description('list the orgs this token sees (an admin: all)')
    .addHelpText('after', examples('suanli org list', 'suanli org list --json'))
    .action(async (o: CommonFlags) => {
      const body = await (await connect(o)).get<Wire<typeof OrgListResponse>>('/orgs');
      emit(io, o, body, () => orgTable(body.orgs));
    });

  withConnection(org.command('show'))
    .description('show one org')
    .argument('<id>', 'org id')
    .addHelpText('after', examples('suanli org show acme-labs'))
    .action(async (id: string, o: CommonFlags) => {
      const body = await (await connect(o)).get<Org>(pathOf('orgs', id));
      emit(io, o, body, () => orgTable([body]));
    });

  return org;
}
