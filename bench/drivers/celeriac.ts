// celeriac itself, built from this checkout (npm run build): the client is bench/celeriac/tasks.mjs in this process,
// workers are `node bin/celeriac.js worker -A bench/celeriac/worker-app.mjs`. Broker db 0, results db 1.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { Driver, DriverContext, Variant } from './driver.js';

/** The part of celeriac's public API the benchmark uses, typed here so the harness compiles without dist/. */
interface AsyncResult {
  get(options: { timeout: number }): Promise<unknown>;
}
interface Bench {
  app: { close(): Promise<void> };
  add: {
    delay(x: number | string, y: number | string): Promise<AsyncResult>;
    applyAsync(args: unknown[], kwargs?: Record<string, unknown>, options?: { countdown?: number }): Promise<AsyncResult>;
  };
}

interface CeleriacVariant extends Variant {
  readonly args: readonly string[];
}

/** The async pool: many no-op tasks in flight on one event loop, a prefetch window of c × 2 messages. */
const ASYNC_ARGS = ['-P', 'async', '-c', '200', '--prefetch-multiplier', '2'];
/** Two worker nodes (processes), each consuming from the broker directly with its own async pool: one per core. */
const NODES_ARGS = ['-P', 'async', '-c', '100', '--prefetch-multiplier', '2', '--nodes', '2'];
/** The process pool, when the CLI offers one: one child per core. */
const PREFORK_ARGS = ['-P', 'prefork', '-c', '2'];

function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${[command, ...args].join(' ')} exited ${code}:\n${out.trim().split('\n').slice(0, 12).join('\n')}`))));
  });
}

export function celeriacDriver({ redis, root }: DriverContext): Driver {
  const cli = join(root, 'bin/celeriac.js');
  const module = join(root, 'bench/celeriac/worker-app.mjs');
  const variants: CeleriacVariant[] = [];
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  let bench: Bench | undefined;
  const client = () => {
    if (!bench) throw new Error('celeriac is not prepared');
    return bench;
  };
  const addVariant = (label: string, args: readonly string[]) =>
    variants.push({ label, args, settings: `celeriac worker -A bench/celeriac/worker-app.mjs ${args.join(' ')} -l warning` });

  return {
    system: 'celeriac',
    variants,
    version: `celeriac ${version}`,
    async prepare() {
      if (!existsSync(join(root, 'src/transports/redis'))) throw new Error('src/transports/redis does not exist yet: no Redis transport to measure.');
      await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], root);
      // Only the pools this build's CLI offers are measured.
      const help = await run(process.execPath, [cli, 'worker', '--help'], root);
      addVariant('async', ASYNC_ARGS);
      if (/--nodes/.test(help)) addVariant('async --nodes 2', NODES_ARGS);
      if (/prefork/.test(help)) addVariant('prefork -c 2', PREFORK_ARGS);
      const tasks = (await import(pathToFileURL(join(root, 'bench/celeriac/tasks.mjs')).href)) as { createApp(url: string): Bench };
      bench = tasks.createApp(redis.url);
    },
    async enqueue(mode, n, shape = {}) {
      const { add } = client();
      const payload = shape.payloadBytes === undefined ? undefined : 'x'.repeat(shape.payloadBytes);
      const options = shape.delaySeconds === undefined ? {} : { countdown: shape.delaySeconds };
      const send = (i: number) => add.applyAsync(payload === undefined ? [i, i] : [payload, ''], {}, options);
      await send(0);
      const start = performance.now();
      if (mode === 'awaited') for (let i = 0; i < n; i++) await send(i);
      else await Promise.all(Array.from({ length: n }, (_, i) => send(i)));
      return (performance.now() - start) / 1000;
    },
    queued: () => redis.db(0).llen('celery'),
    stored: () => redis.db(1).dbsize(),
    worker(variant, { acksLate, concurrency, processes }) {
      const v = variant as CeleriacVariant;
      const shape = [...(concurrency === undefined ? [] : ['-c', String(concurrency)]), ...(processes === undefined ? [] : ['--nodes', String(processes)])];
      return {
        command: process.execPath,
        args: [cli, 'worker', '-A', module, ...v.args, ...shape, '-l', 'warning', '--no-banner'],
        cwd: root,
        env: { BENCH_REDIS: redis.url, BENCH_ACKS_LATE: acksLate ? '1' : '0' },
      };
    },
    async roundTrip(n, warmup) {
      const { add } = client();
      const latencies: number[] = [];
      for (let i = 0; i < warmup + n; i++) {
        const start = performance.now();
        await (await add.delay(i, i)).get({ timeout: 10 });
        if (i >= warmup) latencies.push(performance.now() - start);
      }
      return latencies;
    },
    async close() {
      await bench?.app.close();
    },
  };
}
