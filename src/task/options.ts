// The public options of a send (Celery's apply_async keyword arguments) and a task's own send defaults: plain
// types shared by the app's producer, tasks, canvas, signals and beat, so none of them imports the producer.

import type { SignatureDict } from '../protocol/task-message.js';

/** Anything that can become a signature dict on the wire (a Signature, or the dict itself). */
export interface SignatureLike {
  toDict(): SignatureDict;
}

/** Execution options of `applyAsync` (Celery's apply_async keyword arguments, camelCase). */
export interface ApplyOptions {
  /** Seconds from now before the task may run (becomes an `eta`). */
  countdown?: number;
  /** Earliest time to run. */
  eta?: Date | string;
  /** Seconds from now, or a date, after which the task is not run (result REVOKED). */
  expires?: number | Date | string;
  queue?: string;
  routingKey?: string;
  exchange?: string;
  /** 0–255; how it orders depends on the broker (Redis: lower first; AMQP: higher first). */
  priority?: number;
  serializer?: string;
  compression?: string;
  /** Extra headers; each becomes a top-level message header and a request attribute on the worker. */
  headers?: Record<string, unknown>;
  taskId?: string;
  ignoreResult?: boolean;
  /** Another name to show in logs. */
  shadow?: string;
  /** Hard time limit in seconds for this call. */
  timeLimit?: number;
  softTimeLimit?: number;
  /** Signatures applied with this task's result on success (Celery's link). */
  link?: SignatureLike | SignatureLike[];
  /** Signatures called with the task id on failure (Celery's link_error). */
  linkError?: SignatureLike | SignatureLike[];
  /** Retry publishing on connection errors (task_publish_retry). */
  retry?: boolean;
  retryPolicy?: Partial<RetryPolicy>;
  // Canvas and retry plumbing; set by chains, chords and ctx.retry().
  parentId?: string | null;
  rootId?: string | null;
  groupId?: string | null;
  groupIndex?: number | null;
  retries?: number;
  chain?: SignatureDict[] | null;
  chord?: SignatureDict | null;
  replyTo?: string;
  /** Extra message properties (retry's origin and replaced_task_nesting). */
  extraProperties?: Record<string, unknown>;
  /** Celery 5.3+ stamps: their names (header `stamped_headers`) and values (header `stamps`). */
  stampedHeaders?: string[] | null;
  stamps?: Record<string, unknown>;
  /**
   * Route as this task name instead of the sent one (Celery's route_name): celery.map/starmap/chunks messages go
   * where the task they map is routed (its task_routes and declared queue, exchange, routing key, priority).
   */
  routeName?: string;
}

/** Celery's task_publish_retry_policy (intervals in seconds). */
export interface RetryPolicy {
  max_retries: number;
  interval_start: number;
  interval_step: number;
  interval_max: number;
}

/**
 * The declared task options a send applies (Celery's Task exec options), each used when the call gives none:
 * the task's queue, routing key, exchange, priority, serializer, compression, ignore_result and expires.
 */
export type TaskDefaults = Pick<ApplyOptions, 'queue' | 'routingKey' | 'exchange' | 'priority' | 'serializer' | 'compression' | 'ignoreResult'> & {
  /** Seconds, as the task declares it. */
  expires?: number;
};
