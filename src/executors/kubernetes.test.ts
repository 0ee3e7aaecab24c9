// The Kubernetes executor without a cluster (there is none here): the Jobs it builds,
// and its HTTP calls through @kubernetes/client-node against a fake API server (a
// test double, test/support/fake-kube-api.ts) on which the tests play the job
// controller and kubelet by hand. README.md lists what this does not show.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import type { KubeConfig, V1Container, V1EnvVar } from '@kubernetes/client-node';
import { FakeKubeApi, kubeConfig, restrictedViolations } from '../../test/support/fake-kube-api.ts';
import { checkNamespacePrefix, jobManifest, jobName, KubernetesExecutor, namespaceManifest, noNetworkPolicy, tenantNamespace } from './kubernetes.ts';
import { runId, type RunRequest, type RunTenant } from './types.ts';

const run = (overrides: Partial<RunRequest> = {}, gpuType: string | null = 'h100'): RunRequest => ({
  jobId: '42',
  attempt: 1,
  command: ['python', 'train.py', '--steps', '10'],
  env: { WANDB_MODE: 'offline' },
  ...(gpuType === null ? {} : { gpuType }),
  gpusPerNode: 8,
  nodes: 1,
  workDir: '/workspace',
  logDir: '/unused',
  ...overrides,
});
const manifestOptions = { namespace: 'pool', image: 'ghcr.io/acme/train:1', instance: 'site-a', gpuTypeLabel: 'nvidia.com/gpu.product' };
const container = (r: RunRequest, products: string[] = []): V1Container => {
  const c = jobManifest(r, manifestOptions, products).spec?.template.spec?.containers[0];
  assert.ok(c !== undefined);
  return c;
};
const envOf = (c: V1Container): Record<string, V1EnvVar> => Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));

test('kubernetes manifest: an Indexed Job with one pod per node, GPU limits and run labels', () => {
  const job = jobManifest(run({ nodes: 4 }), manifestOptions, ['NVIDIA-H100-80GB-HBM3']);
  assert.equal(job.metadata?.name, 'suanli-42-1');
  assert.deepEqual(job.metadata?.labels, { 'app.kubernetes.io/managed-by': 'suanli', 'suanli.io/instance': 'site-a', 'suanli.io/job': 'suanli-42-1' });
  assert.deepEqual(job.metadata?.annotations, { 'suanli.io/run-id': '42.1' });
  assert.deepEqual([job.spec?.completionMode, job.spec?.completions, job.spec?.parallelism, job.spec?.backoffLimit], ['Indexed', 4, 4, 0]);
  const pod = job.spec?.template.spec;
  assert.deepEqual(job.spec?.template.metadata?.labels, job.metadata?.labels);
  assert.equal(pod?.restartPolicy, 'Never');
  assert.deepEqual(pod?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms, [
    { matchExpressions: [{ key: 'nvidia.com/gpu.product', operator: 'In', values: ['NVIDIA-H100-80GB-HBM3'] }] },
  ]);
  assert.deepEqual(pod?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution, [{ labelSelector: { matchLabels: { 'suanli.io/job': 'suanli-42-1' } }, topologyKey: 'kubernetes.io/hostname' }]);
  const c = pod?.containers[0];
  assert.deepEqual([c?.image, c?.command, c?.workingDir, c?.resources], ['ghcr.io/acme/train:1', ['python', 'train.py', '--steps', '10'], '/workspace', { limits: { 'nvidia.com/gpu': '8' } }]);
});

test('kubernetes manifest: the environment carries the run, its size, and each pod its rank and node', () => {
  const env = envOf(container(run({ nodes: 2 })));
  assert.deepEqual(env.WANDB_MODE, { name: 'WANDB_MODE', value: 'offline' });
  assert.deepEqual(env.SUANLI_RUN_ID, { name: 'SUANLI_RUN_ID', value: '42.1' });
  assert.deepEqual(env.SUANLI_NODES, { name: 'SUANLI_NODES', value: '2' });
  assert.deepEqual(env.SUANLI_NODE_RANK?.valueFrom, { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } });
  assert.deepEqual(env.SUANLI_NODE?.valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } });
});

test('kubernetes manifest: a 1-node run has no anti-affinity; any GPU type, no node affinity; CPU-only, no GPU limit', () => {
  const job = jobManifest(run({}, null), manifestOptions, []);
  assert.equal(job.spec?.template.spec?.affinity, undefined);
  assert.deepEqual(container(run({ gpusPerNode: 0 })).resources, {});
});

test('kubernetes manifest: Job names are DNS labels short enough for pod hostnames, distinct per run', () => {
  assert.equal(jobName(runId('a-b', 3), 'a-b', 3), 'suanli-a-b-3');
  const upper = jobName(runId('Train_X', 1), 'Train_X', 1);
  const lower = jobName(runId('train_x', 1), 'train_x', 1);
  assert.match(upper, /^suanli-train-x-1-[0-9a-f]{8}$/);
  assert.notEqual(upper, lower);
  const long = jobName(runId('x'.repeat(48), 12), 'x'.repeat(48), 12);
  assert.ok(long.length <= 52 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(long), long);
  assert.throws(() => jobManifest(run({ jobId: 'no spaces' }), manifestOptions, []), /run\.jobId/);
});

const borrowed: RunTenant = { org: 'beta', borrowed: true, sandbox: true, network: 'none' };

test('kubernetes manifest: a contained run’s pods pass the restricted Pod Security profile, mount no token and say their network; an own run’s do not', () => {
  const pod = (r: RunRequest) => jobManifest(r, { ...manifestOptions, serviceAccountName: 'trainer' }, []).spec?.template;
  const contained = pod(run({ tenant: borrowed }));
  assert.deepEqual(restrictedViolations(JSON.parse(JSON.stringify(contained?.spec)) as Record<string, unknown>), []);
  assert.deepEqual(contained?.spec?.securityContext, { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, seccompProfile: { type: 'RuntimeDefault' } });
  assert.deepEqual(contained?.spec?.containers[0]?.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  assert.equal(contained?.spec?.automountServiceAccountToken, false);
  assert.equal(contained?.spec?.serviceAccountName, undefined, 'not the site’s service account');
  assert.equal(contained?.metadata?.labels?.['suanli.io/network'], 'none');
  assert.equal(pod(run({ tenant: { ...borrowed, network: 'host' } }))?.metadata?.labels?.['suanli.io/network'], 'host');
  const own = pod(run({ tenant: { ...borrowed, sandbox: false } }));
  assert.ok(restrictedViolations(JSON.parse(JSON.stringify(own?.spec)) as Record<string, unknown>).length > 0, 'the check can fail');
  assert.deepEqual([own?.spec?.serviceAccountName, own?.spec?.securityContext, own?.metadata?.labels?.['suanli.io/network']], ['trainer', undefined, undefined]);
});

test('kubernetes: a contained run’s namespace is <prefix>-<org>, a DNS label of at most 63 characters, its own for each org', () => {
  assert.equal(tenantNamespace('suanli-borrowed', 'beta'), 'suanli-borrowed-beta');
  const odd = ['Beta', 'beta.lab', 'b_eta', 'x'.repeat(63), '-'];
  const names = odd.map((org) => tenantNamespace('suanli-borrowed', org));
  for (const name of names) assert.ok(name.length <= 63 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name), name);
  assert.equal(new Set([...names, 'suanli-borrowed-beta']).size, odd.length + 1, names.join(' '));
  assert.equal(checkNamespacePrefix('lent', 'borrowed-namespace-prefix'), 'lent');
  for (const bad of ['Suanli', '-x', 'x'.repeat(41), '']) assert.throws(() => checkNamespacePrefix(bad, 'borrowed-namespace-prefix'), /^InvalidInputError: borrowed-namespace-prefix: /);
  assert.throws(() => new KubernetesExecutor({ kubeConfig: kubeConfig('http://127.0.0.1:1', 'x'), namespace: 'pool', image: 'x', borrowedNamespacePrefix: 'No' }), /kubernetes\.borrowedNamespacePrefix/);
});

const api = new FakeKubeApi();
let kc: KubeConfig;
before(async () => {
  kc = await api.start();
});
after(() => api.close());
beforeEach(() => {
  api.requests.length = 0;
  api.jobs.clear();
  api.namespaces.clear();
  api.networkPolicies.clear();
  api.denied.clear();
  api.forbidden.clear();
  api.pods.length = 0;
  api.holdDeletions = false;
  api.nodes = [
    { name: 'gpu-a1', product: 'NVIDIA-H100-80GB-HBM3', gpus: 8 },
    { name: 'gpu-a2', product: 'NVIDIA-H100-80GB-HBM3', gpus: 8 },
    { name: 'gpu-b1', product: 'NVIDIA-A100-SXM4-40GB', gpus: 4 },
    { name: 'gpu-down', product: 'NVIDIA-H100-80GB-HBM3', gpus: 8, ready: false },
    { name: 'gpu-cordoned', product: 'NVIDIA-H100-80GB-HBM3', gpus: 8, unschedulable: true },
    { name: 'cpu-1' },
  ];
});
const executor = (instance = 'site-a') => new KubernetesExecutor({ kubeConfig: kc, namespace: 'pool', image: 'ghcr.io/acme/train:1', instance });

test('kubernetes: discover counts Ready, schedulable nodes by GPU product and allocatable nvidia.com/gpu', async () => {
  assert.deepEqual(await executor().discover(), [
    { gpuType: 'a100', nodes: 1, gpusPerNode: 4 },
    { gpuType: 'h100', nodes: 2, gpusPerNode: 8 },
  ]);
  assert.deepEqual(
    api.requests.map((r) => `${r.method} ${r.path}`),
    ['GET /api/v1/nodes'],
  );
});

test('kubernetes: start creates the Job once; starting it again (or from a new instance) returns the same handle', async () => {
  const ex = executor();
  const handle = await ex.start(run({ nodes: 2 }));
  assert.deepEqual(handle, { runId: '42.1', engineId: 'suanli-42-1' });
  const [create] = api.mutations();
  assert.deepEqual([create?.method, create?.path], ['POST', '/apis/batch/v1/namespaces/pool/jobs']);
  assert.deepEqual(create?.body, JSON.parse(JSON.stringify(jobManifest(run({ nodes: 2 }), manifestOptions, ['NVIDIA-H100-80GB-HBM3']))));
  assert.deepEqual(await ex.start(run({ nodes: 2 })), handle);
  assert.deepEqual(await executor().start(run({ nodes: 2 })), handle);
  assert.equal(api.mutations().length, 3, 'each start posts; the API server answers 409 to the second and third');
  assert.equal(api.jobs.size, 1);
});

test('kubernetes: a run that can never fit is refused before any Job is created', async () => {
  const ex = executor();
  await assert.rejects(ex.start(run({ gpusPerNode: 16 })), /run\.gpusPerNode: 16 GPUs on one node, but the Kubernetes cluster's h100 nodes have at most 8/);
  await assert.rejects(ex.start(run({ gpuType: 'b200' })), /run\.gpuType: the Kubernetes cluster has no b200 nodes/);
  await assert.rejects(ex.start(run({ nodes: 5 })), /run\.nodes/);
  assert.deepEqual(api.mutations(), []);
});

test('kubernetes: status follows the Job: pending, running, succeeded, failed with the pod exit code', async () => {
  const ex = executor();
  const handle = await ex.start(run({ nodes: 2 }));
  const name = handle.engineId;
  assert.equal((await ex.status(handle)).state, 'pending');
  api.setJobStatus(name, { active: 2, ready: 0 });
  assert.equal((await ex.status(handle)).state, 'pending', 'pods not running yet');
  api.setJobStatus(name, { active: 2, ready: 2 });
  assert.equal((await ex.status(handle)).state, 'running');
  api.setJobStatus(name, { succeeded: 2, conditions: [{ type: 'Complete', status: 'True' }] });
  assert.equal((await ex.status(handle)).state, 'succeeded');

  const failing = await ex.start(run({ jobId: '43' }));
  api.addPod(failing.engineId, 0, { exitCode: 3 });
  api.setJobStatus(failing.engineId, { failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }] });
  const failed = await ex.status(failing);
  assert.deepEqual(failed.state === 'failed' && [failed.reason, failed.exitCode], ['exit_code', 3], failed.detail);

  const slow = await ex.start(run({ jobId: '44' }));
  api.setJobStatus(slow.engineId, { failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' }] });
  const timedOut = await ex.status(slow);
  assert.deepEqual(timedOut.state === 'failed' && [timedOut.reason, timedOut.exitCode], ['engine', null]);
  assert.match(timedOut.detail, /DeadlineExceeded/);
});

test('kubernetes: cancel annotates, then deletes with foreground propagation; cancelled; again is a no-op', async () => {
  const ex = executor();
  const handle = await ex.start(run());
  api.setJobStatus(handle.engineId, { active: 1, ready: 1 });
  api.holdDeletions = true;
  api.requests.length = 0;
  await ex.cancel(handle);
  const [patch, del] = api.mutations();
  assert.deepEqual([patch?.method, patch?.contentType, patch?.body], ['PATCH', 'application/merge-patch+json', { metadata: { annotations: { 'suanli.io/cancelled': 'true' } } }]);
  assert.deepEqual([del?.method, del?.path, del?.query.propagationPolicy], ['DELETE', '/apis/batch/v1/namespaces/pool/jobs/suanli-42-1', 'Foreground']);
  assert.equal((await ex.status(handle)).state, 'running', 'stopping while its pods end');
  api.finishDeletion(handle.engineId);
  assert.equal((await ex.status(handle)).state, 'cancelled');
  api.requests.length = 0;
  await ex.cancel(handle);
  assert.deepEqual(api.mutations(), []);
});

test('kubernetes: a Job deleted outside Suanli is failed (cancelled_outside); one that is gone is lost', async () => {
  const ex = executor();
  const handle = await ex.start(run());
  api.setJobStatus(handle.engineId, { active: 1, ready: 1 });
  const job = api.jobs.get(handle.engineId);
  assert.ok(job !== undefined);
  job.metadata = { ...(job.metadata as object), deletionTimestamp: '2026-11-26T00:00:02Z' }; // kubectl delete, in progress
  const outside = await ex.status(handle);
  assert.deepEqual(outside.state === 'failed' && outside.reason, 'cancelled_outside');
  api.finishDeletion(handle.engineId);
  assert.equal((await ex.status(handle)).state, 'lost');
});

test('kubernetes: a new instance lists the Jobs of its instance tag with their status', async () => {
  const a = await executor('site-a').start(run());
  await executor('site-b').start(run({ jobId: 'elsewhere' }));
  api.setJobStatus(a.engineId, { active: 1, ready: 1 });
  api.requests.length = 0;
  const records = await executor('site-a').list();
  assert.deepEqual(records, [{ handle: a, status: { state: 'running', detail: 'Job suanli-42-1: 1 of 1 pods ready' } }]);
  assert.equal(api.requests.find((r) => r.path.endsWith('/jobs'))?.query.labelSelector, 'app.kubernetes.io/managed-by=suanli,suanli.io/instance=site-a');
});

test('kubernetes: logTail reads the pods in rank order and returns the last bytes', async () => {
  const ex = executor();
  const handle = await ex.start(run({ nodes: 2 }));
  assert.equal(await ex.logTail(handle, 100), '', 'no pods yet');
  api.addPod(handle.engineId, 1, { log: 'rank 1 line a\nrank 1 line b\n' });
  api.addPod(handle.engineId, 0, { log: 'rank 0 line a\n' });
  assert.equal(await ex.logTail(handle, 1000), 'rank 0 line a\nrank 1 line a\nrank 1 line b\n');
  assert.equal(await ex.logTail(handle, 10), ' 1 line b\n');
  assert.equal(api.requests.find((r) => r.path.endsWith('/log'))?.query.container, 'run');
});

test('kubernetes: a refused token is unauthorized; an unreachable API server is unavailable', async () => {
  const denied = new KubernetesExecutor({ kubeConfig: kubeConfig(kc.getCurrentCluster()?.server ?? '', 'wrong'), namespace: 'pool', image: 'x' });
  await assert.rejects(denied.discover(), (err: Error & { code?: string }) => err.code === 'unauthorized' && /401/.test(err.message));
  const nowhere = new KubernetesExecutor({ kubeConfig: kubeConfig('http://127.0.0.1:1', 'x'), namespace: 'pool', image: 'x' });
  await assert.rejects(nowhere.status({ runId: runId('42', 1), engineId: 'suanli-42-1' }), (err: Error & { code?: string }) => err.code === 'unavailable');
  const unknown = await nowhere.containment();
  assert.deepEqual([unknown.available, unknown.detail.startsWith('could not ask the API server what the agent may do')], [false, true], unknown.detail);
});

const containedExecutor = () => new KubernetesExecutor({ kubeConfig: kc, namespace: 'pool', image: 'ghcr.io/acme/train:1', instance: 'site-a', serviceAccountName: 'trainer' });

test('kubernetes: containment() asks the API server what the agent may do, and says what a contained run gets', async () => {
  const ex = containedExecutor();
  const answer = await ex.containment();
  assert.equal(answer.available, true, answer.detail);
  assert.match(answer.detail, /namespace per org \(suanli-borrowed-<org>\) with Pod Security "restricted"/);
  const reviews = api.requests.filter((r) => r.path === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews').map((r) => (r.body as { spec: { resourceAttributes: { verb: string; resource: string } } }).spec.resourceAttributes);
  assert.deepEqual(reviews.map((a) => `${a.verb} ${a.resource}`).sort(), ['create jobs', 'create namespaces', 'create networkpolicies', 'get namespaces', 'list namespaces', 'list pods']);
  api.requests.length = 0;
  assert.deepEqual(await ex.containment(), answer);
  assert.deepEqual(api.requests, [], 'kept once answered');
});

test('kubernetes: a contained run goes to its org’s namespace, made on first use with Pod Security restricted and a NetworkPolicy', async () => {
  const ex = containedExecutor();
  const handle = await ex.start(run({ tenant: borrowed }));
  assert.deepEqual(handle, { runId: '42.1', engineId: 'suanli-borrowed-beta/suanli-42-1' });
  const calls = api.mutations().filter((r) => !r.path.includes('selfsubjectaccessreviews'));
  assert.deepEqual(calls.map((r) => `${r.method} ${r.path}`), ['POST /api/v1/namespaces', 'POST /apis/networking.k8s.io/v1/namespaces/suanli-borrowed-beta/networkpolicies', 'POST /apis/batch/v1/namespaces/suanli-borrowed-beta/jobs']);
  assert.deepEqual(calls[0]?.body, JSON.parse(JSON.stringify(namespaceManifest('suanli-borrowed-beta', 'beta'))));
  const labels = (calls[0]?.body as { metadata: { labels: Record<string, string> } }).metadata.labels;
  assert.deepEqual([labels['pod-security.kubernetes.io/enforce'], labels['pod-security.kubernetes.io/enforce-version']], ['restricted', 'latest']);
  assert.deepEqual(calls[1]?.body, JSON.parse(JSON.stringify(noNetworkPolicy('suanli-borrowed-beta'))));
  assert.deepEqual((calls[1]?.body as { spec: unknown }).spec, { podSelector: { matchLabels: { 'suanli.io/network': 'none' } }, policyTypes: ['Ingress', 'Egress'] });
  const job = calls[2]?.body as { metadata: { namespace: string }; spec: { template: { spec: Record<string, unknown> } } };
  assert.equal(job.metadata.namespace, 'suanli-borrowed-beta');
  assert.deepEqual(restrictedViolations(job.spec.template.spec), []);

  api.requests.length = 0;
  await ex.start(run({ jobId: '43', tenant: borrowed }));
  assert.deepEqual(api.mutations().map((r) => r.path), ['/apis/batch/v1/namespaces/suanli-borrowed-beta/jobs'], 'the namespace is made once');
  api.requests.length = 0;
  assert.deepEqual(await containedExecutor().start(run({ tenant: borrowed })), handle, 'a new instance finds the same run');
  assert.equal(api.jobs.size, 2);
  assert.equal(api.namespaces.size, 1);
  assert.deepEqual((await ex.start(run({ jobId: '44' }))).engineId, 'suanli-44-1', 'an own run stays in the executor’s namespace');
});

test('kubernetes: after a restart, list, status, logTail and cancel find contained runs in their namespaces', async () => {
  const first = containedExecutor();
  const contained = await first.start(run({ tenant: borrowed }));
  const other = await first.start(run({ jobId: '45', tenant: { ...borrowed, org: 'gamma', network: 'host' } }));
  const own = await first.start(run({ jobId: '46' }));
  api.setJobStatus('suanli-42-1', { active: 1, ready: 1 });
  api.addPod('suanli-42-1', 0, { log: 'contained line\n' });
  const ex = containedExecutor();
  const found = new Map((await ex.list()).map((r) => [r.handle.engineId, r.status.state]));
  assert.deepEqual(Object.fromEntries(found), { 'suanli-46-1': 'pending', 'suanli-borrowed-beta/suanli-42-1': 'running', 'suanli-borrowed-gamma/suanli-45-1': 'pending' });
  assert.equal((await ex.status(contained)).state, 'running');
  assert.equal(await ex.logTail(contained, 100), 'contained line\n');
  assert.equal(api.requests.find((r) => r.path.endsWith('/log'))?.path.startsWith('/api/v1/namespaces/suanli-borrowed-beta/pods/'), true);
  await ex.cancel(contained);
  assert.deepEqual(api.mutations().slice(-2).map((r) => `${r.method} ${r.path}`), ['PATCH /apis/batch/v1/namespaces/suanli-borrowed-beta/jobs/suanli-42-1', 'DELETE /apis/batch/v1/namespaces/suanli-borrowed-beta/jobs/suanli-42-1']);
  assert.equal((await ex.status(contained)).state, 'cancelled');
  assert.equal((await ex.status({ runId: other.runId, engineId: 'suanli-borrowed-beta/suanli-45-1' })).state, 'lost', 'a Job is looked for in its own namespace only');
  assert.equal((await ex.status(own)).state, 'pending');
  api.forbidden.add('GET /api/v1/namespaces');
  assert.deepEqual((await ex.list()).map((r) => r.handle.engineId), ['suanli-46-1'], 'an agent that may not list namespaces still lists its own');
});

test('kubernetes: without the RBAC containment needs, or into a namespace someone else made, a contained run is refused', async () => {
  api.denied.add('create namespaces');
  const denied = containedExecutor();
  const answer = await denied.containment();
  assert.deepEqual([answer.available, answer.detail.startsWith('the agent may not create namespaces in every namespace (RBAC)')], [false, true], answer.detail);
  await assert.rejects(denied.start(run({ tenant: borrowed })), (err: Error & { field?: string }) => err.field === 'run.tenant.sandbox' && err.message.includes('may not create namespaces'));
  assert.equal((await denied.start(run({ jobId: '47' }))).engineId, 'suanli-47-1', 'own runs go on');
  api.denied.clear();

  api.namespaces.set('suanli-borrowed-beta', { metadata: { name: 'suanli-borrowed-beta', labels: { team: 'beta' } } });
  await assert.rejects(containedExecutor().start(run({ tenant: borrowed })), (err: Error & { code?: string }) => err.code === 'rejected' && /namespace suanli-borrowed-beta exists without pod-security\.kubernetes\.io\/enforce=restricted/.test(err.message));
  await assert.rejects(containedExecutor().start(run({ tenant: { ...borrowed, org: '' } })), (err: Error & { field?: string }) => err.field === 'run.tenant.org');
  assert.deepEqual([...api.jobs.keys()], ['suanli-47-1'], 'no contained Job was created');
});
