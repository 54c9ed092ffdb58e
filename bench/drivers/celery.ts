// Python Celery 5.2 from Debian (/usr/bin/python3): client figures come from bench/celery/client.py, timed inside
// Python; workers are `celery -A bench_app worker` with the flags the issue fixes. Broker db 0, results db 1.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Driver, DriverContext, Variant } from './driver.js';

const PYTHON = '/usr/bin/python3';
/** Threads keeping sends in flight: Celery's client has no async API. */
const SEND_THREADS = 8;
/** Reserved messages per process or thread; above the default 4 it helps no-op tasks (see bench/README.md). */
const PREFETCH = process.env.T_PREFETCH ?? '4';
const FLAGS = ['--without-gossip', '--without-mingle', '--without-heartbeat', '-l', 'warning'];

interface CeleryVariant extends Variant {
  readonly args: readonly string[];
}

export function celeryDriver({ redis, root }: DriverContext): Driver {
  const cwd = join(root, 'bench/celery');
  const env = { BENCH_REDIS: redis.url, PYTHONDONTWRITEBYTECODE: '1' };
  const variants: CeleryVariant[] = [
    { label: 'prefork -c 2', args: ['-P', 'prefork', '-c', '2', '--prefetch-multiplier', PREFETCH] },
    { label: 'threads -c 8', args: ['-P', 'threads', '-c', '8', '--prefetch-multiplier', PREFETCH] },
  ].map((v) => ({ ...v, settings: `celery -A bench_app worker ${[...v.args, ...FLAGS].join(' ')}` }));
  let version = '?';

  function python(args: string[], extraEnv: Record<string, string> = {}): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(PYTHON, args, { cwd, env: { ...process.env, ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`python3 ${args.join(' ')} exited ${code}: ${err.trim()}`))));
    });
  }
  const client = async <T>(...args: (string | number)[]) => JSON.parse(await python(['client.py', ...args.map(String)])) as T;

  return {
    system: 'Celery',
    variants,
    get version() {
      return version;
    },
    async prepare() {
      const out = await python(['-c', 'import celery, kombu, redis; print(celery.__version__, kombu.__version__, redis.__version__)']);
      const [c, k, r] = out.trim().split(' ');
      version = `celery ${c}, kombu ${k}, redis-py ${r}`;
    },
    async enqueue(mode, n) {
      const result = mode === 'awaited' ? await client<{ seconds: number }>('enqueue-awaited', n) : await client<{ seconds: number }>('enqueue-inflight', n, SEND_THREADS);
      return result.seconds;
    },
    queued: () => redis.db(0).llen('celery'),
    stored: () => redis.db(1).dbsize(),
    worker(variant, { acksLate }) {
      const v = variant as CeleryVariant;
      return { command: PYTHON, args: ['-m', 'celery', '-A', 'bench_app', 'worker', ...v.args, ...FLAGS], cwd, env: { ...env, BENCH_ACKS_LATE: acksLate ? '1' : '0' } };
    },
    async roundTrip(n, warmup) {
      return (await client<{ ms: number[] }>('roundtrip', n, warmup)).ms;
    },
    async close() {},
  };
}
