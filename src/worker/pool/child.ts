// The code a pool child runs, as a worker thread (`threads`) or a forked process (`prefork`): it imports the app
// module the worker was started with, then runs tasks with executeTask on its own app instance (its own backend
// connection and producer) and posts the outcomes back. It never touches the broker's deliveries: acks stay with
// the parent. Started only by threads.ts / prefork.ts; importing it anywhere else does nothing.

import { isMainThread, parentPort, threadId } from 'node:worker_threads';
import { deserialize, getHeapStatistics, serialize } from 'node:v8';
import { pathToFileURL } from 'node:url';
import { importDefaultModules } from '../../app/default-modules.js';
import type { Celery } from '../../app/celery.js';
import { EncodeError, ImproperlyConfigured, NotRegistered } from '../../errors.js';
import { tracebackOf } from '../../protocol/exceptions.js';
import { FAILURE } from '../../states.js';
import type { Request } from '../../task/context.js';
import { applySignatureDict } from '../../canvas/index.js';
import { executeTask, type ExecutionHost, type TaskOutcome } from '../../task/execute.js';
import { importModule, resolveModulePath } from '../../utils/import-module.js';
import { ResultWriter } from '../results.js';
import { compileTaskDefaults, TaskPolicies } from '../settings.js';
import { redirectStdouts } from '../../utils/redirect-stdouts.js';
import { RunAbort } from '../../utils/run-abort.js';
import { errorFromWire, outcomeToWire, type ChildMessage, type InitMessage, type ParentMessage, type RunMessage } from './ipc.js';

interface Channel {
  send(message: ChildMessage): void;
  onMessage(fn: (message: ParentMessage) => void): void;
}

/** How this child talks to its parent: a thread's port (V8-serialized, so Buffers stay Buffers) or fork's IPC. */
function parentChannel(): Channel | null {
  const port = parentPort;
  if (!isMainThread && port) {
    return {
      send: (m) => port.postMessage(serialize(m)),
      onMessage: (fn) => port.on('message', (raw: Uint8Array) => fn(deserialize(raw) as ParentMessage)),
    };
  }
  if (process.send && process.env.CELERIAC_POOL_CHILD === '1') {
    return {
      send: (m) => void process.send!(m),
      onMessage: (fn) => process.on('message', (m) => fn(m as ParentMessage)),
    };
  }
  return null;
}

/**
 * Import a user module by path or package name. Started from source (this file is .ts), tsx is already registered
 * by the bootstrap: import directly so it is not registered twice. Started from dist, importModule registers it
 * when the module is TypeScript.
 */
async function importUserModule(modulePath: string): Promise<Record<string, unknown>> {
  if (!import.meta.url.endsWith('.ts')) return importModule(modulePath);
  const path = resolveModulePath(modulePath);
  return (await import(path ? pathToFileURL(path).href : modulePath)) as Record<string, unknown>;
}

/** `/abs/tasks.ts:app` → the app; the attribute is optional (then app, celery, default or the only Celery export). */
async function loadApp(spec: string): Promise<Celery> {
  const colon = spec.lastIndexOf(':');
  const [modulePath, attribute] = colon > 0 && !spec.slice(colon).includes('/') ? [spec.slice(0, colon), spec.slice(colon + 1)] : [spec, undefined];
  const mod = await importUserModule(modulePath);
  const isApp = (v: unknown) => typeof v === 'object' && v !== null && v.constructor?.name === 'Celery' && 'tasks' in v && 'conf' in v;
  const candidates = attribute ? [attribute] : ['app', 'celery', 'default'];
  for (const name of candidates) if (isApp(mod[name])) return mod[name] as Celery;
  const found = Object.values(mod).filter(isApp);
  if (!attribute && found.length === 1) return found[0] as Celery;
  throw new ImproperlyConfigured(`Module '${modulePath}' has no Celery app${attribute ? ` named '${attribute}'` : ''} (pool child).`);
}

class Child {
  private app?: Celery;
  private host?: ExecutionHost;
  private writer?: ResultWriter;
  private init?: InitMessage;
  private readonly jobs = new Map<number, RunAbort>();

  constructor(private readonly channel: Channel) {}

  handle(message: ParentMessage): void {
    switch (message.type) {
      case 'init':
        void this.start(message);
        break;
      case 'run':
        void this.run(message);
        break;
      case 'abort':
        this.jobs.get(message.job)?.abort(errorFromWire(message.error));
        break;
      case 'shutdown':
        void this.shutdown();
        break;
    }
  }

  private async start(init: InitMessage): Promise<void> {
    try {
      this.init = init;
      const app = await loadApp(init.appModule);
      for (const [name, value] of Object.entries(init.settings)) if (value !== null && value !== undefined) app.conf.set(name, value);
      await importDefaultModules(app.conf, importUserModule);
      app.finalize();
      const backend = app.backendUrl() ? await app.getBackend() : null;
      this.app = app;
      const send: ExecutionHost['send'] = (name, args, kwargs, options) => app.producer.send(name, args, kwargs, options);
      const apply: ExecutionHost['apply'] = (sig, args, options) => applySignatureDict(app, sig, { args, options }).then((r) => r.id);
      // The child writes its tasks' own results, by its own app's settings, through the same writer as the worker.
      const logger = app.log.setup({ level: init.loglevel ?? 'WARNING', file: init.logfile, processName: init.processName });
      if (app.conf.get('worker_redirect_stdouts')) redirectStdouts(logger, app.conf.get('worker_redirect_stdouts_level') as string);
      this.writer = new ResultWriter({ hostname: init.hostname, backend, apply, tasks: app.tasks, logger }, new TaskPolicies(compileTaskDefaults(app.conf)), app.conf.get('result_extended'));
      this.host = { hostname: init.hostname, send, apply, results: this.writer };
      this.channel.send({ type: 'ready', pid: process.pid, threadId: isMainThread ? null : threadId });
    } catch (error) {
      this.channel.send({ type: 'fatal', message: (error as Error)?.message ?? String(error) });
    }
  }

  private async run(m: RunMessage): Promise<void> {
    const abort = new RunAbort();
    this.jobs.set(m.job, abort);
    let outcome: TaskOutcome;
    try {
      outcome = await this.execute(m, abort);
    } finally {
      this.jobs.delete(m.job);
    }
    try {
      this.channel.send({ type: 'done', job: m.job, outcome: outcomeToWire(outcome), memoryKiB: this.memoryKiB() });
    } catch (error) {
      // The outcome cannot be copied to the parent (a value nested too deep): it is already stored here, so the
      // parent gets the same state with a note in place of the value, and its slot is freed.
      const note = `<not passed to the worker: ${(error as Error).message}>`;
      const light: TaskOutcome = outcome.state === 'SUCCESS' ? { ...outcome, result: note } : { state: 'FAILURE', error: new EncodeError(note), traceback: null, runtimeMs: outcome.runtimeMs };
      this.channel.send({ type: 'done', job: m.job, outcome: outcomeToWire(light), memoryKiB: this.memoryKiB() });
    }
  }

  private async execute(m: RunMessage, abort: RunAbort): Promise<TaskOutcome> {
    const app = this.app!;
    const host = this.host!;
    if (!app.tasks.has(m.taskName)) {
      // The parent knows the task but this child's app does not (registered outside the app module?).
      const why = `Task '${m.taskName}' is not registered in the pool child's app (${this.init!.appModule}). Register it in that module.`;
      await this.writer!.unknownTask(m.request, why);
      const error = new NotRegistered(why, { context: { taskId: m.request.id }, excArgs: [m.taskName] });
      return { state: FAILURE, error, traceback: tracebackOf(error), runtimeMs: 0 };
    }
    const task = app.tasks.get(m.taskName);
    const request: Request = { ...m.request, signal: abort.signal };
    return executeTask({ task, message: m.message, request, host, logger: app.log.taskLogger(m.taskName, request.id), abort });
  }

  private memoryKiB(): number {
    return Math.round((this.init?.memory === 'heap' ? getHeapStatistics().total_heap_size : process.memoryUsage.rss()) / 1024);
  }

  private async shutdown(): Promise<void> {
    await this.app?.close().catch(() => undefined);
    process.exit(0);
  }
}

const channel = parentChannel();
if (channel) {
  const child = new Child(channel);
  channel.onMessage((m) => child.handle(m));
  if (isMainThread) {
    // A forked child: Ctrl-C reaches the whole process group, but shutdown is the parent's call; and a child whose
    // parent is gone has nobody to report to.
    process.on('SIGINT', () => undefined);
    process.on('disconnect', () => process.exit(0));
  }
}

