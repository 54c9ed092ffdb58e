// `npm run bench:profile [-- --tasks N --runs N] [-- worker args…]`: one celeriac worker draining a pre-filled
// queue, measured by CPU time rather than wall time (so it stays comparable on a busy machine): worker and
// redis-server CPU µs per task, the drain rate, and with --cpu-prof the worker's top self-time entries.
// The table it prints is the profile summary in bench/README.md.

import { copyFileSync, readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuTicks, startWorker, TICK_US, treeCpuTicks } from './lib/procs.js';
import { restore, snapshot, startRedis } from './lib/redis-server.js';
import { summarize } from './lib/cpu-profile.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    tasks: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '1' },
    'acks-late': { type: 'boolean', default: false },
    'no-prof': { type: 'boolean', default: false },
    top: { type: 'string', default: '25' },
    save: { type: 'string' },
  },
});
const tasks = Number(flags.tasks);
const workerArgs = positionals.length ? positionals : ['-P', 'async', '-c', '200', '--prefetch-multiplier', '2'];
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Bench {
  app: { close(): Promise<void> };
  add: { delay(x: number, y: number): Promise<unknown> };
}

const redis = await startRedis();
/** Calls so far per Redis command (INFO commandstats), e.g. evalsha → 1234. */
async function commandCalls(): Promise<Map<string, number>> {
  const info = await redis.db(0).info('commandstats');
  return new Map([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1], Number(m[2])]));
}
const { createApp } = (await import(pathToFileURL(join(root, 'bench/celeriac/tasks.mjs')).href)) as { createApp(url: string): Bench };
const bench = createApp(redis.url);
try {
  for (let i = 0; i < tasks; i += 5_000) await Promise.all(Array.from({ length: Math.min(5_000, tasks - i) }, (_, j) => bench.add.delay(i + j, i + j)));
  const queue = await snapshot(redis.db(0));
  const redisPid = redis.pid;
  for (let run = 1; run <= Number(flags.runs); run++) {
    await redis.db(0).flushall();
    await restore(redis.db(0), queue);
    const dir = mkdtempSync(join(tmpdir(), 'celeriac-prof-'));
    const prof = flags['no-prof'] ? [] : ['--cpu-prof', '--cpu-prof-dir', dir];
    const load = loadavg()[0];
    const worker = startWorker({
      command: process.execPath,
      args: [...prof, join(root, 'bin/celeriac.js'), 'worker', '-A', join(root, 'bench/celeriac/worker-app.mjs'), ...workerArgs, '-l', 'warning', '--no-banner'],
      cwd: root,
      env: { BENCH_REDIS: redis.url, BENCH_ACKS_LATE: flags['acks-late'] ? '1' : '0' },
    });
    let first: { t: number; n: number; worker: number; redis: number; calls: Map<string, number> } | undefined;
    for (;;) {
      const n = await redis.db(1).dbsize();
      const t = performance.now();
      if (!first && n > 0) first = { t, n, worker: treeCpuTicks(worker.pid), redis: cpuTicks(redisPid), calls: await commandCalls() };
      if (first && n >= tasks) {
        const done = n - first.n;
        const workerUs = ((treeCpuTicks(worker.pid) - first.worker) * TICK_US) / done;
        const redisUs = ((cpuTicks(redisPid) - first.redis) * TICK_US) / done;
        const calls = await commandCalls();
        const perTask = [...calls].filter(([c]) => c !== 'dbsize' && c !== 'info').map(([c, v]) => [c, (v - (first!.calls.get(c) ?? 0)) / done] as const).filter(([, v]) => v >= 0.001);
        log(`Redis commands per task: ${perTask.map(([c, v]) => `${c} ${v.toFixed(3)}`).join(', ')}`);
        log(`run ${run}: drain ${Math.round(done / ((t - first.t) / 1000))} tasks/s; CPU per task: worker ${workerUs.toFixed(1)} µs, redis ${redisUs.toFixed(1)} µs; load ${load.toFixed(2)}`);
        break;
      }
      if (worker.exitCode() !== undefined) throw new Error(`worker exited: ${worker.output().slice(-800)}`);
      await sleep(5);
    }
    await worker.stop();
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (file) console.log(summarize(JSON.parse(readFileSync(join(dir, file), 'utf8')), Number(flags.top)));
    if (file && flags.save) copyFileSync(join(dir, file), flags.save);
    rmSync(dir, { recursive: true, force: true });
  }
} finally {
  await bench.app.close();
  await redis.stop();
}
