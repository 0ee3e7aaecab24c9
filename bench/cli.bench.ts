// The command as a user starts it (issue 16's targets): `suanli --version` cold start
// (≤ 150 ms) and the 125K-job Helios Venus FIFO replay through the CLI end to end
// (≤ 1.5 s; the default, which compares siloed and pooled in two replays, is shown
// too). Each is a fresh `node bin/suanli.js` process running the compiled code: run
// `npm run build` first, or a checkout whose src/ is newer than its build runs the
// sources through tsx. Bare `node -e 0` is measured beside them: the floor any Node
// command starts from here. Needs ../shared/data for the replay.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_DIR } from '../test/support/data.ts';
import { milliseconds, report, type BenchResult } from './harness.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'suanli.js');
const VENUS = join(DATA_DIR, 'traces/helios-venus/helios_venus_gpu_jobs_clamped48h.csv');

export function benchCli(rounds = 5): void {
  // The environment of a user's shell: not the bench's own loader, nor SUANLI_FROM_SOURCE.
  const env = { ...process.env, NODE_OPTIONS: '', SUANLI_FROM_SOURCE: '' };
  const node = (args: readonly string[]) => execFileSync(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20 });
  const results: BenchResult[] = [milliseconds('node -e 0 (bare Node start, the floor)', () => node(['-e', '0']), rounds)];
  results.push(milliseconds('suanli --version, cold start (target ≤ 150 ms)', () => node([BIN, '--version']), rounds));
  if (existsSync(VENUS)) {
    const replay = [BIN, 'simulate', '--trace', VENUS, '--format', 'helios', '--policy', 'fifo', '--json'];
    results.push(milliseconds('suanli simulate, Helios Venus 125K jobs, one FIFO replay (--compare pooled), end to end (target ≤ 1.5 s)', () => node([...replay, '--compare', 'pooled']), Math.min(rounds, 3)));
    results.push(milliseconds('suanli simulate, the same with its default --compare siloed,pooled (two replays)', () => node(replay), Math.min(rounds, 3)));
  } else {
    console.log(`skipped the Helios Venus replay: ${VENUS} is absent (see shared/data/README.md for the public source)`);
  }
  report('cli', results);
}
