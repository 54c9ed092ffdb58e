// The client side of the pidbox: broadcast a request on the celery.pidbox fanout exchange and collect the
// replies that come back on this client's reply queue, matched by ticket (REDIS-WIRE.md §11).

import { randomUUID } from 'node:crypto';
import { buildControlRequest, CONTROL_EXCHANGE, parseControlReply, REPLY_EXCHANGE, replyQueue } from '../protocol/control.js';
import type { Subscription, Transport } from '../transports/transport.js';
import { setLongTimeout } from '../utils/long-timer.js';

/** Whom a remote-control command goes to and how long replies are collected (Celery's destination, timeout, limit). */
export interface BroadcastOptions {
  /** Node names that should act; default every worker. */
  destination?: readonly string[] | null;
  /** How long to collect replies, ms. Default 1000 (Celery's 1 s). */
  timeoutMs?: number;
  /** Stop after this many replies (e.g. the number of destinations). */
  limit?: number;
}

interface Pending {
  replies: Array<Record<string, unknown>>;
  limit?: number;
  done: () => void;
}

/**
 * The client side of kombu's pidbox: publishes a request on the celery.pidbox fanout exchange and collects the
 * replies that carry its ticket on this client's reply queue.
 */
export class Mailbox {
  private subscription?: Promise<Subscription>;
  private readonly pending = new Map<string, Pending>();
  private clock = 0;

  constructor(private readonly transport: () => Promise<Transport>, private readonly oid: string) {}

  /** Broadcast and collect replies: a list of `{ "<hostname>": reply }`. */
  async call(method: string, args: Record<string, unknown> = {}, options: BroadcastOptions = {}): Promise<Array<Record<string, unknown>>> {
    const transport = await this.transport();
    await this.listen(transport);
    const ticket = randomUUID();
    const timeoutMs = options.timeoutMs ?? 1000;
    const limit = options.limit ?? (options.destination?.length || undefined);
    let finish!: () => void;
    const finished = new Promise<void>((r) => (finish = r));
    const entry: Pending = { replies: [], limit, done: finish };
    this.pending.set(ticket, entry);
    const timer = setLongTimeout(finish, timeoutMs);
    try {
      await this.publish(transport, method, args, options, ticket, true, timeoutMs);
      await finished;
      return entry.replies;
    } finally {
      timer.cancel();
      this.pending.delete(ticket);
    }
  }

  /** Broadcast without waiting for replies. */
  async cast(method: string, args: Record<string, unknown> = {}, options: BroadcastOptions = {}): Promise<void> {
    await this.publish(await this.transport(), method, args, options, randomUUID(), false, options.timeoutMs ?? 1000);
  }

  async close(): Promise<void> {
    const sub = this.subscription;
    this.subscription = undefined;
    await (await sub?.catch(() => undefined))?.cancel();
  }

  private publish(transport: Transport, method: string, args: Record<string, unknown>, options: BroadcastOptions, ticket: string, reply: boolean, timeoutMs: number) {
    const request = buildControlRequest(
      {
        method,
        arguments: args,
        destination: options.destination?.length ? [...options.destination] : null,
        pattern: null,
        matcher: null,
        ticket,
        reply_to: reply ? { exchange: REPLY_EXCHANGE, routing_key: this.oid } : null,
      },
      ++this.clock,
      Date.now() / 1000 + timeoutMs / 1000,
    );
    return transport.publish(request, { exchange: CONTROL_EXCHANGE, routingKey: '' });
  }

  private listen(transport: Transport): Promise<Subscription> {
    this.subscription ??= (async () => {
      const queue = replyQueue(this.oid);
      await transport.declare({ name: queue, exchange: REPLY_EXCHANGE, exchangeType: 'direct', routingKey: this.oid, autoDelete: true, durable: false });
      return transport.subscribe([queue], (delivery) => {
        void delivery.ack().catch(() => undefined);
        try {
          const { ticket, reply } = parseControlReply(delivery.message);
          const entry = ticket ? this.pending.get(ticket) : undefined;
          if (!entry) return;
          entry.replies.push(reply);
          if (entry.limit !== undefined && entry.replies.length >= entry.limit) entry.done();
        } catch {
          // A reply that is not JSON belongs to nobody we wait for.
        }
      }, { prefetch: 0, noAck: true });
    })();
    return this.subscription;
  }
}
