// The Kubernetes executor without a cluster (there is none here): the Jobs it builds,
// and its HTTP calls through @kubernetes/client-node against a fake API server (a
// test double, test/support/fake-kube-api.ts) on which the tests play the job
// controller and kubelet by hand. README.md lists what this does not show.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import type { KubeConfig, V1Container, V1EnvVar } from '@kubernetes/client-node';
import { FakeKubeApi, kubeConfig } from '../../test/support/fake-kube-api.ts';
import { jobManifest, jobName, KubernetesExecutor } from './kubernetes.ts';
import { runId, type RunRequest } from './types.ts';

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

const api = new FakeKubeApi();
let kc: KubeConfig;
before(async () => {
  kc = await api.start();
});
after(() => api.close());
beforeEach(() => {
  api.requests.length = 0;
  api.jobs.clear();
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
  assert.equal(api.requests[0]?.query.labelSelector, 'app.kubernetes.io/managed-by=suanli,suanli.io/instance=site-a');
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
});
