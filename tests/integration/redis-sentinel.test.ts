// sentinel:// URLs (broker and result backend) against a real Redis Sentinel: the master is found through the
// sentinel by its name (transport option master_name), and messages and results flow as with redis://.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Celery } from '../../src/index.js';
import { Worker } from '../../src/worker/worker.js';
import { startRedis, startRedisSentinel, type RedisServer, type ServerHandle } from '../support/servers.js';

describe('Redis through Sentinel', () => {
  let master: RedisServer;
  let sentinel: ServerHandle;
  beforeAll(async () => {
    master = await startRedis();
    sentinel = await startRedisSentinel(master.port, 'mymaster');
  });
  afterAll(async () => {
    await sentinel?.stop();
    await master?.stop();
  });

  it('a worker and a client find the master by name and exchange a task and its result', async () => {
    const settings = {
      broker: `${sentinel.url}/0`,
      backend: `${sentinel.url}/1`,
      broker_transport_options: { master_name: 'mymaster' },
      result_backend_transport_options: { master_name: 'mymaster' },
    };
    const app = new Celery('sentinel', settings);
    app.task((x: number, y: number) => x * y, { name: 'sentinel.mul' });
    const client = new Celery('sentinel-client', settings);
    const worker = new Worker(app, { banner: false, concurrency: 2 });
    await worker.start();
    try {
      const r = await client.sendTask<number>('sentinel.mul', [6, 7]);
      expect(await r.get({ timeout: 10 })).toBe(42);
      expect(await r.state()).toBe('SUCCESS');
      expect((await client.getTransport()).displayUrl).toMatch(/^sentinel:\/\/127\.0\.0\.1:\d+/);
    } finally {
      await worker.stop('warm');
      await client.close();
    }
  });
});
