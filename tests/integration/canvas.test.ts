// Canvas end to end on real brokers: a celeriac client and a celeriac worker process that consumes ONLY queue-a,
// where every task used here is declared. Nested canvases, chunks and map complete only if every send (client,
// chain steps, chord bodies, retries) is routed as the task declares. On Redis and on RabbitMQ.

import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import amqplib from 'amqplib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Celery, chain, chord, chunks, group, GroupResult, type ResultHandle } from '../../src/index.js';
import { startCeleriacWorker, type Proc } from '../interop/harness.js';
import { startRedis, type RedisServer } from '../support/servers.js';
import { repoRoot } from '../support/shared.js';

const FIXTURE = join(repoRoot, 'tests/fixtures/canvas-app.ts');
/** get() waits in seconds, as Celery's. */
const T = { timeout: 30 };

async function resolve(r: ResultHandle): Promise<unknown> {
  return r instanceof GroupResult ? Promise.all(r.results.map(resolve)) : r.get(T);
}

/** The client's view of the fixture's queue-a tasks: same names, same declared queue. */
function client(broker: string, backend: string) {
  const app = new Celery('client', { broker, backend });
  const onA = { queue: 'queue-a' };
  const add = app.task((_x: number, _y: number) => 0, { name: 'canvas.add_a', ...onA });
  const mul = app.task((_x: number, _y: number) => 0, { name: 'canvas.mul_a', ...onA });
  const sum = app.task((_xs: number[]) => 0, { name: 'canvas.sum_a', ...onA });
  const flaky = app.task((_x: number) => ({}) as Record<string, any>, { name: 'canvas.flaky_a', ...onA });
  return { app, add, mul, sum, flaky };
}

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
}, 60_000);
afterAll(async () => {
  await redis?.stop();
});

describe.each([
  ['Redis', () => redis.url],
  ['RabbitMQ', () => inject('amqpUrl')],
])('canvas on %s with a worker only on queue-a', (broker, brokerUrl) => {
  const exchange = `cx-${randomUUID().slice(0, 8)}`;
  const customQueue = `${exchange}-q`;
  let worker: Proc;
  let c: ReturnType<typeof client>;

  beforeAll(async () => {
    const urls = { broker: brokerUrl(), backend: redis.url.replace(/\/0$/, `/${broker === 'Redis' ? 1 : 2}`) };
    process.env.CANVAS_TASK_QUEUES = JSON.stringify([
      { name: 'queue-a' },
      { name: customQueue, exchange, exchange_type: 'direct', routing_key: `${exchange}-rk` },
    ]);
    worker = await startCeleriacWorker(urls, ['-Q', `queue-a,${customQueue}`, '-n', `ts@canvas-${broker}`], FIXTURE);
    c = client(urls.broker, urls.backend);
  }, 60_000);

  afterAll(async () => {
    await c?.app.close();
    expect(await worker?.stop()).toBe(0);
  });

  it('nested canvases give Celery\'s values: [12, 24], 22, 34, 26', async () => {
    const { add, mul, sum } = c;
    expect(await resolve(await group(chain(add.s(2, 4), mul.s(2)), chain(add.s(4, 8), mul.s(2))).applyAsync())).toEqual([12, 24]);
    expect(await resolve(await chord([chain(add.s(2, 4), mul.s(2)), add.s(4, 6)], sum.s()).applyAsync())).toBe(22);
    expect(await resolve(await chain(add.s(2, 2), group(add.s(10), mul.s(5)), sum.s()).applyAsync())).toBe(34);
    expect(await resolve(await chord([chord([add.s(1, 1), add.s(2, 2)], sum.s()), add.s(10, 10)], sum.s()).applyAsync())).toBe(26);
  });

  it('by-name sends, chunks and map are routed as the tasks declare', async () => {
    const { app, add, sum } = c;
    expect(await (await app.sendTask('canvas.add_a', [1, 2])).get(T)).toBe(3);
    expect(await (await add.s(2).delay(5)).get(T)).toBe(7);
    expect(await resolve(await chunks(add.s(), [[1, 2], [3, 4], [5, 6]], 2).applyAsync())).toEqual([[3, 7], [11]]);
    expect(await resolve(await sum.map([[1, 2], [3, 4]]).applyAsync())).toEqual([3, 7]);
  });

  it('a retry goes back to queue-a', async () => {
    const v = await (await c.flaky.delay(1)).get(T);
    expect(v).toMatchObject({ x: 1, retries: 1, delivery_info: { routing_key: 'queue-a' } });
  });

  it.runIf(broker === 'RabbitMQ')('a retry of a task sent through a custom exchange returns to it, and no queue is made from its routing key', async () => {
    const v = await (await c.flaky.applyAsync([2], {}, { exchange, routingKey: `${exchange}-rk` })).get(T);
    expect(v).toMatchObject({ x: 2, retries: 1, delivery_info: { exchange, routing_key: `${exchange}-rk` } });
    const conn = await amqplib.connect(brokerUrl());
    try {
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      await expect(ch.checkQueue(`${exchange}-rk`)).rejects.toThrow(/NOT_FOUND/);
    } finally {
      await conn.close().catch(() => undefined);
    }
  });
});
