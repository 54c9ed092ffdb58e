// The task room's own types: a task's options, and the narrow interfaces between a task and its app (TaskApp)
// and between the execution path and a task (ExecutableTask), so task/ never imports the Celery class and
// executing a task never imports the Task class.

import type { Signals } from '../app/signals.js';
import type { ResultBackend } from '../backends/backend.js';
import type { Config } from '../config/resolve.js';
import type { CanvasApp, CanvasTask } from '../canvas/signature.js';
import type { Logger } from '../utils/logger.js';
import type { Request } from './context.js';
import type { ApplyOptions } from './options.js';

/**
 * What a task uses of its app (the Celery class implements it): settings, the producer, the result backend,
 * loggers, signals and the registry. Results and signatures it builds get the same object.
 */
export interface TaskApp extends CanvasApp {
  /** The app's name (Celery's app.main). */
  readonly main: string;
  readonly conf: Pick<Config, 'get'>;
  readonly producer: {
    /** Publish one task message (apply_async); resolves with its id. */
    send(name: string, args: unknown[], kwargs: Record<string, unknown>, options: ApplyOptions): Promise<string>;
  };
  readonly log: {
    /** A logger tagged `name[id]:`. */
    taskLogger(taskName: string, taskId: string): Logger;
    getLogger(name: string): Logger;
  };
  readonly signals: Pick<Signals, 'has' | 'send'>;
  /** The task_annotations options for a task name (Celery's annotations; an annotation wins over the task's own). */
  taskAnnotations(name: string): TaskOptions;
  /** The app's registry (get throws NotRegistered). */
  readonly tasks: { has(name: string): boolean; get(name: string): ExecutableTask };
  getBackend(): Promise<ResultBackend>;
}

/** Celery's Task handlers, awaited by the execution path; errors in them are logged, never fatal. */
export interface TaskHooks {
  /** Before the function runs. */
  beforeStart(taskId: string, args: unknown[], kwargs: Record<string, unknown>): void | Promise<void>;
  /** After success, before the result is acked (for acks_late). */
  onSuccess(retval: unknown, taskId: string, args: unknown[], kwargs: Record<string, unknown>): void | Promise<void>;
  /** After a failure was stored. */
  onFailure(error: unknown, taskId: string, args: unknown[], kwargs: Record<string, unknown>, traceback: string | null): void | Promise<void>;
  /** After a retry was scheduled. */
  onRetry(error: unknown, taskId: string, args: unknown[], kwargs: Record<string, unknown>, traceback: string | null): void | Promise<void>;
  /** After any outcome, with the final state. */
  afterReturn(state: string, retval: unknown, taskId: string, args: unknown[], kwargs: Record<string, unknown>, traceback: string | null): void | Promise<void>;
}

/** A task as the execution path (worker, eager apply) runs it and the canvas sends it: the Task class implements it. */
export interface ExecutableTask extends TaskHooks, CanvasTask {
  readonly name: string;
  readonly app: TaskApp;
  readonly fn: TaskFunction;
  readonly options: Readonly<TaskOptions>;
  /**
   * Call the user's function for one request (bound tasks get the context first, whose `signal` is `abort`'s, read
   * only when the task reads it: an AbortController per call costs microseconds; a fresh one when absent).
   */
  invoke(request: Request, args: unknown[], kwargs: Record<string, unknown>, abort?: { readonly signal: AbortSignal }, logger?: Logger): unknown;
  /** Throw Retry for the running request (or the error when max retries is reached); autoretry_for uses it. */
  retry(options?: RetryOptions): never;
}

/** Per-task options (Celery's task decorator arguments, camelCase; Celery names in config/settings TASK_OPTION_NAMES). */
export interface TaskOptions {
  /** Registered name; default `<app.main>.<function name>`. */
  name?: string;
  /** Pass a bound context (the task, with `request`) as the first argument. */
  bind?: boolean;
  /** A Task subclass to instantiate (Celery's base=); default app.Task. */
  base?: TaskClass;
  /** Acknowledge after the task returns instead of before it runs (default: task_acks_late). */
  acksLate?: boolean;
  /** With acksLate: ack even when the task fails or times out (default: task_acks_on_failure_or_timeout). */
  acksOnFailureOrTimeout?: boolean;
  /** With acksLate: requeue when the process running it dies (default: task_reject_on_worker_lost). */
  rejectOnWorkerLost?: boolean;
  /** Retries before giving up; null = forever. Default 3. */
  maxRetries?: number | null;
  /** Seconds before a retry when no countdown is given. Default 180. */
  defaultRetryDelay?: number;
  /** '10/s', '10/m', '10/h' or a number per second; per worker. */
  rateLimit?: string | number | null;
  /** Hard time limit, seconds. */
  timeLimit?: number | null;
  /** Soft time limit, seconds: the task's signal aborts with SoftTimeLimitExceeded. */
  softTimeLimit?: number | null;
  ignoreResult?: boolean;
  storeErrorsEvenIfIgnored?: boolean;
  /** Store STARTED when the task begins (default: task_track_started). */
  trackStarted?: boolean;
  serializer?: string;
  compression?: string;
  queue?: string;
  routingKey?: string;
  exchange?: string;
  priority?: number;
  /** Default expires (seconds) for every call. */
  expires?: number;
  /** Retry automatically when one of these error classes is thrown. */
  autoretryFor?: Array<abstract new (...args: never[]) => Error>;
  /** Options for automatic retries (e.g. { maxRetries: 5, countdown: 2 }). */
  retryKwargs?: RetryOptions;
  /** Exponential backoff for automatic retries: true = 1 s base, or a base in seconds. */
  retryBackoff?: boolean | number;
  /** Cap of the backoff, seconds. Default 600. */
  retryBackoffMax?: number;
  /** Randomize backoff delays (full jitter). Default true. */
  retryJitter?: boolean;
  /** Any other option, kept as given (Celery allows arbitrary task attributes). */
  [custom: string]: unknown;
}

/** Options of `task.retry()` (Celery's Task.retry keyword arguments, camelCase). */
export interface RetryOptions {
  /** Seconds before the retry runs (default: defaultRetryDelay). */
  countdown?: number;
  eta?: Date;
  /** The error that caused the retry: rethrown if max retries is exceeded. */
  exc?: unknown;
  maxRetries?: number | null;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  queue?: string;
  priority?: number;
}

/** A Task class (Celery's base= and app.Task): Task or a subclass overriding its hooks. */
export type TaskClass = new (app: TaskApp, name: string, fn: TaskFunction, options: TaskOptions) => ExecutableTask;
// eslint-style escape: task functions are user functions of any shape.
/** The user's task function; any shape (JavaScript has no keyword arguments: kwargs come as one last object). */
export type TaskFunction = (...args: any[]) => unknown;

