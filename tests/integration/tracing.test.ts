// OpenTelemetry traces over a real redis-server (a private one): the spans Python's opentelemetry-instrumentation-celery
// makes (apply_async/<task> PRODUCER, run/<task> CONSUMER, its attributes), one trace from a client through a task
// to the task it sends, and the W3C traceparent in the message headers where Python's instrumentation puts it.

import { context, propagation, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celery } from '../../src/index.js';
import { instrumentTracing } from '../../src/otel/index.js';
import { Worker } from '../../src/worker/worker.js';
import { startRedis, type RedisServer } from '../support/servers.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let redis: RedisServer;
let client: Celery;
let workerApp: Celery;
let worker: Worker;
const off: Array<() => void> = [];

class ValueError extends Error {
  override name = 'ValueError';
}

beforeAll(async () => {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  redis = await startRedis();
  client = new Celery('client', { broker: redis.url, backend: redis.url });
  workerApp = new Celery('traced', { broker: redis.url, backend: redis.url });
  workerApp.task(async (n: number) => {
    const child = await workerApp.sendTask('trace.child', [n + 1], {}, { queue: 'traced' });
    return child.id;
  }, { name: 'trace.parent' });
  workerApp.task((n: number) => n * 2, { name: 'trace.child' });
  workerApp.task(() => {
    throw new ValueError('no');
  }, { name: 'trace.fail' });
  off.push(await instrumentTracing(client, { tracerProvider: provider }), await instrumentTracing(workerApp, { tracerProvider: provider }));
  worker = new Worker(workerApp, { banner: false, concurrency: 2, queues: ['traced'], hostname: 'traced@it', loglevel: 'CRITICAL' });
  await worker.start();
}, 60_000);

afterAll(async () => {
  for (const f of off) f();
  await worker?.stop('cold');
  await Promise.all([client?.close(), workerApp?.close()]);
  await redis?.stop();
  propagation.disable();
  context.disable();
});

const spanNamed = (name: string, id: string) => exporter.getFinishedSpans().find((s) => s.name === name && s.attributes['messaging.message.id'] === id);
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}: ${exporter.getFinishedSpans().map((s) => s.name).join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('tracing', { timeout: 60_000 }, () => {
  it('client → task → the task it sends: one trace, each span the child of the one before', async () => {
    const parent = await client.sendTask('trace.parent', [1], {}, { queue: 'traced' });
    const childId = (await parent.get({ timeout: 30 })) as string;
    await client.AsyncResult(childId).get({ timeout: 30 });
    const send = await until('apply_async/trace.parent', () => spanNamed('apply_async/trace.parent', parent.id));
    const run = await until('run/trace.parent', () => spanNamed('run/trace.parent', parent.id));
    const sendChild = await until('apply_async/trace.child', () => spanNamed('apply_async/trace.child', childId));
    const runChild = await until('run/trace.child', () => spanNamed('run/trace.child', childId));
    expect([send.kind, run.kind, sendChild.kind, runChild.kind]).toEqual([SpanKind.PRODUCER, SpanKind.CONSUMER, SpanKind.PRODUCER, SpanKind.CONSUMER]);
    const trace = send.spanContext().traceId;
    expect([run, sendChild, runChild].map((s) => s.spanContext().traceId)).toEqual([trace, trace, trace]);
    expect(parentOf(run)).toBe(send.spanContext().spanId);
    expect(parentOf(sendChild)).toBe(run.spanContext().spanId);
    expect(parentOf(runChild)).toBe(sendChild.spanContext().spanId);
    expect(send.attributes).toMatchObject({ 'celery.action': 'apply_async', 'celery.task_name': 'trace.parent', 'messaging.destination': 'traced' });
    expect(run.attributes).toMatchObject({ 'celery.action': 'run', 'celery.task_name': 'trace.parent', 'celery.state': 'SUCCESS', 'celery.hostname': 'traced@it' });
  });

  it('a failing task\'s run span has status ERROR and the exception', async () => {
    const failed = await client.sendTask('trace.fail', [], {}, { queue: 'traced' });
    await failed.get({ timeout: 30, propagate: false });
    const run = await until('run/trace.fail', () => spanNamed('run/trace.fail', failed.id));
    expect(run.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'ValueError: no' });
    expect(run.events.map((e) => e.name)).toContain('exception');
    expect(run.attributes['celery.state']).toBe('FAILURE');
  });

  it('the message carries the W3C traceparent among its headers, as Python\'s instrumentation sends it', async () => {
    const sent = await client.sendTask('trace.child', [1], {}, { queue: 'nobody-consumes' });
    const span = await until('apply_async/trace.child', () => spanNamed('apply_async/trace.child', sent.id));
    const r = new Redis(redis.url);
    const raw = await r.lindex('nobody-consumes', 0);
    r.disconnect();
    const headers = (JSON.parse(raw!) as { headers: Record<string, unknown> }).headers;
    expect(headers.id).toBe(sent.id);
    expect(headers.traceparent).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
  });
});
