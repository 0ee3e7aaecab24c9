import type { Command } from 'commander';
import { jobCommand } from './job.ts';
import { ledgerCommand } from './ledger.ts';
import { loginCommands } from './login.ts';
import { orgCommand } from './org.ts';
import { siteCommand } from './site.ts';
import { tokenCommand } from './token.ts';
import type { ClientIo } from './shared.ts';
import { witnessCommand } from './witness.ts';

export { isClientError } from './errors.ts';

/** The client half of the CLI: commands that talk to a control plane over its REST API, in the order help lists them. */
export function clientCommands(io: ClientIo): Command[] {
  return [...loginCommands(io), orgCommand(io), tokenCommand(io), siteCommand(io), jobCommand(io), ledgerCommand(io).addCommand(witnessCommand(io))];
}
