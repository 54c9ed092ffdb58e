// What a newcomer sees when something is off: usage errors exit 2, a clone that was not built says what to run,
// a sqlite:/// path explains SQLAlchemy's slash rule, a duplicate task name keeps the first and warns, a worker
// with no tasks says so, a remote failure reads `TypeError: bad value` once, and the worker's traceback shows the
// task's frames without celeriac's internals.

import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { newcomerProjects, run, scratchDir, start, type NewcomerProjects } from '../support/newcomer.js';
import { repoRoot } from '../support/shared.js';

let projects: NewcomerProjects;
beforeAll(async () => {
  projects = await newcomerProjects();
}, 300_000);

const celeriac = (project: string) => join(project, 'node_modules/.bin/celeriac');

describe('exit codes', () => {
  it.concurrent.each([
    [['worker', '-l', 'verbose'], /'-l, --loglevel <level>' argument 'verbose' is invalid/],
    [['worker', '-c', 'abc'], /'-c, --concurrency <n>' argument 'abc' is invalid/],
    [['worker', '--no-such-flag'], /unknown option '--no-such-flag'/],
  ])('celeriac %j is a usage error: exit 2', async (args, message) => {
    const out = await run(celeriac(projects.cjs), args, { cwd: scratchDir(projects.cjs), allowFailure: true });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(message);
  }, 60_000);

  it('run from a clone before `npm run build`, it says what to run (exit 78) instead of a stack trace', async () => {
    const clone = mkdtempSync(join(tmpdir(), 'celeriac-clone-'));
    mkdirSync(join(clone, 'bin'));
    cpSync(join(repoRoot, 'bin/celeriac.js'), join(clone, 'bin/celeriac.js'));
    cpSync(join(repoRoot, 'package.json'), join(clone, 'package.json'));
    const out = await run('node', [join(clone, 'bin/celeriac.js'), 'worker'], { cwd: clone, allowFailure: true });
    expect(out.code).toBe(78);
    expect(out.stderr).toContain('celeriac is not built yet');
    expect(out.stderr).toContain('Run `npm install && npm run build`');
    expect(out.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});

describe('smaller things a newcomer trips on', () => {
  it('sqlite:/// is relative (three slashes); the error says so and gives the four-slash form', async () => {
    const dir = scratchDir(projects.cjs);
    const out = await run(celeriac(projects.cjs), ['worker', '-b', 'sqlite:///var/celeriac/broker.db'], { cwd: dir, allowFailure: true });
    expect(out.code).toBe(69);
    expect(out.stderr).toContain(`The directory ${join(dir, 'var/celeriac')} does not exist`);
    expect(out.stderr).toContain('for the absolute path /var/celeriac/broker.db write sqlite:////var/celeriac/broker.db (four slashes)');
  }, 60_000);

  it('a worker with no tasks warns; a duplicate name keeps the first task and warns; failures read once and trace the task only', async () => {
    const dir = scratchDir(projects.cjs, {
      'tasks.ts': `import { Celery } from 'celeriac';

export const app = new Celery('dup');
export const add = app.task((x: number, y: number) => x + y, { name: 'tasks.add' });
export const again = app.task((x: number, y: number) => x * y, { name: 'tasks.add' });
export const fail = app.task((value: string) => {
  throw new TypeError(value);
}, { name: 'tasks.fail' });
`,
      'client.mjs': `import { Celery } from 'celeriac';
const app = new Celery('client');
console.log(await (await app.sendTask('tasks.add', [2, 3])).get({ timeout: 30 }));
const failed = await (await app.sendTask('tasks.fail', ['bad value'])).get({ timeout: 30, propagate: false });
console.log(String(failed));
`,
    });
    const empty = start(celeriac(projects.cjs), ['worker'], { cwd: scratchDir(projects.cjs) });
    const worker = start(celeriac(projects.cjs), ['worker', '-A', 'tasks.ts', '-l', 'info'], { cwd: dir });
    try {
      await empty.waitFor(/No tasks are registered: .*celeriac worker -A tasks\.ts/);
      await worker.waitFor(/ready\./);
      expect(worker.stderr).toContain("A task named 'tasks.add' is already registered: keeping the first one");
      const client = await run('node', ['client.mjs'], { cwd: dir });
      expect(client.stdout.trim().split('\n')).toEqual(['5', 'TypeError: bad value']);
      await worker.waitFor(/tasks\.fail\[[\w-]+\] raised unexpected: TypeError\('bad value'\)\n.*\n\s+at .*tasks\.ts:\d+:\d+/);
      const traceback = worker.stderr.slice(worker.stderr.indexOf('raised unexpected'));
      expect(traceback).not.toMatch(/node_modules[/\\]celeriac|node:internal/);
    } finally {
      await Promise.all([empty.kill(), worker.kill()]);
    }
  }, 90_000);
});
