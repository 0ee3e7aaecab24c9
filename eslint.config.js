// Lint rules that hold the architecture in place (DESIGN.md "Proposed layout"):
// layers import only downward, never in a cycle, and the pure layers never read
// the clock or unseeded randomness.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

/** Layer order, lowest first; a layer may import only from layers listed before it. */
const layers = ['model', 'plan', 'sched', 'sim', 'ledger', 'store', 'executors', 'server', 'agent', 'cli'];
/** Which layers each layer may NOT import (anything not below it; plan and sched are siblings). */
const forbiddenFrom = (layer) => {
  const allowed = {
    model: [],
    plan: ['model'],
    sched: ['model'],
    sim: ['model', 'plan', 'sched'],
    ledger: ['model'],
    store: ['model', 'plan', 'sched', 'ledger'],
    executors: ['model'],
    server: ['model', 'plan', 'sched', 'sim', 'ledger', 'store', 'executors'],
    agent: ['model', 'ledger', 'executors'],
    cli: layers.filter((l) => l !== 'cli'),
  }[layer];
  return layers.filter((l) => l !== layer && !allowed.includes(l));
};

const pureLayers = ['model', 'plan', 'sched', 'sim', 'ledger'];

export default tseslint.config(
  { ignores: ['node_modules/', 'bench/results/', '.suanli/', 'dist/', 'test-artifacts/'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js', 'bin/*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // `const { span, ...rest } = x` takes a field out: the field named is unused on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            ...layers.flatMap((layer) =>
              forbiddenFrom(layer).map((from) => ({
                target: `./src/${layer}`,
                from: `./src/${from}`,
                message: `src/${layer} sits below src/${from} and must not import it (DESIGN.md layout).`,
              })),
            ),
            // The dashboard is a client of the API, like the CLI but in the browser: it reads only
            // the wire types of src/server/schemas.ts (type-only imports; see the web/ rule below),
            // shows server text through the same pure function as the CLI (src/model/text.ts), and
            // verifies the ledger itself (src/ledger: signatures, proofs, checkpoints), trusting no server.
            { target: './web', from: './src', except: ['./server/schemas.ts', './model/text.ts', './ledger'], message: 'web/ is a client of the API: it may import only the wire types of src/server/schemas.ts, src/model/text.ts and src/ledger.' },
            { target: './src', from: './web', message: 'src/ never imports the web dashboard; the server serves its build (src/server/dashboard.ts).' },
          ],
        },
      ],
    },
  },
  {
    files: pureLayers.map((l) => `src/${l}/**/*.ts`),
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'Pure layers read no clock: take a Clock port.' },
        { selector: "NewExpression[callee.name='Date']", message: 'Pure layers read no clock: take a Clock port.' },
        { selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']", message: 'Pure layers use a seeded RNG, never Math.random.' },
        { selector: "CallExpression[callee.object.name='performance'][callee.property.name='now']", message: 'Pure layers read no clock.' },
      ],
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['node:*', 'fs', 'path', 'http', 'https', 'net', 'child_process', 'os'], message: 'Pure layers do no I/O.' }] },
      ],
    },
  },
  {
    // The dashboard's bundle runs in the browser: no Node built-ins, and nothing of the
    // server's at run time (an `import type` is erased from the bundle; a value import is not).
    files: ['web/src/**/*.{ts,tsx}'],
    ignores: ['**/*.test.ts', '**/*.test.tsx'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'http', 'https', 'net', 'child_process', 'os'], message: 'The dashboard runs in the browser: no Node built-ins.' },
            { regex: '(^|/)src/(?!model/text\.ts$|ledger/)', allowTypeImports: true, message: 'The dashboard bundles no server code: use `import type` for the wire types (src/model/text.ts and src/ledger, pure, are the modules it bundles).' },
          ],
        },
      ],
    },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
  {
    // node:test's test()/describe() return promises the runner itself awaits.
    files: ['**/*.test.ts', '**/*.test.tsx', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
    },
  },
);
