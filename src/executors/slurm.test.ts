// What the Slurm executor derives without a Slurm: job states, node GRES, the
// submit body and its script. Against a real Slurm: test/executor-slurm.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { engineNode, script, slurmStatus, submission, type SlurmJob } from './slurm.ts';
import type { RunRequest } from './types.ts';

const job = (state: string, more: Partial<SlurmJob> = {}): SlurmJob => ({ job_id: 7, name: 'suanli-a.1', comment: '{"suanli":"default","run":"a.1"}', job_state: state, nodes: 'gpu1', ...more });

test('slurmStatus: pending and running states', () => {
  for (const s of ['PENDING', 'CONFIGURING', 'REQUEUED']) assert.equal(slurmStatus(job(s)).state, 'pending', s);
  for (const s of ['RUNNING', 'COMPLETING', 'SUSPENDED']) assert.equal(slurmStatus(job(s)).state, 'running', s);
  assert.equal(slurmStatus(job('PENDING', { state_reason: 'Resources' })).detail, 'Slurm job 7 is PENDING (Resources)');
});

test('slurmStatus: exit codes from the wait status, the ranks’ (derived) before srun’s', () => {
  assert.equal(slurmStatus(job('COMPLETED', { exit_code: 0 })).state, 'succeeded');
  assert.deepEqual(slurmStatus(job('FAILED', { exit_code: 3 << 8 })), { state: 'failed', reason: 'exit_code', exitCode: 3, detail: 'Slurm job 7 exited with status 3' });
  const gang = slurmStatus(job('FAILED', { exit_code: 143 << 8, derived_exit_code: 4 << 8 }));
  assert.equal(gang.state === 'failed' && gang.exitCode, 4, 'a rank exited 4; srun then ended 143');
  const signalled = slurmStatus(job('FAILED', { exit_code: 9 }));
  assert.equal(signalled.state === 'failed' && signalled.exitCode, 137);
  assert.deepEqual(slurmStatus(job('FAILED', { exit_code: 0, state_reason: 'JobLaunchFailure' })), { state: 'failed', reason: 'engine', exitCode: null, detail: 'Slurm job 7 FAILED (JobLaunchFailure)' });
});

test('slurmStatus: CANCELLED is a Suanli cancel only with the mark in the comment', () => {
  assert.equal(slurmStatus(job('CANCELLED', { comment: '{"suanli":"default","run":"a.1","cancelled":true}' })).state, 'cancelled');
  const outside = slurmStatus(job('CANCELLED'));
  assert.deepEqual(outside.state === 'failed' && [outside.reason, outside.exitCode], ['cancelled_outside', null]);
});

test('slurmStatus: the engine’s own ends are failed with reason engine', () => {
  for (const s of ['TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE']) {
    const status = slurmStatus(job(s));
    assert.deepEqual(status.state === 'failed' && [status.reason, status.detail], ['engine', `Slurm job 7 ended ${s}`]);
  }
});

test('engineNode: GPUs from GRES, usable unless down or drained', () => {
  assert.deepEqual(engineNode({ name: 'n1', gres: 'gpu:h100:8(S:0-1)', state: 'idle' }), { name: 'n1', gpuType: 'h100', gpus: 8, usable: true });
  assert.deepEqual(engineNode({ name: 'n2', gres: 'shard:h100:32,gpu:a100:4', state: 'mixed' }), { name: 'n2', gpuType: 'a100', gpus: 4, usable: true });
  assert.deepEqual(engineNode({ name: 'n3', gres: 'gpu:2', state: 'allocated' }), { name: 'n3', gpuType: 'gpu', gpus: 2, usable: true });
  assert.equal(engineNode({ name: 'n4', gres: 'gpu:h100:8', state: 'idle', state_flags: ['DRAIN'] }).usable, false);
  assert.equal(engineNode({ name: 'n5', gres: 'gpu:h100:8', state: 'down' }).usable, false);
  assert.equal(engineNode({ name: 'n6', gres: '', state: 'idle' }).gpus, 0);
});

test('the batch script runs the command once per node through srun, exporting rank and node', () => {
  assert.equal(
    script(['python', 'train.py', "--name=it's"]),
    `#!/bin/sh\nexec srun --kill-on-bad-exit=1 --ntasks-per-node=1 /bin/sh -c 'export SUANLI_NODE_RANK="$SLURM_NODEID" SUANLI_NODE="$SLURMD_NODENAME"; exec "$@"' suanli-rank 'python' 'train.py' '--name=it'\\''s'\n`,
  );
});

test('submission: name, comment, nodes, GRES, directories, environment (a dict: stack-notes pitfall 9)', () => {
  const anyType: RunRequest = { jobId: 'j1', attempt: 2, command: ['true'], env: { A: 'b' }, gpusPerNode: 4, nodes: 2, workDir: '/shared/w', logDir: '/shared/l' };
  const run: RunRequest = { ...anyType, gpuType: 'h100' };
  const body = submission(run, 'site-a', { partition: 'gpu', baseEnv: { PATH: '/usr/bin' }, timeLimitMinutes: 60 }) as { job: Record<string, unknown> };
  assert.deepEqual(body.job, {
    name: 'suanli-j1.2',
    comment: '{"suanli":"site-a","run":"j1.2","log":"/shared/l/j1.2.log"}',
    partition: 'gpu',
    nodes: 2,
    tasks_per_node: 1,
    gres: 'gpu:h100:4',
    time_limit: 60,
    requeue: false,
    current_working_directory: '/shared/w',
    standard_output: '/shared/l/j1.2.log',
    environment: { PATH: '/usr/bin', A: 'b', SUANLI_RUN_ID: 'j1.2', SUANLI_NODES: '2' },
  });
  assert.equal((submission({ ...anyType, gpusPerNode: 1 }, 'x') as { job: { gres?: string } }).job.gres, 'gpu:1');
  assert.equal((submission({ ...anyType, gpusPerNode: 0 }, 'x') as { job: { gres?: string } }).job.gres, undefined);
});
