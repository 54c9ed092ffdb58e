// app.control: remote control of running workers (Celery's app.control and app.control.inspect()).

import type { Transport } from '../transports/transport.js';
import { Mailbox, type BroadcastOptions } from './mailbox.js';

/** Replies by worker name. */
export type Replies<T = unknown> = Record<string, T>;

/** Options of Control.revoke (Celery's revoke(terminate=, signal=)) on top of the broadcast options. */
export interface RevokeOptions extends BroadcastOptions {
  /** Also stop the task if it is running (Celery's terminate). */
  terminate?: boolean;
  /** Signal name for terminate in process pools (default SIGTERM). */
  signal?: string;
}

function merge<T>(replies: Array<Record<string, unknown>>): Replies<T> {
  // A loop, not Object.assign({}, ...replies): anyone on the broker can flood a reply queue.
  const merged: Record<string, unknown> = {};
  for (const reply of replies) Object.assign(merged, reply);
  return merged as Replies<T>;
}

/**
 * Remote control of running workers (Celery's app.control): broadcast commands (revoke, rateLimit, shutdown …)
 * and inspect() queries, collected for BroadcastOptions.timeoutMs. Rejects with OperationalError when the broker
 * is unreachable; workers that do not answer in time are simply missing from the replies.
 */
export class Control {
  readonly mailbox: Mailbox;

  constructor(transport: () => Promise<Transport>, oid: string) {
    this.mailbox = new Mailbox(transport, oid);
  }

  /** Send any control command and collect the replies by worker name. */
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

  /** Change a task's rate limit on workers ('10/m'); replies {ok: 'new rate limit set successfully'}. */
  rateLimit(taskName: string, rateLimit: string | number | null, options: BroadcastOptions = {}): Promise<Replies> {
    return this.broadcast('rate_limit', { task_name: taskName, rate_limit: rateLimit }, options);
  }

  /** Change a task's time limits (seconds) on workers. */
  timeLimit(taskName: string, soft: number | null, hard: number | null, options: BroadcastOptions = {}): Promise<Replies> {
    return this.broadcast('time_limit', { task_name: taskName, soft, hard }, options);
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
  active() {
    return this.ask<Array<Record<string, unknown>>>('active');
  }
  reserved() {
    return this.ask<Array<Record<string, unknown>>>('reserved');
  }
  scheduled() {
    return this.ask<Array<Record<string, unknown>>>('scheduled');
  }
  revoked() {
    return this.ask<string[]>('revoked');
  }
  activeQueues() {
    return this.ask<Array<Record<string, unknown>>>('active_queues');
  }
  queryTask(...ids: string[]) {
    return this.ask<Record<string, unknown>>('query_task', { ids });
  }
  report() {
    return this.ask<{ ok: string }>('report');
  }
}
