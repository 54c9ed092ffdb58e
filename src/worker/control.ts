// The worker's remote-control handlers (Celery's worker/control.py): listens on <hostname>.celery.pidbox,
// bound to the celery.pidbox fanout exchange, and answers on the requester's reply queue.

import { cpus } from 'node:os';
import type { Celery } from '../app/celery.js';
import { buildControlReply, CONTROL_EXCHANGE, isForWorker, parseControlRequest, workerMailboxQueue, type ControlRequest } from '../protocol/control.js';
import type { Subscription, Transport } from '../transports/transport.js';
import type { Logger } from '../utils/logger.js';
import type { Request } from './request.js';
import type { Worker } from './worker.js';

type Handler = (args: Record<string, unknown>) => unknown | Promise<unknown>;

export class ControlServer {
  private subscription?: Subscription;
  private clock = 0;
  private readonly handlers: Record<string, Handler>;

  constructor(private readonly worker: Worker, private readonly app: Celery, private readonly transport: Transport, private readonly logger: Logger) {
    this.handlers = this.buildHandlers();
  }

  async start(): Promise<void> {
    const queue = workerMailboxQueue(this.worker.hostname);
    await this.transport.declare({ name: queue, exchange: CONTROL_EXCHANGE, exchangeType: 'fanout', routingKey: '', autoDelete: true, durable: false });
    this.subscription = await this.transport.subscribe([queue], (delivery) => {
      void delivery.ack().catch(() => undefined);
      void this.handle(delivery.message).catch((e) => this.logger.error(`control: ${(e as Error).message}`));
    }, { prefetch: 0, noAck: true });
  }

  async stop(): Promise<void> {
    await this.subscription?.cancel();
  }

  private async handle(message: { body: Uint8Array; contentType: string; headers: Record<string, unknown> }): Promise<void> {
    const { request, expires } = parseControlRequest(message);
    if (!isForWorker(request, this.worker.hostname)) return;
    if (expires !== null && expires * 1000 < Date.now()) {
      this.logger.debug(`control: ignoring expired ${request.method} request`);
      return;
    }
    const handler = this.handlers[request.method];
    let reply: unknown;
    if (!handler) reply = { error: `No such control command: ${request.method}` };
    else {
      try {
        reply = await handler(request.arguments);
      } catch (error) {
        reply = { error: (error as Error).message };
      }
    }
    this.logger.debug(`control: ${request.method} → ${JSON.stringify(reply).slice(0, 200)}`);
    await this.reply(request, reply);
  }

  private async reply(request: ControlRequest, reply: unknown): Promise<void> {
    if (!request.reply_to) return;
    await this.transport.publish(buildControlReply(this.worker.hostname, reply, request.ticket, ++this.clock), {
      exchange: request.reply_to.exchange,
      routingKey: request.reply_to.routing_key,
    });
  }

  private describe(r: Request): Record<string, unknown> {
    const m = r.message;
    return {
      id: m.id, name: m.task, args: m.args, kwargs: m.kwargs, type: m.task, hostname: this.worker.hostname,
      time_start: r.startedAt ? r.startedAt / 1000 : null, acknowledged: r.acknowledged,
      delivery_info: { ...r.delivery.message.deliveryInfo, redelivered: r.delivery.redelivered }, worker_pid: process.pid,
    };
  }

  private buildHandlers(): Record<string, Handler> {
    const w = this.worker;
    const state = w.state;
    return {
      ping: () => ({ ok: 'pong' }),
      stats: () => ({
        total: Object.fromEntries(state.total),
        pid: process.pid,
        clock: String(this.clock),
        uptime: Math.round((Date.now() - state.startedAt) / 1000),
        pool: { 'max-concurrency': w.concurrency, implementation: w.poolKind, processes: childPids(w.poolStats()?.children) ?? [process.pid] },
        broker: { transport: this.transport.displayUrl },
        prefetch_count: w.prefetchCount,
        rusage: { utime: process.cpuUsage().user / 1e6, stime: process.cpuUsage().system / 1e6, maxrss: Math.round(process.resourceUsage().maxRSS) },
        cpus: cpus().length,
      }),
      registered: () => this.app.tasks.names().map((name) => {
        const limit = this.app.tasks.get(name).options.rateLimit;
        return limit ? `${name} [rate_limit=${String(limit)}]` : name;
      }),
      active: () => [...state.active.values()].map((r) => this.describe(r)),
      reserved: () => [...state.reserved.values()].filter((r) => !r.message.eta).map((r) => this.describe(r)),
      scheduled: () => [...state.reserved.values()].filter((r) => r.message.eta).map((r) => ({ eta: r.message.eta, priority: r.delivery.message.properties.priority ?? 0, request: this.describe(r) })),
      revoked: () => [...state.revoked],
      query_task: (args) => {
        const ids = (args.ids as string[] | undefined) ?? [];
        const out: Record<string, unknown> = {};
        for (const id of ids) {
          const r = state.active.get(id) ?? state.reserved.get(id);
          if (r) out[id] = [state.active.has(id) ? 'active' : 'reserved', this.describe(r)];
        }
        return out;
      },
      active_queues: () => w.queueNames.map((name) => ({ name, exchange: { name, type: 'direct' }, routing_key: name, durable: true, auto_delete: false })),
      rate_limit: (args) => {
        const name = String(args.task_name);
        if (!this.app.tasks.has(name)) return { error: `unknown task ${name}` };
        w.setRateLimit(name, (args.rate_limit as string | number | null) ?? null);
        return { ok: args.rate_limit ? 'new rate limit set successfully' : 'rate limit disabled successfully' };
      },
      time_limit: (args) => {
        const name = String(args.task_name);
        if (!this.app.tasks.has(name)) return { error: `unknown task ${name}` };
        w.setTimeLimits(name, (args.soft as number | null) ?? null, (args.hard as number | null) ?? null);
        return { ok: 'time limits set successfully' };
      },
      revoke: (args) => {
        const ids = Array.isArray(args.task_id) ? args.task_id.map(String) : [String(args.task_id)];
        for (const id of ids) w.revoke(id, { terminate: Boolean(args.terminate), signal: args.signal as string | number | undefined });
        return { ok: `tasks ${ids.join(', ')} flagged as revoked` };
      },
      shutdown: () => {
        this.logger.warn('Got shutdown from remote');
        setImmediate(() => void w.stop('warm'));
        return { ok: 'shutting down' };
      },
      report: () => ({ ok: `celeriac ${w.hostname}: ${state.active.size} active, ${state.processed} processed` }),
    };
  }
}

/** The pids of a process pool's children; null for in-process pools (threads share the worker's pid). */
function childPids(children: readonly { readonly pid?: number | null }[] | undefined): number[] | null {
  const pids = (children ?? []).map((c) => c.pid).filter((pid): pid is number => typeof pid === 'number');
  return pids.length ? pids : null;
}
