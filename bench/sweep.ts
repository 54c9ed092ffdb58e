// `npm run bench:sweep [-- --systems celeriac,bullmq --tasks N --parked N]`: how drain cost grows with the work, with
// `parked` ETA tasks (an hour ahead) waiting in the broker the whole time: drain rate and worker CPU µs per task vs
// worker concurrency, payload size and worker processes. Writes bench/results/sweep.md.

import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { bullmqDriver } from './drivers/bullmq.js';
import { celeriacDriver } from './drivers/celeriac.js';
import type { Driver, DriverFactory, TaskShape, WorkerShape } from './drivers/driver.js';
import { drain, type Drained } from './lib/drain.js';
import { startWorker } from './lib/procs.js';
import { restore, snapshot, startRedis } from './lib/redis-server.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FACTORIES: Record<string, DriverFactory> = { celeriac: celeriacDriver, bullmq: bullmqDriver };
const { values: flags } = parseArgs({
  options: {
    systems: { type: 'string', default: 'celeriac,bullmq' },
    tasks: { type: 'string', default: '5000' },
    parked: { type: 'string', default: '100000' },
  },
});
const tasks = Number(flags.tasks);
const parked = Number(flags.parked);
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Point {
  readonly label: string;
  readonly task: TaskShape;
  readonly worker: Omit<WorkerShape, 'acksLate'>;
  /** Fewer tasks for big payloads: at most this many bytes of arguments in Redis at once. */
  readonly tasks: number;
}

const MAX_BYTES = 200 * 2 ** 20;
const sized = (bytes: number) => Math.max(50, Math.min(tasks, Math.floor(MAX_BYTES / bytes)));
const POINTS: Point[] = [
  ...[1, 10, 100, 500].map((c) => ({ label: `concurrency ${c}`, task: {}, worker: { concurrency: c, processes: 1 }, tasks })),
  ...[100, 10_240, 2 ** 20].map((b) => ({ label: `payload ${b < 1024 ? `${b} B` : b < 2 ** 20 ? `${b / 1024} KB` : '1 MB'}`, task: { payloadBytes: b }, worker: { concurrency: 100, processes: 1 }, tasks: sized(b) })),
  { label: '2 processes × concurrency 100', task: {}, worker: { concurrency: 100, processes: 2 }, tasks },
];

const redis = await startRedis();
const rows = new Map<string, Map<string, Drained | string>>();
const versions: string[] = [];
try {
  for (const system of flags.systems!.split(',')) {
    const driver: Driver = FACTORIES[system.trim().toLowerCase()]({ redis, root });
    try {
      await driver.prepare();
      versions.push(driver.version);
      const variant = driver.variants[0];
      await redis.db(0).flushall();
      await redis.db(1).flushall();
      log(`${driver.system}: parking ${parked} ETA tasks…`);
      for (let i = 0; i < parked; i += 10_000) await driver.enqueue('in-flight', Math.min(10_000, parked - i), { delaySeconds: 3600 });
      // A worker hands the parked tasks to the broker's own schedule (celeriac) before measuring; BullMQ's are there already.
      const settler = startWorker(driver.worker(variant, { acksLate: false }));
      while ((await driver.queued()) > 0) await sleep(200);
      await sleep(1000); // the last batch taken is handed back too
      await settler.stop();
      const parkedState = await snapshot(redis.db(0));
      for (const point of POINTS) {
        await redis.db(0).flushall();
        await redis.db(1).flushall();
        await restore(redis.db(0), parkedState);
        await driver.enqueue('in-flight', point.tasks, point.task);
        const worker = startWorker(driver.worker(variant, { acksLate: false, ...point.worker }));
        const row = rows.get(point.label) ?? new Map<string, Drained | string>();
        rows.set(point.label, row);
        try {
          // Concurrency 1 and 1 MB payloads are slow by nature: only a stall fails the point.
          const result = await drain(driver, worker, point.tasks + 1, redis.pid, 10);
          row.set(driver.system, result);
          log(`${driver.system} ${point.label}: ${Math.round(result.rate)} tasks/s, worker ${result.workerCpu.toFixed(1)} µs/task (load ${loadavg()[0].toFixed(1)})`);
        } catch (error) {
          row.set(driver.system, (error as Error).message.slice(0, 80));
          log(`${driver.system} ${point.label} FAILED: ${(error as Error).message}`);
        } finally {
          await worker.stop();
        }
      }
    } finally {
      await driver.close().catch(() => undefined);
    }
  }
} finally {
  await redis.stop();
}

const systems = [...new Set([...rows.values()].flatMap((r) => [...r.keys()]))];
const cell = (d: Drained | string | undefined) => (d === undefined ? 'n/a' : typeof d === 'string' ? 'failed' : `${Math.round(d.rate).toLocaleString('en-US')} tasks/s, ${d.workerCpu.toFixed(0)} µs`);
const lines = [
  `Drain with ${parked.toLocaleString('en-US')} ETA tasks parked (an hour ahead); ${tasks.toLocaleString('en-US')} tasks per point (fewer for big payloads); one run each; worker CPU µs per task. ${versions.join('; ')}. Load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(', ')}.`,
  '',
  `| point | ${systems.join(' | ')} |${systems.length === 2 ? ' ratio |' : ''}`,
  `|---|${systems.map(() => '---:').join('|')}|${systems.length === 2 ? '---:|' : ''}`,
  ...[...rows].map(([label, row]) => {
    const [a, b] = systems.map((s) => row.get(s));
    const ratio = systems.length === 2 && typeof a === 'object' && typeof b === 'object' ? ` ${(a.rate / b.rate).toFixed(2)}× |` : systems.length === 2 ? ' n/a |' : '';
    return `| ${label} | ${systems.map((s) => cell(row.get(s))).join(' | ')} |${ratio}`;
  }),
];
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/sweep.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
