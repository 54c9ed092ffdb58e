// The BullMQ worker process of the benchmark: one Worker running the no-op add job on the Redis in BENCH_REDIS.
// Plain JavaScript so the measured process loads no TypeScript loader (its RSS and start-up are BullMQ's own).
import { Worker } from 'bullmq';

const url = new URL(process.env.BENCH_REDIS);
const connection = { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null };
const worker = new Worker('bench', async (job) => job.data.x + job.data.y, {
  connection,
  concurrency: Number(process.env.BENCH_CONCURRENCY),
});
worker.on('failed', (job, error) => console.error(`job ${job?.id} failed: ${error.message}`));
process.once('SIGTERM', () => worker.close().then(() => process.exit(0)));
