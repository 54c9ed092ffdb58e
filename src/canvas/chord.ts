// chord: a header group whose results, once every member succeeded, are passed as one list to the body
// (REDIS-WIRE.md §7.3). The client records the header size; each header member reports its part to the result
// backend and the part that completes the chord sends the body (task/execute.ts).

import { AsyncResult, type ResultHandle } from '../result/async-result.js';
import { GroupResult } from '../result/group-result.js';
import { uuid } from '../utils/ids.js';
import { bind, Group } from './group.js';
import { Signature, type AnySignature, type CanvasApp, type FreezeOptions } from './signature.js';

/** Options that belong to the chord's body alone: the header members must not carry them. */
const BODY_ONLY = ['chain', 'chord', 'task_id', 'link', 'link_error', 'group_id', 'group_index'];

/** A header group and a body (Celery's chord); its dict is `{task: 'celery.chord', kwargs: {header, body, kwargs}}`. */
export class Chord<R = unknown> extends Signature<R, AsyncResult<R>> {
  constructor(header: readonly AnySignature[] | Group, body: AnySignature | null, options: Record<string, unknown> = {}, app?: CanvasApp, extraKwargs: Record<string, unknown> = {}) {
    super('celery.chord', [], { kwargs: extraKwargs, header: header instanceof Group ? header : new Group(header, {}, app), body }, options, false, app, 'chord');
  }

  /** The header, as a group. */
  get header(): Group {
    return this.kwargs.header as Group;
  }

  /** The header's members. */
  get tasks(): AnySignature[] {
    return this.header.tasks;
  }

  /** The body, applied with the list of header results. */
  get body(): AnySignature | null {
    return (this.kwargs.body as AnySignature | null | undefined) ?? null;
  }

  /** @internal */
  override members(): Array<[string, unknown]> {
    return [...this.tasks.map((t, i): [string, unknown] => [`header member ${i}`, t]), ...(this.body ? [['body', this.body] as [string, unknown]] : [])];
  }

  /** @internal */
  override problem(): string | null {
    return this.body ? null : 'is a chord without a body: give chord(header, body) the signature to call with the header results.';
  }

  /** @internal In an outer chord's header a chord reports through its body (Celery's _descend). */
  override chordSize(): number {
    return this.body?.chordSize() ?? 0;
  }

  /** The callback is linked to the body (Celery's chord.link). */
  override link<S extends AnySignature>(callback: S): S {
    return this.body!.link(callback);
  }

  /** The errback is linked to the body: it runs when a header member fails too (Celery's chord.link_error). */
  override linkError<S extends AnySignature>(errback: S): S {
    return this.body!.linkError(errback);
  }

  override setImmutable(immutable: boolean): this {
    this.header.setImmutable(immutable);
    return this;
  }

  /** Freeze body and header; the body's result is returned, its first ancestor's parent being the header's. */
  override freeze(where: FreezeOptions = {}, app: CanvasApp = this.boundApp()): AsyncResult<R> {
    const body = bind(this.body!, app);
    const bodyResult = body.freeze({ id: where.id, rootId: where.rootId, chord: where.chord, groupId: where.groupId, groupIndex: where.groupIndex }, app) as AsyncResult<R>;
    const headerResult = this.header.freeze({ chord: body, rootId: where.rootId, parentId: where.parentId }, app);
    eldest(bodyResult).parent = headerResult;
    return bodyResult;
  }

  /**
   * Record the header size, then send the header members (partial `args` prepended to each) reporting to the
   * body. The body gets every given option (chain, countdown, queue, …) as in Celery; the header gets them too,
   * except those that belong to the body alone. An empty header calls the body at once with [].
   */
  override async applyWire(args: unknown[], kwargs: Record<string, unknown>, options: Record<string, unknown>, app: CanvasApp): Promise<AsyncResult<R>> {
    const partial = args.length && !this.immutable ? [...args, ...this.args] : this.args;
    const merged = { ...this.options, ...options };
    const taskId = typeof merged.task_id === 'string' ? merged.task_id : undefined;
    delete merged.task_id;
    const body = bind(((kwargs.body as AnySignature | undefined) ?? this.body!).clone([], {}, merged), app);
    const header = this.header.clone();
    const groupId = typeof header.options.task_id === 'string' ? header.options.task_id : uuid();
    header.options.task_id = groupId;
    const rootId = typeof body.options.root_id === 'string' ? body.options.root_id : undefined;
    const bodyResult = body.freeze({ id: taskId, rootId }, app) as AsyncResult<R>;
    const headerOptions = Object.fromEntries(Object.entries(merged).filter(([k]) => !BODY_ONLY.includes(k)));
    if (app.conf.get('task_always_eager')) {
      // Celery's chord.apply: the header here, then the body with its values; nothing is counted.
      const values = await (await header.applyWire(partial, {}, headerOptions, app)).get();
      const result = await body.applyWire([values], {}, {}, app);
      return result as AsyncResult<R>;
    }
    const frozen = header.freeze({ chord: body, rootId }, app);
    // A member that is itself a group (a chain ending in one): save the header, so whoever completes the chord
    // gives the body that member's results as one list, as Celery's Redis backend does in apply_chord.
    if (frozen.results.some((r) => r instanceof GroupResult)) await frozen.save();
    let headerResult: ResultHandle = frozen;
    if (header.tasks.length === 0) {
      await body.applyWire([[]], {}, {}, app);
    } else {
      await (await app.getBackend()).setChordSize(groupId, header.chordSize());
      headerResult = await header.applyWire(partial, {}, { ...headerOptions, task_id: groupId }, app);
    }
    eldest(bodyResult).parent = headerResult;
    return bodyResult;
  }

  protected override rebuild(args: unknown[], kwargs: Record<string, unknown>, options: Record<string, unknown>): this {
    const body = kwargs.body as AnySignature | null;
    const copy = new Chord<R>((kwargs.header as Group).clone(), body ? body.clone() : null, options, this.app, { ...(kwargs.kwargs as Record<string, unknown>) });
    copy.args = args;
    return copy as this;
  }
}

/** The first result of a line of parents (a chain body's first step), where the header result hangs. */
function eldest(result: ResultHandle): ResultHandle {
  const seen = new Set<ResultHandle>();
  let node = result;
  while (node.parent && !seen.has(node.parent)) {
    seen.add(node);
    node = node.parent;
  }
  return node;
}
