import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { InvalidInputError } from '../model/errors.ts';
import type { Capacity } from '../model/capacity.ts';
import * as parse from './parse.ts';
import type { Output } from './plan-command.ts';
import { shutdownSignal } from './serve-command.ts';

/** `h100:8` or `h100:2x8` (2 nodes of 8): the GPUs a local executor declares. */
export function inventoryFrom(text: string): Capacity[] {
  return parse.list('gpus', text, (flag, item) => {
    const m = /^\s*([A-Za-z0-9_.-]+):(?:(\d+)x)?(\d+)\s*$/.exec(item);
    if (m === null) throw new InvalidInputError(flag, `"${item}" is not a GPU inventory`, 'TYPE:GPUS or TYPE:NODESxGPUS, e.g. h100:8 or a100:2x4');
    return { gpuType: m[1] ?? '', nodes: m[2] === undefined ? 1 : parse.integer(flag, m[2]), gpusPerNode: parse.integer(flag, m[3] ?? '') };
  });
}

export function agentCommand(io: Output & { err(text: string): void }): Command {
  return new Command('agent')
    .description("run a site's agent: connects out to the control plane with the site's agent token, reports the site's capacity, and runs the jobs placed on it through an executor")
    .requiredOption('--server <url>', 'the control plane, http(s)://host:port')
    .requiredOption('--token <token>', "the site's agent token (or SUANLI_AGENT_TOKEN)", process.env.SUANLI_AGENT_TOKEN)
    .option('--executor <kind>', 'how runs are started: local', 'local')
    .option('--gpus <list>', 'GPUs the local executor declares, e.g. h100:8 or h100:2x8,a100:4 (default: nvidia-smi)')
    .option('--work-dir <dir>', 'runs, logs and the executor state', './.suanli-agent')
    .option('--ca <file>', "PEM of the CA that signed the server's certificate (a private CA)")
    .option('--heartbeat <seconds>', 'seconds between heartbeats', '5')
    .addHelpText('after', `
Examples:
  suanli agent --server https://pool.example.org:8040 --token sl_… --ca ca.pem --gpus h100:8`)
    .action(async (o: Record<string, string | undefined>) => {
      const kind = parse.oneOf('executor', o.executor ?? 'local', ['local'] as const);
      const workDir = resolve(o.workDir ?? './.suanli-agent');
      const inventory = o.gpus === undefined ? undefined : inventoryFrom(o.gpus);
      const ca = o.ca === undefined ? undefined : readFileSync(o.ca);
      const [{ Agent }, { LocalExecutor }] = await Promise.all([import('../agent/agent.ts'), import('../executors/local.ts')]);
      const executor = new LocalExecutor({ stateDir: `${workDir}/state`, ...(inventory === undefined ? {} : { inventory }) });
      const agent = new Agent({
        server: o.server ?? '', token: o.token ?? '', executor, workDir, heartbeatMs: parse.number('heartbeat', o.heartbeat ?? '5') * 1000,
        ...(ca === undefined ? {} : { ca }),
        logger: { info: (s) => io.out(s), warn: (s) => io.err(s) },
      });
      await agent.start();
      io.out(`suanli agent: ${kind} executor, work dir ${workDir}, control plane ${o.server ?? ''}`);
      const signal = await shutdownSignal();
      io.out(`suanli agent: ${signal}, stopping (runs keep going; the next agent recovers them)`);
      await agent.stop();
      await executor.close();
    });
}
