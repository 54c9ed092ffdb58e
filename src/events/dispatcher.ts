// Publishes task and worker events on the celeryev topic exchange (REDIS-WIRE.md §12), with a Lamport clock.
// Events are transient: a failed publish is reported to the caller's logger, never thrown into task handling.

import { buildEvent, EVENT_EXCHANGE, eventRoutingKey } from '../protocol/events.js';
import { stringifyJson } from '../protocol/json.js';
import type { Transport } from '../transports/transport.js';

/**
 * Publishes task-* and worker-* events on the celeryev topic exchange with a Lamport clock (Celery's
 * EventDispatcher). Publishing failures are handed to `onError`, never thrown.
 */
export class EventDispatcher {
  private clock = 0;

  constructor(
    private readonly transport: Transport,
    readonly hostname: string,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  /** Publish one event of `type` (e.g. 'task-succeeded') with extra fields. */
  async send(type: string, fields: Record<string, unknown> = {}): Promise<void> {
    const event = buildEvent(type, this.hostname, ++this.clock, fields);
    try {
      await this.transport.publish(
        {
          body: Buffer.from(stringifyJson(event), 'utf8'),
          contentType: 'application/json',
          contentEncoding: 'utf-8',
          headers: { hostname: this.hostname },
          properties: { delivery_mode: 1 },
        },
        { exchange: EVENT_EXCHANGE, routingKey: eventRoutingKey(type) },
      );
    } catch (error) {
      this.onError(error);
    }
  }
}
