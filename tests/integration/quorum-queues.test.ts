// RabbitMQ quorum queues (issue 18): task_queues with queue_arguments { 'x-queue-type': 'quorum' },
// task_default_queue_type and task_create_missing_queue_type declare quorum queues; a worker consumes them with
// per-consumer prefetch (worker_detect_quorum_queues: RabbitMQ refuses global QoS there), the client declares them
// with the same arguments, and ETA tasks on them run: held by the worker (direct exchange, its prefetch grown for
// them) or by RabbitMQ's native delayed delivery (topic exchange, kombu 5.5's celery_delayed_* topology).

import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { Celery, Worker } from '../../src/index.js';
import { openTransport } from '../../src/transports/index.js';

const url = inject('amqpUrl');
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** The queue's type as RabbitMQ reports it: a passive re-declare with other arguments is refused (406). */
async function declaredAsQuorum(queue: string): Promise<boolean> {
  const probe = await openTransport({ url, transportOptions: {} });
  await probe.connect();
  try {
    await probe.declare({ name: queue, queueArguments: { 'x-queue-type': 'classic' } });
    return false;
  } catch (error) {
    return /x-queue-type/.test(String((error as Error).message));
  } finally {
    await probe.close();
  }
}

async function run(conf: Record<string, unknown>, queues: string[]) {
  const backendQueue = `res-${randomUUID().slice(0, 8)}`;
  const app = new Celery('quorum', { broker: url, backend: 'rpc://', result_persistent: false, ...conf });
  app.task((x: number, y: number) => x + y, { name: 'quorum.add' });
  const worker = new Worker(app, { banner: false, concurrency: 2, queues, hostname: `quorum-${backendQueue}@it` });
  await worker.start();
  cleanups.push(() => app.close(), () => worker.stop('cold'));
  return { app, worker };
}

describe('RabbitMQ quorum queues', () => {
  it('task_queues queue_arguments declare a quorum queue that a worker consumes (per-consumer prefetch) and a client publishes to', async () => {
    const q = `qq-${randomUUID().slice(0, 8)}`;
    const { app } = await run({ task_queues: [{ name: q, queue_arguments: { 'x-queue-type': 'quorum' } }], task_default_queue: q }, [q]);
    expect(await declaredAsQuorum(q)).toBe(true);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => app.sendTask('quorum.add', [i, 1], {}, { queue: q })));
    expect(await Promise.all(results.map((r) => r.get({ timeout: 60 })))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('ETA tasks on a quorum queue run once due, beyond the prefetch window', async () => {
    const q = `qq-eta-${randomUUID().slice(0, 8)}`;
    const { app } = await run({ task_queues: [{ name: q, queue_arguments: { 'x-queue-type': 'quorum' } }], task_default_queue: q, worker_prefetch_multiplier: 1 }, [q]);
    // More held ETA tasks than the prefetch window (2 × 1): the worker must grow it for the immediate task to come.
    const held = await Promise.all(Array.from({ length: 4 }, (_, i) => app.sendTask('quorum.add', [i, 0], {}, { queue: q, countdown: 2 })));
    const now = await app.sendTask('quorum.add', [40, 2], {}, { queue: q });
    expect(await now.get({ timeout: 60 })).toBe(42);
    expect(await Promise.all(held.map((r) => r.get({ timeout: 60 })))).toEqual([0, 1, 2, 3]);
  });

  it('a countdown task for a quorum queue on a topic exchange waits in RabbitMQ (native delayed delivery), not in the worker', async () => {
    const tag = randomUUID().slice(0, 8);
    const q = `qq-native-${tag}`;
    const { app } = await run({ task_queues: [{ name: q, exchange: `ex-${tag}`, exchange_type: 'topic', routing_key: `rk.${tag}`, queue_arguments: { 'x-queue-type': 'quorum' } }], task_default_queue: q }, [q]);
    const probe = await openTransport({ url, transportOptions: {} });
    cleanups.push(() => probe.close());
    await probe.connect();
    // 20 s = 0b10100: the message waits 16 s in level 4, then 4 s in level 2, then is delivered to the queue.
    const before = await probe.size('celery_delayed_4');
    const result = await app.sendTask('quorum.add', [20, 22], {}, { queue: q, countdown: 20 });
    expect(await probe.size('celery_delayed_4')).toBe(before + 1);
    const scheduled = await app.control.inspect({ timeout: 2 }).scheduled();
    expect(JSON.stringify(scheduled ?? {})).not.toContain(result.id);
    expect(await result.get({ timeout: 90 })).toBe(42);
  }, 120_000);

  it('task_default_queue_type and task_create_missing_queue_type make quorum queues too', async () => {
    const dflt = `qq-default-${randomUUID().slice(0, 8)}`;
    const missing = `qq-missing-${randomUUID().slice(0, 8)}`;
    const { app } = await run({ task_default_queue: dflt, task_default_queue_type: 'quorum', task_create_missing_queue_type: 'quorum' }, [dflt, missing]);
    expect(await declaredAsQuorum(dflt)).toBe(true);
    expect(await declaredAsQuorum(missing)).toBe(true);
    expect(await (await app.sendTask('quorum.add', [2, 3], {}, { queue: missing })).get({ timeout: 60 })).toBe(5);
  });
});
