// GroupResult: the results of a group's members, in order; savable under celery-taskset-meta-<id>.

import { PROPAGATE_STATES, READY_STATES, SUCCESS } from '../states.js';
import { AsyncResult, type GetOptions, type ResultSource } from './async-result.js';
import { secondsOption } from './get-options.js';

/** The results of a group (Celery's GroupResult): its id, the member AsyncResults, get/ready/completedCount, save and forget through the backend. */
export class GroupResult<R = unknown> {
  constructor(
    readonly id: string,
    readonly results: ReadonlyArray<AsyncResult<R>>,
    private readonly source: ResultSource,
  ) {}

  /** Every member's value, in order; rethrows the first failure unless propagate is false. `timeout` in seconds covers all. */
  async get(options: GetOptions = {}): Promise<R[]> {
    const timeoutMs = secondsOption(options.timeout, 'timeout');
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    const values: R[] = [];
    for (const r of this.results) {
      const timeout = deadline === undefined ? undefined : Math.max(0, deadline - Date.now()) / 1000;
      values.push(await r.get({ ...options, timeout }));
    }
    return values;
  }

  /** Alias of get(): Celery's join(). */
  join(options: GetOptions = {}): Promise<R[]> {
    return this.get(options);
  }

  async ready(): Promise<boolean> {
    return (await this.states()).every((s) => READY_STATES.has(s));
  }

  async successful(): Promise<boolean> {
    return (await this.states()).every((s) => s === SUCCESS);
  }

  async failed(): Promise<boolean> {
    return (await this.states()).some((s) => PROPAGATE_STATES.has(s));
  }

  /** How many members have finished successfully. */
  async completedCount(): Promise<number> {
    return (await this.states()).filter((s) => s === SUCCESS).length;
  }

  /** Store the member ids so GroupResult.restore() can find them later. */
  async save(): Promise<void> {
    await (await this.source.getBackend()).saveGroup(this.id, this.results.map((r) => r.id));
  }

  async forget(): Promise<void> {
    const backend = await this.source.getBackend();
    await Promise.all(this.results.map((r) => r.forget()));
    await backend.forgetGroup(this.id);
  }

  /** A saved group, or null if none was saved under this id. */
  static async restore<R = unknown>(id: string, source: ResultSource): Promise<GroupResult<R> | null> {
    const ids = await (await source.getBackend()).getGroup(id);
    return ids ? new GroupResult<R>(id, ids.map((t) => new AsyncResult<R>(t, source)), source) : null;
  }

  private states(): Promise<string[]> {
    return Promise.all(this.results.map((r) => r.state()));
  }
}
