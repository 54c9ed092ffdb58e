// The per-execution request context (Celery's task.request), carried by AsyncLocalStorage so that
// `currentTask()` works anywhere in a task's async call tree. Bound tasks get it as their first argument.

import { AsyncLocalStorage } from 'node:async_hooks';
import type { ResultDestination } from '../backends/backend.js';
import type { DeliveryInfo } from '../transports/transport.js';
import type { SignatureDict } from '../protocol/task-message.js';

/**
 * What the worker knows about the running task. Field names are Celery's (snake_case), so code and docs
 * written for Celery's `self.request` read the same.
 */
export interface Request {
  id: string;
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  group: string | null;
  group_index: number | null;
  chord: SignatureDict | null;
  chain: SignatureDict[] | null;
  retries: number;
  is_eager: boolean;
  eta: string | null;
  expires: string | null;
  logfile: string | null;
  /** The worker's log level as Celery's number (DEBUG 10, INFO 20, WARNING 30, ERROR 40, CRITICAL 50). */
  loglevel: number | null;
  hostname: string | null;
  delivery_info: DeliveryInfo | null;
  called_directly: boolean;
  callbacks: SignatureDict[] | null;
  errbacks: SignatureDict[] | null;
  /** The same list as `errbacks`, under the old name the seed's guide uses (Celery 3's request.errback). */
  errback: SignatureDict[] | null;
  utc: boolean;
  headers: Record<string, unknown> | null;
  reply_to: string | null;
  correlation_id: string | null;
  root_id: string | null;
  parent_id: string | null;
  /** [hard, soft] seconds. */
  timelimit: [number | null, number | null];
  origin: string | null;
  ignore_result: boolean;
  shadow: string | null;
  /** Celery 5.3+ stamps: the names (null when the message has none) and name → value. */
  stamped_headers?: string[] | null;
  stamps?: Record<string, unknown>;
  /** Aborted on revoke(terminate) or the soft time limit: long async tasks should watch it. */
  signal?: AbortSignal;
  /** Custom headers sent with `headers: {...}` are also readable as request properties, as in Celery. */
  [custom: string]: unknown;
}

/** The request of a task called directly (`task.call(...)`, Celery's `called_directly`). */
export function directRequest(name: string, args: unknown[], kwargs: Record<string, unknown>, id: string): Request {
  return {
    id, task: name, args, kwargs, group: null, group_index: null, chord: null, chain: null, retries: 0,
    is_eager: false, eta: null, expires: null, logfile: null, loglevel: null, hostname: null, delivery_info: null,
    called_directly: true, callbacks: null, errbacks: null, errback: null, utc: true, headers: null, reply_to: null,
    correlation_id: id, root_id: id, parent_id: null, timelimit: [null, null], origin: null, ignore_result: false, shadow: null,
  };
}

/** The execution in progress: the request plus who runs it. */
export interface Execution {
  readonly request: Request;
  readonly taskName: string;
  /** Task ids sent from inside this execution: recorded as the result's `children`. */
  readonly children: string[];
}

/** Where a request's results go besides a store: its reply_to and correlation_id (Celery's destination_for; rpc://). */
export function destinationOf(request: Pick<Request, 'reply_to' | 'correlation_id'>): ResultDestination {
  return { replyTo: request.reply_to, correlationId: request.correlation_id };
}

/**
 * The current execution is kept two ways. A function that returns a promise runs under AsyncLocalStorage, so its
 * request follows it across awaits. A function that returns a plain value finishes before anything else can run, so
 * its request is simply held in `syncCurrent` for the length of the call. That matters on Node 20: while any
 * AsyncLocalStorage is enabled, every promise in the process pays for async_hooks (measured: a quarter of a no-op
 * task's CPU), so the storage is enabled only while a promise-returning execution is in flight.
 */
const storage = new AsyncLocalStorage<Execution>();
let syncCurrent: Execution | undefined;
/** Executions in flight under the storage; at 0 it is disabled again. */
let asyncRuns = 0;
/** Task functions that returned a promise once (or are declared async): they always run under the storage. */
const returnsPromises = new WeakSet<object>();
/** Task functions whose first call returned a plain value. */
const seenPlain = new WeakSet<object>();
const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as object;

/** True for a promise or any object with a `then` method (what `await` would wait for). */
export const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';

function released(): void {
  if (--asyncRuns === 0) storage.disable();
}

function runAsync<T>(execution: Execution, fn: () => T): T {
  // An async execution started inside a synchronous one sees itself, not its caller, as current.
  const outer = syncCurrent;
  syncCurrent = undefined;
  asyncRuns++;
  let result: T;
  try {
    result = storage.run(execution, fn);
  } catch (error) {
    released();
    throw error;
  } finally {
    syncCurrent = outer;
  }
  if (isThenable(result)) result.then(released, released);
  else released();
  return result;
}

/**
 * Run `fn` with `execution` as the current task (nested calls see the innermost). `owner` is the task function
 * `fn` calls: once it has returned a plain value (its first call runs under the storage, to find out), later calls
 * skip the storage. A function that returns a promise on some calls only should be declared `async`.
 */
export function runInContext<T>(execution: Execution, fn: () => T, owner?: object): T {
  if (owner === undefined || returnsPromises.has(owner) || Object.getPrototypeOf(owner) === AsyncFunction) return runAsync(execution, fn);
  if (!seenPlain.has(owner)) {
    const result = runAsync(execution, fn);
    if (isThenable(result)) returnsPromises.add(owner);
    else seenPlain.add(owner);
    return result;
  }
  const outer = syncCurrent;
  syncCurrent = execution;
  try {
    const result = fn();
    if (isThenable(result)) returnsPromises.add(owner);
    return result;
  } finally {
    syncCurrent = outer;
  }
}

/** The current execution, or undefined outside any task. */
export function currentExecution(): Execution | undefined {
  return syncCurrent ?? storage.getStore();
}
