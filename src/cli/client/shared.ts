import type { Command } from 'commander';
import { visibleJson, visibleText } from '../../model/text.ts';
import type { Output } from '../plan-command.ts';
import { resolveConnection, type ConnectionFlags } from './config.ts';
import { ApiClient } from './http.ts';

/**
 * What every client command shares: the connection flags, connecting, printing
 * the server's JSON or a table, and help examples.
 */

/** Where client commands print: results on `out`, notes for the person at the terminal on `err`; `isTty`: whether `err` is a terminal (progress is drawn there). */
export type ClientIo = Output & { err(text: string): void; isTty?: boolean };

/** The flags every client command takes. */
export interface CommonFlags extends ConnectionFlags {
  readonly json?: boolean;
}

export function withConnection(cmd: Command): Command {
  return cmd
    .option('--server <url>', 'control plane URL (default: $SUANLI_SERVER, else the saved login)')
    .option('--token <token>', 'API token (default: $SUANLI_TOKEN, else the saved login)')
    .option('--ca <file>', "PEM of the CA that signed the server's certificate, for a private CA (default: $SUANLI_CA)")
    .option('--json', "print the server's JSON response");
}

export async function connect(flags: ConnectionFlags): Promise<ApiClient> {
  return new ApiClient(await resolveConnection(flags));
}

/**
 * Prints the server's JSON with --json, else the table: the one way client commands
 * print, so that nothing a server (or another member through it) wrote reaches the
 * terminal raw. The JSON is the exact data with hidden characters as `\uXXXX`
 * escapes; the table shows them as `\u{1b}` (model/text.ts), keeping its own
 * newlines and tabs. `indent` 0 prints the JSON on one line.
 */
export function emit(io: Output, flags: CommonFlags, json: unknown, table: () => string, indent = 2): void {
  io.out(flags.json === true ? visibleJson(json, indent) : visibleText(table()));
}

/** The help text's examples section. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`;
}

/** "yes" / "no" for tables. */
export const yesNo = (b: boolean): string => (b ? 'yes' : 'no');
