// npm run screenshots [-- --out DIR]: a PNG of every view of the dashboard (pool, jobs, a
// job, submit, ledger, sites, planner, simulation report, sign-in) at 1400 and 400 px wide,
// in English and in Chinese, taken in Debian's headless Chromium against a live pool
// (scripts/dashboard-scene.ts), for a reviewer to look at. Prints each file it writes.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildDashboard, chromiumMissing, launchChromium } from './browser.ts';
import { LANGUAGES, openView, startScene, VIEWS, WIDTHS } from './dashboard-scene.ts';

const USAGE = `usage: npm run screenshots [-- --out DIR]

Writes a PNG of every view of the dashboard at ${WIDTHS.join(' and ')} px wide in ${LANGUAGES.join(' and ')}
(${VIEWS.length * WIDTHS.length * LANGUAGES.length} files: VIEW-LANGUAGE-WIDTH.png) into DIR (default: screenshots/),
taken in headless Chromium against a pool started for the purpose (in memory, on 127.0.0.1).

  --out DIR   where to write the PNGs (made if missing)
  -h, --help  this text`;

/** The file each shot goes to: `pool-zh-CN-400.png`. */
export const shotName = (view: string, language: string, width: number) => `${view}-${language}-${width}.png`;

/** Takes every shot into `out`; calls `wrote` with each file's path. */
export async function takeScreenshots(out: string, wrote: (path: string) => void): Promise<void> {
  const missing = chromiumMissing();
  if (missing !== undefined) throw new Error(missing);
  mkdirSync(out, { recursive: true });
  const webRoot = mkdtempSync(join(tmpdir(), 'suanli-screenshots-'));
  try {
    await buildDashboard(webRoot);
    const scene = await startScene(webRoot);
    const browser = await launchChromium();
    try {
      for (const language of LANGUAGES) {
        for (const width of WIDTHS) {
          // A browser of this language: the dashboard starts in it (nothing stored yet).
          const context = await browser.newContext({ viewport: { width, height: 900 }, locale: language });
          const page = await context.newPage();
          page.setDefaultTimeout(20_000);
          for (const view of VIEWS) {
            await openView(page, scene, view);
            const path = join(out, shotName(view.name, language, width));
            await page.screenshot({ path, fullPage: true });
            wrote(path);
          }
          await context.close();
        }
      }
    } finally {
      await browser.close();
      await scene.close();
    }
  } finally {
    rmSync(webRoot, { recursive: true, force: true });
  }
}

async function main(argv: readonly string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({ args: [...argv], options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const out = resolve(args.values.out ?? 'screenshots');
  await takeScreenshots(out, (path) => process.stdout.write(`wrote ${path}\n`));
  return 0;
}

if (import.meta.filename === resolve(process.argv[1] ?? '')) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`screenshots: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
