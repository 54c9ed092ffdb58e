// Exchanges, queues and bindings: declared with Celery's arguments and types (AMQP-WIRE.md §1), cached per
// connection, and remembered once the broker accepted them, so every new connection replays them.

import { ImproperlyConfigured, OperationalError } from '../../errors.js';
import type { ExchangeType, QueueDeclaration } from '../transport.js';
import { adminChannel } from './channels.js';
import { int32 } from './codec.js';
import type { Conn } from './connection.js';
import { channelError, errorText, isChannelRefusal, isConnectionLoss, replyCodeOf } from './errors.js';

/** Exchanges Celery declares with fixed settings (AMQP-WIRE.md §1): declaring them otherwise is a 406. */
export const WELL_KNOWN: Readonly<Record<string, { type: ExchangeType; durable: boolean }>> = {
  celery: { type: 'direct', durable: true },
  'celery.pidbox': { type: 'fanout', durable: false },
  'reply.celery.pidbox': { type: 'direct', durable: false },
  celeryev: { type: 'topic', durable: true },
};

function declarationKey(d: QueueDeclaration): string {
  return JSON.stringify([d.name, d.exchange ?? d.name, d.exchangeType ?? null, d.routingKey ?? d.name, d.durable ?? true, d.autoDelete ?? false, d.maxPriority ?? null, d.expires ?? null, d.messageTtl ?? null, d.queueArguments ?? null]);
}

/** The declarations of one transport: what it declared, and how to declare it on a connection. */
export class Declarations {
  private readonly accepted = new Map<string, QueueDeclaration>();

  /** `report` receives problems worth logging that do not fail the operation (an exchange with other settings). */
  constructor(private readonly displayUrl: string, private readonly report: (error: unknown) => void) {}

  /** Remember a declaration the broker accepted (most recent last), so it is replayed after reconnects. */
  remember(d: QueueDeclaration): void {
    const key = declarationKey(d);
    this.accepted.delete(key);
    this.accepted.set(key, d);
  }

  /** The remembered declaration of a queue (for re-creating it when the broker deleted it under a consumer). */
  of(queue: string): QueueDeclaration | undefined {
    let found: QueueDeclaration | undefined;
    for (const d of this.accepted.values()) if (d.name === queue) found = d;
    return found;
  }

  /**
   * Declare every remembered declaration on a fresh connection. Refusals are reported and skipped; a connection
   * loss rejects (the reconnect starts over).
   */
  async replay(conn: Conn): Promise<void> {
    for (const declaration of [...this.accepted.values()]) {
      try {
        await this.declareOn(conn, declaration);
      } catch (error) {
        if (conn.closed || isConnectionLoss(error)) throw error;
        this.report(error);
      }
    }
  }

  /**
   * exchange.declare + queue.declare + queue.bind on this connection, with Celery's arguments and types. `force`
   * skips the per-connection cache. Throws ImproperlyConfigured on 406 (the queue exists with other settings),
   * AmqpChannelError on other refusals, amqplib's error on a connection loss.
   */
  async declareOn(conn: Conn, d: QueueDeclaration, force = false): Promise<void> {
    const key = declarationKey(d);
    // As kombu: queues that can vanish on their own (auto-delete, x-expires) are declared every time, so a reply
    // queue deleted since is back before a publish to it; the others once per connection.
    const cacheable = !d.autoDelete && (d.expires === undefined || d.expires === null);
    if (!force && cacheable && conn.declared.has(key)) return;
    const exchange = d.exchange ?? d.name;
    const routingKey = d.routingKey ?? d.name;
    if (exchange !== '') await this.ensureExchange(conn, exchange, d.exchangeType ?? WELL_KNOWN[exchange]?.type ?? 'direct');
    const args: Record<string, unknown> = { ...d.queueArguments };
    // Celery sends both as signed 32-bit ints (I): send the same bytes (amqplib alone would pick a byte or a short).
    if (d.maxPriority !== undefined && d.maxPriority !== null) args['x-max-priority'] = int32(Math.trunc(d.maxPriority));
    if (d.expires !== undefined && d.expires !== null) args['x-expires'] = int32(Math.round(d.expires * 1000));
    if (d.messageTtl !== undefined && d.messageTtl !== null) args['x-message-ttl'] = int32(Math.round(d.messageTtl * 1000));
    const admin = await adminChannel(conn);
    try {
      await admin.assertQueue(d.name, { durable: d.durable ?? true, autoDelete: d.autoDelete ?? false, exclusive: false, arguments: args });
      if (exchange !== '') await admin.bindQueue(d.name, exchange, routingKey);
    } catch (error) {
      const code = replyCodeOf(error);
      if (code === 406) {
        throw new ImproperlyConfigured(
          `Queue ${d.name} already exists on ${this.displayUrl} with other settings: ${errorText(error)}. Declare it with the same settings everywhere (task_queue_max_priority, queue arguments), or delete the queue.`,
          { cause: error, context: { queue: d.name, url: this.displayUrl } },
        );
      }
      if (isChannelRefusal(code)) throw channelError(this.displayUrl, `declare queue ${d.name}`, error, code, { queue: d.name });
      throw error;
    }
    conn.declared.add(key);
  }

  /** Declare an exchange once per connection; one that exists with other settings is used as it is. */
  async ensureExchange(conn: Conn, exchange: string, type: ExchangeType): Promise<void> {
    if (conn.exchanges.has(exchange)) return;
    const durable = WELL_KNOWN[exchange]?.durable ?? true;
    try {
      await (await adminChannel(conn)).assertExchange(exchange, type, { durable, autoDelete: false, internal: false });
    } catch (error) {
      const code = replyCodeOf(error);
      if (code !== 406 && code !== 403) throw error;
      // It exists with another type or durability (declared by someone else): routing still works through it.
      await new Promise((r) => setImmediate(r));
      try {
        await (await adminChannel(conn)).checkExchange(exchange);
      } catch (inner) {
        if (isChannelRefusal(replyCodeOf(inner))) throw channelError(this.displayUrl, `declare exchange ${exchange}`, error, code);
        throw inner;
      }
      this.report(new OperationalError(`Exchange ${exchange} exists on ${this.displayUrl} with other settings than ${type}/${durable ? 'durable' : 'transient'} (${errorText(error)}); using it as it is.`));
    }
    conn.exchanges.add(exchange);
  }
}
