// AMQP-specific behaviour of the native transport on the suite's real RabbitMQ: properties and header types on the
// wire, declarations Python agrees with, reject/drop, queue expiry, and recovery from a broken connection (through
// a TCP proxy the test can cut) without losing a consumer or a publish.

import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ImproperlyConfigured, OperationalError } from '../../src/errors.js';
import { toIncoming } from '../../src/transports/amqp/codec.js';
import { connectPlan } from '../../src/transports/amqp/connection-options.js';
import { createTransport } from '../../src/transports/amqp/index.js';
import { Inbox, testMessage } from '../support/deliveries.js';
import type { Delivery, OutgoingMessage, Transport } from '../../src/transports/transport.js';

const url = inject('amqpUrl');
const brokerPort = Number(new URL(url.replace(/\/\/$/, '/')).port);
const run = promisify(execFile);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const qname = (label: string) => `amqp-it.${label}.${randomUUID().slice(0, 8)}`;

const msg = (body: string, extra: Partial<OutgoingMessage> = {}) => testMessage(body, { properties: { delivery_mode: 2, priority: 0 }, ...extra }, 'it.echo');

async function open(u = url, transportOptions: Record<string, unknown> = {}): Promise<Transport> {
  const t = await createTransport({ url: u, transportOptions });
  await t.connect();
  return t;
}

/** A TCP proxy in front of RabbitMQ that records client bytes and can cut every connection or refuse new ones. */
class Proxy {
  private server!: net.Server;
  private readonly sockets = new Set<net.Socket>();
  readonly sent: Buffer[] = [];
  up = true;
  port = 0;
  async start(): Promise<void> {
    this.server = net.createServer((client) => {
      if (!this.up) return client.destroy();
      const upstream = net.connect(brokerPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => {
          this.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (d: Buffer) => {
        this.sent.push(d);
        upstream.write(d);
      });
      upstream.on('data', (d: Buffer) => client.write(d));
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}//`;
  }
  cut(): void {
    for (const s of this.sockets) s.destroy();
  }
  async stop(): Promise<void> {
    this.up = false;
    this.cut();
    await new Promise((r) => this.server.close(r));
  }
}

/** A field-table entry as py-amqp writes it: shortstr key, then the type letter and value. */
function tableEntry(key: string, letter: string, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([key.length]), Buffer.from(key), Buffer.from(letter), value]);
}
const int32be = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

describe('amqp transport on RabbitMQ', () => {
  let producer: Transport;
  let raw: amqp.ChannelModel;
  let rawCh: amqp.Channel;

  beforeAll(async () => {
    producer = await open();
    raw = await amqp.connect(url.replace(/\/\/$/, '/'));
    raw.on('error', () => {});
  });
  afterAll(async () => {
    await producer?.close();
    await raw?.close().catch(() => {});
  });

  const rawChannel = async () => {
    rawCh = await raw.createChannel();
    rawCh.on('error', () => {});
    return rawCh;
  };

  it('sends properties and headers as given, with py-amqp field types', async () => {
    const proxy = new Proxy();
    await proxy.start();
    const t = await open(proxy.url);
    try {
      const q = qname('props');
      await t.declare({ name: q });
      const headers = {
        lang: 'py', task: 'tasks.add', id: 'abc-1', shadow: null, eta: null, retries: 0, timelimit: [null, null],
        big: 2 ** 40, ratio: 1.5, ignore_result: false, nested: { a: [1, 'b'] }, skipped: undefined,
      };
      await t.publish(msg('props', {
        headers,
        properties: { correlation_id: 'abc-1', reply_to: 'reply-q', delivery_mode: 2, priority: 3, expiration: '60000', origin: 'not-an-amqp-property' },
      }), { exchange: '', routingKey: q });
      const ch = await rawChannel();
      const got = await ch.get(q, { noAck: true });
      expect(got).not.toBe(false);
      const m = got as amqp.GetMessage;
      expect(JSON.parse(m.content.toString())).toBe('props');
      expect(m.fields).toMatchObject({ exchange: '', routingKey: q, redelivered: false });
      expect(m.properties).toMatchObject({
        contentType: 'application/json', contentEncoding: 'utf-8', correlationId: 'abc-1', replyTo: 'reply-q',
        deliveryMode: 2, priority: 3, expiration: '60000',
      });
      expect(m.properties.headers).toEqual({
        lang: 'py', task: 'tasks.add', id: 'abc-1', shadow: null, eta: null, retries: 0, timelimit: [null, null],
        big: 2 ** 40, ratio: 1.5, ignore_result: false, nested: { a: [1, 'b'] },
      });
      // The bytes on the wire: ints as I (signed 32-bit) like Python, large ones as l, None as V, floats as d.
      const wire = Buffer.concat(proxy.sent);
      expect(wire.includes(tableEntry('retries', 'I', int32be(0)))).toBe(true);
      expect(wire.includes(tableEntry('shadow', 'V', Buffer.alloc(0)))).toBe(true);
      expect(wire.includes(Buffer.concat([Buffer.from([9]), Buffer.from('timelimit'), Buffer.from('A'), int32be(2), Buffer.from('VV')]))).toBe(true);
      expect(wire.includes(tableEntry('big', 'l', Buffer.from([0, 0, 1, 0, 0, 0, 0, 0])))).toBe(true);
      expect(wire.includes(tableEntry('ratio', 'd', Buffer.from([0x3f, 0xf8, 0, 0, 0, 0, 0, 0])))).toBe(true);
      expect(wire.includes(tableEntry('ignore_result', 't', Buffer.from([0])))).toBe(true);
    } finally {
      await t.close();
      await proxy.stop();
    }
  });

  it('hands consumers the properties and delivery info as kombu names them', async () => {
    const q = qname('incoming');
    await producer.declare({ name: q, maxPriority: 10 });
    await producer.publish(msg('in', { headers: { id: 'x1', group: null, retries: 2 }, properties: { correlation_id: 'x1', reply_to: 'r', delivery_mode: 1, priority: 7 } }), { exchange: '', routingKey: q });
    const inbox = new Inbox();
    const sub = await producer.subscribe([q], inbox.push, { prefetch: 1 });
    const [d] = await inbox.waitFor(1);
    expect(d!.message.headers).toEqual({ id: 'x1', group: null, retries: 2 });
    expect(d!.message.properties).toMatchObject({ correlation_id: 'x1', reply_to: 'r', delivery_mode: 1, priority: 7 });
    expect(d!.message.deliveryInfo).toEqual({ exchange: '', routing_key: q, redelivered: false, priority: 7 });
    expect(Buffer.isBuffer(d!.message.body)).toBe(true);
    await d!.ack();
    await sub.cancel();
  });

  it('declares queues the way Python does, so both sides can share them (x-max-priority as a signed int)', async () => {
    const q = qname('pyshared');
    const script = `
import amqp, sys
c = amqp.Connection(host='127.0.0.1:${brokerPort}', userid='guest', password='guest', virtual_host='/')
c.connect()
ch = c.channel()
ch.exchange_declare('${q}', 'direct', durable=True, auto_delete=False)
ch.queue_declare('${q}', durable=True, auto_delete=False, arguments={'x-max-priority': 10})
ch.queue_bind('${q}', '${q}', '${q}')
c.close()
`;
    await run('/usr/bin/python3', ['-c', script], { timeout: 20_000 });
    await expect(producer.declare({ name: q, maxPriority: 10 })).resolves.toBeUndefined();
    // A different value is refused by the broker and reported as a configuration problem, not a dead connection.
    const other = await open();
    try {
      const error = await other.declare({ name: q, maxPriority: 5 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ImproperlyConfigured);
      expect((error as Error).message).toMatch(/x-max-priority/);
      expect(other.isRecoverable(error)).toBe(false);
      // The transport still works after the channel error.
      await other.publish(msg('after-406'), { exchange: '', routingKey: q });
      expect(await other.size(q)).toBe(1);
      expect(await other.purge(q)).toBe(1);
    } finally {
      await other.close();
    }
  });

  it('rejecting without requeue drops the message for good', async () => {
    const q = qname('reject');
    await producer.declare({ name: q });
    await producer.publish(msg('drop-me'), { exchange: '', routingKey: q });
    const inbox = new Inbox();
    const sub = await producer.subscribe([q], inbox.push, { prefetch: 1 });
    const [d] = await inbox.waitFor(1);
    await d!.reject({ requeue: false });
    await pause(300);
    expect(inbox.deliveries).toHaveLength(1);
    await sub.cancel();
    expect(await producer.size(q)).toBe(0);
    const ch = await rawChannel();
    expect(await ch.get(q)).toBe(false);
  });

  it('declares auto-delete queues with x-expires, which the broker removes when unused', async () => {
    const q = qname('expiring');
    await producer.declare({ name: q, exchange: 'reply.celery.pidbox', exchangeType: 'direct', routingKey: q, durable: false, autoDelete: true, expires: 1 });
    const ch = await rawChannel();
    expect((await ch.checkQueue(q)).queue).toBe(q);
    // Same arguments with Python's types: accepted (a mismatch would be 406).
    await ch.assertQueue(q, { durable: false, autoDelete: true, arguments: { 'x-expires': { '!': 'int', value: 1000 } } });
    // Routed through the (non-durable, as Celery declares it) reply exchange.
    await producer.publish(msg('reply'), { exchange: 'reply.celery.pidbox', routingKey: q });
    expect(await producer.size(q)).toBe(1);
    await producer.purge(q);
    await pause(2_500);
    const check = await rawChannel();
    await expect(check.checkQueue(q)).rejects.toThrow(/404|NOT_FOUND/);
    expect(await producer.size(q)).toBe(0);
  });

  it('keeps consuming when the queue is deleted under the consumer (declares it again)', async () => {
    const t = await open();
    const errors: unknown[] = [];
    t.on('error', (e) => errors.push(e));
    try {
      const q = qname('deleted');
      await t.declare({ name: q });
      const inbox = new Inbox();
      const sub = await t.subscribe([q], inbox.push, { prefetch: 4 });
      const ch = await rawChannel();
      await ch.deleteQueue(q);
      await pause(300);
      expect(errors.length).toBeGreaterThan(0);
      await producer.publish(msg('after-delete'), { exchange: '', routingKey: q });
      await inbox.waitFor(1);
      expect(inbox.bodies).toEqual(['after-delete']);
      await inbox.deliveries[0]!.ack();
      await sub.cancel();
    } finally {
      await t.close();
    }
  });

  it('comes back on a new channel when the broker closes only the subscription channel', async () => {
    const t = await open();
    try {
      const a = qname('chan-a');
      const b = qname('chan-b');
      await t.declare({ name: a });
      await t.declare({ name: b });
      for (let i = 0; i < 5; i++) await producer.publish(msg(`a${i}`), { exchange: '', routingKey: a });
      const seen: string[] = [];
      // Settled inside the callback, while the subscription may still be consuming its second queue.
      const sub = await t.subscribe([a, b], (d) => {
        seen.push(JSON.parse(Buffer.from(d.message.body).toString()) as string);
        void d.ack();
      }, { prefetch: 2 });
      const deadline = Date.now() + 5_000;
      while (seen.length < 5 && Date.now() < deadline) await pause(20);
      expect(seen).toHaveLength(5);
      // Ack an unknown delivery tag: RabbitMQ closes that channel with 406 PRECONDITION_FAILED.
      const ch = (sub as unknown as { channel: amqp.Channel }).channel;
      ch.ack({ fields: { deliveryTag: 999_999 } } as unknown as amqp.Message);
      await pause(400);
      expect((sub as unknown as { channel: amqp.Channel }).channel).not.toBe(ch);
      await producer.publish(msg('b-after'), { exchange: '', routingKey: b });
      while (seen.length < 6 && Date.now() < deadline + 5_000) await pause(20);
      expect(seen[5]).toBe('b-after');
      await sub.cancel();
      expect(await producer.size(a)).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('declares auto-delete queues again on every declare, so a vanished reply queue is back before a publish', async () => {
    const q = qname('reply');
    const declaration = { name: q, exchange: '', durable: false, autoDelete: true, expires: 86_400 };
    await producer.declare(declaration);
    const ch = await rawChannel();
    await ch.deleteQueue(q);
    await producer.declare(declaration);
    await producer.publish(msg('result'), { exchange: '', routingKey: q });
    expect(await producer.size(q)).toBe(1);
    await producer.purge(q);
  });

  it('publishes to control and event exchanges nobody has declared yet', async () => {
    await expect(producer.publish(msg('evt'), { exchange: 'celeryev', routingKey: 'worker.heartbeat' })).resolves.toBeUndefined();
    await expect(producer.publish(msg('ctl'), { exchange: 'celery.pidbox', routingKey: '' })).resolves.toBeUndefined();
  });

  it('fails a publish to an exchange that does not exist with a clear, non-recoverable error, and keeps working', async () => {
    const error = await producer.publish(msg('x'), { exchange: `no-such-${randomUUID()}`, routingKey: 'k' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperationalError);
    expect((error as Error).message).toMatch(/NOT_FOUND|404/);
    expect(producer.isRecoverable(error)).toBe(false);
    const q = qname('after-404');
    await producer.declare({ name: q });
    // Publishes in flight beside a bad one are not taken down with it.
    const results = await Promise.allSettled([
      ...Array.from({ length: 20 }, (_, i) => producer.publish(msg(`fine${i}`), { exchange: '', routingKey: q })),
      producer.publish(msg('bad'), { exchange: `no-such-${randomUUID()}`, routingKey: 'k' }),
      ...Array.from({ length: 20 }, (_, i) => producer.publish(msg(`fine${20 + i}`), { exchange: '', routingKey: q })),
    ]);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(await producer.purge(q)).toBe(40);
    await expect(producer.publish(msg('x'), { exchange: '', routingKey: q })).resolves.toBeUndefined();
    await expect(producer.publish(msg('bad-ttl', { properties: { expiration: '1.5s' } }), { exchange: '', routingKey: q })).rejects.toThrow(/expiration/);
    expect(await producer.purge(q)).toBe(1);
  });

  it('delivers a message whose properties cannot be read, with decodeError set, instead of throwing', () => {
    const { message, decodeError } = toIncoming({
      content: Buffer.from('raw'),
      fields: { deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'q' },
      properties: { headers: 'not a table' as unknown as Record<string, unknown> },
    });
    expect(decodeError).toBeDefined();
    expect(Buffer.from(message.body).toString()).toBe('raw');
    expect(message.deliveryInfo.routing_key).toBe('q');
    const typed = toIncoming({
      content: Buffer.from('x'),
      fields: { deliveryTag: 1, redelivered: true, exchange: 'e', routingKey: 'k' },
      properties: { headers: { ts: { '!': 'timestamp', value: 5 }, dec: { '!': 'decimal', value: { places: 1, digits: 15 } } } },
    });
    expect(typed.decodeError).toBeUndefined();
    expect(typed.message.headers).toEqual({ ts: 5, dec: 1.5 });
    expect(typed.message.contentType).toBe('');
  });

  it('delivers a message published without content type or headers by another client', async () => {
    const q = qname('bare');
    await producer.declare({ name: q });
    const ch = await rawChannel();
    ch.sendToQueue(q, Buffer.from('bare bytes'));
    const inbox = new Inbox();
    const sub = await producer.subscribe([q], inbox.push, { prefetch: 1 });
    const [d] = await inbox.waitFor(1);
    expect(d!.decodeError).toBeUndefined();
    expect(Buffer.from(d!.message.body).toString()).toBe('bare bytes');
    expect(d!.message.headers).toEqual({});
    await d!.reject({ requeue: false });
    await sub.cancel();
  });

  it('reports an unreachable broker or a wrong password without printing the password', async () => {
    const refused = await createTransport({ url: 'amqp://guest:hunter2@127.0.0.1:1//', transportOptions: {}, connectTimeoutMs: 2_000 });
    const e1 = await refused.connect().catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(OperationalError);
    expect((e1 as Error).message).toContain('amqp://guest:**@127.0.0.1:1//');
    expect((e1 as Error).message).not.toContain('hunter2');
    expect(refused.displayUrl).not.toContain('hunter2');
    await refused.close();
    const badLogin = await createTransport({ url: url.replace('guest:guest', 'guest:wrong-secret'), transportOptions: {} });
    const e2 = await badLogin.connect().catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(OperationalError);
    expect((e2 as Error).message).toMatch(/password|refused/i);
    expect((e2 as Error).message).not.toContain('wrong-secret');
    await badLogin.close();
  });

  it('reads vhosts, TLS and failover lists from the URL', () => {
    const plain = connectPlan({ url: 'amqp://u:p%40ss@rabbit:5673//', transportOptions: {} });
    expect(plain.endpoints[0]).toMatchObject({ protocol: 'amqp', hostname: 'rabbit', port: 5673, username: 'u', password: 'p@ss', vhost: '%2F' });
    expect(plain.endpoints[0]!.redacted).toBe('amqp://u:**@rabbit:5673//');
    const named = connectPlan({ url: 'pyamqp://rabbit/prod', transportOptions: { heartbeat: 10 } });
    expect(named.endpoints[0]).toMatchObject({ protocol: 'amqp', port: 5672, username: 'guest', password: 'guest', vhost: 'prod', heartbeat: 10 });
    const tls = connectPlan({ url: 'amqps://u:p@rabbit/v', transportOptions: {}, ssl: { cert_reqs: 0, servername: 'rabbit.example' } });
    expect(tls.endpoints[0]).toMatchObject({ protocol: 'amqps', port: 5671 });
    expect(tls.socketOptions).toMatchObject({ rejectUnauthorized: false, servername: 'rabbit.example' });
    const forced = connectPlan({ url: 'amqp://rabbit//', transportOptions: {}, ssl: true });
    expect(forced.endpoints[0]).toMatchObject({ protocol: 'amqps', port: 5671 });
    const failover = connectPlan({ url: 'amqp://a:1@h1//;amqp://b:2@h2//', transportOptions: {} });
    expect(failover.endpoints.map((e) => e.hostname)).toEqual(['h1', 'h2']);
  });

  it('accepts pyamqp:// as an alias', async () => {
    const t = await open(url.replace(/^amqp:/, 'pyamqp:'));
    const q = qname('alias');
    await t.declare({ name: q });
    expect(await t.size(q)).toBe(0);
    await t.close();
  });

  describe('connection loss', () => {
    let proxy: Proxy;
    beforeAll(async () => {
      proxy = new Proxy();
      await proxy.start();
    });
    afterAll(async () => {
      await proxy.stop();
    });

    it('reconnects, re-subscribes with the same prefetch, and loses no publish made during the outage', async () => {
      const t = await open(proxy.url);
      const events: string[] = [];
      t.on('disconnected', () => events.push('disconnected'));
      t.on('connected', () => events.push('connected'));
      try {
        const q = qname('reconnect');
        await t.declare({ name: q });
        const inbox = new Inbox();
        const sub = await t.subscribe([q], inbox.push, { prefetch: 1 });
        await t.publish(msg('before'), { exchange: '', routingKey: q });
        const [held] = await inbox.waitFor(1);
        expect(inbox.bodies).toEqual(['before']);

        // Cut every connection and refuse new ones for a while.
        proxy.up = false;
        proxy.cut();
        await pause(200);
        expect(events).toEqual(['disconnected']);
        // A delivery from the dead channel can no longer be acked: settling it is a quiet no-op.
        await expect(held!.ack()).resolves.toBeUndefined();
        // Publishing during the outage waits for the reconnect instead of failing or dropping.
        const during = t.publish(msg('during'), { exchange: '', routingKey: q });
        await pause(1_000);
        proxy.up = true;
        await during;
        expect(events).toEqual(['disconnected', 'connected']);

        // The broker requeued 'before' (never acked); prefetch 1 still holds: one delivery at a time.
        await inbox.waitFor(2);
        await pause(300);
        expect(inbox.deliveries).toHaveLength(2);
        const second = inbox.deliveries[1]!;
        expect(inbox.bodies[1]).toBe('before');
        expect(second.redelivered).toBe(true);
        await second.ack();
        const [, , third] = await inbox.waitFor(3);
        expect(inbox.bodies[2]).toBe('during');
        await third!.ack();

        // Messages from another client still reach the resumed consumer.
        await producer.publish(msg('after'), { exchange: '', routingKey: q });
        const [, , , fourth] = await inbox.waitFor(4);
        expect(inbox.bodies[3]).toBe('after');
        await fourth!.ack();
        await sub.cancel();
        expect(await producer.size(q)).toBe(0);
      } finally {
        await t.close();
      }
    });

    it('recovers when the broker itself closes the connection (a frame error makes RabbitMQ close it)', async () => {
      const t = await open();
      const events: string[] = [];
      t.on('disconnected', () => events.push('disconnected'));
      t.on('connected', () => events.push('connected'));
      try {
        const q = qname('server-close');
        await t.declare({ name: q });
        const inbox = new Inbox();
        const sub = await t.subscribe([q], inbox.push, { prefetch: 2 });
        // A method frame with a bad frame-end octet: RabbitMQ answers with connection.close (FRAME_ERROR).
        const socket = (t as unknown as { connection: { current: { model: { connection: { stream: net.Socket } } } } }).connection.current.model.connection.stream;
        socket.write(Buffer.from([1, 0, 0, 0, 0, 0, 4, 0, 10, 0, 10, 0x00]));
        const deadline = Date.now() + 10_000;
        while (!events.includes('connected') && Date.now() < deadline) await pause(50);
        expect(events).toEqual(['disconnected', 'connected']);
        await producer.publish(msg('after-server-close'), { exchange: '', routingKey: q });
        await inbox.waitFor(1);
        expect(inbox.bodies).toEqual(['after-server-close']);
        await inbox.deliveries[0]!.ack();
        await sub.cancel();
      } finally {
        await t.close();
      }
    });

    it('re-declares queues after a reconnect (auto-delete queues come back for their consumer)', async () => {
      const t = await open(proxy.url);
      try {
        const q = qname('redeclare');
        const exchange = `amqp-it.fan.${randomUUID().slice(0, 8)}`;
        await t.declare({ name: q, exchange, exchangeType: 'fanout', routingKey: '', durable: false, autoDelete: true });
        const inbox = new Inbox();
        await t.subscribe([q], inbox.push, { prefetch: 0, noAck: true });
        proxy.cut();
        // The auto-delete queue vanished with its consumer's connection; wait until the transport has it back.
        const deadline = Date.now() + 10_000;
        let delivered = false;
        for (let i = 0; !delivered && Date.now() < deadline; i++) {
          await pause(200);
          await producer.declare({ name: `${q}.sender`, exchange, exchangeType: 'fanout', routingKey: '', durable: false, autoDelete: true }).catch(() => {});
          await producer.publish(msg(`ping${i}`), { exchange, routingKey: '' });
          await pause(100);
          delivered = inbox.deliveries.length > 0;
        }
        expect(delivered).toBe(true);
        await producer.purge(`${q}.sender`);
      } finally {
        await t.close();
      }
    });

    it('fails a publish with an OperationalError naming the redacted URL when the broker stays away', async () => {
      const t = await open(proxy.url, { max_wait_for_connection: 1 });
      try {
        proxy.up = false;
        proxy.cut();
        await pause(100);
        const started = Date.now();
        const error = await t.publish(msg('lost?'), { exchange: '', routingKey: 'nowhere' }).catch((e: unknown) => e);
        expect(Date.now() - started).toBeLessThan(5_000);
        expect(error).toBeInstanceOf(OperationalError);
        expect((error as Error).message).toContain(`amqp://guest:**@127.0.0.1:${proxy.port}//`);
        expect((error as Error).message).toMatch(/RabbitMQ is running/);
        expect(t.isRecoverable(error)).toBe(true);
      } finally {
        proxy.up = true;
        await t.close();
      }
    });
  });
});
