// A newcomer on the suite's real Redis and RabbitMQ: a client script with nothing left to do exits without
// app.close(); -l debug says something; what a task prints lands in the -f log file as a WARNING line; the request
// carries Celery's numeric loglevel and the seed's `errback` spelling.

import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { newcomerProjects, run, scratchDir, start, waitForFileText, type NewcomerProjects } from '../support/newcomer.js';
import { freePort } from '../support/servers.js';

let projects: NewcomerProjects;
beforeAll(async () => {
  projects = await newcomerProjects();
}, 300_000);

const celeriac = (project: string) => join(project, 'node_modules/.bin/celeriac');

/** A Redis URL on a database of its own (1–15), so parallel test files do not share queues. */
function redisDb(db: number): string {
  return inject('redisUrl').replace(/\/\d*$/, `/${db}`);
}

const TASKS = `import { Celery } from 'celeriac';

export const app = new Celery('brokers', { broker: process.env.BROKER, backend: process.env.BACKEND });
export const add = app.task((x: number, y: number) => x + y, { name: 'brokers.add' });
export const chatty = app.task(function chatty(self) {
  console.log('hello from the task');
  console.error('and from its stderr');
  return { loglevel: self.request.loglevel, errback: self.request.errback, same: self.request.errback === self.request.errbacks };
}, { name: 'brokers.chatty', bind: true });
`;

// No app.close(): the script ends when its last await is done.
const CLIENT = `import { add, chatty } from './tasks.js';

const result = await add.delay(2, 3);
console.log(await result.get({ timeout: 20 }));
const info = await chatty.applyAsync([], {}, { linkError: add.s(1) });
console.log(JSON.stringify(await info.get({ timeout: 20 })));
`;

describe.each([
  ['Redis', () => ({ broker: redisDb(11), backend: redisDb(12) })],
  ['RabbitMQ', () => ({ broker: `${inject('amqpUrl').replace(/\/+$/, '')}/`, backend: redisDb(13) })],
] as const)('a client and a worker on %s', (_name, urls) => {
  it('the client exits by itself; -l debug and -f show debug lines and what the task printed', async () => {
    const { broker, backend } = urls();
    const queue = `q-${randomUUID()}`;
    const dir = scratchDir(projects.esm, { 'tasks.ts': TASKS.replace("process.env.BACKEND });", `process.env.BACKEND, task_default_queue: '${queue}' });`), 'client.ts': CLIENT });
    const env = { ...process.env, BROKER: broker, BACKEND: backend };
    const worker = start(celeriac(projects.esm), ['worker', '-A', 'tasks.ts', '-l', 'debug', '-f', 'worker.log'], { cwd: dir, env });
    try {
      await waitForFileText(join(dir, 'worker.log'), /ready\./);
      const client = await run('node', ['--import', 'tsx', 'client.ts'], { cwd: dir, env, timeoutMs: 60_000 });
      const [sum, info] = client.stdout.trim().split('\n');
      expect(sum).toBe('5');
      expect(JSON.parse(info!)).toMatchObject({ loglevel: 10, same: true, errback: [expect.objectContaining({ task: 'brokers.add' })] });
      const log = await waitForFileText(join(dir, 'worker.log'), /brokers\.chatty\[[\w-]+\] succeeded/);
      expect(log).toMatch(/WARNING\/MainProcess\] hello from the task/);
      expect(log).toMatch(/WARNING\/MainProcess\] and from its stderr/);
      expect(log).toMatch(/DEBUG\/MainProcess\] Pool async, concurrency \d+; consuming /);
      expect(log).toMatch(/DEBUG\/MainProcess\] Task brokers\.add\[[\w-]+\] from queue q-[\w-]+: args \[2, 3\]/);
      expect(worker.stdout).not.toContain('hello from the task');
    } finally {
      await worker.kill();
    }
  }, 120_000);
});

describe('a client whose Redis is not there', () => {
  it('fails within broker_connection_timeout in celeriac words, and the script that caught it exits by itself', async () => {
    const port = await freePort();
    const script = `import { Celery } from 'celeriac';
const app = new Celery('nobody', { broker: 'redis://127.0.0.1:${port}/0', broker_connection_timeout: 2 });
try {
  await app.sendTask('nobody.add', [1, 2]);
} catch (error) {
  console.log(String(error));
}
`;
    const dir = scratchDir(projects.esm, { 'client.ts': script });
    const client = await run('node', ['--import', 'tsx', 'client.ts'], { cwd: dir, timeoutMs: 30_000 });
    expect(client.stdout).toMatch(/^OperationalError: Redis at redis:\/\/127\.0\.0\.1:\d+\/0 failed while connecting: no connection could be made within 2 s \(\d+ attempts; last: connect ECONNREFUSED/);
    expect(client.stdout).toMatch(/check that redis-server is running/);
    expect(client.stdout).not.toMatch(/maxRetriesPerRequest|max retries per request/);
  }, 60_000);
});
