// Publishes task and worker events on the celeryev topic exchange (REDIS-WIRE.md §12), stamped with a Lamport
// clock. Events are transient: a failed publish is reported to the caller's logger, never thrown into task handling.

import { buildEvent, EVENT_EXCHANGE, eventRoutingKey } from '../protocol/events.js';
import { stringifyJson } from '../protocol/json.js';
import type { Transport } from '../transports/transport.js';
import { LamportClock } from '../utils/clock.js';

/** Celery's EventDispatcher: one per worker or client. */
export class EventDispatcher {
  /**
   * @param clock the sender's Lamport clock (shared with its remote control); a private one by default.
   * @param exchange Celery's event_exchange (default 'celeryev').
   */
  constructor(
    private readonly transport: Transport,
    readonly hostname: string,
    private readonly onError: (error: unknown) => void = () => undefined,
    readonly clock: LamportClock = new LamportClock(),
    private readonly exchange: string = EVENT_EXCHANGE,
  ) {}

  /** Publish one event of `type` (e.g. 'task-succeeded') with extra fields. */
  async send(type: string, fields: Record<string, unknown> = {}): Promise<void> {
    const event = buildEvent(type, this.hostname, this.clock.forward(), fields);
    try {
      await this.transport.publish(
        {
          body: Buffer.from(stringifyJson(event), 'utf8'),
          contentType: 'application/json',
          contentEncoding: 'utf-8',
          headers: { hostname: this.hostname },
          properties: { delivery_mode: 1 },
        },
        { exchange: this.exchange, routingKey: eventRoutingKey(type) },
      );
    } catch (error) {
      this.onError(error);
    }
  }
}
