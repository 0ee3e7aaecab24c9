// Debian's headless Chromium (driven by playwright-core, never a browser Playwright
// downloads) and the dashboard's production build: what the browser tests and the
// screenshot script (scripts/screenshots.ts) share.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { build } from 'vite';

/** Debian's chromium, or the one CHROMIUM_PATH names. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Flags for a headless run as root in a container: no sandbox (it needs user
 * namespaces), no GPU, and none of the background network traffic a browser makes
 * on its own. Playwright adds --headless and a fresh profile directory itself.
 */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Why Chromium cannot run here, or undefined when it can. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `needs Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Builds the dashboard (web/) into `outDir`, as `npm run build:web` does into dist/web. */
export async function buildDashboard(outDir: string): Promise<void> {
  await build({ configFile: join(import.meta.dirname, '..', 'web', 'vite.config.ts'), build: { outDir, emptyOutDir: true }, logLevel: 'warn' });
}
