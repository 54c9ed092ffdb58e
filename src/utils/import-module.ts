// Load a user module by path (task modules, config modules): .ts files load without a build step through tsx.

import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

let tsxRegistered: Promise<void> | undefined;

/** Make `import()` of .ts files work in this process (idempotent). */
export function enableTypeScriptImports(): Promise<void> {
  tsxRegistered ??= import('tsx/esm/api').then((tsx) => {
    tsx.register();
  });
  return tsxRegistered;
}

/**
 * Resolve a module spec the way Celery's -A does: a path (`./tasks.ts`, `tasks.js`), or a bare name (`tasks`)
 * tried as tasks.ts, tasks.js, tasks.mjs, tasks/index.ts, tasks/index.js in `cwd`. Returns an absolute path, or
 * null when nothing matches (then the caller may try a package name).
 */
export function resolveModulePath(spec: string, cwd = process.cwd()): string | null {
  const base = isAbsolute(spec) ? spec : resolve(cwd, spec);
  const candidates = [base, `${base}.ts`, `${base}.js`, `${base}.mjs`, `${base}.mts`, resolve(base, 'index.ts'), resolve(base, 'index.js')];
  return candidates.find((c) => existsSync(c) && !c.endsWith('/')) ?? null;
}

/** Import a module by path or package name; .ts paths enable tsx first. */
export async function importModule(spec: string, cwd = process.cwd()): Promise<Record<string, unknown>> {
  const path = resolveModulePath(spec, cwd);
  if (path && /\.[mc]?ts$/.test(path)) await enableTypeScriptImports();
  return (await import(path ? pathToFileURL(path).href : spec)) as Record<string, unknown>;
}
