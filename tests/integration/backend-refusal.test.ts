// A result backend that cannot be opened stops things before anything moves: a client refuses to send (nothing is
// published) and a worker refuses to start (nothing is consumed), each with an error that says what to do.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celery, ImproperlyConfigured, OperationalError, UnknownScheme } from '../../src/index.js';
import { freePort, startRedis, type RedisServer } from '../support/servers.js';
import { repoRoot } from '../support/shared.js';

let redis: RedisServer;
let raw: Redis;
beforeAll(async () => {
  redis = await startRedis();
  raw = new Redis(redis.url);
});
afterAll(async () => {
  raw?.disconnect();
  await redis?.stop();
});

describe('a result backend that cannot be opened', () => {
  const cases: [string, () => Promise<string>, new (...args: never[]) => Error, RegExp][] = [
    ['an unreachable memcached', async () => `cache+memcached://127.0.0.1:${await freePort()}/`, OperationalError, /Is memcached running at 127\.0\.0\.1:\d+\?/],
    ['a directory that does not exist', async () => 'file:///no/such/celeriac/dir', ImproperlyConfigured, /Create the directory/],
    ['MongoDB, which celeriac does not provide', async () => 'mongodb://127.0.0.1:27017/', UnknownScheme, /MongoDB.*no machine celeriac is tested on/],
  ];
  it.each(cases)('%s: the client refuses to send and publishes nothing', async (_what, backendUrl, errorClass, message) => {
    const queue = `refusal-${Math.random().toString(36).slice(2)}`;
    const app = new Celery('refusal', { broker: redis.url, backend: await backendUrl(), task_default_queue: queue, cache_backend_options: { timeout: 1 } });
    try {
      const error = await app.sendTask('tasks.add', [1, 2]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(errorClass);
      expect((error as Error).message).toMatch(message);
      expect(await raw.llen(queue)).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('a worker refuses to start, takes no message, and exits with a line that says what to check', async () => {
    const queue = 'refusal-worker';
    const client = new Celery('refusal-client', { broker: redis.url, task_default_queue: queue });
    await client.sendTask('interop.add', [1, 2]);
    await client.close();
    expect(await raw.llen(queue)).toBe(1);
    const dead = await freePort();
    const child = spawn(process.execPath, [join(repoRoot, 'bin/celeriac.js'), 'worker', '-A', join(repoRoot, 'tests/fixtures/interop-app.ts'), '-b', redis.url, '--result-backend', `cache+memcached://127.0.0.1:${dead}/`, '-Q', queue, '-l', 'info'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(69);
    expect(output).toMatch(/Is memcached running at 127\.0\.0\.1:\d+\?/);
    expect(output).not.toMatch(/ready\./);
    expect(await raw.llen(queue)).toBe(1);
  });
});
