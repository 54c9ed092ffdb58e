// The consumer: flow only. Takes deliveries, turns them into Requests, holds ETA and rate-limited ones, and runs
// them on the pool within the concurrency. How each one ends (results, events, acks) is results.ts's; a request's
// policy and settle are its own (request.ts). Bad input is logged and rejected, never fatal.

import type { WorkerApp } from './app.js';
import { notRegistered } from '../app/registry.js';
import { pyRepr } from '../protocol/repr.js';
import { parseTaskMessage, type TaskMessage } from '../protocol/task-message.js';
import type { Delivery, Subscription, Transport } from '../transports/transport.js';
import { celeryLevelNumber, type Logger } from '../utils/logger.js';
import { setLongTimeout, sleepLong, type LongTimer } from '../utils/long-timer.js';
import type { Pool } from './pool/pool.js';
import type { RateLimiter } from './rate-limit.js';
import { Request } from './request.js';
import { DeliveredRequest } from './request-context.js';
import type { WorkerResults } from './results.js';
import type { TaskPolicies, WorkerSettings } from './settings.js';
import type { WorkerState } from './state.js';
import type { TaskMonitor } from './events.js';

/** ETAs further away than this are handed back to the broker (when it can hold them) instead of held here. */
const DEFER_AFTER_MS = 2_000;

/** revoke(terminate=True) without a signal: SIGTERM, as Celery's default. */
const SIGTERM = 15;

/** What the consumer needs: the queues to consume, the worker's name, its compiled settings, and the task-event monitor. */
export interface ConsumerOptions {
  readonly queues: readonly string[];
  readonly hostname: string;
  readonly settings: WorkerSettings;
  /** Task events (task-received, task-succeeded …); absent when the broker cannot broadcast. */
  readonly monitor?: TaskMonitor;
  /** Whether a subscription to these queues may use global QoS (false when one is a detected quorum queue). */
  readonly globalQos?: (queues: readonly string[]) => boolean;
}

/** Takes deliveries from the transport (Celery's Consumer): prefetch, ETA holds, reconnects; hands each to the worker. */
export class Consumer {
  private subscription?: Subscription;
  private ready: Request[] = [];
  private readonly timers = new Set<LongTimer>();
  /** Rate-limited requests waiting for their task's token, in the order they came, with the timer that frees them. */
  private readonly limited = new Map<string, { waiting: Request[]; timer: LongTimer }>();
  private heldForEta = 0;
  private idleWaiters: Array<() => void> = [];
  private stopping = false;
  private concurrency: number;

  constructor(
    private readonly app: WorkerApp,
    private readonly transport: Transport,
    private readonly pool: Pool,
    private readonly results: WorkerResults,
    private readonly policies: TaskPolicies,
    private readonly state: WorkerState,
    private readonly limiter: RateLimiter,
    private readonly logger: Logger,
    private readonly options: ConsumerOptions,
  ) {
    this.concurrency = options.settings.concurrency;
  }

  get prefetchCount(): number {
    const { prefetchMultiplier } = this.options.settings;
    return prefetchMultiplier > 0 ? this.concurrency * prefetchMultiplier + this.heldForEta : 0;
  }

  /** Opens the transport's worker lease (where it has one) before consuming, so what is taken is held under it. */
  async start(): Promise<void> {
    await this.transport.lease?.start();
    await this.consumeFrom(this.options.queues);
  }

  /** Consume exactly these queues from now on (add_consumer/cancel_consumer); deliveries already handed out are unaffected. */
  async consumeFrom(queues: readonly string[]): Promise<void> {
    const previous = this.subscription;
    this.subscription = queues.length && !this.stopping ? await this.transport.subscribe(queues, (d) => void this.onDelivery(d), { prefetch: this.prefetchCount, globalQos: this.options.globalQos?.(queues) ?? true }) : undefined;
    await previous?.cancel();
  }

  /** Change how many tasks run at once (pool_grow/pool_shrink, autoscale); the prefetch window follows. */
  setConcurrency(concurrency: number): void {
    this.concurrency = concurrency;
    void this.subscription?.setPrefetch(this.prefetchCount).catch(() => undefined);
    this.pump();
  }

  /**
   * Warm: stop taking, return everything not started to the broker, wait for running tasks.
   * Cold: also return running acks_late tasks and stop waiting.
   */
  async stop(mode: 'warm' | 'cold', waitMs = 60_000): Promise<void> {
    this.stopping = true;
    await this.subscription?.cancel().catch(() => undefined);
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    this.limited.clear();
    const unstarted = [...this.state.reserved.values()].filter((r) => !r.acknowledged);
    if (unstarted.length) this.logger.warn(`Restoring ${unstarted.length} unacknowledged message(s)`);
    await Promise.allSettled(unstarted.map((r) => r.reject(true)));
    this.state.reserved.clear();
    this.ready = [];
    if (mode === 'warm' && this.state.active.size > 0) {
      this.logger.warn(`Waiting for ${this.state.active.size} running task(s) to finish…`);
      await Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), sleepLong(waitMs, { unref: true })]);
      this.idleWaiters.length = 0;
    }
    const left = [...this.state.active.values()].filter((r) => !r.acknowledged);
    if (left.length) {
      this.logger.warn(`Returning ${left.length} unfinished acks_late task(s) to the broker`);
      // Rejected (settled) now, so an outcome arriving after this (a killed pool child) does not ack or reject again.
      await Promise.allSettled(left.map((r) => r.reject(true)));
    }
    await this.transport.lease?.stop().catch((e) => this.logger.error(`shutdown: ${(e as Error).message}`));
  }

  /** Turn a warm shutdown in progress into a cold one: stop waiting for running tasks. */
  forceCold(): void {
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Revoke: discarded when its turn comes; with terminate, a running one is abandoned now (its child killed). */
  revoke(id: string, terminate = false, signum = SIGTERM): void {
    this.state.revoke(id);
    if (terminate) this.state.active.get(id)?.terminate(this.pool, signum);
  }

  private async onDelivery(delivery: Delivery): Promise<void> {
    try {
      const decoded = this.decode(delivery);
      // The happy path costs no promise; only a message that cannot be used is reported asynchronously.
      const message = decoded instanceof Promise ? await decoded : decoded;
      if (!message) return;
      const task = this.app.tasks.has(message.task) ? this.app.tasks.get(message.task) : undefined;
      if (!task) {
        const why = notRegistered(message.task, this.app.tasks.names()).message;
        return await this.results.unknownTask(delivery, message, this.contextOf(message, delivery), why);
      }
      // A task this worker parked at the broker until its ETA was received then: it is not received twice.
      const parkedHere = this.state.unpark(message.id);
      if (!parkedHere && this.logger.isLevelEnabled('info')) this.logger.info(`Task ${message.task}[${message.id}] received`);
      if (this.logger.isLevelEnabled('debug')) this.logger.debug(`Task ${message.task}[${message.id}] from queue ${delivery.queue}: args ${pyRepr(message.args, 200)}, kwargs ${pyRepr(message.kwargs, 200)}, retries ${message.retries}, eta ${message.eta ?? 'none'}, expires ${message.expires ?? 'none'}, redelivered ${delivery.redelivered ? 'yes' : 'no'}`);
      const request = new Request(message, delivery, task, this.policies.of(task));
      // Celery checks revoked and expired before it reports the task received.
      if (this.discardIfRevoked(request)) return;
      if (!parkedHere) {
        this.options.monitor?.received(message);
        if (this.app.signals.has('task_received')) await this.app.signals.send('task_received', { name: message.task, taskId: message.id, hostname: this.options.hostname });
      }
      const eta = request.etaAt;
      const wait = eta === null ? 0 : eta - Date.now();
      if (wait > DEFER_AFTER_MS && delivery.defer) {
        this.state.park({ message, deliveryInfo: delivery.message.deliveryInfo, priority: delivery.message.properties.priority, eta: eta! });
        await delivery.defer(eta!);
        this.logger.debug(`Task ${message.task}[${message.id}] handed back to the broker until its ETA ${message.eta}`);
        return;
      }
      this.state.reserved.set(message.id, request);
      if (wait > 0) return this.holdUntil(request, wait);
      this.enqueue(request);
    } catch (error) {
      this.logger.error({ err: error }, `Could not handle a message from queue ${delivery.queue}: ${(error as Error).message}`);
      await delivery.reject({ requeue: false }).catch(() => undefined);
    }
  }

  /** The task message, or (as a promise resolving null) the message reported and rejected by the results. */
  private decode(delivery: Delivery): TaskMessage | Promise<null> {
    if (delivery.decodeError) return this.results.undecodable(delivery, delivery.decodeError).then(() => null);
    try {
      const { accept, maxDecompressedBytes } = this.options.settings;
      return parseTaskMessage(delivery.message, accept, `queue ${delivery.queue}`, maxDecompressedBytes);
    } catch (error) {
      return this.results.undecodable(delivery, error as Error).then(() => null);
    }
  }

  private contextOf(message: TaskMessage, delivery: Delivery) {
    const { settings, hostname } = this.options;
    return new DeliveredRequest(message, delivery, hostname, celeryLevelNumber(settings.loglevel ?? 'WARNING'), settings.logfile);
  }

  /**
   * Celery checks revoked and expired on receipt and again right before the task runs (after its ETA, a rate-limit
   * wait or a wait for a free slot). A hit is discarded as REVOKED (asynchronously; the caller moves on).
   */
  private discardIfRevoked(request: Request): boolean {
    const expired = request.expired();
    if (!expired && !this.state.revokedBy(request.message)) return false;
    if (expired) this.state.revoke(request.id);
    this.state.reserved.delete(request.id);
    const { settings, hostname } = this.options;
    const context = request.context(hostname, settings.loglevel, settings.logfile);
    void this.results.revoked(request, context, expired ? 'expired' : 'revoked').catch((e) => this.logger.error({ err: e }, `Could not discard task ${request.id}: ${(e as Error).message}`));
    return true;
  }

  private holdUntil(request: Request, waitMs: number): void {
    // While held, a message counts as unacked; widen the window so it does not starve other work (as Celery does).
    this.heldForEta++;
    void this.subscription?.setPrefetch(this.prefetchCount);
    // A long timer: an ETA 25 days ahead on a broker that cannot defer (AMQP) must not fire at once.
    const timer = setLongTimeout(() => {
      this.timers.delete(timer);
      this.heldForEta--;
      void this.subscription?.setPrefetch(this.prefetchCount);
      this.enqueue(request);
    }, waitMs);
    this.timers.add(timer);
  }

  private enqueue(request: Request): void {
    if (this.stopping) return;
    this.ready.push(request);
    this.pump();
  }

  private pump(): void {
    while (!this.stopping && this.state.active.size < this.concurrency && this.ready.length > 0) {
      const next = this.ready.shift()!;
      if (this.discardIfRevoked(next)) continue;
      const lane = this.limited.get(next.task.name);
      if (lane) {
        // Behind the ones already waiting for this task's token: rate-limited tasks start in the order they came.
        lane.waiting.push(next);
        continue;
      }
      const waitMs = this.limiter.acquire(next.task.name);
      if (waitMs > 0) {
        this.waitForToken(next.task.name, [next], waitMs);
        continue;
      }
      void this.run(next);
    }
  }

  /**
   * A task's rate limit changed (control rate_limit): requests waiting under the old limit go back to the front of
   * the line now and ask the new bucket.
   */
  rateLimitChanged(taskName: string): void {
    const lane = this.limited.get(taskName);
    if (!lane) return;
    lane.timer.cancel();
    this.release(taskName, lane);
  }

  // Rate-limited: park the task's waiting line (keep serving other tasks) until its bucket has a token.
  private waitForToken(taskName: string, waiting: Request[], waitMs: number): void {
    const lane = { waiting, timer: setLongTimeout(() => this.release(taskName, lane), waitMs) };
    this.limited.set(taskName, lane);
    this.timers.add(lane.timer);
  }

  private release(taskName: string, lane: { waiting: Request[]; timer: LongTimer }): void {
    this.timers.delete(lane.timer);
    this.limited.delete(taskName);
    this.ready = lane.waiting.concat(this.ready);
    this.pump();
  }

  private async run(request: Request): Promise<void> {
    const { message } = request;
    this.state.reserved.delete(message.id);
    this.state.active.set(message.id, request);
    try {
      // Early ack is sent before the task runs but not waited for, as AMQP's basic.ack is not: the task does not
      // sit on a round trip. A failed ack is logged; the broker then redelivers (the at-most-once trade of early ack).
      if (!request.policy.acksLate) request.ack().catch((e) => this.logger.warn(`Task ${message.task}[${message.id}]: early ack failed (${(e as Error).message}); the broker may deliver it again.`));
      const { settings, hostname } = this.options;
      const context = request.context(hostname, settings.loglevel, settings.logfile);
      this.options.monitor?.started(message);
      const outcome = await request.run(this.pool, context);
      await this.results.finished(request, context, outcome);
    } catch (error) {
      this.logger.error({ err: error }, `Task ${message.task}[${message.id}]: worker error: ${(error as Error).message}`);
      await request.reject(false).catch(() => undefined);
    } finally {
      this.state.active.delete(message.id);
      this.state.finished(request);
      if (this.state.active.size === 0) for (const w of this.idleWaiters.splice(0)) w();
      this.pump();
    }
  }
}
