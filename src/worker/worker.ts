// The worker: composes transport, backend, pool and consumer; starts them in order and stops them in reverse.
// A static list of components instead of Celery's bootstep graph.

import { constants, hostname as osHostname } from 'node:os';
import { importDefaultModules } from '../app/default-modules.js';
import type { WorkerApp } from './app.js';
import { ImproperlyConfigured, UsageError } from '../errors.js';
import { applySignatureDict } from '../canvas/index.js';
import type { ExecutionHost } from '../task/execute.js';
import type { QueueDeclaration, SettleLost, Transport } from '../transports/transport.js';
import { expandNodeName } from '../utils/ids.js';
import type { Logger } from '../utils/logger.js';
import { LoopWatch } from './loop-watch.js';
import { redirectStdouts } from '../utils/redirect-stdouts.js';
import { renderBanner } from './banner.js';
import { Consumer } from './consumer.js';
import { AsyncPool } from './pool/async.js';
import { parseAutoscale, type AutoscaleLimits } from './pool/autoscale.js';
import type { Pool, PoolStats } from './pool/pool.js';
import { PreforkPool } from './pool/prefork.js';
import { ThreadPool } from './pool/threads.js';
import { RateLimiter } from './rate-limit.js';
import { ResultWriter, WorkerResults } from './results.js';
import { compileWorkerSettings, poolKindOf, TaskPolicies, type PoolKind, type QueueInfo, type WorkerSettings } from './settings.js';
import { loadRevoked, saveRevoked } from './statedb.js';
import { WorkerState } from './state.js';
import { ControlServer } from './control/server.js';
import type { ConsumedQueue, ControlHost } from './control/host.js';
import { WorkerEvents } from './events.js';
import { connectOnStartup, limitReconnects } from './broker-connect.js';
import { redactUrl } from '../config/urls.js';
import { isQuorum, queueArgumentsFor } from '../config/queue-arguments.js';
import { LamportClock } from '../utils/clock.js';
import { VERSION } from '../utils/version.js';

export type { PoolKind };

export interface WorkerOptions {
  /** Node name; `%h`, `%n`, `%d` expand as in Celery. Default `celery@%h`. */
  hostname?: string;
  /** Tasks in flight at once. Default worker_concurrency, else the number of CPUs. */
  concurrency?: number;
  /** Default worker_pool, else async. */
  pool?: PoolKind;
  /**
   * The app's module as children of the threads/prefork pools import it: '/abs/tasks.ts:app' (the CLI passes the
   * resolved -A). Without it those pools cannot start, and the worker uses the async pool with a warning.
   */
  appModule?: string;
  /** threads/prefork: `max,min` children (Celery's --autoscale); concurrency is then max. */
  autoscale?: string | readonly [number, number];
  /** threads/prefork: replace a child after this many tasks. Default worker_max_tasks_per_child. */
  maxTasksPerChild?: number;
  /** threads/prefork: replace a child using more than this many KiB after a task. Default worker_max_memory_per_child. */
  maxMemoryPerChild?: number;
  /** Consume only these queues (created when task_create_missing_queues). */
  queues?: readonly string[];
  /** Do not consume these queues (-X). */
  excludeQueues?: readonly string[];
  prefetchMultiplier?: number;
  /** DEBUG, INFO, WARNING, ERROR, CRITICAL. Default WARNING. */
  loglevel?: string;
  logfile?: string | null;
  /** Send task events (-E). */
  events?: boolean;
  /** Print the banner to stdout. Default true. */
  banner?: boolean;
  /**
   * Log what tasks print to stdout/stderr at worker_redirect_stdouts_level, when worker_redirect_stdouts allows
   * (Celery's behaviour). Default false here, for workers run inside another program; `celeriac worker` sets it.
   * Pool children follow worker_redirect_stdouts.
   */
  redirectStdouts?: boolean;
  /** Seconds a warm shutdown waits for running tasks. Default 60. */
  shutdownTimeout?: number;
  /** File keeping revoked ids across restarts (--statedb). Default worker_state_db. */
  statedb?: string | null;
}

export class Worker {
  readonly hostname: string;
  readonly state = new WorkerState();
  readonly limiter = new RateLimiter();
  readonly logger: Logger;
  /** The worker's Lamport clock, shared by its events and remote control (Celery's app.clock). */
  readonly clock = new LamportClock();
  private transport?: Transport;
  private backendDisplay = 'disabled://';
  private pool?: Pool;
  private consumer?: Consumer;
  private control?: ControlServer;
  private events?: WorkerEvents;
  private loopWatch?: LoopWatch;
  private compiled?: WorkerSettings;
  private policies?: TaskPolicies;
  /** Run-time time limits (control command time_limit) set before start, applied to the policies at start. */
  private readonly pendingTimeLimits = new Map<string, [number | null, number | null]>();
  private consumed: ConsumedQueue[] = [];
  /** Rate limits set at run time (control rate_limit), by task name. */
  private readonly rateLimits = new Map<string, string | number | null>();
  /** Concurrency after pool_grow/pool_shrink/autoscale; undefined = as configured. */
  private resized?: number;
  private stopped?: Promise<void>;
  private restoreStdouts?: () => void;
  private resolveDone!: () => void;
  /** Why the worker stopped by itself (its broker stayed unreachable past broker_connection_max_retries). */
  failure?: Error;
  /** Resolves when the worker has stopped. */
  readonly done = new Promise<void>((r) => (this.resolveDone = r));

  /** Aborted by stop(): ends a start() still waiting for the broker (broker_connection_retry_on_startup). */
  private readonly starting = new AbortController();

  constructor(readonly app: WorkerApp, readonly options: WorkerOptions = {}) {
    this.hostname = expandNodeName(options.hostname ?? 'celery@%h', osHostname());
    this.logger = app.log.setup({ level: options.loglevel ?? 'WARNING', file: options.logfile ?? null });
    this.state.onRevokedOverflow = revokedOverflowLog(this.logger);
  }

  /**
   * Time limits on the async pool cannot interrupt a task that keeps the event loop busy (CPU-bound work): say so
   * at start, naming the tasks that have limits, and the pools that can enforce them.
   */
  private warnLimitsOnAsyncPool(): void {
    const { settings } = this;
    const limited = this.app.tasks.names().filter((name) => {
      const o = this.app.tasks.get(name).options;
      return (o.timeLimit ?? o.softTimeLimit ?? settings.task.timeLimit ?? settings.task.softTimeLimit) != null;
    });
    if (limited.length === 0) return;
    this.logger.warn(`Time limits are set for ${limited.length} task(s) (${limited.slice(0, 5).join(', ')}${limited.length > 5 ? ', …' : ''}) on the async pool: a task that keeps the event loop busy (CPU-bound work) cannot be stopped there. Use -P prefork or -P threads to enforce time limits on CPU-bound tasks.`);
  }

  /** The running pool's figures (kind, size, active, children); undefined before start. */
  poolStats(): PoolStats | undefined {
    return this.pool?.stats();
  }

  /** The worker's settings, compiled once at start (before start: compiled from the current configuration). */
  get settings(): WorkerSettings {
    return this.compiled ?? this.compileSettings();
  }

  /** The pool this worker runs (the option, else worker_pool); `processes` reads as `prefork`. */
  get poolKind(): 'async' | 'solo' | 'threads' | 'prefork' {
    return this.settings.pool;
  }

  get concurrency(): number {
    return this.resized ?? this.settings.concurrency;
  }

  async start(): Promise<void> {
    await importDefaultModules(this.app.conf);
    const app = this.app.finalize();
    const settings = (this.compiled = this.compileSettings());
    const policies = (this.policies = new TaskPolicies(settings.task));
    for (const [name, [soft, hard]] of this.pendingTimeLimits) policies.setTimeLimits(name, soft, hard);
    const queues = this.queues();
    await app.signals.send('worker_init', { hostname: this.hostname });
    if (settings.stateDb) for (const id of loadRevoked(settings.stateDb)) this.state.revoke(id);
    try {
      this.transport = await connectOnStartup(() => app.getTransport(), settings.startupRetry, redactUrl(app.brokerUrl()), (line) => this.logger.warn(line), this.starting.signal);
    } catch (error) {
      // Stopped (SIGTERM) while still waiting for the broker: nothing was started, stop() finishes the shutdown.
      if (this.starting.signal.aborted) return;
      throw error;
    }
    this.transport.on('disconnected', (e) => this.logger.warn(`consumer: Connection to broker lost (${(e as Error | undefined)?.message ?? 'unknown error'}). Trying to re-establish the connection…`));
    this.transport.on('connected', () => this.logger.info('consumer: Connected to the broker again; consuming.'));
    limitReconnects(this.transport, { retry: this.app.conf.get('broker_connection_retry') !== false, maxRetries: settings.startupRetry.maxRetries }, redactUrl(app.brokerUrl()), (error) => {
      this.logger.error(`consumer: ${error.message}`);
      this.failure = error;
      void this.stop('warm');
    });
    this.transport.on('error', (e) => this.logger.error(`consumer: ${(e as Error | undefined)?.message ?? String(e)}`));
    this.transport.on('settle-lost', (arg) => { const lost = arg as SettleLost; this.logger.error(`consumer: ${lost.reason}. These tasks may run twice: ${listIds(lost.taskIds)}`); });
    for (const q of queues) await this.transport.declare(q.declaration);
    const quorum = queues.filter((q) => isQuorum(q.declaration.queueArguments)).map((q) => q.declaration);
    if (settings.detectQuorumQueues && quorum.length && this.transport.nativeDelayedDelivery) {
      // Celery 5.5's DelayedDelivery step: ETA tasks for quorum queues wait in RabbitMQ, not in this worker.
      const unreachable = await this.transport.nativeDelayedDelivery.setup(quorum, settings.nativeDelayQueueType);
      if (unreachable.length) this.logger.warn(`Quorum queues ${unreachable.join(', ')} use a direct exchange, which native delayed delivery cannot reach: their ETA tasks are held by the worker. Give them a topic exchange (exchange_type: 'topic').`);
    }
    const backend = app.backendUrl() ? await app.getBackend() : null;
    this.backendDisplay = backend?.displayUrl ?? 'disabled://';
    const send: ExecutionHost['send'] = (name, args, kwargs, options) => app.producer.send(name, args, kwargs, options);
    const apply: ExecutionHost['apply'] = (sig, args, options) => applySignatureDict(app, sig, { args, options }).then((r) => r.id);
    const writer = new ResultWriter({ hostname: this.hostname, backend, apply, tasks: app.tasks, logger: this.logger }, policies, settings.resultExtended);
    this.pool = this.createPool({ hostname: this.hostname, send, apply, results: writer });
    await this.pool.start();
    if (this.pool.kind === 'async') this.warnLimitsOnAsyncPool();
    this.loopWatch?.start();
    if (!settings.disableRateLimits) {
      for (const name of app.tasks.names()) this.limiter.set(name, app.tasks.get(name).options.rateLimit ?? settings.task.rateLimit);
    }
    const fanout = this.transport.capabilities.fanout;
    if (fanout) {
      this.events = new WorkerEvents(this.transport, this.hostname, this.state, settings.sendTaskEvents, (e) => this.logger.debug(`events: ${(e as Error).message}`), this.clock, (app.conf.get('event_exchange') as string | null) ?? undefined);
    }
    this.consumed = queues.map((q) => ({ ...q.info, durable: true, autoDelete: false, maxPriority: null }));
    const results = new WorkerResults(writer, { signals: app.signals, logger: this.logger, monitor: this.events });
    this.consumer = new Consumer(app, this.transport, this.pool, results, policies, this.state, this.limiter, this.logger, {
      queues: this.queueNames,
      hostname: this.hostname,
      settings,
      monitor: this.events,
      // worker_detect_quorum_queues: RabbitMQ refuses global QoS on quorum queues; prefetch per consumer instead.
      globalQos: (names) => !(settings.detectQuorumQueues && names.some((n) => isQuorum(this.consumed.find((q) => q.name === n)?.queueArguments))),
    });
    if (this.options.banner !== false) process.stdout.write(this.banner(queues.map((q) => q.info)));
    if (settings.redirectStdoutsLevel) this.restoreStdouts = redirectStdouts(this.logger, settings.redirectStdoutsLevel);
    await this.consumer.start();
    if (fanout && settings.remoteControl) {
      this.control = new ControlServer(this.controlHost(), this.transport);
      await this.control.start();
    }
    await this.events?.start();
    if (this.logger.isLevelEnabled('debug')) {
      this.logger.debug(`Broker ${this.transport.displayUrl}; results ${backend?.displayUrl ?? 'disabled (no result_backend)'}`);
      this.logger.debug(`Pool ${settings.pool}, concurrency ${settings.concurrency}; consuming ${this.queueNames.join(', ')}; remote control ${this.control ? 'on' : 'off'}; task events ${settings.sendTaskEvents ? 'on' : 'off'}`);
      this.logger.debug(`Tasks: ${app.tasks.names().join(', ') || 'none'}`);
    }
    this.logger.info(`${this.hostname} ready.`);
    await app.signals.send('worker_ready', { hostname: this.hostname });
  }

  /** Change a task's rate limit on this worker ('10/m'; null removes it). */
  setRateLimit(taskName: string, limit: string | number | null): void {
    this.app.tasks.get(taskName);
    this.limiter.set(taskName, limit);
    this.rateLimits.set(taskName, limit);
    this.consumer?.rateLimitChanged(taskName);
  }

  /** The queues this worker consumes. */
  get queueNames(): readonly string[] {
    return this.consumed.map((q) => q.name);
  }

  /** The consumer's current prefetch window. */
  get prefetchCount(): number {
    return this.consumer?.prefetchCount ?? 0;
  }

  /** Change a task's time limits on this worker (seconds; null = none); a message's own limits still win (Celery). */
  setTimeLimits(taskName: string, soft: number | null, hard: number | null): void {
    this.app.tasks.get(taskName);
    if (this.policies) this.policies.setTimeLimits(taskName, soft, hard);
    else this.pendingTimeLimits.set(taskName, [soft, hard]);
  }

  /**
   * Revoke a task id on this worker (remembered for later deliveries). With terminate, a running one is abandoned
   * now and its pool child killed; `signal` (name or number, default SIGTERM) is what task-revoked reports.
   */
  revoke(taskId: string, options: { terminate?: boolean; signal?: string | number } = {}): void {
    if (this.consumer) this.consumer.revoke(taskId, options.terminate, signalNumber(options.signal));
    else this.state.revoke(taskId);
    this.saveState();
  }

  /** What the remote-control commands may read and change (worker/control/host.ts). */
  private controlHost(): ControlHost {
    const app = this.app;
    const worker = this;
    const pool = () => {
      if (!this.pool) throw new UsageError('The pool is not running.');
      return this.pool;
    };
    const resized = (size: number) => {
      this.resized = size;
      this.consumer?.setConcurrency(size);
    };
    return {
      hostname: this.hostname,
      state: this.state,
      logger: this.logger,
      clock: this.clock,
      version: VERSION,
      setting: (name) => app.conf.get(name),
      configTable: (withDefaults) => this.configReply(withDefaults),
      taskNames: () => app.tasks.names(),
      task: (name) => (app.tasks.has(name) ? app.tasks.get(name) : undefined),
      brokerUrl: app.brokerUrl(),
      backendUrl: app.backendUrl(),
      poolKind: this.poolKind,
      get concurrency() {
        return worker.concurrency;
      },
      get autoscaleLimits() {
        return worker.pool?.autoscaleLimits ?? null;
      },
      poolStats: () => this.pool?.stats(),
      get prefetchCount() {
        return worker.prefetchCount;
      },
      events: this.events,
      queues: () => this.consumed,
      addConsumer: async (queue) => {
        await this.transport!.declare({ name: queue.name, exchange: queue.exchange, exchangeType: queue.exchangeType as QueueDeclaration['exchangeType'], routingKey: queue.routingKey, queueArguments: queueArgumentsFor(queue.name, (k) => this.app.conf.get(k as never)) });
        this.consumed = [...this.consumed, queue];
        await this.consumer?.consumeFrom(this.queueNames);
      },
      cancelConsumer: async (name) => {
        if (!this.consumed.some((q) => q.name === name)) return false;
        this.consumed = this.consumed.filter((q) => q.name !== name);
        await this.consumer?.consumeFrom(this.queueNames);
        return true;
      },
      revoke: (ids, terminate) => {
        const running = ids.filter((id) => this.state.active.has(id));
        for (const id of ids) this.revoke(id, { terminate });
        return terminate ? running : [];
      },
      setRateLimit: (name, limit) => this.setRateLimit(name, limit),
      rateLimitOf: (name) => (this.rateLimits.has(name) ? this.rateLimits.get(name)! : (app.tasks.has(name) ? (app.tasks.get(name).options.rateLimit ?? null) : null)),
      setTimeLimits: (name, soft, hard) => this.setTimeLimits(name, soft, hard),
      resizePool: (n) => {
        const p = pool();
        if (!p.resize) throw new UsageError(`The ${p.kind} pool cannot change size.`);
        const size = Math.max(1, this.concurrency + n);
        p.resize(size);
        resized(size);
      },
      restartPool: async () => {
        const p = pool();
        if (!p.restart) throw new UsageError(`The ${p.kind} pool runs tasks in this process, which cannot re-import modules in Node; pool_restart needs -P threads or prefork.`);
        await p.restart();
      },
      autoscale: (max, min) => {
        const p = pool();
        if (!p.setAutoscale) throw new UsageError('Autoscale not enabled: start the worker with --autoscale max,min and -P threads or prefork.');
        const range = p.setAutoscale(max, min);
        resized(range.max);
        return range;
      },
      shutdown: () => setImmediate(() => void this.stop('warm')),
    };
  }

  /** Persist revoked ids when --statedb is set; a failure is logged, never thrown (the revoke itself holds). */
  /**
   * Celery's `inspect conf` reply: the conf table plus the loader's `include` (the include setting and the app's
   * module) and `deprecated_settings` (old names used, or null), which Python's worker always reports.
   */
  private configReply(withDefaults: boolean): Record<string, unknown> {
    const app = this.app;
    const include = [...((app.conf.get('include') as readonly string[] | null | undefined) ?? [])];
    if (this.options.appModule && !include.includes(this.options.appModule)) include.push(this.options.appModule);
    return { ...app.conf.table({ withDefaults }), deprecated_settings: app.conf.deprecatedSettings, include };
  }

  private saveState(): void {
    const path = this.settings.stateDb;
    if (!path) return;
    try {
      saveRevoked(path, this.state.revoked.keys());
    } catch (error) {
      this.logger.error(`Could not save worker state to ${path}: ${(error as Error).message}`);
    }
  }

  /** Warm: finish running tasks, return the rest. Cold: return everything unfinished and stop now. Idempotent. */
  stop(mode: 'warm' | 'cold' = 'warm'): Promise<void> {
    if (this.stopped && mode === 'cold') this.consumer?.forceCold();
    this.starting.abort();
    this.stopped ??= (async () => {
      this.logger.warn(`${mode === 'warm' ? 'Warm' : 'Cold'} shutdown (${this.hostname})`);
      await this.control?.stop().catch(() => undefined);
      await this.consumer?.stop(mode, this.settings.shutdownTimeoutMs).catch((e) => this.logger.error(`shutdown: ${(e as Error).message}`));
      await this.events?.stop().catch(() => undefined);
      await this.pool?.stop(mode);
      this.loopWatch?.stop();
      this.saveState();
      await this.app.signals.send('worker_shutdown', { hostname: this.hostname, mode });
      await this.app.close();
      this.restoreStdouts?.();
      this.resolveDone();
    })();
    return this.stopped;
  }

  private compileSettings(): WorkerSettings {
    const o = this.options;
    return compileWorkerSettings(this.app.conf, {
      pool: o.pool, concurrency: o.concurrency, autoscaleMax: this.autoscaleLimits()?.max ?? null, prefetchMultiplier: o.prefetchMultiplier,
      loglevel: o.loglevel, logfile: o.logfile, events: o.events, redirectStdouts: o.redirectStdouts, statedb: o.statedb, maxTasksPerChild: o.maxTasksPerChild,
      maxMemoryPerChild: o.maxMemoryPerChild, shutdownTimeout: o.shutdownTimeout,
    });
  }

  private autoscaleLimits(): AutoscaleLimits | null {
    const kind = poolKindOf(this.app.conf, this.options.pool);
    if (!this.options.autoscale || (kind !== 'threads' && kind !== 'prefork')) return null;
    try {
      return parseAutoscale(this.options.autoscale);
    } catch (error) {
      throw new ImproperlyConfigured((error as Error).message);
    }
  }

  /** async/solo run here; threads/prefork need the app module so their children can import it. */
  private createPool(host: ExecutionHost): Pool {
    const settings = this.settings;
    const kind = settings.pool;
    const inProcess = (kind: 'async' | 'solo') => {
      this.loopWatch = new LoopWatch(this.logger, (since) => this.state.runningSince(since).map((r) => `${r.task.name}[${r.id}]`));
      return new AsyncPool(kind, settings.concurrency, this.app, host, this.loopWatch);
    };
    if (kind === 'async' || kind === 'solo') return inProcess(kind);
    if (!this.options.appModule) {
      this.logger.warn(`The ${kind} pool needs the app's module for its children (-A module:app, or appModule when starting a Worker from code); using the async pool.`);
      return inProcess('async');
    }
    const Kind = kind === 'threads' ? ThreadPool : PreforkPool;
    // The CLI's -b / --result-backend reach the children as overrides of their app module's own URLs.
    const overrides = Object.fromEntries(Object.entries(settings.urls).filter(([, url]) => url !== null));
    return new Kind(this.app, this.logger, {
      appModule: this.options.appModule,
      size: settings.concurrency,
      autoscale: this.autoscaleLimits(),
      maxTasksPerChild: settings.maxTasksPerChild,
      maxMemoryPerChild: settings.maxMemoryPerChild,
      hostname: this.hostname,
      loglevel: settings.loglevel,
      logfile: settings.logfile,
      procAliveTimeoutMs: settings.procAliveTimeoutMs,
      shutdownTimeoutMs: settings.shutdownTimeoutMs,
      settings: overrides,
    });
  }

  private queues(): Array<{ declaration: QueueDeclaration; info: QueueInfo }> {
    const { knownQueues, createMissingQueues } = this.settings;
    let selected = [...knownQueues.values()];
    if (this.options.queues?.length) {
      selected = this.options.queues.map((name) => {
        const found = knownQueues.get(name);
        if (found) return found;
        if (!createMissingQueues) {
          throw new ImproperlyConfigured(`Queue '${name}' is not defined in task_queues and task_create_missing_queues is off. Define it or turn that on.`);
        }
        return { name, exchange: name, exchangeType: 'direct', routingKey: name, queueArguments: this.settings.missingQueueArguments };
      });
    }
    const excluded = new Set(this.options.excludeQueues ?? []);
    selected = selected.filter((q) => !excluded.has(q.name));
    if (selected.length === 0) throw new ImproperlyConfigured('No queues left to consume: check -Q and -X.');
    return selected.map((info) => ({
      info,
      declaration: { name: info.name, exchange: info.exchange, exchangeType: info.exchangeType as QueueDeclaration['exchangeType'], routingKey: info.routingKey, queueArguments: info.queueArguments },
    }));
  }

  private banner(queues: QueueInfo[]): string {
    const notes = this.settings.urls.broker_url ? [] : [`Using the embedded SQLite broker at ${this.app.brokerUrl()} (no broker_url configured).`];
    return renderBanner({
      hostname: this.hostname,
      version: VERSION,
      app: `${this.app.main}`,
      transport: this.transport?.displayUrl ?? this.app.brokerUrl(),
      results: this.backendDisplay,
      concurrency: this.concurrency,
      pool: this.pool?.kind ?? this.poolKind,
      events: this.settings.sendTaskEvents,
      queues,
      tasks: this.app.tasks.names().filter((name) => !name.startsWith('celery.')),
      notes,
    });
  }
}

/** A signal name ('SIGKILL') or number as its number; SIGTERM (15) when absent or unknown. */
function signalNumber(signal: string | number | undefined): number {
  if (typeof signal === 'number') return signal;
  const name = signal?.toUpperCase();
  const known = name ? (constants.signals as Record<string, number>)[name.startsWith('SIG') ? name : `SIG${name}`] : undefined;
  return known ?? constants.signals.SIGTERM;
}

/** Task ids for a log line: at most 100 named, then how many more. */
function listIds(ids: readonly string[]): string {
  return ids.length <= 100 ? ids.join(', ') : `${ids.slice(0, 100).join(', ')} and ${ids.length - 100} more`;
}

/** A warning when revoked ids are forgotten because the list is full: at most one line per 10 s, with the count. */
function revokedOverflowLog(logger: Logger): (forgotten: number, max: number) => void {
  let lastAt = 0;
  let pending = 0;
  return (forgotten, max) => {
    pending += forgotten;
    if (Date.now() - lastAt < 10_000) return;
    lastAt = Date.now();
    logger.warn(`The revoked list is full (${max} ids): forgot ${pending} revoked task ids before they expired, oldest first. Tasks with those ids run if they arrive now. A flood of revoke commands? Revoke fewer ids, or by stamped headers.`);
    pending = 0;
  };
}
