// map, starmap and chunks: one task over many argument sets. map/starmap send ONE `celery.map` /
// `celery.starmap` message whose worker calls the task in-process for each item; chunks is a group of starmaps.
// Each is routed as the task it maps (Celery's route_name), so it runs where that task's workers are.

import type { SignatureDict } from '../protocol/task-message.js';
import type { AsyncResult } from '../result/async-result.js';
import type { GroupResult } from '../result/group-result.js';
import { Group } from './group.js';
import { toApplyOptions } from './options.js';
import { Signature, type AnySignature, type CanvasApp, type FreezeOptions } from './signature.js';

/** The mapped task, as a signature or its dict. */
type MappedTask = AnySignature | SignatureDict;

function taskName(task: MappedTask): string {
  return (task as { task: string }).task;
}

abstract class BaseMap<R> extends Signature<R[], AsyncResult<R[]>> {
  constructor(builtin: string, kind: string, task: MappedTask, it: readonly unknown[], options: Record<string, unknown>, app?: CanvasApp) {
    super(builtin, [], { task, it: [...it] }, options, true, app, kind);
  }

  /** @internal */
  override members(): Array<[string, unknown]> {
    return [['mapped task', this.kwargs.task]];
  }

  /** @internal */
  override problem(): string | null {
    return Array.isArray(this.kwargs.it) ? null : `maps over ${typeof this.kwargs.it}, not a list of items.`;
  }

  /** Send one message for the builtin, routed by the mapped task's name and declared routing. */
  override async applyWire(_args: unknown[], _kwargs: Record<string, unknown>, options: Record<string, unknown>, app: CanvasApp): Promise<AsyncResult<R[]>> {
    const kwargs = { task: this.kwargs.task, it: this.kwargs.it };
    const o = toApplyOptions({ ...this.options, ...options });
    const routed = { ...o, routeName: o.routeName ?? taskName(this.kwargs.task as MappedTask) };
    const result = app.tasks.has(this.task)
      ? await app.tasks.get(this.task).applyAsync([], kwargs, routed)
      : await app.sendTask(this.task, [], kwargs, routed);
    return result as AsyncResult<R[]>;
  }
}

/** Call the task once per item, one argument each, in one worker (Celery's xmap, task.map(it)). */
export class XMap<R = unknown> extends BaseMap<R> {
  constructor(task: MappedTask, it: readonly unknown[], options: Record<string, unknown> = {}, app?: CanvasApp) {
    super('celery.map', 'xmap', task, it, options, app);
  }

  protected override rebuild(_args: unknown[], kwargs: Record<string, unknown>, options: Record<string, unknown>): this {
    return new XMap<R>(kwargs.task as MappedTask, kwargs.it as unknown[], options, this.app) as this;
  }
}

/** Call the task once per item, the item spread as its arguments, in one worker (Celery's xstarmap). */
export class XStarmap<R = unknown> extends BaseMap<R> {
  constructor(task: MappedTask, it: readonly unknown[], options: Record<string, unknown> = {}, app?: CanvasApp) {
    super('celery.starmap', 'xstarmap', task, it, options, app);
  }

  protected override rebuild(_args: unknown[], kwargs: Record<string, unknown>, options: Record<string, unknown>): this {
    return new XStarmap<R>(kwargs.task as MappedTask, kwargs.it as unknown[], options, this.app) as this;
  }
}

/**
 * Split argument lists into chunks of `n`, each chunk one `celery.starmap` message, all in one group
 * (Celery's chunks, task.chunks(it, n)); the result is a GroupResult of per-chunk lists.
 */
export class Chunks<R = unknown> extends Signature<R[], GroupResult<R[]>> {
  /** The group this was frozen as, so applying it later keeps the frozen ids. */
  private frozen?: Group<R[]>;

  constructor(task: MappedTask, it: readonly unknown[], n: number, options: Record<string, unknown> = {}, app?: CanvasApp) {
    super('celery.chunks', [], { task, it: [...it], n }, options, true, app, 'chunks');
  }

  /** @internal */
  override members(): Array<[string, unknown]> {
    return [['chunked task', this.kwargs.task]];
  }

  /** @internal */
  override problem(): string | null {
    const n = this.kwargs.n;
    if (!Number.isInteger(n) || (n as number) < 1) return `has chunk size ${JSON.stringify(n)}: give chunks(it, n) a whole number n ≥ 1.`;
    return Array.isArray(this.kwargs.it) ? null : `chunks ${typeof this.kwargs.it}, not a list of argument lists.`;
  }

  /** @internal One part per chunk. */
  override chordSize(): number {
    return Math.ceil((this.kwargs.it as unknown[]).length / (this.kwargs.n as number));
  }

  /** The group of starmaps this stands for (Celery's chunks.group()). */
  group(): Group<R[]> {
    const { task, it, n } = this.kwargs as { task: MappedTask; it: unknown[]; n: number };
    const parts: AnySignature[] = [];
    for (let i = 0; i < it.length; i += n) parts.push(new XStarmap(task, it.slice(i, i + n), {}, this.app));
    return new Group<R[]>(parts, { ...this.options }, this.app);
  }

  override freeze(where: FreezeOptions = {}, app: CanvasApp = this.boundApp()): GroupResult<R[]> {
    this.frozen ??= this.group();
    return this.frozen.freeze(where, app);
  }

  override applyWire(args: unknown[], kwargs: Record<string, unknown>, options: Record<string, unknown>, app: CanvasApp): Promise<GroupResult<R[]>> {
    return (this.frozen ?? this.group()).applyWire(args, kwargs, options, app);
  }

  protected override rebuild(_args: unknown[], kwargs: Record<string, unknown>, options: Record<string, unknown>): this {
    const copy = new Chunks<R>(kwargs.task as MappedTask, kwargs.it as unknown[], kwargs.n as number, options, this.app);
    copy.frozen = this.frozen?.clone();
    return copy as this;
  }
}
