// Where a task's function runs. The async pool runs it on this event loop; the threads and prefork pools run it
// in children (worker threads / forked processes) that import the app module themselves.

import type { TaskMessage } from '../../protocol/task-message.js';
import type { Request } from '../../task/context.js';
import type { EncodeError, WorkerLostError } from '../../errors.js';
import type { TaskOutcome } from '../../task/execute.js';
import type { ExecutableTask } from '../../task/interfaces.js';
import type { RunAbort } from '../../utils/run-abort.js';

/** One task to run: the registered task, its decoded message and its request. */
export interface TaskCall {
  readonly task: ExecutableTask;
  readonly message: TaskMessage;
  readonly request: Request;
  /**
   * Present when a hard time limit applies: ends the run as TimeLimitExceeded if the limit has passed (returns true).
   * The async pool asks when the function returns, since its timer cannot fire while the function holds the loop.
   */
  readonly overdue?: () => boolean;
}

/**
 * What a pool reports for one call: the task's own outcome, LOST when the child running it died (Celery's
 * WorkerLostError), or UNSENT when its message could not be copied to a child (EncodeError: arguments nested too
 * deep). Nothing is stored for these two: the worker decides (requeue or FAILURE).
 */
export type PoolOutcome =
  | TaskOutcome
  | { readonly state: 'LOST'; readonly error: WorkerLostError; readonly runtimeMs: number }
  | { readonly state: 'UNSENT'; readonly error: EncodeError; readonly runtimeMs: number };

/** What `inspect stats` shows of a pool (Celery's pool info): kind, size, tasks running, children. */
export interface PoolStats {
  readonly kind: string;
  readonly size: number;
  readonly active: number;
  /** Process and thread pools: their children (inspect stats lists the pids). */
  readonly children?: readonly { readonly pid?: number | null }[];
}

/** An execution pool (Celery's -P): runs TaskCalls, reports outcomes, can be resized and stopped; terminate where it can kill a task. */
export interface Pool {
  readonly kind: 'async' | 'solo' | 'threads' | 'prefork';
  readonly size: number;
  start(): Promise<void>;
  /** Run one call, aborted through `abort` (soft time limit, revoke); never rejects (every error is an outcome). */
  run(call: TaskCall, abort: RunAbort): Promise<PoolOutcome>;
  /**
   * Stop a running task for its hard time limit or revoke(terminate), even when its abort already fired
   * by the soft limit. Child pools kill the child running it; the async pool has nothing to kill. The caller has
   * already decided the outcome: what run() then resolves with is not used.
   */
  terminate?(taskId: string, reason: Error): void;
  stop(mode: 'warm' | 'cold'): Promise<void>;
  stats(): PoolStats;
  /** pool_grow/pool_shrink: run `size` tasks at once from now on; absent when this pool cannot change size. */
  resize?(size: number): void;
  /** pool_restart: replace the children, which import the app module afresh; absent for in-process pools. */
  restart?(): Promise<void>;
  /** The --autoscale range in force; null or absent without autoscale. */
  readonly autoscaleLimits?: { readonly max: number; readonly min: number } | null;
  /** The control command autoscale: change the --autoscale range; returns the range in force. */
  setAutoscale?(max: number | null, min: number | null): { max: number; min: number };
}
