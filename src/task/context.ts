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
  loglevel: string | null;
  hostname: string | null;
  delivery_info: DeliveryInfo | null;
  called_directly: boolean;
  callbacks: SignatureDict[] | null;
  errbacks: SignatureDict[] | null;
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
    called_directly: true, callbacks: null, errbacks: null, utc: true, headers: null, reply_to: null,
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

const storage = new AsyncLocalStorage<Execution>();

/** Run `fn` with `execution` as the current task (nested calls see the innermost). */
/** Where a request's results go besides a store: its reply_to and correlation_id (Celery's destination_for; rpc://). */
export function destinationOf(request: Pick<Request, 'reply_to' | 'correlation_id'>): ResultDestination {
  return { replyTo: request.reply_to, correlationId: request.correlation_id };
}

export function runInContext<T>(execution: Execution, fn: () => T): T {
  return storage.run(execution, fn);
}

/** The current execution, or undefined outside any task. */
export function currentExecution(): Execution | undefined {
  return storage.getStore();
}
