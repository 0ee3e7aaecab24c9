// `npm run bench [suite…]`: benchmark suites (default: all); tables on stdout, JSON under bench/results/.
import { benchCli } from './cli.bench.ts';
import { benchHostile } from './hostile.bench.ts';
import { benchLedger } from './ledger.bench.ts';
import { benchLedgerAppend } from './ledger-append.bench.ts';
import { benchLive } from './live.bench.ts';
import { benchPlanner } from './planner.bench.ts';
import { benchSched } from './sched.bench.ts';
import { benchScale } from './scale.bench.ts';
import { benchServe } from './serve.bench.ts';
import { benchSimulate } from './simulate.bench.ts';
import { benchStore } from './store.bench.ts';
import { benchVerify } from './verify.bench.ts';

const suites: Record<string, () => void | Promise<void>> = { planner: benchPlanner, sched: benchSched, simulate: benchSimulate, store: benchStore, serve: benchServe, hostile: benchHostile, ledger: benchLedger, verify: benchVerify, 'ledger-append': benchLedgerAppend, cli: benchCli, live: benchLive, scale: benchScale };
const chosen = process.argv.slice(2);
for (const name of chosen.length > 0 ? chosen : Object.keys(suites)) {
  const run = suites[name];
  if (!run) {
    console.error(`unknown suite "${name}"; suites: ${Object.keys(suites).join(', ')}`);
    process.exit(2);
  }
  await run();
}
