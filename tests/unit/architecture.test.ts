// The dependency rules of ARCHITECTURE.md §4, enforced on every import the TypeScript parser finds in src/
// (multi-line, type-only, re-exports, dynamic import(), import() types): imports point inward or sideways; a
// folder's siblings in its ring use only its interface files; rings 3–4 see only the interface files of ring 2;
// drivers/ sits below transports/ and backends/, which never import each other; concrete transports and backends
// are reached only through the lazy tables; driver packages load only in drivers/ and concrete modules; there
// are no cycles, type-only ones included. Every failure names file and line.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findCycles, importGraph, importsOf, type ImportEdge } from '../support/import-graph.js';
import { repoRoot } from '../support/shared.js';

const src = join(repoRoot, 'src');
const { files, edges } = importGraph(src);
const internal = edges.filter((e) => !e.external);

/** Folder (or top-level file) → ring. A folder missing here fails the first test. */
const RINGS: Readonly<Record<string, number>> = {
  'errors.ts': 0, 'states.ts': 0, utils: 0,
  config: 1, protocol: 1, security: 1,
  drivers: 2, transports: 2, backends: 2, control: 2, events: 2,
  app: 3, task: 3, result: 3, canvas: 3,
  worker: 4, beat: 4, dashboard: 4, otel: 4,
  cli: 5, 'index.ts': 5,
};

/**
 * The interface files of each folder: what a sibling folder of the same ring, or rings 3–4 looking into ring 2,
 * may import. A folder with no entry is reached by nobody outside it but outer rings (ring 5 sees everything).
 */
const INTERFACES: Readonly<Record<string, readonly string[]>> = {
  transports: ['transports/transport.ts', 'transports/index.ts', 'transports/virtual/queue-store.ts'],
  backends: ['backends/backend.ts', 'backends/index.ts'],
  control: ['control/client.ts', 'control/mailbox.ts'],
  events: ['events/dispatcher.ts', 'events/receiver.ts'],
  result: ['result/async-result.ts', 'result/group-result.ts'],
  canvas: ['canvas/index.ts', 'canvas/signature.ts'],
  task: ['task/task.ts', 'task/context.ts', 'task/options.ts', 'task/interfaces.ts'],
  app: ['app/signals.ts'],
};

/** npm packages that talk to a server or a file: only drivers/ and the concrete transports and backends load them. */
const DRIVER_PACKAGES = new Set(['ioredis', 'pg', 'better-sqlite3', 'amqplib']);

const folderOf = (file: string) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : file);
const ringOf = (file: string) => RINGS[folderOf(file)] ?? Number.NaN;
const at = (e: ImportEdge) => `${e.from}:${e.line}`;

/** Concrete transports (their folder) and backends (their file): the targets of the two lazy tables. */
const lazyTargets = (table: string) => internal.filter((e) => e.from === table && e.dynamic).map((e) => e.to);
const concreteTransports = new Set(lazyTargets('transports/index.ts').map((f) => f.slice(0, f.lastIndexOf('/') + 1)));
const concreteBackends = new Set(lazyTargets('backends/index.ts'));
const concreteOf = (file: string): string | undefined =>
  concreteBackends.has(file) ? file : [...concreteTransports].find((dir) => file.startsWith(dir));

describe('architecture rings', () => {
  it('finds the source and places every file in a ring', () => {
    expect(files.length).toBeGreaterThan(20);
    const homeless = files.filter((f) => Number.isNaN(ringOf(f)));
    expect(homeless.map((f) => `${f} is in no ring: add its folder to ARCHITECTURE.md §4 and to RINGS here`)).toEqual([]);
  });

  it('every relative import names a file that exists', () => {
    const broken = internal.filter((e) => !existsSync(join(src, e.to)));
    expect(broken.map((e) => `${at(e)} imports '${e.specifier}', which is no file of src/`)).toEqual([]);
  });

  it('imports point inward or sideways only', () => {
    const bad = (internal.filter((e) => ringOf(e.to) > ringOf(e.from)));
    expect(bad.map((e) => `${at(e)} (ring ${ringOf(e.from)}) imports ${e.to} (ring ${ringOf(e.to)})`)).toEqual([]);
  });

  it('sibling folders of one ring import each other only through interface files', () => {
    const bad = (internal.filter((e) => {
      const [a, b] = [folderOf(e.from), folderOf(e.to)];
      // Rings 0–1 are pure toolboxes (every file is its own interface); ring 5 may import anything.
      if (a === b || ringOf(e.from) !== ringOf(e.to) || ringOf(e.from) <= 1 || ringOf(e.from) === 5) return false;
      if (b === 'drivers') return false; // drivers/ has rules of its own below
      return !(INTERFACES[b] ?? []).includes(e.to);
    }));
    expect(bad.map((e) => `${at(e)} imports ${e.to}, not an interface file of ${folderOf(e.to)}/ (${(INTERFACES[folderOf(e.to)] ?? ['none']).join(', ')})`)).toEqual([]);
  });

  it('rings 3 and 4 use only the interface files of ring 2 (never drivers/)', () => {
    const bad = (internal.filter((e) => {
      const r = ringOf(e.from);
      return (r === 3 || r === 4) && ringOf(e.to) === 2 && !(INTERFACES[folderOf(e.to)] ?? []).includes(e.to);
    }));
    expect(bad.map((e) => `${at(e)} imports ${e.to}: go through openTransport/openBackend or the interface files`)).toEqual([]);
  });

  it('drivers/ sits below transports and backends: it imports rings 0–1 and other drivers only', () => {
    const bad = (internal.filter((e) => folderOf(e.from) === 'drivers' && ringOf(e.to) >= 2 && folderOf(e.to) !== 'drivers'));
    expect(bad.map((e) => `${at(e)} imports ${e.to}: a driver knows no transport or backend`)).toEqual([]);
  });

  it('only transports/, backends/ and the entry ring import drivers/', () => {
    const bad = (internal.filter((e) => folderOf(e.to) === 'drivers' && !['drivers', 'transports', 'backends'].includes(folderOf(e.from)) && ringOf(e.from) !== 5));
    expect(bad.map((e) => `${at(e)} imports ${e.to}: drivers serve transports and backends only`)).toEqual([]);
  });

  it('transports and backends never import each other (what both need goes to drivers/)', () => {
    const family = (f: string) => (['transports', 'backends'].includes(folderOf(f)) ? folderOf(f) : undefined);
    const bad = (internal.filter((e) => family(e.from) && family(e.to) && family(e.from) !== family(e.to)));
    expect(bad.map((e) => `${at(e)} imports ${e.to}: move what both need to drivers/`)).toEqual([]);
  });

  it('a concrete transport or backend is imported only by itself and its lazy table', () => {
    expect(concreteTransports.size).toBeGreaterThan(2);
    expect(concreteBackends.size).toBeGreaterThan(2);
    const bad = (internal.filter((e) => {
      const target = concreteOf(e.to);
      if (!target || concreteOf(e.from) === target) return false;
      return !(e.dynamic && (e.from === 'transports/index.ts' || e.from === 'backends/index.ts'));
    }));
    expect(bad.map((e) => `${at(e)} imports concrete ${e.to}: use its interface and the lazy table`)).toEqual([]);
  });

  it('driver packages load only in drivers/ and concrete transports and backends', () => {
    const bad = (edges.filter((e) => e.external && DRIVER_PACKAGES.has(e.to) && folderOf(e.from) !== 'drivers' && !concreteOf(e.from)));
    expect(bad.map((e) => `${at(e)} imports ${e.to}: wrap it in drivers/ or a concrete transport/backend`)).toEqual([]);
  });

  it('nothing but the entry imports cli/', () => {
    const bad = (internal.filter((e) => folderOf(e.to) === 'cli' && ringOf(e.from) < 5));
    expect(bad.map((e) => `${at(e)} imports ${e.to}`)).toEqual([]);
  });

  it('no import cycles, type-only and dynamic imports included', () => {
    const cyclic = findCycles(files, internal);
    const lineOf = (from: string, to: string) => internal.find((e) => e.from === from && e.to === to)?.line;
    expect(cyclic.map((c) => c.slice(0, -1).map((f, i) => `${f}:${lineOf(f, c[i + 1]!)}`).concat(c[c.length - 1]!).join(' → '))).toEqual([]);
  });
});

describe('the import reader', () => {
  it('sees multi-line, type-only, re-exported, dynamic and import() type imports, with their lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rings-'));
    const file = join(dir, 'a.ts');
    writeFileSync(file, [
      "import {",
      "  one,",
      "  two,",
      "} from './b.js';",
      "import type { T } from './c.js';",
      "import { type U, type V } from './d.js';",
      "import { type W, x } from './e.js';",
      "export { y } from './f.js';",
      "export type { Z } from './g.js';",
      "import './h.js';",
      "const lazy = () => import('./i.js');",
      "let t: typeof import('./j.js');",
      "import pg from 'pg';",
    ].join('\n'));
    const got = importsOf(file, dir).map((e) => [e.to, e.line, e.typeOnly, e.dynamic, e.external]);
    rmSync(dir, { recursive: true, force: true });
    expect(got).toEqual([
      ['b.ts', 1, false, false, false],
      ['c.ts', 5, true, false, false],
      ['d.ts', 6, true, false, false],
      ['e.ts', 7, false, false, false],
      ['f.ts', 8, false, false, false],
      ['g.ts', 9, true, false, false],
      ['h.ts', 10, false, false, false],
      ['i.ts', 11, false, true, false],
      ['j.ts', 12, true, false, false],
      ['pg', 13, false, false, true],
    ]);
  });

  it('finds a cycle made only of type imports', () => {
    const edge = (from: string, to: string): ImportEdge => ({ from, to, external: false, line: 1, typeOnly: true, dynamic: false, specifier: to });
    expect(findCycles(['a.ts', 'b.ts', 'c.ts'], [edge('a.ts', 'b.ts'), edge('b.ts', 'c.ts'), edge('c.ts', 'a.ts')])).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });
});
