// `npm run bench [-- --quick]`: celeriac, BullMQ and Python Celery side by side on one private redis-server.
// Each repetition measures the redis-benchmark ceiling, then every system in turn; the report gives medians.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bullmqDriver } from './drivers/bullmq.js';
import { celeriacDriver } from './drivers/celeriac.js';
import { celeryDriver } from './drivers/celery.js';
import type { Driver, DriverFactory, Variant } from './drivers/driver.js';
import { measureCeiling } from './lib/ceiling.js';
import { drain } from './lib/drain.js';
import { startWorker } from './lib/procs.js';
import { restore, snapshot, startRedis, type RedisServer } from './lib/redis-server.js';
import { FIGURES, renderMarkdown, renderText, toJson, type FigureKey, type Report } from './lib/report.js';
import { percentile } from './lib/stats.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FACTORIES: Record<string, DriverFactory> = { celeriac: celeriacDriver, bullmq: bullmqDriver, celery: celeryDriver };

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    tasks: { type: 'string' },
    systems: { type: 'string', default: Object.keys(FACTORIES).join(',') },
  },
});
const quick = flags.quick ?? false;
const options = {
  tasks: Number(flags.tasks ?? (quick ? 2_000 : 20_000)),
  roundTrips: quick ? 200 : 1_000,
  warmup: quick ? 20 : 100,
  runs: Number(flags.runs ?? 3),
  ceilingRequests: quick ? 20_000 : 100_000,
};
const systems = flags.systems!.split(',').map((s) => s.trim().toLowerCase());
for (const s of systems) if (!FACTORIES[s]) throw new Error(`Unknown system '${s}'; choose from ${Object.keys(FACTORIES).join(', ')}.`);

const log = (line: string) => process.stderr.write(`${line}\n`);
const rate = (n: number, seconds: number) => n / seconds;

async function measureSystem(driver: Driver, redis: RedisServer, report: Report, columns: number[], run: number) {
  const record = (column: number, key: FigureKey, value: number) => report.samples[column][key].push(value);
  const tag = (v?: Variant) => `[run ${run}] ${driver.system}${v ? ` ${v.label}` : ''}`;
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (error) {
      report.errors.push(`run ${run}, ${driver.system} ${what}: ${(error as Error).message}`);
      log(`${tag()} ${what} FAILED: ${(error as Error).message}`);
    }
  };
  const n = options.tasks;

  for (const [mode, key] of [['awaited', 'enqueueAwaited'], ['in-flight', 'enqueueInFlight']] as const) {
    await attempt(`enqueue ${mode}`, async () => {
      await redis.db(0).flushall();
      const before = await usedMemory(redis);
      const seconds = await driver.enqueue(mode, n);
      const queued = await driver.queued();
      if (queued !== n + 1) throw new Error(`${queued} messages queued after sending ${n + 1}`);
      record(columns[0], key, rate(n, seconds));
      if (mode === 'in-flight') record(columns[0], 'queuedBytes', ((await usedMemory(redis)) - before) / queued);
      log(`${tag()} enqueue ${mode}: ${Math.round(rate(n, seconds))} tasks/s`);
    });
  }
  // The queue the in-flight enqueue left is put back before every drain, so each worker starts from the same state.
  const queue = await snapshot(redis.db(0));
  const target = await driver.queued();
  if (target < n) return;

  for (const [i, variant] of driver.variants.entries()) {
    for (const acksLate of [false, true]) {
      await attempt(`${variant.label}${acksLate ? ' acks_late' : ''} worker`, async () => {
        await redis.db(0).flushall();
        await restore(redis.db(0), queue);
        const worker = startWorker(driver.worker(variant, { acksLate }));
        try {
          const result = await drain(driver, worker, target, redis.pid);
          if (acksLate) {
            record(columns[i], 'safeDrain', result.rate);
            log(`${tag(variant)} safe drain: ${Math.round(result.rate)} tasks/s`);
            return;
          }
          record(columns[i], 'drain', result.rate);
          record(columns[i], 'workerCpu', result.workerCpu);
          record(columns[i], 'redisCpu', result.redisCpu);
          record(columns[i], 'startup', result.startup);
          const latencies = await driver.roundTrip(options.roundTrips, options.warmup);
          record(columns[i], 'rtP50', percentile(latencies, 50));
          record(columns[i], 'rtP99', percentile(latencies, 99));
          log(`${tag(variant)} drain ${Math.round(result.rate)} tasks/s (CPU per task: worker ${result.workerCpu.toFixed(1)} µs, redis ${result.redisCpu.toFixed(1)} µs), start-up ${result.startup.toFixed(2)} s, round trip p50 ${percentile(latencies, 50).toFixed(2)} ms`);
        } finally {
          await worker.stop();
          if (!acksLate) {
            const memory = worker.memory();
            record(columns[i], 'rss', memory.rssMiB);
            record(columns[i], 'pss', memory.pssMiB);
          }
        }
      });
    }
  }
}

/** Bytes redis-server uses for data (INFO memory used_memory). */
async function usedMemory(redis: RedisServer): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.db(0).info('memory'))?.[1]);
}

function machine(redis: RedisServer): Record<string, string> {
  const cpu = cpus();
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch {
      return '?';
    }
  };
  return {
    cpu: `${cpu.length} × ${cpu[0]?.model.trim() ?? '?'}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    os: `Debian ${read('/etc/debian_version')}, Linux ${release()}`,
    node: process.version,
    redis: redis.version,
  };
}

async function main() {
  const started = performance.now();
  const redis = await startRedis();
  const drivers: Driver[] = [];
  const report: Report = {
    title: `celeriac vs BullMQ vs Python Celery, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    machine: machine(redis),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    options,
    versions: {},
    columns: [],
    samples: [],
    ceiling: {},
    notes: [],
    errors: [],
  };
  const columnsOf = new Map<Driver, number[]>();
  try {
    for (const system of systems) {
      const driver = FACTORIES[system]({ redis, root });
      try {
        await driver.prepare();
      } catch (error) {
        report.errors.push(`${driver.system} cannot run: ${(error as Error).message}`);
        log(`${driver.system} cannot run: ${(error as Error).message}`);
        await driver.close().catch(() => undefined);
        continue;
      }
      report.versions[driver.system] = driver.version;
      columnsOf.set(driver, driver.variants.map((v) => report.columns.push({ system: driver.system, variant: v.label, settings: v.settings }) - 1));
      drivers.push(driver);
    }
    report.samples = report.columns.map(() => Object.fromEntries(FIGURES.map((f) => [f.key, []])) as unknown as Record<FigureKey, number[]>);

    for (let run = 1; run <= options.runs; run++) {
      const ceiling = await measureCeiling(redis.port, options.ceilingRequests);
      for (const [test, opsPerSecond] of Object.entries(ceiling)) (report.ceiling[test] ??= []).push(opsPerSecond);
      log(`[run ${run}] redis-benchmark: ${Object.entries(ceiling).map(([t, v]) => `${t} ${Math.round(v)}`).join(', ')}`);
      for (const driver of drivers) await measureSystem(driver, redis, report, columnsOf.get(driver)!, run);
    }
  } finally {
    await Promise.all(drivers.map((d) => d.close().catch(() => undefined)));
    await redis.stop();
  }

  report.notes.push(
    `${options.tasks.toLocaleString('en-US')} no-op add(i, i) tasks per enqueue and drain; ${options.roundTrips} round trips after ${options.warmup} warm-up; ${options.runs} runs, median (min–max).`,
    'Drain: the queue is pre-filled, one worker process is started; the rate counts from the first to the last stored result, start-up (spawn to first result) is reported apart. Memory is the peak of the worker process tree over drain and round trip, sampled every 100 ms from /proc.',
    'Ratios divide celeriac\'s best variant by the other system\'s best variant (higher is better for tasks/s, lower for s, ms and MiB). BullMQ always runs with job locks (at-least-once), so its safe drain is its normal drain measured again.',
    `Total time ${((performance.now() - started) / 1000).toFixed(0)} s.`,
  );
  const dir = join(root, 'bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(toJson(report), null, 2)}\n`);
  writeFileSync(join(dir, 'latest.md'), renderMarkdown(report));
  console.log(`\n${renderText(report)}\n\nWritten: bench/results/latest.json, bench/results/latest.md`);
}

await main();
