import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { InvalidInputError } from '../model/errors.ts';
import type { Capacity } from '../model/capacity.ts';
import { visibleLine } from '../model/text.ts';
import type { Executor } from '../executors/types.ts';
import { SANDBOX_MODES } from '../agent/agent.ts';
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

const EXECUTORS = ['local', 'slurm', 'kubernetes'] as const;

/** The JSON in `file`, for a flag that names a file: errors name the flag and the file. */
function jsonFile(flag: string, file: string, accepted: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidInputError(flag, `${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, accepted);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(flag, `${file} is not JSON: ${err instanceof Error ? err.message : String(err)}`, accepted);
  }
}

/** The executor the flags ask for; only the chosen engine's client is loaded. */
export async function executorFrom(o: Record<string, string | undefined>, workDir: string): Promise<Executor> {
  const kind = parse.oneOf('executor', o.executor ?? 'local', EXECUTORS);
  const unused = (flags: readonly string[]) => {
    const bad = flags.find((f) => o[f] !== undefined);
    if (bad !== undefined) throw new InvalidInputError(kebab(bad), `is for another executor, not --executor ${kind}`, `drop it, or choose the executor it belongs to`);
  };
  if (kind === 'local') {
    unused(['slurmrestd', 'slurmUser', 'slurmJwt', 'partition', 'tenantMap', 'kubeconfig', 'namespace', 'image', 'instance', 'borrowedNamespacePrefix']);
    const { LocalExecutor } = await import('../executors/local.ts');
    const inventory = o.gpus === undefined ? undefined : inventoryFrom(o.gpus);
    // Contained runs see nothing of the agent's work directory (state, other runs, logs) but their own directory.
    return new LocalExecutor({ stateDir: `${workDir}/state`, ...(inventory === undefined ? {} : { inventory }), sandbox: { hide: [workDir, '/home', '/root'] } });
  }
  unused(['gpus']);
  if (kind === 'slurm') {
    unused(['kubeconfig', 'namespace', 'image', 'borrowedNamespacePrefix']);
    const rest = o.slurmrestd ?? '';
    if (rest === '') throw new InvalidInputError('slurmrestd', 'is required with --executor slurm', 'http://HOST:6820 (JWT auth) or unix:/path/to/slurmrestd.socket');
    const { SlurmExecutor, checkTenantMap } = await import('../executors/slurm.ts');
    const { scontrolToken } = await import('../executors/slurm-rest.ts');
    const tenantMap = o.tenantMap === undefined ? undefined : checkTenantMap(jsonFile('tenant-map', o.tenantMap, TENANT_MAP_SHAPE), 'tenant-map', `${o.tenantMap}: `, !rest.startsWith('unix:'));
    const common = { instance: o.instance ?? 'default', ...(o.partition === undefined ? {} : { partition: o.partition }), ...(tenantMap === undefined ? {} : { tenantMap }) };
    if (rest.startsWith('unix:')) return new SlurmExecutor({ socketPath: rest.slice('unix:'.length), ...common });
    if (!/^https?:\/\//.test(rest)) throw new InvalidInputError('slurmrestd', `"${rest}" is not a URL`, 'http://HOST:6820 or unix:/path/to/slurmrestd.socket');
    const user = o.slurmUser ?? process.env.USER ?? 'root';
    const jwt = o.slurmJwt ?? process.env.SLURM_JWT;
    return new SlurmExecutor({ url: rest, user, token: jwt ?? scontrolToken({ user }), ...common });
  }
  unused(['slurmrestd', 'slurmUser', 'slurmJwt', 'partition', 'tenantMap']);
  if (o.image === undefined) throw new InvalidInputError('image', 'is required with --executor kubernetes', 'the container image jobs run in, e.g. nvcr.io/nvidia/pytorch:24.05-py3');
  const [{ KubernetesExecutor, checkNamespacePrefix }, { KubeConfig }] = await Promise.all([import('../executors/kubernetes.ts'), import('@kubernetes/client-node')]);
  const prefix = o.borrowedNamespacePrefix === undefined ? {} : { borrowedNamespacePrefix: checkNamespacePrefix(o.borrowedNamespacePrefix, 'borrowed-namespace-prefix') };
  const kubeConfig = new KubeConfig();
  if (o.kubeconfig === undefined) kubeConfig.loadFromDefault();
  else kubeConfig.loadFromFile(o.kubeconfig);
  return new KubernetesExecutor({ kubeConfig, namespace: o.namespace ?? 'default', image: o.image, instance: o.instance ?? 'default', ...prefix });
}

const TENANT_MAP_SHAPE = 'a JSON file { "default": { "account": "...", "qos": "...", "user": "..." }, "orgs": { "<org>": { … } } }, every field optional';

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export function agentCommand(io: Output & { err(text: string): void }): Command {
  return new Command('agent')
    .description("run a site's agent: connects out to the control plane with the site's agent token, reports the site's capacity, and runs the jobs placed on it through an executor")
    .requiredOption('--server <url>', 'the control plane, http(s)://host:port; several, comma-separated, for its replicas (the agent moves on when one does not answer)')
    .requiredOption('--token <token>', "the site's agent token (or SUANLI_AGENT_TOKEN)", process.env.SUANLI_AGENT_TOKEN)
    .option('--executor <kind>', `how runs are started: ${EXECUTORS.join(', ')}`, 'local')
    .option('--gpus <list>', 'local: the GPUs to declare, e.g. h100:8 or h100:2x8,a100:4 (default: nvidia-smi)')
    .option('--slurmrestd <url>', 'slurm: slurmrestd, http://HOST:6820 (JWT) or unix:/path/to/socket')
    .option('--slurm-user <name>', 'slurm: the user jobs run as (default $USER)')
    .option('--slurm-jwt <token>', 'slurm: a JWT for that user (or SLURM_JWT; default: `scontrol token`, renewed)')
    .option('--partition <name>', 'slurm: the partition to run in (default: the cluster’s default)')
    .option('--kubeconfig <file>', 'kubernetes: the cluster and credentials (default: KUBECONFIG, ~/.kube/config or in-cluster)')
    .option('--namespace <ns>', 'kubernetes: where Jobs are created (default: default)')
    .option('--image <image>', 'kubernetes: the container image jobs run in')
    .option('--instance <tag>', 'slurm, kubernetes: tags this agent’s jobs, so two sites can share one cluster (default: default)')
    .option('--sandbox <when>', `which runs to contain besides those the site's policy says to: ${SANDBOX_MODES.join(', ')} (policy: as the control plane says; borrowed: every other org's run; all: own runs too)`, 'policy')
    .option('--tenant-map <file>', 'slurm: the Slurm account, QOS and user each org’s contained runs get, a JSON file { "default": {…}, "orgs": { "<org>": { "account", "qos", "user" } } } (users need a JWT of root or SlurmUser)')
    .option('--borrowed-namespace-prefix <prefix>', 'kubernetes: contained runs go to the namespace <prefix>-<org>, made with Pod Security restricted (default: suanli-borrowed)')
    .option('--work-dir <dir>', 'runs, logs and the executor state', './.suanli-agent')
    .option('--ca <file>', "PEM of the CA that signed the server's certificate (a private CA)")
    .option('--heartbeat <seconds>', 'seconds between heartbeats', '5')
    .addHelpText('after', `
Examples:
  suanli agent --server https://pool.example.org:8040 --token sl_… --ca ca.pem --gpus h100:8
  suanli agent --server https://cp-1.example.org:8040,https://cp-2.example.org:8040 --token sl_… --gpus h100:8
  suanli agent --server https://pool.example.org:8040 --token sl_… --executor slurm --slurmrestd http://login1:6820 --partition gpu
  suanli agent --server https://pool.example.org:8040 --token sl_… --executor kubernetes --namespace research --image nvcr.io/nvidia/pytorch:24.05-py3

Containing borrowed work (runs of other orgs on this site's machines):
  suanli agent … --gpus h100:8 --sandbox borrowed
      every borrowed run in a bubblewrap sandbox (apt-get install bubblewrap), whatever the site's policy
  suanli agent … --executor slurm --slurmrestd http://login1:6820 --tenant-map tenants.json
      contained runs under their org's Slurm account, QOS and user from tenants.json
  suanli agent … --executor kubernetes --image … --borrowed-namespace-prefix lent
      contained runs in the namespace lent-<org>, Pod Security restricted
  At start the agent says what its executor can contain; a run that must be contained and cannot be fails.`)
    .action(async (o: Record<string, string | undefined>) => {
      const workDir = resolve(o.workDir ?? './.suanli-agent');
      const ca = o.ca === undefined ? undefined : readFileSync(o.ca);
      const sandbox = parse.oneOf('sandbox', o.sandbox ?? 'policy', SANDBOX_MODES);
      const executor = await executorFrom(o, workDir);
      const { Agent } = await import('../agent/agent.ts');
      const agent = new Agent({
        server: o.server ?? '', token: o.token ?? '', executor, workDir, sandbox, heartbeatMs: parse.number('heartbeat', o.heartbeat ?? '5') * 1000,
        ...(ca === undefined ? {} : { ca }),
        // Its lines hold the control plane's words (a stop's reason, a refusal): shown, never obeyed.
        logger: { info: (s) => io.out(visibleLine(s)), warn: (s) => io.err(visibleLine(s)) },
      });
      await agent.start();
      io.out(`suanli agent: ${executor.kind} executor, work dir ${workDir}, control plane ${o.server ?? ''}`);
      const signal = await shutdownSignal();
      io.out(`suanli agent: ${signal}, stopping (runs keep going; the next agent recovers them)`);
      await agent.stop();
      await executor.close();
    });
}
