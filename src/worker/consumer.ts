// The consumer: takes deliveries, turns them into requests, holds ETA and rate-limited ones, runs them on the
// pool within the concurrency, and acks or rejects by policy. Bad input is logged and rejected, never fatal.

import type { Celery } from '../app/celery.js';
import { ContentDisallowed, NotRegistered, SoftTimeLimitExceeded, TaskRevokedError, TimeLimitExceeded } from '../errors.js';
import { notRegistered } from '../app/registry.js';
import { exceptionToDoc } from '../protocol/exceptions.js';
import { pyRepr } from '../protocol/repr.js';
import { buildResultMeta } from '../protocol/result-meta.js';
import { parseTaskMessage, type TaskMessage } from '../protocol/task-message.js';
import { FAILURE, RETRY, REVOKED, SUCCESS } from '../states.js';
import type { ExecutionHost, TaskOutcome } from '../task/execute.js';
import type { Task } from '../task/task.js';
import type { Delivery, Subscription, Transport } from '../transports/transport.js';
import type { Logger } from '../utils/logger.js';
import type { Pool } from './pool/pool.js';
import type { RateLimiter } from './rate-limit.js';
import { ackPolicyOf, buildRequest, etaOf, isExpired, timeLimitsOf } from './request.js';
import type { TrackedRequest, WorkerState } from './state.js';
import type { TaskMonitor } from './events.js';

/** ETAs further away than this are handed back to the broker (when it can hold them) instead of held here. */
const DEFER_AFTER_MS = 2_000;

export interface ConsumerOptions {
  readonly queues: readonly string[];
  readonly concurrency: number;
  readonly prefetchMultiplier: number;
  readonly hostname: string;
  readonly accept: ReadonlySet<string>;
  readonly loglevel: string | null;
  readonly logfile: string | null;
  /** Task events (task-received, task-succeeded …); absent when the broker cannot broadcast. */
  readonly monitor?: TaskMonitor;
  /** Run-time [soft, hard] limits by task name (control command time_limit). */
  readonly timeLimits?: ReadonlyMap<string, [number | null, number | null]>;
}

export class Consumer {
  private subscription?: Subscription;
  private readonly ready: TrackedRequest[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private heldForEta = 0;
  private idleWaiters: Array<() => void> = [];
  private stopping = false;
  /** Running task id → end it now (hard time limit, revoke terminate), even after its soft limit fired. */
  private readonly hardStops = new Map<string, (reason: TimeLimitExceeded | TaskRevokedError) => void>();

  constructor(
    private readonly app: Celery,
    private readonly transport: Transport,
    private readonly pool: Pool,
    private readonly host: ExecutionHost,
    private readonly state: WorkerState,
    private readonly limiter: RateLimiter,
    private readonly logger: Logger,
    private readonly options: ConsumerOptions,
  ) {}

  get prefetchCount(): number {
    return this.options.prefetchMultiplier > 0 ? this.options.concurrency * this.options.prefetchMultiplier + this.heldForEta : 0;
  }

  async start(): Promise<void> {
    this.subscription = await this.transport.subscribe(this.options.queues, (d) => void this.onDelivery(d), { prefetch: this.prefetchCount });
  }

  /**
   * Warm: stop taking, return everything not started to the broker, wait for running tasks.
   * Cold: also return running acks_late tasks and stop waiting.
   */
  async stop(mode: 'warm' | 'cold', waitMs = 60_000): Promise<void> {
    this.stopping = true;
    await this.subscription?.cancel().catch(() => undefined);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const unstarted = [...this.state.reserved.values()].filter((r) => !r.acknowledged);
    if (unstarted.length) this.logger.warn(`Restoring ${unstarted.length} unacknowledged message(s)`);
    await Promise.allSettled(unstarted.map((r) => r.delivery.reject({ requeue: true })));
    this.state.reserved.clear();
    this.ready.length = 0;
    if (mode === 'warm' && this.state.active.size > 0) {
      this.logger.warn(`Waiting for ${this.state.active.size} running task(s) to finish…`);
      await Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), new Promise((r) => setTimeout(r, waitMs).unref())]);
      this.idleWaiters.length = 0;
    }
    const left = [...this.state.active.values()].filter((r) => !r.acknowledged);
    if (left.length) {
      this.logger.warn(`Returning ${left.length} unfinished acks_late task(s) to the broker`);
      // Marked settled, so an outcome arriving after this (a killed pool child) does not ack or reject again.
      for (const r of left) r.acknowledged = true;
      await Promise.allSettled(left.map((r) => r.delivery.reject({ requeue: true })));
    }
  }

  /** Turn a warm shutdown in progress into a cold one: stop waiting for running tasks. */
  forceCold(): void {
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Revoke: discard if waiting; with terminate, abort a running one. */
  revoke(id: string, terminate = false): void {
    this.state.revoke(id);
    const running = this.state.active.get(id);
    if (!running || !terminate) return;
    const error = new TaskRevokedError(`Task ${id} was revoked (terminate).`, { context: { taskId: id } });
    const stop = this.hardStops.get(id);
    if (stop) stop(error);
    else running.abort.abort(error);
  }

  private async onDelivery(delivery: Delivery): Promise<void> {
    try {
      const decoded = this.decode(delivery);
      // The happy path costs no promise; only a message that cannot be used is reported asynchronously.
      const message = decoded instanceof Promise ? await decoded : decoded;
      if (!message) return;
      const task = this.app.tasks.has(message.task) ? this.app.tasks.get(message.task) : undefined;
      if (!task) return await this.unknownTask(delivery, message);
      if (this.logger.isLevelEnabled('info')) this.logger.info(`Task ${message.task}[${message.id}] received`);
      this.options.monitor?.received(message);
      if (this.app.signals.has('task_received')) await this.app.signals.send('task_received', { name: message.task, taskId: message.id, hostname: this.options.hostname });
      const tracked: TrackedRequest = { message, delivery, receivedAt: Date.now(), acknowledged: false, abort: new AbortController() };
      if (this.state.revoked.has(message.id)) return await this.discard(tracked, 'revoked');
      if (isExpired(message)) return await this.discard(tracked, 'expired');
      const eta = etaOf(message);
      const wait = eta === null ? 0 : eta - Date.now();
      if (wait > DEFER_AFTER_MS && delivery.defer) {
        await delivery.defer(eta!);
        this.logger.debug(`Task ${message.task}[${message.id}] handed back to the broker until its ETA ${message.eta}`);
        return;
      }
      this.state.reserved.set(message.id, tracked);
      if (wait > 0) return this.holdUntil(tracked, wait);
      this.enqueue(tracked);
    } catch (error) {
      this.logger.error({ err: error }, `Could not handle a message from queue ${delivery.queue}: ${(error as Error).message}`);
      await delivery.reject({ requeue: false }).catch(() => undefined);
    }
  }

  /**
   * The task message, or (as a promise resolving null) one clear line and a reject; a FAILURE is stored when the
   * task id is known (except refused content).
   */
  private decode(delivery: Delivery): TaskMessage | Promise<null> {
    if (delivery.decodeError) return this.rejectUnreadable(delivery, delivery.decodeError);
    try {
      return parseTaskMessage(delivery.message, this.options.accept, `queue ${delivery.queue}`);
    } catch (error) {
      return this.rejectUndecodable(delivery, error);
    }
  }

  private async rejectUnreadable(delivery: Delivery, error: Error): Promise<null> {
    this.logger.error(`Rejected an unreadable message on queue ${delivery.queue}: ${error.message}`);
    await delivery.reject({ requeue: false });
    await this.app.signals.send('task_rejected', { queue: delivery.queue, reason: error.message });
    return null;
  }

  private async rejectUndecodable(delivery: Delivery, error: unknown): Promise<null> {
    const id = typeof delivery.message.headers.id === 'string' ? delivery.message.headers.id : null;
    const name = typeof delivery.message.headers.task === 'string' ? delivery.message.headers.task : 'unknown';
    this.logger.error(`Rejected message${id ? ` for task ${name}[${id}]` : ''} from queue ${delivery.queue}: ${(error as Error).message}`);
    if (id && !(error instanceof ContentDisallowed)) await this.storeFailure(id, error, null);
    await delivery.reject({ requeue: false });
    await this.app.signals.send('task_rejected', { queue: delivery.queue, reason: (error as Error).message });
    return null;
  }

  private async unknownTask(delivery: Delivery, message: TaskMessage): Promise<void> {
    const error = notRegistered(message.task, this.app.tasks.names());
    this.logger.error(`Received unregistered task of type '${message.task}' (id ${message.id}, queue ${delivery.queue}). ${error.message} The message is rejected.`);
    await this.storeFailure(message.id, new NotRegistered(message.task), null);
    await delivery.reject({ requeue: false });
    await this.app.signals.send('task_unknown', { name: message.task, taskId: message.id, queue: delivery.queue });
  }

  private async discard(tracked: TrackedRequest, why: 'revoked' | 'expired'): Promise<void> {
    const { message } = tracked;
    this.logger.info(why === 'expired' ? `Discarding expired task ${message.task}[${message.id}] (expires ${message.expires})` : `Discarding revoked task ${message.task}[${message.id}]`);
    if (this.host.backend) {
      const doc = { exc_type: 'TaskRevokedError', exc_message: [why], exc_module: 'celery.exceptions' };
      await this.host.backend.store(message.id, buildResultMeta({ taskId: message.id, status: REVOKED, result: doc })).catch((e) => this.storeError(message.id, e));
    }
    await tracked.delivery.ack();
    this.options.monitor?.revoked(message, why === 'expired');
    await this.app.signals.send('task_revoked', { name: message.task, taskId: message.id, expired: why === 'expired', terminated: false });
  }

  private holdUntil(tracked: TrackedRequest, waitMs: number): void {
    // While held, a message counts as unacked; widen the window so it does not starve other work (as Celery does).
    this.heldForEta++;
    void this.subscription?.setPrefetch(this.prefetchCount);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.heldForEta--;
      void this.subscription?.setPrefetch(this.prefetchCount);
      this.enqueue(tracked);
    }, waitMs);
    this.timers.add(timer);
  }

  private enqueue(tracked: TrackedRequest): void {
    if (this.stopping) return;
    this.ready.push(tracked);
    this.pump();
  }

  private pump(): void {
    while (!this.stopping && this.state.active.size < this.options.concurrency && this.ready.length > 0) {
      const next = this.ready.shift()!;
      const waitMs = this.limiter.acquire(next.message.task);
      if (waitMs > 0) {
        // Rate-limited: park this one, keep serving other tasks.
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.ready.unshift(next);
          this.pump();
        }, waitMs);
        this.timers.add(timer);
        continue;
      }
      void this.run(next);
    }
  }

  private async run(tracked: TrackedRequest): Promise<void> {
    const { message, delivery } = tracked;
    const task = this.app.tasks.get(message.task);
    this.state.reserved.delete(message.id);
    if (this.state.revoked.has(message.id)) return this.discard(tracked, 'revoked').finally(() => this.pump());
    this.state.active.set(message.id, tracked);
    tracked.startedAt = Date.now();
    const policy = ackPolicyOf(task, (n) => this.app.conf.get(n));
    try {
      // Early ack is sent before the task runs but not waited for, as AMQP's basic.ack is not: the task does not
      // sit on a round trip. A failed ack is logged; the broker then redelivers (the at-most-once trade of early ack).
      if (!policy.acksLate) this.ack(tracked).catch((e) => this.logger.warn(`Task ${message.task}[${message.id}]: early ack failed (${(e as Error).message}); the broker may deliver it again.`));
      const request = buildRequest(message, delivery, this.options.hostname, this.options.loglevel, this.options.logfile);
      request.signal = tracked.abort.signal;
      this.options.monitor?.started(message);
      const outcome = await this.runWithLimits(task, message, request, tracked);
      this.log(task, message, outcome);
      this.report(message, outcome);
      await this.settle(tracked, outcome, policy.acksLate ? policy : null);
    } catch (error) {
      this.logger.error({ err: error }, `Task ${message.task}[${message.id}]: worker error: ${(error as Error).message}`);
      if (!tracked.acknowledged) await delivery.reject({ requeue: false }).catch(() => undefined);
    } finally {
      this.state.active.delete(message.id);
      this.state.finished(message.task);
      if (this.state.active.size === 0) for (const w of this.idleWaiters.splice(0)) w();
      this.pump();
    }
  }

  /**
   * Run on the pool under the time limits. The soft limit aborts the task's signal (it may clean up); the hard
   * limit and revoke(terminate) abandon the run: it is reported failed (REVOKED for revokes) and whatever the
   * abandoned call does later stores nothing (process pools kill the child instead).
   */
  private async runWithLimits(task: Task, message: TaskMessage, request: ReturnType<typeof buildRequest>, tracked: TrackedRequest): Promise<TaskOutcome> {
    const override = this.options.timeLimits?.get(task.name);
    const [hard, soft] = override ? [override[1], override[0]] : timeLimitsOf(message, task, (n) => this.app.conf.get(n));
    const signal = tracked.abort.signal;
    const timers: NodeJS.Timeout[] = [];
    let abandon!: (outcome: TaskOutcome) => void;
    const abandoned = new Promise<TaskOutcome>((resolve) => (abandon = resolve));
    // A signal aborts once: after the soft limit fired, the hard limit still has to end the run (and kill a pool child).
    let stopped = false;
    const stop = (reason: TimeLimitExceeded | TaskRevokedError) => {
      if (stopped) return;
      stopped = true;
      tracked.abort.abort(reason);
      this.pool.terminate?.(message.id, reason);
      abandon({ state: FAILURE, error: reason, traceback: null, runtimeMs: Date.now() - (tracked.startedAt ?? Date.now()) });
    };
    // Revoke-terminate and the hard limit go through `stop`, never through the signal alone.
    this.hardStops.set(message.id, stop);
    const limit = (seconds: number, fire: () => void) => timers.push(setTimeout(fire, seconds * 1000));
    if (soft) limit(soft, () => tracked.abort.abort(new SoftTimeLimitExceeded(`Soft time limit (${soft}s) exceeded for ${task.name}[${message.id}]`, { context: { taskId: message.id } })));
    if (hard) limit(hard, () => stop(new TimeLimitExceeded(`Hard time limit (${hard}s) exceeded for ${task.name}[${message.id}]`, { context: { taskId: message.id } })));
    const outcome = await Promise.race([this.pool.run({ task, message, request }, signal), abandoned]).finally(() => {
      timers.forEach(clearTimeout);
      this.hardStops.delete(message.id);
    });
    if (outcome.state === FAILURE && outcome.error instanceof TimeLimitExceeded) await this.storeFailure(message.id, outcome.error, null);
    if (outcome.state === FAILURE && outcome.error instanceof TaskRevokedError && this.host.backend) {
      const doc = { exc_type: 'TaskRevokedError', exc_message: ['terminated'], exc_module: 'celery.exceptions' };
      await this.host.backend.store(message.id, buildResultMeta({ taskId: message.id, status: REVOKED, result: doc })).catch((e) => this.storeError(message.id, e));
    }
    return outcome;
  }

  private async settle(tracked: TrackedRequest, outcome: TaskOutcome, lateAck: ReturnType<typeof ackPolicyOf> | null): Promise<void> {
    if (outcome.state === 'REJECTED') {
      if (!tracked.acknowledged) await tracked.delivery.reject({ requeue: outcome.requeue });
      return;
    }
    if (tracked.acknowledged) return;
    if (outcome.state === FAILURE && lateAck && !lateAck.acksOnFailureOrTimeout) {
      await tracked.delivery.reject({ requeue: false });
      return;
    }
    await this.ack(tracked);
  }

  private async ack(tracked: TrackedRequest): Promise<void> {
    tracked.acknowledged = true;
    await tracked.delivery.ack();
  }

  private log(task: Task, message: TaskMessage, outcome: TaskOutcome): void {
    // Success and retry lines are INFO: at a quieter level nothing is formatted (the hot path of a busy worker).
    if (outcome.state !== FAILURE && !this.logger.isLevelEnabled('info')) return;
    const label = `Task ${message.shadow ?? task.name}[${message.id}]`;
    const secs = (outcome.runtimeMs / 1000).toFixed(6).replace(/0+$/, '').replace(/\.$/, '.0');
    switch (outcome.state) {
      case SUCCESS:
        this.logger.info(`${label} succeeded in ${secs}s: ${pyRepr(outcome.result, 200)}`);
        break;
      case FAILURE: {
        const doc = exceptionToDoc(outcome.error);
        this.logger.error(`${label} raised unexpected: ${doc.exc_type}(${pyRepr(Array.isArray(doc.exc_message) && doc.exc_message.length === 1 ? doc.exc_message[0] : doc.exc_message)})${outcome.traceback ? `\n${outcome.traceback}` : ''}`);
        break;
      }
      case RETRY:
        this.logger.info(`${label} retry: ${outcome.retry.message}`);
        break;
      case 'IGNORED':
        this.logger.info(`${label} ignored`);
        break;
      case 'REJECTED':
        this.logger.info(`${label} rejected${outcome.requeue ? ' (requeued)' : ''}: ${String(outcome.reason ?? '')}`);
        break;
    }
  }

  private report(message: TaskMessage, outcome: TaskOutcome): void {
    const monitor = this.options.monitor;
    if (!monitor) return;
    if (outcome.state === SUCCESS) monitor.succeeded(message, outcome.result, outcome.runtimeMs);
    else if (outcome.state === FAILURE) monitor.failed(message, outcome.error, outcome.traceback);
    else if (outcome.state === RETRY) monitor.retried(message, outcome.retry.info.exc ?? outcome.retry.message);
    else if (outcome.state === 'REJECTED') monitor.rejected(message, outcome.requeue);
  }

  private async storeFailure(taskId: string, error: unknown, traceback: string | null): Promise<void> {
    if (!this.host.backend) return;
    const meta = buildResultMeta({ taskId, status: FAILURE, result: exceptionToDoc(error), traceback });
    await this.host.backend.store(taskId, meta).catch((e) => this.storeError(taskId, e));
  }

  private storeError(taskId: string, error: unknown): void {
    this.logger.error(`Could not store the result of task ${taskId}: ${(error as Error).message}`);
  }
}
