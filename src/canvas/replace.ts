// Task.replace (Celery's self.replace(sig)): the running task hands its place to a signature, which inherits its
// id, group, chord, callbacks, errbacks and the rest of its chain; the task itself ends with Ignore.

import { Ignore, ImproperlyConfigured } from '../errors.js';
import type { Request } from '../task/context.js';
import { Chain } from './chain.js';
import { Chord } from './chord.js';
import { Group } from './group.js';
import { Signature, type AnySignature, type CanvasApp } from './signature.js';
import { signatureFromDict } from './wire.js';

/**
 * Send `sig` in place of the task running `request`, then throw Ignore('Replaced by new task'). A group is
 * wrapped in a chord with celery.accumulate, so the replaced task's result is the list of the group's results.
 * Throws ImproperlyConfigured when `sig` is itself part of a chord or is an empty chain.
 */
export async function replaceTask(app: CanvasApp, request: Request, sig: AnySignature): Promise<never> {
  if (sig.options.chord !== undefined && sig.options.chord !== null) {
    throw new ImproperlyConfigured(`Task ${request.task}[${request.id}] cannot be replaced by a signature that is part of a chord. Replace it with the chord itself.`, { context: { taskId: request.id } });
  }
  if (sig instanceof Chain && sig.tasks.length === 0) {
    throw new ImproperlyConfigured(`Task ${request.task}[${request.id}] cannot be replaced by an empty chain.`, { context: { taskId: request.id } });
  }
  let node: AnySignature = sig instanceof Group ? new Chord(sig, new Signature('celery.accumulate', [], { index: 0 }, {}, false, app), {}, app) : sig.clone();
  for (const callback of request.callbacks ?? []) node.link(signatureFromDict(callback, app));
  for (const errback of request.errbacks ?? []) node.linkError(signatureFromDict(errback, app));
  if (node instanceof Chain && node.options.link !== undefined) {
    const last = node.tasks[node.tasks.length - 1]!;
    for (const l of [node.options.link].flat()) last.link(l as AnySignature);
    delete node.options.link;
  }
  node.freeze({ id: request.id }, app);
  node.set({
    chord: request.chord, group_id: request.group, group_index: request.group_index, root_id: request.root_id,
    replaced_task_nesting: Number(request.replaced_task_nesting ?? 0) + 1,
  });
  const rest = [...(request.chain ?? [])].reverse().map((d) => signatureFromDict(d, app));
  if (rest.length) node = new Chain([node, ...rest], {}, app);
  await node.applyAsync();
  throw new Ignore('Replaced by new task');
}
