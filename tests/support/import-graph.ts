// The import graph of src/, read with the TypeScript compiler's parser (no type checking, so it is fast): every
// import and export declaration (multi-line, `import type`, `import { type X }`, side-effect imports), every
// dynamic `import('…')` with a literal argument, every `import('…')` type and `import x = require('…')`. Each edge
// knows its file, line and whether it exists only for the type checker.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** One import of one file. */
export interface ImportEdge {
  /** The importing file, relative to the source root ('app/celery.ts'). */
  readonly from: string;
  /** The imported file relative to the source root, or the bare package name ('ioredis', 'node:fs'). */
  readonly to: string;
  /** True for a package or Node built-in, false for a file of ours. */
  readonly external: boolean;
  /** 1-based line of the import in `from`. */
  readonly line: number;
  /** Erased at run time: `import type`, `export type`, every named binding `type`, or an `import('…')` type. */
  readonly typeOnly: boolean;
  /** A dynamic `import('…')` call (loaded lazily, at run time). */
  readonly dynamic: boolean;
  /** The specifier as written. */
  readonly specifier: string;
}

/** Every `.ts` file under `dir`, recursively, as absolute paths. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

/** The import edges of one file. Relative specifiers are resolved (`.js` → `.ts`); the file need not exist. */
export function importsOf(file: string, root: string): ImportEdge[] {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const from = relative(root, file);
  const out: ImportEdge[] = [];
  const add = (node: ts.Node, specifier: string, typeOnly: boolean, dynamic: boolean) => {
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    const external = !specifier.startsWith('.');
    const to = external ? specifier : relative(root, resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
    out.push({ from, to, external, line, typeOnly, dynamic, specifier });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node, node.moduleSpecifier.text, isTypeOnlyImport(node.importClause), false);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const named = node.exportClause && ts.isNamedExports(node.exportClause) ? node.exportClause.elements : undefined;
      const typeOnly = node.isTypeOnly || (named !== undefined && named.length > 0 && named.every((e) => e.isTypeOnly));
      add(node, node.moduleSpecifier.text, typeOnly, false);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expr = node.moduleReference.expression;
      if (ts.isStringLiteral(expr)) add(node, expr.text, node.isTypeOnly, false);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteralLike(arg)) add(node, arg.text, false, true);
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      if (ts.isLiteralTypeNode(arg) && ts.isStringLiteral(arg.literal)) add(node, arg.literal.text, true, false);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function isTypeOnlyImport(clause: ts.ImportClause | undefined): boolean {
  if (!clause) return false; // `import './x.js'`: a side effect, at run time
  if (clause.isTypeOnly) return true;
  if (clause.name) return false; // a default import is a value unless the whole clause is `type`
  const bindings = clause.namedBindings;
  if (!bindings || ts.isNamespaceImport(bindings)) return false;
  return bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
}

/** The import edges of every file under `root`. */
export function importGraph(root: string): { files: string[]; edges: ImportEdge[] } {
  const files = sourceFiles(root);
  return { files: files.map((f) => relative(root, f)), edges: files.flatMap((f) => importsOf(f, root)) };
}

/**
 * Every elementary cycle's entry found by a depth-first search over `edges` (internal edges only), each as the
 * list of files from the first file back to it. One cycle per back edge: enough to name every knot.
 */
export function findCycles(files: readonly string[], edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) if (!e.external) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (node: string) => {
    state.set(node, 'visiting');
    stack.push(node);
    for (const to of new Set(next.get(node) ?? [])) {
      if (state.get(to) === 'visiting') cycles.push([...stack.slice(stack.indexOf(to)), to]);
      else if (!state.has(to)) visit(to);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f);
  return cycles;
}
