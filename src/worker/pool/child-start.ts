// How a pool child is started, shared by the threads and prefork pools: the handle the pool drives, the child's
// entry file (source or dist) and tsx's loaders for a TypeScript app.

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChildMessage, ParentMessage } from './ipc.js';

/** A started child, as the pool sees it. */
export interface ChildHandle {
  send(message: ParentMessage): void;
  /** Stop it now: SIGKILL for a process, terminate() for a thread. */
  kill(): void;
  onMessage(fn: (message: ChildMessage) => void): void;
  /** Once, when it is gone; `how` reads like Celery's "exitcode 1" / "signal 9 (SIGKILL)". */
  onExit(fn: (how: string) => void): void;
}

/** The child entry next to this file: child.ts when running from source, child.js from dist. */
export function childEntry(): { url: URL; typescript: boolean } {
  const typescript = import.meta.url.endsWith('.ts');
  return { url: new URL(`./child.${typescript ? 'ts' : 'js'}`, import.meta.url), typescript };
}

let tsxCache: { api: string; loader: string } | undefined;

/** File URLs of tsx's ESM register API (threads) and its `--import` loader (forks), resolved from this package. */
export function tsxUrls(): { api: string; loader: string } {
  if (tsxCache) return tsxCache;
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports: Record<string, unknown> };
  const api = (pkg.exports['./esm/api'] as { import: { default: string } }).import.default;
  tsxCache = { api: pathToFileURL(join(dirname(pkgPath), api)).href, loader: pathToFileURL(require.resolve('tsx')).href };
  return tsxCache;
}
