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

describe('worker --statedb', () => {
  it('a task revoked before a restart is discarded as REVOKED after it', async () => {
    const { randomUUID } = await import('node:crypto');
    const { Celery } = await import('../../../src/index.js');
    const { Worker } = await import('../../../src/worker/worker.js');
    const statedb = join(mkdtempSync(join(tmpdir(), 'statedb-')), 'worker.state');
    const ns = randomUUID();
    const make = () => {
      const app = new Celery('tasks', { broker: `memory://${ns}`, backend: `memory://${ns}` });
      app.task((x: number) => x * 2, { name: 'tasks.double' });
      return app;
    };
    const first = new Worker(make(), { banner: false, statedb });
    await first.start();
    first.revoke('doomed-id');
    await first.stop('warm');
    expect(loadRevoked(statedb)).toEqual(['doomed-id']);

    const client = make();
    const second = new Worker(make(), { banner: false, statedb });
    await second.start();
    try {
      const doomed = await client.tasks.get('tasks.double').applyAsync([1], {}, { taskId: 'doomed-id' });
      const fine = await client.tasks.get('tasks.double').applyAsync([2]);
      expect(await fine.get({ timeout: 5 })).toBe(4);
      await expect(doomed.get({ timeout: 5 })).rejects.toThrow(/revoked/i);
      expect(await doomed.state()).toBe('REVOKED');
    } finally {
      await second.stop('cold');
      await client.close();
    }
  });
});
