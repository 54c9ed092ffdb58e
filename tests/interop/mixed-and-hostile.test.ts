// Python and celeriac workers sharing one queue; old protocol-1 messages; hostile entries on the Redis queue
// that a celeriac worker must log, reject and survive (REDIS-WIRE.md §13.13).

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Celery, RemoteTaskError } from '../../src/index.js';
import { pushedEnvelopes, redisCaptures } from '../support/shared.js';
import { redisUrls, startCeleriacWorker, startPythonWorker, type Proc } from './harness.js';

async function flush(urls: { broker: string; backend: string }) {
  for (const url of [urls.broker, urls.backend]) {
    const r = new Redis(url);
    await r.flushdb();
    r.disconnect();
  }
}

describe('Python and celeriac workers on one queue', () => {
  const urls = redisUrls(inject('redisUrl'), 6);
  let py: Proc;
  let ts: Proc;
  let app: Celery;
  beforeAll(async () => {
    await flush(urls);
    [py, ts] = await Promise.all([startPythonWorker(urls, { hostname: 'py@mixed', concurrency: 2 }), startCeleriacWorker(urls, ['-n', 'ts@mixed', '-c', '1', '--prefetch-multiplier', '1'])]);
    app = new Celery('client', { broker: urls.broker, backend: urls.backend });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await Promise.all([py?.stop(), ts?.stop()]);
  });

  it('both take work from the same queue and every task succeeds once', async () => {
    // Python's Redis consumer fetches in bursts with pauses of seconds; slow tasks on one celeriac slot leave it work,
    // and context probes between them show who ran what.
    const results = [];
    const probes = [];
    for (let i = 0; i < 40; i++) {
      results.push(await app.sendTask('interop.sleep', [0.3]));
      probes.push(await app.sendTask<Record<string, string>>('interop.echo_context'));
    }
    await Promise.all(results.map((r) => r.get({ timeout: 60 })));
    const hosts = new Set((await Promise.all(probes.map((r) => r.get({ timeout: 60 })))).map((v) => v.hostname));
    expect(hosts).toEqual(new Set(['py@mixed', 'ts@mixed']));
  });
});

describe('hostile input on the queue of a celeriac worker', () => {
  const urls = redisUrls(inject('redisUrl'), 8);
  let ts: Proc;
  let app: Celery;
  let redis: Redis;
  beforeAll(async () => {
    await flush(urls);
    ts = await startCeleriacWorker(urls, ['-n', 'ts@hostile']);
    app = new Celery('client', { broker: urls.broker, backend: urls.backend });
    redis = new Redis(urls.broker);
  }, 60_000);
  afterAll(async () => {
    redis?.disconnect();
    await app?.close();
    expect(await ts?.stop()).toBe(0);
  });

  const envelope = (body: string, contentType: string, headers: Record<string, unknown>, properties: Record<string, unknown> = { delivery_info: { exchange: '', routing_key: 'celery' }, delivery_tag: randomUUID() }) =>
    JSON.stringify({ body: Buffer.from(body).toString('base64'), 'content-encoding': 'utf-8', 'content-type': contentType, headers, properties: { body_encoding: 'base64', ...properties } });

  it('logs, rejects and goes on; stores FAILURE where the id is known; loses nothing else', async () => {
    const v1 = pushedEnvelopes(redisCaptures().find(([f]) => f.startsWith('18-'))![1])[0]!;
    const v1Doc = JSON.parse(v1.raw);
    const v1Id = randomUUID();
    const v1Body = { ...JSON.parse(Buffer.from(v1Doc.body, 'base64').toString()), id: v1Id, eta: null, expires: null };
    v1Doc.body = Buffer.from(JSON.stringify(v1Body)).toString('base64');
    v1Doc.properties.delivery_tag = randomUUID();
    const big = 'x'.repeat(10 * 1024 * 1024);
    await redis.lpush('celery',
      'not json at all',
      '{"body": 5}',
      envelope('[[2, 3], {}, {}]', 'application/json', { task: 'interop.add', id: 'no-delivery-info' }, { delivery_tag: randomUUID() }),
      envelope('[[5, 5], {}]', 'application/json', { task: 'interop.add', id: 'bad-body' }),
      envelope('(lp0\n.', 'application/x-python-serialize', { task: 'interop.add', id: 'pickled' }),
      envelope(JSON.stringify([[big, 'y'], {}, {}]), 'application/json', { task: 'interop.add', id: 'ten-megabytes' }),
      JSON.stringify(v1Doc),
    );
    expect(await app.AsyncResult('no-delivery-info').get({ timeout: 20 })).toBe(5);
    const badBody = (await app.AsyncResult('bad-body').get({ timeout: 20, propagate: false })) as RemoteTaskError;
    expect(badBody.excType).toBe('DecodeError');
    expect(((await app.AsyncResult('ten-megabytes').get({ timeout: 30 })) as string).length).toBe(big.length + 1);
    expect(await app.AsyncResult(v1Id).get({ timeout: 20 })).toBe(v1Body.args[0] + v1Body.args[1]);
    expect(await (await app.sendTask('interop.add', [20, 22])).get({ timeout: 20 })).toBe(42);
    expect(await app.AsyncResult('pickled').state()).toBe('PENDING');
    expect(ts.alive()).toBe(true);
    expect(ts.output()).toMatch(/not JSON/);
    expect(ts.output()).toMatch(/untrusted content of type application\/x-python-serialize/);
    expect(await redis.llen('celery')).toBe(0);
  }, 120_000);
});
