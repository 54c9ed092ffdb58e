// Load a user module by name or path (task modules, config modules) as Node would run it, in any project layout:
// TypeScript (.ts .mts .cts) through tsx, JavaScript natively; CommonJS files by require(), ES modules by import().
// Installed packages, celeriac included, always load through Node itself: a task module and the worker share one celeriac.

import { readFileSync, statSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ModuleLoadError } from '../errors.js';

/** Extensions tried after a module name, in this order (Node's own order for .js first would hide a .ts source). */
export const MODULE_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'] as const;

const TYPESCRIPT = /\.[mc]?tsx?$/;
/** This package's root: its files always load through Node, even when linked outside node_modules. */
const OWN_ROOT = fileURLToPath(new URL('../../', import.meta.url));

type Loader = (module: unknown, filename: string) => void;

let tsxRegistered: Promise<void> | undefined;

/**
 * Make `require()` and `import()` of TypeScript files work in this process (idempotent), in CommonJS and ES module
 * packages alike. tsx would also compile every ES-module `.js` that CommonJS code requires into a CommonJS copy; for
 * installed packages that would hand a task module a second celeriac (its classes failing `instanceof` in the worker),
 * so those stay with Node, which loads them with require(esm).
 */
export function enableTypeScriptImports(): Promise<void> {
  tsxRegistered ??= (async () => {
    const extensions = (Module as unknown as { _extensions: Record<string, Loader> })._extensions;
    const native = { ...extensions };
    const [cjs, esm] = await Promise.all([import('tsx/cjs/api'), import('tsx/esm/api')]);
    cjs.register();
    esm.register();
    for (const ext of ['.js', '.mjs', '.cjs']) {
      const viaTsx = extensions[ext];
      const original = native[ext] ?? native['.js']!;
      if (!viaTsx || viaTsx === original) continue;
      extensions[ext] = (module, filename) => (isPackageFile(filename) ? original : viaTsx)(module, filename);
    }
  })();
  return tsxRegistered;
}

function isPackageFile(filename: string): boolean {
  return filename.includes(`${sep}node_modules${sep}`) || filename.startsWith(OWN_ROOT);
}

/** `tasks` → [/cwd/tasks]; a Python-style dotted name also as folders: `celeryconfig.prod` → [/cwd/celeryconfig.prod, /cwd/celeryconfig/prod]. */
function moduleStems(spec: string, cwd: string): string[] {
  const stems = [isAbsolute(spec) ? spec : resolve(cwd, spec)];
  if (/^[\w-]+(\.[\w-]+)+$/.test(spec) && !(MODULE_EXTENSIONS as readonly string[]).includes(extname(spec))) {
    stems.push(resolve(cwd, ...spec.split('.')));
  }
  return stems;
}

/**
 * The files a module spec may name, in the order tried: the path itself, with each extension, as a folder's
 * index, and for a Python-style dotted name (`celeryconfig.prod`) the same under `celeryconfig/prod`. A `.js`
 * spec also tries its TypeScript source (`./tasks.js` → `./tasks.ts`), as TypeScript's own imports do.
 */
export function moduleCandidates(spec: string, cwd = process.cwd()): string[] {
  const out: string[] = [];
  for (const stem of moduleStems(spec, cwd)) {
    out.push(stem, ...MODULE_EXTENSIONS.map((e) => stem + e));
    const js = /\.([mc]?)js$/.exec(stem);
    if (js) out.push(`${stem.slice(0, -js[0].length)}.${js[1]}ts`);
    out.push(...MODULE_EXTENSIONS.map((e) => join(stem, `index${e}`)));
  }
  return out;
}

/** The first existing file among moduleCandidates(spec), as an absolute path, or null (a package name, or nothing). */
export function resolveModulePath(spec: string, cwd = process.cwd()): string | null {
  return moduleCandidates(spec, cwd).find(isFile) ?? null;
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

/**
 * Import a module by path, Python-style dotted name or installed package name, resolved from `cwd`.
 * Throws ModuleLoadError when nothing matches (naming every place tried) or when the module raised while loading
 * (`cause` is the module's own error, with its stack).
 */
export async function importModule(spec: string, cwd = process.cwd()): Promise<Record<string, unknown>> {
  const path = resolveModulePath(spec, cwd) ?? resolvePackage(spec, cwd);
  if (!path) {
    throw new ModuleLoadError(`Cannot find the module '${spec}': no file ${triedList(spec, cwd)} in ${cwd}, and no installed package of that name. Check the name and the working directory.`);
  }
  try {
    return await loadFile(path);
  } catch (cause) {
    throw new ModuleLoadError(`The module ${path} raised an error while loading: ${errorText(cause)}`, { cause });
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** `celeryconfig.prod{,.ts,…}, celeryconfig.prod/index{.ts,…}, celeryconfig/prod{…}`: short enough for one error line. */
function triedList(spec: string, cwd: string): string {
  const exts = MODULE_EXTENSIONS.join(',');
  return moduleStems(spec, cwd).map((stem) => {
    const shown = relative(cwd, stem) || '.';
    return `${shown}{,${exts}}, ${join(shown, 'index')}{${exts}}`;
  }).join(', ');
}

function resolvePackage(spec: string, cwd: string): string | null {
  if (spec.startsWith('.') || isAbsolute(spec)) return null;
  try {
    return createRequire(join(cwd, 'package.json')).resolve(spec);
  } catch {
    return null;
  }
}

/** Load one file by the module system Node would pick for it; CommonJS exports come back as a namespace. */
async function loadFile(path: string): Promise<Record<string, unknown>> {
  if (TYPESCRIPT.test(path)) await enableTypeScriptImports();
  if (isCommonJs(path)) {
    try {
      return namespaceOf(createRequire(path)(path));
    } catch (error) {
      // An ES module with top-level await (detected by Node, or by tsx in a CommonJS package) cannot be required.
      const code = (error as { code?: unknown }).code;
      if (code !== 'ERR_REQUIRE_ASYNC_MODULE' && code !== 'ERR_REQUIRE_ESM') throw error;
    }
  }
  return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
}

/** Node's rule: .cjs/.cts are CommonJS, .mjs/.mts are ES modules, others follow the nearest package.json "type". */
function isCommonJs(path: string): boolean {
  if (/\.c[jt]s$/.test(path)) return true;
  if (/\.m[jt]s$/.test(path)) return false;
  return packageType(dirname(path)) !== 'module';
}

function packageType(dir: string): unknown {
  for (let d = dir; ; d = dirname(d)) {
    let text: string | undefined;
    try {
      text = readFileSync(join(d, 'package.json'), 'utf8');
    } catch {
      if (dirname(d) === d) return undefined;
      continue;
    }
    try {
      return (JSON.parse(text) as { type?: unknown }).type;
    } catch {
      return undefined;
    }
  }
}

function namespaceOf(exports: unknown): Record<string, unknown> {
  if (typeof exports === 'object' && exports !== null && (exports as { __esModule?: unknown }).__esModule) return exports as Record<string, unknown>;
  const plain = typeof exports === 'object' && exports !== null && [Object.prototype, null].includes(Object.getPrototypeOf(exports));
  return plain ? { ...(exports as Record<string, unknown>), default: exports } : { default: exports };
}
