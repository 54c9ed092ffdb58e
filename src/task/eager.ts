// Eager execution (Celery's apply() and task_always_eager): the full execution path in this process, with
// request.is_eager set, nothing published for the task itself, and retries run again in place.

import type { ApplyOptions } from './options.js';
import type { ResultBackend } from '../backends/backend.js';
import type { Retry } from '../errors.js';
import { exceptionToDoc } from '../protocol/exceptions.js';
import { buildResultMeta, type ResultMeta } from '../protocol/result-meta.js';
import { EMPTY_EMBED } from '../protocol/task-message.js';
import { EagerResult } from '../result/async-result.js';
import { FAILURE, RETRY, STARTED, SUCCESS } from '../states.js';
import { uuid } from '../utils/ids.js';
import type { Logger } from '../utils/logger.js';
import { wireTimeToSend } from '../utils/wire-time.js';
import { directRequest } from './context.js';
import { applySignatureDict } from '../canvas/index.js';
import { callErrbacks, type ErrbackHost } from './errbacks.js';
import { executeTask, type ExecutedCall, type ExecutionHost, type OutcomeRecorder } from './execute.js';
import type { ExecutableTask } from './interfaces.js';

/**
 * Run a task here through the full execution path (Celery's Task.apply): retries, hooks, errbacks and, with
 * task_store_eager_result, stored results. Resolves with an EagerResult; rethrows with task_eager_propagates.
 */
export async function executeEagerly(task: ExecutableTask, args: unknown[], kwargs: Record<string, unknown>, options: ApplyOptions): Promise<EagerResult> {
  const app = task.app;
  const id = options.taskId ?? uuid();
  const storeResult = Boolean(app.conf.get('task_store_eager_result'));
  const backend = storeResult ? await app.getBackend() : null;
  const send: ExecutionHost['send'] = (name, a, k, o) => app.sendTask(name, a, k, o).then((r) => r.id);
  const apply: ExecutionHost['apply'] = (sig, a, o) => applySignatureDict(app, sig, { args: a, options: o }).then((r) => r.id);
  const logger = app.log.taskLogger(task.name, id);
  const host: ExecutionHost = { hostname: 'eager', send, apply, results: new EagerRecorder(backend, { apply, tasks: app.tasks, logger }) };
  for (let retries = options.retries ?? 0; ; retries++) {
    const errbacks = options.linkError ? [options.linkError].flat().map((s) => s.toDict()) : null;
    const request = {
      ...directRequest(task.name, args, kwargs, id),
      called_directly: false,
      is_eager: true,
      retries,
      eta: options.eta ? wireTimeToSend(options.eta, 'eta', 'UTC') : null,
      callbacks: options.link ? [options.link].flat().map((s) => s.toDict()) : null,
      errbacks,
      errback: errbacks,
      headers: options.headers ?? null,
      ...(options.headers ?? {}),
    };
    const message = {
      id, task: task.name, args, kwargs, embed: { ...EMPTY_EMBED, callbacks: request.callbacks, errbacks: request.errbacks },
      eta: request.eta, expires: null, retries, group: null, groupIndex: null, rootId: id, parentId: null,
      timelimit: [null, null] as [null, null], shadow: null, origin: null, ignoreResult: Boolean(options.ignoreResult),
      argsrepr: null, kwargsrepr: null, replyTo: null, correlationId: id, customHeaders: options.headers ?? {}, protocol: 2 as const,
    };
    const outcome = await executeTask({ task, message, request, host, logger });
    if (outcome.state === RETRY) continue;
    if (outcome.state === SUCCESS) return new EagerResult(id, buildResultMeta({ taskId: id, status: SUCCESS, result: outcome.result }), task.name);
    if (outcome.state === FAILURE) {
      if (app.conf.get('task_eager_propagates')) throw outcome.error;
      return new EagerResult(id, buildResultMeta({ taskId: id, status: FAILURE, result: exceptionToDoc(outcome.error), traceback: outcome.traceback }), task.name, outcome.error);
    }
    return new EagerResult(id, buildResultMeta({ taskId: id, status: outcome.state, result: null }), task.name);
  }
}

/**
 * What an eager run records (Celery's eager trace): results only with task_store_eager_result (failures of tasks
 * that ignore results only with store_errors_even_if_ignored), and a failure's errbacks. No chord or chain
 * bookkeeping: eager canvas runs its steps in place.
 */
class EagerRecorder implements OutcomeRecorder {
  constructor(private readonly backend: ResultBackend | null, private readonly errbacks: ErrbackHost) {}

  async started(call: ExecutedCall): Promise<void> {
    const { task } = call;
    if (task.options.trackStarted ?? task.app.conf.get('task_track_started')) await this.store(call, STARTED, { pid: process.pid, hostname: 'eager' }, null);
  }

  async succeeded(call: ExecutedCall, result: unknown): Promise<void> {
    if (!ignoresResult(call)) await this.store(call, SUCCESS, result, null, new Date());
  }

  async failed(call: ExecutedCall, error: unknown, traceback: string | null): Promise<void> {
    if (storesErrors(call)) await this.store(call, FAILURE, exceptionToDoc(error), traceback, new Date());
    await callErrbacks(this.errbacks, call.request.errbacks, { request: call.request, error, traceback });
  }

  async retried(call: ExecutedCall, retry: Retry, traceback: string | null): Promise<void> {
    if (storesErrors(call)) await this.store(call, RETRY, retry.info.exc === undefined ? null : exceptionToDoc(retry.info.exc), traceback);
  }

  private async store(call: ExecutedCall, status: string, result: unknown, traceback: string | null, dateDone: Date | null = null): Promise<void> {
    if (!this.backend) return;
    const meta: ResultMeta = buildResultMeta({ taskId: call.request.id, status, result, traceback, dateDone });
    await this.backend.store(meta.task_id, meta).catch((e) => logFailure(this.errbacks.logger, meta, e));
  }
}

function ignoresResult(call: ExecutedCall): boolean {
  return Boolean(call.message.ignoreResult || (call.task.options.ignoreResult ?? call.task.app.conf.get('task_ignore_result')));
}

function storesErrors(call: ExecutedCall): boolean {
  const { task } = call;
  return !(task.options.ignoreResult ?? task.app.conf.get('task_ignore_result')) || Boolean(task.options.storeErrorsEvenIfIgnored ?? task.app.conf.get('task_store_errors_even_if_ignored'));
}

function logFailure(logger: Logger, meta: ResultMeta, error: unknown): void {
  logger.error(`Could not store the ${meta.status} result of eager task ${meta.task_id}: ${(error as Error).message}`);
}
