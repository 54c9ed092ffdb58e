// The dashboard's web page: index.html and app.js from ./ui (shipped in the package's src/), and the front-end
// libraries (preact, htm) straight from node_modules, so there is no build step. Only files named here are served.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import type { Request } from './http.js';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

/** The page's files: from src/dashboard/ui when run from source, ../../src/dashboard/ui when run from dist/. */
function uiFile(name: string): string[] {
  return [join(here, 'ui', name), join(here, '..', '..', 'src', 'dashboard', 'ui', name)];
}

/** URL path → [content type, candidate files]. */
const FILES: Readonly<Record<string, readonly [string, () => string[]]>> = {
  '/': ['text/html; charset=UTF-8', () => uiFile('index.html')],
  '/static/app.js': ['text/javascript; charset=UTF-8', () => uiFile('app.js')],
  '/static/app.css': ['text/css; charset=UTF-8', () => uiFile('app.css')],
  '/static/vendor/preact.mjs': ['text/javascript; charset=UTF-8', () => [require.resolve('preact')]],
  '/static/vendor/hooks.mjs': ['text/javascript; charset=UTF-8', () => [require.resolve('preact/hooks')]],
  '/static/vendor/htm.mjs': ['text/javascript; charset=UTF-8', () => [join(dirname(require.resolve('htm')), 'htm.mjs')]],
};

/** Serves the page's files, read once and kept. */
export class Page {
  private readonly cache = new Map<string, Buffer>();

  /** `pageToken` is written into index.html for the page's API calls (auth.ts, PAGE_HEADER). */
  constructor(private readonly pageToken: string) {}

  /** Answer `req` when it names one of the page's files; false otherwise. */
  async serve(req: Request, res: ServerResponse): Promise<boolean> {
    const entry = FILES[req.path];
    if (!entry || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    if (req.path === '/') {
      // The page loads its files by relative URLs: mounted at /flower it must be /flower/ (Express keeps originalUrl).
      const pathname = ((req.raw as { originalUrl?: string }).originalUrl ?? req.raw.url ?? '/').split('?')[0]!;
      if (!pathname.endsWith('/')) {
        res.writeHead(302, { Location: `${pathname}/` });
        res.end();
        return true;
      }
    }
    const [type, candidates] = entry;
    let body = this.cache.get(req.path);
    if (!body) {
      for (const file of candidates()) {
        body = await readFile(file).catch(() => undefined);
        if (body) break;
      }
      if (!body) return false;
      if (req.path === '/') body = Buffer.from(body.toString('utf8').replace('{{PAGE_TOKEN}}', this.pageToken), 'utf8');
      this.cache.set(req.path, body);
    }
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }
}
