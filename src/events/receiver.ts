// Consume task and worker events (CLI `events`, tests, monitors): binds an auto-deleting queue to the celeriac
// topic exchange with key '#', and accepts both single events and Python's batched task.multi lists.

import { randomUUID } from 'node:crypto';
import { EVENT_EXCHANGE, type EventFields } from '../protocol/events.js';
import { parseJson } from '../protocol/json.js';
import type { Subscription, Transport } from '../transports/transport.js';

/**
 * Consumes events (Celery's EventReceiver): an auto-delete queue bound to celeryev with `routingKey` ('#' = all);
 * batched task.multi messages are split into single events.
 */
export class EventReceiver {
  private subscription?: Subscription;

  constructor(private readonly transport: Transport, private readonly onEvent: (event: EventFields) => void, private readonly routingKey = '#') {}

  async start(): Promise<void> {
    const queue = `celeryev.${randomUUID()}`;
    await this.transport.declare({ name: queue, exchange: EVENT_EXCHANGE, exchangeType: 'topic', routingKey: this.routingKey, autoDelete: true, durable: false });
    this.subscription = await this.transport.subscribe([queue], (delivery) => {
      void delivery.ack().catch(() => undefined);
      let doc: unknown;
      try {
        doc = parseJson(Buffer.from(delivery.message.body).toString('utf8'));
      } catch {
        return; // not an event
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
