// Waiting for a drain: polls the driver's result count until every task has a result, and measures the rate and
// the CPU µs per task of the worker's process tree and of redis-server over the same window.

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Driver } from '../drivers/driver.js';
import { cpuTicks, TICK_US, treeCpuTicks, type RunningWorker } from './procs.js';

const rate = (n: number, seconds: number) => n / seconds;

export interface Drained {
  startup: number;
  rate: number;
  /** CPU µs per task over the same window: the worker's process tree and redis-server. */
  workerCpu: number;
  redisCpu: number;
}

/**
 * Waits until `target` results are stored; start-up is spawn → first result, the rate is measured after it. A system
 * slower than `minRate` tasks/s is taken to be broken.
 */
export async function drain(driver: Driver, worker: RunningWorker, target: number, redisPid: number, minRate = 200): Promise<Drained> {
  const deadline = worker.startedAt + 30_000 + (target / minRate) * 1000;
  let first: { t: number; n: number; worker: number; redis: number } | undefined;
  for (;;) {
    const n = await driver.stored();
    const t = performance.now();
    if (!first && n > 0) first = { t, n, worker: treeCpuTicks(worker.pid), redis: cpuTicks(redisPid) };
    if (first && n >= target) {
      // Count from the first poll that saw a result: the results before it fall in the start-up figure.
      const done = n - first.n;
      return {
        startup: (first.t - worker.startedAt) / 1000,
        rate: done === 0 ? Number.NaN : rate(done, (t - first.t) / 1000),
        workerCpu: ((treeCpuTicks(worker.pid) - first.worker) * TICK_US) / done,
        redisCpu: ((cpuTicks(redisPid) - first.redis) * TICK_US) / done,
      };
    }
    if (worker.exitCode() !== undefined) throw new Error(`worker exited (${worker.exitCode()}) with ${n}/${target} results: ${worker.output().slice(-800)}`);
    if (t > deadline) throw new Error(`drain timed out with ${n}/${target} results stored: ${worker.output().slice(-800)}`);
    await sleep(5);
  }
}

