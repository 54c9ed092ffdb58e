// The messages between a pool's parent and its children (threads and prefork), and the TaskOutcome ↔ wire form.
// Pure data: no I/O. Values cross as V8 structured clone (Buffers and Dates survive); errors cross as
// Celery exception documents and are rebuilt on the parent side so the consumer logs and reports them as usual.

import { serialize as v8serialize } from 'node:v8';
import { RemoteTaskError, Retry, SoftTimeLimitExceeded, TaskRevokedError, TimeLimitExceeded, WorkerLostError } from '../../errors.js';
import { exceptionToDoc, tracebackOf, type ExceptionDoc } from '../../protocol/exceptions.js';
import { pyRepr } from '../../protocol/repr.js';
import type { TaskMessage } from '../../protocol/task-message.js';
import type { Request } from '../../task/context.js';
import type { TaskOutcome } from '../../task/execute.js';

/** Sent once, first: what the child needs to build its own app. */
export interface InitMessage {
  readonly type: 'init';
  /** '/abs/path/tasks.ts:app' or 'package:app'. */
  readonly appModule: string;
  /** Settings applied to the child's app before use (the CLI's -b / --result-backend overrides). */
  readonly settings: Record<string, unknown>;
  readonly hostname: string;
  readonly loglevel: string | null;
  readonly logfile: string | null;
  /** Log name of the child: ForkPoolWorker-N / ThreadPoolWorker-N, as Celery names its children. */
  readonly processName: string;
  /** How the child measures its memory after each task. */
  readonly memory: 'rss' | 'heap';
}

/** Run one task in the child: the job number pairs it with its DoneMessage. */
export interface RunMessage {
  readonly type: 'run';
  readonly job: number;
  readonly taskName: string;
  readonly message: TaskMessage;
  /** The parent's request without its AbortSignal (the child makes its own). */
  readonly request: Request;
}

/** Abort the job's signal in the child (soft time limit); the task may clean up and finish. */
export interface AbortMessage {
  readonly type: 'abort';
  readonly job: number;
  readonly error: WireError;
}

/** Close the app's connections and exit (recycling, warm shutdown). */
export interface ShutdownMessage {
  readonly type: 'shutdown';
}

/** Every message the parent sends a child. */
export type ParentMessage = InitMessage | RunMessage | AbortMessage | ShutdownMessage;

/** The child loaded the app and is ready: its pid (and thread id for the threads pool). */
export interface ReadyMessage {
  readonly type: 'ready';
  readonly pid: number;
  readonly threadId: number | null;
}

/** A job's outcome, with the child's memory after it (worker_max_memory_per_child). */
export interface DoneMessage {
  readonly type: 'done';
  readonly job: number;
  readonly outcome: WireOutcome;
  /** KiB: the process RSS (prefork) or the thread's V8 heap (threads), measured after the task. */
  readonly memoryKiB: number;
}

/** The child could not start (app module not loadable …); it exits after sending this. */
export interface FatalMessage {
  readonly type: 'fatal';
  readonly message: string;
}

/** Every message a child sends the parent. */
export type ChildMessage = ReadyMessage | DoneMessage | FatalMessage;

/** An error as it crosses between threads or processes: its exception document, message, traceback and code. */
export interface WireError {
  readonly doc: ExceptionDoc;
  readonly message: string;
  readonly traceback: string | null;
  /** CeleryError code, so the parent can rebuild the few classes the consumer tests with instanceof. */
  readonly code: string | null;
}

/** A TaskOutcome in structured-clone form (errors as WireError). */
export type WireOutcome =
  | { readonly state: 'SUCCESS'; readonly result: unknown; readonly runtimeMs: number }
  | { readonly state: 'FAILURE'; readonly error: WireError; readonly traceback: string | null; readonly runtimeMs: number }
  | { readonly state: 'RETRY'; readonly message: string; readonly exc: WireError | null; readonly runtimeMs: number }
  | { readonly state: 'IGNORED'; readonly runtimeMs: number }
  | { readonly state: 'REJECTED'; readonly requeue: boolean; readonly reason: unknown; readonly runtimeMs: number };

/** An error (or any thrown value) → WireError. */
export function errorToWire(error: unknown): WireError {
  const code = typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : null;
  return { doc: exceptionToDoc(error), message: error instanceof Error ? error.message : String(error), traceback: tracebackOf(error), code };
}

// Only the classes the consumer tells apart by instanceof come back as themselves; the rest as RemoteTaskError,
// which renders the same exception document (type, message, module) and carries the child's traceback.
const REBUILT: Record<string, new (message: string) => Error> = {
  TIME_LIMIT_EXCEEDED: TimeLimitExceeded,
  SOFT_TIME_LIMIT_EXCEEDED: SoftTimeLimitExceeded,
  TASK_REVOKED: TaskRevokedError,
  WORKER_LOST: WorkerLostError,
};

/** WireError → the error class the consumer tests for, else a RemoteTaskError with the same document and traceback. */
export function errorFromWire(wire: WireError): Error {
  const cls = wire.code ? REBUILT[wire.code] : undefined;
  if (cls) {
    const error = new cls(wire.message);
    if (wire.traceback) error.stack = wire.traceback;
    return error;
  }
  return new RemoteTaskError(wire.doc.exc_type, wire.doc.exc_message, wire.doc.exc_module, wire.traceback);
}

/** A value that structured clone refuses (functions, class instances with private state …) crosses as its repr. */
export function cloneable(value: unknown): unknown {
  try {
    v8serialize(value);
    return value;
  } catch {
    return pyRepr(value, 1000);
  }
}

/** A child's TaskOutcome → WireOutcome (values structured clone refuses cross as their repr). */
export function outcomeToWire(outcome: TaskOutcome): WireOutcome {
  switch (outcome.state) {
    case 'SUCCESS':
      return { state: 'SUCCESS', result: cloneable(outcome.result), runtimeMs: outcome.runtimeMs };
    case 'FAILURE':
      return { state: 'FAILURE', error: errorToWire(outcome.error), traceback: outcome.traceback, runtimeMs: outcome.runtimeMs };
    case 'RETRY':
      return { state: 'RETRY', message: outcome.retry.message, exc: outcome.retry.info.exc === undefined ? null : errorToWire(outcome.retry.info.exc), runtimeMs: outcome.runtimeMs };
    case 'IGNORED':
      return { state: 'IGNORED', runtimeMs: outcome.runtimeMs };
    case 'REJECTED':
      return { state: 'REJECTED', requeue: outcome.requeue, reason: cloneable(outcome.reason), runtimeMs: outcome.runtimeMs };
  }
}

/** WireOutcome → TaskOutcome in the parent. */
export function outcomeFromWire(wire: WireOutcome): TaskOutcome {
  switch (wire.state) {
    case 'SUCCESS':
      return { state: 'SUCCESS', result: wire.result, runtimeMs: wire.runtimeMs };
    case 'FAILURE':
      return { state: 'FAILURE', error: errorFromWire(wire.error), traceback: wire.traceback, runtimeMs: wire.runtimeMs };
    case 'RETRY':
      return { state: 'RETRY', retry: new Retry({ message: wire.message, exc: wire.exc ? errorFromWire(wire.exc) : undefined }), runtimeMs: wire.runtimeMs };
    case 'IGNORED':
      return { state: 'IGNORED', runtimeMs: wire.runtimeMs };
    case 'REJECTED':
      return { state: 'REJECTED', requeue: wire.requeue, reason: wire.reason, runtimeMs: wire.runtimeMs };
  }
}
