// The client side of the pidbox: broadcast a request on the <ns>.pidbox fanout exchange and collect the replies
// that come back on this client's reply queue, matched by ticket (REDIS-WIRE.md §11, AMQP-WIRE.md §7). The reply
// queue is declared exactly as kombu declares it, so Python and celeriac clients and workers share a broker.

import { randomUUID } from 'node:crypto';
import {
  buildControlRequest, DEFAULT_PIDBOX_QUEUE, parseControlReply, pidboxNames, replyQueueDeclaration,
  type PidboxNames, type PidboxQueueSettings,
} from '../protocol/control.js';
import type { Subscription, Transport } from '../transports/transport.js';
import { LamportClock } from '../utils/clock.js';
import { ImproperlyConfigured } from '../errors.js';
import { setLongTimeout } from '../utils/long-timer.js';

/** Whom a remote-control command goes to and how long replies are collected (Celery's destination, timeout, limit). */
export interface BroadcastOptions {
  /** Node names that should act; default every worker. */
  destination?: readonly string[] | null;
  /** Instead of a destination: a glob pattern node names must match (kombu's pattern + matcher 'glob'). */
  pattern?: string | null;
  /** How long to collect replies, in seconds as Celery's `timeout=` (default 1). */
  timeout?: number;
  /** The same window in milliseconds; give `timeout` or `timeoutMs`, not both. */
  timeoutMs?: number;
  /** Stop after this many replies (e.g. the number of destinations). */
  limit?: number;
}

/** Where and how the mailbox declares its queues: Celery's control_exchange, control_queue_expires/ttl. */
export interface MailboxOptions {
  /** control_exchange; default 'celery'. */
  readonly namespace?: string;
  readonly queue?: PidboxQueueSettings;
  /** 'auth' signs every request (Celery's Mailbox serializes with task_serializer; celeriac signs or sends json). */
  readonly serializer?: 'json' | 'auth';
}

interface Pending {
  replies: Array<Record<string, unknown>>;
  limit?: number;
  done: () => void;
}

/** kombu's Mailbox for one client (oid): call/cast requests, collect replies by ticket. */
export class Mailbox {
  private subscription?: Promise<Subscription>;
  private readonly pending = new Map<string, Pending>();
  readonly clock = new LamportClock();
  readonly names: PidboxNames;
  private readonly queueSettings: PidboxQueueSettings;
  private readonly serializer: 'json' | 'auth';

  constructor(private readonly transport: () => Promise<Transport>, private readonly oid: string, options: MailboxOptions = {}) {
    this.names = pidboxNames(options.namespace);
    this.queueSettings = options.queue ?? DEFAULT_PIDBOX_QUEUE;
    this.serializer = options.serializer ?? 'json';
  }

  /** Broadcast and collect replies: a list of `{ "<hostname>": reply }`. */
  async call(method: string, args: Record<string, unknown> = {}, options: BroadcastOptions = {}): Promise<Array<Record<string, unknown>>> {
    const transport = await this.transport();
    await this.listen(transport);
    const ticket = randomUUID();
    const timeoutMs = replyWindowMs(options);
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
    await this.publish(await this.transport(), method, args, options, randomUUID(), false, replyWindowMs(options));
  }

  async close(): Promise<void> {
    const sub = this.subscription;
    this.subscription = undefined;
    await (await sub?.catch(() => undefined))?.cancel();
  }

  private publish(transport: Transport, method: string, args: Record<string, unknown>, options: BroadcastOptions, ticket: string, reply: boolean, timeoutMs: number) {
    const pattern = options.destination?.length ? null : (options.pattern ?? null);
    const request = buildControlRequest(
      {
        method,
        arguments: args,
        destination: options.destination?.length ? [...options.destination] : null,
        pattern,
        matcher: pattern === null ? null : 'glob',
        ticket,
        reply_to: reply ? { exchange: this.names.replyExchange, routing_key: this.oid } : null,
      },
      this.clock.forward(),
      Date.now() / 1000 + timeoutMs / 1000,
      this.serializer,
    );
    return transport.publish(request, { exchange: this.names.exchange, routingKey: '' });
  }

  private listen(transport: Transport): Promise<Subscription> {
    this.subscription ??= (async () => {
      const declaration = replyQueueDeclaration(this.names, this.oid, this.queueSettings);
      await transport.declare(declaration);
      return transport.subscribe([declaration.name], (delivery) => {
        void delivery.ack().catch(() => undefined);
        try {
          const { ticket, reply } = parseControlReply(delivery.message);
          this.clock.adjust(delivery.message.headers.clock);
          const entry = ticket ? this.pending.get(ticket) : undefined;
          if (!entry) return;
          entry.replies.push(reply);
          if (entry.limit !== undefined && entry.replies.length >= entry.limit) entry.done();
        } catch {
          // A reply that is not JSON, or whose signature does not verify, belongs to nobody we wait for.
        }
      }, { prefetch: 0, noAck: true });
    })();
    // A failed declare (a broker hiccup) must not poison every later call.
    this.subscription.catch(() => {
      this.subscription = undefined;
    });
    return this.subscription;
  }
}

/**
 * The reply window in ms from `timeout` (seconds, Celery's unit) or `timeoutMs`; 1000 when neither is given.
 * Throws ImproperlyConfigured for both at once, or for a value that is not a number ≥ 0.
 */
export function replyWindowMs(options: Pick<BroadcastOptions, 'timeout' | 'timeoutMs'>): number {
  const { timeout, timeoutMs } = options;
  if (timeout !== undefined && timeoutMs !== undefined) {
    throw new ImproperlyConfigured(`Broadcast options give both timeout (${timeout} s) and timeoutMs (${timeoutMs} ms). Give one: timeout in seconds, as Celery does.`);
  }
  const [value, name, scale] = timeout !== undefined ? [timeout, 'timeout', 1000] : [timeoutMs ?? 1000, 'timeoutMs', 1];
  if (typeof value !== 'number' || !(value >= 0) || value === Infinity) {
    throw new ImproperlyConfigured(`Broadcast option ${name}: ${String(value)} is not a finite number ≥ 0. Give timeout in seconds, e.g. { timeout: 1 }.`);
  }
  return value * scale;
}
