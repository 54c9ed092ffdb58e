// Memcached results shared with Python Celery 5.2.6 (Celery's cache backend on pylibmc), both ways: a Python client
// reads a celeriac worker's results, and a celeriac client configured the Celery way (result_backend = 'cache',
// cache_backend) reads a Python worker's. A private redis-server carries the tasks.

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Celery, RemoteTaskError } from '../../src/index.js';
import { startRedis, type RedisServer } from '../support/servers.js';
import { py, startCeleriacWorker, startPythonWorker, type Proc, type PyOutcome, type Urls } from './harness.js';

const memcached = inject('memcachedUrl');
let redis: RedisServer;
let toTs: Urls;
let toPy: Urls;
const workers: Proc[] = [];

beforeAll(async () => {
  redis = await startRedis();
  const root = redis.url.replace(/\/\d*$/, '');
  toTs = { broker: `${root}/0`, backend: `cache+${memcached}` };
  toPy = { broker: `${root}/1`, backend: `cache+${memcached}` };
  workers.push(...(await Promise.all([startCeleriacWorker(toTs), startPythonWorker(toPy, { pool: 'solo', concurrency: 1 })])));
}, 60_000);

afterAll(async () => {
  const codes = await Promise.all(workers.map((w) => w.stop()));
  await redis?.stop();
  expect(codes).toEqual([0, 0]);
});

describe('memcached results between Python and celeriac', () => {
  it('a Python client reads a celeriac worker\'s SUCCESS (Celery\'s document, as stored) and FAILURE', async () => {
    const ok = await py<PyOutcome>(toTs, ['call', 'interop.add', '[2, 3]']);
    expect(ok).toMatchObject({ state: 'SUCCESS', result: 5 });
    expect(Object.keys(ok.meta!)).toEqual(['status', 'result', 'traceback', 'children', 'date_done', 'task_id']);
    const failed = await py<PyOutcome>(toTs, ['call', 'interop.fail', '["nope"]']);
    expect(failed).toMatchObject({ state: 'FAILURE', result: { exc_type: 'ValueError', exc_message: ['nope'], exc_module: 'builtins' } });
    expect(failed.traceback).toMatch(/ValueError: nope/);
  });

  it("a celeriac client with result_backend = 'cache' reads a Python worker's SUCCESS and FAILURE", async () => {
    const app = new Celery('client', { broker: toPy.broker, result_backend: 'cache', cache_backend: memcached });
    try {
      const sum = await app.sendTask<number>('interop.add', [20, 22]);
      expect(await sum.get({ timeout: 20, interval: 0.05 })).toBe(42);
      expect(await sum.meta()).toMatchObject({ status: 'SUCCESS', task_id: sum.id, children: [] });
      const failed = await app.sendTask('interop.fail', ['bad']);
      const error = (await failed.get({ timeout: 20, interval: 0.05, propagate: false })) as RemoteTaskError;
      expect(error).toBeInstanceOf(RemoteTaskError);
      expect(error.excType).toBe('ValueError');
      expect(await failed.traceback()).toMatch(/ValueError: bad/);
    } finally {
      await app.close();
    }
  });
});
