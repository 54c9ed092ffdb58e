// chain: steps run one after another, each getting the previous result (REDIS-WIRE.md §7.1). ONE message is
// sent, for the first step, carrying the rest reversed in `chain`; a group followed by a step becomes a chord
// whose body is that step; nested chains are spliced in. The result is the last step's, with `parent` links.

import type { AsyncResult, ResultHandle } from '../result/async-result.js';
import { Chord } from './chord.js';
import { bind, Group, maybeUnroll } from './group.js';
import { asList } from './options.js';
import { Signature, type AnySignature, type CanvasApp, type FreezeOptions } from './signature.js';

/** Where the last step of a chain sits and what every step shares (Celery's prepare_steps arguments). */
interface StepPlan extends FreezeOptions {
  linkError?: unknown[];
}

/**
 * Steps run in order (Celery's chain); its dict is `{task: 'celery.chain', kwargs: {tasks: [...]}}`. `H` is the
 * last step's result handle: an AsyncResult, or a GroupResult when the chain ends in a group.
 */
export class Chain<R = unknown, H extends ResultHandle = AsyncResult<R>> extends Signature<R, H> {
  constructor(tasks: readonly AnySignature[] = [], options: Record<string, unknown> = {}, app?: CanvasApp) {
    super('celery.chain', [], { tasks: [...tasks] }, options, false, app, 'chain');
  }

  /** The steps, in order. */
  get tasks(): AnySignature[] {
    return this.kwargs.tasks as AnySignature[];
  }

  /** @internal */
  override members(): Array<[string, unknown]> {
    return this.tasks.map((t, i) => [`chain step ${i}`, t]);
  }

  /** @internal */
  override problem(): string | null {
    return this.tasks.length ? null : 'is an empty chain: give chain() at least one signature.';
  }

  /** @internal In a chord header a chain reports through its last step that reports (Celery's _descend). */
  override chordSize(): number {
    for (let i = this.tasks.length - 1; i >= 0; i--) {
      const size = this.tasks[i]!.chordSize();
      if (size > 0) return size;
    }
    return 0;
  }

  /** Pre-allocate every step's id; the last step takes the chain's place (id, group, chord). */
  override freeze(where: FreezeOptions = {}, app: CanvasApp = this.boundApp()): H {
    const { steps, results } = prepareSteps(this.args, {}, this.tasks, where, app);
    this.kwargs.tasks = steps.reverse();
    this.args = [];
    return results[0] as H;
  }

  /**
   * Send the first step with the others in its `chain` option. Of the given options `task_id`, `group_id`,
   * `group_index`, `chord` and `link` go to the last step, `link_error` to every step, the rest to the first.
   */
  override async applyWire(args: unknown[], kwargs: Record<string, unknown>, options: Record<string, unknown>, app: CanvasApp): Promise<H> {
    const { task_id: lastId, group_id: groupId, group_index: groupIndex, chord, link, link_error: linkError, ...rest } = { ...this.options, ...options };
    const partial = args.length && !this.immutable ? [...args, ...this.args] : this.args;
    if (app.conf.get('task_always_eager')) return this.applyEagerly(partial, kwargs, rest, app);
    const { steps, results } = prepareSteps(partial, kwargs, this.tasks, {
      id: lastId as string | undefined,
      groupId: groupId as string | undefined,
      groupIndex: groupIndex as number | undefined,
      chord: chord as FreezeOptions['chord'],
      rootId: rest.root_id as string | undefined,
      linkError: asList(linkError),
    }, app);
    for (const l of asList(link)) steps[0]!.link(l as AnySignature);
    const first = steps.pop()!;
    const pending = [...asList(rest.chain), ...steps];
    delete rest.chain;
    const applied = await first.applyWire([], {}, pending.length ? { ...rest, chain: pending } : rest, app);
    return (steps.length ? results[0] : applied) as H;
  }

  /**
   * task_always_eager (Celery's chain.apply): run the steps here one by one, each given the previous value; a
   * failure stops the chain and is rethrown. The last step's eager result is returned, parents linked.
   */
  private async applyEagerly(args: unknown[], kwargs: Record<string, unknown>, options: Record<string, unknown>, app: CanvasApp): Promise<H> {
    delete options.chain;
    let last: ResultHandle | null = null;
    for (const [i, step] of this.tasks.entries()) {
      const previous = last ? [await last.get()] : [];
      const result: ResultHandle = await bind(i === 0 ? step.clone(args, kwargs) : step.clone(), app).applyWire(previous, {}, options, app);
      result.parent = last;
      last = result;
    }
    return last as H;
  }

  protected override rebuild(args: unknown[], kwargs: Record<string, unknown>, options: Record<string, unknown>): this {
    const copy = new Chain<R, H>(((kwargs.tasks as AnySignature[]) ?? []).map((t) => t.clone()), options, this.app);
    copy.args = args;
    return copy as this;
  }
}

/**
 * Clone and freeze the steps from last to first (Celery's prepare_steps): partial args go to the first step,
 * nested chains are spliced, `group → step` becomes a chord, each result's parent is the step before.
 * Returns the steps and results both reversed (last step first), the order of the wire `chain` option.
 */
function prepareSteps(args: unknown[], kwargs: Record<string, unknown>, tasks: readonly AnySignature[], plan: StepPlan, app: CanvasApp): { steps: AnySignature[]; results: ResultHandle[] } {
  const pending = [...tasks];
  const steps: AnySignature[] = [];
  const results: ResultHandle[] = [];
  let prev: AnySignature | null = null;
  let prevResult: ResultHandle | null = null;
  while (pending.length) {
    const isFirst = pending.length === 1;
    const original = maybeUnroll(pending.pop()!);
    if (original instanceof Chain) {
      pending.push(...original.tasks);
      continue;
    }
    let step = bind(isFirst ? original.clone(args, kwargs) : original.clone(), app);
    if (step instanceof Group && prev) {
      steps.pop();
      results.pop();
      step = new Chord(step, prev, {}, app);
    }
    const result = results.length === 0 && !prev
      ? step.freeze({ id: plan.id, rootId: plan.rootId, groupId: plan.groupId, chord: plan.chord, groupIndex: plan.groupIndex }, app)
      : step.freeze({ rootId: plan.rootId }, app);
    if (prevResult && !prevResult.parent) prevResult.parent = result;
    for (const errback of plan.linkError ?? []) step.linkError(errback as AnySignature);
    steps.push(step);
    results.push(result);
    prev = step;
    prevResult = step instanceof Chord ? rootOf(result) : result;
  }
  return { steps, results };
}

/** The header result a chord's body result descends from. */
function rootOf(result: ResultHandle): ResultHandle {
  let node = result;
  for (let i = 0; node.parent && i < 1000; i++) node = node.parent;
  return node;
}
