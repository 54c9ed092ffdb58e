// Traces across languages: a celeriac client's task read by a Python Celery worker finds the W3C traceparent where
// Python's opentelemetry-instrumentation-celery extracts it (task.request.traceparent), naming the producer span;
// and a message from Python carrying a traceparent header (as that instrumentation injects it) makes the
// celeriac worker's run span a child of the Python span.

import { propagation, SpanKind } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celery } from '../../src/index.js';
import { instrumentTracing } from '../../src/otel/index.js';
import { Worker } from '../../src/worker/worker.js';
import { startRedis, type RedisServer } from '../support/servers.js';
import type { Proc } from './harness.js';
import { pyTools, startPythonToolsWorker } from './tools-harness.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let redis: RedisServer;
let urls: { broker: string; backend: string };
let client: Celery;
let py: Proc;
let worker: Worker;
const off: Array<() => void> = [];

beforeAll(async () => {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  redis = await startRedis();
  urls = { broker: redis.url, backend: redis.url.replace(/\/0$/, '/1') };
  client = new Celery('tools', { broker: urls.broker, backend: urls.backend });
  client.task((x: number, y: number) => x + y, { name: 'tools.add' });
  off.push(await instrumentTracing(client, { tracerProvider: provider }));
  worker = new Worker(client, { banner: false, concurrency: 2, queues: ['ts-trace'], hostname: 'ts@trace', loglevel: 'CRITICAL' });
  [py] = await Promise.all([startPythonToolsWorker(urls, { hostname: 'py@trace', queues: 'py-trace' }), worker.start()]);
}, 120_000);

afterAll(async () => {
  for (const f of off) f();
  await worker?.stop('cold');
  await py?.stop('SIGQUIT');
  await client?.close();
  await redis?.stop();
  propagation.disable();
});

describe('traces across Python and Node', { timeout: 90_000 }, () => {
  it('a Python worker sees the celeriac producer span as request.traceparent', async () => {
    const sent = await client.sendTask('tools.traceparent', [], {}, { queue: 'py-trace' });
    const seen = (await sent.get({ timeout: 60 })) as { traceparent: string | null };
    const span = exporter.getFinishedSpans().find((s) => s.name === 'apply_async/tools.traceparent')!;
    expect(span.kind).toBe(SpanKind.PRODUCER);
    expect(seen.traceparent).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
  });

  it('a Python message with a traceparent header makes the celeriac run span its child', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const spanId = 'b7ad6b7169203331';
    // --headers adds message headers: where Python's instrumentation injects traceparent before publishing.
    const out = await pyTools<{ ids: string[]; state: string }>(urls, ['send', 'tools.add', '[1, 2]', '--queue', 'ts-trace', '--headers', JSON.stringify({ traceparent: `00-${traceId}-${spanId}-01` })]);
    expect(out.state).toBe('SUCCESS');
    const run = exporter.getFinishedSpans().find((s) => s.name === 'run/tools.add' && s.attributes['messaging.message.id'] === out.ids[0]);
    expect(run?.spanContext().traceId).toBe(traceId);
    expect(run?.parentSpanContext?.spanId).toBe(spanId);
  });
});
