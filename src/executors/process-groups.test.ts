import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { groupLeader, ProcessSnapshot, signalGroup } from './process-groups.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A detached `sh -c script`: the leader of its own process group. */
async function group(script: string): Promise<{ pid: number; exited: Promise<unknown> }> {
  const child = spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  await new Promise((r) => child.once('spawn', r));
  return { pid: child.pid ?? -1, exited };
}

test('a group is alive while its leader or any other member lives, and gone once none does; a reused pid is a stranger', async () => {
  const { pid, exited } = await group('sleep 30 & sleep 0.2; exit 0');
  const leader = groupLeader(pid);
  assert.equal(new ProcessSnapshot().alive(leader), true, 'the leader lives');
  await exited;
  await sleep(50);
  assert.equal(new ProcessSnapshot().alive(leader), true, 'the leader is gone, its background sleep lives on in the group');
  signalGroup(pid, 'SIGKILL');
  await sleep(100);
  assert.equal(new ProcessSnapshot().alive(leader), false, 'no member left');
  // The same pid with another start time: not the group that was started.
  const { pid: other } = await group('sleep 30');
  const stranger = { pid: other, startTicks: (groupLeader(other).startTicks ?? 0) + 1 };
  assert.equal(new ProcessSnapshot().alive(stranger), process.platform !== 'linux');
  assert.equal(new ProcessSnapshot().alive(groupLeader(other)), true);
  signalGroup(other, 'SIGKILL');
});
