// The BullMQ worker process of the benchmark: one Worker running the no-op add job on the Redis in BENCH_REDIS.
// Plain JavaScript so the measured process loads no TypeScript loader (its RSS and start-up are BullMQ's own).
// BENCH_PROCESSES > 1: this process only forks that many copies, passes SIGTERM on and waits for them.
import { fork } from 'node:child_process';
import { Worker } from 'bullmq';

const processes = Number(process.env.BENCH_PROCESSES ?? 1);
if (processes > 1) {
  const children = Array.from({ length: processes }, () => fork(process.argv[1], { env: { ...process.env, BENCH_PROCESSES: '1' } }));
  let left = children.length;
  for (const c of children) c.once('exit', () => --left === 0 && process.exit(0));
  process.once('SIGTERM', () => children.forEach((c) => c.kill('SIGTERM')));
} else {
  const url = new URL(process.env.BENCH_REDIS);
  const connection = { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null };
  const worker = new Worker('bench', async (job) => job.data.x + job.data.y, {
    connection,
    concurrency: Number(process.env.BENCH_CONCURRENCY),
  });
  worker.on('failed', (job, error) => console.error(`job ${job?.id} failed: ${error.message}`));
  process.once('SIGTERM', () => worker.close().then(() => process.exit(0)));
}
