// Every row of the settings table says whether celeriac honours it, and the code agrees: an `applied` row is read
// somewhere outside the table (by name: a string literal such as conf.get('x'), or a property such as conf.x),
// and an `accepted` or `planned` row is read nowhere, so no setting is silently claimed or silently dropped.

import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { Config } from '../../../src/config/resolve.js';
import { SETTING_NAMES, SETTINGS, type SettingName } from '../../../src/config/settings.js';
import { sourceFiles } from '../../support/import-graph.js';
import { repoRoot } from '../../support/shared.js';

const src = join(repoRoot, 'src');
const isTable = (file: string) => file === 'config/settings.ts' || file.startsWith('config/settings/');

/** Setting name → the first place (file:line) outside the table that names it as a value or a property. */
function readsOutsideTable(): Map<string, string> {
  const names = new Set<string>(SETTING_NAMES);
  const reads = new Map<string, string>();
  for (const path of sourceFiles(src)) {
    const file = relative(src, path);
    if (isTable(file)) continue;
    const sf = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
    const note = (name: string, node: ts.Node) => {
      if (names.has(name) && !reads.has(name)) reads.set(name, `${file}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}`);
    };
    const visit = (node: ts.Node): void => {
      // A literal type ('x' in `K extends 'x'`) reads nothing; a literal value does.
      if (ts.isStringLiteralLike(node) && !ts.isLiteralTypeNode(node.parent)) note(node.text, node);
      else if (ts.isPropertyAccessExpression(node)) note(node.name.text, node.name);
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return reads;
}

const reads = readsOutsideTable();

describe('settings table status', () => {
  it('marks every row applied, accepted or planned, with a reason for the last two', () => {
    const bad = SETTING_NAMES.filter((name) => {
      const s = SETTINGS[name].status;
      return !s || (s.status !== 'applied' && !(typeof s.why === 'string' && s.why.length > 10));
    });
    expect(bad).toEqual([]);
  });

  it('every applied row is read somewhere outside the table', () => {
    const unread = SETTING_NAMES.filter((name) => SETTINGS[name].status.status === 'applied' && !reads.has(name));
    expect(unread.map((name) => `${name} is marked applied but nothing outside config/settings reads it: apply it, or mark it planned or accepted`)).toEqual([]);
  });

  it('no accepted or planned row is read (it would be applied, silently)', () => {
    const claimed = SETTING_NAMES.filter((name) => SETTINGS[name].status.status !== 'applied' && reads.has(name));
    expect(claimed.map((name) => `${name} is marked ${SETTINGS[name].status.status} but ${reads.get(name)} reads it: mark it applied`)).toEqual([]);
  });

  it('the reader sees reads by literal and by property', () => {
    expect(reads.get('task_serializer')).toMatch(/\.ts:\d+$/);
    expect(reads.has('worker_hijack_root_logger')).toBe(false);
  });
});

describe('setting a row celeriac does not apply', () => {
  const recorder = () => {
    const told: Array<[SettingName, string, string]> = [];
    return { told, onUnapplied: (name: SettingName, status: string, why: string) => void told.push([name, status, why]) };
  };

  it('is reported once per name, whichever way it was set, with the reason', () => {
    const { told, onUnapplied } = recorder();
    const conf = new Config({ worker_hijack_root_logger: false, task_serializer: 'json' }, { onUnapplied });
    conf.set('worker_hijack_root_logger', true);
    conf.update({ CELERYD_HIJACK_ROOT_LOGGER: false, broker_pool_limit: 3 });
    conf.configFromObject({ worker_direct: true, task_acks_late: true });
    expect(told.map(([name, status]) => [name, status])).toEqual([
      ['worker_hijack_root_logger', 'accepted'],
      ['broker_pool_limit', 'accepted'],
      ['worker_direct', 'planned'],
    ]);
    expect(told[0]![2]).toMatch(/root logging/);
  });

  it('is not reported for applied rows, custom keys or added defaults', () => {
    const { told, onUnapplied } = recorder();
    const conf = new Config({ task_acks_late: true, my_own_key: 1 }, { onUnapplied });
    conf.addDefaults({ worker_direct: true });
    expect(told).toEqual([]);
  });
});
