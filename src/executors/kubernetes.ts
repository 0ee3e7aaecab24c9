/**
 * The Kubernetes executor: one run is one Indexed Job (completions = parallelism =
 * nodes; one pod per node, kept apart by pod anti-affinity) whose pods ask for
 * `nvidia.com/gpu` GPUs and land on nodes of the run's GPU type. Talks to the API
 * server through @kubernetes/client-node 1.4.x (2.x needs Node ≥ 22).
 *
 * How runs are found again: Jobs carry the labels `app.kubernetes.io/managed-by=suanli`
 * and `suanli.io/instance=<instance>`, and the annotation `suanli.io/run-id`; the Job
 * name is derived from the run id, so creating it twice is a 409 that `start` turns
 * into the existing handle. `cancel` annotates the Job `suanli.io/cancelled=true` and
 * then deletes it with foreground propagation; a Job deleted without that annotation
 * was cancelled by someone else (`failed`, `cancelled_outside`). Once a cancelled
 * Job is gone, only the instance that cancelled it remembers it as `cancelled`; a
 * new instance reads it as `lost`.
 *
 * Not guaranteed by Kubernetes itself: that all pods of a gang start together (that
 * takes a gang scheduler such as Kueue or Volcano); a failed pod does end the Job
 * (backoffLimit 0), which stops the others.
 */
import { createHash } from 'node:crypto';
import { ApiException, BatchV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Job, type V1Node, type V1Pod } from '@kubernetes/client-node';
import type { Capacity } from '../model/capacity.ts';
import { capacityOf, checkCanEverFit, gpuTypeFromName, type EngineNode } from './capacity.ts';
import { ExecutorError } from './errors.ts';
import { checkContainable, checkRunRequest, checkTailBytes, decodeTail, exitStatus, runEnv } from './run-request.ts';
import { SUANLI_ENV, type Containment, type Executor, type RunHandle, type RunId, type RunRecord, type RunRequest, type RunStatus } from './types.ts';

export interface KubernetesExecutorOptions {
  /** The cluster and credentials, e.g. `kc.loadFromDefault()` or `kc.loadFromCluster()`. */
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  /** The container image the command runs in. */
  readonly image: string;
  /** The node label naming the GPU product (default `nvidia.com/gpu.product`, from GPU feature discovery). */
  readonly gpuTypeLabel?: string;
  /** Tags this executor's Jobs; `list()` returns only them (default `default`). */
  readonly instance?: string;
  /** How long Kubernetes keeps a finished Job, in seconds (ttlSecondsAfterFinished; default one day). */
  readonly keepFinishedS?: number;
  readonly serviceAccountName?: string;
}

export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  instance: 'suanli.io/instance',
  /** On the Job and its pods: the Job's name (pods are looked up by it). */
  job: 'suanli.io/job',
} as const;
export const ANNOTATIONS = { runId: 'suanli.io/run-id', cancelled: 'suanli.io/cancelled' } as const;
const GPU_RESOURCE = 'nvidia.com/gpu';
const COMPLETION_INDEX = 'batch.kubernetes.io/job-completion-index';
const CONTAINER = 'run';

export class KubernetesExecutor implements Executor {
  readonly kind = 'kubernetes';
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  private readonly instance: string;
  private readonly gpuTypeLabel: string;
  /** Jobs this instance cancelled: still `cancelled` after Kubernetes has deleted them. */
  private readonly cancelledHere = new Set<string>();

  constructor(private readonly options: KubernetesExecutorOptions) {
    this.batch = options.kubeConfig.makeApiClient(BatchV1Api);
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.instance = options.instance ?? 'default';
    this.gpuTypeLabel = options.gpuTypeLabel ?? 'nvidia.com/gpu.product';
  }

  async discover(): Promise<Capacity[]> {
    return capacityOf((await this.nodes()).map((n) => n.node));
  }

  async start(run: RunRequest): Promise<RunHandle> {
    const id = checkRunRequest(run);
    await checkContainable(run, this);
    const nodes = await this.nodes();
    checkCanEverFit(
      run,
      nodes.map((n) => n.node),
      'the Kubernetes cluster',
    );
    const products = run.gpuType === undefined ? [] : [...new Set(nodes.filter((n) => n.node.gpuType === run.gpuType).map((n) => n.product))];
    const body = jobManifest(run, { ...this.options, instance: this.instance, gpuTypeLabel: this.gpuTypeLabel }, products);
    const name = body.metadata?.name ?? '';
    try {
      await this.batch.createNamespacedJob({ namespace: this.options.namespace, body });
    } catch (err) {
      if (!(err instanceof ApiException && err.code === 409)) throw apiError(err, `create Job ${name}`);
      const existing = await this.readJob(name);
      if (existing?.metadata?.annotations?.[ANNOTATIONS.runId] !== id) throw new ExecutorError('kubernetes', 'rejected', `Job ${name} exists but is not run ${id}`);
    }
    return { runId: id, engineId: name };
  }

  async status(handle: RunHandle): Promise<RunStatus> {
    const job = await this.readJob(handle.engineId);
    if (job === null || job.metadata?.annotations?.[ANNOTATIONS.runId] !== handle.runId) {
      return this.cancelledHere.has(handle.engineId)
        ? { state: 'cancelled', detail: `Job ${handle.engineId} cancelled and deleted` }
        : { state: 'lost', detail: `the cluster has no Job ${handle.engineId} for run ${handle.runId}` };
    }
    return this.jobStatus(job);
  }

  async cancel(handle: RunHandle): Promise<void> {
    const job = await this.readJob(handle.engineId);
    if (job === null || finishedCondition(job) !== undefined) return;
    const { namespace } = this.options;
    const name = handle.engineId;
    // Mark first: a Job deleted without the mark was deleted by someone else.
    await this.batch
      .patchNamespacedJob({ name, namespace, body: { metadata: { annotations: { [ANNOTATIONS.cancelled]: 'true' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
      .catch(ignore404(`annotate Job ${name}`));
    this.cancelledHere.add(name);
    await this.batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Foreground' }).catch(ignore404(`delete Job ${name}`));
  }

  async logTail(handle: RunHandle, bytes: number): Promise<string> {
    checkTailBytes(bytes);
    const pods = await this.pods(handle.engineId);
    const logs = await Promise.all(
      pods.map(async (pod) => {
        try {
          // Every line has at least one byte, so the last `bytes` lines hold the last `bytes` bytes.
          return await this.core.readNamespacedPodLog({ name: pod.metadata?.name ?? '', namespace: this.options.namespace, container: CONTAINER, tailLines: Math.max(bytes, 1) });
        } catch (err) {
          if (err instanceof ApiException && (err.code === 400 || err.code === 404)) return ''; // not started yet, or gone
          throw apiError(err, `log of pod ${pod.metadata?.name ?? ''}`);
        }
      }),
    );
    const all = Buffer.from(logs.join(''));
    return bytes === 0 ? '' : decodeTail(all.subarray(Math.max(0, all.length - bytes)));
  }

  async list(): Promise<RunRecord[]> {
    const labelSelector = `${LABELS.managedBy}=suanli,${LABELS.instance}=${this.instance}`;
    const jobs = await this.batch.listNamespacedJob({ namespace: this.options.namespace, labelSelector }).catch((err: unknown) => {
      throw apiError(err, 'list Jobs');
    });
    return Promise.all(
      jobs.items
        .filter((job) => job.metadata?.annotations?.[ANNOTATIONS.runId] !== undefined)
        .map(async (job) => ({ handle: { runId: job.metadata?.annotations?.[ANNOTATIONS.runId] as RunId, engineId: job.metadata?.name ?? '' }, status: await this.jobStatus(job) })),
    );
  }

  containment(): Promise<Containment> {
    return Promise.resolve({ available: false, detail: 'not yet: the Kubernetes executor does not contain runs' });
  }

  async close(): Promise<void> {}

  /** A Job's conditions and counts as a RunStatus; the pods say a failed command's exit code. */
  private async jobStatus(job: V1Job): Promise<RunStatus> {
    const name = job.metadata?.name ?? '';
    const where = `Job ${name}`;
    const cancelled = job.metadata?.annotations?.[ANNOTATIONS.cancelled] === 'true';
    const finished = finishedCondition(job);
    const active = job.status?.active ?? 0;
    if (cancelled) return active > 0 ? { state: 'running', detail: `stopping ${where}: cancel requested` } : { state: 'cancelled', detail: `${where} cancelled by Suanli` };
    if (job.metadata?.deletionTimestamp !== undefined && finished === undefined) {
      return { state: 'failed', reason: 'cancelled_outside', exitCode: null, detail: `${where} was deleted outside Suanli` };
    }
    if (finished?.type === 'Complete') return exitStatus(0, where);
    if (finished?.type === 'Failed') {
      const code = (await this.pods(name)).flatMap((p) => p.status?.containerStatuses ?? []).map((c) => c.state?.terminated?.exitCode ?? 0).find((c) => c !== 0);
      if (code !== undefined && finished.reason !== 'DeadlineExceeded') return exitStatus(code, where);
      return { state: 'failed', reason: 'engine', exitCode: null, detail: `${where} failed: ${finished.reason ?? ''} ${finished.message ?? ''}`.trim() };
    }
    const ready = job.status?.ready ?? 0;
    if (ready > 0) return { state: 'running', detail: `${where}: ${ready} of ${job.spec?.parallelism ?? '?'} pods ready` };
    return { state: 'pending', detail: job.spec?.suspend === true ? `${where} is suspended` : `${where}: ${active} pods waiting to run` };
  }

  private async readJob(name: string): Promise<V1Job | null> {
    try {
      return await this.batch.readNamespacedJob({ name, namespace: this.options.namespace });
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return null;
      throw apiError(err, `read Job ${name}`);
    }
  }

  /** The Job's pods, by completion index. */
  private async pods(jobName: string): Promise<V1Pod[]> {
    const pods = await this.core.listNamespacedPod({ namespace: this.options.namespace, labelSelector: `${LABELS.job}=${jobName}` }).catch((err: unknown) => {
      throw apiError(err, `list pods of Job ${jobName}`);
    });
    const index = (p: V1Pod) => Number(p.metadata?.annotations?.[COMPLETION_INDEX] ?? 0);
    return [...pods.items].sort((a, b) => index(a) - index(b));
  }

  /** Nodes with their GPUs and the product label their type came from. */
  private async nodes(): Promise<{ node: EngineNode; product: string }[]> {
    const list = await this.core.listNode().catch((err: unknown) => {
      throw apiError(err, 'list nodes');
    });
    return list.items.map((n) => kubeNode(n, this.gpuTypeLabel));
  }
}

/** A node's GPUs (allocatable `nvidia.com/gpu`) and type (from the product label); usable if Ready and schedulable. */
export function kubeNode(node: V1Node, gpuTypeLabel: string): { node: EngineNode; product: string } {
  const product = node.metadata?.labels?.[gpuTypeLabel] ?? '';
  const gpus = Number(node.status?.allocatable?.[GPU_RESOURCE] ?? node.status?.capacity?.[GPU_RESOURCE] ?? 0);
  const ready = (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  return { node: { name: node.metadata?.name ?? '', gpuType: product === '' ? 'gpu' : gpuTypeFromName(product), gpus: Number.isFinite(gpus) ? gpus : 0, usable: ready && node.spec?.unschedulable !== true }, product };
}

/**
 * The Job's name: `suanli-<jobId>-<attempt>` when the job id is already a DNS label,
 * else a cleaned, shortened id with a hash of the run id. At most 52 characters, so
 * that pod hostnames (`<name>-<index>`) stay within 63.
 */
export function jobName(id: RunId, jobId: string, attempt: number): string {
  if (/^[a-z0-9-]{1,30}$/.test(jobId)) return `suanli-${jobId}-${attempt}`;
  const clean = jobId.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 24);
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 8);
  return `suanli-${clean}-${attempt}-${hash}`;
}

/** The Job for a run; `products` are the GPU-type label values of nodes of the run's type. */
export function jobManifest(run: RunRequest, options: Omit<KubernetesExecutorOptions, 'kubeConfig' | 'gpuTypeLabel' | 'instance'> & { readonly instance: string; readonly gpuTypeLabel: string }, products: readonly string[]): V1Job {
  const id = checkRunRequest(run);
  const name = jobName(id, run.jobId, run.attempt);
  const labels = { [LABELS.managedBy]: 'suanli', [LABELS.instance]: options.instance, [LABELS.job]: name };
  const env = [
    ...Object.entries({ ...run.env, ...runEnv(run) }).map(([n, value]) => ({ name: n, value })),
    { name: SUANLI_ENV.nodeRank, valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${COMPLETION_INDEX}']` } } },
    { name: SUANLI_ENV.nodeName, valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
  ];
  const nodeAffinity =
    products.length === 0 ? undefined : { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: options.gpuTypeLabel, operator: 'In', values: [...products] }] }] } };
  // One pod per node: a gang's pods never share a node.
  const podAntiAffinity = run.nodes === 1 ? undefined : { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { [LABELS.job]: name } }, topologyKey: 'kubernetes.io/hostname' }] };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: options.namespace, labels, annotations: { [ANNOTATIONS.runId]: id } },
    spec: {
      completionMode: 'Indexed',
      completions: run.nodes,
      parallelism: run.nodes,
      // Suanli retries through the control plane: Kubernetes must not run an attempt twice.
      backoffLimit: 0,
      ttlSecondsAfterFinished: options.keepFinishedS ?? 86_400,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          ...(options.serviceAccountName === undefined ? {} : { serviceAccountName: options.serviceAccountName }),
          ...(nodeAffinity === undefined && podAntiAffinity === undefined ? {} : { affinity: { ...(nodeAffinity && { nodeAffinity }), ...(podAntiAffinity && { podAntiAffinity }) } }),
          tolerations: [{ key: GPU_RESOURCE, operator: 'Exists', effect: 'NoSchedule' }],
          containers: [
            {
              name: CONTAINER,
              image: options.image,
              command: [...run.command],
              workingDir: run.workDir,
              env,
              resources: run.gpusPerNode === 0 ? {} : { limits: { [GPU_RESOURCE]: String(run.gpusPerNode) } },
            },
          ],
        },
      },
    },
  };
}

function finishedCondition(job: V1Job) {
  return (job.status?.conditions ?? []).find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

/** An API failure as an ExecutorError: 401/403 unauthorized, other answers rejected, no answer unavailable. */
function apiError(err: unknown, what: string): ExecutorError {
  if (err instanceof ApiException) {
    const code = err.code === 401 || err.code === 403 ? 'unauthorized' : 'rejected';
    const message = (err.body as { message?: string } | undefined)?.message ?? String(err.body);
    return new ExecutorError('kubernetes', code, `${what}: the API server answered ${err.code}: ${message}`, { cause: err });
  }
  return new ExecutorError('kubernetes', 'unavailable', `${what}: the API server did not answer: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

const ignore404 = (what: string) => (err: unknown) => {
  if (err instanceof ApiException && err.code === 404) return undefined;
  throw apiError(err, what);
};
