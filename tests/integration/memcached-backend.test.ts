// The memcached result backend on the suite's memcached: items as Python's clients write them (text flag, Celery's
// key names), result_expires as the item TTL (a UNIX time past 30 days, as memcached requires), Celery's
// `result_backend = 'cache'` + `cache_backend` spelling, and errors that say what to do before anything is sent.

import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { ResultBackend } from '../../src/backends/backend.js';
import { openBackend } from '../../src/backends/index.js';
import { Celery, ImproperlyConfigured, OperationalError } from '../../src/index.js';
import { buildResultMeta } from '../../src/protocol/result-meta.js';
import { freePort } from '../support/servers.js';

const url = inject('memcachedUrl');
const port = Number(/:(\d+)\//.exec(url)![1]);
const opened: ResultBackend[] = [];
afterAll(async () => {
  await Promise.all(opened.map((b) => b.close()));
});

async function open(extra: { expiresMs?: number; serializer?: string } = {}): Promise<ResultBackend> {
  const backend = await openBackend({ url: `cache+${url}`, serializer: extra.serializer ?? 'json', options: {}, extended: false, expiresMs: extra.expiresMs });
  opened.push(backend);
  return backend;
}

/** memcached's meta get (`mg <key> t f v`): remaining TTL (-1 = none), client flags and value, straight from the server. */
function metaGet(key: string): Promise<{ ttl: number; flags: number; value: string } | null> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let data = '';
    sock.on('connect', () => sock.write(`mg ${key} t f v\r\n`));
    sock.on('data', (b) => {
      data += b.toString('latin1');
      if (data.startsWith('EN\r\n')) {
        sock.end();
        resolve(null);
      }
      const m = /^VA (\d+) t(-?\d+) f(\d+)\r\n/.exec(data);
      if (m && data.length >= m[0].length + Number(m[1]) + 2) {
        sock.end();
        resolve({ ttl: Number(m[2]), flags: Number(m[3]), value: data.slice(m[0].length, m[0].length + Number(m[1])) });
      }
    });
    sock.on('error', reject);
  });
}

describe('memcached result backend', () => {
  it('stores celery-task-meta-<id> as UTF-8 text (flag 16, as pylibmc and python-memcache do) with result_expires as TTL', async () => {
    const backend = await open({ expiresMs: 3_600_000 });
    const id = randomUUID();
    await backend.store(id, buildResultMeta({ taskId: id, status: 'SUCCESS', result: { word: 'é三' } }));
    const item = await metaGet(`celery-task-meta-${id}`);
    expect(item!.flags).toBe(16);
    expect(item!.ttl).toBeGreaterThan(3_500);
    expect(item!.ttl).toBeLessThanOrEqual(3_600);
    expect(JSON.parse(Buffer.from(item!.value, 'latin1').toString('utf8'))).toMatchObject({ status: 'SUCCESS', result: { word: 'é三' }, task_id: id });
  });

  it('a result_expires past 30 days still expires then, not at once (memcached reads it as a UNIX time)', async () => {
    const backend = await open({ expiresMs: 40 * 86_400_000 });
    const id = randomUUID();
    await backend.store(id, buildResultMeta({ taskId: id, status: 'SUCCESS', result: 1 }));
    const item = await metaGet(`celery-task-meta-${id}`);
    expect(item!.ttl).toBeGreaterThan(39 * 86_400);
    expect((await backend.get(id))!.result).toBe(1);
  });

  it('no result_expires: the item never expires', async () => {
    const backend = await open();
    const id = randomUUID();
    await backend.store(id, buildResultMeta({ taskId: id, status: 'SUCCESS', result: 1 }));
    expect((await metaGet(`celery-task-meta-${id}`))!.ttl).toBe(-1);
  });

  it('msgpack results are stored as bytes (flag 0) and read back', async () => {
    const backend = await open({ serializer: 'msgpack' });
    const id = randomUUID();
    await backend.store(id, buildResultMeta({ taskId: id, status: 'SUCCESS', result: [1, 'two'] }));
    expect((await metaGet(`celery-task-meta-${id}`))!.flags).toBe(0);
    expect((await backend.get(id))!.result).toEqual([1, 'two']);
  });

  it('a task id that is no memcached key is refused with what to do', async () => {
    const backend = await open();
    await expect(backend.store('has space', buildResultMeta({ taskId: 'has space', status: 'SUCCESS', result: 1 }))).rejects.toThrow(/cannot be a memcached key.*UUIDs/);
  });

  it('a result larger than the item limit fails with an OperationalError saying so', async () => {
    const backend = await open();
    const id = randomUUID();
    const error = await backend.store(id, buildResultMeta({ taskId: id, status: 'SUCCESS', result: 'x'.repeat(2 << 20) })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperationalError);
    expect((error as Error).message).toMatch(/item size limit/);
  });

  it('an unreachable server fails the open, naming the server', async () => {
    const dead = await freePort();
    const started = Date.now();
    const error = await openBackend({ url: `cache+memcached://127.0.0.1:${dead}/`, serializer: 'json', options: { timeout: 1 }, extended: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperationalError);
    expect((error as Error).message).toContain(`Is memcached running at 127.0.0.1:${dead}?`);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("reads Celery's spelling: result_backend = 'cache' with cache_backend, and says what is missing without it", async () => {
    const app = new Celery('cache-alias', { broker: 'memory://cache-alias', result_backend: 'cache', cache_backend: url, cache_backend_options: { timeout: 2 } });
    try {
      expect(app.backendUrl()).toBe(`cache+${url}`);
      const backend = await app.getBackend();
      const id = randomUUID();
      await backend.store(id, buildResultMeta({ taskId: id, status: 'SUCCESS', result: 7 }));
      expect(await app.AsyncResult(id).get({ timeout: 1 })).toBe(7);
    } finally {
      await app.close();
    }
    const bare = new Celery('cache-bare', { broker: 'memory://cache-bare', result_backend: 'cache' });
    expect(() => bare.backendUrl()).toThrow(ImproperlyConfigured);
    expect(() => bare.backendUrl()).toThrow(/cache_backend is not set/);
    await bare.close();
  });
});
