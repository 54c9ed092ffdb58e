// Celery's built-in tasks (celery.app.builtins), registered on every app under Celery's names so that any canvas a
// Python client builds completes on celeriac workers and celeriac can send them to Python workers. Arguments are
// bound as Python binds them (positional, then by name), so Python's messages run unchanged.

import { pyRepr } from '../protocol/repr.js';
import type { SignatureDict } from '../protocol/task-message.js';
import { RemoteTaskError } from '../errors.js';
import { GroupResult, resultFromTuple } from '../result/group-result.js';
import { Chord } from './chord.js';
import { Chunks } from './chunks.js';
import { failChordBody } from './chord-error.js';
import { Group } from './group.js';
import { toWireOptions } from './options.js';
import { checkRunnable } from './validate.js';
import type { CanvasApp, CanvasTask } from './signature.js';
import { applySignatureDict, signatureFromDict } from './wire.js';

/** What a builtin sees of itself while it runs (the bound task's request and retry). */
interface BuiltinSelf {
  readonly name: string;
  readonly request: { readonly args: unknown[]; readonly kwargs: Record<string, unknown> };
  retry(options: { exc?: unknown; countdown?: number; maxRetries?: number | null }): never;
}

/** The app builtins are registered on: the canvas app, plus task registration and direct calls (map/starmap). */
export interface BuiltinApp extends CanvasApp {
  task(fn: (self: BuiltinSelf) => unknown, options: Record<string, unknown> & { name: string; bind: true }): unknown;
  task(fn: () => unknown, options: Record<string, unknown> & { name: string }): unknown;
  readonly tasks: { has(name: string): boolean; get(name: string): CanvasTask & { call(...args: unknown[]): Promise<unknown> } };
}

/** The names of Celery's built-in tasks; Python's `inspect registered` leaves these out, and so does celeriac's. */
export const BUILTIN_TASK_NAMES = [
  'celery.backend_cleanup', 'celery.accumulate', 'celery.chord_unlock', 'celery.map', 'celery.starmap',
  'celery.chunks', 'celery.group', 'celery.chain', 'celery.chord',
] as const;

/** A JS error Python rebuilds as its builtin of the same name (TypeError, NotImplementedError). */
class PythonError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** Register Celery's built-in tasks on `app` (Celery does it when an app is finalized; here in the constructor). */
export function registerBuiltins(app: BuiltinApp): void {
  const bound = { bind: true } as const;

  app.task(async function backendCleanup() {
    await (await app.getBackend()).cleanup?.();
    return null;
  }, { name: 'celery.backend_cleanup' });

  app.task(function accumulate(self: BuiltinSelf) {
    const index = self.request.kwargs.index;
    const args = self.request.args;
    return index === undefined || index === null ? args : args[Number(index)];
  }, { name: 'celery.accumulate', ...bound });

  app.task(async function unlockChord(self: BuiltinSelf) {
    const p = params(self, ['group_id', 'callback', 'interval', 'max_retries', 'result'], { interval: null, max_retries: null, result: [] }, true);
    const interval = (p.interval as number | null) ?? (app.conf.get('result_chord_retry_interval') as number);
    const maxRetries = p.max_retries as number | null;
    const callback = p.callback as SignatureDict;
    const deps = new GroupResult(String(p.group_id), asArray(p.result, 'result').map((t) => resultFromTuple(t, app)), app);
    let ready: boolean;
    try {
      ready = await deps.ready();
    } catch (exc) {
      return self.retry({ exc, countdown: interval, maxRetries });
    }
    if (!ready) return self.retry({ countdown: interval, maxRetries });
    let values: unknown[];
    try {
      values = await deps.join({ propagate: true, timeout: Number(app.conf.get('result_chord_join_timeout') ?? 3) });
    } catch (exc) {
      const culprit = await firstFailed(deps);
      await failChordBody(app, callback, culprit ? `Dependency ${culprit} raised ${excRepr(exc)}` : excRepr(exc));
      return null;
    }
    try {
      await applySignatureDict(app, callback, { args: [values] });
    } catch (exc) {
      await failChordBody(app, callback, `Callback error: ${excRepr(exc)}`);
    }
    return null;
  }, { name: 'celery.chord_unlock', ...bound, maxRetries: null, ignoreResult: true, defaultRetryDelay: app.conf.get('result_chord_retry_interval') as number });

  app.task(async function xmap(self: BuiltinSelf) {
    const p = params(self, ['task', 'it'], {});
    const task = app.tasks.get(signatureFromDict(p.task, app).task);
    const out: unknown[] = [];
    for (const item of asArray(p.it, 'it')) out.push(await task.call(item));
    return out;
  }, { name: 'celery.map', ...bound });

  app.task(async function xstarmap(self: BuiltinSelf) {
    const p = params(self, ['task', 'it'], {});
    const task = app.tasks.get(signatureFromDict(p.task, app).task);
    const out: unknown[] = [];
    for (const item of asArray(p.it, 'it')) out.push(await task.call(...asArray(item, 'an item of it')));
    return out;
  }, { name: 'celery.starmap', ...bound });

  app.task(async function chunks(self: BuiltinSelf) {
    const p = params(self, ['task', 'it', 'n'], {});
    const result = await new Chunks(signatureFromDict(p.task, app), asArray(p.it, 'it'), p.n as number, {}, app).applyAsync();
    return result.asTuple();
  }, { name: 'celery.chunks', ...bound });

  app.task(async function group(self: BuiltinSelf) {
    const p = params(self, ['tasks', 'result', 'group_id', 'partial_args', 'add_to_parent'], { add_to_parent: true });
    for (const task of asArray(p.tasks, 'tasks')) {
      await applySignatureDict(app, task as SignatureDict, { args: asArray(p.partial_args ?? [], 'partial_args'), options: { groupId: p.group_id as string } });
    }
    return p.result;
  }, { name: 'celery.group', ...bound });

  app.task(function chain() {
    throw new PythonError('NotImplementedError', 'chain is not a real task');
  }, { name: 'celery.chain' });

  app.task(async function chord(self: BuiltinSelf) {
    const p = params(self, ['header', 'body', 'partial_args', 'interval', 'countdown', 'max_retries', 'eager'], { partial_args: [], interval: null, countdown: 1, max_retries: null, eager: false }, true);
    const header = signatureFromDict(Array.isArray(p.header) ? { task: 'celery.group', kwargs: { tasks: p.header }, subtask_type: 'group' } : p.header, app);
    const ch = new Chord(header instanceof Group ? header : [header], signatureFromDict(p.body, app), {}, app);
    await checkRunnable(ch, app);
    const { kwargs: _extra, ...options } = p.extra as Record<string, unknown>;
    const result = await ch.applyWire(asArray(p.partial_args, 'partial_args'), {}, toWireOptions(options), app);
    return result.asTuple();
  }, { name: 'celery.chord', ...bound, ignoreResult: false });
}

/**
 * Bind a request's args and kwargs to Python parameter names, as Python does: positional first, then by name;
 * missing or doubled arguments raise Python's TypeError. With `extra`, unknown kwargs are kept under `extra`.
 */
function params(self: BuiltinSelf, names: readonly string[], defaults: Record<string, unknown>, extra = false): Record<string, unknown> {
  const { args, kwargs } = self.request;
  const fn = self.name;
  if (args.length > names.length) throw new PythonError('TypeError', `${fn}() takes ${names.length} positional arguments but ${args.length} were given`);
  const out: Record<string, unknown> = { extra: {} };
  names.forEach((n, i) => {
    if (i < args.length) out[n] = args[i];
  });
  for (const [k, v] of Object.entries(kwargs)) {
    if (names.includes(k)) {
      if (names.indexOf(k) < args.length) throw new PythonError('TypeError', `${fn}() got multiple values for argument '${k}'`);
      out[k] = v;
    } else if (extra) (out.extra as Record<string, unknown>)[k] = v;
    else throw new PythonError('TypeError', `${fn}() got an unexpected keyword argument '${k}'`);
  }
  for (const n of names) {
    if (!(n in out)) {
      if (!(n in defaults)) throw new PythonError('TypeError', `${fn}() missing 1 required positional argument: '${n}'`);
      out[n] = defaults[n];
    }
  }
  return out;
}

function asArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new PythonError('TypeError', `'${what}' must be a list, not ${value === null ? 'None' : typeof value}`);
  return value;
}

/** Python's repr() of an error: `ValueError('boom')`. */
function excRepr(exc: unknown): string {
  if (exc instanceof RemoteTaskError) return `${exc.excType}(${asArgs(exc.excMessage).map((a) => pyRepr(a)).join(', ')})`;
  if (exc instanceof Error) return `${exc.name}(${pyRepr(exc.message)})`;
  return pyRepr(exc);
}

function asArgs(message: unknown): unknown[] {
  return Array.isArray(message) ? message : [message];
}

/** The id of the first member that failed (Celery's _failed_join_report), or null. */
async function firstFailed(deps: GroupResult): Promise<string | null> {
  for (const r of deps.results) if (await r.failed()) return r.id;
  return null;
}
