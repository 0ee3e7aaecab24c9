import { existsSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { Api } from './control-plane.ts';

/** Where `npm run build:web` writes the dashboard (web/vite.config.ts). */
export const DEFAULT_WEB_ROOT = resolve(import.meta.dirname, '..', '..', 'dist', 'web');

/** What `/` answers while the dashboard is not built: the API itself works without it. */
export const NOT_BUILT_MESSAGE =
  'The Suanli dashboard is not built. Run `npm run build:web` (it writes dist/web), then reload this page. The API works without it: /api/v1, its docs at /api/v1/docs.';

/** Hashed file names (Vite's `assets/index-3f2a9c1b.js`) never change content: cache them for a year. */
const ASSETS = 'assets/';
const YEAR_MS = 365 * 86_400_000;

/**
 * Serves the web dashboard (the build of web/) from `root` at every path the API
 * does not own: a file of the build when one exists at that path, otherwise
 * index.html, so that the app's own paths (/jobs/42) load the app. Paths under
 * /api stay the API's: an unknown one is the API's JSON 404, never the app. The
 * build is looked for at each request, so building while the server runs needs
 * no restart; without it the answer is a 503 saying how to build it. The routes
 * are hidden from the OpenAPI document.
 */
export async function dashboardRoutes(app: Api, root: string = DEFAULT_WEB_ROOT): Promise<void> {
  const webRoot = resolve(root);
  // In its own scope: this instance of @fastify/static only decorates the reply
  // with sendFile (serve: false) and cannot clash with the one the docs page uses.
  await app.register(async (scope) => {
    await scope.register(fastifyStatic, { root: webRoot, serve: false, suppressWarning: true });
    scope.get('/*', { schema: { hide: true } }, (req, reply) => {
      const path = (req.params as { '*': string })['*'];
      if (path === 'api' || path.startsWith('api/')) return reply.callNotFound();
      if (!existsSync(join(webRoot, 'index.html'))) return reply.code(503).type('text/plain; charset=utf-8').send(NOT_BUILT_MESSAGE);
      if (path.startsWith(ASSETS)) return reply.sendFile(path, { maxAge: YEAR_MS, immutable: true });
      if (isFileIn(webRoot, path)) return reply.sendFile(path, { maxAge: 0 });
      // The app's own routes: index.html, never cached, so a new build is picked up at the next load.
      return reply.header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false });
    });
  });
}

/** Whether `path` names a regular file inside `root` (never outside it, whatever `..` it holds). */
function isFileIn(root: string, path: string): boolean {
  if (path === '') return false;
  const full = resolve(root, path);
  if (!full.startsWith(root + sep)) return false;
  try {
    return statSync(full).isFile();
  } catch {
    return false;
  }
}
