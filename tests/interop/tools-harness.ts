// Python's own tools against celeriac workers: Debian's `celery` CLI (python3 -m celery), a Python worker and an
// event monitor (celery.events.State) from tests/interop/py_tools.py, and a celeriac worker running the same
// tools.* tasks (tests/fixtures/tools-app.ts). Every process started here is stopped by the test that started it.

import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../support/shared.js';
import { startCeleriacWorker, watch, type Proc, type Urls } from './harness.js';

const run = promisify(execFile);
export const PYTHON = '/usr/bin/python3';
const TOOLS = join(repoRoot, 'tests/interop/py_tools.py');
const TOOLS_APP = join(repoRoot, 'tests/fixtures/tools-app.ts');

/** `celery -b <broker> --result-backend <backend> <args>` (Debian's CLI); stdout, and stderr for errors. */
export async function celeryCli(urls: Urls, args: readonly string[], timeoutMs = 60_000): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(PYTHON, ['-m', 'celery', '-b', urls.broker, '--result-backend', urls.backend, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; code?: number };
    // The CLI exits non-zero when no node replied; callers look at the output.
    return { stdout: e.stdout ?? '', stderr: `${e.stderr ?? ''} (exit ${String(e.code)})` };
  }
}

/** `celery inspect|control <command> -j`: the replies by node name (Python's CLI prints one JSON document). */
export async function celeryJson<T = Record<string, unknown>>(urls: Urls, kind: 'inspect' | 'control', command: string, args: readonly string[] = [], timeoutS = 2): Promise<Record<string, T>> {
  const { stdout, stderr } = await celeryCli(urls, [kind, command, ...args, '-j', '-t', String(timeoutS)]);
  const text = stdout.trim();
  if (!text) throw new Error(`celery ${kind} ${command} printed nothing: ${stderr}`);
  const doc = JSON.parse(text) as Record<string, T> | Array<Record<string, T>>;
  // `control` prints a list of one-key objects, `inspect` one merged object.
  return Array.isArray(doc) ? Object.assign({}, ...doc) : doc;
}

/** One py_tools.py command; returns its last JSON line. */
export async function pyTools<T = Record<string, unknown>>(urls: Urls, args: readonly string[], timeoutMs = 60_000): Promise<T> {
  const { stdout } = await run(PYTHON, [TOOLS, ...args, '--broker', urls.broker, '--backend', urls.backend], { timeout: timeoutMs, maxBuffer: 16 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}

export interface ToolsWorkerOptions {
  hostname: string;
  queues: string;
  events?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** A Python worker with the tools.* tasks (threads pool, 2 threads), ready when it logs "ready.". */
export function startPythonToolsWorker(urls: Urls, o: ToolsWorkerOptions): Promise<Proc> {
  const args = [TOOLS, 'worker', '--broker', urls.broker, '--backend', urls.backend, '--hostname', o.hostname, '--queues', o.queues];
  if (o.events) args.push('--events');
  return watch(spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env } }), /ready\./, 'Python tools worker', 60_000);
}

/** A celeriac worker process with the tools.* tasks (async pool, concurrency 2 unless `extra` says otherwise). */
export function startCeleriacToolsWorker(urls: Urls, o: ToolsWorkerOptions, extra: string[] = []): Promise<Proc> {
  const args = ['-n', o.hostname, '-Q', o.queues, '-c', '2', ...(o.events ? ['-E'] : []), ...extra];
  if (o.env) return startCeleriacWorkerWithEnv(urls, args, o.env);
  return startCeleriacWorker(urls, args, TOOLS_APP);
}

function startCeleriacWorkerWithEnv(urls: Urls, extra: string[], env: NodeJS.ProcessEnv): Promise<Proc> {
  const args = [join(repoRoot, 'bin/celeriac.js'), 'worker', '-A', TOOLS_APP, '-b', urls.broker, '--result-backend', urls.backend, '-l', 'info', ...extra];
  return watch(spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }), /ready\./, 'celeriac worker', 60_000);
}

/** A running Python event monitor: its raw events as they arrive, and State's summary when stopped. */
export interface EventMonitor {
  readonly events: Array<Record<string, unknown>>;
  /** Resolves with the first event matching `match` (seen already or still to come). */
  waitFor(match: (e: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM, then what celery.events.state.State holds. */
  stop(): Promise<{ workers: Record<string, Record<string, unknown>>; tasks: Record<string, Record<string, unknown>>; event_count: number; task_count: number }>;
}

/** Start py_tools.py events; ready once it consumes (it prints READY), so no event sent after that is missed. */
export async function startEventMonitor(urls: Urls, env: NodeJS.ProcessEnv = {}): Promise<EventMonitor> {
  let onReady!: () => void;
  const consuming = new Promise<void>((r) => (onReady = r));
  const child = spawn(PYTHON, [TOOLS, 'events', '--broker', urls.broker], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const events: Array<Record<string, unknown>> = [];
  const waiters: Array<{ match: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }> = [];
  let state: string | null = null;
  let buffer = '';
  let errors = '';
  child.stderr.on('data', (b: Buffer) => (errors = (errors + b.toString()).slice(-4000)));
  child.stdout.on('data', (b: Buffer) => {
    buffer += b.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.startsWith('EVENT ')) {
        const e = JSON.parse(line.slice(6)) as Record<string, unknown>;
        events.push(e);
        for (const w of [...waiters]) {
          if (w.match(e)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(e);
          }
        }
      } else if (line.startsWith('STATE ')) state = line.slice(6);
      else if (line === 'READY') onReady();
    }
  });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const monitor: EventMonitor = {
    events,
    waitFor(match, what, timeoutMs = 30_000) {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`No event ${what} within ${timeoutMs} ms; got ${events.length}: ${JSON.stringify(events.map((e) => [e.type, e.hostname]))}\n${errors}`)), timeoutMs);
        waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e)) });
      });
    },
    async stop() {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(t);
      if (!state) throw new Error(`The event monitor printed no state:\n${errors}`);
      return JSON.parse(state);
    },
  };
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await Promise.race([consuming, exited.then(() => Promise.reject(new Error(`The event monitor exited before it was ready:\n${errors}`)))]);
  clearTimeout(timer);
  return monitor;
}

/** The type skeleton of a JSON value, for comparing reply shapes: keys and value kinds, not values. */
export type Shape = string | Shape[] | { [key: string]: Shape };

/**
 * The shape of `value`: objects by key (sorted), arrays by their first element, numbers as 'number' (Python's
 * 2.0 and JavaScript's 2 are one JSON kind). Paths in `maps` (e.g. 'total') are dictionaries whose keys are data
 * (task names, ids): only the shape of their values counts.
 */
export function shapeOf(value: unknown, maps: readonly string[] = [], path = ''): Shape {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length ? [shapeOf(value[0], maps, `${path}[]`)] : [];
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (maps.includes(path)) return entries.length ? { '<key>': shapeOf(entries[0]![1], maps, `${path}.<key>`) } : {};
    return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, shapeOf(v, maps, path ? `${path}.${k}` : k)]));
  }
  return typeof value;
}
