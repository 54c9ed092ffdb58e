// ResultSet and GroupResult: many results read as one, in order (Celery's celery.result.ResultSet / GroupResult).
// A GroupResult has an id and can be saved under celery-taskset-meta-<id> and restored from it.

import { TimeoutError } from '../errors.js';
import { AsyncResult, tupleId, type GetOptions, type ResultHandle, type ResultSource, type ResultTuple } from './async-result.js';
import { secondsOption } from './get-options.js';

/** join() options: get()'s, plus Celery's callback, called with each member's id and value instead of collecting. */
export interface JoinOptions extends GetOptions {
  callback?: (taskId: string, value: unknown) => void;
}

/** Results waited on together, in order (Celery's ResultSet). */
export class ResultSet<R = unknown> {
  constructor(
    /** The member results, in order; groups may be members too. */
    readonly results: ResultHandle[],
    protected readonly source: ResultSource,
  ) {}

  /** How many members. */
  get length(): number {
    return this.results.length;
  }

  [Symbol.iterator](): Iterator<ResultHandle> {
    return this.results[Symbol.iterator]();
  }

  /** Add a member unless it is already there (by id). */
  add(result: ResultHandle): void {
    if (!this.results.some((r) => r.id === result.id)) this.results.push(result);
  }

  /** Remove a member by id or handle; no error when absent (Celery's discard). */
  discard(result: ResultHandle | string): void {
    const id = typeof result === 'string' ? result : result.id;
    const at = this.results.findIndex((r) => r.id === id);
    if (at >= 0) this.results.splice(at, 1);
  }

  /**
   * Wait for every member and return their values in order (Celery's join). `timeout` (seconds, as Celery's)
   * bounds the whole wait and rejects with TimeoutError; the first failure is rethrown unless `propagate: false`.
   */
  async join(options: JoinOptions = {}): Promise<R[]> {
    const timeoutMs = secondsOption(options.timeout, 'timeout');
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    const values: R[] = [];
    for (const r of this.results) {
      const left = deadline === undefined ? undefined : deadline - Date.now();
      if (left !== undefined && left <= 0) {
        throw new TimeoutError(`join() of ${this.results.length} results timed out after ${options.timeout} s waiting for ${r.id}. Is a worker consuming its queue?`, { context: { taskId: r.id } });
      }
      const value = (await r.get({ ...options, timeout: left === undefined ? undefined : left / 1000 })) as R;
      if (options.callback) options.callback(r.id, value);
      else values.push(value);
    }
    return values;
  }

  /** Alias of join() (Celery's get on a result set). */
  get(options: JoinOptions = {}): Promise<R[]> {
    return this.join(options);
  }

  /** True once every member has finished. */
  async ready(): Promise<boolean> {
    return (await Promise.all(this.results.map((r) => r.ready()))).every(Boolean);
  }

  /** True while any member has not finished (Celery's waiting). */
  async waiting(): Promise<boolean> {
    return !(await this.ready());
  }

  /** True when every member succeeded. */
  async successful(): Promise<boolean> {
    return (await Promise.all(this.results.map((r) => r.successful()))).every(Boolean);
  }

  /** True when any member failed. */
  async failed(): Promise<boolean> {
    return (await Promise.all(this.results.map((r) => r.failed()))).some(Boolean);
  }

  /** How many members have finished successfully. */
  async completedCount(): Promise<number> {
    return (await Promise.all(this.results.map((r) => r.successful()))).filter(Boolean).length;
  }

  /** Revoke every member (Celery's ResultSet.revoke). */
  async revoke(options: { terminate?: boolean; signal?: string } = {}): Promise<void> {
    await Promise.all(this.results.map((r) => r.revoke(options)));
  }

  /** Remove every member's stored result. */
  async forget(): Promise<void> {
    await Promise.all(this.results.map((r) => r.forget()));
  }
}

/** The result of a group: its members plus the group id (Celery's GroupResult). */
export class GroupResult<R = unknown> extends ResultSet<R> implements ResultHandle<R[]> {
  /** The result this group was chained after, when known. */
  parent: ResultHandle | null = null;

  constructor(
    /** The group id: members' `group` header and the key the group is saved under. */
    readonly id: string,
    results: ResultHandle[],
    source: ResultSource,
  ) {
    super(results, source);
  }

  /** The members (a group's children are its results). */
  async children(): Promise<ResultHandle[]> {
    return this.results;
  }

  /** Store the member ids so GroupResult.restore() can find them later (Celery's save). */
  async save(): Promise<void> {
    await (await this.source.getBackend()).saveGroup(this.id, this.results.map((r) => r.asTuple()));
  }

  /** Remove the members' results and the saved group. */
  override async forget(): Promise<void> {
    await super.forget();
    await (await this.source.getBackend()).forgetGroup(this.id);
  }

  /** `[[group id, parent tuple], [member tuples]]` (Celery's as_tuple). */
  asTuple(): ResultTuple {
    return [[this.id, this.parent?.asTuple() ?? null], this.results.map((r) => r.asTuple())];
  }

  /** A saved group, or null if none was saved under this id. */
  static async restore<R = unknown>(id: string, source: ResultSource): Promise<GroupResult<R> | null> {
    const members = await (await source.getBackend()).getGroup(id);
    return members ? new GroupResult<R>(id, members.map((m) => resultFromTuple(m, source)), source) : null;
  }
}

/**
 * A result handle from a stored tuple (Celery's result_from_tuple): a GroupResult when the tuple lists members,
 * else an AsyncResult; parents are rebuilt too. A bare id string is read as a task result.
 */
export function resultFromTuple(tuple: unknown, source: ResultSource, depth = 0): ResultHandle {
  if (depth > MAX_TUPLE_DEPTH) throw new TypeError(`A result tuple nests deeper than ${MAX_TUPLE_DEPTH} levels; it cannot be a real canvas result.`);
  const head = Array.isArray(tuple) ? tuple[0] : undefined;
  const members = Array.isArray(tuple) ? tuple[1] : undefined;
  const parentTuple = Array.isArray(head) ? head[1] : null;
  const result: ResultHandle = Array.isArray(members)
    ? new GroupResult(tupleId(tuple), members.map((m) => resultFromTuple(m, source, depth + 1)), source)
    : new AsyncResult(tupleId(tuple), source);
  if (parentTuple) result.parent = resultFromTuple(parentTuple, source, depth + 1);
  return result;
}

/** Result tuples come from the wire (chord_unlock arguments, stored children): their nesting is bounded. */
const MAX_TUPLE_DEPTH = 100;

