// A TEST DOUBLE for the Kubernetes API server. There is no Kubernetes cluster on the
// machines Suanli is tested on, so the Kubernetes executor's HTTP calls go to this
// small server instead: it stores Jobs (per namespace), namespaces and
// NetworkPolicies, answers SelfSubjectAccessReviews (allowed unless `denied`), answers
// the few endpoints the executor uses with objects shaped like a real API server's
// (kinds, lists, Status errors with reason and code, JSON merge patch, foreground
// deletion), and records every request for the tests to check. It schedules nothing,
// runs no pod and admits everything: tests play the job controller and the kubelet
// by setting Job status, pods and logs by hand, and check pod templates against the
// restricted Pod Security profile with `restrictedViolations` (a subset of its rules).
// What this cannot show (real scheduling, gang start, GPU device plugins, admission,
// NetworkPolicy enforcement) is listed in src/executors/README.md.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';

type Json = Record<string, unknown>;

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly contentType: string;
  readonly body: unknown;
}

export interface FakeNode {
  readonly name: string;
  readonly product?: string;
  readonly gpus?: number;
  readonly ready?: boolean;
  readonly unschedulable?: boolean;
}

export class FakeKubeApi {
  readonly requests: RecordedRequest[] = [];
  /** Jobs by name (names are unique across namespaces here); each knows its namespace. */
  readonly jobs = new Map<string, Json>();
  readonly namespaces = new Map<string, Json>();
  /** NetworkPolicies by `<namespace>/<name>`. */
  readonly networkPolicies = new Map<string, Json>();
  /** SelfSubjectAccessReviews answered not allowed, as `<verb> <resource>`. */
  readonly denied = new Set<string>();
  /** Routes answered 403, as `<METHOD> <path>`. */
  readonly forbidden = new Set<string>();
  readonly pods: Json[] = [];
  readonly logs = new Map<string, string>();
  nodes: FakeNode[] = [];
  /** When true, a foreground DELETE leaves the Job with a deletionTimestamp until `finishDeletion`. */
  holdDeletions = false;
  private server: Server | undefined;
  private version = 1;

  constructor(private readonly token = 'fake-token') {}

  /** Listens on a free port; a KubeConfig for it, with `token` (another token gets 401). */
  async start(token = this.token): Promise<KubeConfig> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('fake API server has no port');
    return kubeConfig(`http://127.0.0.1:${address.port}`, token);
  }

  async close(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** Plays the job controller: sets a Job's status. */
  setJobStatus(name: string, status: Json): void {
    const job = this.jobs.get(name);
    if (job === undefined) throw new Error(`no Job ${name}`);
    job.status = status;
  }

  /** Plays the job controller and kubelet: a pod of the Job at `index` (in the Job's namespace), terminated with `exitCode` if given. */
  addPod(jobName: string, index: number, options: { exitCode?: number; log?: string } = {}): void {
    const name = `${jobName}-${index}-x${this.version++}`;
    const terminated = options.exitCode === undefined ? undefined : { exitCode: options.exitCode, reason: options.exitCode === 0 ? 'Completed' : 'Error' };
    const namespace = (this.jobs.get(jobName)?.metadata as Json | undefined)?.namespace;
    this.pods.push({
      metadata: { name, namespace, labels: { 'suanli.io/job': jobName, 'batch.kubernetes.io/job-name': jobName }, annotations: { 'batch.kubernetes.io/job-completion-index': String(index) } },
      status: { phase: terminated === undefined ? 'Running' : terminated.exitCode === 0 ? 'Succeeded' : 'Failed', containerStatuses: [{ name: 'run', ready: terminated === undefined, state: terminated === undefined ? { running: {} } : { terminated } }] },
    });
    if (options.log !== undefined) this.logs.set(name, options.log);
  }

  /** Plays the garbage collector: a held deletion completes. */
  finishDeletion(name: string): void {
    this.jobs.delete(name);
  }

  /** Requests other than the executor's reads, e.g. `mutations()` → POST/PATCH/DELETE. */
  mutations(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== 'GET');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const contentType = req.headers['content-type'] ?? '';
    const body: unknown = text === '' ? undefined : JSON.parse(text);
    this.requests.push({ method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), contentType, body });
    const reply = (code: number, value: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (req.headers.authorization !== `Bearer ${this.token}`) return reply(401, status(401, 'Unauthorized', 'Unauthorized'));
    const route = `${req.method ?? ''} ${url.pathname}`;
    if (this.forbidden.has(route)) return reply(403, status(403, 'Forbidden', `${route} is forbidden (the fake's forbidden list)`));
    const selector = url.searchParams.get('labelSelector') ?? '';
    let m: RegExpExecArray | null;
    if (route === 'GET /api/v1/nodes') return reply(200, list('NodeList', 'v1', this.nodes.map(nodeObject)));
    if (route === 'POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews') {
      const attributes = ((body as Json).spec as Json).resourceAttributes as Json;
      return reply(201, { ...(body as Json), status: { allowed: !this.denied.has(`${String(attributes.verb)} ${String(attributes.resource)}`) } });
    }
    if (route === 'POST /api/v1/namespaces') {
      const name = String(((body as Json).metadata as Json).name);
      if (this.namespaces.has(name)) return reply(409, status(409, 'AlreadyExists', `namespaces "${name}" already exists`, name, 'namespaces', ''));
      const stored = { ...(body as Json), metadata: { ...((body as Json).metadata as Json), uid: `uid-${this.version}`, resourceVersion: String(this.version++) }, status: { phase: 'Active' } };
      this.namespaces.set(name, stored);
      return reply(201, stored);
    }
    if (route === 'GET /api/v1/namespaces') return reply(200, list('NamespaceList', 'v1', [...this.namespaces.values()].filter((n) => matches(n, selector))));
    if ((m = /^GET \/api\/v1\/namespaces\/([^/]+)$/.exec(route))) {
      const found = this.namespaces.get(m[1] ?? '');
      return found === undefined ? reply(404, status(404, 'NotFound', `namespaces "${m[1] ?? ''}" not found`, m[1], 'namespaces', '')) : reply(200, found);
    }
    if ((m = /^POST \/apis\/networking\.k8s\.io\/v1\/namespaces\/([^/]+)\/networkpolicies$/.exec(route))) {
      const key = `${m[1] ?? ''}/${String(((body as Json).metadata as Json).name)}`;
      if (this.networkPolicies.has(key)) return reply(409, status(409, 'AlreadyExists', `networkpolicies.networking.k8s.io "${key}" already exists`, key, 'networkpolicies', 'networking.k8s.io'));
      this.networkPolicies.set(key, body as Json);
      return reply(201, body);
    }
    if ((m = /^GET \/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(route))) {
      const namespace = m[1];
      return reply(200, list('PodList', 'v1', this.pods.filter((p) => matches(p, selector) && ((p.metadata as Json).namespace ?? namespace) === namespace)));
    }
    if ((m = /^GET \/api\/v1\/namespaces\/[^/]+\/pods\/([^/]+)\/log$/.exec(route))) {
      const log = this.logs.get(m[1] ?? '') ?? '';
      const tail = Number(url.searchParams.get('tailLines') ?? Infinity);
      const lines = log.split(/(?<=\n)/);
      res.writeHead(200, { 'content-type': 'text/plain' });
      return void res.end(lines.slice(Math.max(0, lines.length - tail)).join(''));
    }
    if ((m = /^POST \/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs$/.exec(route))) {
      const job = body as Json;
      const name = String((job.metadata as Json).name);
      if (this.jobs.has(name)) return reply(409, status(409, 'AlreadyExists', `jobs.batch "${name}" already exists`, name));
      const stored = { ...job, metadata: { ...(job.metadata as Json), namespace: m[1], uid: `uid-${this.version}`, resourceVersion: String(this.version++), creationTimestamp: '2026-11-26T00:00:00Z' }, status: {} };
      this.jobs.set(name, stored);
      return reply(201, stored);
    }
    if ((m = /^GET \/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs$/.exec(route))) {
      const namespace = m[1];
      return reply(200, list('JobList', 'batch/v1', [...this.jobs.values()].filter((j) => matches(j, selector) && (j.metadata as Json).namespace === namespace)));
    }
    if ((m = /^(GET|PATCH|DELETE) \/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs\/([^/]+)$/.exec(route))) {
      const name = m[3] ?? '';
      const found = this.jobs.get(name);
      const job = found !== undefined && (found.metadata as Json).namespace === m[2] ? found : undefined;
      if (job === undefined) return reply(404, status(404, 'NotFound', `jobs.batch "${name}" not found`, name));
      if (m[1] === 'GET') return reply(200, job);
      if (m[1] === 'PATCH') {
        if (contentType !== 'application/merge-patch+json') return reply(415, status(415, 'UnsupportedMediaType', `the fake accepts only merge patches, not ${contentType}`));
        const patched = mergePatch(job, body) as Json;
        this.jobs.set(name, patched);
        return reply(200, patched);
      }
      if (this.holdDeletions && url.searchParams.get('propagationPolicy') === 'Foreground') {
        job.metadata = { ...(job.metadata as Json), deletionTimestamp: '2026-11-26T00:00:01Z', finalizers: ['foregroundDeletion'] };
        return reply(200, job);
      }
      this.jobs.delete(name);
      return reply(200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: 'batch', kind: 'jobs', uid: (job.metadata as Json).uid } });
    }
    return reply(404, status(404, 'NotFound', `the fake has no route ${route}`));
  }
}

/** A KubeConfig for an API server at `server` with a bearer token. */
export function kubeConfig(server: string, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'fake', server, skipTLSVerify: true }], users: [{ name: 'agent', token }], contexts: [{ name: 'fake', cluster: 'fake', user: 'agent' }], currentContext: 'fake' });
  return kc;
}

const list = (kind: string, apiVersion: string, items: readonly unknown[]) => ({ kind, apiVersion, metadata: { resourceVersion: '1' }, items });

/** The API server's error body (a v1 Status). */
function status(code: number, reason: string, message: string, name?: string, kind = 'jobs', group = 'batch'): Json {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(name === undefined ? {} : { details: { name, group, kind } }), code };
}

/**
 * Why a pod spec would not be admitted under the restricted Pod Security profile
 * (its rules on host namespaces, privilege, capabilities, hostPath and host ports,
 * privilege escalation, non-root, seccomp); [] when it would. A subset of the
 * profile, read from kubernetes.io/docs/concepts/security/pod-security-standards.
 */
export function restrictedViolations(pod: Json): string[] {
  const out: string[] = [];
  const podSecurity = (pod.securityContext ?? {}) as Json;
  for (const key of ['hostNetwork', 'hostPID', 'hostIPC']) if (pod[key] === true) out.push(`${key}=true`);
  if (((pod.volumes ?? []) as Json[]).some((v) => v.hostPath !== undefined)) out.push('hostPath volumes');
  const seccomp = (context: Json) => (context.seccompProfile as Json | undefined)?.type;
  for (const c of [...((pod.containers ?? []) as Json[]), ...((pod.initContainers ?? []) as Json[])]) {
    const context = (c.securityContext ?? {}) as Json;
    const name = String(c.name);
    if (context.privileged === true) out.push(`${name}: privileged`);
    if (context.allowPrivilegeEscalation !== false) out.push(`${name}: allowPrivilegeEscalation != false`);
    const capabilities = (context.capabilities ?? {}) as Json;
    if (!((capabilities.drop ?? []) as string[]).includes('ALL')) out.push(`${name}: capabilities.drop lacks ALL`);
    if (((capabilities.add ?? []) as string[]).some((cap) => cap !== 'NET_BIND_SERVICE')) out.push(`${name}: capabilities.add beyond NET_BIND_SERVICE`);
    if ((context.runAsNonRoot ?? podSecurity.runAsNonRoot) !== true) out.push(`${name}: runAsNonRoot != true`);
    if ((context.runAsUser ?? podSecurity.runAsUser) === 0) out.push(`${name}: runAsUser=0`);
    const profile = seccomp(context) ?? seccomp(podSecurity);
    if (profile !== 'RuntimeDefault' && profile !== 'Localhost') out.push(`${name}: seccompProfile.type is not RuntimeDefault or Localhost`);
    if (((c.ports ?? []) as Json[]).some((port) => port.hostPort !== undefined && port.hostPort !== 0)) out.push(`${name}: hostPort`);
  }
  return out;
}

function nodeObject(n: FakeNode): Json {
  const gpus = String(n.gpus ?? 0);
  return {
    metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, ...(n.product === undefined ? {} : { 'nvidia.com/gpu.product': n.product, 'nvidia.com/gpu.count': gpus }) } },
    spec: n.unschedulable === true ? { unschedulable: true } : {},
    status: {
      capacity: { cpu: '64', memory: '1056000000Ki', 'nvidia.com/gpu': gpus },
      allocatable: { cpu: '63', memory: '1050000000Ki', 'nvidia.com/gpu': gpus },
      conditions: [{ type: 'Ready', status: n.ready === false ? 'False' : 'True', reason: 'KubeletReady' }],
    },
  };
}

/** Equality-based label selectors (`a=b,c=d`), the only kind the executor sends. */
function matches(object: Json, selector: string): boolean {
  const labels = ((object.metadata as Json | undefined)?.labels ?? {}) as Record<string, string>;
  return selector === '' || selector.split(',').every((term) => {
    const [key, value] = term.split('=');
    return key !== undefined && labels[key] === value;
  });
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Json = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Json) } : {};
  for (const [key, value] of Object.entries(patch as Json)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}
