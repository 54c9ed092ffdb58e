// The Celery application: configuration, the task registry, the producer, and lazily opened broker and
// result backend connections. Several apps with different configs can live in one process; none is global.

import { disabledBackend, openBackend } from '../backends/index.js';
import type { ResultBackend } from '../backends/backend.js';
import { Config, splitConfigPath } from '../config/resolve.js';
import { resultBackendTarget, type ResultBackendTarget } from '../config/result-backend.js';
import { ImproperlyConfigured, ModuleLoadError } from '../errors.js';
import { registerBuiltins, signature, type AnySignature, type Signature } from '../canvas/index.js';
import type { SignatureDict } from '../protocol/task-message.js';
import { AsyncResult, type ResultHandle } from '../result/async-result.js';
import { resultFromTuple } from '../result/group-result.js';
import { Task, type BoundTask, type TaskClass, type TaskFunction, type TaskOptions } from '../task/task.js';
import { openTransport } from '../transports/index.js';
import type { Transport } from '../transports/transport.js';
import type { FailoverStrategy } from '../config/failover-strategy.js';
import { uuid } from '../utils/ids.js';
import { importModule } from '../utils/import-module.js';
import { holdingProxy, LoopHold } from '../utils/loop-hold.js';
import { createLogger, type Logger, type LoggerOptions } from '../utils/logger.js';
import { Producer } from './producer.js';
import type { ApplyOptions } from '../task/options.js';
import { TaskRegistry } from './registry.js';
import { Signals } from './signals.js';
import { Control } from '../control/client.js';
import { resolveAnnotations, type AnnotationsSetting } from './routes.js';
import { taskOptionsToCamel } from '../config/settings.js';
import { setupSecurity, type SecurityOptions } from '../security/setup.js';

/** The embedded default: a SQLite file in the working directory, so a newcomer needs no server. */
export const DEFAULT_BROKER_URL = 'sqlite://celeriac.db';

/** Options of `new Celery(main, options)` (Celery's app constructor keywords): broker, backend, include and any setting by Celery's name. */
export interface CeleryOptions {
  /** Broker URL (broker_url). Default: the embedded SQLite file `sqlite://celeriac.db`. */
  broker?: string;
  /** Result backend URL (result_backend). Default: none, unless the broker is also defaulted (then the same SQLite file). */
  backend?: string;
  /** Modules the worker imports (Celery's include). */
  include?: string[];
  /** Any other setting, by Celery's name. */
  [setting: string]: unknown;
}

/** Logging for one app: the worker configures it; task code gets child loggers tagged with task name and id. */
export class AppLog {
  private root: Logger | undefined;

  setup(options: LoggerOptions): Logger {
    this.root = createLogger(options);
    return this.root;
  }

  get logger(): Logger {
    return (this.root ??= createLogger({ level: process.env.CELERIAC_LOG_LEVEL ?? 'WARNING' }));
  }

  /** A named logger (Celery's get_logger). */
  getLogger(name: string): Logger {
    return this.logger.child({ logger: name });
  }

  /**
   * The logger a task uses: lines carry `task_name[task_id]:` (Celery's get_task_logger). The child logger is only
   * built when something is logged.
   */
  taskLogger(taskName: string, taskId: string): Logger {
    return new LazyTaskLogger(this.logger, taskName, taskId) as unknown as Logger;
  }
}

/** Defers pino's child() (costly per task) until the task logs something; most tasks never do. */
class LazyTaskLogger {
  #child?: Logger;
  constructor(private readonly parent: Logger, private readonly taskName: string, private readonly taskId: string) {}
  private get real(): Logger {
    return (this.#child ??= this.parent.child({ task_name: this.taskName, task_id: this.taskId }));
  }
  trace(...a: Parameters<Logger['trace']>) { this.real.trace(...a); }
  debug(...a: Parameters<Logger['debug']>) { this.real.debug(...a); }
  info(...a: Parameters<Logger['info']>) { this.real.info(...a); }
  warn(...a: Parameters<Logger['warn']>) { this.real.warn(...a); }
  error(...a: Parameters<Logger['error']>) { this.real.error(...a); }
  fatal(...a: Parameters<Logger['fatal']>) { this.real.fatal(...a); }
  child(...a: Parameters<Logger['child']>) { return this.real.child(...a); }
  isLevelEnabled(level: string): boolean { return this.parent.isLevelEnabled(level); }
  get level(): string { return this.parent.level; }
  set level(value: string) { this.real.level = value; }
}

type Fn<A extends unknown[], R> = (...args: A) => R;

/**
 * A Celery application (Celery's Celery class): its settings (`conf`), task registry, producer, result backend,
 * remote control and signals. Connections open lazily on first use; `close()` ends them.
 */
export class Celery {
  /** The main module name: prefix of automatic task names. */
  readonly main: string;
  readonly conf: Config;
  /** The task registry: `app.tasks['tasks.add']`. */
  readonly tasks = new TaskRegistry<Task>();
  /** This client's id: reply_to of the messages it sends. */
  readonly oid = uuid();
  readonly producer: Producer;
  readonly log = new AppLog();
  /** Celery's signals, typed: `app.signals.connect('task_success', ({ taskId, result }) => …)`. */
  readonly signals = new Signals((signal, error) => this.log.logger.error({ err: error }, `Signal handler for ${signal} raised: ${(error as Error).message}`));
  /** The base class of tasks created by this app (Celery's app.Task); set before defining tasks. */
  Task: TaskClass = Task as unknown as TaskClass;

  /** Keeps the process alive while a broker or backend call is pending; idle connections do not (see utils/loop-hold). */
  private loopHold = new LoopHold();
  private controlClient?: Control;
  private transport?: Promise<Transport>;
  private bareTransport?: Promise<Transport>;
  private backend?: Promise<ResultBackend>;
  private finalized = false;

  constructor(main = '__main__', options: CeleryOptions = {}) {
    this.main = main;
    const { broker, backend, ...rest } = options;
    const preconf: Record<string, unknown> = { ...rest };
    if (broker !== undefined) preconf.broker_url = broker;
    if (backend !== undefined) preconf.result_backend = backend;
    this.conf = new Config(preconf);
    this.producer = new Producer({
      setting: (n) => this.conf.get(n), getTransport: () => this.getTransport(), getBackend: () => this.getBackend(), oid: this.oid, signals: this.signals,
      taskOptions: (name) => (this.tasks.has(name) ? this.tasks.get(name).options : undefined),
    });
    registerBuiltins(this);
    registerApp(this);
  }

  /**
   * Register a function as a task (Celery's @app.task). With `bind: true` the function receives the bound task
   * (with `request`, `retry`, `updateState`, `logger`) as its first argument.
   */
  task<A extends unknown[], R>(fn: (self: BoundTask, ...args: A) => R, options: TaskOptions & { bind: true }): Task<A, Awaited<R>>;
  task<A extends unknown[], R>(fn: Fn<A, R>, options?: TaskOptions): Task<A, Awaited<R>>;
  task(fn: TaskFunction, options: TaskOptions = {}): Task {
    if (typeof fn !== 'function') {
      const given = typeof fn === 'string' ? `the string '${String(fn).slice(0, 80)}'` : typeof fn;
      throw new ImproperlyConfigured(`app.task() takes the task function first and its options second: app.task(fn, { name: 'tasks.add' }); it got ${given} where the function goes.`);
    }
    if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) {
      throw new ImproperlyConfigured(`A task name must be a non-empty string (got ${JSON.stringify(options.name)}). Write app.task(fn, { name: 'tasks.add' }).`);
    }
    const name = options.name ?? this.autoName(fn);
    if (this.tasks.has(name)) {
      // Celery keeps the first task registered under a name.
      this.log.logger.warn(`A task named '${name}' is already registered: keeping the first one and ignoring this one${fn.name ? ` (${fn.name})` : ''}. Give each task its own name (the name option).`);
      return this.tasks.get(name);
    }
    const Base = (options.base ?? this.Task) as TaskClass;
    const task = new Base(this, name, fn, Object.freeze({ ...options })) as Task; // app.Task and base= are Task subclasses
    this.tasks.register(task);
    return task;
  }

  /**
   * The task options task_annotations give the task `name` (every matching entry merged, camelCase fields such as
   * rateLimit); {} when none match. Task#options lays them over the options given to app.task().
   */
  taskAnnotations(name: string): TaskOptions {
    return taskOptionsToCamel(resolveAnnotations(this.conf.get('task_annotations') as AnnotationsSetting, name)) as TaskOptions;
  }

  /**
   * Message signing (Celery's app.setup_security): with task_serializer 'auth' and accept_content ['auth'] set,
   * load security_key, security_certificate and security_cert_store (or `options`) and register the `auth`
   * serializer, process-wide as in Celery. Throws ImproperlyConfigured or SecurityError (src/security/setup.ts).
   */
  setupSecurity(options: SecurityOptions = {}): void {
    setupSecurity((n) => this.conf.get(n), options);
  }

  /** Remote control of workers (Celery's app.control): ping, inspect(), revoke, rateLimit, shutdown … */
  get control(): Control {
    return (this.controlClient ??= new Control(() => this.getTransport(), this.oid, (n) => this.conf.get(n)));
  }

  /**
   * Send a task by name, defined here or not (a Python worker's task, say). Routed as every send is: explicit
   * options, then the task's declared options when it is registered here, task_routes, task_default_queue.
   */
  async sendTask<R = unknown>(name: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}, options: ApplyOptions = {}): Promise<AsyncResult<R>> {
    const id = await this.producer.send(name, args, kwargs, options);
    return new AsyncResult<R>(id, this, name);
  }

  /**
   * A signature bound to this app (Celery's app.signature): by task name, or from a signature dict of any
   * subtask_type (chain, group, chord, …), or a copy of a signature.
   */
  signature<R = unknown>(name: string | SignatureDict | AnySignature, args: unknown[] = [], kwargs: Record<string, unknown> = {}, options: Record<string, unknown> = {}): Signature<R> {
    return signature<R>(name, args, kwargs, options, this);
  }

  /**
   * Add an entry to `beat_schedule` (Celery's add_periodic_task): send `sig` on `schedule` (seconds, a duration such
   * as { minutes: 5 }, or crontab(…)/solar(…)). `options` may name the entry (`name`, default the call's repr,
   * e.g. `tasks.add(1, 2)`) and add send options (queue, expires, …). Returns the entry's name. Beat checks the
   * entry when it starts.
   */
  addPeriodicTask(schedule: number | object, sig: Signature, options: { name?: string; [option: string]: unknown } = {}): string {
    const { name, ...sendOptions } = options;
    const key = name ?? `${sig.task}(${[...sig.args.map((a) => JSON.stringify(a)), ...Object.entries(sig.kwargs).map(([k, v]) => `${k}=${JSON.stringify(v)}`)].join(', ')})`;
    const current = (this.conf.get('beat_schedule') as Record<string, unknown> | null) ?? {};
    this.conf.set('beat_schedule', {
      ...current,
      [key]: { task: sig.task, schedule, args: [...sig.args], kwargs: { ...sig.kwargs }, options: { ...sig.options, ...sendOptions }, remote: true },
    });
    return key;
  }

  /** A result handle for any task id. */
  AsyncResult<R = unknown>(id: string): AsyncResult<R> {
    return new AsyncResult<R>(id, this);
  }

  /** A result handle from a stored result tuple (Celery's result_from_tuple): a task's or a group's. */
  resultFromTuple(tuple: unknown): ResultHandle {
    return resultFromTuple(tuple, this);
  }

  /** Bind shared tasks and mark the registry complete (Celery's finalize; tasks here are never lazy). */
  finalize(): this {
    if (!this.finalized) {
      for (const def of sharedDefinitions) if (!this.tasks.has(def.name)) this.task(def.fn, { ...def.options, name: def.name });
      this.finalized = true;
    }
    return this;
  }

  /**
   * Load settings from an object, a class, a module namespace or a module path (`'./celeryconfig.ts'`, or
   * `'./celeryconfig.ts:Production'` for one export).
   * As in Celery this replaces settings from an earlier config source.
   */
  async configFromObject(source: string | object, options: { silent?: boolean } = {}): Promise<void> {
    let obj: object;
    if (typeof source === 'string') {
      const { module, attribute } = splitConfigPath(source);
      let mod: Record<string, unknown>;
      try {
        mod = await importModule(module);
      } catch (cause) {
        if (options.silent) return;
        throw new ModuleLoadError(`Cannot load the config module '${source}'. ${(cause as Error).message}`, { cause });
      }
      obj = attribute ? (mod[attribute] as object) : mod;
      if (attribute && (obj === undefined || obj === null)) {
        if (options.silent) return;
        throw new ImproperlyConfigured(`The config module '${module}' has no export named ${attribute}. Export it, or name another (module:attribute).`);
      }
    } else obj = source;
    this.conf.configFromObject(obj, options);
  }

  /** Load the config module named by an environment variable (Celery's config_from_envvar). */
  async configFromEnvvar(variable: string, options: { silent?: boolean } = {}): Promise<void> {
    const path = process.env[variable];
    if (!path) {
      if (options.silent) return;
      throw new ImproperlyConfigured(`Environment variable ${variable} is not set: it should name a config module, e.g. ${variable}=./celeryconfig.ts.`);
    }
    await this.configFromObject(path, options);
  }

  /** The broker URL in use, with the embedded default applied. */
  brokerUrl(): string {
    const url = this.conf.get('broker_url') as string | readonly string[] | null;
    // A failover list given as an array travels as Celery's `;`-separated form.
    return (Array.isArray(url) ? url.join(';') : (url as string | null)) || DEFAULT_BROKER_URL;
  }

  /** The result backend URL in use, or null when results are disabled. */
  backendUrl(): string | null {
    return this.backendTarget()?.url ?? null;
  }

  /** result_backend with Celery's bare aliases ('rpc', 'cache', 'disabled') completed; null when results are off. */
  private backendTarget(): ResultBackendTarget | null {
    const configured = this.conf.get('result_backend') as string | null;
    if (configured) return resultBackendTarget(configured, (name) => this.conf.get(name));
    // With nothing configured at all, results live in the same embedded SQLite file as the broker.
    if (this.conf.get('broker_url')) return null;
    return { url: DEFAULT_BROKER_URL, options: (this.conf.get('result_backend_transport_options') as Record<string, unknown>) ?? {} };
  }

  /** The connected broker transport (opened on first use). */
  getTransport(): Promise<Transport> {
    this.transport ??= this.loopHold.during(this.getBareTransport().then((transport) => holdingProxy(transport, this.loopHold))).catch((error) => {
      this.transport = undefined;
      throw error;
    });
    return this.transport;
  }

  /**
   * The same connected transport without the loop hold: for the rpc:// backend, whose reply consumer must not keep a
   * finished script alive (its waits are held through the backend's own methods).
   */
  private getBareTransport(): Promise<Transport> {
    this.bareTransport ??= (async () => {
      const transport = await openTransport({
        url: this.brokerUrl(),
        transportOptions: (this.conf.get('broker_transport_options') as Record<string, unknown>) ?? {},
        connectTimeoutMs: ((this.conf.get('broker_connection_timeout') as number) ?? 4) * 1000,
        heartbeatS: (this.conf.get('broker_heartbeat') as number | null) ?? 0,
        failoverStrategy: this.conf.get('broker_failover_strategy') as FailoverStrategy,
        ssl: (this.conf.get('broker_use_ssl') as Record<string, unknown> | boolean | null) ?? undefined,
      });
      await transport.connect();
      return transport;
    })().catch((error) => {
      this.bareTransport = undefined;
      throw error;
    });
    return this.bareTransport;
  }

  /** The result backend (opened on first use); a disabled backend when none is configured. */
  getBackend(): Promise<ResultBackend> {
    this.backend ??= this.loopHold.during((async () => {
      const target = this.backendTarget();
      if (!target) return disabledBackend();
      const expires = this.conf.get('result_expires') as number | null;
      const backend = await openBackend({
        url: target.url,
        expiresMs: expires ? expires * 1000 : undefined,
        serializer: this.conf.get('result_serializer') as string,
        options: target.options,
        extended: Boolean(this.conf.get('result_extended')),
        broker: () => this.getBareTransport(),
        replyQueue: this.oid,
        persistentResults: Boolean(this.conf.get('result_persistent')),
        connectTimeoutMs: ((this.conf.get('redis_socket_connect_timeout') as number | null) ?? (this.conf.get('broker_connection_timeout') as number | null) ?? 4) * 1000,
      });
      return holdingProxy(backend, this.loopHold);
    })()).catch((error) => {
      this.backend = undefined;
      throw error;
    });
    return this.backend;
  }

  /** Close broker and backend connections. */
  async close(): Promise<void> {
    const [t, b, c] = [this.bareTransport, this.backend, this.controlClient];
    this.transport = this.bareTransport = this.backend = undefined;
    this.controlClient = undefined;
    await c?.close().catch(() => undefined);
    unregisterApp(this);
    await Promise.allSettled([t?.then((x) => x.close()), b?.then((x) => x.close())]);
    this.loopHold.dispose();
    this.loopHold = new LoopHold();
  }

  private autoName(fn: TaskFunction): string {
    if (!fn.name) {
      throw new ImproperlyConfigured(`A task function has no name (an inline arrow function?). Pass { name: '${this.main}.myTask' } to app.task().`);
    }
    return `${this.main}.${fn.name}`;
  }

  toString(): string {
    return `<Celery ${this.main}>`;
  }
}

// Shared tasks (Celery's shared_task): defined once, registered on every app, called through the current app.
interface SharedDefinition { name: string; fn: TaskFunction; options: TaskOptions }
const sharedDefinitions: SharedDefinition[] = [];
const liveApps = new Set<Celery>();

function registerApp(app: Celery): void {
  liveApps.delete(app);
  liveApps.add(app);
  for (const def of sharedDefinitions) app.task(def.fn, { ...def.options, name: def.name });
}

function unregisterApp(app: Celery): void {
  liveApps.delete(app);
}

/** The app created last and not closed (Celery's current_app), used by shared tasks. */
export function currentApp(): Celery {
  const apps = [...liveApps];
  const app = apps[apps.length - 1];
  if (!app) throw new ImproperlyConfigured('No Celery app exists yet: create one with new Celery(...) before calling a shared task.');
  return app;
}

/** A task usable with any app (Celery's @shared_task): registered on every app, sent through the current app. */
export function sharedTask<A extends unknown[], R>(fn: Fn<A, R>, options: TaskOptions & { name: string }): SharedTask<A, Awaited<R>> {
  sharedDefinitions.push({ name: options.name, fn, options });
  for (const app of liveApps) if (!app.tasks.has(options.name)) app.task(fn, options);
  return new SharedTask<A, Awaited<R>>(options.name);
}

/** The handle sharedTask returns: each call resolves the task on the current app. */
export class SharedTask<A extends unknown[], R> {
  constructor(readonly name: string) {}
  /** This task as registered on `app`. */
  for(app: Celery = currentApp()): Task<A, R> {
    return app.finalize().tasks.get(this.name) as Task<A, R>;
  }
  delay(...args: A): Promise<AsyncResult<R>> {
    return this.for().delay(...args);
  }
  applyAsync(args?: A, kwargs?: Record<string, unknown>, options?: ApplyOptions): Promise<AsyncResult<R>> {
    return this.for().applyAsync(args, kwargs, options);
  }
  s(...args: unknown[]): Signature<R> {
    return this.for().s(...args);
  }
  call(...args: A): Promise<R> {
    return this.for().call(...args);
  }
}
