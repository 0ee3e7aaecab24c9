// The lint rules that hold the architecture: layers import only downward, no cycles,
// and the pure layers read no clock and no unseeded randomness. Linted as virtual
// files so that the rules themselves are under test, not just today's code.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';

const root = join(import.meta.dirname, '..');
const eslint = new ESLint({
  cwd: root,
  // Type information is not needed for these rules; virtual files have none.
  overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
  ruleFilter: ({ ruleId }) => ['import-x/no-restricted-paths', 'no-restricted-syntax', 'no-restricted-imports', '@typescript-eslint/no-restricted-imports'].includes(ruleId),
});

async function problems(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, path) });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? ''}: ${m.message}`);
}

test('a lower layer may not import a higher one', async () => {
  assert.match((await problems('src/model/x.ts', "import { planVideo } from '../plan/video-cost.ts';\nexport const p = planVideo;\n")).join('\n'), /src\/model sits below src\/plan/);
  assert.match((await problems('src/plan/x.ts', "import { run } from '../cli/main.ts';\nexport const r = run;\n")).join('\n'), /src\/plan sits below src\/cli/);
  assert.match((await problems('src/sched/x.ts', "import { planVideo } from '../plan/video-cost.ts';\nexport const p = planVideo;\n")).join('\n'), /src\/sched sits below src\/plan/, 'plan and sched are siblings');
  // The ledger's pure part rests on the model alone: no store, no server, no scheduler.
  for (const above of ['store/store.ts', 'server/app.ts', 'sched/scheduler.ts', 'sim/engine.ts', 'agent/agent.ts']) {
    assert.match((await problems('src/ledger/x.ts', `import * as m from '../${above}';\nexport const a = m;\n`)).join('\n'), /src\/ledger sits below/, above);
  }
  assert.match((await problems('src/executors/x.ts', "import { leafHash } from '../ledger/merkle.ts';\nexport const l = leafHash;\n")).join('\n'), /src\/executors sits below src\/ledger/);
});

test('a higher layer may import a lower one', async () => {
  assert.deepEqual(await problems('src/cli/x.ts', "import { planVideo } from '../plan/video-cost.ts';\nexport const p = planVideo;\n"), []);
  assert.deepEqual(await problems('src/plan/x.ts', "import { InvalidInputError } from '../model/errors.ts';\nexport const e = InvalidInputError;\n"), []);
  assert.deepEqual(await problems('src/ledger/x.ts', "import { InvalidInputError } from '../model/errors.ts';\nexport const e = InvalidInputError;\n"), []);
  for (const user of ['store', 'server', 'agent', 'cli']) {
    assert.deepEqual(await problems(`src/${user}/x.ts`, "import { leafHash } from '../ledger/merkle.ts';\nexport const l = leafHash;\n"), [], user);
  }
});

test('pure layers read no clock, no Math.random and do no I/O', async () => {
  for (const layer of ['model', 'plan', 'sched', 'sim', 'ledger']) {
    const found = (await problems(`src/${layer}/x.ts`, "import { readFileSync } from 'node:fs';\nexport const a = Date.now();\nexport const b = new Date();\nexport const c = Math.random();\nexport const d = readFileSync;\n")).join('\n');
    assert.match(found, /read no clock/, layer);
    assert.match(found, /seeded RNG/, layer);
    assert.match(found, /do no I\/O/, layer);
  }
  assert.deepEqual(await problems('src/cli/x.ts', 'export const a = Date.now();\n'), [], 'the CLI may read the clock');
});

test('the web dashboard reads only the wire types of the server, and the server never imports it', async () => {
  const app = (await problems('web/src/x.ts', "import { buildServer } from '../../src/server/app.ts';\nexport const b = buildServer;\n")).join('\n');
  assert.match(app, /web\/ is a client of the API/);
  const value = (await problems('web/src/x.ts', "import { JobResponse } from '../../src/server/schemas.ts';\nexport const j = JobResponse;\n")).join('\n');
  assert.match(value, /bundles no server code/, 'a value import would put zod and the server in the bundle');
  assert.deepEqual(await problems('web/src/x.ts', "import type { JobResponse } from '../../src/server/schemas.ts';\nexport type J = typeof JobResponse;\n"), []);
  assert.match((await problems('web/src/x.ts', "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n")).join('\n'), /runs in the browser/);
  assert.match((await problems('src/server/x.ts', "import { App } from '../../web/src/app.tsx';\nexport const a = App;\n")).join('\n'), /never imports the web dashboard/);
  // One pure module is shared: the dashboard shows server text as the CLI does.
  assert.deepEqual(await problems('web/src/api/x.ts', "import { visibleText } from '../../../src/model/text.ts';\nexport const v = visibleText;\n"), []);
  assert.match((await problems('web/src/api/x.ts', "import { jobDefaults } from '../../../src/model/job.ts';\nexport const d = jobDefaults;\n")).join('\n'), /bundles no server code/, 'only that one');
  // The dashboard verifies the ledger in the browser with the same pure code as the server and CLI.
  assert.deepEqual(await problems('web/src/api/x.ts', "import { verifyInclusion } from '../../../src/ledger/merkle.ts';\nexport const v = verifyInclusion;\n"), []);
});
