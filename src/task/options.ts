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
}

/** Celery's task_publish_retry_policy (intervals in seconds). */
export interface RetryPolicy {
  max_retries: number;
  interval_start: number;
  interval_step: number;
  interval_max: number;
}

/** The task-level defaults a send may use (from the registered task, when the sender has it). */
export interface TaskDefaults {
  queue?: string;
  routingKey?: string;
  exchange?: string;
  priority?: number;
  serializer?: string;
  compression?: string;
  ignoreResult?: boolean;
}
