// group: members run in parallel, each a message with header `group: <gid>` (REDIS-WIRE.md §7.2); the result is
// a GroupResult in member order. Nested groups are unrolled into their parent, as Celery does (in Celery's freeze
// order when frozen: see unrollAsFrozen).

import { InvalidCanvas } from '../errors.js';
import { GroupResult } from '../result/group-result.js';
import type { ResultHandle } from '../result/async-result.js';
import { uuid } from '../utils/ids.js';
import { Signature, type AnySignature, type CanvasApp, type FreezeOptions } from './signature.js';

/** Signatures run in parallel (Celery's group); its dict is `{task: 'celery.group', kwargs: {tasks: [...]}}`. */
export class Group<R = unknown> extends Signature<R[], GroupResult<R>> {
  constructor(tasks: readonly AnySignature[] = [], options: Record<string, unknown> = {}, app?: CanvasApp) {
    super('celery.group', [], { tasks: [...tasks] }, options, false, app, 'group');
  }

  /** The members, in order. */
  get tasks(): AnySignature[] {
    return this.kwargs.tasks as AnySignature[];
  }

  set tasks(tasks: AnySignature[]) {
    this.kwargs.tasks = tasks;
  }

  /** @internal */
  override members(): Array<[string, unknown]> {
    return this.tasks.map((t, i) => [`group member ${i}`, t]);
  }

  /** @internal In a chord header every member reports (nested groups are unrolled). */
  override chordSize(): number {
    return this.tasks.reduce((n, t) => n + t.chordSize(), 0);
  }

  /** Every member becomes (im)mutable (Celery's group.set_immutable). */
  override setImmutable(immutable: boolean): this {
    for (const t of this.tasks) t.setImmutable(immutable);
    return this;
  }

  /** Celery links a group's callback, made immutable, to its first member; use a chord to get all results. */
  override link<S extends AnySignature>(callback: S): S {
    this.tasks[0]?.link(callback.clone().setImmutable(true));
    return callback;
  }

  /** The errback is linked to every member (Celery's group.link_error). */
  override linkError<S extends AnySignature>(errback: S): S {
    for (const t of this.tasks) t.linkError(errback);
    return errback;
  }

  /**
   * Give the group an id and every (unrolled) member its task id and, as a chord header member, its chord body
   * and group_index; members are replaced by frozen copies. Indexes are contiguous: a member that reports several
   * parts (a chain ending in a group) takes as many. Members get a group_id only when one is given: as in Celery,
   * the group id is stamped on them when the group is applied (a Python worker applying this group's dict from a
   * chain gives it a new id, so a group_id frozen in would split the chord).
   */
  override freeze(where: FreezeOptions = {}, app: CanvasApp = this.boundApp()): GroupResult<R> {
    const gid = typeof this.options.task_id === 'string' ? this.options.task_id : (where.id ?? uuid());
    this.options.task_id = gid;
    if (where.rootId) this.options.root_id = where.rootId;
    let index = where.groupIndex ?? 0;
    const results: ResultHandle[] = [];
    this.tasks = unrollAsFrozen(this.tasks).map((member) => {
      const copy = bind(member.clone(), app);
      results.push(copy.freeze({ groupId: where.groupId, chord: where.chord, rootId: where.rootId, parentId: where.parentId, groupIndex: index }, app));
      index += Math.max(1, copy.chordSize());
      return copy;
    });
    return new GroupResult<R>(gid, results, app);
  }

  /**
   * Send every member with `group_id` = the group id (options.task_id, else a new one), the partial `args`
   * prepended, and the given options; members keep ids, groups and indexes they were frozen with.
   */
  override async applyWire(args: unknown[], kwargs: Record<string, unknown>, options: Record<string, unknown>, app: CanvasApp): Promise<GroupResult<R>> {
    const partial = args.length ? [...args, ...this.args] : this.args;
    const opts = { ...this.options, ...options };
    if (opts.link !== undefined && opts.link !== null) {
      throw new InvalidCanvas('A group was given a link: a group has no single result to pass on. Use a chord (group → body) instead, or link the members.');
    }
    const groupId = typeof opts.task_id === 'string' ? opts.task_id : uuid();
    delete opts.task_id;
    opts.group_id = groupId;
    const results: ResultHandle[] = [];
    for (const member of unroll(this.tasks)) {
      const copy = bind(member.clone(), app);
      copy.freeze({ groupId, rootId: opts.root_id as string | undefined }, app);
      results.push(await copy.applyWire(partial, kwargs, opts, app));
    }
    if (results.length === 1 && results[0] instanceof GroupResult) return results[0] as GroupResult<R>;
    return new GroupResult<R>(groupId, results, app);
  }

  protected override rebuild(args: unknown[], kwargs: Record<string, unknown>, options: Record<string, unknown>): this {
    const copy = new Group<R>(((kwargs.tasks as AnySignature[]) ?? []).map((t) => t.clone()), options, this.app);
    copy.args = args;
    return copy as this;
  }
}

/** Members with nested groups spliced in their place (Celery unrolls groups inside groups). */
export function unroll(tasks: readonly AnySignature[], depth = 0): AnySignature[] {
  return tasks.flatMap((t) => (t instanceof Group && depth < 64 ? unroll(t.tasks, depth + 1) : [t]));
}

/**
 * Members with nested groups spliced in, in the order Celery 5's group.freeze gives them (its _freeze_unroll): a
 * nested group's members come last first, at every level. That order is what a chord header's results, and a
 * frozen group's results, follow, so a chord body sees the list a Python client would have given it.
 */
export function unrollAsFrozen(tasks: readonly AnySignature[]): AnySignature[] {
  const out: AnySignature[] = [];
  // The end of `stack` is what comes next; a nested group's members are pushed in order, so they come out reversed.
  const stack = [...tasks].reverse();
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (next instanceof Group) for (const member of next.tasks) stack.push(member);
    else out.push(next);
  }
  return out;
}

/** A member without an app gets the group's, as Celery's maybe_signature(app=…) does. */
export function bind<S extends AnySignature>(sig: S, app: CanvasApp): S {
  sig.app ??= app;
  return sig;
}

/** A group of one member is just that member (Celery's maybe_unroll_group). */
export function maybeUnroll(sig: AnySignature): AnySignature {
  return sig instanceof Group && sig.tasks.length === 1 ? sig.tasks[0]! : sig;
}

