// The error tree. Every error celeriac throws extends CeleryError and has a stable `code`.
// Messages follow one pattern: what happened (where). What to do.

/** Where an error happened, as typed fields on every CeleryError (`error.context`); all optional. */
export interface ErrorContext {
  taskId?: string;
  taskName?: string;
  queue?: string;
  /** Always a redacted URL: never holds a password. */
  url?: string;
  setting?: string;
}

/** Base of every celeriac error (Celery's CeleryError). */
export class CeleryError extends Error {
  /** Stable machine-readable code; lives on the prototype so `is()` can compare classes. */
  declare readonly code: string;
  readonly context: ErrorContext;
  /**
   * The exception's arguments as Celery stores them (`exc_message`), when they are not just the message: e.g.
   * TimeLimitExceeded carries the limit in seconds. Undefined = `[message]`.
   */
  readonly excArgs?: readonly unknown[];
  constructor(message: string, options: { cause?: unknown; context?: ErrorContext; excArgs?: readonly unknown[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.context = options.context ?? {};
    if (options.excArgs) this.excArgs = options.excArgs;
  }
  /** `instanceof` that survives two copies of the package (matches by code). */
  static is<T extends CeleryError>(this: abstract new (...a: never[]) => T, e: unknown): e is T {
    return e instanceof this ||
      (typeof e === 'object' && e !== null && (e as { code?: unknown }).code === (this.prototype as CeleryError).code);
  }
}

setCode(CeleryError, 'CELERY_ERROR');

function setCode(cls: abstract new (...a: never[]) => CeleryError, code: string): void {
  Object.defineProperty(cls.prototype, 'code', { value: code, writable: false });
}

function coded(code: string, base: typeof CeleryError = CeleryError) {
  const cls = class extends base {};
  setCode(cls, code);
  return cls;
}

/** A setting has a bad value, an unknown near-miss name, or settings cannot be loaded. */
export class ImproperlyConfigured extends coded('IMPROPERLY_CONFIGURED') {}
/**
 * A call the API cannot carry out as made (a signature bound to no app, an empty chain or chord header,
 * updateState outside a task): the message says what to pass or call instead.
 */
export class UsageError extends coded('USAGE_ERROR') {}
/** The task name is not in the registry (Celery's NotRegistered). */
export class NotRegistered extends coded('NOT_REGISTERED') {}
/** A message could not be decoded: bad bytes, bad shape, unknown protocol. */
export class DecodeError extends coded('DECODE_ERROR') {}
/** A value could not be serialized (kombu's EncodeError): e.g. a task result the result serializer cannot hold. */
export class EncodeError extends coded('ENCODE_ERROR') {}
/** A message's content type is not in accept_content (kombu's ContentDisallowed). */
export class ContentDisallowed extends coded('CONTENT_DISALLOWED', DecodeError) {}
/**
 * Message signing failed (Celery's SecurityError): a bad or missing signature, an unknown, expired or invalid
 * certificate, or a key that cannot sign. A refused message like ContentDisallowed: never run, no result stored.
 */
export class SecurityError extends coded('SECURITY_ERROR', ContentDisallowed) {}
/** Waiting for a result took longer than the timeout. */
export class TimeoutError extends coded('TIMEOUT') {}
/** The broker or backend could not be reached or dropped the connection. */
export class OperationalError extends coded('OPERATIONAL_ERROR') {}
/** A user module (-A app, config module) was not found, or raised while loading (then `cause` is its own error). */
export class ModuleLoadError extends coded('MODULE_LOAD_ERROR', ImproperlyConfigured) {}
/** A URL scheme no registered transport or backend handles. */
export class UnknownScheme extends coded('UNKNOWN_SCHEME', ImproperlyConfigured) {}
/** An operation needs a result backend but none is configured. */
export class BackendDisabled extends coded('BACKEND_DISABLED') {}
/**
 * The result backend cannot give this result to this caller, by design: with rpc:// only the process that sent a
 * task receives its result, and each result is delivered once.
 */
export class ResultUnavailable extends coded('RESULT_UNAVAILABLE') {}
/** A result was stored in a form celeriac will not decode (e.g. general pickle). */
export class UnsupportedEncoding extends coded('UNSUPPORTED_ENCODING', DecodeError) {}
/** A task message has a field no worker can use, e.g. an eta that is not a date (Celery's InvalidTaskError). */
export class InvalidTaskError extends coded('INVALID_TASK', DecodeError) {}
/** max_retries was exceeded. */
export class MaxRetriesExceededError extends coded('MAX_RETRIES_EXCEEDED') {}
/** The task was revoked (or expired) before or while running. */
export class TaskRevokedError extends coded('TASK_REVOKED') {}
/** The hard time limit was hit; the task was terminated. */
export class TimeLimitExceeded extends coded('TIME_LIMIT_EXCEEDED') {}
/** The soft time limit was hit; a task may catch this and clean up. */
export class SoftTimeLimitExceeded extends coded('SOFT_TIME_LIMIT_EXCEEDED') {}
/** The process running a task died (Celery's WorkerLostError). */
export class WorkerLostError extends coded('WORKER_LOST') {}
/** A chord header task failed, so the body was not run. */
export class ChordError extends coded('CHORD_ERROR') {}
/** A periodic task's schedule or entry is invalid, or beat cannot keep its schedule (Celery's SchedulingError). */
export class SchedulingError extends coded('SCHEDULING_ERROR', ImproperlyConfigured) {}
/** A canvas (chain, group, chord, signature …) that cannot be run; refused before anything of it is sent. */
export class InvalidCanvas extends coded('INVALID_CANVAS') {}

/**
 * An error raised by a task that ran elsewhere, rebuilt from its result document.
 * `excType`/`excModule` are the remote names (e.g. ValueError / builtins for a Python task).
 */
export class RemoteTaskError extends CeleryError {
  constructor(
    readonly excType: string,
    readonly excMessage: unknown,
    readonly excModule: string | null,
    readonly remoteTraceback: string | null,
    context: ErrorContext = {},
  ) {
    // The message is the remote exception's own text (Python's str(exc)); the name carries the type, so
    // String(error) reads `ValueError: bad value` once.
    super(formatExcMessage(excMessage), { context });
    this.name = excType;
  }
}
setCode(RemoteTaskError, 'TASK_FAILED');

function formatExcMessage(m: unknown): string {
  if (Array.isArray(m)) return m.length === 1 ? String(m[0]) : JSON.stringify(m);
  return typeof m === 'string' ? m : JSON.stringify(m);
}

/** Control-flow outcomes raised from task code; never logged as failures (Celery's TaskPredicate). */
export class TaskPredicate extends coded('TASK_PREDICATE') {}

/** What a Retry carries from `task.retry()` to the executor that resends the task (Celery's Retry attributes). */
export interface RetryInfo {
  /** Seconds until the retry runs. */
  countdown?: number;
  eta?: Date;
  /** The error that caused the retry. */
  exc?: unknown;
  /** Everything the task passed to retry() (args, kwargs, queue …), for the executor that resends. */
  retryOptions?: Record<string, unknown>;
}

/** Thrown by `ctx.retry()`: the worker resends the task with retries + 1. */
export class Retry extends TaskPredicate {
  constructor(readonly info: RetryInfo & { message?: string } = {}) {
    super(info.message ?? `Retry${info.countdown !== undefined ? ` in ${info.countdown}s` : ''}${info.exc ? `: ${String(info.exc)}` : ''}`);
  }
}
setCode(Retry, 'RETRY');

/** Thrown by task code: drop the message with no result stored. */
export class Ignore extends coded('IGNORE', TaskPredicate) {}

/** Thrown by task code: reject the message, optionally requeueing it (for acks_late tasks). */
export class Reject extends TaskPredicate {
  constructor(readonly reason?: unknown, readonly requeue = false) {
    super(`Rejected${reason === undefined ? '' : `: ${String(reason)}`}${requeue ? ' (requeued)' : ''}`);
  }
}
setCode(Reject, 'REJECT');
