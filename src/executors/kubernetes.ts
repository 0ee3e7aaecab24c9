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
 *
 * Contained runs (`tenant.sandbox`) go to a namespace of their org's,
 * `<prefix>-<org>`, made on first use with Pod Security "restricted" enforced and a
 * NetworkPolicy that denies all traffic to and from pods labelled
 * `suanli.io/network=none`; their pods run as uid 65534, non-root, without privilege
 * escalation, capabilities or a service account token, under the RuntimeDefault
 * seccomp profile. Their handles say the namespace (`<namespace>/<Job name>`), and
 * `list()` finds them through the namespaces' labels.
 */
import { createHash } from 'node:crypto';
import {
  ApiException, AuthorizationV1Api, BatchV1Api, CoreV1Api, NetworkingV1Api, PatchStrategy, setHeaderOptions,
  type KubeConfig, type V1Job, type V1Namespace, type V1NetworkPolicy, type V1Node, type V1Pod, type V1PodSpec,
} from '@kubernetes/client-node';
import { InvalidInputError } from '../model/errors.ts';
import type { Capacity } from '../model/capacity.ts';
import { capacityOf, checkCanEverFit, gpuTypeFromName, type EngineNode } from './capacity.ts';
import { ExecutorError } from './errors.ts';
import { checkContainable, checkRunRequest, checkTailBytes, decodeTail, exitStatus, mustContain, runEnv } from './run-request.ts';
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
  /** The service account of own runs' pods; contained runs' have none mounted. */
  readonly serviceAccountName?: string;
  /** Contained runs go to the namespace `<prefix>-<org>` (default `suanli-borrowed`), made on first use; see `checkNamespacePrefix`. */
  readonly borrowedNamespacePrefix?: string;
}

export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  instance: 'suanli.io/instance',
  /** On the Job and its pods: the Job's name (pods are looked up by it). */
  job: 'suanli.io/job',
  /** On a namespace made for an org's contained runs (how `list()` finds them). */
  tenantNamespace: 'suanli.io/tenant-namespace',
  /** On a contained run's pods: `none` or `host`; the namespace's NetworkPolicy isolates `none`. */
  network: 'suanli.io/network',
} as const;
export const ANNOTATIONS = { runId: 'suanli.io/run-id', cancelled: 'suanli.io/cancelled', org: 'suanli.io/org' } as const;
/** The Pod Security admission labels of a contained runs' namespace. */
export const POD_SECURITY_LABELS = { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' } as const;
export const NO_NETWORK_POLICY = 'suanli-no-network';
const DEFAULT_PREFIX = 'suanli-borrowed';
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
/** nobody: the user contained runs' pods run as. */
const SANDBOX_UID = 65534;
/** What the agent must be allowed to contain runs: the namespaces and NetworkPolicies it makes, and Jobs in them. */
const CONTAINMENT_ACCESS = [
  { verb: 'create', resource: 'namespaces' },
  { verb: 'get', resource: 'namespaces' },
  { verb: 'list', resource: 'namespaces' },
  { verb: 'create', resource: 'networkpolicies', group: 'networking.k8s.io' },
  { verb: 'create', resource: 'jobs', group: 'batch' },
  { verb: 'list', resource: 'pods' },
] as const;
const GPU_RESOURCE = 'nvidia.com/gpu';
const COMPLETION_INDEX = 'batch.kubernetes.io/job-completion-index';
const CONTAINER = 'run';

export class KubernetesExecutor implements Executor {
  readonly kind = 'kubernetes';
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  private readonly networking: NetworkingV1Api;
  private readonly authorization: AuthorizationV1Api;
  private readonly instance: string;
  private readonly gpuTypeLabel: string;
  private readonly prefix: string;
  /** Jobs this instance cancelled (by engine id): still `cancelled` after Kubernetes has deleted them. */
  private readonly cancelledHere = new Set<string>();
  /** Contained runs' namespaces this instance has made sure of. */
  private readonly namespacesReady = new Set<string>();
  /** The API server's answer to what containment needs, once it has answered. */
  private access: Containment | undefined;

  constructor(private readonly options: KubernetesExecutorOptions) {
    this.batch = options.kubeConfig.makeApiClient(BatchV1Api);
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.networking = options.kubeConfig.makeApiClient(NetworkingV1Api);
    this.authorization = options.kubeConfig.makeApiClient(AuthorizationV1Api);
    this.instance = options.instance ?? 'default';
    this.gpuTypeLabel = options.gpuTypeLabel ?? 'nvidia.com/gpu.product';
    this.prefix = checkNamespacePrefix(options.borrowedNamespacePrefix ?? DEFAULT_PREFIX, 'kubernetes.borrowedNamespacePrefix');
  }

  async discover(): Promise<Capacity[]> {
    return capacityOf((await this.nodes()).map((n) => n.node));
  }

  async start(run: RunRequest): Promise<RunHandle> {
    const id = checkRunRequest(run);
    await checkContainable(run, this);
    const namespace = mustContain(run) ? await this.tenantNamespaceOf(run) : this.options.namespace;
    const nodes = await this.nodes();
    checkCanEverFit(
      run,
      nodes.map((n) => n.node),
      'the Kubernetes cluster',
    );
    const products = run.gpuType === undefined ? [] : [...new Set(nodes.filter((n) => n.node.gpuType === run.gpuType).map((n) => n.product))];
    const body = jobManifest(run, { ...this.options, namespace, instance: this.instance, gpuTypeLabel: this.gpuTypeLabel }, products);
    const where = { namespace, name: body.metadata?.name ?? '' };
    try {
      await this.batch.createNamespacedJob({ namespace, body });
    } catch (err) {
      if (!(err instanceof ApiException && err.code === 409)) throw apiError(err, `create Job ${where.name} in ${namespace}`);
      const existing = await this.readJob(where);
      if (existing?.metadata?.annotations?.[ANNOTATIONS.runId] !== id) throw new ExecutorError('kubernetes', 'rejected', `Job ${where.name} in ${namespace} exists but is not run ${id}`);
    }
    return { runId: id, engineId: this.engineId(where) };
  }

  async status(handle: RunHandle): Promise<RunStatus> {
    const where = this.locate(handle);
    const job = await this.readJob(where);
    if (job === null || job.metadata?.annotations?.[ANNOTATIONS.runId] !== handle.runId) {
      return this.cancelledHere.has(handle.engineId)
        ? { state: 'cancelled', detail: `Job ${handle.engineId} cancelled and deleted` }
        : { state: 'lost', detail: `the cluster has no Job ${handle.engineId} for run ${handle.runId}` };
    }
    return this.jobStatus(where.namespace, job);
  }

  async cancel(handle: RunHandle): Promise<void> {
    const where = this.locate(handle);
    const job = await this.readJob(where);
    if (job === null || finishedCondition(job) !== undefined) return;
    const { namespace, name } = where;
    // Mark first: a Job deleted without the mark was deleted by someone else.
    await this.batch
      .patchNamespacedJob({ name, namespace, body: { metadata: { annotations: { [ANNOTATIONS.cancelled]: 'true' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
      .catch(ignore404(`annotate Job ${name}`));
    this.cancelledHere.add(handle.engineId);
    await this.batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Foreground' }).catch(ignore404(`delete Job ${name}`));
  }

  async logTail(handle: RunHandle, bytes: number): Promise<string> {
    checkTailBytes(bytes);
    const { namespace, name } = this.locate(handle);
    const pods = await this.pods(namespace, name);
    const logs = await Promise.all(
      pods.map(async (pod) => {
        try {
          // Every line has at least one byte, so the last `bytes` lines hold the last `bytes` bytes.
          return await this.core.readNamespacedPodLog({ name: pod.metadata?.name ?? '', namespace, container: CONTAINER, tailLines: Math.max(bytes, 1) });
        } catch (err) {
          if (err instanceof ApiException && (err.code === 400 || err.code === 404)) return ''; // not started yet, or gone
          throw apiError(err, `log of pod ${pod.metadata?.name ?? ''}`);
        }
      }),
    );
    const all = Buffer.from(logs.join(''));
    return bytes === 0 ? '' : decodeTail(all.subarray(Math.max(0, all.length - bytes)));
  }

  /** This instance's Jobs in its namespace and in every contained runs' namespace. */
  async list(): Promise<RunRecord[]> {
    const labelSelector = `${LABELS.managedBy}=suanli,${LABELS.instance}=${this.instance}`;
    const namespaces = [this.options.namespace, ...(await this.tenantNamespaces())];
    const jobs = await Promise.all(
      namespaces.map(async (namespace) => {
        const list = await this.batch.listNamespacedJob({ namespace, labelSelector }).catch((err: unknown) => {
          throw apiError(err, `list Jobs in ${namespace}`);
        });
        return list.items.map((job) => ({ namespace, job }));
      }),
    );
    return Promise.all(
      jobs
        .flat()
        .filter(({ job }) => job.metadata?.annotations?.[ANNOTATIONS.runId] !== undefined)
        .map(async ({ namespace, job }) => ({
          handle: { runId: job.metadata?.annotations?.[ANNOTATIONS.runId] as RunId, engineId: this.engineId({ namespace, name: job.metadata?.name ?? '' }) },
          status: await this.jobStatus(namespace, job),
        })),
    );
  }

  /**
   * Available when the API server says the agent may do what containment takes
   * (SelfSubjectAccessReviews: create, get and list namespaces, create
   * NetworkPolicies and Jobs and list pods in any namespace). Kept once the API
   * server has answered.
   */
  async containment(): Promise<Containment> {
    if (this.access !== undefined) return this.access;
    let denied: string[];
    try {
      const reviews = await Promise.all(
        CONTAINMENT_ACCESS.map(async (attributes) => {
          const review = await this.authorization.createSelfSubjectAccessReview({ body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { ...attributes } } } });
          return review.status?.allowed === true ? null : `${attributes.verb} ${attributes.resource}`;
        }),
      );
      denied = reviews.filter((r) => r !== null);
    } catch (err) {
      return { available: false, detail: `could not ask the API server what the agent may do: ${apiError(err, 'SelfSubjectAccessReview').message}` };
    }
    this.access =
      denied.length > 0
        ? { available: false, detail: `the agent may not ${denied.join(', ')} in every namespace (RBAC), which contained runs need: a namespace per org with its NetworkPolicy and Jobs` }
        : {
            available: true,
            detail: `a namespace per org (${this.prefix}-<org>) with Pod Security "restricted" enforced; pods as uid ${SANDBOX_UID}, non-root, no privilege escalation, capabilities or service account token, seccomp RuntimeDefault; network none: a NetworkPolicy denying all traffic (enforced only by a network plugin that implements NetworkPolicy)`,
          };
    return this.access;
  }

  async close(): Promise<void> {}

  /** Where a handle's Job is: `<namespace>/<name>` for a contained run's, else `<name>` in the executor's namespace. */
  private locate(handle: RunHandle): { namespace: string; name: string } {
    const slash = handle.engineId.indexOf('/');
    return slash < 0 ? { namespace: this.options.namespace, name: handle.engineId } : { namespace: handle.engineId.slice(0, slash), name: handle.engineId.slice(slash + 1) };
  }

  private engineId(where: { namespace: string; name: string }): string {
    return where.namespace === this.options.namespace ? where.name : `${where.namespace}/${where.name}`;
  }

  /**
   * The namespace of a contained run's org, made (with its NetworkPolicy) if missing.
   * One that exists without Pod Security "restricted" enforced is not used: it is
   * someone else's.
   */
  private async tenantNamespaceOf(run: RunRequest): Promise<string> {
    const org = run.tenant?.org ?? '';
    if (org === '') throw new InvalidInputError('run.tenant.org', 'is empty: the control plane did not say whose run this is, and a contained run goes to its org’s namespace', 'the org id');
    const name = tenantNamespace(this.prefix, org);
    if (this.namespacesReady.has(name)) return name;
    try {
      await this.core.createNamespace({ body: namespaceManifest(name, org) });
    } catch (err) {
      if (!(err instanceof ApiException && err.code === 409)) throw apiError(err, `create namespace ${name}`);
      const existing = await this.core.readNamespace({ name }).catch((e: unknown) => {
        throw apiError(e, `read namespace ${name}`);
      });
      const labels = existing.metadata?.labels ?? {};
      const unsafe = Object.entries(POD_SECURITY_LABELS).find(([key, value]) => labels[key] !== value);
      if (unsafe !== undefined) throw new ExecutorError('kubernetes', 'rejected', `namespace ${name} exists without ${unsafe[0]}=${unsafe[1]}: it is not one Suanli made for contained runs, and none go there`);
    }
    await this.networking.createNamespacedNetworkPolicy({ namespace: name, body: noNetworkPolicy(name) }).catch((err: unknown) => {
      if (!(err instanceof ApiException && err.code === 409)) throw apiError(err, `create NetworkPolicy ${NO_NETWORK_POLICY} in ${name}`);
    });
    this.namespacesReady.add(name);
    return name;
  }

  /**
   * The namespaces made for contained runs, by their labels. An agent that may not
   * list namespaces cannot contain runs (see containment), so it has none.
   */
  private async tenantNamespaces(): Promise<string[]> {
    try {
      const list = await this.core.listNamespace({ labelSelector: `${LABELS.managedBy}=suanli,${LABELS.tenantNamespace}=true` });
      return list.items.map((ns) => ns.metadata?.name ?? '').filter((name) => name !== '' && name !== this.options.namespace);
    } catch (err) {
      if (err instanceof ApiException && err.code === 403) return [];
      throw apiError(err, 'list namespaces');
    }
  }

  /** A Job's conditions and counts as a RunStatus; the pods say a failed command's exit code. */
  private async jobStatus(namespace: string, job: V1Job): Promise<RunStatus> {
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
      const code = (await this.pods(namespace, name)).flatMap((p) => p.status?.containerStatuses ?? []).map((c) => c.state?.terminated?.exitCode ?? 0).find((c) => c !== 0);
      if (code !== undefined && finished.reason !== 'DeadlineExceeded') return exitStatus(code, where);
      return { state: 'failed', reason: 'engine', exitCode: null, detail: `${where} failed: ${finished.reason ?? ''} ${finished.message ?? ''}`.trim() };
    }
    const ready = job.status?.ready ?? 0;
    if (ready > 0) return { state: 'running', detail: `${where}: ${ready} of ${job.spec?.parallelism ?? '?'} pods ready` };
    return { state: 'pending', detail: job.spec?.suspend === true ? `${where} is suspended` : `${where}: ${active} pods waiting to run` };
  }

  private async readJob({ namespace, name }: { namespace: string; name: string }): Promise<V1Job | null> {
    try {
      return await this.batch.readNamespacedJob({ name, namespace });
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return null;
      throw apiError(err, `read Job ${name} in ${namespace}`);
    }
  }

  /** The Job's pods, by completion index. */
  private async pods(namespace: string, jobName: string): Promise<V1Pod[]> {
    const pods = await this.core.listNamespacedPod({ namespace, labelSelector: `${LABELS.job}=${jobName}` }).catch((err: unknown) => {
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

/**
 * Throws InvalidInputError on `field` unless `prefix` can begin the contained runs'
 * namespaces: a DNS label of at most 40 characters, leaving room for the org.
 */
export function checkNamespacePrefix(prefix: string, field: string): string {
  if (typeof prefix !== 'string' || prefix.length > 40 || !DNS_LABEL.test(prefix)) {
    throw new InvalidInputError(field, `${JSON.stringify(prefix)} is not a namespace prefix`, 'at most 40 of a-z 0-9 -, starting and ending with a letter or digit, e.g. suanli-borrowed');
  }
  return prefix;
}

/**
 * The namespace of an org's contained runs: `<prefix>-<org>` when that is a DNS label
 * of at most 63 characters, else the org cleaned and shortened, with a hash of it (so
 * orgs that clean alike still get namespaces of their own).
 */
export function tenantNamespace(prefix: string, org: string): string {
  const plain = `${prefix}-${org}`;
  if (plain.length <= 63 && DNS_LABEL.test(plain)) return plain;
  const hash = createHash('sha256').update(org).digest('hex').slice(0, 8);
  const clean = org.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63 - prefix.length - hash.length - 2).replace(/^-+|-+$/g, '');
  return clean === '' ? `${prefix}-${hash}` : `${prefix}-${clean}-${hash}`;
}

/** The namespace made for an org's contained runs: Pod Security "restricted" enforced, and labels `list()` finds. */
export function namespaceManifest(name: string, org: string): V1Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { ...POD_SECURITY_LABELS, [LABELS.managedBy]: 'suanli', [LABELS.tenantNamespace]: 'true' }, annotations: { [ANNOTATIONS.org]: org } },
  };
}

/** Denies all traffic to and from the namespace's pods labelled network none: no rule is an allow rule. */
export function noNetworkPolicy(namespace: string): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: NO_NETWORK_POLICY, namespace, labels: { [LABELS.managedBy]: 'suanli' } },
    spec: { podSelector: { matchLabels: { [LABELS.network]: 'none' } }, policyTypes: ['Ingress', 'Egress'] },
  };
}

/** The parts of a contained run's pod that make it the restricted Pod Security profile's (and no service account's). */
const RESTRICTED_POD: Pick<V1PodSpec, 'automountServiceAccountToken' | 'securityContext'> = {
  automountServiceAccountToken: false,
  securityContext: { runAsNonRoot: true, runAsUser: SANDBOX_UID, runAsGroup: SANDBOX_UID, seccompProfile: { type: 'RuntimeDefault' } },
};
const RESTRICTED_CONTAINER = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } };

/** The Job for a run; `products` are the GPU-type label values of nodes of the run's type. */
export function jobManifest(run: RunRequest, options: Omit<KubernetesExecutorOptions, 'kubeConfig' | 'gpuTypeLabel' | 'instance'> & { readonly instance: string; readonly gpuTypeLabel: string }, products: readonly string[]): V1Job {
  const id = checkRunRequest(run);
  const name = jobName(id, run.jobId, run.attempt);
  const labels = { [LABELS.managedBy]: 'suanli', [LABELS.instance]: options.instance, [LABELS.job]: name };
  const contained = mustContain(run);
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
        metadata: { labels: contained ? { ...labels, [LABELS.network]: run.tenant?.network ?? 'none' } : labels },
        spec: {
          restartPolicy: 'Never',
          ...(contained ? RESTRICTED_POD : options.serviceAccountName === undefined ? {} : { serviceAccountName: options.serviceAccountName }),
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
              ...(contained ? { securityContext: RESTRICTED_CONTAINER } : {}),
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
