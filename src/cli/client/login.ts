import { Command } from 'commander';
import type { WhoAmIResponse } from '../../server/schemas.ts';
import { ClientError } from './errors.ts';
import { configPath, normalizeServer, readLogin, removeLogin, serverFlag, writeLogin } from './config.ts';
import { ApiClient, type Wire } from './http.ts';
import { emit, examples, type ClientIo, type CommonFlags } from './shared.ts';

/** The token's id, the part before its secret: safe to print. */
const tokenId = (token: string): string => /^sl_([0-9a-z]+)_/.exec(token)?.[1] ?? 'of unknown format';

/** Who the token is, as the server says (any role may ask); a 401 is the server's refusal, passed on. */
const whoami = (api: ApiClient) => api.get<Wire<typeof WhoAmIResponse>>('/whoami');

/** "an org-admin of acme", "the admin", "the agent of site lab-1". */
function whoText(me: Wire<typeof WhoAmIResponse>): string {
  if (me.role === 'admin') return 'the admin';
  if (me.role === 'agent') return `the agent of site ${me.site_id ?? '?'} (${me.org_id ?? '?'})`;
  return `${me.role === 'org-admin' ? 'an org-admin' : 'a member'} of ${me.org_id ?? '?'}`;
}

export function loginCommands(io: ClientIo): Command[] {
  const login = new Command('login')
    .description('check a token against a control plane and save both, so that later commands need neither flag')
    .option('--server <url>', 'control plane URL (default: $SUANLI_SERVER, else the saved one)')
    .option('--token <token>', 'API token (default: $SUANLI_TOKEN)')
    .option('--json', 'print what was saved (without the token) as JSON')
    .addHelpText('after', `
The login is saved to $SUANLI_CONFIG, else $XDG_CONFIG_HOME/suanli/config.json, else
~/.config/suanli/config.json (mode 0600). Every command takes its server and token
from --server/--token, else SUANLI_SERVER/SUANLI_TOKEN, else that file; a saved token
is sent only to the server it was saved with.
${examples(
  'suanli login --server http://127.0.0.1:8040 --token sl_3f2a…   # the admin token `suanli serve` printed',
  'SUANLI_CONFIG=./ci.json suanli login --server https://pool.example.org --token "$TOKEN"',
)}`)
    .action(async (o: CommonFlags) => {
      const env = process.env;
      const path = configPath(env);
      const serverText = o.server ?? (env.SUANLI_SERVER || undefined) ?? (await readLogin(path)).server;
      if (serverText === undefined) throw new ClientError('not_logged_in', 'which server? give --server URL (for example http://127.0.0.1:8040)');
      const server = o.server !== undefined ? serverFlag(serverText) : normalizeServer(serverText);
      if (server === undefined) throw new ClientError('bad_config', `"${serverText}" is not an http(s) URL; give --server URL`);
      const token = (o.token ?? (env.SUANLI_TOKEN || undefined))?.trim();
      if (token === undefined || token === '') throw new ClientError('not_logged_in', 'give --token TOKEN: the admin token `suanli serve` printed at its first start, or one made by `suanli token create`');
      const me = await whoami(new ApiClient({ server, token, serverFrom: o.server !== undefined ? '--server' : 'SUANLI_SERVER or the saved login' }));
      await writeLogin(path, { server, token });
      const overridden = ['SUANLI_SERVER', 'SUANLI_TOKEN'].filter((v) => env[v]);
      if (overridden.length > 0 && o.json !== true) io.err(`note: ${overridden.join(' and ')} ${overridden.length > 1 ? 'are' : 'is'} set and will override the saved login`);
      emit(io, o, { server, token_id: tokenId(token), role: me.role, org_id: me.org_id, site_id: me.site_id, config_file: path }, () => `logged in to ${server} with token ${tokenId(token)} (${me.name}), ${whoText(me)}; saved to ${path}`);
    });

  const logout = new Command('logout')
    .description('forget the saved login (the token stays valid on the server: revoke it with `suanli token revoke`)')
    .option('--json', 'print what was removed as JSON')
    .addHelpText('after', examples('suanli logout', 'SUANLI_CONFIG=./ci.json suanli logout'))
    .action(async (o: CommonFlags) => {
      const path = configPath();
      const removed = await removeLogin(path);
      emit(io, o, { config_file: path, removed }, () => (removed ? `logged out: removed ${path}` : `not logged in (no ${path})`));
    });

  return [login, logout];
}
