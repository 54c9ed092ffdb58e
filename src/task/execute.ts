// Run one task request (Celery's trace): signals, hooks, the function in its request context, the chain step and
// link callbacks on success, retry/autoretry/backoff. What each outcome writes (the result, a chord part, the rest
// of a chain, errbacks) is the recorder's job: the worker's results.ts, or eager execution's own.

import type { ApplyOptions } from './options.js';
import { EncodeError, Ignore, Reject, Retry, TaskRevokedError, TimeLimitExceeded, type RetryInfo } from '../errors.js';
import { tracebackOf } from '../protocol/exceptions.js';
import type { SignatureDict, TaskMessage } from '../protocol/task-message.js';
import { FAILURE, RETRY, SUCCESS } from '../states.js';
import type { Logger } from '../utils/logger.js';
import type { AbortView } from '../utils/run-abort.js';
import { isThenable, runInContext, type Request } from './context.js';
import type { ExecutableTask, RetryOptions } from './interfaces.js';
import { overridesHook, type HookName } from './hooks.js';

/** What execution needs from its surroundings (the app and, in a worker, the worker). */
export interface ExecutionHost {
  readonly hostname: string;
  /** Publish a task by name (retries); returns its id. */
  send(name: string, args: unknown[], kwargs: Record<string, unknown>, options: ApplyOptions): Promise<string>;
  /**
   * Apply a signature dict from a message (a chain step, callback, errback or chord body: a task or any canvas
   * node, canvas/'s applySignatureDict) with partial `args` prepended unless it is immutable; returns its id.
   */
  apply(sig: SignatureDict, args: unknown[], options: ApplyOptions): Promise<string>;
  /** Where every outcome is recorded. */
  readonly results: OutcomeRecorder;
}

/** The call being executed, as a recorder sees it. */
export interface ExecutedCall {
  readonly task: ExecutableTask;
  readonly message: TaskMessage;
  readonly request: Request;
}

/**
 * Records what a run produced, at the moments Celery's trace does. Each method does its own logging of backend
 * trouble and never throws, except `succeeded` with an EncodeError (the result cannot be stored as configured):
 * the run then fails with it.
 */
export interface OutcomeRecorder {
  /** The function is about to run: STARTED when the task tracks it (undefined when there is nothing to write). */
  started(call: ExecutedCall): Promise<void> | undefined;
  /** It returned (the chain step and callbacks are sent, their ids in `children`): store, count a chord part. */
  succeeded(call: ExecutedCall, result: unknown, children: readonly string[]): Promise<void>;
  /** It raised: store the failure, count a chord part, mark the rest of its chain, call its errbacks. */
  failed(call: ExecutedCall, error: unknown, traceback: string | null, children: readonly string[]): Promise<void>;
  /** It asked for a retry, already sent: store RETRY. */
  retried(call: ExecutedCall, retry: Retry, traceback: string | null): Promise<void>;
}

/** How one execution ended: SUCCESS with its result, FAILURE with the error, RETRY sent, IGNORED, or REJECTED (requeue or not); runtime in ms. */
export type TaskOutcome =
  | { readonly state: typeof SUCCESS; readonly result: unknown; readonly runtimeMs: number }
  | { readonly state: typeof FAILURE; readonly error: unknown; readonly traceback: string | null; readonly runtimeMs: number }
  | { readonly state: typeof RETRY; readonly retry: Retry; readonly runtimeMs: number }
  | { readonly state: 'IGNORED'; readonly runtimeMs: number }
  | { readonly state: 'REJECTED'; readonly requeue: boolean; readonly reason: unknown; readonly runtimeMs: number };

/** One execution: the task, its message and request, where outcomes go, its logger and its abort (revoke, time limits). */
export interface ExecuteInput {
  readonly task: ExecutableTask;
  readonly message: TaskMessage;
  readonly request: Request;
  readonly host: ExecutionHost;
  readonly logger: Logger;
  readonly abort?: AbortView;
  /** Ends the run as TimeLimitExceeded (aborting `abort`) when its hard limit has passed; asked when the function returns. */
  readonly overdue?: () => boolean;
  /** Told how long (ms) the task function's synchronous run held the event loop (in-process pools only). */
  readonly reportHeldLoop?: (call: ExecutedCall, ms: number) => void;
}

/** Execute a request end to end. Never rejects: every error becomes an outcome (storing errors are logged). */
export async function executeTask(input: ExecuteInput): Promise<TaskOutcome> {
  const { task, request, message, host, logger } = input;
  const started = performance.now();
  const children: string[] = [];
  const elapsed = () => performance.now() - started;
  const args = request.args;
  const kwargs = request.kwargs;
  try {
    if (task.app.signals.has('task_prerun')) await task.app.signals.send('task_prerun', { name: task.name, taskId: request.id, args, kwargs, request });
    // The hot path awaits only what is there: each await of nothing still costs a promise and a turn of the queue.
    const starting = host.results.started(input);
    if (starting) await starting;
    if (overridesHook(task, 'beforeStart')) await task.beforeStart(request.id, args, kwargs);
    const invokedAt = input.reportHeldLoop ? performance.now() : 0;
    const pending = runInContext({ request, taskName: task.name, children }, () => task.invoke(request, args, kwargs, input.abort, logger), task.fn);
    input.reportHeldLoop?.(input, performance.now() - invokedAt);
    const result = isThenable(pending) ? await pending : pending;
    const runtimeMs = elapsed();
    if (abandoned(input)) return { state: FAILURE, error: input.abort!.reason, traceback: null, runtimeMs };
    try {
      if (message.embed.chain?.length || request.callbacks?.length) await sendSuccessors(input, result, children);
      await host.results.succeeded(input, result, children);
    } catch (error) {
      // Celery: a result (or a successor carrying it) that cannot be encoded fails the task, not the worker.
      if (EncodeError.is(error)) return postrun(input, await fail(input, error, children, elapsed()));
      throw error;
    }
    if (overridesHook(task, 'onSuccess')) await hook(logger, 'onSuccess', () => task.onSuccess(result, request.id, args, kwargs));
    if (overridesHook(task, 'afterReturn')) await hook(logger, 'afterReturn', () => task.afterReturn(SUCCESS, result, request.id, args, kwargs, null));
    return postrun(input, { state: SUCCESS, result, runtimeMs });
  } catch (thrown) {
    if (abandoned(input)) return { state: FAILURE, error: input.abort!.reason, traceback: null, runtimeMs: elapsed() };
    return postrun(input, await handleError(input, autoretry(task, request, thrown), children, elapsed));
  }
}

/** task_success / task_failure / task_retry, then task_postrun, as Celery sends them; the outcome as it is when nobody listens. */
function postrun(input: ExecuteInput, outcome: TaskOutcome): TaskOutcome | Promise<TaskOutcome> {
  const signals = input.task.app.signals;
  // The hot path of a worker: nothing is built (not even a promise) for signals nobody listens to.
  if (!signals.has('task_success') && !signals.has('task_failure') && !signals.has('task_retry') && !signals.has('task_postrun')) return outcome;
  return sendPostrun(input, outcome);
}

async function sendPostrun(input: ExecuteInput, outcome: TaskOutcome): Promise<TaskOutcome> {
  const { task, request } = input;
  const signals = task.app.signals;
  const base = { name: task.name, taskId: request.id };
  if (outcome.state === SUCCESS) await signals.send('task_success', { ...base, result: outcome.result });
  else if (outcome.state === FAILURE) await signals.send('task_failure', { ...base, error: outcome.error, traceback: outcome.traceback });
  else if (outcome.state === RETRY) await signals.send('task_retry', { ...base, reason: outcome.retry.info.exc ?? outcome.retry });
  const retval = outcome.state === SUCCESS ? outcome.result : outcome.state === FAILURE ? outcome.error : null;
  await signals.send('task_postrun', { ...base, args: request.args, kwargs: request.kwargs, state: outcome.state, retval });
  return outcome;
}

/** The worker already ended this run (hard time limit, terminate): whatever the abandoned task does later records nothing. */
function abandoned(input: ExecuteInput): boolean {
  input.overdue?.();
  const reason = input.abort?.aborted ? input.abort.reason : undefined;
  return reason instanceof TimeLimitExceeded || reason instanceof TaskRevokedError;
}

/** With autoretryFor, turn a matching error into a Retry (or the final error once retries are exhausted). */
function autoretry(task: ExecutableTask, request: Request, error: unknown): unknown {
  const classes = task.options.autoretryFor;
  if (!classes?.length || error instanceof Retry || !classes.some((c) => error instanceof c)) return error;
  const retryKwargs: RetryOptions = { ...(task.options.retryKwargs ?? {}) };
  if (task.options.retryBackoff) {
    const base = task.options.retryBackoff === true ? 1 : Number(task.options.retryBackoff);
    const max = task.options.retryBackoffMax ?? 600;
    let countdown = Math.min(max, base * 2 ** request.retries);
    if (task.options.retryJitter ?? true) countdown = Math.floor(Math.random() * (countdown + 1));
    retryKwargs.countdown = countdown;
  }
  try {
    const bound = Object.create(task, { request: { value: request } }) as ExecutableTask;
    return bound.retry({ ...retryKwargs, exc: error });
  } catch (outcome) {
    return outcome;
  }
}

async function handleError(input: ExecuteInput, error: unknown, children: string[], elapsed: () => number): Promise<TaskOutcome> {
  const { task, request, logger } = input;
  if (error instanceof Retry) {
    try {
      await sendRetry(input, error.info);
      const traceback = tracebackOf(error.info.exc ?? error);
      await input.host.results.retried(input, error, traceback);
      if (overridesHook(task, 'onRetry')) await hook(logger, 'onRetry', () => task.onRetry(error.info.exc ?? error, request.id, request.args, request.kwargs, traceback));
      return { state: RETRY, retry: error, runtimeMs: elapsed() };
    } catch (sendError) {
      return fail(input, sendError, children, elapsed());
    }
  }
  if (error instanceof Ignore) return { state: 'IGNORED', runtimeMs: elapsed() };
  if (error instanceof Reject) return { state: 'REJECTED', requeue: error.requeue, reason: error.reason, runtimeMs: elapsed() };
  return fail(input, error, children, elapsed());
}

async function fail(input: ExecuteInput, error: unknown, children: string[], runtimeMs: number): Promise<TaskOutcome> {
  const { task, request, logger } = input;
  const traceback = tracebackOf(error);
  await input.host.results.failed(input, error, traceback, children);
  if (overridesHook(task, 'onFailure')) await hook(logger, 'onFailure', () => task.onFailure(error, request.id, request.args, request.kwargs, traceback));
  if (overridesHook(task, 'afterReturn')) await hook(logger, 'afterReturn', () => task.afterReturn(FAILURE, error, request.id, request.args, request.kwargs, traceback));
  return { state: FAILURE, error, traceback, runtimeMs };
}

/** The chain's next step, then the link callbacks, each sent with the result; their ids become the result's children. */
async function sendSuccessors(input: ExecuteInput, result: unknown, children: string[]): Promise<void> {
  const { request, message } = input;
  // Chain: the next step is the LAST element; it is sent before this result is stored (REDIS-WIRE.md §7.1).
  const chain = message.embed.chain;
  if (chain && chain.length > 0) {
    const next = chain[chain.length - 1]!;
    const id = await sendSignature(input.host, request, next, [result], { chain: chain.slice(0, -1) });
    children.push(id);
  }
  for (const cb of request.callbacks ?? []) {
    children.push(await sendSignature(input.host, request, cb, [result]));
  }
}

/** Resend the task for a retry: same id, retries + 1, parent = itself, same queue (REDIS-WIRE.md §9). */
async function sendRetry(input: ExecuteInput, info: RetryInfo): Promise<void> {
  const { request, message, task } = input;
  const o = (info.retryOptions ?? {}) as RetryOptions;
  await input.host.send(task.name, o.args ?? request.args, o.kwargs ?? request.kwargs, {
    taskId: request.id,
    retries: request.retries + 1,
    ...(info.eta ? { eta: info.eta } : { countdown: info.countdown ?? 0 }),
    parentId: request.id,
    rootId: request.root_id,
    groupId: request.group,
    groupIndex: request.group_index,
    chain: message.embed.chain,
    chord: message.embed.chord,
    link: (message.embed.callbacks ?? []).map((d) => ({ toDict: () => d })),
    linkError: (message.embed.errbacks ?? []).map((d) => ({ toDict: () => d })),
    ...retryRoute(o, request),
    priority: o.priority ?? request.delivery_info?.priority,
    timeLimit: request.timelimit[0] ?? undefined,
    softTimeLimit: request.timelimit[1] ?? undefined,
    expires: request.expires ?? undefined,
    headers: message.customHeaders,
    stampedHeaders: message.stampedHeaders ?? null,
    stamps: message.stamps,
    ignoreResult: message.ignoreResult,
    // Celery's retry keeps reply_to (as_execution_options), so an rpc:// sender still gets the result.
    replyTo: request.reply_to ?? undefined,
    extraProperties: { replaced_task_nesting: 0, origin: message.origin },
  });
}

/**
 * Where a retry goes (Celery's signature_from_request): the queue asked for, else back where the task came from —
 * the queue named by the routing key on the default exchange, or the same exchange and routing key.
 */
function retryRoute(o: RetryOptions, request: Request): ApplyOptions {
  if (o.queue) return { queue: o.queue };
  const info = request.delivery_info;
  if (!info?.routing_key) return {};
  return info.exchange ? { exchange: info.exchange, routingKey: info.routing_key } : { queue: info.routing_key };
}

/**
 * Apply a signature dict (a chain step, callback, errback or chord body; any canvas node) as a child of `parent`,
 * with partial `args` prepended unless it is immutable; `extra` options win over its own. Returns its id.
 */
export function sendSignature(host: Pick<ExecutionHost, 'apply'>, parent: Pick<Request, 'id' | 'root_id'>, sig: SignatureDict, args: unknown[], extra: ApplyOptions = {}): Promise<string> {
  return host.apply(sig, args, { parentId: parent.id, rootId: parent.root_id ?? parent.id, ...extra });
}

/** Call a hook the task overrides (callers check overridesHook: the no-op defaults cost nothing); errors are logged. */
async function hook(logger: Logger, name: HookName, fn: () => void | Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    logger.error({ err: error }, `Task hook ${name} raised: ${(error as Error).message}`);
  }
}
