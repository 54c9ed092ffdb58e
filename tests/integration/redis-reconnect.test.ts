// A Redis broker outage on a private redis-server (halted and started again on the same port): consumption and
// fanout listening resume by themselves, a publish during a short outage waits and is delivered, and a publish
// that cannot be delivered fails with an OperationalError naming the (redacted) URL — never a silent drop.

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celery } from '../../src/index.js';
import { OperationalError } from '../../src/errors.js';
import { openTransport } from '../../src/transports/index.js';
import type { Delivery, OutgoingMessage, Transport } from '../../src/transports/transport.js';
import { startRedis, type RedisServer } from '../support/servers.js';

const PASSWORD = 'restart-s3cret';
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function msg(body: string): OutgoingMessage {
  return {
    body: Buffer.from(JSON.stringify(body)),
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    headers: { id: randomUUID(), task: 'reconnect.test' },
    properties: { delivery_mode: 2, priority: 0 },
  };
}

const bodyOf = (d: Delivery) => JSON.parse(Buffer.from(d.message.body).toString('utf8')) as string;

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await pause(20);
  }
}

describe('redis broker: server restart', () => {
  let server: RedisServer;
  const transports: Transport[] = [];
  const open = async (options: Record<string, unknown> = {}) => {
    const t = await openTransport({ url: `redis://:${PASSWORD}@127.0.0.1:${server.port}/5`, transportOptions: options });
    transports.push(t);
    await t.connect();
    return t;
  };

  beforeAll(async () => {
    server = await startRedis({ password: PASSWORD });
  });
  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await server?.stop();
  });

  it('resumes consuming and listening after redis-server restarts; publishes during the outage wait or fail clearly', async () => {
    const consumer = await open();
    const producer = await open();
    const received: string[] = [];
    const events: string[] = [];
    consumer.on('disconnected', () => events.push('disconnected'));
    consumer.on('connected', () => events.push('connected'));
    await consumer.declare({ name: 'rq' });
    await consumer.subscribe(['rq'], (d) => {
      received.push(bodyOf(d));
      void d.ack();
    }, { prefetch: 10 });
    const broadcasts: string[] = [];
    await consumer.declare({ name: 'bq', exchange: 'bcast', exchangeType: 'fanout' });
    await consumer.subscribe(['bq'], (d) => broadcasts.push(bodyOf(d)), { prefetch: 0, noAck: true });
    await producer.declare({ name: 'bq', exchange: 'bcast', exchangeType: 'fanout' });

    await producer.publish(msg('before'), { exchange: '', routingKey: 'rq' });
    await until(() => received.includes('before'), 5_000, 'the first message');

    await server.halt();
    await pause(300);
    // A publish during a short outage waits in the offline queue and is delivered once the server is back.
    const during = producer.publish(msg('during'), { exchange: '', routingKey: 'rq' });
    await pause(700);
    await server.start();
    await during;
    await until(() => received.includes('during'), 8_000, 'the message published during the outage');

    const restartedAt = Date.now();
    await producer.publish(msg('after'), { exchange: '', routingKey: 'rq' });
    await until(() => received.includes('after'), 5_000, 'consumption after the restart');
    expect(Date.now() - restartedAt).toBeLessThan(5_000);
    expect(events).toContain('disconnected');

    // Fanout listeners re-subscribe after the reconnect.
    const deadline = Date.now() + 5_000;
    while (!broadcasts.includes('bcast-after') && Date.now() < deadline) {
      await producer.publish(msg('bcast-after'), { exchange: 'bcast', routingKey: '' });
      await pause(200);
    }
    expect(broadcasts).toContain('bcast-after');
    expect(received.filter((b) => b === 'during')).toHaveLength(1);
  });

  it('a publish that cannot reach Redis fails with an OperationalError naming the redacted URL, and is not sent later', async () => {
    const consumer = await open();
    const received: string[] = [];
    await consumer.subscribe(['lost'], (d) => {
      received.push(bodyOf(d));
      void d.ack();
    }, { prefetch: 10 });
    const impatient = await open({ max_retries_per_request: 2 });
    await server.halt();
    try {
      const error = await impatient.publish(msg('refused'), { exchange: '', routingKey: 'lost' }).then(() => null, (e: unknown) => e as Error);
      expect(error).toBeInstanceOf(OperationalError);
      expect(error!.message).toContain(`redis://:**@127.0.0.1:${server.port}/5`);
      expect(error!.message).not.toContain(PASSWORD);
      expect(error!.message).toMatch(/redis-server is running/);
      expect(impatient.isRecoverable(error)).toBe(true);
    } finally {
      await server.start();
    }
    await impatient.publish(msg('accepted'), { exchange: '', routingKey: 'lost' });
    await until(() => received.includes('accepted'), 8_000, 'the message published after the restart');
    await pause(300);
    expect(received).toEqual(['accepted']);
  });

  it('a first connection that never comes fails within broker_connection_timeout, and the next call connects once the server is up', async () => {
    await server.halt();
    const app = new Celery('first-connect', { broker: `redis://:${PASSWORD}@127.0.0.1:${server.port}/5`, broker_connection_timeout: 1 });
    try {
      const error = await app.sendTask('first.connect', [1]).then(() => null, (e: unknown) => e as Error);
      expect(error).toBeInstanceOf(OperationalError);
      expect(error!.message).toMatch(/no connection could be made within 1 s \(\d+ attempts; last: connect ECONNREFUSED 127\.0\.0\.1:\d+\)/);
      expect(error!.message).not.toContain(PASSWORD);
      expect(error!.message).toMatch(/failed while connecting/);
      // The result backend's first connection has its own bound (redis_socket_connect_timeout, else this one).
      const reader = new Celery('first-connect-results', { broker: 'memory://first-connect', backend: `redis://:${PASSWORD}@127.0.0.1:${server.port}/6`, redis_socket_connect_timeout: 1 });
      const unread = await reader.AsyncResult('first-connect').state().then(() => null, (e: unknown) => e as Error);
      await reader.close();
      expect(unread!.message).toMatch(/failed while reading celery-task-meta-first-connect: no connection could be made within 1 s/);
      await server.start();
      const sent = await app.sendTask('first.connect', [2], { queue: 'first-connect' });
      expect(typeof sent.id).toBe('string');
    } finally {
      await server.start();
      await app.close();
    }
  });
});

