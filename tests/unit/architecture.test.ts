// The dependency rings of ARCHITECTURE.md §4, enforced: an import may point only to the same ring or an inner
// one, ring 3/4 see only the interface/index files of ring 2, drivers/ sits below transports and backends (which
// never import each other), concrete transports never import each other,
// and runtime imports have no cycles. Type-only imports are exempt from the cycle rule (they vanish at run time).

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/shared.js';

const src = join(repoRoot, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function ringOf(file: string): number {
  const rel = relative(src, file);
  if (rel === 'errors.ts' || rel === 'states.ts' || rel.startsWith('utils/')) return 0;
  if (rel.startsWith('config/') || rel.startsWith('protocol/')) return 1;
  if (/^(drivers|transports|backends|control|events)\//.test(rel)) return 2;
  if (/^(app|task|result|canvas)\//.test(rel)) return 3;
  if (/^(worker|beat)\//.test(rel)) return 4;
  if (rel.startsWith('cli/') || rel === 'index.ts') return 5;
  throw new Error(`${rel} is in no ring: add its folder to ARCHITECTURE.md §4 and to this test`);
}

// Files of ring 2 that rings 3 and 4 may import: interfaces and the lazy tables, plus the control/events channels.
const RING2_PUBLIC = /^(transports\/transport\.ts|transports\/index\.ts|transports\/virtual\/queue-store\.ts|backends\/backend\.ts|backends\/index\.ts|control\/.*|events\/.*)$/;

interface Edge { from: string; to: string; line: number; typeOnly: boolean }

function edges(file: string): Edge[] {
  const out: Edge[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((text, i) => {
    const patterns = [/^\s*(import|export)\s+(type\s+)?(?:[^'"]*?\s+from\s+)?['"](\.[^'"]+)['"]/, /import\(\s*['"](\.[^'"]+)['"]\s*\)/];
    const s = patterns[0]!.exec(text);
    const d = patterns[1]!.exec(text);
    const spec = s?.[3] ?? d?.[1];
    if (!spec) return;
    const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
    out.push({ from: file, to: target, line: i + 1, typeOnly: Boolean(s?.[2]) });
  });
  return out;
}

const all = files(src);
const allEdges = all.flatMap(edges);
const rel = (f: string) => relative(src, f);

describe('architecture rings', () => {
  it('finds the source', () => {
    expect(all.length).toBeGreaterThan(20);
  });

  it('imports point inward or sideways only', () => {
    const bad = allEdges
      .filter((e) => ringOf(e.to) > ringOf(e.from))
      .map((e) => `${rel(e.from)}:${e.line} (ring ${ringOf(e.from)}) imports ${rel(e.to)} (ring ${ringOf(e.to)})`);
    expect(bad).toEqual([]);
  });

  it('rings 3 and 4 use only the interface and index files of ring 2', () => {
    const bad = allEdges
      .filter((e) => ringOf(e.from) >= 3 && ringOf(e.from) <= 4 && ringOf(e.to) === 2 && !RING2_PUBLIC.test(rel(e.to)))
      .map((e) => `${rel(e.from)}:${e.line} imports concrete ${rel(e.to)}: go through openTransport/openBackend`);
    expect(bad).toEqual([]);
  });

  it('drivers/ sits below transports and backends: it imports rings 0–1 and other drivers only', () => {
    const bad = allEdges
      .filter((e) => rel(e.from).startsWith('drivers/') && ringOf(e.to) === 2 && !rel(e.to).startsWith('drivers/'))
      .map((e) => `${rel(e.from)}:${e.line} imports ${rel(e.to)}: a driver knows no transport or backend`);
    expect(bad).toEqual([]);
  });

  it('transports and backends never import each other (shared code goes to drivers/)', () => {
    const family = (f: string) => /^(transports|backends)\//.exec(rel(f))?.[1];
    const bad = allEdges
      .filter((e) => family(e.from) && family(e.to) && family(e.from) !== family(e.to))
      .map((e) => `${rel(e.from)}:${e.line} imports ${rel(e.to)}: move what both need to drivers/`);
    expect(bad).toEqual([]);
  });

  it('a concrete transport never imports another concrete transport', () => {
    const concrete = (f: string) => /^transports\/(?!virtual\/|transport\.ts|index\.ts)([^/]+)\//.exec(rel(f))?.[1];
    const bad = allEdges
      .filter((e) => concrete(e.from) && concrete(e.to) && concrete(e.from) !== concrete(e.to))
      .map((e) => `${rel(e.from)}:${e.line} imports ${rel(e.to)}`);
    expect(bad).toEqual([]);
  });

  it('nothing but the entry imports cli/', () => {
    const bad = allEdges.filter((e) => rel(e.to).startsWith('cli/') && ringOf(e.from) < 5).map((e) => `${rel(e.from)}:${e.line}`);
    expect(bad).toEqual([]);
  });

  it('runtime imports have no cycles', () => {
    const graph = new Map<string, string[]>();
    for (const e of allEdges) if (!e.typeOnly) graph.set(e.from, [...(graph.get(e.from) ?? []), e.to]);
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (node: string, path: string[]) => {
      if (state.get(node) === 'done') return;
      if (state.get(node) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(node)), node].map(rel).join(' → '));
        return;
      }
      state.set(node, 'visiting');
      for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
      state.set(node, 'done');
    };
    for (const f of all) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
