// imports and include (Celery's loader.import_default_modules): the worker imports them at start, in order, so
// the tasks they define are registered before anything is consumed; a module that cannot load stops the start
// with an error naming it.

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importDefaultModules } from '../../../src/app/default-modules.js';
import { Celery } from '../../../src/index.js';
import { ImproperlyConfigured } from '../../../src/errors.js';
import { Worker } from '../../../src/worker/worker.js';

const dir = mkdtempSync(join(tmpdir(), 'celeriac-include-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hits = ((globalThis as { __includeHits?: string[] }).__includeHits ??= []);

/** A module that records its name when loaded, and registers a task on the app the test left in a global. */
function module(name: string, body = ''): string {
  const path = join(dir, `${name}.mjs`);
  writeFileSync(path, `globalThis.__includeHits.push(${JSON.stringify(name)});\n${body}\n`);
  return path;
}

describe('importDefaultModules', () => {
  it('imports imports, then include, in order, each once', async () => {
    const [a, b, c] = [module('a'), module('b'), module('c')];
    hits.length = 0;
    const conf = { get: (n: 'imports' | 'include') => (n === 'imports' ? [a, b] : [b, c]) };
    expect(await importDefaultModules(conf)).toEqual([a, b, c]);
    expect(hits).toEqual(['a', 'b', 'c']);
  });

  it('names the module and the setting when one cannot load', async () => {
    const broken = module('broken', "throw new Error('boom at load');");
    const conf = { get: (n: 'imports' | 'include') => (n === 'include' ? [broken] : null) };
    const error = await importDefaultModules(conf).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImproperlyConfigured);
    expect((error as Error).message).toContain(`Cannot import module '${broken}' named in include:`);
    expect((error as Error).message).toContain('boom at load');
  });
});

describe('the worker', () => {
  it('registers the tasks of include modules before it consumes', async () => {
    const ns = randomUUID();
    const app = new Celery('inc', { broker: `memory://${ns}`, backend: `memory://${ns}` });
    (globalThis as { __includeApp?: Celery }).__includeApp = app;
    app.conf.include = [module('tasks', "globalThis.__includeApp.task((x) => x * 3, { name: 'inc.triple' });")];
    const client = new Celery('client', { broker: `memory://${ns}`, backend: `memory://${ns}` });
    const worker = new Worker(app, { banner: false, concurrency: 1 });
    try {
      const sent = await client.sendTask('inc.triple', [14]);
      await worker.start();
      expect(app.tasks.has('inc.triple')).toBe(true);
      expect(await sent.get({ timeout: 10 })).toBe(42);
    } finally {
      await worker.stop('cold');
      await client.close();
    }
  });
});
