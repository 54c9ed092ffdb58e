// Task modules in every extension, in a CommonJS and in a "type": "module" project, load in `celeriac worker -A`;
// the module and the worker share one celeriac (a Retry thrown through the module's import is a retry, not a
// failure). Modules that cannot load say where they looked, or show the module's own error with its file:line.

import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { newcomerProjects, run, scratchDir, start, type NewcomerProjects } from '../support/newcomer.js';

let projects: NewcomerProjects;
beforeAll(async () => {
  projects = await newcomerProjects();
}, 300_000);

const ESM_TASKS = `import { Celery } from 'celeriac';

export const app = new Celery('layouts');
export const retryOnce = app.task(function retryOnce(self) {
  if (self.request.retries === 0) self.retry({ countdown: 0 });
  return 'retried ' + self.request.retries;
}, { name: 'layouts.retryOnce', bind: true });
`;
const CJS_TASKS = `const { Celery } = require('celeriac');

const app = new Celery('layouts');
exports.app = app;
exports.retryOnce = app.task(function retryOnce(self) {
  if (self.request.retries === 0) self.retry({ countdown: 0 });
  return 'retried ' + self.request.retries;
}, { name: 'layouts.retryOnce', bind: true });
`;
const CLIENT = `import { Celery } from 'celeriac';
const app = new Celery('client');
const result = await app.sendTask('layouts.retryOnce');
console.log(JSON.stringify(await result.get({ timeout: 30 })));
`;

/** The module text a user would write for this extension in this project (plain .js follows the project's type). */
function moduleText(flavour: 'cjs' | 'esm', ext: string): string {
  if (ext === 'cjs' || (ext === 'js' && flavour === 'cjs')) return CJS_TASKS;
  return ESM_TASKS;
}

const celeriac = (project: string) => join(project, 'node_modules/.bin/celeriac');

describe.each(['cjs', 'esm'] as const)('task modules in a %s project', (flavour) => {
  it.concurrent.each(['ts', 'mts', 'cts', 'js', 'mjs', 'cjs'])('-A tasks.%s loads and shares the worker\'s celeriac', async (ext) => {
    const project = projects[flavour];
    const dir = scratchDir(project, { [`tasks.${ext}`]: moduleText(flavour, ext), 'client.mjs': CLIENT });
    const worker = start(celeriac(project), ['worker', '-A', `tasks.${ext}`, '-l', 'info'], { cwd: dir });
    try {
      await worker.waitFor(/ready\./);
      const client = await run('node', ['client.mjs'], { cwd: dir });
      expect(client.stdout.trim()).toBe('"retried 1"');
      expect(worker.output).toMatch(/layouts\.retryOnce\[[\w-]+\] retry/);
    } finally {
      await worker.kill();
    }
  }, 90_000);
});

describe('modules that cannot load', () => {
  it('a module that throws while loading: its error, file:line and stack, no celeriac internals, exit 78', async () => {
    const dir = scratchDir(projects.cjs, {
      'tasks.ts': "import { Celery } from 'celeriac';\n\nconst settings: any = {};\nexport const app = new Celery('bad', { broker: settings.db.database });\n",
    });
    const out = await run(celeriac(projects.cjs), ['worker', '-A', 'tasks.ts', '-l', 'debug'], { cwd: dir, allowFailure: true });
    expect(out.code).toBe(78);
    expect(out.stderr).toContain(`The module ${join(dir, 'tasks.ts')} raised an error while loading: TypeError: Cannot read properties of undefined (reading 'database')`);
    expect(out.stderr).toMatch(new RegExp(`at .*${join(dir, 'tasks.ts')}:4:\\d+`));
    expect(out.stderr).not.toMatch(/node_modules[/\\]celeriac|node:internal/);
  }, 60_000);

  it('a name that matches nothing lists every place tried', async () => {
    const dir = scratchDir(projects.esm);
    const out = await run(celeriac(projects.esm), ['worker', '-A', 'proj.tasks'], { cwd: dir, allowFailure: true });
    expect(out.code).toBe(78);
    expect(out.stderr).toContain("Cannot find the module 'proj.tasks'");
    expect(out.stderr).toContain('proj.tasks{,.ts,.mts,.cts,.js,.mjs,.cjs}');
    expect(out.stderr).toContain('proj/tasks{,.ts,.mts,.cts,.js,.mjs,.cjs}');
  }, 60_000);
});

describe('config modules (CELERY_CONFIG_MODULE, as in the seed)', () => {
  it('without -A the worker configures the default app from a dotted name, beside a same-named folder, and imports its task modules', async () => {
    const dir = scratchDir(projects.cjs, {
      'celeryconfig.ts': "export const broker_url = 'sqlite://base.db';\n",
      'celeryconfig/prod.ts': "export const broker_url = 'sqlite://prod.db';\nexport const imports = ['proj.tasks'];\n",
      'proj/tasks.ts': "import { sharedTask } from 'celeriac';\n\nexport const add = sharedTask((x: number, y: number) => x + y, { name: 'proj.add' });\n",
    });
    const env = { ...process.env, CELERY_CONFIG_MODULE: 'celeryconfig.prod' };
    const worker = start(celeriac(projects.cjs), ['worker', '-l', 'info'], { cwd: dir, env });
    try {
      await worker.waitFor(/ready\./);
      expect(worker.output).toContain('sqlite://prod.db');
      expect(worker.output).toContain('. proj.add');
      expect(worker.output).not.toContain('No tasks are registered');
    } finally {
      await worker.kill();
    }
    // The plain name takes celeryconfig.ts, not the folder beside it.
    const plain = start(celeriac(projects.cjs), ['worker', '-l', 'info'], { cwd: dir, env: { ...process.env, CELERY_CONFIG_MODULE: 'celeryconfig' } });
    try {
      await plain.waitFor(/ready\./);
      expect(plain.output).toContain('sqlite://base.db');
      expect(plain.output).toContain('No tasks are registered');
    } finally {
      await plain.kill();
    }
  }, 90_000);

  it('a config module that cannot be found is an error naming what was tried', async () => {
    const dir = scratchDir(projects.cjs);
    const out = await run(celeriac(projects.cjs), ['worker'], { cwd: dir, env: { ...process.env, CELERY_CONFIG_MODULE: 'settings.prod' }, allowFailure: true });
    expect(out.code).toBe(78);
    expect(out.stderr).toContain("Cannot load the config module 'settings.prod'");
    expect(out.stderr).toContain('settings/prod{,.ts,.mts,.cts,.js,.mjs,.cjs}');
  }, 60_000);
});
