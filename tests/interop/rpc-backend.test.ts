// rpc:// results between Python Celery 5.2.6 and celeriac, both ways, on RabbitMQ (the suite's node, one queue per
// direction) and on Redis (a private redis-server): a Python client gets a celeriac worker's results on its reply
// queue (retries, chains and groups included), and a celeriac client gets a Python worker's.

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Celery, chain, group, RemoteTaskError } from '../../src/index.js';
import { startRedis, type RedisServer } from '../support/servers.js';
import { py, startCeleriacWorker, startPythonWorker, type Proc, type PyOutcome, type Urls } from './harness.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const brokers: [string, () => string][] = [
  ['RabbitMQ', () => inject('amqpUrl')],
  ['Redis', () => redis.url],
];

describe.each(brokers)('Python client → celeriac worker, rpc:// on %s', (_name, broker) => {
  const queue = `rpc-ts-${randomUUID().slice(0, 8)}`;
  let urls: Urls;
  let worker: Proc;
  beforeAll(async () => {
    urls = { broker: broker(), backend: 'rpc://' };
    worker = await startCeleriacWorker(urls, ['-n', 'ts@rpc', '-Q', queue]);
  }, 60_000);
  afterAll(async () => {
    expect(await worker?.stop()).toBe(0);
  });

  const call = (name: string, args: unknown[]) => py<PyOutcome>(urls, ['call', name, JSON.stringify(args), '--options', JSON.stringify({ queue })]);

  it('Python gets SUCCESS and FAILURE (typed, with traceback) on its reply queue', async () => {
    expect(await call('interop.add', [20, 22])).toMatchObject({ state: 'SUCCESS', result: 42 });
    const out = await call('interop.fail', ['over rpc']);
    expect(out).toMatchObject({ state: 'FAILURE', result: { exc_type: 'ValueError', exc_message: ['over rpc'], exc_module: 'builtins' } });
    expect(out.traceback).toMatch(/ValueError: over rpc/);
  });

  it('a task retried by celeriac still answers the Python client', async () => {
    expect(await call('interop.retry', [2])).toMatchObject({ state: 'SUCCESS', result: 2 });
  });

  it('a Python chain and group run by celeriac answer on the reply queue', async () => {
    const step = (task: string, args: unknown[]) => ({ task, args, options: { queue } });
    const chained = await py<PyOutcome>(urls, ['canvas', JSON.stringify({ chain: [step('interop.add', [1, 2]), step('interop.mul', [10])] })]);
    expect(chained).toMatchObject({ state: 'SUCCESS', result: 30 });
    const grouped = await py<{ state: string; result: unknown[] }>(urls, ['canvas', JSON.stringify({ group: [step('interop.add', [1, 1]), step('interop.add', [2, 2])] })]);
    expect(grouped).toMatchObject({ state: 'SUCCESS', result: [2, 4] });
  });
});

describe.each(brokers)('celeriac client → Python worker, rpc:// on %s', (_name, broker) => {
  const queue = `rpc-py-${randomUUID().slice(0, 8)}`;
  let worker: Proc;
  let app: Celery;
  beforeAll(async () => {
    worker = await startPythonWorker({ broker: broker(), backend: 'rpc://' }, { hostname: 'py@rpc', queues: queue, pool: 'threads', concurrency: 2 });
    app = new Celery('client', { broker: broker(), backend: 'rpc://', task_default_queue: queue });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    expect(await worker?.stop()).toBe(0);
  });

  it('celeriac gets SUCCESS and a typed FAILURE from a Python worker', async () => {
    const ok = await app.sendTask<number>('interop.add', [2, 3]);
    expect(await ok.get({ timeout: 20 })).toBe(5);
    expect(await ok.state()).toBe('SUCCESS');
    const bad = await app.sendTask('interop.fail', ['from python']);
    const error = (await bad.get({ timeout: 20, propagate: false })) as RemoteTaskError;
    expect(error).toBeInstanceOf(RemoteTaskError);
    expect(error.excType).toBe('ValueError');
    expect(await bad.traceback()).toMatch(/ValueError: from python/);
  });

  it('a chain and a group run by Python answer the celeriac client', async () => {
    // Each step names the queue: the Python worker sends the next step, and consumes only this queue.
    const add = (x: number, y?: number) => app.signature('interop.add', y === undefined ? [x] : [x, y], {}, { queue });
    const c = await chain(add(1, 2), add(10), add(100)).applyAsync();
    expect(await c.get({ timeout: 20 })).toBe(113);
    const g = await group(add(1, 1), add(2, 2), add(3, 3)).applyAsync();
    expect(await g.get({ timeout: 20 })).toEqual([2, 4, 6]);
  });

  it('a retried Python task still answers', async () => {
    const r = await app.sendTask<number>('interop.retry', [1]);
    expect(await r.get({ timeout: 20 })).toBe(1);
  });
});
