// Python Celery and celeriac on RabbitMQ (results on Redis), both directions: a celeriac client calls a Python
// worker and a Python client calls a celeriac worker, each on its own queue of the suite's RabbitMQ node.

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Celery, RemoteTaskError } from '../../src/index.js';
import { py, redisUrls, startCeleriacWorker, startPythonWorker, type Proc, type PyOutcome } from './harness.js';

const redis = redisUrls(inject('redisUrl'), 14);
const urls = { broker: inject('amqpUrl'), backend: redis.backend };

describe('celeriac client → Python worker over RabbitMQ', () => {
  const queue = `py-amqp-${randomUUID().slice(0, 8)}`;
  let worker: Proc;
  let app: Celery;
  beforeAll(async () => {
    worker = await startPythonWorker(urls, { hostname: 'py@amqp', queues: queue, pool: 'threads', concurrency: 2 });
    app = new Celery('client', { broker: urls.broker, backend: urls.backend });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    expect(await worker?.stop()).toBe(0);
  });

  it('runs interop.add and a failure arrives typed', async () => {
    const ok = await app.sendTask<number>('interop.add', [2, 3], {}, { queue });
    expect(await ok.get({ timeout: 20 })).toBe(5);
    const bad = await app.sendTask('interop.fail', ['over amqp'], {}, { queue });
    const err = (await bad.get({ timeout: 20, propagate: false })) as RemoteTaskError;
    expect(err.excType).toBe('ValueError');
    expect(err.excMessage).toEqual(['over amqp']);
  });

  it('Python sees the request celeriac sent: headers, priority, routing', async () => {
    const r = await app.sendTask<Record<string, any>>('interop.echo_context', [1], { k: 2 }, { queue, headers: { x_custom: 'amqp' }, priority: 3 });
    const v = await r.get({ timeout: 20 });
    expect(v).toMatchObject({ id: r.id, args: [1], kwargs: { k: 2 }, hostname: 'py@amqp', custom_headers: { x_custom: 'amqp' } });
    expect(v.delivery_info).toMatchObject({ routing_key: queue, priority: 3 });
  });
});

describe('Python client → celeriac worker over RabbitMQ', () => {
  const queue = `ts-amqp-${randomUUID().slice(0, 8)}`;
  let worker: Proc;
  beforeAll(async () => {
    worker = await startCeleriacWorker(urls, ['-n', 'ts@amqp', '-Q', queue]);
  }, 60_000);
  afterAll(async () => {
    expect(await worker?.stop()).toBe(0);
  });

  const call = (name: string, args: unknown[], kwargs?: Record<string, unknown>, options: Record<string, unknown> = {}) =>
    py<PyOutcome & { result: any }>(urls, ['call', name, JSON.stringify(args), ...(kwargs ? [JSON.stringify(kwargs)] : []), '--options', JSON.stringify({ queue, ...options })]);

  it('Python reads celeriac results, failures included', async () => {
    expect(await call('interop.add', [20, 22])).toMatchObject({ state: 'SUCCESS', result: 42 });
    const out = await call('interop.fail', ['from ts']);
    expect(out.state).toBe('FAILURE');
    expect(out.result).toEqual({ exc_type: 'ValueError', exc_message: ['from ts'], exc_module: 'builtins' });
  });

  it('celeriac sees the request Python sent', async () => {
    const out = await call('interop.echo_context', [1], { k: 2 }, { headers: { x_custom: 'py' }, priority: 4 });
    expect(out.result).toMatchObject({ id: out.id, args: [1], kwargs: { k: 2 }, hostname: 'ts@amqp', custom_headers: { x_custom: 'py' } });
    expect(out.result.delivery_info).toMatchObject({ routing_key: queue, priority: 4 });
  });
});
