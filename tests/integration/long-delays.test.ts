// Delays longer than Node's 2^31−1 ms timer limit, on the suite's real RabbitMQ (no broker-side delay: the
// worker holds the ETA) and Redis (the broker defers it): a countdown of 25, 30 or 365 days must not run at once,
// a 30-day time limit must not kill a short task, get({ timeout: 30 days }) must wait.

import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { Celery } from '../../src/index.js';
import { Worker } from '../../src/worker/worker.js';

const DAY_S = 86_400;
const brokers = { amqp: inject('amqpUrl'), redis: inject('redisUrl') };
const backend = inject('redisUrl');
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function setup(broker: string) {
  const settings = { broker, backend, task_default_queue: `long-delays.${randomUUID().slice(0, 8)}` };
  const app = new Celery('long', settings);
  const client = new Celery('long-client', settings);
  const ran = new Set<string>();
  app.task((self: { request: { id: string } }) => {
    ran.add(self.request.id);
    return 'ran';
  }, { name: 'long.mark', bind: true });
  app.task(async (s: number) => {
    await new Promise((r) => setTimeout(r, s * 1000));
    return 'slept';
  }, { name: 'long.sleep' });
  const worker = new Worker(app, { banner: false, concurrency: 2, hostname: `long-${randomUUID().slice(0, 8)}@%h` });
  await worker.start();
  cleanup.push(() => client.close(), () => worker.stop('cold'));
  return { client, ran, worker };
}

describe.each(Object.entries(brokers))('long delays over %s', (name, broker) => {
  it('countdowns of 25, 30 and 365 days are held, while a 1 s countdown sent after them runs', async () => {
    const { client, ran, worker } = await setup(broker);
    const long = await Promise.all([25, 30, 365].map((days) => client.sendTask('long.mark', [], {}, { countdown: days * DAY_S })));
    const short = await client.sendTask('long.mark', [], {}, { countdown: 1 });
    // By the time the 1 s countdown has run, a long one whose timer overflowed (fires after 1 ms) would have run too.
    expect(await short.get({ timeout: 20 })).toBe('ran');
    for (const r of long) {
      expect(ran.has(r.id)).toBe(false);
      expect(await r.state()).toBe('PENDING');
    }
    if (name === 'amqp') {
      // The worker holds them in memory (RabbitMQ has no delay): a 30-day get-out would be a wait of 30 days.
      const scheduled = await client.control.inspect({ destination: [worker.hostname], timeoutMs: 30 * DAY_S * 1000 }).scheduled();
      const ids = (scheduled[worker.hostname] ?? []).map((s) => (s as { request: { id: string } }).request.id);
      expect(ids.sort()).toEqual(long.map((r) => r.id).sort());
    }
  });

  it('a 30-day time limit does not kill a 0.3 s task; get({ timeout: 30 days }) waits for it', async () => {
    const { client } = await setup(broker);
    const r = await client.sendTask('long.sleep', [0.3], {}, { timeLimit: 30 * DAY_S, softTimeLimit: 30 * DAY_S });
    expect(await r.get({ timeout: 30 * DAY_S })).toBe('slept');
    expect(await r.state()).toBe('SUCCESS');
  });
});
