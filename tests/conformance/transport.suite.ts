// The contract every broker transport must keep, run against each real broker (memory, SQLite, Redis, …).
// A transport passes when messages arrive intact, exactly once per ack, in priority order, through exchanges and
// bindings, with prefetch, reject/requeue, redelivery and (where supported) fanout and deferred delivery.

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Delivery, OutgoingMessage, Transport } from '../../src/transports/transport.js';
import type { QueueStore } from '../../src/transports/virtual/queue-store.js';
import { bodyOf, Inbox, testMessage } from '../support/deliveries.js';

export interface TransportSuiteOptions {
  /** A fresh, connected transport to the broker under test (with these broker_transport_options added); every call reaches the same broker. */
  open(transportOptions?: Record<string, unknown>): Promise<Transport>;
  /** Which priority a store serves first: AMQP and SQL take the higher number, kombu's Redis the lower. */
  priorityOrder: 'higher-first' | 'lower-first';
}

export const message = (body: string, extra: Partial<OutgoingMessage> = {}) => testMessage(body, extra, 'conformance.echo');

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function describeTransportConformance(name: string, options: TransportSuiteOptions): void {
  describe(`transport conformance: ${name}`, () => {
    let producer: Transport;
    let consumer: Transport;
    const queue = (label: string) => `conf.${label}.${randomUUID().slice(0, 8)}`;

    beforeAll(async () => {
      producer = await options.open();
      consumer = await options.open();
    });
    afterAll(async () => {
      await producer?.close();
      await consumer?.close();
    });

    it('delivers a message published to the default exchange intact, and ack removes it', async () => {
      const q = queue('basic');
      await consumer.declare({ name: q });
      const sent = message('hello', { headers: { id: 'abc', task: 't.x', nested: { a: [1, 'b'] } }, properties: { delivery_mode: 2, priority: 0, correlation_id: 'abc', reply_to: 'r1' } });
      await producer.publish(sent, { exchange: '', routingKey: q });
      expect(await producer.size(q)).toBe(1);
      const inbox = new Inbox();
      const sub = await consumer.subscribe([q], inbox.push, { prefetch: 10 });
      const [d] = await inbox.waitFor(1);
      expect(bodyOf(d!)).toBe('hello');
      expect(d!.queue).toBe(q);
      expect(d!.redelivered).toBe(false);
      expect(d!.decodeError).toBeUndefined();
      expect(d!.message.contentType).toBe('application/json');
      expect(d!.message.headers).toMatchObject({ id: 'abc', task: 't.x', nested: { a: [1, 'b'] } });
      expect(d!.message.properties).toMatchObject({ correlation_id: 'abc', reply_to: 'r1' });
      expect(d!.message.deliveryInfo.routing_key).toBe(q);
      await d!.ack();
      await sub.cancel();
      expect(await producer.size(q)).toBe(0);
    });

    it('routes through a direct exchange only to the queue bound with the routing key', async () => {
      const exchange = `conf.ex.${randomUUID().slice(0, 8)}`;
      const a = queue('direct-a');
      const b = queue('direct-b');
      await consumer.declare({ name: a, exchange, routingKey: 'ka' });
      await consumer.declare({ name: b, exchange, routingKey: 'kb' });
      await producer.declare({ name: a, exchange, routingKey: 'ka' });
      await producer.publish(message('to-a'), { exchange, routingKey: 'ka' });
      await producer.publish(message('to-b'), { exchange, routingKey: 'kb' });
      await producer.publish(message('nowhere'), { exchange, routingKey: 'kc' });
      expect(await producer.size(a)).toBe(1);
      expect(await producer.size(b)).toBe(1);
      const inbox = new Inbox();
      const sub = await consumer.subscribe([a], inbox.push, { prefetch: 10 });
      await inbox.waitFor(1);
      await pause(100);
      expect(inbox.bodies).toEqual(['to-a']);
      await Promise.all(inbox.deliveries.map((d) => d.ack()));
      await sub.cancel();
      await producer.purge(b);
    });

    it('routes through a topic exchange by pattern', async () => {
      const exchange = `conf.topic.${randomUUID().slice(0, 8)}`;
      const q = queue('topic');
      await producer.declare({ name: q, exchange, exchangeType: 'topic', routingKey: 'orders.*.created' });
      await producer.publish(message('yes'), { exchange, routingKey: 'orders.eu.created' });
      await producer.publish(message('no'), { exchange, routingKey: 'orders.eu.deleted' });
      expect(await producer.size(q)).toBe(1);
      await producer.purge(q);
    });

    it('holds back deliveries beyond the prefetch window until earlier ones are settled', async () => {
      const q = queue('prefetch');
      await consumer.declare({ name: q });
      for (let i = 0; i < 5; i++) await producer.publish(message(`m${i}`), { exchange: '', routingKey: q });
      const inbox = new Inbox();
      const sub = await consumer.subscribe([q], inbox.push, { prefetch: 2 });
      await inbox.waitFor(2);
      await pause(300);
      expect(inbox.deliveries).toHaveLength(2);
      await inbox.deliveries[0]!.ack();
      await inbox.waitFor(3);
      await pause(200);
      expect(inbox.deliveries).toHaveLength(3);
      await sub.setPrefetch(0);
      await inbox.waitFor(5);
      expect(inbox.bodies.sort()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
      await Promise.all(inbox.deliveries.slice(1).map((d) => d.ack()));
      await sub.cancel();
      expect(await producer.size(q)).toBe(0);
    });

    it('redelivers a message rejected with requeue, marked redelivered, and drops one rejected without', async () => {
      const q = queue('reject');
      await consumer.declare({ name: q });
      await producer.publish(message('again'), { exchange: '', routingKey: q });
      await producer.publish(message('drop'), { exchange: '', routingKey: q });
      const inbox = new Inbox();
      const sub = await consumer.subscribe([q], inbox.push, { prefetch: 1 });
      const [first] = await inbox.waitFor(1);
      expect(bodyOf(first!)).toBe('again');
      await first!.reject({ requeue: true });
      const [, second] = await inbox.waitFor(2);
      expect(bodyOf(second!)).toBe('again');
      expect(second!.redelivered).toBe(true);
      await second!.ack();
      const [, , third] = await inbox.waitFor(3);
      expect(bodyOf(third!)).toBe('drop');
      await third!.reject({ requeue: false });
      await pause(300);
      expect(inbox.deliveries).toHaveLength(3);
      await sub.cancel();
      expect(await producer.size(q)).toBe(0);
    });

    it('settling a delivery twice has no second effect', async () => {
      const q = queue('twice');
      await consumer.declare({ name: q });
      await producer.publish(message('once'), { exchange: '', routingKey: q });
      const inbox = new Inbox();
      const sub = await consumer.subscribe([q], inbox.push, { prefetch: 1 });
      const [d] = await inbox.waitFor(1);
      await d!.ack();
      await d!.reject({ requeue: true });
      await pause(300);
      expect(inbox.deliveries).toHaveLength(1);
      await sub.cancel();
      expect(await producer.size(q)).toBe(0);
    });

    it(`serves priorities ${options.priorityOrder === 'higher-first' ? 'highest number' : 'lowest number'} first`, async () => {
      const q = queue('priority');
      await consumer.declare({ name: q, maxPriority: 10 });
      for (const p of [0, 9, 5]) await producer.publish(message(`p${p}`, { properties: { delivery_mode: 2, priority: p } }), { exchange: '', routingKey: q });
      const inbox = new Inbox();
      const sub = await consumer.subscribe([q], inbox.push, { prefetch: 1 });
      for (let i = 1; i <= 3; i++) {
        const all = await inbox.waitFor(i);
        await all[i - 1]!.ack();
      }
      expect(inbox.bodies).toEqual(options.priorityOrder === 'higher-first' ? ['p9', 'p5', 'p0'] : ['p0', 'p5', 'p9']);
      await sub.cancel();
    });

    it('gives each message to exactly one of two competing consumers', async () => {
      const q = queue('compete');
      const other = await options.open();
      try {
        await consumer.declare({ name: q });
        await other.declare({ name: q });
        const seen: string[] = [];
        const count = 60;
        let settle!: () => void;
        const done = new Promise<void>((r) => (settle = r));
        const onDelivery = (d: Delivery) => {
          seen.push(bodyOf(d));
          void d.ack();
          if (seen.length === count) settle();
        };
        const subs = [await consumer.subscribe([q], onDelivery, { prefetch: 4 }), await other.subscribe([q], onDelivery, { prefetch: 4 })];
        await Promise.all(Array.from({ length: count }, (_, i) => producer.publish(message(`n${i}`), { exchange: '', routingKey: q })));
        await Promise.race([done, pause(10_000)]);
        await pause(200);
        await Promise.all(subs.map((s) => s.cancel()));
        expect(seen).toHaveLength(count);
        expect(new Set(seen).size).toBe(count);
      } finally {
        await other.close();
      }
    });

    it('consumes several queues with one subscription', async () => {
      const a = queue('multi-a');
      const b = queue('multi-b');
      await consumer.declare({ name: a });
      await consumer.declare({ name: b });
      const inbox = new Inbox();
      const sub = await consumer.subscribe([a, b], inbox.push, { prefetch: 10 });
      await producer.publish(message('from-b'), { exchange: '', routingKey: b });
      await producer.publish(message('from-a'), { exchange: '', routingKey: a });
      const got = await inbox.waitFor(2);
      expect(got.map((d) => `${d.queue === a ? 'a' : 'b'}:${bodyOf(d)}`).sort()).toEqual(['a:from-a', 'b:from-b']);
      await Promise.all(got.map((d) => d.ack()));
      await sub.cancel();
    });

    it('leaves unacked deliveries of a cancelled subscription settleable, and requeue makes them available again', async () => {
      const q = queue('cancel');
      await consumer.declare({ name: q });
      await producer.publish(message('held'), { exchange: '', routingKey: q });
      const inbox = new Inbox();
      const sub = await consumer.subscribe([q], inbox.push, { prefetch: 1 });
      const [d] = await inbox.waitFor(1);
      await sub.cancel();
      expect(await producer.size(q)).toBe(0);
      await d!.reject({ requeue: true });
      expect(await producer.size(q)).toBe(1);
      expect(await producer.purge(q)).toBe(1);
      expect(await producer.size(q)).toBe(0);
    });

    it('broadcasts on a fanout exchange to every bound queue (when the broker supports fanout)', async () => {
      if (!producer.capabilities.fanout) {
        await expect(producer.publish(message('x'), { exchange: 'celery.pidbox', routingKey: '' })).rejects.toThrow(/broadcast/);
        return;
      }
      const exchange = `conf.fan.${randomUUID().slice(0, 8)}`;
      const a = queue('fan-a');
      const b = queue('fan-b');
      const other = await options.open();
      try {
        await consumer.declare({ name: a, exchange, exchangeType: 'fanout', routingKey: '' });
        await other.declare({ name: b, exchange, exchangeType: 'fanout', routingKey: '' });
        await producer.declare({ name: `${a}.sender`, exchange, exchangeType: 'fanout', routingKey: '' });
        const inboxA = new Inbox();
        const inboxB = new Inbox();
        const subs = [await consumer.subscribe([a], inboxA.push, { prefetch: 0, noAck: true }), await other.subscribe([b], inboxB.push, { prefetch: 0, noAck: true })];
        await producer.publish(message('to-all'), { exchange, routingKey: '' });
        await inboxA.waitFor(1);
        await inboxB.waitFor(1);
        expect(inboxA.bodies).toEqual(['to-all']);
        expect(inboxB.bodies).toEqual(['to-all']);
        await Promise.all(subs.map((s) => s.cancel()));
      } finally {
        await other.close();
      }
    });

    it('defers a delivery until its due time (when the broker supports deferred delivery)', async () => {
      const q = queue('defer');
      await consumer.declare({ name: q });
      await producer.publish(message('later'), { exchange: '', routingKey: q });
      const inbox = new Inbox();
      const sub = await consumer.subscribe([q], inbox.push, { prefetch: 1 });
      const [d] = await inbox.waitFor(1);
      if (!consumer.capabilities.deferredDelivery) {
        expect(d!.defer).toBeUndefined();
        await d!.ack();
        await sub.cancel();
        return;
      }
      const dueAt = Date.now() + 1_500;
      await d!.defer!(dueAt);
      await pause(700);
      expect(inbox.deliveries).toHaveLength(1);
      const [, again] = await inbox.waitFor(2, 6_000);
      expect(Date.now()).toBeGreaterThanOrEqual(dueAt - 50);
      expect(bodyOf(again!)).toBe('later');
      await again!.ack();
      await sub.cancel();
      expect(await producer.size(q)).toBe(0);
    });

    it('a live lease keeps its messages past the visibility timeout; an ack under it takes effect (where the broker has leases)', async () => {
      const holder = await options.open({ visibility_timeout: 1, lease_timeout: 2 });
      const rival = await options.open({ visibility_timeout: 1, lease_timeout: 2 });
      try {
        if (!holder.lease || !rival.lease) return;
        const q = queue('lease-live');
        await holder.declare({ name: q });
        await producer.publish(message('long'), { exchange: '', routingKey: q });
        await holder.lease.start();
        await rival.lease.start();
        const mine = new Inbox();
        const theirs = new Inbox();
        const a = await holder.subscribe([q], mine.push, { prefetch: 1 });
        const [d] = await mine.waitFor(1);
        const b = await rival.subscribe([q], theirs.push, { prefetch: 1 });
        // Three visibility timeouts, several sweeps and renewals: nothing may leave the live holder.
        await pause(3_500);
        expect(theirs.deliveries).toHaveLength(0);
        const lost: unknown[] = [];
        holder.on('settle-lost', (l) => lost.push(l));
        await d!.ack();
        expect(lost).toEqual([]);
        await Promise.all([a.cancel(), b.cancel()]);
        expect(await producer.size(q)).toBe(0);
      } finally {
        await Promise.all([holder.close(), rival.close()]);
      }
    }, 20_000);

    it('a message taken under a live lease whose delivery never reached the consumer (a lost reply) comes back within seconds (where the broker has leases)', async () => {
      // Long enough that a loaded machine's late renewal cannot let another transport's sweep expire the lease
      // (that path gives the message back too, but is not the one under test); two checks at ttl/2 give it back.
      const holder = await options.open({ lease_timeout: 6 });
      try {
        const store = (holder as { store?: QueueStore }).store;
        if (!holder.lease || !store) return;
        const q = queue('lease-stranded');
        await holder.declare({ name: q });
        await producer.publish(message('stranded'), { exchange: '', routingKey: q });
        await holder.lease.start();
        const errors: Error[] = [];
        holder.on('error', (e) => errors.push(e as Error));
        // A take that ran in the broker but whose reply was lost: held under the live lease, unknown to the transport.
        const taken = await store.take([q], { timeoutMs: 1_000, signal: new AbortController().signal, max: 1, holder: holder.lease.id });
        expect(taken).toHaveLength(1);
        expect(await producer.size(q)).toBe(0);
        const again = new Inbox();
        const sub = await consumer.subscribe([q], again.push, { prefetch: 1 });
        const [r] = await again.waitFor(1, 20_000);
        expect(bodyOf(r!)).toBe('stranded');
        expect(r!.redelivered).toBe(true);
        expect(errors.map((e) => e.message).join('\n')).toMatch(/Gave back 1 message/);
        await r!.ack();
        await sub.cancel();
      } finally {
        await holder.close();
      }
    }, 40_000);

    it('stopping a lease returns what it still holds at once, marked redelivered; a later ack under it is reported lost (where the broker has leases)', async () => {
      const holder = await options.open({ lease_timeout: 30 });
      try {
        if (!holder.lease) return;
        const q = queue('lease-stop');
        await holder.declare({ name: q });
        await producer.publish(message('held', { headers: { id: 'lease-stop-id', task: 'conformance.echo' } }), { exchange: '', routingKey: q });
        await holder.lease.start();
        const mine = new Inbox();
        const sub = await holder.subscribe([q], mine.push, { prefetch: 1 });
        const [d] = await mine.waitFor(1);
        await sub.cancel();
        await holder.lease.stop();
        expect(await producer.size(q)).toBe(1);
        const lost: Array<{ taskIds: string[] }> = [];
        holder.on('settle-lost', (l) => lost.push(l as { taskIds: string[] }));
        await d!.ack();
        expect(lost.map((l) => l.taskIds)).toEqual([['lease-stop-id']]);
        const again = new Inbox();
        const next = await consumer.subscribe([q], again.push, { prefetch: 1 });
        const [r] = await again.waitFor(1);
        expect(bodyOf(r!)).toBe('held');
        expect(r!.redelivered).toBe(true);
        await r!.ack();
        await next.cancel();
        expect(await producer.size(q)).toBe(0);
      } finally {
        await holder.close();
      }
    });
  });
}
