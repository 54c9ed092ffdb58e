// link_error: call a failed task's errbacks as Celery does. An errback whose task is registered here and whose
// function takes more than one argument (bind's self not counted) is called in this process with
// (request, error, traceback); every other errback is sent as a task with the failed task's id as first argument,
// all of them together as one new group. Never throws: an errback that cannot run is logged.

import type { SignatureDict } from '../protocol/task-message.js';
import { uuid } from '../utils/ids.js';
import type { Logger } from '../utils/logger.js';
import { directRequest, runInContext, type Request } from './context.js';
import { sendSignature, type ExecutionHost } from './execute.js';

/** A registered task, as far as calling it here as an errback needs (the app's Task is one). */
export interface ErrbackTask {
  readonly name: string;
  /** Its function: the declared parameter count decides how it is called. */
  readonly fn: { readonly length: number };
  readonly options: { readonly bind?: boolean };
  invoke(request: Request, args: unknown[], kwargs: Record<string, unknown>): unknown;
}

/** What calling errbacks needs: applying signatures, the registered tasks (for in-process errbacks) and a logger. */
export interface ErrbackHost {
  apply: ExecutionHost['apply'];
  readonly tasks: { has(name: string): boolean; get(name: string): ErrbackTask };
  readonly logger: Logger;
}

/** The failed task as its errbacks see it: its request (id, root_id …), the error and its traceback text. */
export interface FailedCall {
  readonly request: Request;
  readonly error: unknown;
  readonly traceback: string | null;
}

/**
 * Call `errbacks` for a failure. Sent errbacks get `(failed id, ...their own args)` unless immutable, with
 * parent_id = the failed id and its root_id, in one fresh group (Celery's group(errbacks).apply_async((id,))).
 */
export async function callErrbacks(host: ErrbackHost, errbacks: readonly SignatureDict[] | null | undefined, failed: FailedCall): Promise<void> {
  if (!errbacks?.length) return;
  const { request } = failed;
  const sent: SignatureDict[] = [];
  for (const sig of errbacks) {
    const task = host.tasks.has(sig.task) ? host.tasks.get(sig.task) : null;
    if (task && takesRequest(task)) await callHere(host, task, sig, failed);
    else sent.push(sig);
  }
  if (sent.length === 0) return;
  const groupId = uuid();
  for (const sig of sent) {
    try {
      await sendSignature(host, request, sig, [request.id], { groupId, groupIndex: null });
    } catch (error) {
      host.logger.error({ err: error }, `Could not send errback ${sig.task} of task ${request.id}: ${(error as Error).message}`);
    }
  }
}

/** Celery calls an errback in place when its function's arity is greater than one (the new-style errback). */
function takesRequest(task: ErrbackTask): boolean {
  return task.fn.length - (task.options.bind ? 1 : 0) > 1;
}

async function callHere(host: ErrbackHost, task: ErrbackTask, sig: SignatureDict, failed: FailedCall): Promise<void> {
  const args = sig.immutable ? (sig.args ?? []) : [failed.request, failed.error, failed.traceback, ...(sig.args ?? [])];
  const kwargs = sig.kwargs ?? {};
  // As Celery's signature __call__: a direct call with its own request (called_directly), nothing stored.
  const own = directRequest(task.name, args, kwargs, uuid());
  try {
    await runInContext({ request: own, taskName: task.name, children: [] }, () => task.invoke(own, args, kwargs));
  } catch (error) {
    host.logger.error({ err: error }, `Errback ${task.name} of task ${failed.request.id} raised: ${(error as Error).message}`);
  }
}
