// rpc:// end to end on RabbitMQ and on Redis brokers: a worker sends each result to the reply queue named by the
// task's reply_to; the client that sent the task reads it (get, state, ready), with groups, chains, custom states
// and result_persistent; and the RPC backend's limits give clear errors instead of a wait that never ends.

import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Celery, chain, chord, group, ImproperlyConfigured, RemoteTaskError, ResultUnavailable, TimeoutError } from '../../src/index.js';
import { GroupResult } from '../../src/result/group-result.js';
import { Worker } from '../../src/worker/worker.js';
import { startRedis, type RedisServer } from '../support/servers.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** Opened by a test to let rpc.progress finish after it reported PROGRESS. */
const gates = new Map<string, () => void>();

function defineTasks(app: Celery) {
  const add = app.task((x: number, y: number) => x + y, { name: 'rpc.add' });
  const fail = app.task((message: string) => {
    throw new RangeError(message);
  }, { name: 'rpc.fail' });
  const progress = app.task(async function progress(self, gate: string) {
    const opened = new Promise<void>((resolve) => gates.set(gate, resolve));
    await self.updateState('PROGRESS', { done: 1 });
    await opened;
    return gate;
  }, { name: 'rpc.progress', bind: true });
  return { add, fail, progress };
}

describe.each([
  ['RabbitMQ', () => `${inject('amqpUrl').replace(/\/+$/, '')}/`],
  ['Redis', () => redis.url],
])('rpc:// on %s', (_name, brokerUrl) => {
  let client: Celery;
  let other: Celery;
  let worker: Worker;
  let tasks: ReturnType<typeof defineTasks>;
  const queue = `rpc-${randomUUID()}`;

  beforeAll(async () => {
    const settings = { broker: brokerUrl(), backend: 'rpc://', task_default_queue: queue };
    const workerApp = new Celery('rpc-worker', settings);
    defineTasks(workerApp);
    worker = new Worker(workerApp, { banner: false, concurrency: 4, loglevel: 'CRITICAL' });
    await worker.start();
    client = new Celery('rpc-client', settings);
    other = new Celery('rpc-other', settings);
    tasks = defineTasks(client);
  });
  afterAll(async () => {
    await worker?.stop('warm');
    await client?.close();
    await other?.close();
  });

  it('the sender reads the value, the state and ready(); a failure comes back typed with its traceback', async () => {
    const r = await tasks.add.delay(4, 4);
    expect(await r.get({ timeout: 15 })).toBe(8);
    expect(await r.ready()).toBe(true);
    expect(await r.state()).toBe('SUCCESS');
    const failed = await tasks.fail.delay('no way');
    const error = (await failed.get({ timeout: 15, propagate: false })) as RemoteTaskError;
    expect(error).toBeInstanceOf(RemoteTaskError);
    expect(error.excType).toBe('RangeError');
    expect(await failed.traceback()).toMatch(/RangeError: no way/);
  });

  it('state() polls until the result arrives, with no get()', async () => {
    const r = await tasks.add.delay(1, 2);
    const deadline = Date.now() + 15_000;
    while (!(await r.ready()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await r.state()).toBe('SUCCESS');
    expect(await r.result()).toBe(3);
  });

  it('a custom state (update_state) reaches the sender before the result', async () => {
    const gate = randomUUID();
    const r = await tasks.progress.delay(gate);
    const deadline = Date.now() + 15_000;
    while ((await r.state()) !== 'PROGRESS' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await r.state()).toBe('PROGRESS');
    expect(await r.result()).toEqual({ done: 1 });
    gates.get(gate)!();
    expect(await r.get({ timeout: 15 })).toBe(gate);
  });

  it('a group\'s results and a chain\'s last result come back to the sender', async () => {
    const g = await group(tasks.add.s(1, 1), tasks.add.s(2, 2), tasks.add.s(3, 3)).applyAsync();
    expect(await g.get({ timeout: 15 })).toEqual([2, 4, 6]);
    const c = await chain(tasks.add.s(1, 2), tasks.add.s(10), tasks.add.s(100)).applyAsync();
    expect(await c.get({ timeout: 15 })).toBe(113);
  });

  it('another process cannot read the result: ResultUnavailable at once, not a timeout', async () => {
    const r = await tasks.add.delay(5, 5);
    const started = Date.now();
    const error = await other.AsyncResult(r.id).get({ timeout: 10 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResultUnavailable);
    expect((error as Error).message).toMatch(/was not sent by this process.*redis:\/\//);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await r.get({ timeout: 15 })).toBe(10);
  });

  it('a result is delivered once: the handle that read it keeps it, a new handle is told why it cannot', async () => {
    const r = await tasks.add.delay(6, 6);
    expect(await r.get({ timeout: 15 })).toBe(12);
    expect(await r.get()).toBe(12);
    await expect(client.AsyncResult(r.id).get({ timeout: 1 })).rejects.toThrow(/already read in this process/);
  });

  it('chords are refused before anything is sent; GroupResult.save/restore say why', async () => {
    const transport = await client.getTransport();
    const before = await transport.size(queue);
    await expect(chord([tasks.add.s(1, 1)], tasks.add.s(1)).applyAsync()).rejects.toThrow(ImproperlyConfigured);
    await expect(chord([tasks.add.s(1, 1)], tasks.add.s(1)).applyAsync()).rejects.toThrow(/does not support chords.*Nothing was sent/);
    expect(await transport.size(queue)).toBe(before);
    const g = await group(tasks.add.s(1, 1)).applyAsync();
    await expect(g.save()).rejects.toThrow(/cannot save a group result/);
    await expect(GroupResult.restore(g.id, client)).rejects.toThrow(/cannot restore/);
    expect(await g.get({ timeout: 15 })).toEqual([2]);
  });

  it('waiting past the timeout rejects with TimeoutError', async () => {
    const r = await client.sendTask('rpc.nobody-runs-this', [], {}, { queue: `idle-${randomUUID()}` });
    await expect(r.get({ timeout: 0.3 })).rejects.toBeInstanceOf(TimeoutError);
  });
});

describe('rpc:// on the wire (RabbitMQ)', () => {
  it('a result is a transient message on the reply queue shaped as Celery sends it; result_persistent makes it persistent', async () => {
    const url = `${inject('amqpUrl').replace(/\/+$/, '')}/`;
    for (const persistent of [false, true]) {
      const queue = `rpc-wire-${randomUUID()}`;
      const settings = { broker: url, backend: 'rpc://', task_default_queue: queue, result_persistent: persistent };
      const workerApp = new Celery('rpc-wire-worker', settings);
      defineTasks(workerApp);
      const worker = new Worker(workerApp, { banner: false, concurrency: 1, loglevel: 'CRITICAL' });
      await worker.start();
      const client = new Celery('rpc-wire-client', settings);
      const conn = await amqp.connect(url);
      try {
        const r = await client.sendTask('rpc.add', [2, 3]);
        const ch = await conn.createChannel();
        let message: amqp.GetMessage | false = false;
        for (const deadline = Date.now() + 15_000; !message && Date.now() < deadline;) {
          message = await ch.get(client.oid, { noAck: true });
          if (!message) await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(message).not.toBe(false);
        const m = message as amqp.GetMessage;
        expect(m.fields).toMatchObject({ exchange: '', routingKey: client.oid });
        expect(m.properties).toMatchObject({ correlationId: r.id, contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode: persistent ? 2 : 1, priority: 0, headers: {} });
        expect(JSON.parse(m.content.toString())).toEqual({ task_id: r.id, status: 'SUCCESS', result: 5, traceback: null, children: [] });
        const q = await ch.checkQueue(client.oid);
        expect(q.queue).toBe(client.oid);
      } finally {
        await conn.close();
        await worker.stop('warm');
        await client.close();
      }
    }
  });
});

describe('rpc:// on the wire (Redis)', () => {
  it('the reply queue is a list named by the client oid, with kombu\'s envelope and the correlation id', async () => {
    const queue = `rpc-wire-${randomUUID()}`;
    const settings = { broker: redis.url, backend: 'rpc://', task_default_queue: queue };
    const workerApp = new Celery('rpc-redis-worker', settings);
    defineTasks(workerApp);
    const worker = new Worker(workerApp, { banner: false, concurrency: 1, loglevel: 'CRITICAL' });
    await worker.start();
    const client = new Celery('rpc-redis-client', settings);
    const raw = new Redis(redis.url);
    try {
      const r = await client.sendTask('rpc.add', [20, 22]);
      const popped = await raw.brpop(client.oid, 15);
      expect(popped).not.toBeNull();
      const envelope = JSON.parse(popped![1]);
      expect(envelope.properties).toMatchObject({ correlation_id: r.id, delivery_mode: 1 });
      expect(envelope['content-type']).toBe('application/json');
      expect(JSON.parse(Buffer.from(envelope.body, envelope.properties.body_encoding === 'base64' ? 'base64' : 'utf8').toString())).toEqual({ task_id: r.id, status: 'SUCCESS', result: 42, traceback: null, children: [] });
    } finally {
      raw.disconnect();
      await worker.stop('warm');
      await client.close();
    }
  });
});
