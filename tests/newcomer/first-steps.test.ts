// The README's First steps, verbatim, as a newcomer runs them: in a fresh CommonJS project and in a "type": "module"
// one, the packed package installed from its tarball, the worker and the client as `npx` subprocesses.

import { beforeAll, describe, expect, it } from 'vitest';
import { newcomerProjects, type NewcomerProjects, readmeBlocks, run, scratchDir, start, userEnv } from '../support/newcomer.js';

const blocks = readmeBlocks('First steps');
const block = (test: (text: string) => boolean, what: string) => {
  const found = blocks.find(test);
  if (!found) throw new Error(`README First steps has no ${what}`);
  return found;
};
const tasksModule = block((b) => b.includes("new Celery('tasks')"), 'tasks module');
const clientModule = block((b) => b.includes('add.delay(4, 4)'), 'client module');
const commandOf = (prefix: string) => block((b) => b.trim().startsWith(prefix), `\`${prefix}\` command`).trim().split('\n')[0]!.split(/\s+/);
const workerCommand = commandOf('npx celeriac worker');
const clientCommand = commandOf('npx tsx');

let projects: NewcomerProjects;
beforeAll(async () => {
  projects = await newcomerProjects();
}, 300_000);

describe.each(['cjs', 'esm'] as const)('README First steps in a %s project', (flavour) => {
  it('runs the worker and the client verbatim; the client exits by itself, SIGTERM to npx stops the worker', async () => {
    const project = projects[flavour];
    const dir = scratchDir(project, { 'tasks.ts': tasksModule, [clientCommand[2]!]: clientModule });
    const worker = start(workerCommand[0]!, workerCommand.slice(1), { cwd: dir });
    try {
      await worker.waitFor(/ready\./);
      expect(worker.output).toContain('tasks.add');
      const client = await run(clientCommand[0]!, clientCommand.slice(1), { cwd: dir, timeoutMs: 60_000 });
      expect(client.stdout.trim().split('\n').slice(-2)).toEqual(['8', 'SUCCESS']);
      await worker.waitFor(/Task tasks\.add\[[\w-]+\] succeeded/);
      // A supervisor signals the PID it started: npm exec's. The worker below npm's shell must stop too; the output
      // pipe closes only when every process holding it (npm, its shell, the worker) has exited.
      worker.signal('SIGTERM');
      const ended = await worker.exited(30_000);
      expect(ended.stderr).toMatch(/Warm shutdown/);
    } finally {
      await worker.kill();
    }
  }, 120_000);

  it("require('celeriac') works from CommonJS code", async () => {
    const project = projects[flavour];
    const dir = scratchDir(project, { 'check.cjs': "const { Celery, Task } = require('celeriac');\nconsole.log(typeof Celery, typeof Task, new Celery('x').main);\n" });
    const out = await run('node', ['check.cjs'], { cwd: dir, env: userEnv() });
    expect(out.stdout.trim()).toBe('function function x');
  });
});
