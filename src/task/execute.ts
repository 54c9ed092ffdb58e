// Run one task request: states, result storing, retry/autoretry/backoff, chain and callbacks on success,
// errbacks on failure, chord parts. Shared by the worker and eager execution (Celery's trace module).

import type { ApplyOptions } from '../app/producer.js';
import type { ChordPart, ResultBackend } from '../backends/backend.js';
import { backoffMs, sleep } from '../utils/backoff.js';
import { Ignore, Reject, Retry, TaskRevokedError, TimeLimitExceeded, type RetryInfo } from '../errors.js';
import { exceptionToDoc, tracebackOf } from '../protocol/exceptions.js';
import { buildResultMeta, type ResultMeta } from '../protocol/result-meta.js';
import type { SignatureDict, TaskMessage } from '../protocol/task-message.js';
import { applyOptionsFromDict } from '../canvas/signature.js';
import { FAILURE, RETRY, STARTED, SUCCESS } from '../states.js';
import type { Logger } from '../utils/logger.js';
import { runInContext, type Request } from './context.js';
import type { Task, RetryOptions } from './task.js';
import { overridesHook, type HookName } from './hooks.js';

/** What execution needs from its surroundings (the app and, in a worker, the worker). */
export interface ExecutionHost {
  readonly hostname: string;
  setting(name: string): unknown;
  /** null when no result backend is configured: nothing is stored. */
  backend: ResultBackend | null;
  /** Publish a task (callbacks, chain steps, retries, chord bodies); returns its id. */
  send(name: string, args: unknown[], kwargs: Record<string, unknown>, options: ApplyOptions): Promise<string>;
}

export type TaskOutcome =
  | { readonly state: typeof SUCCESS; readonly result: unknown; readonly runtimeMs: number }
  | { readonly state: typeof FAILURE; readonly error: unknown; readonly traceback: string | null; readonly runtimeMs: number }
  | { readonly state: typeof RETRY; readonly retry: Retry; readonly runtimeMs: number }
  | { readonly state: 'IGNORED'; readonly runtimeMs: number }
  | { readonly state: 'REJECTED'; readonly requeue: boolean; readonly reason: unknown; readonly runtimeMs: number };

export interface ExecuteInput {
  readonly task: Task;
  readonly message: TaskMessage;
  readonly request: Request;
  readonly host: ExecutionHost;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
}

/** Execute a request end to end. Never rejects: every error becomes an outcome (storing errors are logged). */
export async function executeTask(input: ExecuteInput): Promise<TaskOutcome> {
  const { task, request, host, logger } = input;
  const started = performance.now();
  const children: string[] = [];
  const elapsed = () => performance.now() - started;
  const args = request.args;
  const kwargs = request.kwargs;
  try {
    if (task.app.signals.has('task_prerun')) await task.app.signals.send('task_prerun', { name: task.name, taskId: request.id, args, kwargs });
    if (overridesHook(task, 'beforeStart')) await task.beforeStart(request.id, args, kwargs);
    if ((task.options.trackStarted ?? host.setting('task_track_started')) && host.backend) {
      await host.backend.store(request.id, meta(input, STARTED, { pid: process.pid, hostname: host.hostname }, null, [], null));
    }
    const result = await runInContext({ request, taskName: task.name, children }, () =>
      task.invoke(request, args, kwargs, input.signal, logger),
    );
    const runtimeMs = elapsed();
    if (timedOut(input)) return { state: FAILURE, error: input.signal!.reason, traceback: null, runtimeMs };
    await onSuccess(input, result, children);
    return await postrun(input, { state: SUCCESS, result, runtimeMs });
  } catch (thrown) {
    if (timedOut(input)) return { state: FAILURE, error: input.signal!.reason, traceback: null, runtimeMs: elapsed() };
    return postrun(input, await handleError(input, autoretry(task, request, thrown), children, elapsed));
  }
}

/** task_success / task_failure / task_retry, then task_postrun, as Celery sends them. */
async function postrun(input: ExecuteInput, outcome: TaskOutcome): Promise<TaskOutcome> {
  const { task, request } = input;
  const signals = task.app.signals;
  // The hot path of a worker: nothing is built for signals nobody listens to.
  if (!signals.has('task_success') && !signals.has('task_failure') && !signals.has('task_retry') && !signals.has('task_postrun')) return outcome;
  const base = { name: task.name, taskId: request.id };
  if (outcome.state === SUCCESS) await signals.send('task_success', { ...base, result: outcome.result });
  else if (outcome.state === FAILURE) await signals.send('task_failure', { ...base, error: outcome.error, traceback: outcome.traceback });
  else if (outcome.state === RETRY) await signals.send('task_retry', { ...base, reason: outcome.retry.info.exc ?? outcome.retry });
  const retval = outcome.state === SUCCESS ? outcome.result : outcome.state === FAILURE ? outcome.error : null;
  await signals.send('task_postrun', { ...base, args: request.args, kwargs: request.kwargs, state: outcome.state, retval });
  return outcome;
}

/** The worker already reported a hard time limit or a terminate: whatever the abandoned task does later stores nothing. */
function timedOut(input: ExecuteInput): boolean {
  const reason = input.signal?.aborted ? (input.signal.reason as unknown) : undefined;
  return reason instanceof TimeLimitExceeded || reason instanceof TaskRevokedError;
}

/** With autoretryFor, turn a matching error into a Retry (or the final error once retries are exhausted). */
function autoretry(task: Task, request: Request, error: unknown): unknown {
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
    const bound = Object.create(task, { request: { value: request } }) as Task;
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
      await storeSafely(input, meta(input, RETRY, null, traceback, [request.id], null));
      await hook(logger, task, 'onRetry', () => task.onRetry(error.info.exc ?? error, request.id, request.args, request.kwargs, traceback));
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
  const { task, request, host, logger } = input;
  const traceback = tracebackOf(error);
  const doc = exceptionToDoc(error);
  const ignored = input.message.ignoreResult || task.options.ignoreResult;
  if (!ignored || task.options.storeErrorsEvenIfIgnored || host.setting('task_store_errors_even_if_ignored')) {
    await storeSafely(input, meta(input, FAILURE, doc, traceback, children, new Date()));
  }
  await sendAll(input, request.errbacks, (sig) => [request.id, ...(sig.args ?? [])]);
  await chordPart(input, FAILURE, doc);
  await hook(logger, task, 'onFailure', () => task.onFailure(error, request.id, request.args, request.kwargs, traceback));
  await hook(logger, task, 'afterReturn', () => task.afterReturn(FAILURE, error, request.id, request.args, request.kwargs, traceback));
  return { state: FAILURE, error, traceback, runtimeMs };
}

async function onSuccess(input: ExecuteInput, result: unknown, children: string[]): Promise<void> {
  const { task, request, message, logger } = input;
  // Chain: the next step is the LAST element; it is sent before this result is stored (REDIS-WIRE.md §7.1).
  const chain = message.embed.chain;
  if (chain && chain.length > 0) {
    const next = chain[chain.length - 1]!;
    const id = await sendSignature(input, next, next.immutable ? next.args : [result, ...(next.args ?? [])], { chain: chain.slice(0, -1) });
    children.push(id);
  }
  for (const cb of request.callbacks ?? []) {
    children.push(await sendSignature(input, cb, cb.immutable ? cb.args : [result, ...(cb.args ?? [])]));
  }
  if (!(message.ignoreResult || task.options.ignoreResult)) {
    await storeSafely(input, meta(input, SUCCESS, result, null, children, new Date()));
  }
  await chordPart(input, SUCCESS, result);
  await hook(logger, task, 'onSuccess', () => task.onSuccess(result, request.id, request.args, request.kwargs));
  await hook(logger, task, 'afterReturn', () => task.afterReturn(SUCCESS, result, request.id, request.args, request.kwargs, null));
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
    queue: o.queue ?? request.delivery_info?.routing_key ?? undefined,
    priority: o.priority ?? request.delivery_info?.priority,
    timeLimit: request.timelimit[0] ?? undefined,
    softTimeLimit: request.timelimit[1] ?? undefined,
    expires: request.expires ?? undefined,
    headers: message.customHeaders,
    ignoreResult: message.ignoreResult,
    extraProperties: { replaced_task_nesting: 0, origin: message.origin },
  });
}

/** As a chord header member: record this part; the part that completes the chord sends the body. */
async function chordPart(input: ExecuteInput, state: string, result: unknown): Promise<void> {
  const { request, host, logger } = input;
  const body = request.chord;
  if (!body || !request.group || !host.backend) return;
  const part: ChordPart = { index: request.group_index ?? 0, taskId: request.id, state, result };
  let parts: readonly ChordPart[] | null;
  try {
    parts = await host.backend.addChordPart(request.group, part);
  } catch (error) {
    logger.error({ err: error }, `Chord ${request.group}: could not record part ${request.id}: ${(error as Error).message}`);
    return;
  }
  if (!parts) return;
  const bodyId = typeof body.options?.task_id === 'string' ? body.options.task_id : null;
  const failed = parts.find((p) => p.state !== SUCCESS);
  if (failed) {
    const exc = failed.result as { exc_type?: string; exc_message?: unknown };
    const reason = `Dependency ${failed.taskId} raised ${exc?.exc_type ?? 'Exception'}(${JSON.stringify(firstMessage(exc?.exc_message))})`;
    if (bodyId) {
      await storeSafely(input, buildResultMeta({
        taskId: bodyId, status: FAILURE, result: { exc_type: 'ChordError', exc_message: [reason], exc_module: 'celery.exceptions' }, traceback: null,
      }));
    }
    const errbacks = (body.options?.link_error as SignatureDict[] | undefined) ?? [];
    if (bodyId) await sendAll(input, errbacks, (sig) => [bodyId, ...(sig.args ?? [])]);
    return;
  }
  const results = parts.map((p) => p.result);
  await sendSignature(input, body, body.immutable ? body.args : [results, ...(body.args ?? [])], { groupId: null });
}

function firstMessage(m: unknown): unknown {
  return Array.isArray(m) && m.length === 1 ? m[0] : m;
}

async function sendAll(input: ExecuteInput, sigs: SignatureDict[] | null | undefined, argsOf: (s: SignatureDict) => unknown[]): Promise<void> {
  for (const sig of sigs ?? []) {
    try {
      await sendSignature(input, sig, sig.immutable ? sig.args : argsOf(sig));
    } catch (error) {
      input.logger.error({ err: error }, `Could not send ${sig.task} linked from ${input.request.id}: ${(error as Error).message}`);
    }
  }
}

function sendSignature(input: ExecuteInput, sig: SignatureDict, args: unknown[], extra: ApplyOptions = {}): Promise<string> {
  const { request } = input;
  return input.host.send(sig.task, args ?? [], sig.kwargs ?? {}, {
    ...applyOptionsFromDict(sig.options ?? {}),
    parentId: request.id,
    rootId: request.root_id ?? request.id,
    ...extra,
  });
}

function meta(input: ExecuteInput, status: string, result: unknown, traceback: string | null, children: string[], dateDone: Date | null): ResultMeta {
  const { request, host, task } = input;
  return buildResultMeta({
    taskId: request.id,
    status,
    result,
    traceback,
    children: children.map((id) => [[id, null], null] as [[string, null], null]),
    dateDone,
    parentId: request.parent_id,
    groupId: request.group,
    extended: host.setting('result_extended')
      ? { name: task.name, args: request.args, kwargs: request.kwargs, worker: host.hostname, retries: request.retries, queue: request.delivery_info?.routing_key ?? null }
      : undefined,
  });
}

/** How long a finished task keeps trying to store its result through a backend outage. */
const STORE_RETRY_MS = 30_000;

/**
 * Store a result, retrying with backoff through a short backend outage (the task already ran: running it again
 * would be worse than waiting). Logged, never thrown, if the backend stays away.
 */
async function storeSafely(input: ExecuteInput, m: ResultMeta): Promise<void> {
  if (!input.host.backend) return;
  const deadline = Date.now() + STORE_RETRY_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      await input.host.backend.store(m.task_id, m);
      if (attempt > 0) input.logger.info(`Stored ${m.status} result of task ${m.task_id} after ${attempt} retries`);
      return;
    } catch (error) {
      if (Date.now() >= deadline) {
        input.logger.error({ err: error }, `Could not store ${m.status} result of task ${m.task_id}: ${(error as Error).message}`);
        return;
      }
      if (attempt === 0) input.logger.warn(`Storing ${m.status} result of task ${m.task_id} failed (${(error as Error).message}); retrying for up to ${STORE_RETRY_MS / 1000} s`);
      await sleep(backoffMs(attempt));
    }
  }
}

async function hook(logger: Logger, task: Task, name: HookName, fn: () => void | Promise<void>): Promise<void> {
  // The no-op default hooks are skipped on the hot path.
  if (!overridesHook(task, name)) return;
  try {
    await fn();
  } catch (error) {
    logger.error({ err: error }, `Task hook ${name} raised: ${(error as Error).message}`);
  }
}
