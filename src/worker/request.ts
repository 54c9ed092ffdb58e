// One delivery the worker accepted (Celery's worker Request): its task's policy, expiry and ETA, the request
// context the task sees, its run under the time limits, and its settle (ack or reject, exactly once). What each
// outcome means for the backend is results.ts's job; flow (prefetch, ETA holding, slots) is the consumer's.

import { InvalidTaskError, SoftTimeLimitExceeded, TaskRevokedError, TimeLimitExceeded } from '../errors.js';
import type { TaskMessage } from '../protocol/task-message.js';
import { parseWireTime } from '../utils/wire-time.js';
import { setLongTimeout, type LongTimer } from '../utils/long-timer.js';
import type { Request as TaskRequest } from '../task/context.js';
import type { ExecutableTask } from '../task/interfaces.js';
import type { Delivery } from '../transports/transport.js';
import { celeryLevelNumber } from '../utils/logger.js';
import { RunAbort } from '../utils/run-abort.js';
import type { Pool, PoolOutcome, TaskCall } from './pool/pool.js';
import { DeliveredRequest } from './request-context.js';
import type { TaskPolicy } from './settings.js';

/** How a run ended when the worker, not the task, ended it. */
export type StopOutcome =
  /** The hard time limit (seconds) was hit: the run was abandoned (its child killed). */
  | { readonly state: 'TIME_LIMIT'; readonly error: TimeLimitExceeded; readonly seconds: number; readonly runtimeMs: number }
  /** revoke(terminate=True): the run was abandoned (its child killed). */
  | { readonly state: 'TERMINATED'; readonly signum: number; readonly runtimeMs: number };

/** Every way a run can end: the task's own outcome, a lost pool child, or a stop by the worker. */
export type RunOutcome = PoolOutcome | StopOutcome;

/** One accepted delivery, from receipt to its settle. */
export class Request {
  readonly id: string;
  readonly receivedAt = Date.now();
  startedAt?: number;
  /** Acked or rejected: nothing settles it again. */
  acknowledged = false;
  /** Set when it was rejected (task-rejected is reported with it). */
  rejected: { readonly requeue: boolean } | null = null;
  /** Aborting asks the running task to stop (soft time limit, revoke terminate); its signal is built on first use. */
  readonly abort = new RunAbort();
  /** Epoch ms of `expires`; null = never. */
  readonly expiresAt: number | null;
  /** Epoch ms of `eta`; null = run now. */
  readonly etaAt: number | null;
  private stopped: StopOutcome | null = null;
  private onStop: ((outcome: StopOutcome) => void) | null = null;
  private contextCache?: TaskRequest;

  constructor(
    readonly message: TaskMessage,
    readonly delivery: Delivery,
    readonly task: ExecutableTask,
    readonly policy: TaskPolicy,
  ) {
    this.id = message.id;
    this.expiresAt = wireTimeMs(message, 'expires');
    this.etaAt = wireTimeMs(message, 'eta');
  }

  /** Past its expires (Celery compares strictly: a task is still valid at the exact instant). */
  expired(now = Date.now()): boolean {
    return this.expiresAt !== null && now > this.expiresAt;
  }

  /** [hard, soft] seconds: the message's own limits win, then the task's policy (Celery's order). */
  get timeLimits(): [number | null, number | null] {
    return [this.message.timelimit[0] ?? this.policy.timeLimit, this.message.timelimit[1] ?? this.policy.softTimeLimit];
  }

  /** The request context the task sees (Celery's task.request, its `signal` this run's), built once. */
  context(hostname: string, loglevel: string | null, logfile: string | null): TaskRequest {
    this.contextCache ??= new DeliveredRequest(this.message, this.delivery, hostname, celeryLevelNumber(loglevel ?? 'WARNING'), logfile, this.abort);
    return this.contextCache;
  }

  /** Run on the pool under the time limits. The soft limit aborts the task's signal; the hard limit abandons it. */
  async run(pool: Pool, context: TaskRequest): Promise<RunOutcome> {
    this.startedAt = Date.now();
    const [hard, soft] = this.timeLimits;
    const timers: LongTimer[] = [];
    if (soft) {
      timers.push(setLongTimeout(() => this.abort.abort(new SoftTimeLimitExceeded(`Soft time limit (${soft}s) exceeded for ${this.task.name}[${this.id}]`, { context: { taskId: this.id } })), soft * 1000));
    }
    if (hard) timers.push(setLongTimeout(() => this.stopForTimeLimit(pool, hard), hard * 1000));
    try {
      const call: TaskCall = hard ? { task: this.task, message: this.message, request: context, overdue: () => this.overdue(pool, hard) } : { task: this.task, message: this.message, request: context };
      // One promise settled by whichever comes first: the pool's outcome, or a stop by the worker (stop()).
      const outcome = await new Promise<RunOutcome>((resolve, reject) => {
        this.onStop = resolve;
        pool.run(call, this.abort).then(resolve, reject);
      });
      return this.stopped ?? outcome;
    } finally {
      for (const t of timers) t.cancel();
      this.onStop = null;
    }
  }

  /** revoke(terminate=True) of a running request: abandon it now (its pool child is killed). */
  terminate(pool: Pool, signum: number): void {
    const error = new TaskRevokedError(`Task ${this.id} was revoked (terminate).`, { context: { taskId: this.id } });
    this.stop(pool, error, { state: 'TERMINATED', signum, runtimeMs: this.runtimeMs() });
  }

  /** The hard limit has passed though its timer could not fire (the function held the event loop): stop now. */
  private overdue(pool: Pool, seconds: number): boolean {
    if (this.runtimeMs() < seconds * 1000) return false;
    this.stopForTimeLimit(pool, seconds);
    return true;
  }

  private stopForTimeLimit(pool: Pool, seconds: number): void {
    // Celery's TimeLimitExceeded carries the limit itself as its only argument.
    const error = new TimeLimitExceeded(`Hard time limit (${seconds}s) exceeded for ${this.task.name}[${this.id}]`, { context: { taskId: this.id, taskName: this.task.name }, excArgs: [seconds] });
    this.stop(pool, error, { state: 'TIME_LIMIT', error, seconds, runtimeMs: this.runtimeMs() });
  }

  /** A signal aborts once: after the soft limit fired, the hard limit still has to end the run (and kill a child). */
  private stop(pool: Pool, reason: Error, outcome: StopOutcome): void {
    if (this.stopped || !this.onStop) return;
    this.stopped = outcome;
    this.abort.abort(reason);
    pool.terminate?.(this.id, reason);
    this.onStop(outcome);
  }

  runtimeMs(): number {
    return this.startedAt === undefined ? 0 : Date.now() - this.startedAt;
  }

  /** Acknowledge, once. */
  async ack(): Promise<void> {
    if (this.acknowledged) return;
    this.acknowledged = true;
    await this.delivery.ack();
  }

  /** Reject, once; requeue puts it back for another worker. Returns false when it was already settled. */
  async reject(requeue: boolean): Promise<boolean> {
    if (this.acknowledged) return false;
    this.acknowledged = true;
    this.rejected = { requeue };
    await this.delivery.reject({ requeue });
    return true;
  }

  /**
   * Settle by Celery's ack policy for how the run ended. Early-acked requests are already settled. acks_late:
   * acked after success, retry and Ignore; after a failure or time limit only with acks_on_failure_or_timeout
   * (else rejected, not requeued); a lost child requeues with reject_on_worker_lost; Reject rejects as it asks.
   */
  async settle(outcome: RunOutcome): Promise<void> {
    switch (outcome.state) {
      case 'REJECTED':
        await this.reject(outcome.requeue);
        return;
      case 'LOST':
        if (this.requeuesOnWorkerLost()) await this.reject(true);
        else await this.settleFailure();
        return;
      case 'FAILURE':
      case 'TIME_LIMIT':
      case 'UNSENT':
        await this.settleFailure();
        return;
      default:
        await this.ack();
    }
  }

  /** A lost pool child requeues the message (nothing stored) only with acks_late and reject_on_worker_lost. */
  requeuesOnWorkerLost(): boolean {
    return this.policy.acksLate && this.policy.rejectOnWorkerLost;
  }

  private async settleFailure(): Promise<void> {
    if (this.policy.acksLate && !this.policy.acksOnFailureOrTimeout) await this.reject(false);
    else await this.ack();
  }
}

/**
 * Epoch ms of a message's eta or expires, or null when it has none. parseTaskMessage has already refused garbage
 * (InvalidTaskError); one met here is thrown again, naming the field and the value.
 */
export function wireTimeMs(message: TaskMessage, field: 'eta' | 'expires'): number | null {
  const text = message[field];
  if (text === null) return null;
  const parsed = parseWireTime(text, field, { taskId: message.id, taskName: message.task });
  if (parsed instanceof InvalidTaskError) throw parsed;
  return parsed.epochMs;
}
