// Whether the local executor can build bubblewrap sandboxes here. Tests of contained
// local runs call `sandboxMissing` first; without a working bwrap they are skipped
// with a message saying why, except under CI=true, where .ci/run installs bubblewrap
// and its absence is a failure (as test/support/slurm.ts does for Slurm).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { LocalExecutor } from '../../src/executors/local.ts';

let answer: Promise<string | undefined> | undefined;

/** Why contained local runs cannot run here, or undefined when they can (the executor's own check, once). */
export function sandboxMissing(): Promise<string | undefined> {
  answer ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'suanli-sandbox-check-'));
    const executor = new LocalExecutor({ stateDir: join(dir, 'state') });
    try {
      const containment = await executor.containment();
      return containment.available ? undefined : `no working sandbox here (${containment.detail}): apt-get install -y bubblewrap`;
    } finally {
      await executor.close();
      rmSync(dir, { recursive: true, force: true });
    }
  })();
  return answer;
}

/** Marks `t` skipped, saying why; under CI=true, fails it instead. */
export function skipWithoutSandbox(t: TestContext, why: string): void {
  if (process.env.CI === 'true') throw new Error(`bubblewrap missing under CI: ${why}`);
  t.skip(`skipped: ${why}`);
}
