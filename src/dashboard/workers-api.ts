// Flower's worker endpoints: GET /api/workers (inspect replies cached per worker, ?refresh to ask again) and the
// worker actions (shutdown, pool grow/shrink/restart/autoscale, add/cancel consumer), with Flower's replies:
// {"message": "…"} on success, 403 with the worker's reason as text when it refuses, 404 for an unknown worker.

import type { ServerResponse } from 'node:http';
import { censor } from '../config/humanize.js';
import type { Control, OkReply, Replies } from '../control/client.js';
import { argument, HttpError, intArgument, sendJson, truthy, type Request } from './http.js';
import { isAlive, type ClusterState } from './state.js';

/** The inspect methods Flower caches per worker (its ControlHandler.INSPECT_METHODS). */
export const INSPECT_METHODS = ['stats', 'active_queues', 'registered', 'scheduled', 'active', 'reserved', 'revoked', 'conf'] as const;

/** One worker's cached inspect replies plus when they were taken (epoch seconds), Flower's /api/workers entry. */
export type WorkerInfo = Partial<Record<(typeof INSPECT_METHODS)[number], unknown>> & { timestamp?: number };

/** Flower's worker cache: what workers last answered to the inspect methods. */
export class WorkerInspector {
  readonly workers = new Map<string, WorkerInfo>();

  /** @param timeoutMs how long to collect replies (Flower's --inspect_timeout, default 1000 ms). */
  constructor(private readonly control: Control, private readonly timeoutMs: number, private readonly onError: (error: unknown) => void = () => undefined) {}

  /** Ask every worker (or one) all INSPECT_METHODS at once; rejects only when the broker cannot be reached. */
  async refresh(workername?: string): Promise<void> {
    const inspect = this.control.inspect({ timeoutMs: this.timeoutMs, destination: workername ? [workername] : null, ...(workername ? { limit: 1 } : {}) });
    const calls: Record<(typeof INSPECT_METHODS)[number], () => Promise<Replies<unknown>>> = {
      stats: () => inspect.stats(), active_queues: () => inspect.activeQueues(), registered: () => inspect.registered(),
      scheduled: () => inspect.scheduled(), active: () => inspect.active(), reserved: () => inspect.reserved(),
      revoked: () => inspect.revoked(), conf: () => inspect.conf(),
    };
    const outcomes = await Promise.allSettled(INSPECT_METHODS.map(async (method) => [method, await calls[method]()] as const));
    const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed.length === outcomes.length) throw failed[0]!.reason;
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        this.onError(outcome.reason);
        continue;
      }
      const [method, replies] = outcome.value;
      for (const [worker, reply] of Object.entries(replies)) {
        if (reply === null || reply === undefined) continue;
        const info = this.workers.get(worker) ?? {};
        // Workers censor their conf; a worker that does not still never has its secrets shown here.
        info[method] = method === 'conf' && typeof reply === 'object' ? censor(reply as Record<string, unknown>) : reply;
        info.timestamp = Date.now() / 1000;
        this.workers.set(worker, info);
      }
    }
  }

  /** Queue names the workers consume from (Flower's get_active_queue_names). */
  activeQueueNames(): Set<string> {
    const names = new Set<string>();
    for (const info of this.workers.values()) {
      for (const q of Array.isArray(info.active_queues) ? info.active_queues : []) {
        if (q && typeof (q as { name?: unknown }).name === 'string') names.add((q as { name: string }).name);
      }
    }
    return names;
  }
}

/** What the worker routes use. */
export interface WorkerRoutesContext {
  readonly control: Control;
  readonly inspector: WorkerInspector;
  readonly state: ClusterState;
}

/** A worker the dashboard knows: from inspect replies or from its events. */
function known(ctx: WorkerRoutesContext, name: string): void {
  if (!ctx.inspector.workers.has(name) && !ctx.state.workers.has(name)) throw new HttpError(404, `Unknown worker '${name}'`);
}

/** The ok text of `name`'s reply, or a 403 naming the worker's error (Flower's error_reason). */
function okOf(replies: Replies<OkReply>, name: string, failure: string): string {
  const reply = replies[name];
  if (reply && typeof reply.ok === 'string') return reply.ok;
  throw new HttpError(403, `${failure}: ${reply?.error ?? 'Unknown reason'}`);
}

/** GET /api/workers[?refresh=1&workername=x&status=1]. */
export async function listWorkers(ctx: WorkerRoutesContext, req: Request, res: ServerResponse): Promise<void> {
  const workername = req.query.get('workername') ?? undefined;
  if (truthy(req.query.get('refresh'))) {
    try {
      await ctx.inspector.refresh(workername);
    } catch (error) {
      throw new HttpError(503, `Failed to update workers: ${(error as Error).message}`);
    }
  }
  if (truthy(req.query.get('status'))) {
    const now = Date.now() / 1000;
    sendJson(res, 200, Object.fromEntries([...ctx.state.workers.values()].map((w) => [w.hostname, isAlive(w, now)])));
    return;
  }
  if (workername) {
    const info = ctx.inspector.workers.get(workername);
    if (!info) throw new HttpError(404, `Unknown worker '${workername}'`);
    sendJson(res, 200, { [workername]: info });
    return;
  }
  sendJson(res, 200, Object.fromEntries(ctx.inspector.workers));
}

/** POST /api/worker/shutdown/:name. */
export async function shutdownWorker(ctx: WorkerRoutesContext, _req: Request, res: ServerResponse, name: string): Promise<void> {
  known(ctx, name);
  await ctx.control.shutdown({ destination: [name] });
  sendJson(res, 200, { message: 'Shutting down!' });
}

/** POST /api/worker/pool/{grow,shrink,restart,autoscale}/:name. */
export async function poolAction(ctx: WorkerRoutesContext, req: Request, res: ServerResponse, action: string, name: string): Promise<void> {
  known(ctx, name);
  const body = await req.body();
  const options = { destination: [name], limit: 1 };
  if (action === 'grow' || action === 'shrink') {
    const n = intArgument(argument(req, body, 'n'), 'n', 1);
    const replies = action === 'grow' ? await ctx.control.poolGrow(n, options) : await ctx.control.poolShrink(n, options);
    const verb = action === 'grow' ? 'Growing' : 'Shrinking';
    okOf(replies, name, `Failed to ${action} '${name}' worker's pool`);
    sendJson(res, 200, { message: `${verb} '${name}' worker's pool by ${n}` });
  } else if (action === 'restart') {
    okOf(await ctx.control.poolRestart(options), name, `Failed to restart the '${name}' pool`);
    sendJson(res, 200, { message: `Restarting '${name}' worker's pool` });
  } else if (action === 'autoscale') {
    const min = intArgument(argument(req, body, 'min'), 'min', Number.NaN);
    const max = intArgument(argument(req, body, 'max'), 'max', Number.NaN);
    if (Number.isNaN(min) || Number.isNaN(max)) throw new HttpError(400, 'Missing argument min or max.');
    okOf(await ctx.control.autoscale(max, min, options), name, `Failed to autoscale '${name}' worker`);
    sendJson(res, 200, { message: `Autoscaling '${name}' worker (min=${min}, max=${max})` });
  } else {
    throw new HttpError(404, `Unknown pool action '${action}'`);
  }
}

/** POST /api/worker/queue/{add-consumer,cancel-consumer}/:name?queue=q. */
export async function queueAction(ctx: WorkerRoutesContext, req: Request, res: ServerResponse, action: string, name: string): Promise<void> {
  known(ctx, name);
  const queue = argument(req, await req.body(), 'queue');
  if (!queue) throw new HttpError(400, 'Missing argument queue.');
  const options = { destination: [name], limit: 1 };
  const replies = action === 'add-consumer' ? await ctx.control.addConsumer(queue, {}, options) : await ctx.control.cancelConsumer(queue, options);
  const what = action === 'add-consumer' ? `Failed to add '${queue}' consumer to '${name}' worker` : `Failed to cancel '${queue}' consumer from '${name}' worker`;
  sendJson(res, 200, { message: okOf(replies, name, what) });
}

/**
 * GET /api/dashboard/workers (celeriac's, for the page): every worker seen by events or inspect, with what Flower's
 * workers page shows: online, pool, concurrency, processed/succeeded/failed/retried, load, active/reserved/scheduled
 * tasks, registered tasks and queues.
 */
export function dashboardWorkers(ctx: WorkerRoutesContext, _req: Request, res: ServerResponse): void {
  const now = Date.now() / 1000;
  const names = new Set([...ctx.state.workers.keys(), ...ctx.inspector.workers.keys()]);
  const rows = [...names].sort().map((hostname) => {
    const w = ctx.state.workers.get(hostname);
    const info = ctx.inspector.workers.get(hostname) ?? {};
    const counts = ctx.state.counter.get(hostname);
    const stats = (info.stats ?? {}) as { pool?: Record<string, unknown>; total?: Record<string, number> };
    const list = (v: unknown) => (Array.isArray(v) ? v : []);
    return {
      hostname, online: w ? isAlive(w, now) : false, sw_ident: w?.sw_ident ?? null, sw_ver: w?.sw_ver ?? null, loadavg: w?.loadavg ?? null,
      active: w?.active ?? list(info.active).length, processed: w?.processed ?? null,
      succeeded: counts?.get('task-succeeded') ?? 0, failed: counts?.get('task-failed') ?? 0, retried: counts?.get('task-retried') ?? 0,
      pool: stats.pool?.implementation ?? null, concurrency: stats.pool?.['max-concurrency'] ?? null,
      registered: list(info.registered), queues: list(info.active_queues).map((q) => (q as { name?: unknown }).name),
      activeTasks: list(info.active), reserved: list(info.reserved), scheduled: list(info.scheduled), inspected: info.timestamp ?? null,
    };
  });
  sendJson(res, 200, rows);
}
