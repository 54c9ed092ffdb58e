// Global setup of the `servers` project: start redis-server, RabbitMQ, PostgreSQL and memcached in parallel, check
// Python Celery, provide their URLs to tests (inject('redisUrl') …) and stop everything afterwards. Failing, never
// skipping.

import type { TestProject } from 'vitest/node';
import { checkPythonCelery, type PythonCelery } from './python.js';
import { startMemcached, startPostgres, startRabbitMQ, startRedis, type ServerHandle } from './servers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** redis://127.0.0.1:PORT/0 of the suite's redis-server; tests pick their own db or key prefix. */
    redisUrl: string;
    /** amqp://guest:guest@127.0.0.1:PORT// of the suite's RabbitMQ node. */
    amqpUrl: string;
    /** postgresql://postgres:postgres@127.0.0.1:PORT/postgres of the suite's private cluster. */
    postgresUrl: string;
    /** memcached://127.0.0.1:PORT/ of the suite's memcached; tests use random task ids, never flush it. */
    memcachedUrl: string;
    pythonCelery: PythonCelery;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started: ServerHandle[] = [];
  const track = <T extends ServerHandle>(p: Promise<T>) => p.then((s) => (started.push(s), s));
  const teardown = async () => {
    await Promise.allSettled(started.map((s) => s.stop()));
  };
  const results = await Promise.allSettled([
    track(startRedis()),
    track(startRabbitMQ()),
    track(startPostgres()),
    Promise.resolve().then(checkPythonCelery),
    track(startMemcached()),
  ]);
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length) {
    await teardown();
    throw new Error(`The servers test project cannot run:\n${failures.map((f) => `- ${(f.reason as Error).message}`).join('\n')}`);
  }
  const [redis, rabbit, postgres, python, memcached] = results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [ServerHandle, ServerHandle, ServerHandle, PythonCelery, ServerHandle];
  project.provide('redisUrl', redis.url);
  project.provide('amqpUrl', rabbit.url);
  project.provide('postgresUrl', postgres.url);
  project.provide('pythonCelery', python);
  project.provide('memcachedUrl', memcached.url);
  return teardown;
}
