#!/usr/bin/env node
// Entry point of the `suanli` command: loads the TypeScript sources through tsx's
// loader so that the package needs no build step before it runs.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
