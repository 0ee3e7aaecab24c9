import { Command, CommanderError } from 'commander';
import { isSuanliError } from '../model/errors.ts';
import { visibleLine, visibleText } from '../model/text.ts';
import { isClientError } from './client/errors.ts';
import type { Output } from './plan-command.ts';

/** Exit codes: 0 ok, 1 failure (the server refused or cannot be reached, or a bug), 2 bad input or usage. */
export const EXIT_USAGE = 2;

/** Where the CLI prints: results on `out`, notes on `err`; `isTty` and `outIsTty` say whether stderr and stdout are terminals (progress is drawn differently there). */
export type CliIo = Output & { err(text: string): void; isTty?: boolean; outIsTty?: boolean };

/**
 * The top-level commands, in the order help lists them, each with the module that
 * defines it, loaded only when the command line names it (or help lists them all):
 * `suanli --version` loads none, `suanli plan …` only the planner's.
 */
const COMMANDS: readonly { readonly names: readonly string[]; readonly load: (io: CliIo) => Promise<Command[]> }[] = [
  { names: ['plan'], load: async (io) => [(await import('./plan-command.ts')).planCommand(io)] },
  { names: ['simulate'], load: async (io) => [(await import('./simulate-command.ts')).simulateCommand(io)] },
  { names: ['experiment'], load: async (io) => [(await import('./experiment-command.ts')).experimentCommand(io)] },
  { names: ['serve'], load: async (io) => [(await import('./serve-command.ts')).serveCommand(io)] },
  { names: ['agent'], load: async (io) => [(await import('./agent-command.ts')).agentCommand(io)] },
  { names: ['demo'], load: async (io) => [(await import('./demo-command.ts')).demoCommand(io)] },
  { names: ['login', 'logout', 'org', 'token', 'site', 'job', 'ledger'], load: async (io) => (await import('./client/index.ts')).clientCommands(io) },
];

/** The program for `argv`: with the command it names, or all of them when it names none it knows (help, or a typo to suggest for). */
export async function buildProgram(io: CliIo, argv: readonly string[] = []): Promise<Command> {
  const program = new Command('suanli')
    .description('Suanli (算力) pools GPUs scattered across many organizations into one compute commons.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage and examples)')
    .addHelpText('after', `
Examples:
  suanli demo                             # a demo pool on this machine: 3 orgs, their agents, a workload
  suanli plan compare                     # 100,000 Chinese characters vs a 640×480 video
  suanli plan sweep --seconds 4,6,60,600,3600
  suanli plan video --model hunyuanvideo --size 1280x720 --frames 129 --gpus 8`);
  const named = argv.find((a) => !a.startsWith('-'));
  const versionOnly = named === undefined && argv.some((a) => a === '-V' || a === '--version');
  const wanted = versionOnly ? [] : COMMANDS.filter((c) => named !== undefined && c.names.includes(named));
  for (const group of wanted.length > 0 || versionOnly ? wanted : COMMANDS) for (const cmd of await group.load(io)) program.addCommand(cmd);
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const cmd of all(program)) cmd.exitOverride();
  return program;
}

/**
 * Runs the CLI and returns its exit code instead of exiting, so tests can call it
 * in-process. Bad input is one line on stderr naming the flag, exit code 2; no
 * stack trace. Anything else is a bug: its stack goes to stderr, exit code 1.
 */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const program = await buildProgram(io, argv);
  // Subcommands do not inherit output settings: give every command the caller's streams.
  const output = { writeOut: (s: string) => io.out(s.replace(/\n$/, '')), writeErr: (s: string) => io.err(s.replace(/\n$/, '')) };
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const cmd of all(program)) cmd.configureOutput(output);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : EXIT_USAGE;
    }
    // An error's message may hold a server's words (a refusal, an id): one line, its hidden characters escaped.
    if (isSuanliError(err)) {
      const field = 'field' in err && typeof err.field === 'string' ? `--${err.field}: ` : '';
      io.err(`suanli: ${visibleLine(`${field}${err.message.replace(/^[^:]+: /, '')}`)}`);
      return EXIT_USAGE;
    }
    if (isClientError(err)) {
      io.err(`suanli: ${visibleLine(err.message)}`);
      return err.usage ? EXIT_USAGE : 1;
    }
    io.err(`suanli: internal error (please report): ${visibleText(err instanceof Error ? (err.stack ?? err.message) : String(err))}`);
    return 1;
  }
}

/** The `suanli` command in this process (bin/suanli.js calls it): the exit code is set, not forced, so output drains. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  // A reader that stops early (`suanli job list | head`) closes the pipe: that ends the output, it is not a failure.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(0);
  });
  process.exitCode = await run(argv, { out: (s) => process.stdout.write(`${s}\n`), err: (s) => process.stderr.write(s.startsWith('\r') ? s : `${s}\n`), isTty: process.stderr.isTTY, outIsTty: process.stdout.isTTY });
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) await main();
