import { Command, Option } from 'commander';
import type { TokenCreatedResponse, TokenListResponse, TokenResponse } from '../../server/schemas.ts';
import { ROLES } from '../../store/types.ts';
import * as fmt from '../format.ts';
import { pathOf, type Wire } from './http.ts';
import { connect, emit, examples, withConnection, type ClientIo, type CommonFlags } from './shared.ts';

type Token = Wire<typeof TokenResponse>;

const tokenTable = (tokens: readonly Token[]): string =>
  fmt.columns([
    ['id', 'name', 'role', 'org', 'site', 'created', 'revoked'],
    ...tokens.map((t) => [t.id, t.name, t.role, t.org_id ?? '—', t.site_id ?? '—', fmt.timestamp(t.created_at), fmt.timestamp(t.revoked_at)]),
  ]);

export function tokenCommand(io: ClientIo): Command {
  const token = new Command('token')
    .description('API tokens: admin, org-admin, member, or agent (reports for one site); secrets are shown once, at creation')
    .addHelpText('after', examples('suanli token create ci --role member --org acme', 'suanli token list --org acme', 'suanli token revoke 3f2a9c0d1e2b4a5c'));

  withConnection(token.command('create'))
    .description('create a token (admin, or an org-admin for its own org); prints the secret once')
    .argument('<name>', 'what the token is for')
    .addOption(new Option('--role <role>', 'what the token may do').choices([...ROLES]).makeOptionMandatory())
    .option('--org <org>', "the org the token belongs to (admins name it; an org-admin's tokens are its own org's)")
    .option('--site <site>', 'agent tokens: the one site the agent reports for')
    .addHelpText('after', examples(
      'suanli token create alice --role member --org acme',
      'suanli token create acme-admin --role org-admin --org acme',
      'suanli token create gpu-agent --role agent --org acme --site acme-cluster-1a2b3c4d',
    ))
    .action(async (name: string, o: CommonFlags & { role: string; org?: string; site?: string }) => {
      const api = await connect(o);
      const t = await api.post<Wire<typeof TokenCreatedResponse>>('/tokens', { name, role: o.role, ...(o.org === undefined ? {} : { org_id: o.org }), ...(o.site === undefined ? {} : { site_id: o.site }) });
      emit(io, o, t, () => [
        `created ${t.role} token ${t.id} ("${t.name}")${t.org_id === null ? '' : ` for org ${t.org_id}`}${t.site_id === null ? '' : `, site ${t.site_id}`}`,
        `token (shown only now; keep it safe): ${t.token}`,
        `to use it: suanli login --server ${api.server} --token ${t.token}`,
      ].join('\n'));
    });

  withConnection(token.command('list'))
    .description('list tokens (no secrets); an org-admin sees its org’s')
    .option('--org <org>', "only this org's tokens")
    .addHelpText('after', examples('suanli token list', 'suanli token list --org acme --json'))
    .action(async (o: CommonFlags & { org?: string }) => {
      const body = await (await connect(o)).get<Wire<typeof TokenListResponse>>('/tokens', { org: o.org });
      emit(io, o, body, () => tokenTable(body.tokens));
    });

  withConnection(token.command('revoke'))
    .description('revoke a token: the server refuses it from now on')
    .argument('<id>', 'token id (from `suanli token list`; the part after sl_ in the token)')
    .addHelpText('after', examples('suanli token revoke 3f2a9c0d1e2b4a5c'))
    .action(async (id: string, o: CommonFlags) => {
      const api = await connect(o);
      const t = (await api.request<Token>('DELETE', pathOf('tokens', id))).body;
      emit(io, o, t, () => `revoked token ${t.id} ("${t.name}") at ${fmt.timestamp(t.revoked_at)}`);
    });

  return token;
}
