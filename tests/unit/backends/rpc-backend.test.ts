// rpc:// without a server: what it puts on the wire is what Python Celery 5.2.6 put there (fixture
// amqp/03-rpc-results-client.json: reply-queue declaration, result messages), Python's result messages read back,
// and the RPC backend's limits as clear errors. A recording broker stands in for the transport.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResultBroker } from '../../../src/backends/backend.js';
import { openBackend } from '../../../src/backends/index.js';
import { ImproperlyConfigured, ResultUnavailable, TimeoutError } from '../../../src/errors.js';
import type { IncomingMessage, OutgoingMessage, Route } from '../../../src/protocol/message.js';
import { buildResultMeta } from '../../../src/protocol/result-meta.js';
import { sharedDir } from '../../support/shared.js';

interface Frame { i: number; method?: string; args?: Record<string, any>; properties?: Record<string, any>; body?: string }
const frames: Frame[] = JSON.parse(readFileSync(join(sharedDir, 'protocol/fixtures/amqp/03-rpc-results-client.json'), 'utf8')).frames;
const frame = (i: number) => frames.find((f) => f.i === i)!;
const OID = 'a00093a6-b49c-3c76-aa4c-c7cbbc70d7b9';

/** Records declarations and publishes; `deliver` hands a message to the reply-queue consumer. */
class RecordingBroker implements ResultBroker {
  readonly displayUrl = 'amqp://guest:**@127.0.0.1//';
  readonly declared: Parameters<ResultBroker['declare']>[0][] = [];
  readonly published: { message: OutgoingMessage; route: Route }[] = [];
  readonly consumers: { queues: readonly string[]; noAck?: boolean; onDelivery: (d: { message: IncomingMessage }) => void }[] = [];
  async declare(queue: Parameters<ResultBroker['declare']>[0]) {
    this.declared.push(queue);
  }
  async publish(message: OutgoingMessage, route: Route) {
    this.published.push({ message, route });
  }
  async subscribe(queues: readonly string[], onDelivery: (d: { message: IncomingMessage }) => void, options: { prefetch: number; noAck?: boolean }) {
    this.consumers.push({ queues, noAck: options.noAck, onDelivery });
    return { cancel: async () => undefined };
  }
  /** A basic.deliver frame of the fixture, as the transport would hand it over. */
  deliver(f: Frame) {
    const p = f.properties!;
    const message: IncomingMessage = {
      body: Buffer.from(f.body!), contentType: p.content_type, contentEncoding: p.content_encoding, headers: p.headers,
      properties: { correlation_id: p.correlation_id, delivery_mode: p.delivery_mode, priority: p.priority },
      deliveryInfo: { exchange: f.args!.exchange, routing_key: f.args!.routing_key },
    };
    for (const c of this.consumers) c.onDelivery({ message });
  }
}

async function rpc(options: { persistent?: boolean; replyQueue?: string } = {}) {
  const broker = new RecordingBroker();
  const backend = await openBackend({
    url: 'rpc://', serializer: 'json', options: {}, extended: false, expiresMs: 86_400_000,
    broker: async () => broker, replyQueue: options.replyQueue ?? OID, persistentResults: options.persistent,
  });
  return { broker, backend };
}

describe('rpc:// on the wire, as Python Celery 5.2.6', () => {
  it('declares the reply queue before a send as frame 198 does: transient, auto-delete, x-expires 1 day, no binding', async () => {
    const { broker, backend } = await rpc();
    await backend.onTaskCall!('bbe551d6-0cb7-4bd5-955e-28992f2b8f04', []);
    const expected = frame(198).args!;
    expect(broker.declared).toEqual([{ name: expected.queue, exchange: '', durable: expected.durable, autoDelete: expected.auto_delete, expires: expected.arguments['x-expires'] / 1000 }]);
  });

  it.each([216, 235, 253])('sends a result as frame %i: exchange "", routing key = reply_to, same properties and body', async (i) => {
    const f = frame(i);
    const body = JSON.parse(f.body!);
    const { broker, backend } = await rpc();
    await backend.store(body.task_id, buildResultMeta({ taskId: body.task_id, status: body.status, result: body.result, traceback: body.traceback, children: body.children }), { replyTo: f.args!.routing_key, correlationId: f.properties!.correlation_id });
    const [{ message, route }] = broker.published;
    expect(route).toEqual({ exchange: f.args!.exchange, routingKey: f.args!.routing_key });
    expect({ content_type: message.contentType, content_encoding: message.contentEncoding, headers: message.headers, ...message.properties }).toEqual(f.properties);
    const sent = JSON.parse(Buffer.from(message.body).toString());
    expect(Object.keys(sent)).toEqual(Object.keys(body));
    expect(sent).toEqual(body);
  });

  it('result_persistent sends delivery mode 2; no reply_to sends nothing (as Celery)', async () => {
    const { broker, backend } = await rpc({ persistent: true });
    await backend.store('t1', buildResultMeta({ taskId: 't1', status: 'SUCCESS', result: 1 }), { replyTo: OID });
    await backend.store('t2', buildResultMeta({ taskId: 't2', status: 'SUCCESS', result: 2 }), { replyTo: null });
    await backend.store('t3', buildResultMeta({ taskId: 't3', status: 'SUCCESS', result: 3 }));
    expect(broker.published.map((p) => p.message.properties)).toEqual([{ correlation_id: 't1', delivery_mode: 2, priority: 0 }]);
  });

  it("reads Python's result messages (frames 227, 236, 255): consumes with no acks, matches by correlation_id", async () => {
    const { broker, backend } = await rpc();
    const ids = ['bbe551d6-0cb7-4bd5-955e-28992f2b8f04', 'eb011cfd-bfdd-47f6-a859-391bdc1956b6', '69027ebd-99a1-47fa-a9bb-ede098d15822'];
    for (const id of ids) await backend.onTaskCall!(id, []);
    const waits = ids.map((id) => backend.waitFor(id, { timeoutMs: 5_000, intervalMs: 10 }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(broker.consumers).toEqual([expect.objectContaining({ queues: [OID], noAck: true })]);
    for (const i of [236, 227, 255]) broker.deliver(frame(i));
    const [ok, failed, spawned] = await Promise.all(waits);
    expect(ok).toMatchObject({ task_id: ids[0], status: 'SUCCESS', result: 30, traceback: null, children: [], date_done: null });
    expect(failed).toMatchObject({ status: 'FAILURE', result: { exc_type: 'ValueError', exc_message: ['boom'], exc_module: 'builtins' } });
    expect(failed.traceback).toMatch(/ValueError: boom/);
    expect(spawned.children).toEqual([[['65125298-b79a-4864-ab8d-c1520ecabc4f', null], null], [['e6333f07-3b90-4266-bd9b-a58fa8c93ac4', null], null]]);
  });
});

describe('rpc:// limits, as clear errors', () => {
  it('a task this process did not send: ResultUnavailable at once, naming the stores that can do it', async () => {
    const { backend } = await rpc();
    await expect(backend.get('sent-elsewhere')).rejects.toBeInstanceOf(ResultUnavailable);
    await expect(backend.waitFor('sent-elsewhere', { timeoutMs: 60_000, intervalMs: 10 })).rejects.toThrow(/not sent by this process.*redis:\/\/, db\+postgresql:\/\//);
  });

  it('a chain step built here is expected; a ready result is handed out once, then explained', async () => {
    const { broker, backend } = await rpc();
    await backend.onTaskCall!('first', ['step-2', 'step-3']);
    expect(await backend.get('step-3')).toBeNull();
    broker.deliver({ i: 0, args: { exchange: '', routing_key: OID }, properties: { content_type: 'application/json', content_encoding: 'utf-8', headers: {}, delivery_mode: 1, priority: 0, correlation_id: 'step-3' }, body: '{"task_id": "step-3", "status": "STARTED", "result": null, "traceback": null, "children": []}' });
    expect((await backend.get('step-3'))!.status).toBe('STARTED');
    expect((await backend.get('step-3'))!.status).toBe('STARTED');
    broker.deliver({ i: 0, args: { exchange: '', routing_key: OID }, properties: { content_type: 'application/json', content_encoding: 'utf-8', headers: {}, delivery_mode: 1, priority: 0, correlation_id: 'step-3' }, body: '{"task_id": "step-3", "status": "SUCCESS", "result": 6, "traceback": null, "children": []}' });
    expect(await backend.get('step-3')).toMatchObject({ status: 'SUCCESS', result: 6 });
    await expect(backend.get('step-3')).rejects.toThrow(/already read in this process.*Keep the AsyncResult/);
  });

  it('a late STARTED never replaces a received SUCCESS', async () => {
    const { broker, backend } = await rpc();
    await backend.onTaskCall!('t', []);
    await backend.get('t');
    const send = (status: string) => broker.deliver({ i: 0, args: { exchange: '', routing_key: OID }, properties: { content_type: 'application/json', content_encoding: 'utf-8', headers: {}, delivery_mode: 1, priority: 0, correlation_id: 't' }, body: JSON.stringify({ task_id: 't', status, result: null, traceback: null, children: [] }) });
    send('SUCCESS');
    send('STARTED');
    expect((await backend.waitFor('t', { timeoutMs: 1_000, intervalMs: 10 })).status).toBe('SUCCESS');
  });

  it('an unreadable reply fails its waiter with the reason instead of leaving it to time out', async () => {
    const { broker, backend } = await rpc();
    await backend.onTaskCall!('bad', []);
    const waiting = backend.waitFor('bad', { timeoutMs: 5_000, intervalMs: 10 });
    await new Promise((resolve) => setImmediate(resolve));
    broker.deliver({ i: 0, args: { exchange: '', routing_key: OID }, properties: { content_type: 'application/json', content_encoding: 'utf-8', headers: {}, delivery_mode: 1, priority: 0, correlation_id: 'bad' }, body: '{"no status": true}' });
    await expect(waiting).rejects.toThrow(/not a Celery result message/);
  });

  it('waitFor times out with TimeoutError; close() ends waits with a reason', async () => {
    const { backend } = await rpc();
    await backend.onTaskCall!('slow', []);
    await expect(backend.waitFor('slow', { timeoutMs: 50, intervalMs: 10 })).rejects.toBeInstanceOf(TimeoutError);
    const waiting = backend.waitFor('slow', { intervalMs: 10 });
    await new Promise((resolve) => setImmediate(resolve));
    await backend.close();
    await expect(waiting).rejects.toThrow(/closed while waiting/);
  });

  it('chords and saved groups are refused with what to use instead; nothing is published', async () => {
    const { broker, backend } = await rpc();
    await expect(backend.setChordSize('g', 2)).rejects.toBeInstanceOf(ImproperlyConfigured);
    await expect(backend.saveGroup('g', [[['a', null], null]])).rejects.toThrow(/cannot save a group result.*cache\+memcached:\/\//);
    await expect(backend.getGroup('g')).rejects.toThrow(/cannot restore/);
    expect(broker.published).toEqual([]);
  });

  it('without a broker it cannot open, and says how to give it one', async () => {
    await expect(openBackend({ url: 'rpc://', serializer: 'json', options: {}, extended: false })).rejects.toThrow(/no broker was given/);
  });
});
