#!/usr/bin/env node
// Entry point of the `suanli` command: the compiled code (`npm run build` writes it to
// dist/, and `npm ci` runs the build) with plain Node. The TypeScript sources through
// tsx's loader (a development dependency: an installed package has no src/) instead
// when SUANLI_FROM_SOURCE=1, or in a checkout whose src/ changed since its last build —
// so that what runs is never older than what is written.
import { existsSync, readdirSync, statSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
const cli = (await compiledIsCurrent()) ? await import(compiled.href) : await fromSource();
await cli.main();

async function compiledIsCurrent() {
  if (process.env.SUANLI_FROM_SOURCE === '1' || !existsSync(compiled)) return false;
  const src = new URL('../src/', import.meta.url);
  if (!existsSync(src)) return true; // an installed package: dist/ is all there is
  const built = statSync(new URL('../dist/.tsbuildinfo', import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const compiledFrom = (f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.conformance.ts');
  return readdirSync(src, { recursive: true }).map(String).filter(compiledFrom).every((f) => statSync(new URL(f, src)).mtimeMs <= built);
}

async function fromSource() {
  const { register } = await import('tsx/esm/api');
  register();
  return import('../src/cli/main.ts');
}
