import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ImproperlyConfigured } from '../../../src/errors.js';
import { loadRevoked, saveRevoked } from '../../../src/worker/statedb.js';

describe('worker state db', () => {
  const file = () => join(mkdtempSync(join(tmpdir(), 'statedb-')), 'worker.state');

  it('starts empty when the file does not exist', () => {
    expect(loadRevoked(file())).toEqual([]);
  });

  it('saves and loads revoked ids in order', () => {
    const path = file();
    saveRevoked(path, new Set(['a', 'b', 'c']));
    expect(loadRevoked(path)).toEqual(['a', 'b', 'c']);
    saveRevoked(path, ['d']);
    expect(loadRevoked(path)).toEqual(['d']);
  });

  it('names the file and the way out when it is not JSON', () => {
    const path = file();
    writeFileSync(path, 'garbage');
    expect(() => loadRevoked(path)).toThrow(ImproperlyConfigured);
    expect(() => loadRevoked(path)).toThrow(/--statedb.*Move it away/);
  });
});
