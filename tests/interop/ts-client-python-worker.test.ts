// celeriac client → real Python Celery worker on Redis: results, failures, retries, headers, priorities,
// countdown/eta, expires, msgpack and yaml, the request context Python saw, and canvas.

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Celery, chain, chord, group, RemoteTaskError } from '../../src/index.js';
import { redisUrls, startPythonWorker, type Proc } from './harness.js';

const urls = redisUrls(inject('redisUrl'), 2);
let worker: Proc;
let app: Celery;

beforeAll(async () => {
  for (const url of [urls.broker, urls.backend]) {
    const r = new Redis(url);
    await r.flushdb();
    r.disconnect();
  }
  worker = await startPythonWorker(urls, { hostname: 'py@interop' });
  app = new Celery('client', { broker: urls.broker, backend: urls.backend });
}, 60_000);

afterAll(async () => {
  await app?.close();
  const code = await worker?.stop();
  expect(code).toBe(0);
});

const ctx = (options = {}, args: unknown[] = [], kwargs: Record<string, unknown> = {}) =>
  app.sendTask<Record<string, any>>('interop.echo_context', args, kwargs, options).then((r) => r.get({ timeout: 20 }).then((v) => ({ id: r.id, v })));

describe('celeriac client → Python worker', () => {
  it('interop.add returns 5 and the stored document reads back', async () => {
    const r = await app.sendTask<number>('interop.add', [2, 3]);
    expect(await r.get({ timeout: 20 })).toBe(5);
    const meta = await r.meta();
    expect(meta).toMatchObject({ status: 'SUCCESS', result: 5, traceback: null, children: [], task_id: r.id });
    expect(meta?.date_done).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
  });

  it('a Python ValueError arrives typed, with module and traceback', async () => {
    const r = await app.sendTask('interop.fail', ['bad thing']);
    const err = (await r.get({ timeout: 20, propagate: false })) as RemoteTaskError;
    expect(err).toBeInstanceOf(RemoteTaskError);
    expect(err.excType).toBe('ValueError');
    expect(err.excModule).toBe('builtins');
    expect(err.excMessage).toEqual(['bad thing']);
    expect(await r.traceback()).toMatch(/Traceback \(most recent call last\)[\s\S]*ValueError: bad thing/);
    await expect(r.get({ timeout: 1 })).rejects.toMatchObject({ name: 'ValueError', excType: 'ValueError', message: 'bad thing' });
  });

  it('retries in Python keep the id and end in SUCCESS', async () => {
    const r = await app.sendTask<number>('interop.retry', [2]);
    expect(await r.get({ timeout: 20 })).toBe(2);
  });

  it('the request context Python saw matches what celeriac sent', async () => {
    const { id, v } = await ctx({ headers: { x_custom: 'hello' }, priority: 5, timeLimit: 30, softTimeLimit: 20 }, [1], { k: 2 });
    expect(v).toMatchObject({
      id, task: 'interop.echo_context', args: [1], kwargs: { k: 2 }, retries: 0, eta: null, expires: null, group: null,
      root_id: id, parent_id: null, correlation_id: id, reply_to: app.oid, hostname: 'py@interop', is_eager: false,
      timelimit: [30, 20], custom_headers: { x_custom: 'hello' },
    });
    expect(v.origin).toMatch(/^gen\d+@/);
    expect(v.delivery_info).toMatchObject({ exchange: '', routing_key: 'celery', priority: 5 });
  });

  it('countdown becomes an eta that Python honours; expires in the past is REVOKED', async () => {
    const sent = Date.now();
    const { v } = await ctx({ countdown: 1 });
    expect(Date.parse(v.eta)).toBeGreaterThanOrEqual(sent + 900);
    const expired = await app.sendTask('interop.add', [1, 1], {}, { expires: new Date(Date.now() - 5000) });
    const err = (await expired.get({ timeout: 20, propagate: false })) as RemoteTaskError;
    expect(await expired.state()).toBe('REVOKED');
    expect(err.excType).toBe('TaskRevokedError');
  });

  it('msgpack and yaml bodies run in Python', async () => {
    for (const serializer of ['msgpack', 'yaml']) {
      const r = await app.sendTask('interop.echo', [1, 'é'], { k: [1, 2] }, { serializer });
      expect(await r.get({ timeout: 20 })).toEqual({ args: [1, 'é'], kwargs: { k: [1, 2] } });
    }
  });

  it('chain, group and chord built in TypeScript run on Python', async () => {
    const add = (...a: number[]) => app.signature('interop.add', a);
    expect(await (await chain(add(1, 2), add(3), app.signature('interop.mul', [10])).applyAsync()).get({ timeout: 20 })).toBe(60);
    expect(await (await group(add(1, 1), add(2, 2)).applyAsync()).get({ timeout: 20 })).toEqual([2, 4]);
    expect(await (await chord([add(1, 1), add(2, 2), add(3, 3)], app.signature('interop.xsum')).applyAsync()).get({ timeout: 20 })).toBe(12);
  });

  it('remote control reaches the Python worker', async () => {
    const replies = await app.control.ping({ timeout: 2 });
    expect(replies['py@interop']).toEqual({ ok: 'pong' });
    const set = await app.control.rateLimit('interop.add', '10/m', { timeout: 2 });
    expect(set['py@interop']).toEqual({ ok: 'new rate limit set successfully' });
  });

  it('nothing celeriac sent made the Python worker exit', () => {
    expect(worker.alive()).toBe(true);
  });
});
