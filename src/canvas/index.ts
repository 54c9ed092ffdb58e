// The canvas as users build it: signature(), chain(), group(), chord(), chunks(), xmap(), xstarmap(), the names
// of Celery's celery.canvas. Each returns a Signature subclass, so any of them nests inside any other. Also the
// room's door for app/, task/ and worker/: the builtins, applying wire dicts, replace, failing a chord body.

import type { SignatureDict } from '../protocol/task-message.js';
import type { AsyncResult, ResultHandle } from '../result/async-result.js';
import { Chain } from './chain.js';
import { Chord } from './chord.js';
import { Chunks, XMap, XStarmap } from './chunks.js';
import { Group } from './group.js';
import { Signature, type AnySignature, type CanvasApp } from './signature.js';
import { applySignatureDict, signatureFromDict } from './wire.js';

export { Signature, Chain, Group, Chord, Chunks, XMap, XStarmap };
export type { AnySignature, CanvasApp };
export { applySignatureDict, signatureFromDict };
export { registerBuiltins, BUILTIN_TASK_NAMES, type BuiltinApp } from './builtins.js';
export { replaceTask } from './replace.js';
export { failChordBody } from './chord-error.js';

/** Members given one by one or as one list (Celery accepts both). */
type Members = Array<AnySignature | readonly AnySignature[]>;

/**
 * A signature (Celery's signature()): from a task name, or from a signature dict (any subtask_type), or a copy
 * of a signature. Bind it to `app` to send it; signatures from task.s() are bound already.
 */
export function signature<R = unknown>(task: string | SignatureDict | AnySignature, args: unknown[] = [], kwargs: Record<string, unknown> = {}, options: Record<string, unknown> = {}, app?: CanvasApp): Signature<R> {
  if (task instanceof Signature) {
    const copy = task.clone() as Signature<R>;
    copy.app ??= app;
    return copy;
  }
  if (typeof task === 'object') {
    if (!app) throw new TypeError('signature(dict) needs the app to bind the signature to: signature(dict, [], {}, {}, app).');
    return signatureFromDict(task, app) as Signature<R>;
  }
  return new Signature<R>(task, args, kwargs, options, false, app);
}

/** Steps run one after another, each getting the previous result (Celery's chain). */
export function chain<R = unknown, H extends ResultHandle = AsyncResult<R>>(...tasks: Members): Chain<R, H> {
  return new Chain<R, H>(tasks.flat());
}

/** Signatures run in parallel; the result is a GroupResult in member order (Celery's group). */
export function group<R = unknown>(...tasks: Members): Group<R> {
  return new Group<R>(tasks.flat());
}

/** A group whose results, once all succeed, go as one list to `body` (Celery's chord). */
export function chord<R = unknown>(header: readonly AnySignature[] | Group, body: AnySignature): Chord<R> {
  return new Chord<R>(header, body);
}

/** `task` over argument lists in chunks of `n`, one message per chunk, as a group (Celery's chunks). */
export function chunks<R = unknown>(task: AnySignature, it: readonly unknown[][], n: number): Chunks<R> {
  return new Chunks<R>(task, it, n, {}, task.app);
}

/** `task` called once per item, in one worker (Celery's xmap). */
export function xmap<R = unknown>(task: AnySignature, it: readonly unknown[]): XMap<R> {
  return new XMap<R>(task, it, {}, task.app);
}

/** `task` called once per argument list, spread, in one worker (Celery's xstarmap). */
export function xstarmap<R = unknown>(task: AnySignature, it: readonly unknown[][]): XStarmap<R> {
  return new XStarmap<R>(task, it, {}, task.app);
}
