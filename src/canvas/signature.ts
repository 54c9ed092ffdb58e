// Signature: one task call as data, in Celery's dict shape (REDIS-WIRE.md §3.3): task, args, kwargs, options
// (snake_case, as on the wire), subtask_type, immutable. The base of every canvas node: chain, group, chord,
// chunks and map are Signatures too, so any of them can be nested, linked, frozen and sent the same way.

import type { ApplyOptions } from '../task/options.js';
import { InvalidCanvas, UsageError } from '../errors.js';
import type { SignatureDict } from '../protocol/task-message.js';
import { AsyncResult, type ResultHandle, type ResultSource } from '../result/async-result.js';
import { uuid } from '../utils/ids.js';
import { asList, toApplyOptions, toWireOptions, wireValue } from './options.js';
import { checkRunnable } from './validate.js';

/** A registered task as the canvas uses it: routed sends with the task's own options, eager when configured. */
export interface CanvasTask {
  readonly name: string;
  applyAsync(args?: unknown[], kwargs?: Record<string, unknown>, options?: ApplyOptions): Promise<AsyncResult<unknown>>;
}

/** What the canvas needs from the app (the Celery app implements it): sending, results, the task registry. */
export interface CanvasApp extends ResultSource {
  /** Send a task by name through the app's one routed send path. */
  sendTask<R = unknown>(name: string, args?: unknown[], kwargs?: Record<string, unknown>, options?: ApplyOptions): Promise<AsyncResult<R>>;
  readonly tasks: { has(name: string): boolean; get(name: string): CanvasTask };
  /** The result backend URL, or null when results are disabled (chords then cannot run). */
  backendUrl(): string | null;
  readonly conf: { get(name: string): unknown };
}

/** Where a frozen node sits (Celery's freeze arguments). */
export interface FreezeOptions {
  /** The task id to use when none is set yet. */
  id?: string;
  groupId?: string | null;
  groupIndex?: number | null;
  /** The chord body this node reports to, when it is a chord header member. */
  chord?: AnySignature | SignatureDict | null;
  rootId?: string | null;
  parentId?: string | null;
}

/** Any canvas node, whatever result it gives. */
// eslint-style escape: the value type of a nested node is not known statically.
export type AnySignature = Signature<any, ResultHandle>;

/** A task call as data (Celery's Signature); `R` is the task's value, `H` the result handle applying it gives. */
export class Signature<R = unknown, H extends ResultHandle = AsyncResult<R>> {
  constructor(
    /** The task name (for composites Celery's `celery.chain`, `celery.group`, …). */
    public task: string,
    public args: unknown[] = [],
    public kwargs: Record<string, unknown> = {},
    /** apply_async options in Celery's snake_case wire spelling (task_id, queue, priority, link, …). */
    public options: Record<string, unknown> = {},
    /** Immutable signatures (Celery's .si()) ignore a parent's result and any partial args. */
    public immutable = false,
    /** The app that sends it (set by task.s(), app.signature() and when read from the wire). */
    public app?: CanvasApp,
    /** null for a task; 'chain', 'group', 'chord', 'chunks', 'xmap', 'xstarmap' for composites. */
    public subtaskType: string | null = null,
  ) {}

  /** The task id, once set or frozen (options.task_id). */
  get id(): string | undefined {
    return typeof this.options.task_id === 'string' ? this.options.task_id : undefined;
  }

  /** Alias of `task` (Celery's name). */
  get name(): string {
    return this.task;
  }

  /**
   * Send it (Celery's apply_async): `args` are prepended to the partial args and `kwargs` merged, unless
   * immutable; `options` win over the signature's own. The whole canvas is checked first: nothing is sent when
   * any part of it cannot run (InvalidCanvas names that part).
   */
  async applyAsync(args: unknown[] = [], kwargs: Record<string, unknown> = {}, options: ApplyOptions = {}): Promise<H> {
    const app = this.boundApp();
    await checkRunnable(this, app);
    return this.applyWire(args, kwargs, toWireOptions(options), app);
  }

  /** Send with positional args (Celery's delay). */
  delay(...args: unknown[]): Promise<H> {
    return this.applyAsync(args);
  }

  /**
   * Apply with wire-spelled options; canvas nodes call this on their (already checked) members.
   * @internal
   */
  async applyWire(args: unknown[], kwargs: Record<string, unknown>, options: Record<string, unknown>, app: CanvasApp): Promise<H> {
    const [a, k, o] = this.merge(args, kwargs, options);
    const applyOptions = toApplyOptions(o);
    const result = app.tasks.has(this.task)
      ? await app.tasks.get(this.task).applyAsync(a, k, applyOptions)
      : await app.sendTask(this.task, a, k, applyOptions);
    return result as unknown as H;
  }

  /**
   * Give it a task id (and its place in a group or chord) without sending it, and return the result it will
   * have (Celery's freeze). A set task id is kept, so freezing twice gives the same result.
   */
  freeze(where: FreezeOptions = {}, app: CanvasApp = this.boundApp()): H {
    const o = this.options;
    if (typeof o.task_id !== 'string') o.task_id = where.id ?? uuid();
    if (where.rootId) o.root_id = where.rootId;
    if (where.parentId) o.parent_id = where.parentId;
    if (where.groupId && o.group_id === undefined) o.group_id = where.groupId;
    if (where.chord) o.chord = where.chord;
    if (where.groupIndex !== undefined && where.groupIndex !== null) o.group_index = where.groupIndex;
    return new AsyncResult(o.task_id as string, app, this.task) as unknown as H;
  }

  /** A copy with more partial args/kwargs/options (Celery's clone/partial); immutable ones keep their args. */
  clone(args: unknown[] = [], kwargs: Record<string, unknown> = {}, options: ApplyOptions | Record<string, unknown> = {}): this {
    const [a, k, o] = this.merge(args, kwargs, toWireOptions(options));
    return this.rebuild(a, k, copyOptions(o));
  }

  /** Set execution options in place (Celery's .set()): snake_case or camelCase names. Returns this signature. */
  set(options: ApplyOptions | Record<string, unknown>): this {
    Object.assign(this.options, toWireOptions(options));
    return this;
  }

  /** Make it (im)mutable in place (Celery's set_immutable). */
  setImmutable(immutable: boolean): this {
    this.immutable = immutable;
    return this;
  }

  /** Run `callback` with this result when it succeeds (Celery's link); returns the callback. */
  link<S extends AnySignature>(callback: S): S {
    this.appendOption('link', callback);
    return callback;
  }

  /** Run `errback` with this task's id when it fails (Celery's link_error); returns the errback. */
  linkError<S extends AnySignature>(errback: S): S {
    this.appendOption('link_error', errback);
    return errback;
  }

  /** link_error that returns this signature, for chaining calls (Celery's on_error). */
  onError(errback: AnySignature): this {
    this.linkError(errback);
    return this;
  }

  /** Celery's dict form, nested signatures included: what goes on the wire. */
  toDict(): SignatureDict {
    return {
      task: this.task,
      args: wireValue(this.args) as unknown[],
      kwargs: wireValue(this.kwargs) as Record<string, unknown>,
      options: wireValue(this.options) as Record<string, unknown>,
      subtask_type: this.subtaskType,
      immutable: this.immutable,
    };
  }

  toJSON(): SignatureDict {
    return this.toDict();
  }

  /**
   * How many chord parts this node reports when it is in a chord header (Celery's _descend): 1 for a task.
   * @internal
   */
  chordSize(): number {
    return 1;
  }

  /**
   * What is wrong with this node's own shape, as the end of a sentence ("has chunk size 0 …"), or null.
   * @internal
   */
  problem(): string | null {
    return null;
  }

  /**
   * The nodes inside this one, each with a label for error messages (none for a task).
   * @internal
   */
  members(): Array<[string, unknown]> {
    return [];
  }

  /**
   * The app of this node or, for a composite, of its first member that has one (Celery's _get_app). Throws
   * InvalidCanvas when the node cannot run anyway (an empty chain has no member to find an app in), else UsageError.
   */
  boundApp(): CanvasApp {
    const app = this.findApp(0);
    if (!app) {
      const problem = this.problem();
      if (problem) throw new InvalidCanvas(`The ${this.task} signature ${problem} Nothing was sent.`, { context: { taskName: this.task } });
      throw new UsageError(`The signature ${this.task} is not bound to an app, nor is any signature inside it: create it with app.signature() or task.s().`, { context: { taskName: this.task } });
    }
    return app;
  }

  /** @internal */
  findApp(depth: number): CanvasApp | undefined {
    if (this.app || depth > 64) return this.app;
    for (const [, m] of this.members()) {
      const app = m instanceof Signature ? m.findApp(depth + 1) : undefined;
      if (app) return app;
    }
    return undefined;
  }

  /** A new node of the same kind with these parts; subclasses rebuild their own kind. */
  protected rebuild(args: unknown[], kwargs: Record<string, unknown>, options: Record<string, unknown>): this {
    return new Signature(this.task, args, kwargs, options, this.immutable, this.app, this.subtaskType) as this;
  }

  /**
   * Celery's _merge: partial args first, then the signature's own (unless immutable); given options win over the
   * signature's, except a group_id the signature already has (its group must still complete).
   */
  protected merge(args: unknown[], kwargs: Record<string, unknown>, options: Record<string, unknown>): [unknown[], Record<string, unknown>, Record<string, unknown>] {
    const merged = { ...this.options };
    for (const [k, v] of Object.entries(options)) if (!(k === 'group_id' && merged.group_id !== undefined)) merged[k] = v;
    if (this.immutable) return [this.args, this.kwargs, merged];
    return [args.length ? [...args, ...this.args] : this.args, Object.keys(kwargs).length ? { ...this.kwargs, ...kwargs } : this.kwargs, merged];
  }

  private appendOption(key: 'link' | 'link_error', sig: AnySignature): void {
    const list = asList(this.options[key]);
    if (!list.includes(sig)) list.push(sig);
    this.options[key] = list;
  }
}

/** A copy of an option dict whose link lists are copied too, so a clone's links can change alone. */
function copyOptions(options: Record<string, unknown>): Record<string, unknown> {
  const out = { ...options };
  for (const key of ['link', 'link_error', 'chain']) if (Array.isArray(out[key])) out[key] = [...(out[key] as unknown[])];
  return out;
}
