// Issue 19 items 3 and 7 against a real worker process on a private Redis: each hostile message is logged, rejected
// and (where its id is known) stored as FAILURE; the worker stays up, its memory bounded, and runs the next task.
// Peak RSS (VmHWM) of the worker is printed after each bomb for the closing note.

import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celery, type RemoteTaskError } from '../../src/index.js';
import { brotliBomb, deepJson, invalidUtf8Body, zlibBomb } from '../fixtures/hostile/index.js';
import { startCeleriacWorker, type Proc } from '../interop/harness.js';
import { repoRoot } from '../support/shared.js';
import { startRedis, type RedisServer } from '../support/servers.js';

const fixture = join(repoRoot, 'tests/fixtures/hardening-app.ts');

/** A kombu Redis envelope around raw body bytes. */
function envelope(body: Uint8Array, headers: Record<string, unknown>, contentType = 'application/json', queue = 'celery'): string {
  return JSON.stringify({
    body: Buffer.from(body).toString('base64'), 'content-encoding': 'utf-8', 'content-type': contentType, headers,
    properties: { body_encoding: 'base64', delivery_info: { exchange: '', routing_key: queue }, delivery_tag: randomUUID() },
  });
}

/** Peak resident memory of a process so far, in MiB (Linux VmHWM). */
function peakRssMiB(pid: number): number {
  const kib = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return Math.round(kib / 1024);
}

/** Resolves once `proc` has printed text matching `pattern` (polls its collected output). */
async function printed(proc: Proc, pattern: RegExp, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!pattern.test(proc.output())) {
    if (Date.now() > until) throw new Error(`Never printed ${pattern}:\n${proc.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A worker of the hardening app on a private Redis, with a client and a raw connection; stopped after the block. */
function hardeningWorker(workerArgs: string[], queue = 'celery') {
  const ctx = {} as { server: RedisServer; worker: Proc; client: Celery; redis: Redis };
  beforeAll(async () => {
    ctx.server = await startRedis();
    const urls = { broker: ctx.server.url, backend: ctx.server.url.replace(/\/0$/, '/1') };
    ctx.worker = await startCeleriacWorker(urls, workerArgs, fixture);
    ctx.client = new Celery('client', { broker: urls.broker, backend: urls.backend, task_default_queue: queue });
    ctx.redis = new Redis(urls.broker);
  }, 60_000);
  afterAll(async () => {
    ctx.redis?.disconnect();
    await ctx.client?.close();
    await ctx.worker?.stop('SIGKILL');
    await ctx.server?.stop();
  });
  return ctx;
}

describe('hostile task messages on the async pool', () => {
  const ctx = hardeningWorker(['-c', '1', '-n', 'hostile@hardening']);

  const failure = async (id: string) => (await ctx.client.AsyncResult(id).get({ timeout: 30, propagate: false })) as RemoteTaskError;

  it('refuses zlib and brotli bombs after at most worker_max_decompressed_size bytes (FAILURE DecodeError)', async () => {
    const pid = ctx.worker.child.pid!;
    const before = peakRssMiB(pid);
    const peaks: Record<string, number> = {};
    for (const [name, bomb, header] of [['zlib', zlibBomb(), 'application/x-gzip'], ['brotli', brotliBomb(), 'application/x-brotli']] as const) {
      const id = `${name}-bomb-${randomUUID()}`;
      await ctx.redis.lpush('celery', envelope(bomb, { task: 'hardening.echo', id, compression: header }));
      const error = await failure(id);
      expect(error.excType).toBe('DecodeError');
      expect(error.message).toMatch(/expands past 67108864 bytes/);
      peaks[name] = peakRssMiB(pid);
    }
    console.log(`peak RSS of the worker: ${before} MiB at start, ${peaks.zlib} MiB after the 1 GiB zlib bomb, ${peaks.brotli} MiB after the 1 GiB brotli bomb`);
    expect(ctx.worker.output()).toMatch(/Rejected message for task hardening\.echo\[zlib-bomb-.*expands past 67108864 bytes/);
    // Bounded: a bomb costs at most the 64 MiB bound plus its own size, never the gigabyte it describes.
    expect(peaks.brotli! - before).toBeLessThan(400);
    expect(await (await ctx.client.sendTask('hardening.echo', ['after the bombs'])).get({ timeout: 30 })).toBe('after the bombs');
  }, 120_000);

  it('checks accept_content before decompressing: a pickled bomb is refused unread, nothing stored', async () => {
    const id = `pickled-bomb-${randomUUID()}`;
    await ctx.redis.lpush('celery', envelope(zlibBomb(), { task: 'hardening.echo', id, compression: 'application/x-gzip' }, 'application/x-python-serialize'));
    await printed(ctx.worker, new RegExp(`${id}.*untrusted content of type application/x-python-serialize`));
    expect(await ctx.client.AsyncResult(id).state()).toBe('PENDING');
  }, 60_000);

  it('refuses a task id that is not a string (no result under "[object Object]")', async () => {
    await ctx.redis.lpush('celery', envelope(Buffer.from('[[1], {}, {}]'), { task: 'hardening.echo', id: { a: 1 } }));
    await printed(ctx.worker, /Rejected an unreadable message from queue celery: Task id \(queue celery\) must be a non-empty string; got \{"a":1\}/);
    expect(await ctx.client.AsyncResult('[object Object]').state()).toBe('PENDING');
  }, 60_000);

  it('a 2 MB unregistered task name: FAILURE NotRegistered without a did-you-mean search or a 2 MB log line', async () => {
    const id = `long-name-${randomUUID()}`;
    await ctx.redis.lpush('celery', envelope(Buffer.from('[[], {}, {}]'), { task: 'hardening.echp'.repeat(150_000), id }));
    const error = await failure(id);
    expect(error.excType).toBe('NotRegistered');
    const line = ctx.worker.output().split('\n').find((l) => l.includes(`Received unregistered task`) && l.includes(id))!;
    expect(line).toMatch(/… \(2100000 characters\)/);
    expect(line.length).toBeLessThan(1000);
  }, 60_000);

  it('refuses a JSON body with invalid UTF-8 (FAILURE DecodeError), never runs it with U+FFFD', async () => {
    const id = `bad-utf8-${randomUUID()}`;
    await ctx.redis.lpush('celery', envelope(invalidUtf8Body(), { task: 'hardening.echo', id }));
    const error = await failure(id);
    expect(error.excType).toBe('DecodeError');
    expect(error.message).toMatch(/not valid UTF-8/);
    expect(await ctx.redis.llen('celery')).toBe(0);
    expect(ctx.worker.alive()).toBe(true);
  }, 60_000);
});

describe.each(['threads', 'prefork'])('hostile task messages on the %s pool', (pool) => {
  const ctx = hardeningWorker(['-P', pool, '-c', '1', '-Q', pool, '-n', `${pool}@hardening`], pool);

  it('arguments nested 3,300 deep: FAILURE EncodeError at once, and the one slot runs the next task', async () => {
    const id = `deep-${randomUUID()}`;
    await ctx.redis.lpush(pool, envelope(Buffer.from(`[[${deepJson(3300)}], {}, {}]`), { task: 'hardening.echo', id }, 'application/json', pool));
    const error = (await ctx.client.AsyncResult(id).get({ timeout: 30, propagate: false })) as RemoteTaskError;
    expect(error.excType).toBe('EncodeError');
    expect(error.message).toMatch(new RegExp(`cannot be passed to a ${pool} pool child: its arguments are nested too deeply`));
    expect(ctx.worker.output()).toMatch(new RegExp(`hardening\\.echo\\[${id}\\] failed before it ran`));
    expect(await (await ctx.client.sendTask('hardening.echo', ['next'])).get({ timeout: 30 })).toBe('next');
  }, 90_000);
});

describe('a result no serializer can encode', () => {
  it('is stored as FAILURE EncodeError at once on the SQLite backend, not retried as a transient error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'celeriac-hostile-'));
    const urls = { broker: `sqlite:///${join(dir, 'broker.db')}`, backend: `sqlite:///${join(dir, 'results.db')}` };
    const worker = await startCeleriacWorker(urls, ['-c', '1', '-n', 'encode@hardening'], fixture);
    const client = new Celery('client', { broker: urls.broker, backend: urls.backend, broker_transport_options: { polling_interval: 0.05 } });
    try {
      const error = (await (await client.sendTask('hardening.cycle')).get({ timeout: 25, propagate: false })) as RemoteTaskError;
      expect(error.excType).toBe('EncodeError');
      expect(error.message).toMatch(/refers to itself \(a cycle\)/);
      expect(worker.output()).not.toMatch(/retrying for up to/);
    } finally {
      await client.close();
      await worker.stop('SIGKILL');
    }
  }, 90_000);
});
