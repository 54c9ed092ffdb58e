// The threads and prefork pools: children load tests/fixtures/pool-app.ts themselves (through tsx, no build).
// Most tests drive a pool directly; the last ones go through a Worker on the in-process broker, checking what
// the parent stores (hard time limit, lost child), since children cannot reach the test's memory:// backend.

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Celery } from '../../../src/index.js';
import { RemoteTaskError, SoftTimeLimitExceeded, TimeLimitExceeded, WorkerLostError } from '../../../src/errors.js';
import { exceptionToDoc } from '../../../src/protocol/exceptions.js';
import type { TaskMessage } from '../../../src/protocol/task-message.js';
import { directRequest } from '../../../src/task/context.js';
import type { Logger } from '../../../src/utils/logger.js';
import { RunAbort } from '../../../src/utils/run-abort.js';
import { autoscaleStep, parseAutoscale } from '../../../src/worker/pool/autoscale.js';
import type { ChildPool } from '../../../src/worker/pool/children.js';
import type { ChildPoolOptions } from '../../../src/worker/pool/child-types.js';
import type { PoolOutcome, TaskCall } from '../../../src/worker/pool/pool.js';
import { PreforkPool } from '../../../src/worker/pool/prefork.js';
import { ThreadPool } from '../../../src/worker/pool/threads.js';
import { Worker } from '../../../src/worker/worker.js';
import { app } from '../../fixtures/pool-app.js';

const APP_MODULE = `${fileURLToPath(new URL('../../fixtures/pool-app.ts', import.meta.url))}:app`;
// Children compile the source tree with tsx on first load; on a busy 2-core runner that can take a while.
const ALIVE_MS = 30_000;
// Each test starts child processes that load the app through tsx: seconds apiece on a loaded 2-core machine.
vi.setConfig({ testTimeout: 4 * ALIVE_MS });

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => undefined);
});

interface Lines {
  logger: Logger;
  lines: string[];
}

function recordingLogger(): Lines {
  const lines: string[] = [];
  const record = (...args: unknown[]) => void lines.push(String(typeof args[0] === 'string' ? args[0] : args[1]));
  const logger = { debug: () => undefined, trace: () => undefined, info: record, warn: record, error: record, fatal: record, level: 'info', isLevelEnabled: () => true } as unknown as Logger;
  (logger as unknown as { child: () => Logger }).child = () => logger;
  return { logger, lines };
}

async function makePool(kind: 'threads' | 'prefork', options: Partial<ChildPoolOptions> = {}) {
  const { logger, lines } = recordingLogger();
  const Kind = kind === 'threads' ? ThreadPool : PreforkPool;
  const pool: ChildPool = new Kind(app, logger, { appModule: APP_MODULE, size: 2, hostname: 'test@pool', procAliveTimeoutMs: ALIVE_MS, ...options });
  cleanup.push(() => pool.stop('cold'));
  await pool.start();
  return { pool, lines };
}

function call(name: string, args: unknown[] = [], id = randomUUID()): TaskCall {
  const message: TaskMessage = {
    id, task: name, args, kwargs: {}, embed: { callbacks: null, errbacks: null, chain: null, chord: null }, eta: null, expires: null,
    retries: 0, group: null, groupIndex: null, rootId: id, parentId: null, timelimit: [null, null], shadow: null, origin: 'test',
    ignoreResult: false, argsrepr: null, kwargsrepr: null, replyTo: null, correlationId: id, customHeaders: {}, protocol: 2,
  };
  return { task: app.tasks.get(name), message, request: { ...directRequest(name, args, {}, id), called_directly: false, hostname: 'test@pool' } };
}

function run(pool: ChildPool, name: string, args: unknown[] = [], abort = new RunAbort()): Promise<PoolOutcome> {
  return pool.run(call(name, args), abort);
}

function resultOf<T>(outcome: PoolOutcome): T {
  if (outcome.state !== 'SUCCESS') throw new Error(`expected SUCCESS, got ${outcome.state}: ${outcome.state === 'FAILURE' ? String(outcome.error) : ''}`);
  return outcome.result as T;
}

type Who = { pid: number; threadId: number };
type Busy = Who & { start: number; end: number };
const whoKey = (w: Who) => `${w.pid}/${w.threadId}`;

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each(['threads', 'prefork'] as const)('%s pool', (kind) => {
  it('runs CPU-bound tasks in parallel on two children', async () => {
    const { pool } = await makePool(kind);
    await Promise.all([run(pool, 'pool.whoami'), run(pool, 'pool.whoami')]); // warm both children
    const [a, b] = await Promise.all([run(pool, 'pool.busy', [300]), run(pool, 'pool.busy', [300])]).then((o) => o.map((x) => resultOf<Busy>(x)));
    // Parallel, measured without a stopwatch: the two busy loops ran at the same time, in two children.
    expect(a!.start < b!.end && b!.start < a!.end).toBe(true);
    expect(whoKey(a!)).not.toBe(whoKey(b!));
    if (kind === 'prefork') expect(a!.pid).not.toBe(process.pid);
    else expect(a!.pid).toBe(process.pid);
  });

  it('hard time limit kills a busy-looping task; a new child takes over and the next task succeeds', async () => {
    const { pool, lines } = await makePool(kind, { size: 1 });
    const before = whoKey(resultOf<Who>(await run(pool, 'pool.whoami')));
    const controller = new RunAbort();
    const pending = run(pool, 'pool.forever', [], controller);
    await new Promise((r) => setTimeout(r, 200));
    controller.abort(new TimeLimitExceeded('Hard time limit (0.2s) exceeded for pool.forever'));
    const outcome = await pending;
    expect(outcome.state).toBe('FAILURE');
    expect(outcome.state === 'FAILURE' && outcome.error).toBeInstanceOf(TimeLimitExceeded);
    const after = whoKey(resultOf<Who>(await run(pool, 'pool.whoami')));
    expect(after).not.toBe(before);
    expect(lines.some((l) => /Hard time limit .* killing pool child/.test(l))).toBe(true);
  });

  it('terminate() kills a task whose signal the soft limit already aborted (hard after soft)', async () => {
    const { pool } = await makePool(kind, { size: 1 });
    const controller = new RunAbort();
    const c = call('pool.forever');
    const pending = pool.run(c, controller);
    await until(() => pool.stats().active === 1);
    controller.abort(new SoftTimeLimitExceeded('soft')); // a busy loop cannot notice
    await new Promise((r) => setTimeout(r, 100));
    pool.terminate(c.request.id, new TimeLimitExceeded('hard'));
    const outcome = await pending;
    expect(outcome.state === 'FAILURE' && outcome.error).toBeInstanceOf(TimeLimitExceeded);
    expect(resultOf<Who>(await run(pool, 'pool.whoami')).pid).toBeGreaterThan(0);
  });

  it('soft time limit aborts the task signal in the child; the task finishes on its own terms', async () => {
    const { pool } = await makePool(kind, { size: 1 });
    const controller = new RunAbort();
    const started = Date.now();
    const pending = run(pool, 'pool.waitForAbort', [10_000], controller);
    await until(() => pool.stats().active === 1);
    controller.abort(new SoftTimeLimitExceeded('Soft time limit (0.1s) exceeded'));
    const result = resultOf<{ aborted: boolean; reason: string; message: string }>(await pending);
    expect(result).toEqual({ aborted: true, reason: 'SoftTimeLimitExceeded', message: 'Soft time limit (0.1s) exceeded' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a child that dies mid-task → LOST with WorkerLostError (the worker decides what to store), one log line, a replacement child', async () => {
    const { pool, lines } = await makePool(kind, { size: 1 });
    const first = whoKey(resultOf<Who>(await run(pool, 'pool.whoami')));
    const c = call('pool.exit', [3]);
    const outcome = await pool.run(c, new RunAbort());
    expect(outcome.state).toBe('LOST');
    const error = outcome.state === 'LOST' ? outcome.error : null;
    expect(error).toBeInstanceOf(WorkerLostError);
    expect((error as Error).message).toMatch(/Worker exited prematurely: exitcode 3/);
    expect(lines.filter((l) => l.includes(c.request.id) && /exited with exitcode 3/.test(l))).toHaveLength(1);
    expect(whoKey(resultOf<Who>(await run(pool, 'pool.whoami')))).not.toBe(first);
  });

  it('max_tasks_per_child recycles a child after N tasks', async () => {
    const { pool, lines } = await makePool(kind, { size: 1, maxTasksPerChild: 2 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(whoKey(resultOf<Who>(await run(pool, 'pool.whoami'))));
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[1]);
    expect(ids[2]).toBe(ids[3]);
    expect(ids[4]).not.toBe(ids[3]);
    expect(lines.some((l) => /worker_max_tasks_per_child=2/.test(l))).toBe(true);
  });

  it('max_memory_per_child recycles a child above the limit', async () => {
    const { pool, lines } = await makePool(kind, { size: 1, maxMemoryPerChild: 1 });
    const a = whoKey(resultOf<Who>(await run(pool, 'pool.whoami')));
    const b = whoKey(resultOf<Who>(await run(pool, 'pool.whoami')));
    expect(b).not.toBe(a);
    expect(lines.some((l) => /exceeded memory limit: \d+KiB \/ 1KiB/.test(l))).toBe(true);
  });

  it('Buffers and Dates in the message reach the task as Buffers and Dates; failures come back as their documents', async () => {
    const { pool } = await makePool(kind, { size: 1 });
    expect(resultOf(await run(pool, 'pool.types', [Buffer.from('héllo')]))).toEqual({ isBuffer: true, isDate: false, text: 'héllo' });
    expect(resultOf(await run(pool, 'pool.types', [new Date(0)]))).toEqual({ isBuffer: false, isDate: true, text: '1970-01-01T00:00:00.000Z' });
    const failed = await run(pool, 'pool.fail');
    expect(failed.state).toBe('FAILURE');
    if (failed.state !== 'FAILURE') return;
    expect(exceptionToDoc(failed.error)).toEqual({ exc_type: 'TypeError', exc_message: ['bad input'], exc_module: 'builtins' });
    expect(failed.error).toBeInstanceOf(RemoteTaskError);
    expect(failed.traceback).toMatch(/bad input/);
  });

  it("stop('warm') lets the running task finish; stop('cold') kills it", async () => {
    const warm = await makePool(kind, { size: 1 });
    const finishing = run(warm.pool, 'pool.sleep', [300]);
    await until(() => warm.pool.stats().active === 1);
    await warm.pool.stop('warm');
    expect((await finishing).state).toBe('SUCCESS');
    expect(warm.pool.stats().children).toHaveLength(0);

    const cold = await makePool(kind, { size: 1 });
    const killed = run(cold.pool, 'pool.sleep', [10_000]);
    await until(() => cold.pool.stats().active === 1);
    const started = Date.now();
    await cold.pool.stop('cold');
    const outcome = await killed;
    expect(Date.now() - started).toBeLessThan(3000);
    expect(outcome.state === 'LOST' && outcome.error).toBeInstanceOf(WorkerLostError);
    expect(cold.pool.stats().children).toHaveLength(0);
  });
});

describe('threads pool: autoscale and start-up', () => {
  it('grows while tasks wait and shrinks back to min once idle', async () => {
    const { pool } = await makePool('threads', { autoscale: { max: 3, min: 1, keepaliveMs: 300 } });
    expect(pool.size).toBe(1);
    const pending = [run(pool, 'pool.sleep', [400]), run(pool, 'pool.sleep', [400]), run(pool, 'pool.sleep', [400]), run(pool, 'pool.sleep', [400])];
    expect(pool.size).toBe(3); // grown at once for the waiting tasks, capped at max
    for (const outcome of await Promise.all(pending)) expect(outcome.state).toBe('SUCCESS');
    await until(() => pool.size === 1, ALIVE_MS);
    expect(pool.size).toBe(1);
  });

  it('an app module that cannot load fails start() with a clear error', async () => {
    const { logger } = recordingLogger();
    const pool = new ThreadPool(app, logger, { appModule: '/nonexistent/tasks.ts:app', size: 1, hostname: 'x', procAliveTimeoutMs: ALIVE_MS });
    cleanup.push(() => pool.stop('cold'));
    await expect(pool.start()).rejects.toThrow(/could not start a child for \/nonexistent\/tasks\.ts:app/);
  });
});

describe('autoscale decisions', () => {
  it('parses max,min like Celery and steps toward the load', () => {
    expect(parseAutoscale('10,3')).toEqual({ max: 10, min: 3 });
    expect(parseAutoscale('4')).toEqual({ max: 4, min: 0 });
    expect(() => parseAutoscale('x')).toThrow(/max,min/);
    const limits = { max: 4, min: 1, keepaliveMs: 1000 };
    expect(autoscaleStep({ procs: 1, wanted: 3, sinceScaleUpMs: 0 }, limits)).toBe(2);
    expect(autoscaleStep({ procs: 2, wanted: 9, sinceScaleUpMs: 0 }, limits)).toBe(2);
    expect(autoscaleStep({ procs: 4, wanted: 0, sinceScaleUpMs: 500 }, limits)).toBe(0);
    expect(autoscaleStep({ procs: 4, wanted: 0, sinceScaleUpMs: 1500 }, limits)).toBe(-3);
  });
});

describe('worker with a child pool', () => {
  it('hard time limit and a lost child are stored by the parent; the worker keeps consuming', async () => {
    const ns = `pool-fixture`;
    const client = new Celery('client', { broker: `memory://${ns}`, backend: `memory://${ns}` });
    cleanup.push(() => client.close());
    app.conf.set('worker_proc_alive_timeout', ALIVE_MS / 1000);
    cleanup.push(async () => app.conf.set('worker_proc_alive_timeout', 4));
    const worker = new Worker(app, { banner: false, concurrency: 2, pool: 'prefork', appModule: APP_MODULE, loglevel: 'CRITICAL' });
    cleanup.push(() => worker.stop('cold'));
    await worker.start();
    const limited = await client.sendTask('pool.forever', [], {}, { timeLimit: 0.5, softTimeLimit: 0.2 });
    const timeout = (await limited.get({ timeout: ALIVE_MS / 1000, propagate: false })) as RemoteTaskError;
    expect(timeout.excType).toBe('TimeLimitExceeded');
    const lost = await client.sendTask('pool.exit', [7]);
    const lostError = (await lost.get({ timeout: ALIVE_MS / 1000, propagate: false })) as RemoteTaskError;
    expect(lostError.excType).toBe('WorkerLostError');
    await client.sendTask('pool.whoami');
    await until(() => (worker.state.total.get('pool.whoami') ?? 0) === 1, ALIVE_MS);
  }, 4 * ALIVE_MS);

  it('without appModule, threads falls back to the async pool with a warning', async () => {
    const ns = randomUUID();
    const local = new Celery('local', { broker: `memory://${ns}`, backend: `memory://${ns}` });
    local.task((x: number) => x * 2, { name: 'local.double' });
    const worker = new Worker(local, { banner: false, pool: 'threads', concurrency: 1, loglevel: 'CRITICAL' });
    const warnings: string[] = [];
    const warn = worker.logger.warn.bind(worker.logger);
    (worker.logger as { warn: (...a: unknown[]) => void }).warn = (...a: unknown[]) => {
      warnings.push(String(a[0]));
      (warn as (...x: unknown[]) => void)(...a);
    };
    cleanup.push(() => worker.stop('cold'));
    await worker.start();
    expect(warnings.some((w) => /threads pool needs the app's module/.test(w))).toBe(true);
    expect(await (await local.sendTask('local.double', [21])).get({ timeout: 5 })).toBe(42);
  });
});

describe.each(['threads', 'prefork'] as const)('%s worker over a SQLite broker and backend', (kind) => {
  it('children write their own results (through the -b / --result-backend overrides) and run in parallel', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'celeriac-pools-'));
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const url = `sqlite:///${join(dir, 'broker.db')}`;
    // The parent's app: its URLs reach the children as overrides of the fixture app's memory:// ones.
    const parent = new Celery('pool', { broker: url, backend: url, broker_transport_options: { polling_interval: 0.02 }, worker_proc_alive_timeout: ALIVE_MS / 1000 });
    for (const name of ['pool.busy', 'pool.whoami', 'pool.retryOnce']) parent.task(() => { throw new Error('runs in a child only'); }, { name });
    const client = new Celery('client', { broker: url, backend: url });
    cleanup.push(() => client.close());
    const worker = new Worker(parent, { banner: false, concurrency: 2, pool: kind, appModule: APP_MODULE, loglevel: 'CRITICAL' });
    cleanup.push(() => worker.stop('cold'));
    await worker.start();
    await Promise.all([0, 1].map(async () => (await client.sendTask('pool.whoami')).get({ timeout: 20 })));
    const results = await Promise.all([0, 1].map(async () => (await client.sendTask('pool.busy', [300])).get({ timeout: 20 }) as Promise<Who>));
    expect(whoKey(results[0]!)).not.toBe(whoKey(results[1]!));
    if (kind === 'prefork') expect(results.map((r) => r.pid)).not.toContain(process.pid);
    // A retry is published by the child's own producer and comes back through the parent's consumer.
    expect(await (await client.sendTask('pool.retryOnce')).get({ timeout: 20 })).toBe(1);
  });
});
