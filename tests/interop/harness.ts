// Processes for interop tests: real Python Celery (Debian's python3-celery through the shared harness) and real
// celeriac worker processes (the built CLI), on the suite's redis-server. Each test file uses its own Redis dbs.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, sharedDir } from '../support/shared.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const HARNESS = join(sharedDir, 'protocol/interop/py_celery.py');

export interface Urls {
  broker: string;
  backend: string;
}

/** Broker on db `base`, results on db `base + 1` of the suite's Redis. */
export function redisUrls(redisUrl: string, base: number): Urls {
  const root = redisUrl.replace(/\/\d*$/, '');
  return { broker: `${root}/${base}`, backend: `${root}/${base + 1}` };
}

export interface PyOutcome {
  id: string;
  state: string;
  result: unknown;
  traceback: string | null;
  meta: Record<string, unknown> | null;
}

/** One harness command; returns its JSON line. */
export async function py<T = PyOutcome>(urls: Urls, args: string[], timeoutMs = 40_000): Promise<T> {
  const { stdout } = await run(PYTHON, [HARNESS, ...args, '--broker', urls.broker, '--backend', urls.backend], { timeout: timeoutMs, maxBuffer: 16 << 20 });
  const line = stdout.trim().split('\n').pop()!;
  return JSON.parse(line) as T;
}

export interface Proc {
  readonly child: ChildProcess;
  readonly output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  alive(): boolean;
}

/** Wait for a spawned process to print `readyPattern`; killed if it never does. */
export function watch(child: ChildProcess, readyPattern: RegExp, what: string, timeoutMs = 60_000): Promise<Proc> {
  let out = '';
  let exited = false;
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => {
    exited = true;
    r(code);
  }));
  return new Promise((resolve, reject) => {
    // A process that never gets ready is killed, so a failed start leaves nothing running behind the test.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} not ready after ${timeoutMs} ms:\n${out.slice(-3000)}`));
    }, timeoutMs);
    const onData = (b: Buffer) => {
      out += b.toString();
      if (readyPattern.test(out)) {
        clearTimeout(timer);
        resolve({
          child,
          output: () => out,
          alive: () => !exited,
          async stop(signal = 'SIGTERM') {
            if (!exited) child.kill(signal);
            const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
            const code = await exit;
            clearTimeout(t);
            return code;
          },
        });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!readyPattern.test(out)) reject(new Error(`${what} exited (${code}) before it was ready:\n${out.slice(-3000)}`));
    });
  });
}

export interface PyWorkerOptions {
  hostname?: string;
  queues?: string;
  pool?: 'solo' | 'prefork' | 'threads';
  concurrency?: number;
  events?: boolean;
  visibilityTimeout?: number;
  /** task_serializer and result_serializer of the Python app. */
  serializer?: 'json' | 'msgpack' | 'yaml';
}

/** A real Python Celery worker, ready when it logs "ready.". */
export function startPythonWorker(urls: Urls, o: PyWorkerOptions = {}): Promise<Proc> {
  const args = [HARNESS, 'worker', '--broker', urls.broker, '--backend', urls.backend, '--pool', o.pool ?? 'threads', '--concurrency', String(o.concurrency ?? 4), '--hostname', o.hostname ?? 'py@interop'];
  if (o.queues) args.push('--queues', o.queues);
  if (o.events) args.push('--events');
  if (o.visibilityTimeout !== undefined) args.push('--visibility-timeout', String(o.visibilityTimeout));
  if (o.serializer) args.push('--serializer', o.serializer);
  return watch(spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] }), /ready\./, 'Python worker');
}

/** A real celeriac worker process (built CLI) for the module `app` (default: the interop fixture); `env` adds variables (e.g. TZ). */
export function startCeleriacWorker(urls: Urls, extra: string[] = [], app = join(repoRoot, 'tests/fixtures/interop-app.ts'), env: Record<string, string> = {}): Promise<Proc> {
  const args = [join(repoRoot, 'bin/celeriac.js'), 'worker', '-A', app, '-b', urls.broker, '--result-backend', urls.backend, '-l', 'info', '-n', 'ts@interop', '-c', '4', ...extra];
  return watch(spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }), /ready\./, 'celeriac worker');
}

/** A real `celeriac beat` process (built CLI) for the module `app`, ready when it logs that it starts. */
export function startCeleriacBeat(broker: string, app: string, extra: string[] = [], env: Record<string, string> = {}): Promise<Proc> {
  const args = [join(repoRoot, 'bin/celeriac.js'), 'beat', '-A', app, '-b', broker, '-l', 'info', ...extra];
  return watch(spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }), /beat: Starting/, 'celeriac beat');
}
