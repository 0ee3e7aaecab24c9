// Where the real GPU-cluster traces live (../shared/data beside the checkout, or
// $SUANLI_DATA_DIR). Tests that need them call `dataFile`; when the data is absent
// they are skipped with a message saying what and where from, except under CI=true,
// where CI always has the data and its absence is a failure.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';

export const DATA_DIR = resolve(process.env.SUANLI_DATA_DIR ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'data'));

/**
 * The absolute path of `relative` under the data directory, or undefined after
 * marking the test skipped (outside CI) when it is missing.
 */
export function dataFile(t: TestContext, relative: string): string | undefined {
  const path = join(DATA_DIR, relative);
  if (existsSync(path)) return path;
  const why = `needs ${relative} from the shared trace data (${DATA_DIR}, or set SUANLI_DATA_DIR); see shared/data/README.md for the public sources`;
  if (process.env.CI === 'true') throw new Error(`missing data under CI: ${why}`);
  t.skip(`skipped: ${why}`);
  return undefined;
}
