// The seed's rpc example runs as written: `new Celery('tasks', { backend: 'rpc://', broker: 'amqp://' })` with a
// worker started from that module (`celeriac worker -A tasks.ts`), then add.delay(3, 4).get(), ready(),
// get({ timeout }), propagate: false and traceback, and the same through the seed's celeryconfig module. Only the
// broker's address differs (the suite's RabbitMQ listens on a free port, given with -b and broker_url), and each
// run uses its own queue so parallel tests cannot take its tasks.

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Celery, RemoteTaskError, type Task } from '../../src/index.js';
import { repoRoot } from '../support/shared.js';

const fixture = join(repoRoot, 'tests/fixtures/seed-rpc');
const queue = `seed-rpc-${randomUUID().slice(0, 8)}`;
const broker = inject('amqpUrl');
let worker: ReturnType<typeof spawn>;
let output = '';

beforeAll(async () => {
  worker = spawn(process.execPath, [join(repoRoot, 'bin/celeriac.js'), 'worker', '-A', join(fixture, 'tasks.ts'), '-b', broker, '-Q', queue, '--loglevel=info', '-c', '2'], { cwd: fixture, stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer) => {
      output += b.toString();
      if (/ready\./.test(output)) resolve();
    };
    worker.stdout!.on('data', onData);
    worker.stderr!.on('data', onData);
    worker.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready:\n${output}`)));
  });
}, 60_000);

afterAll(async () => {
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  worker.kill('SIGTERM');
  expect(await exited).toBe(0);
});

describe("the seed's rpc example", () => {
  it("app = Celery('tasks', backend='rpc://', broker='amqp://'): get, ready, get(timeout), propagate=False, traceback", async () => {
    const { app, add, fail } = (await import(join(fixture, 'tasks.ts'))) as { app: Celery; add: Task<[number, number], number>; fail: Task<[string]> };
    app.conf.update({ broker_url: broker, task_default_queue: queue });
    try {
      const asyncResult = await add.delay(3, 4);
      expect(await asyncResult.get({ timeout: 20 })).toBe(7);

      const result = await add.delay(4, 4);
      const deadline = Date.now() + 20_000;
      while (!(await result.ready()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(await result.ready()).toBe(true);
      expect(await result.get({ timeout: 0.1 })).toBe(8);

      const failed = await fail.delay('oops');
      const error = await failed.get({ timeout: 20, propagate: false });
      // The module imports the built package, so its error class is that copy's: compare by code.
      expect(RemoteTaskError.is(error)).toBe(true);
      expect((error as RemoteTaskError).excType).toBe('TypeError');
      expect(await failed.traceback()).toMatch(/TypeError: oops/);
    } finally {
      await app.close();
    }
  });

  it.each([['RabbitMQ', () => broker], ['Redis', () => inject('redisUrl').replace(/\/\d*$/, '/9')]])('a client script that sends a task and prints its result ends by itself, without app.close() (%s broker)', async (_name, brokerUrl) => {
    const url = brokerUrl();
    const redisWorker = url === broker ? undefined : spawn(process.execPath, [join(repoRoot, 'bin/celeriac.js'), 'worker', '-A', join(fixture, 'tasks.ts'), '-b', url, '-Q', queue, '-c', '1'], { cwd: fixture, stdio: 'ignore' });
    const client = spawn(process.execPath, ['--import', 'tsx', join(fixture, 'client.ts')], {
      cwd: fixture, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CELERIAC_BROKER: url, CELERIAC_QUEUE: queue },
    });
    let out = '';
    client.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    client.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => client.kill('SIGKILL'), 40_000);
    const code = await new Promise((resolve) => client.once('exit', (c, signal) => resolve(signal ?? c)));
    clearTimeout(timer);
    redisWorker?.kill('SIGTERM');
    expect({ code, out: out.trim() }).toEqual({ code: 0, out: '7' });
  }, 60_000);

  it('the same through the seed\'s celeryconfig (broker_url, result_backend = rpc://, json)', async () => {
    const app = new Celery('tasks');
    await app.configFromObject(join(fixture, 'celeryconfig.ts'));
    expect(app.conf.get('result_backend')).toBe('rpc://');
    app.conf.update({ broker_url: broker, task_default_queue: queue });
    try {
      const r = await app.sendTask<number>('tasks.add', [10, 20]);
      expect(await r.get({ timeout: 20 })).toBe(30);
      expect(await r.state()).toBe('SUCCESS');
    } finally {
      await app.close();
    }
  });
});
