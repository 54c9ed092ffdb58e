// The Task: what `app.task(fn, options)` returns. Sends (delay/applyAsync), builds signatures (s/si), runs here
// (call/apply), and carries the options and hooks the worker honours. Subclass it for a custom base (Celery's base=).

import type { ApplyOptions } from './options.js';
import { InvalidTaskError, MaxRetriesExceededError, Retry, UsageError } from '../errors.js';
import type { Logger } from '../utils/logger.js';
import { Chunks, replaceTask, Signature, XMap, XStarmap, type AnySignature } from '../canvas/index.js';
import { AsyncResult, EagerResult } from '../result/async-result.js';
import { currentExecution, destinationOf, directRequest, runInContext, type Request } from './context.js';
import { uuid } from '../utils/ids.js';
import { buildResultMeta } from '../protocol/result-meta.js';
import { executeEagerly } from './eager.js';
import { HOOK_NAMES, noHook, type HookName } from './hooks.js';
import type { ExecutableTask, RetryOptions, TaskApp, TaskFunction, TaskOptions } from './interfaces.js';

export type { RetryOptions, TaskClass, TaskFunction, TaskOptions } from './interfaces.js';

/** Most arguments one JavaScript call takes safely (spreading more overflows the stack). */
const MAX_CALL_ARGS = 65_535;

/** A bound task's first argument: the task itself with the running request (Celery's `self`). */
export type BoundTask<T extends Task = Task> = T & {
  readonly request: Request;
  /** Aborted on revoke(terminate) or the soft time limit. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
};

/**
 * A registered task (Celery's Task): what `app.task(fn, options)` returns. Sends itself (delay, applyAsync),
 * builds signatures (s, si, signature), runs here (call, apply), retries and stores custom states from inside a
 * run; subclasses override the hooks (base=). `app` is the narrow TaskApp the Celery class implements.
 */
export class Task<A extends unknown[] = any[], R = unknown> implements ExecutableTask {
  /** Set on the bound context only; undefined on the registered task itself. */
  declare readonly request?: Request;

  private resolved?: Readonly<TaskOptions>;

  /** `options` are the ones given to app.task(); task_annotations are laid over them on first use (see `options`). */
  constructor(
    readonly app: TaskApp,
    readonly name: string,
    readonly fn: TaskFunction,
    private readonly declared: Readonly<TaskOptions>,
  ) {}

  /**
   * The task's options: those given to app.task() with the app's task_annotations laid over them (an annotation
   * wins, as in Celery). Resolved on first use, as Celery annotates a task when the app binds it, so annotations
   * configured after app.task() but before the task is used still apply; later changes do not.
   */
  get options(): Readonly<TaskOptions> {
    return (this.resolved ??= Object.freeze({ ...this.declared, ...this.app.taskAnnotations(this.name) }));
  }

  /** Send with positional args (Celery's delay). */
  delay(...args: A): Promise<AsyncResult<R>> {
    return this.applyAsync(args);
  }

  /**
   * Send with args, kwargs and execution options (Celery's apply_async). The app's send path applies this task's
   * declared options (queue, routing key, exchange, priority, serializer, expires, …) where `options` give none.
   */
  async applyAsync(args?: A | unknown[], kwargs?: Record<string, unknown>, options: ApplyOptions = {}): Promise<AsyncResult<R>> {
    if (this.app.conf.get('task_always_eager')) return this.apply(args, kwargs, options);
    const id = await this.app.producer.send(this.name, (args ?? []) as unknown[], kwargs ?? {}, options);
    return new AsyncResult<R>(id, this.app, this.name);
  }

  /** A partial signature (Celery's .s()): a parent's result is prepended to its args in a chain. */
  s(...args: unknown[]): Signature<R> {
    return new Signature<R>(this.name, args, {}, {}, false, this.app);
  }

  /** An immutable signature (Celery's .si()): parents' results are not passed to it. */
  si(...args: A): Signature<R> {
    return new Signature<R>(this.name, args, {}, {}, true, this.app);
  }

  /** Full signature with kwargs and options (Celery's .signature()). */
  signature(args: unknown[] = [], kwargs: Record<string, unknown> = {}, options: Record<string, unknown> = {}): Signature<R> {
    return new Signature<R>(this.name, args, kwargs, options, false, this.app);
  }

  /** This task called once per item, in one worker, as ONE celery.map message (Celery's task.map). */
  map(it: readonly unknown[]): XMap<R> {
    return new XMap<R>(this.s(), it, {}, this.app);
  }

  /** This task called once per argument list, in one worker, as ONE celery.starmap message (Celery's task.starmap). */
  starmap(it: readonly unknown[][]): XStarmap<R> {
    return new XStarmap<R>(this.s(), it, {}, this.app);
  }

  /** This task over argument lists in chunks of `n`: a group of celery.starmap messages (Celery's task.chunks). */
  chunks(it: readonly unknown[][], n: number): Chunks<R> {
    return new Chunks<R>(this.s(), it, n, {}, this.app);
  }

  /**
   * Hand this running task's place to `sig` (Celery's self.replace): it takes over the task id, group, chord,
   * callbacks, errbacks and the rest of the chain, and this task ends with Ignore. Use as `return self.replace(sig)`.
   */
  replace(sig: AnySignature): Promise<never> {
    const request = this.request ?? currentExecution()?.request;
    if (!request || request.called_directly) {
      throw new UsageError(`Task ${this.name} can only replace itself while a worker runs it (not when called directly).`);
    }
    return replaceTask(this.app, request, sig);
  }

  /** Run the function here and now, as a plain call (Celery's __call__: request.called_directly is true). */
  async call(...args: A): Promise<R> {
    const id = uuid();
    const request = directRequest(this.name, args, {}, id);
    return runInContext({ request, taskName: this.name, children: [] }, () => this.invoke(request, args, {})) as Promise<R>;
  }

  /** Run here through the full execution path, storing nothing (Celery's apply; request.is_eager is true). */
  async apply(args?: A | unknown[], kwargs?: Record<string, unknown>, options: ApplyOptions = {}): Promise<EagerResult<R>> {
    return executeEagerly(this as Task, (args ?? []) as unknown[], kwargs ?? {}, options) as Promise<EagerResult<R>>;
  }

  /**
   * Call the user's function for one request: bound tasks get the context first; non-empty kwargs are passed
   * as one trailing object argument (JavaScript has no keyword arguments).
   */
  invoke(request: Request, args: unknown[], kwargs: Record<string, unknown>, abort?: { readonly signal: AbortSignal }, logger?: Logger): unknown {
    const callArgs = Object.keys(kwargs).length > 0 ? [...args, kwargs] : args;
    if (callArgs.length > MAX_CALL_ARGS) {
      throw new InvalidTaskError(`Task ${this.name}[${request.id}] got ${args.length} positional arguments: a JavaScript function takes at most ${MAX_CALL_ARGS}. Send a long list as one argument (a list), not as many arguments.`, { context: { taskId: request.id, taskName: this.name } });
    }
    if (!this.options.bind) return this.fn(...callArgs);
    const ctx = Object.create(this, {
      request: { value: request, enumerable: true },
      signal: { get: () => (abort ??= new AbortController()).signal },
      logger: { value: logger ?? this.app.log.taskLogger(this.name, request.id) },
    }) as BoundTask;
    return this.fn(ctx, ...callArgs);
  }

  /**
   * Ask for this task to run again (Celery's self.retry): throws Retry, which the worker turns into a new message
   * with the same id and retries + 1. When max retries is reached, throws `exc` (or MaxRetriesExceededError) instead.
   * Use as `throw this.retry(...)` or just `this.retry(...)`.
   */
  retry(options: RetryOptions = {}): never {
    const request = this.request ?? currentExecution()?.request;
    if (!request || request.called_directly) {
      if (options.exc !== undefined) throw options.exc;
      throw new Retry({ message: `Task ${this.name} called directly: cannot retry outside a worker.` });
    }
    const max = options.maxRetries !== undefined ? options.maxRetries : (this.options.maxRetries ?? 3);
    if (max !== null && request.retries >= max) {
      if (options.exc !== undefined) throw options.exc;
      throw new MaxRetriesExceededError(`Can't retry ${this.name}[${request.id}] args:${JSON.stringify(request.args)} kwargs:${JSON.stringify(request.kwargs)}: max retries (${max}) exceeded.`, { context: { taskId: request.id, taskName: this.name } });
    }
    const countdown = options.eta ? undefined : (options.countdown ?? this.options.defaultRetryDelay ?? 180);
    throw new Retry({ countdown, eta: options.eta, exc: options.exc, retryOptions: { ...options } });
  }

  /** Store a custom state (Celery's update_state), e.g. PROGRESS with meta. */
  async updateState(state: string, meta: unknown = null, taskId?: string): Promise<void> {
    const id = taskId ?? this.request?.id ?? currentExecution()?.request.id;
    if (!id) throw new UsageError(`updateState on ${this.name} needs a task id: call it inside a running task or pass taskId.`, { context: { taskName: this.name } });
    const running = this.request ?? currentExecution()?.request;
    await (await this.app.getBackend()).store(id, buildResultMeta({ taskId: id, status: state, result: meta, dateDone: null }), running?.id === id ? destinationOf(running) : undefined);
  }

  /** The result handle for an id of this task. */
  AsyncResult(id: string): AsyncResult<R> {
    return new AsyncResult<R>(id, this.app, this.name);
  }

  // Hooks, overridden by subclasses (Celery's Task handlers). The worker awaits them; errors in hooks are logged.
  /** Before the function runs. */
  beforeStart(_taskId: string, _args: unknown[], _kwargs: Record<string, unknown>): void | Promise<void> {}
  /** After success, before the result is acked (for acks_late). */
  onSuccess(_retval: unknown, _taskId: string, _args: unknown[], _kwargs: Record<string, unknown>): void | Promise<void> {}
  /** After a failure was stored. */
  onFailure(_error: unknown, _taskId: string, _args: unknown[], _kwargs: Record<string, unknown>, _traceback: string | null): void | Promise<void> {}
  /** After a retry was scheduled. */
  onRetry(_error: unknown, _taskId: string, _args: unknown[], _kwargs: Record<string, unknown>, _traceback: string | null): void | Promise<void> {}
  /** After any outcome, with the final state. */
  afterReturn(_state: string, _retval: unknown, _taskId: string, _args: unknown[], _kwargs: Record<string, unknown>, _traceback: string | null): void | Promise<void> {}

  toString(): string {
    return `<@task: ${this.name} of ${this.app.main}>`;
  }
}

// The documented hook methods above are the shared no-op, so executeTask can skip them (see hooks.ts).
for (const name of HOOK_NAMES) (Task.prototype as unknown as Record<HookName, unknown>)[name] = noHook;
