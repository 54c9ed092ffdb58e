// Signature: a task call as plain data in Celery's dict shape (REDIS-WIRE.md §3.3), sendable, clonable, partial.

import { UsageError } from '../errors.js';
import type { ApplyOptions } from '../task/options.js';
import type { SignatureDict } from '../protocol/task-message.js';
import type { AsyncResult } from '../result/async-result.js';

/** What a signature needs to be sent: the app's sendTask. */
export interface SignatureSender {
  sendTask<R = unknown>(name: string, args?: unknown[], kwargs?: Record<string, unknown>, options?: ApplyOptions): Promise<AsyncResult<R>>;
}

/**
 * A task call as data (Celery's Signature / subtask): name, args, kwargs, options in Celery's snake_case, immutable
 * flag. Sent with applyAsync/delay; to and from Celery's dict shape for the wire.
 */
export class Signature<R = unknown> {
  constructor(
    readonly task: string,
    readonly args: unknown[] = [],
    readonly kwargs: Record<string, unknown> = {},
    /** apply_async options in Celery's snake_case wire spelling (task_id, queue, priority, …). */
    readonly options: Record<string, unknown> = {},
    readonly immutable = false,
    /** The app that sends it (set by app.signature and task.s). */
    readonly app?: SignatureSender,
    readonly subtaskType: string | null = null,
  ) {}

  /** Send it (Celery's apply_async); `args` are prepended to the partial args unless immutable. */
  applyAsync(args: unknown[] = [], kwargs: Record<string, unknown> = {}, options: ApplyOptions = {}): Promise<AsyncResult<R>> {
    if (!this.app) {
      throw new UsageError(`Signature for ${this.task} is not bound to an app; create it with app.signature() or task.s().`);
    }
    const merged = this.immutable ? this.args : [...args, ...this.args];
    return this.app.sendTask<R>(this.task, merged, { ...this.kwargs, ...kwargs }, { ...applyOptionsFromDict(this.options), ...options });
  }

  delay(...args: unknown[]): Promise<AsyncResult<R>> {
    return this.applyAsync(args);
  }

  /** A copy with more partial args/kwargs/options. */
  clone(args: unknown[] = [], kwargs: Record<string, unknown> = {}, options: Record<string, unknown> = {}): Signature<R> {
    return new Signature<R>(this.task, [...args, ...this.args], { ...this.kwargs, ...kwargs }, { ...this.options, ...options }, this.immutable, this.app, this.subtaskType);
  }

  /** Set execution options (Celery's .set()): snake_case or camelCase names. */
  set(options: ApplyOptions | Record<string, unknown>): Signature<R> {
    return new Signature<R>(this.task, this.args, this.kwargs, { ...this.options, ...dictOptionsFrom(options as Record<string, unknown>) }, this.immutable, this.app, this.subtaskType);
  }

  toDict(): SignatureDict {
    return { task: this.task, args: this.args, kwargs: this.kwargs, options: this.options, subtask_type: this.subtaskType, immutable: this.immutable };
  }

  toJSON(): SignatureDict {
    return this.toDict();
  }

  static fromDict<R = unknown>(d: SignatureDict, sender?: SignatureSender): Signature<R> {
    return new Signature<R>(d.task, d.args ?? [], d.kwargs ?? {}, d.options ?? {}, d.immutable === true, sender, d.subtask_type ?? null);
  }
}

const CAMEL_TO_WIRE: Record<string, string> = {
  taskId: 'task_id', routingKey: 'routing_key', ignoreResult: 'ignore_result', timeLimit: 'time_limit',
  softTimeLimit: 'soft_time_limit', linkError: 'link_error', replyTo: 'reply_to', parentId: 'parent_id',
  rootId: 'root_id', groupId: 'group_id', groupIndex: 'group_index',
};
const WIRE_TO_CAMEL = Object.fromEntries(Object.entries(CAMEL_TO_WIRE).map(([k, v]) => [v, k]));

function dictOptionsFrom(options: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) out[CAMEL_TO_WIRE[k] ?? k] = v;
  return out;
}

/** A signature dict's options (snake_case, as Python writes them) → ApplyOptions. */
export function applyOptionsFromDict(options: Record<string, unknown>): ApplyOptions {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined || k === 'link' || k === 'link_error') continue;
    out[WIRE_TO_CAMEL[k] ?? k] = v;
  }
  const link = options.link as SignatureDict | SignatureDict[] | undefined;
  const linkError = options.link_error as SignatureDict | SignatureDict[] | undefined;
  if (link) out.link = (Array.isArray(link) ? link : [link]).map((d) => ({ toDict: () => d }));
  if (linkError) out.linkError = (Array.isArray(linkError) ? linkError : [linkError]).map((d) => ({ toDict: () => d }));
  return out as ApplyOptions;
}
