import { Command } from 'commander';
import type { OrgListResponse, OrgResponse, QuotaResponse } from '../../server/schemas.ts';
import * as fmt from '../format.ts';
import * as parse from '../parse.ts';
import { pathOf, type Wire } from './http.ts';
import { connect, emit, examples, withConnection, type ClientIo, type CommonFlags } from './shared.ts';

type Org = Wire<typeof OrgResponse>;

type Quota = Wire<typeof QuotaResponse>;
const QUOTAS = [['sites', 'sites', 'sites'], ['nodes', 'nodes', 'nodes declared'], ['gpus', 'gpus', 'GPUs declared'], ['queuedJobs', 'queued_jobs', 'jobs waiting']] as const;
type QuotaFlags = CommonFlags & { readonly [K in (typeof QUOTAS)[number][0]]?: string };

function quotaTable(q: Quota): string {
  return fmt.columns([
    ['quota', 'used', 'limit', ''],
    ...QUOTAS.map(([, wire, label]) => [label, fmt.count(q.used[wire]), fmt.count(q.limits[wire]), q.set.includes(wire) ? 'set by the admin' : 'default']),
  ]);
}

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

  withConnection(org.command('quota'))
    .description("an org's quotas and what it uses of them; with flags, set them (admin)")
    .argument('<id>', 'org id')
    .option('--sites <n>', 'most sites ("default": the server\'s default)')
    .option('--nodes <n>', 'most nodes its sites declare in all')
    .option('--gpus <n>', 'most GPUs its sites declare in all')
    .option('--queued-jobs <n>', 'most jobs waiting at once')
    .addHelpText('after', examples('suanli org quota acme-labs', 'suanli org quota acme-labs --gpus 262144 --queued-jobs 50000', 'suanli org quota acme-labs --sites default --json'))
    .action(async (id: string, o: QuotaFlags) => {
      const api = await connect(o);
      const patch = Object.fromEntries(
        QUOTAS.flatMap(([flag, wire]) => {
          const v = o[flag];
          return v === undefined ? [] : [[wire, v.trim() === 'default' ? null : parse.wholeNumber(flag === 'queuedJobs' ? 'queued-jobs' : flag, v)]];
        }),
      );
      const body = Object.keys(patch).length === 0 ? await api.get<Quota>(pathOf('orgs', id, 'quota')) : (await api.request<Quota>('PATCH', pathOf('orgs', id, 'quota'), { body: patch })).body;
      emit(io, o, body, () => `org ${body.org_id}\n${quotaTable(body)}`);
    });

  return org;
}
