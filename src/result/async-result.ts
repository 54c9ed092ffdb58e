// AsyncResult: a handle on a task's result in the result backend. Everything that reads the backend is async;
// once a result is ready it is cached, so later calls cost nothing (as in Celery).

import type { ResultBackend } from '../backends/backend.js';
import { UsageError } from '../errors.js';
import { docToError } from '../protocol/exceptions.js';
import { parseDateDone, type ResultMeta } from '../protocol/result-meta.js';
import { FAILURE, PENDING, PROPAGATE_STATES, READY_STATES, SUCCESS } from '../states.js';
import { secondsOption } from './get-options.js';

/** Where a result handle reads from: the app hands this over, so results never import the app. */
export interface ResultSource {
  getBackend(): Promise<ResultBackend>;
  /** Present on apps: revoke() goes through remote control. */
  readonly control?: { revoke(taskId: string, options?: { terminate?: boolean; signal?: string }): Promise<void> };
  /**
   * Present on apps: a result handle from a stored tuple (Celery's result_from_tuple), so `children` can be
   * groups as well as tasks. Without it children are plain task results.
   */
  resultFromTuple?(tuple: unknown): ResultHandle;
}

/**
 * A stored result reference (Celery's `as_tuple()`): `[[id, parent tuple | null], null]` for a task,
 * `[[group id, parent tuple | null], [member tuples]]` for a group.
 */
export type ResultTuple = [[string, ResultTuple | null], ResultTuple[] | null];

/** What AsyncResult and GroupResult share (Celery's ResultBase): enough to wait on and walk a canvas's results. */
export interface ResultHandle<V = unknown> {
  readonly id: string;
  /** The result this one was chained after (Celery's `parent`), when known. */
  parent: ResultHandle | null;
  get(options?: GetOptions): Promise<V>;
  ready(): Promise<boolean>;
  successful(): Promise<boolean>;
  failed(): Promise<boolean>;
  forget(): Promise<void>;
  revoke(options?: { terminate?: boolean; signal?: string }): Promise<void>;
  /** The results this one sent or holds (Celery's `children`). */
  children(): Promise<ResultHandle[]>;
  asTuple(): ResultTuple;
}

/** Options of `get()` (Celery's AsyncResult.get keyword arguments). Times are in seconds, as in Celery. */
export interface GetOptions {
  /** Seconds to wait before TimeoutError (e.g. 0.5, 10, 30 days = 2_592_000); undefined or Infinity waits forever. */
  timeout?: number;
  /** Rethrow the task's error (default true); false returns the error instead. */
  propagate?: boolean;
  /** Seconds between polls where the backend cannot push (default 0.5, Celery's). */
  interval?: number;
  signal?: AbortSignal;
}

/**
 * A handle on one task's result (Celery's AsyncResult): state, get({ timeout }) in seconds, ready, traceback,
 * forget and revoke. Reads the result backend; a ready result is cached.
 */
export class AsyncResult<R = unknown> implements ResultHandle<R> {
  private cached: ResultMeta | null = null;
  /** The result of the step this one was chained after (Celery's `parent`); set by canvas, null otherwise. */
  parent: ResultHandle | null = null;

  constructor(
    /** The task id. */
    readonly id: string,
    protected readonly source: ResultSource,
    /** The task name, when known (for error context). */
    readonly name: string | null = null,
  ) {}

  /** Alias of `id` (Celery's task_id). */
  get taskId(): string {
    return this.id;
  }

  /** The stored document, or null while PENDING (unknown). */
  async meta(): Promise<ResultMeta | null> {
    if (this.cached) return this.cached;
    const meta = await (await this.source.getBackend()).get(this.id);
    if (meta && READY_STATES.has(meta.status)) this.cached = meta;
    return meta;
  }

  /** PENDING, STARTED, RETRY, SUCCESS, FAILURE, REVOKED or a custom state. PENDING means "unknown". */
  async state(): Promise<string> {
    return (await this.meta())?.status ?? PENDING;
  }

  /** Alias of state(). */
  status(): Promise<string> {
    return this.state();
  }

  /** True once the task has finished (SUCCESS, FAILURE or REVOKED). */
  async ready(): Promise<boolean> {
    return READY_STATES.has(await this.state());
  }

  async successful(): Promise<boolean> {
    return (await this.state()) === SUCCESS;
  }

  async failed(): Promise<boolean> {
    return (await this.state()) === FAILURE;
  }

  /** The return value, the error for failures, the meta dict for custom states, or null while unknown. */
  async result(): Promise<R | Error | unknown> {
    const meta = await this.meta();
    if (!meta) return null;
    return PROPAGATE_STATES.has(meta.status) ? this.errorOf(meta) : meta.result;
  }

  /** The stored traceback of a failure, else null. */
  async traceback(): Promise<string | null> {
    return (await this.meta())?.traceback ?? null;
  }

  /** When the task finished (UTC), else null. */
  async dateDone(): Promise<Date | null> {
    return parseDateDone((await this.meta())?.date_done);
  }

  /** Results of what this task sent while it ran and after (chain steps, callbacks, groups), as stored. */
  async children(): Promise<ResultHandle[]> {
    const meta = await this.meta();
    return (meta?.children ?? []).map((c) => this.source.resultFromTuple?.(c) ?? new AsyncResult(tupleId(c), this.source));
  }

  /**
   * Walk this result and its children, breadth first (Celery's collect): waits for each and yields
   * `[result, value]`; a node's children are read once it is ready. Failures rethrow unless `propagate: false`.
   */
  async *collect(options: GetOptions = {}): AsyncGenerator<[ResultHandle, unknown]> {
    const queue: ResultHandle[] = [this];
    for (let node = queue.shift(); node; node = queue.shift()) {
      yield [node, await node.get(options)];
      queue.push(...(await node.children()));
    }
  }

  /** `[[id, parent tuple], null]` (Celery's as_tuple), the form stored in `children` and sent to chord_unlock. */
  asTuple(): ResultTuple {
    return [[this.id, this.parent?.asTuple() ?? null], null];
  }

  /**
   * Wait for the result. Rethrows the task's error (a RemoteTaskError carrying exc_type/exc_message/exc_module and
   * the remote traceback) unless `propagate: false`; rejects with TimeoutError after `timeout` seconds.
   * Throws ImproperlyConfigured for a timeout or interval that is not a number of seconds ≥ 0.
   */
  async get(options: GetOptions = {}): Promise<R> {
    const meta = this.cached ?? (await (await this.source.getBackend()).waitFor(this.id, {
      timeoutMs: secondsOption(options.timeout, 'timeout'),
      intervalMs: secondsOption(options.interval, 'interval') ?? 500,
      signal: options.signal,
    }));
    this.cached = meta;
    if (PROPAGATE_STATES.has(meta.status)) {
      const error = this.errorOf(meta);
      if (options.propagate ?? true) throw error;
      return error as R;
    }
    return meta.result as R;
  }

  /** Remove the stored result. */
  async forget(): Promise<void> {
    this.cached = null;
    await (await this.source.getBackend()).forget(this.id);
  }

  /** Revoke this task on every worker (Celery's AsyncResult.revoke); terminate also stops it if running. */
  async revoke(options: { terminate?: boolean; signal?: string } = {}): Promise<void> {
    if (!this.source.control) throw new UsageError('This result is not bound to an app; revoke through app.control.revoke(id).');
    await this.source.control.revoke(this.id, options);
  }

  toString(): string {
    return this.id;
  }

  toJSON(): string {
    return this.id;
  }

  protected errorOf(meta: ResultMeta): Error {
    return docToError(meta.result, meta.traceback, { taskId: this.id, ...(this.name ? { taskName: this.name } : {}) });
  }
}

/** The id in a stored result tuple (or a bare id, as old celeriac versions stored children). */
export function tupleId(tuple: unknown): string {
  return Array.isArray(tuple) && Array.isArray(tuple[0]) ? String(tuple[0][0]) : String(tuple);
}

/** The result of a task run in this process (`apply()`, task_always_eager): nothing is stored or sent. */
export class EagerResult<R = unknown> extends AsyncResult<R> {
  constructor(
    id: string,
    private readonly stored: ResultMeta,
    name: string | null = null,
    /** The original error of a failed eager run: get() rethrows it as is, as Celery's EagerResult does. */
    private readonly error?: unknown,
  ) {
    super(id, { getBackend: () => Promise.reject(new Error('unreachable: eager results are local')) }, name);
  }

  override async meta(): Promise<ResultMeta> {
    return this.stored;
  }

  override async get(options: GetOptions = {}): Promise<R> {
    if (PROPAGATE_STATES.has(this.stored.status)) {
      const error = this.error ?? docToError(this.stored.result, this.stored.traceback, { taskId: this.id });
      if (options.propagate ?? true) throw error;
      return error as R;
    }
    return this.stored.result as R;
  }

  override async forget(): Promise<void> {}
}
