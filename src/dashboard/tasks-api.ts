// Flower's task endpoints: the task list and detail from the monitor's state, results from the result backend,
// sending tasks (apply, async-apply, send-task), revoke, rate limit, time limits, task types and queue lengths,
// with Flower's JSON shapes ({"task-id", "state", "result"}, {"message"}, {"active_queues": [{name, messages}]}).

import type { ServerResponse } from 'node:http';
import { pythonRepr } from '../config/humanize.js';
import type { Control } from '../control/client.js';
import type { ResultMeta } from '../protocol/result-meta.js';
import type { ApplyOptions } from '../task/options.js';
import type { Transport } from '../transports/transport.js';
import { argument, HttpError, intArgument, sendJson, truthy, type Request } from './http.js';
import { taskAsDict, type ClusterState, type TaskState } from './state.js';
import type { WorkerInspector } from './workers-api.js';

/** What the task routes need from the app. */
export interface TaskRoutesApp {
  readonly control: Control;
  readonly conf: { get(name: string): unknown };
  readonly tasks: { has(name: string): boolean };
  sendTask(name: string, args?: unknown[], kwargs?: Record<string, unknown>, options?: ApplyOptions): Promise<{ id: string }>;
  AsyncResult(id: string): { meta(): Promise<ResultMeta | null>; get(options: { timeout?: number; propagate?: boolean }): Promise<unknown> };
  backendUrl(): string | null;
  getTransport(): Promise<Transport>;
}

/** What the task routes use. */
export interface TaskRoutesContext {
  readonly app: TaskRoutesApp;
  readonly state: ClusterState;
  readonly inspector: WorkerInspector;
}

/** Flower's sort_by keys (prefix '-' for descending). */
const SORT_KEYS = new Set(['name', 'state', 'received', 'started', 'succeeded', 'runtime', 'timestamp']);

/** Flower's apply_async options → ApplyOptions (Celery's names as its API takes them). */
const OPTION_NAMES: Readonly<Record<string, keyof ApplyOptions>> = {
  countdown: 'countdown', eta: 'eta', expires: 'expires', queue: 'queue', routing_key: 'routingKey', exchange: 'exchange',
  priority: 'priority', task_id: 'taskId', headers: 'headers', time_limit: 'timeLimit', soft_time_limit: 'softTimeLimit',
  ignore_result: 'ignoreResult', serializer: 'serializer', compression: 'compression', shadow: 'shadow',
};

/** Flower's task filters, applied to tasks newest first. */
export function filterTasks(tasks: readonly TaskState[], q: URLSearchParams): TaskState[] {
  const pick = (name: string) => {
    const v = q.get(name);
    return v && v !== 'All' ? v : null;
  };
  const [worker, type, state] = [pick('workername'), pick('taskname'), pick('state')];
  const receivedStart = minuteTime(q.get('received_start'));
  const receivedEnd = minuteTime(q.get('received_end'));
  const terms = searchTerms(q.get('search'));
  let out = tasks.filter((t) => {
    if (type && t.name !== type) return false;
    if (worker && t.worker && t.worker !== worker) return false;
    if (state && t.state !== state) return false;
    const received = typeof t.received === 'number' ? t.received : null;
    if (receivedStart !== null && received !== null && received < receivedStart) return false;
    if (receivedEnd !== null && received !== null && received > receivedEnd) return false;
    return terms.every((term) => matches(t, term));
  });
  const sortBy = q.get('sort_by');
  if (sortBy) {
    const key = sortBy.replace(/^-/, '');
    if (!SORT_KEYS.has(key)) throw new HttpError(400, `Invalid sort_by '${sortBy}': use one of ${[...SORT_KEYS].join(', ')} (prefix '-' for descending).`);
    const sign = sortBy.startsWith('-') ? -1 : 1;
    out = [...out].sort((a, b) => sign * compare(a[key], b[key]));
  }
  return out;
}

/** GET /api/tasks: {uuid: task} in order, after filters, offset and limit. */
export function listTasks(ctx: TaskRoutesContext, req: Request, res: ServerResponse): void {
  const limit = req.query.get('limit') ? intArgument(req.query.get('limit')!, 'limit', 0) : null;
  const offset = Math.max(0, intArgument(req.query.get('offset') ?? undefined, 'offset', 0));
  const tasks = filterTasks(ctx.state.tasksByTime(), req.query);
  const page = tasks.slice(offset, limit === null ? undefined : offset + Math.max(0, limit));
  sendJson(res, 200, Object.fromEntries(page.map((t) => [t.uuid, taskAsDict(t)])));
}

/** GET /api/task/info/:id. */
export function taskInfo(ctx: TaskRoutesContext, _req: Request, res: ServerResponse, id: string): void {
  const task = ctx.state.tasks.get(id);
  if (!task) throw new HttpError(404, `Unknown task '${id}'`);
  sendJson(res, 200, taskAsDict(task));
}

/** GET /api/task/types. */
export function taskTypes(ctx: TaskRoutesContext, _req: Request, res: ServerResponse): void {
  sendJson(res, 200, { 'task-types': ctx.state.taskTypes() });
}

/** GET /api/task/result/:id[?timeout=seconds]. */
export async function taskResult(ctx: TaskRoutesContext, req: Request, res: ServerResponse, id: string): Promise<void> {
  if (ctx.app.backendUrl() === null) throw new HttpError(503, 'No result backend is configured.');
  const timeout = req.query.get('timeout');
  const result = ctx.app.AsyncResult(id);
  if (timeout) {
    const seconds = Number(timeout);
    if (!(seconds > 0)) throw new HttpError(400, `Invalid timeout '${timeout}': give seconds > 0.`);
    await result.get({ timeout: seconds, propagate: false }).catch(() => undefined);
  }
  sendJson(res, 200, resultResponse(id, await result.meta()));
}

/** POST /api/task/{apply,async-apply,send-task}/:name with a JSON body {args, kwargs, ...options}. */
export async function sendTask(ctx: TaskRoutesContext, req: Request, res: ServerResponse, mode: string, name: string): Promise<void> {
  const { args = [], kwargs = {}, ...rest } = await req.body();
  if (!Array.isArray(args)) throw new HttpError(400, 'args must be an array');
  if (!kwargs || typeof kwargs !== 'object' || Array.isArray(kwargs)) throw new HttpError(400, 'kwargs must be an object');
  if (mode !== 'send-task' && !ctx.app.tasks.has(name) && !registeredOnAWorker(ctx, name)) throw new HttpError(404, `Unknown task '${name}'`);
  const options = applyOptions(rest);
  const sent = await ctx.app.sendTask(name, args, kwargs as Record<string, unknown>, options);
  const withBackend = ctx.app.backendUrl() !== null;
  if (mode === 'apply' && withBackend) {
    const result = ctx.app.AsyncResult(sent.id);
    await result.get({ propagate: false }).catch(() => undefined);
    sendJson(res, 200, resultResponse(sent.id, await result.meta()));
    return;
  }
  sendJson(res, 200, withBackend ? { 'task-id': sent.id, state: 'PENDING' } : { 'task-id': sent.id });
}

/** POST /api/task/revoke/:id[?terminate=true&signal=SIGKILL]. */
export async function revokeTask(ctx: TaskRoutesContext, req: Request, res: ServerResponse, id: string): Promise<void> {
  const body = await req.body();
  const terminate = truthy(argument(req, body, 'terminate'));
  const signal = argument(req, body, 'signal') ?? 'SIGTERM';
  await ctx.app.control.revoke(id, { terminate, signal });
  sendJson(res, 200, { message: `Revoked '${id}'` });
}

/** POST /api/task/{rate-limit,timeout}/:name with ratelimit= or soft=/hard=, and workername=. */
export async function taskLimit(ctx: TaskRoutesContext, req: Request, res: ServerResponse, kind: string, name: string): Promise<void> {
  const body = await req.body();
  const workername = argument(req, body, 'workername');
  if (!ctx.app.tasks.has(name) && !registeredOnAWorker(ctx, name)) throw new HttpError(404, `Unknown task '${name}'`);
  if (workername && !ctx.inspector.workers.has(workername) && !ctx.state.workers.has(workername)) throw new HttpError(404, `Unknown worker '${workername}'`);
  const options = workername ? { destination: [workername], limit: 1 } : {};
  let replies: Record<string, { ok?: string; error?: string }>;
  if (kind === 'rate-limit') {
    const rate = argument(req, body, 'ratelimit');
    if (rate === undefined) throw new HttpError(400, 'Missing argument ratelimit.');
    replies = await ctx.app.control.rateLimit(name, rate, options);
  } else {
    const seconds = (field: string) => {
      const v = argument(req, body, field);
      if (v === undefined || v === '') return null;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new HttpError(400, `Invalid ${field} '${v}': give seconds >= 0.`);
      return n;
    };
    replies = await ctx.app.control.timeLimit(name, seconds('soft'), seconds('hard'), options);
  }
  const answers = workername ? [replies[workername]] : Object.values(replies);
  const ok = answers.find((r) => r && typeof r.ok === 'string');
  if (!ok || answers.some((r) => !r || r.error)) {
    const reason = answers.find((r) => r?.error)?.error ?? 'Unknown reason';
    throw new HttpError(403, kind === 'rate-limit' ? `Failed to set rate limit: '${reason}'` : `Failed to set timeouts: '${reason}'`);
  }
  sendJson(res, 200, { message: ok.ok });
}

/**
 * GET /api/queues/length: the queues workers consume plus the app's task_queues (Flower takes the latter only when
 * no worker answered; a queue nobody consumes yet is the one worth watching), with their sizes.
 */
export async function queueLengths(ctx: TaskRoutesContext, _req: Request, res: ServerResponse): Promise<void> {
  const names = ctx.inspector.activeQueueNames();
  if (names.size === 0) names.add(String(ctx.app.conf.get('task_default_queue') ?? 'celery'));
  for (const name of configuredQueues(ctx.app.conf.get('task_queues'))) names.add(name);
  const transport = await ctx.app.getTransport();
  const active_queues = await Promise.all([...names].sort().map(async (name) => ({ name, messages: await transport.size(name).catch(() => 0) })));
  sendJson(res, 200, { active_queues });
}

/** Flower's task result reply: task-id and state, plus result (and traceback for failures) once ready. */
function resultResponse(id: string, meta: ResultMeta | null): Record<string, unknown> {
  const state = meta?.status ?? 'PENDING';
  const out: Record<string, unknown> = { 'task-id': id, state };
  if (!meta || !['SUCCESS', 'FAILURE', 'REVOKED'].includes(state)) return out;
  if (state === 'SUCCESS') out.result = meta.result;
  else {
    out.result = exceptionRepr(meta.result);
    if (state === 'FAILURE') out.traceback = meta.traceback;
  }
  return out;
}

/** An exception document as Python's repr() prints the exception: ValueError('nope'). */
function exceptionRepr(doc: unknown): unknown {
  if (!doc || typeof doc !== 'object' || typeof (doc as { exc_type?: unknown }).exc_type !== 'string') return doc;
  const { exc_type, exc_message } = doc as { exc_type: string; exc_message: unknown };
  const args = Array.isArray(exc_message) ? exc_message : [exc_message];
  return `${exc_type}(${args.map((a) => pythonRepr(a)).join(', ')})`;
}

function applyOptions(given: Record<string, unknown>): ApplyOptions {
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(given)) {
    const name = OPTION_NAMES[key];
    if (!name) throw new HttpError(400, `Invalid option '${key}': use one of ${Object.keys(OPTION_NAMES).join(', ')}.`);
    if (key === 'countdown' || (key === 'expires' && !Number.isNaN(Number(value)))) {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new HttpError(400, `Invalid option ${key}: '${String(value)}' is not a number of seconds.`);
      options[name] = n;
    } else if (key === 'eta' || key === 'expires') {
      // Flower's DATE_FORMAT '%Y-%m-%d %H:%M:%S.%f', or ISO 8601: the app's time zone rules apply as to any eta.
      if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?$/.test(value)) {
        throw new HttpError(400, `Invalid option ${key}: '${String(value)}' (expected YYYY-MM-DD HH:MM:SS.ffffff).`);
      }
      options[name] = value.replace(' ', 'T');
    } else options[name] = value;
  }
  return options as ApplyOptions;
}

function registeredOnAWorker(ctx: TaskRoutesContext, name: string): boolean {
  for (const info of ctx.inspector.workers.values()) {
    if (Array.isArray(info.registered) && info.registered.some((r) => typeof r === 'string' && r.split(' ')[0] === name)) return true;
  }
  for (const t of ctx.state.tasks.values()) if (t.name === name) return true;
  return false;
}

function configuredQueues(value: unknown): string[] {
  if (!Array.isArray(value)) return value && typeof value === 'object' ? Object.keys(value) : [];
  return value.map((q) => (typeof q === 'string' ? q : (q as { name?: unknown })?.name)).filter((n): n is string => typeof n === 'string');
}

/** Flower's received_start/received_end: '%Y-%m-%d %H:%M' in the server's local time → epoch seconds. */
function minuteTime(value: string | null): number | null {
  if (!value) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})$/.exec(value);
  if (!m) throw new HttpError(400, `Invalid date '${value}': expected YYYY-MM-DD HH:MM.`);
  const [, y, mo, d, h, mi] = m.map(Number) as [number, number, number, number, number, number];
  return new Date(y, mo - 1, d, h, mi).getTime() / 1000;
}

type Term = { field: 'any' | 'args' | 'kwargs' | 'result' | 'state'; text: string };

/** Flower's search: free words match name, uuid, state, worker, args, kwargs or result; `args:`, `kwargs:`, `result:`, `state:` narrow. */
function searchTerms(search: string | null): Term[] {
  if (!search) return [];
  return search.trim().split(/\s+/).filter(Boolean).map((word) => {
    const m = /^(args|kwargs|result|state):(.*)$/.exec(word);
    return m ? { field: m[1] as Term['field'], text: m[2]!.toLowerCase() } : { field: 'any', text: word.toLowerCase() };
  });
}

function matches(task: TaskState, term: Term): boolean {
  const fields = term.field === 'any' ? [task.name, task.uuid, task.state, task.worker, task.args, task.kwargs, task.result] : [task[term.field]];
  return fields.some((v) => v !== null && v !== undefined && String(v).toLowerCase().includes(term.text));
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === 'number' || typeof b === 'number') return (typeof a === 'number' ? a : 0) - (typeof b === 'number' ? b : 0);
  return String(a ?? '').localeCompare(String(b ?? ''));
}
