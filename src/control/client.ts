// app.control: remote control of running workers (Celery's app.control and app.control.inspect()). Every
// command Celery 5.6's worker answers has a method here, sending the arguments Celery's client sends.

import { DEFAULT_PIDBOX_QUEUE } from '../protocol/control.js';
import type { Transport } from '../transports/transport.js';
import { Mailbox, type BroadcastOptions } from './mailbox.js';

/** Replies by worker name. */
export type Replies<T = unknown> = Record<string, T>;

/** What workers answer to commands that change something: `{ ok: '…' }` or `{ error: '…' }`. */
export interface OkReply {
  ok?: string;
  error?: string;
}

/** Options of Control.revoke (Celery's revoke(terminate=, signal=)) on top of the broadcast options. */
export interface RevokeOptions extends BroadcastOptions {
  /** Also stop the task if it is running (Celery's terminate). */
  terminate?: boolean;
  /** Signal name for terminate in process pools (default SIGTERM). */
  signal?: string;
}

/** Reads Celery-named settings (app.conf.get); the client takes its pidbox names and queue arguments from them. */
export type SettingReader = (name: string) => unknown;

function merge<T>(replies: Array<Record<string, unknown>>): Replies<T> {
  // A loop, not Object.assign({}, ...replies): anyone on the broker can flood a reply queue.
  const merged: Record<string, unknown> = {};
  for (const reply of replies) Object.assign(merged, reply);
  return merged as Replies<T>;
}

function seconds(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/**
 * Remote control of running workers (Celery's app.control): broadcast commands (revoke, rateLimit, addConsumer …)
 * and inspect() queries, collected for BroadcastOptions.timeout (seconds) or timeoutMs. Rejects with OperationalError when the broker
 * is unreachable; workers that do not answer in time are simply missing from the replies.
 */
export class Control {
  readonly mailbox: Mailbox;

  constructor(transport: () => Promise<Transport>, oid: string, setting: SettingReader = () => undefined) {
    const expires = setting('control_queue_expires');
    const ttl = setting('control_queue_ttl');
    this.mailbox = new Mailbox(transport, oid, {
      namespace: (setting('control_exchange') as string | undefined) ?? undefined,
      // As Celery's Mailbox: requests go out with task_serializer when it is 'auth' (signed), else as json.
      serializer: setting('task_serializer') === 'auth' ? 'auth' : 'json',
      queue: {
        expires: expires === undefined ? DEFAULT_PIDBOX_QUEUE.expires : seconds(expires),
        messageTtl: ttl === undefined ? DEFAULT_PIDBOX_QUEUE.messageTtl : seconds(ttl),
      },
    });
  }

  /** Send any control command and collect the replies by worker name (`reply: false` sends without waiting). */
  async broadcast<T = unknown>(method: string, args: Record<string, unknown> = {}, options: BroadcastOptions & { reply?: boolean } = {}): Promise<Replies<T>> {
    if (options.reply === false) {
      await this.mailbox.cast(method, args, options);
      return {};
    }
    return merge<T>(await this.mailbox.call(method, args, options));
  }

  /** Workers that answer, with {ok: 'pong'}. */
  ping(options: BroadcastOptions = {}): Promise<Replies<{ ok: string }>> {
    return this.broadcast('ping', {}, options);
  }

  /** Revoke task ids on every worker: waiting deliveries are discarded (REVOKED), running ones stopped with terminate. */
  async revoke(taskId: string | readonly string[], options: RevokeOptions = {}): Promise<void> {
    await this.broadcast('revoke', { task_id: taskId, terminate: options.terminate ?? false, signal: options.signal ?? 'SIGTERM' }, { ...options, reply: false });
  }

  /** Revoke every task whose stamps match (Celery 5.3+): `{ mtask_id: ['a', 'b'] }` or `['mtask_id=a']`. */
  async revokeByStampedHeaders(headers: Record<string, unknown> | readonly string[], options: RevokeOptions = {}): Promise<void> {
    await this.broadcast('revoke_by_stamped_headers', { headers, terminate: options.terminate ?? false, signal: options.signal ?? 'SIGTERM' }, { ...options, reply: false });
  }

  /** Revoke and stop running tasks (Celery's terminate). */
  terminate(taskId: string | readonly string[], options: RevokeOptions = {}): Promise<void> {
    return this.revoke(taskId, { ...options, terminate: true });
  }

  /** Change a task's rate limit on workers ('10/m'); replies {ok: 'new rate limit set successfully'}. */
  rateLimit(taskName: string, rateLimit: string | number | null, options: BroadcastOptions = {}): Promise<Replies<OkReply>> {
    return this.broadcast('rate_limit', { task_name: taskName, rate_limit: rateLimit }, options);
  }

  /** Change a task's time limits (seconds) on workers. */
  timeLimit(taskName: string, soft: number | null, hard: number | null, options: BroadcastOptions = {}): Promise<Replies<OkReply>> {
    return this.broadcast('time_limit', { task_name: taskName, soft, hard }, options);
  }

  /** Start consuming a queue (declared with the given exchange, type and routing key; defaults to the queue's name). */
  addConsumer(queue: string, declaration: { exchange?: string; exchangeType?: string; routingKey?: string } = {}, options: BroadcastOptions = {}): Promise<Replies<OkReply>> {
    return this.broadcast('add_consumer', {
      queue, exchange: declaration.exchange ?? null, exchange_type: declaration.exchangeType ?? 'direct', routing_key: declaration.routingKey ?? null,
    }, options);
  }

  /** Stop consuming a queue. */
  cancelConsumer(queue: string, options: BroadcastOptions = {}): Promise<Replies<OkReply>> {
    return this.broadcast('cancel_consumer', { queue }, options);
  }

  /** Turn task events on (what Flower sends every 5 s). */
  enableEvents(options: BroadcastOptions = {}): Promise<Replies<OkReply>> {
    return this.broadcast('enable_events', {}, options);
  }

  /** Turn task events off. */
  disableEvents(options: BroadcastOptions = {}): Promise<Replies<OkReply>> {
    return this.broadcast('disable_events', {}, options);
  }

  /** Ask workers to send a worker-heartbeat event now (what event monitors send when they start). */
  heartbeat(options: BroadcastOptions = {}): Promise<Replies<null>> {
    return this.broadcast('heartbeat', {}, options);
  }

  /** Add `n` children (threads/prefork) or slots (async) to the pool. */
  poolGrow(n = 1, options: BroadcastOptions = {}): Promise<Replies<OkReply>> {
    return this.broadcast('pool_grow', { n }, options);
  }

  /** Remove `n` children or slots from the pool. */
  poolShrink(n = 1, options: BroadcastOptions = {}): Promise<Replies<OkReply>> {
    return this.broadcast('pool_shrink', { n }, options);
  }

  /** Replace every pool child (new children import the app module afresh); needs worker_pool_restarts. */
  poolRestart(options: BroadcastOptions & { modules?: readonly string[]; reload?: boolean } = {}): Promise<Replies<OkReply>> {
    return this.broadcast('pool_restart', { modules: options.modules ?? null, reload: options.reload ?? false, reloader: null }, options);
  }

  /** Change the autoscale range of workers started with --autoscale. */
  autoscale(max: number, min: number, options: BroadcastOptions = {}): Promise<Replies<OkReply>> {
    return this.broadcast('autoscale', { max, min }, options);
  }

  /** Hold an election (Celery's gossip; celeriac workers take no part and reply null). */
  election(id: string, topic: string, action: string | null = null, options: BroadcastOptions = {}): Promise<Replies<null>> {
    return this.broadcast('election', { id, topic, action }, options);
  }

  /** Ask workers to shut down warmly. */
  async shutdown(options: BroadcastOptions = {}): Promise<void> {
    await this.broadcast('shutdown', {}, { ...options, reply: false });
  }

  inspect(options: BroadcastOptions = {}): Inspect {
    return new Inspect(this, options);
  }

  close(): Promise<void> {
    return this.mailbox.close();
  }
}

/** Read-only questions to workers (Celery's app.control.inspect()). */
export class Inspect {
  constructor(private readonly control: Control, private readonly options: BroadcastOptions) {}

  private ask<T>(method: string, args: Record<string, unknown> = {}): Promise<Replies<T>> {
    return this.control.broadcast<T>(method, args, this.options);
  }

  ping() {
    return this.ask<{ ok: string }>('ping');
  }
  stats() {
    return this.ask<Record<string, unknown>>('stats');
  }
  registered(...taskinfoitems: string[]) {
    return this.ask<string[]>('registered', { taskinfoitems });
  }
  active(safe: boolean | null = null) {
    return this.ask<Array<Record<string, unknown>>>('active', { safe });
  }
  reserved(safe: boolean | null = null) {
    return this.ask<Array<Record<string, unknown>>>('reserved', { safe });
  }
  scheduled(safe: boolean | null = null) {
    return this.ask<Array<Record<string, unknown>>>('scheduled', { safe });
  }
  revoked() {
    return this.ask<string[]>('revoked');
  }
  activeQueues() {
    return this.ask<Array<Record<string, unknown>>>('active_queues');
  }
  queryTask(...ids: string[]) {
    return this.ask<Record<string, [string, Record<string, unknown>]>>('query_task', { ids });
  }
  conf(withDefaults = false) {
    return this.ask<Record<string, unknown>>('conf', { with_defaults: withDefaults });
  }
  clock() {
    return this.ask<{ clock: number }>('clock');
  }
  report() {
    return this.ask<{ ok: string }>('report');
  }
  memsample() {
    return this.ask<string | null>('memsample');
  }
  memdump(samples = 10) {
    return this.ask<string>('memdump', { samples });
  }
  objgraph(type = 'Request', num = 200, maxDepth = 10) {
    return this.ask<Record<string, unknown>>('objgraph', { type, num, max_depth: maxDepth });
  }
}
