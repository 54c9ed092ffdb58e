// BullMQ (npm) with its own ioredis: Queue.add for enqueue, a Worker process for drain, QueueEvents plus
// job.waitUntilFinished for the round trip. Jobs keep their return value (removeOnComplete off): that is the result.

import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Queue, QueueEvents } from 'bullmq';
import type { Driver, DriverContext, Variant } from './driver.js';

const QUEUE = 'bench';
/** Jobs a BullMQ worker runs at once; tuned for a no-op job on 2 cores (see bench/README.md). */
const CONCURRENCY = process.env.T_CONC ?? '100';

export function bullmqDriver({ redis, root }: DriverContext): Driver {
  const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
  const variant: Variant = { label: `concurrency ${CONCURRENCY}`, settings: `new Worker('bench', fn, { concurrency: ${CONCURRENCY} })` };
  const version = (createRequire(import.meta.url)('bullmq/package.json') as { version: string }).version;
  let queue: Queue | undefined;
  const open = () => (queue ??= new Queue(QUEUE, { connection }));

  return {
    system: 'BullMQ',
    variants: [variant],
    version: `bullmq ${version}`,
    async prepare() {
      await open().waitUntilReady();
    },
    async enqueue(mode, n, shape = {}) {
      const q = open();
      const payload = shape.payloadBytes === undefined ? undefined : 'x'.repeat(shape.payloadBytes);
      const options = shape.delaySeconds === undefined ? undefined : { delay: shape.delaySeconds * 1000 };
      const send = (i: number) => q.add('add', payload === undefined ? { x: i, y: i } : { x: payload, y: '' }, options);
      await send(0);
      const start = performance.now();
      if (mode === 'awaited') for (let i = 0; i < n; i++) await send(i);
      else await Promise.all(Array.from({ length: n }, (_, i) => send(i)));
      return (performance.now() - start) / 1000;
    },
    queued: () => redis.db(0).llen(`bull:${QUEUE}:wait`),
    stored: () => redis.db(0).zcard(`bull:${QUEUE}:completed`),
    worker: (_variant, { concurrency, processes }) => ({
      command: process.execPath,
      args: [join(root, 'bench/bullmq/worker.mjs')],
      cwd: root,
      env: { BENCH_REDIS: redis.url, BENCH_CONCURRENCY: String(concurrency ?? CONCURRENCY), BENCH_PROCESSES: String(processes ?? 1) },
    }),
    async roundTrip(n, warmup) {
      const q = open();
      const events = new QueueEvents(QUEUE, { connection });
      await events.waitUntilReady();
      const latencies: number[] = [];
      try {
        for (let i = 0; i < warmup + n; i++) {
          const start = performance.now();
          const job = await q.add('add', { x: i, y: i });
          await job.waitUntilFinished(events, 10_000);
          if (i >= warmup) latencies.push(performance.now() - start);
        }
      } finally {
        await events.close();
      }
      return latencies;
    },
    async close() {
      await queue?.close();
    },
  };
}
