// Real Python Celery client → celeriac worker process on Redis: Python reads celeriac's results, failures
// included; the request context celeriac saw; retries; serializers; canvas sent by Python.

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { py, redisUrls, startCeleriacWorker, type Proc, type PyOutcome } from './harness.js';

const urls = redisUrls(inject('redisUrl'), 4);
let worker: Proc;

beforeAll(async () => {
  for (const url of [urls.broker, urls.backend]) {
    const r = new Redis(url);
    await r.flushdb();
    r.disconnect();
  }
  worker = await startCeleriacWorker(urls);
}, 60_000);

afterAll(async () => {
  const code = await worker?.stop();
  expect(code).toBe(0);
});

const call = (name: string, args: unknown[], kwargs?: Record<string, unknown>, options?: Record<string, unknown>) =>
  py<PyOutcome & { result: any }>(urls, ['call', name, JSON.stringify(args), ...(kwargs ? [JSON.stringify(kwargs)] : []), ...(options ? ['--options', JSON.stringify(options)] : [])]);

describe('Python client → celeriac worker', () => {
  it('interop.add: Python reads a SUCCESS document with Celery fields', async () => {
    const out = await call('interop.add', [2, 3]);
    expect(out.state).toBe('SUCCESS');
    expect(out.result).toBe(5);
    expect(Object.keys(out.meta!)).toEqual(['status', 'result', 'traceback', 'children', 'date_done', 'task_id']);
    expect(out.meta).toMatchObject({ status: 'SUCCESS', result: 5, traceback: null, children: [], task_id: out.id });
  });

  it('a failure is rebuilt by Python as ValueError from builtins, with the traceback', async () => {
    const out = await call('interop.fail', ['nope']);
    expect(out.state).toBe('FAILURE');
    expect(out.result).toEqual({ exc_type: 'ValueError', exc_message: ['nope'], exc_module: 'builtins' });
    expect(out.traceback).toMatch(/ValueError: nope/);
  });

  it('retries from celeriac keep the id and Python sees the final value', async () => {
    const out = await call('interop.retry', [2]);
    expect(out).toMatchObject({ state: 'SUCCESS', result: 2 });
  });

  it('the request context celeriac saw matches what Python sent', async () => {
    const out = await call('interop.echo_context', [1], { k: 2 }, { headers: { x_custom: 'hello' }, priority: 5, time_limit: 30, soft_time_limit: 20 });
    const v = out.result;
    expect(v).toMatchObject({
      id: out.id, task: 'interop.echo_context', args: [1], kwargs: { k: 2 }, retries: 0, eta: null, expires: null,
      root_id: out.id, parent_id: null, correlation_id: out.id, hostname: 'ts@interop', is_eager: false, timelimit: [30, 20],
      custom_headers: { x_custom: 'hello' },
    });
    expect(v.origin).toMatch(/^gen\d+@/);
    expect(typeof v.reply_to).toBe('string');
    expect(v.delivery_info).toMatchObject({ exchange: '', routing_key: 'celery', priority: 5 });
  });

  it('countdown and expires sent by Python are honoured', async () => {
    const started = Date.now();
    const out = await call('interop.echo_context', [], undefined, { countdown: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(Date.parse(out.result.eta)).toBeGreaterThan(started);
    const expired = await call('interop.add', [1, 1], undefined, { expires: 0.001 });
    expect(expired.state).toBe('REVOKED');
  });

  it('msgpack and yaml messages from Python run in celeriac', async () => {
    for (const serializer of ['msgpack', 'yaml']) {
      const out = await call('interop.echo', [1, 'é'], { k: [1, 2] }, { serializer });
      expect(out).toMatchObject({ state: 'SUCCESS', result: { args: [1, 'é'], kwargs: { k: [1, 2] } } });
    }
  });

  it('canvas sent by Python (chain, group, chord) runs on celeriac', async () => {
    const add = (...args: number[]) => ({ task: 'interop.add', args });
    const ch = await py<PyOutcome>(urls, ['canvas', JSON.stringify({ chain: [add(1, 2), add(3), { task: 'interop.mul', args: [10] }] })]);
    expect(ch).toMatchObject({ state: 'SUCCESS', result: 60 });
    const gr = await py<PyOutcome>(urls, ['canvas', JSON.stringify({ group: [add(1, 1), add(2, 2)] })]);
    expect(gr).toMatchObject({ state: 'SUCCESS', result: [2, 4] });
    const cd = await py<PyOutcome>(urls, ['canvas', JSON.stringify({ chord: [add(1, 1), add(2, 2), add(3, 3)], body: { task: 'interop.xsum' } })]);
    expect(cd).toMatchObject({ state: 'SUCCESS', result: 12 });
  });

  it('answers Python remote control: ping, registered, rate_limit', async () => {
    const ping = await py<Record<string, unknown>>(urls, ['inspect', 'ping']);
    expect(ping['ts@interop']).toEqual({ ok: 'pong' });
    const registered = await py<Record<string, string[]>>(urls, ['inspect', 'registered']);
    expect(registered['ts@interop']).toContain('interop.add');
    const rate = await py<Record<string, unknown>>(urls, ['inspect', 'rate_limit', JSON.stringify({ task_name: 'interop.add', rate_limit: '10/m' })]);
    expect(rate['ts@interop']).toEqual({ ok: 'new rate limit set successfully' });
  });
});
