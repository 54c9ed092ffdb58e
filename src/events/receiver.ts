// Consume task and worker events (CLI `events`, tests, monitors): binds a queue to the celeryev topic exchange
// with key '#', declared as Celery's EventReceiver declares it (auto-delete, x-expires 60 s, x-message-ttl 5 s),
// and accepts both single events and Python's batched task.multi lists, as json or signed (event_serializer 'auth'
// on a Python worker set up with setup_security: verified when this process set up signing, else dropped).

import { randomUUID } from 'node:crypto';
import { EVENT_EXCHANGE, type EventFields } from '../protocol/events.js';
import { parseJson } from '../protocol/json.js';
import { acceptSet, decode } from '../protocol/serializers.js';
import type { Subscription, Transport } from '../transports/transport.js';

const SIGNED = acceptSet(['auth']);

/** Celery's event_queue_* and event_exchange settings. */
export interface EventReceiverOptions {
  /** Topic pattern; default '#' (every event). */
  readonly routingKey?: string;
  /** event_exchange; default 'celeryev'. */
  readonly exchange?: string;
  /** event_queue_prefix; default 'celeryev'. */
  readonly queuePrefix?: string;
  /** event_queue_expires, seconds (x-expires); default 60, null for none. */
  readonly expires?: number | null;
  /** event_queue_ttl, seconds (x-message-ttl); default 5, null for none. */
  readonly messageTtl?: number | null;
}

/** Celery's EventReceiver: calls `onEvent` for every event that arrives. */
export class EventReceiver {
  private subscription?: Subscription;

  constructor(private readonly transport: Transport, private readonly onEvent: (event: EventFields) => void, private readonly options: EventReceiverOptions = {}) {}

  async start(): Promise<void> {
    const o = this.options;
    const queue = `${o.queuePrefix ?? 'celeryev'}.${randomUUID()}`;
    const expires = o.expires === undefined ? 60 : o.expires;
    const messageTtl = o.messageTtl === undefined ? 5 : o.messageTtl;
    await this.transport.declare({
      name: queue, exchange: o.exchange ?? EVENT_EXCHANGE, exchangeType: 'topic', routingKey: o.routingKey ?? '#', autoDelete: true, durable: false,
      ...(expires !== null ? { expires } : {}), ...(messageTtl !== null ? { messageTtl } : {}),
    });
    this.subscription = await this.transport.subscribe([queue], (delivery) => {
      void delivery.ack().catch(() => undefined);
      let doc: unknown;
      try {
        const { body, contentType } = delivery.message;
        doc = contentType === 'application/data' ? decode({ body, contentType }, SIGNED, 'event') : parseJson(Buffer.from(body).toString('utf8'));
      } catch {
        return; // not an event, or a signed one that does not verify
      }
      for (const event of Array.isArray(doc) ? doc : [doc]) {
        if (event && typeof event === 'object' && typeof (event as EventFields).type === 'string') this.onEvent(event as EventFields);
      }
    }, { prefetch: 0, noAck: true });
  }

  async stop(): Promise<void> {
    await this.subscription?.cancel();
  }
}
