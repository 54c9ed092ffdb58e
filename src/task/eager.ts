// Eager execution (Celery's apply() and task_always_eager): the full execution path in this process, with
// request.is_eager set, nothing published for the task itself, and retries run again in place.

import type { ApplyOptions } from '../app/producer.js';
import { exceptionToDoc } from '../protocol/exceptions.js';
import { buildResultMeta } from '../protocol/result-meta.js';
import { EMPTY_EMBED } from '../protocol/task-message.js';
import { EagerResult } from '../result/async-result.js';
import { FAILURE, RETRY, SUCCESS } from '../states.js';
import { uuid } from '../utils/ids.js';
import { wireTimeToSend } from '../utils/wire-time.js';
import { directRequest } from './context.js';
import { executeTask } from './execute.js';
import type { Task } from './task.js';

export async function executeEagerly(task: Task, args: unknown[], kwargs: Record<string, unknown>, options: ApplyOptions): Promise<EagerResult> {
  const app = task.app;
  const id = options.taskId ?? uuid();
  const storeResult = Boolean(app.conf.get('task_store_eager_result'));
  const backend = storeResult ? await app.getBackend() : null;
  const host = {
    hostname: 'eager',
    setting: (name: string) => app.conf.get(name),
    backend,
    send: (name: string, a: unknown[], k: Record<string, unknown>, o: ApplyOptions) => app.sendTask(name, a, k, o).then((r) => r.id),
  };
  for (let retries = options.retries ?? 0; ; retries++) {
    const request = {
      ...directRequest(task.name, args, kwargs, id),
      called_directly: false,
      is_eager: true,
      retries,
      eta: options.eta ? wireTimeToSend(options.eta, 'eta', 'UTC') : null,
      callbacks: options.link ? [options.link].flat().map((s) => s.toDict()) : null,
      errbacks: options.linkError ? [options.linkError].flat().map((s) => s.toDict()) : null,
      headers: options.headers ?? null,
      ...(options.headers ?? {}),
    };
    const message = {
      id, task: task.name, args, kwargs, embed: { ...EMPTY_EMBED, callbacks: request.callbacks, errbacks: request.errbacks },
      eta: request.eta, expires: null, retries, group: null, groupIndex: null, rootId: id, parentId: null,
      timelimit: [null, null] as [null, null], shadow: null, origin: null, ignoreResult: Boolean(options.ignoreResult),
      argsrepr: null, kwargsrepr: null, replyTo: null, correlationId: id, customHeaders: options.headers ?? {}, protocol: 2 as const,
    };
    const outcome = await executeTask({ task, message, request, host, logger: app.log.taskLogger(task.name, id) });
    if (outcome.state === RETRY) continue;
    if (outcome.state === SUCCESS) return new EagerResult(id, buildResultMeta({ taskId: id, status: SUCCESS, result: outcome.result }), task.name);
    if (outcome.state === FAILURE) {
      if (app.conf.get('task_eager_propagates')) throw outcome.error;
      return new EagerResult(id, buildResultMeta({ taskId: id, status: FAILURE, result: exceptionToDoc(outcome.error), traceback: outcome.traceback }), task.name, outcome.error);
    }
    return new EagerResult(id, buildResultMeta({ taskId: id, status: outcome.state, result: null }), task.name);
  }
}
