// Every `$ suanli …` example in the README, re-run: its output must be what the README shows.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../src/cli/main.ts';

const readme = await readFile(join(import.meta.dirname, '..', 'README.md'), 'utf8');
const examples = [...readme.matchAll(/```console\n\$ suanli ([^\n]*)\n([\s\S]*?)```/g)].map((m) => ({ args: (m[1] ?? '').split(/\s+/), expected: (m[2] ?? '').trimEnd() }));

// Examples that write files (charts) write them into a scratch directory.
let scratch = '';
const home = process.cwd();
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'suanli-readme-'));
  // Examples name files under examples/ relative to the checkout.
  await cp(join(home, 'examples'), join(scratch, 'examples'), { recursive: true });
  process.chdir(scratch);
});
after(async () => {
  process.chdir(home);
  await rm(scratch, { recursive: true, force: true });
});

test('the README has examples to check', () => {
  assert.ok(examples.length >= 5);
});

for (const ex of examples) {
  test(`README: suanli ${ex.args.join(' ')}`, async () => {
    const lines: string[] = [];
    await run(ex.args, { out: (s) => lines.push(s), err: (s) => lines.push(s) });
    assert.equal(lines.join('\n').trimEnd(), ex.expected);
  });
}
