// The worker: composes transport, backend, pool and consumer; starts them in order and stops them in reverse.
// A static list of components instead of Celery's bootstep graph.

import { cpus, hostname as osHostname } from 'node:os';
import type { Celery } from '../app/celery.js';
import type { ResultBackend } from '../backends/backend.js';
import { ImproperlyConfigured } from '../errors.js';
import { acceptSet } from '../protocol/serializers.js';
import type { ExecutionHost } from '../task/execute.js';
import type { QueueDeclaration, Transport } from '../transports/transport.js';
import { expandNodeName } from '../utils/ids.js';
import type { Logger } from '../utils/logger.js';
import { renderBanner } from './banner.js';
import { Consumer } from './consumer.js';
import { AsyncPool } from './pool/async.js';
import { parseAutoscale, type AutoscaleLimits } from './pool/autoscale.js';
import type { Pool, PoolStats } from './pool/pool.js';
import { PreforkPool } from './pool/prefork.js';
import { ThreadPool } from './pool/threads.js';
import { RateLimiter } from './rate-limit.js';
import { loadRevoked, saveRevoked } from './statedb.js';
import { WorkerState } from './state.js';
import { ControlServer } from './control.js';
import { WorkerEvents } from './events.js';
import { VERSION } from '../utils/version.js';

/** `processes` is an alias of `prefork`. */
export type PoolKind = 'async' | 'solo' | 'threads' | 'prefork' | 'processes';

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
  /** Seconds a warm shutdown waits for running tasks. Default 60. */
  shutdownTimeout?: number;
  /** File keeping revoked ids across restarts (--statedb). Default worker_state_db. */
  statedb?: string | null;
}

interface QueueInfo { name: string; exchange: string; exchangeType: string; routingKey: string }

export class Worker {
  readonly hostname: string;
  readonly state = new WorkerState();
  readonly limiter = new RateLimiter();
  readonly logger: Logger;
  private transport?: Transport;
  private backend: ResultBackend | null = null;
  private pool?: Pool;
  private consumer?: Consumer;
  private control?: ControlServer;
  private events?: WorkerEvents;
  private queueList: string[] = [];
  private stopped?: Promise<void>;
  private resolveDone!: () => void;
  /** Resolves when the worker has stopped. */
  readonly done = new Promise<void>((r) => (this.resolveDone = r));

  constructor(readonly app: Celery, readonly options: WorkerOptions = {}) {
    this.hostname = expandNodeName(options.hostname ?? 'celery@%h', osHostname());
    this.logger = app.log.setup({ level: options.loglevel ?? 'WARNING', file: options.logfile ?? null });
  }

  /** The running pool's figures (kind, size, active, children); undefined before start. */
  poolStats(): PoolStats | undefined {
    return this.pool?.stats();
  }

  /** The pool this worker runs (the option, else worker_pool); `processes` reads as `prefork`. */
  get poolKind(): 'async' | 'solo' | 'threads' | 'prefork' {
    const kind = (this.options.pool ?? (this.app.conf.get('worker_pool') as PoolKind | null) ?? 'async') as PoolKind;
    return kind === 'processes' ? 'prefork' : kind;
  }

  get concurrency(): number {
    const scale = this.autoscaleLimits;
    if (scale) return scale.max;
    const value = this.poolKind === 'solo' ? 1 : (this.options.concurrency ?? (this.app.conf.get('worker_concurrency') as number | null) ?? cpus().length);
    if (!Number.isInteger(value) || value < 1) throw new ImproperlyConfigured(`Concurrency must be a whole number ≥ 1 (got ${value}). Set -c / worker_concurrency.`);
    return value;
  }

  async start(): Promise<void> {
    const app = this.app.finalize();
    const conf = (n: string) => app.conf.get(n);
    const queues = this.queues();
    await app.signals.send('worker_init', { hostname: this.hostname });
    const statedb = this.statedbPath;
    if (statedb) for (const id of loadRevoked(statedb)) this.state.revoke(id);
    this.transport = await app.getTransport();
    this.transport.on('disconnected', (e) => this.logger.warn(`consumer: Connection to broker lost (${(e as Error | undefined)?.message ?? 'unknown error'}). Trying to re-establish the connection…`));
    this.transport.on('connected', () => this.logger.info('consumer: Connected to the broker again; consuming.'));
    this.transport.on('error', (e) => this.logger.error(`consumer: ${(e as Error | undefined)?.message ?? String(e)}`));
    for (const q of queues) await this.transport.declare(q.declaration);
    this.backend = app.backendUrl() ? await app.getBackend() : null;
    const host: ExecutionHost = {
      hostname: this.hostname,
      setting: conf,
      backend: this.backend,
      send: (name, args, kwargs, options) => app.producer.send(name, args, kwargs, options),
    };
    this.pool = this.createPool(host);
    await this.pool.start();
    if (!conf('worker_disable_rate_limits')) {
      for (const name of app.tasks.names()) {
        const task = app.tasks.get(name);
        this.limiter.set(name, task.options.rateLimit ?? (conf('task_default_rate_limit') as string | null));
      }
    }
    const fanout = this.transport.capabilities.fanout;
    if (fanout) {
      this.events = new WorkerEvents(this.transport, this.hostname, this.state, Boolean(this.options.events ?? conf('worker_send_task_events')), (e) => this.logger.debug(`events: ${(e as Error).message}`));
    }
    this.queueList = queues.map((q) => q.info.name);
    this.consumer = new Consumer(app, this.transport, this.pool, host, this.state, this.limiter, this.logger, {
      queues: queues.map((q) => q.info.name),
      concurrency: this.concurrency,
      prefetchMultiplier: this.options.prefetchMultiplier ?? (conf('worker_prefetch_multiplier') as number) ?? 4,
      hostname: this.hostname,
      accept: acceptSet((conf('accept_content') as string[]) ?? ['json']),
      loglevel: this.options.loglevel ?? null,
      logfile: this.options.logfile ?? null,
      monitor: this.events,
      timeLimits: this.timeLimits,
    });
    if (this.options.banner !== false) process.stdout.write(this.banner(queues.map((q) => q.info)));
    await this.consumer.start();
    if (fanout && conf('worker_enable_remote_control') !== false) {
      this.control = new ControlServer(this, app, this.transport, this.logger);
      await this.control.start();
    }
    await this.events?.start();
    this.logger.info(`${this.hostname} ready.`);
    await app.signals.send('worker_ready', { hostname: this.hostname });
  }

  /** Change a task's rate limit on this worker ('10/m'; null removes it). */
  setRateLimit(taskName: string, limit: string | number | null): void {
    this.app.tasks.get(taskName);
    this.limiter.set(taskName, limit);
  }

  /** Per-task [soft, hard] time limits set at run time (control command time_limit); they win over task options. */
  readonly timeLimits = new Map<string, [number | null, number | null]>();

  /** The queues this worker consumes. */
  get queueNames(): readonly string[] {
    return this.queueList;
  }

  /** The consumer's current prefetch window. */
  get prefetchCount(): number {
    return this.consumer?.prefetchCount ?? 0;
  }

  /** Change a task's time limits on this worker (seconds; null = none). */
  setTimeLimits(taskName: string, soft: number | null, hard: number | null): void {
    this.app.tasks.get(taskName);
    this.timeLimits.set(taskName, [soft, hard]);
  }

  /** Revoke a task id on this worker (remembered for later deliveries); terminate aborts it if running. */
  revoke(taskId: string, options: { terminate?: boolean } = {}): void {
    if (this.consumer) this.consumer.revoke(taskId, options.terminate);
    else this.state.revoke(taskId);
    this.saveState();
  }

  private get statedbPath(): string | null {
    return this.options.statedb ?? (this.app.conf.get('worker_state_db') as string | null) ?? null;
  }

  /** Persist revoked ids when --statedb is set; a failure is logged, never thrown (the revoke itself holds). */
  private saveState(): void {
    const path = this.statedbPath;
    if (!path) return;
    try {
      saveRevoked(path, this.state.revoked);
    } catch (error) {
      this.logger.error(`Could not save worker state to ${path}: ${(error as Error).message}`);
    }
  }

  /** Warm: finish running tasks, return the rest. Cold: return everything unfinished and stop now. Idempotent. */
  stop(mode: 'warm' | 'cold' = 'warm'): Promise<void> {
    if (this.stopped && mode === 'cold') this.consumer?.forceCold();
    this.stopped ??= (async () => {
      this.logger.warn(`${mode === 'warm' ? 'Warm' : 'Cold'} shutdown (${this.hostname})`);
      await this.control?.stop().catch(() => undefined);
      await this.consumer?.stop(mode, (this.options.shutdownTimeout ?? 60) * 1000).catch((e) => this.logger.error(`shutdown: ${(e as Error).message}`));
      await this.events?.stop().catch(() => undefined);
      await this.pool?.stop(mode);
      this.saveState();
      await this.app.signals.send('worker_shutdown', { hostname: this.hostname, mode });
      await this.app.close();
      this.resolveDone();
    })();
    return this.stopped;
  }

  private get autoscaleLimits(): AutoscaleLimits | null {
    const kind = this.poolKind;
    if (!this.options.autoscale || (kind !== 'threads' && kind !== 'prefork')) return null;
    try {
      return parseAutoscale(this.options.autoscale);
    } catch (error) {
      throw new ImproperlyConfigured((error as Error).message);
    }
  }

  /** async/solo run here; threads/prefork need the app module so their children can import it. */
  private createPool(host: ExecutionHost): Pool {
    const kind = this.poolKind;
    const conf = (n: string) => this.app.conf.get(n);
    if (kind === 'async' || kind === 'solo') return new AsyncPool(kind, this.concurrency, this.app, host);
    if (!this.options.appModule) {
      this.logger.warn(`The ${kind} pool needs the app's module for its children (-A module:app, or appModule when starting a Worker from code); using the async pool.`);
      return new AsyncPool('async', this.concurrency, this.app, host);
    }
    const Kind = kind === 'threads' ? ThreadPool : PreforkPool;
    const settings: Record<string, unknown> = {};
    for (const name of ['broker_url', 'result_backend']) if (conf(name)) settings[name] = conf(name);
    return new Kind(this.app, host, this.logger, {
      appModule: this.options.appModule,
      size: this.concurrency,
      autoscale: this.autoscaleLimits,
      maxTasksPerChild: this.options.maxTasksPerChild ?? (conf('worker_max_tasks_per_child') as number | null),
      maxMemoryPerChild: this.options.maxMemoryPerChild ?? (conf('worker_max_memory_per_child') as number | null),
      hostname: this.hostname,
      loglevel: this.options.loglevel ?? null,
      logfile: this.options.logfile ?? null,
      procAliveTimeoutMs: ((conf('worker_proc_alive_timeout') as number | null) ?? 4) * 1000,
      shutdownTimeoutMs: (this.options.shutdownTimeout ?? 60) * 1000,
      settings,
    });
  }

  private queues(): Array<{ declaration: QueueDeclaration; info: QueueInfo }> {
    const conf = (n: string) => this.app.conf.get(n);
    const defaultQueue = (conf('task_default_queue') as string) ?? 'celery';
    const configured = (conf('task_queues') as Array<Record<string, unknown>> | null) ?? null;
    const known = new Map<string, QueueInfo>();
    for (const q of configured ?? [{ name: defaultQueue }]) {
      const name = String(q.name);
      known.set(name, {
        name,
        exchange: String(q.exchange ?? conf('task_default_exchange') ?? name),
        exchangeType: String(q.exchange_type ?? conf('task_default_exchange_type') ?? 'direct'),
        routingKey: String(q.routing_key ?? name),
      });
    }
    let selected = [...known.values()];
    if (this.options.queues?.length) {
      selected = this.options.queues.map((name) => {
        const found = known.get(name);
        if (found) return found;
        if (conf('task_create_missing_queues') === false) {
          throw new ImproperlyConfigured(`Queue '${name}' is not defined in task_queues and task_create_missing_queues is off. Define it or turn that on.`);
        }
        return { name, exchange: name, exchangeType: 'direct', routingKey: name };
      });
    }
    const excluded = new Set(this.options.excludeQueues ?? []);
    selected = selected.filter((q) => !excluded.has(q.name));
    if (selected.length === 0) throw new ImproperlyConfigured('No queues left to consume: check -Q and -X.');
    return selected.map((info) => ({
      info,
      declaration: { name: info.name, exchange: info.exchange, exchangeType: info.exchangeType as QueueDeclaration['exchangeType'], routingKey: info.routingKey },
    }));
  }

  private banner(queues: QueueInfo[]): string {
    const notes = this.app.conf.get('broker_url') ? [] : [`Using the embedded SQLite broker at ${this.app.brokerUrl()} (no broker_url configured).`];
    return renderBanner({
      hostname: this.hostname,
      version: VERSION,
      app: `${this.app.main}`,
      transport: this.transport?.displayUrl ?? this.app.brokerUrl(),
      results: this.backend?.displayUrl ?? 'disabled://',
      concurrency: this.concurrency,
      pool: this.pool?.kind ?? this.poolKind,
      events: Boolean(this.options.events),
      queues,
      tasks: this.app.tasks.names(),
      notes,
    });
  }
}
