// amqp://, amqps://, pyamqp://: native AMQP 0-9-1 on amqplib. RabbitMQ does the exchanges, bindings, priorities,
// prefetch and redelivery itself; this module maps messages (codec.ts), confirms every publish, and survives
// connection loss: reconnect with backoff, replay every declaration, re-subscribe every live subscription.
//
// Rooms, along amqplib's layers: connection.ts (one connection and its reconnects), channels.ts (the shared
// publish/admin channels), declarations.ts (exchanges, queues, bindings), subscription.ts (consumers), errors.ts
// (the one classification of failures). This file composes them into the Transport.

import { EventEmitter } from 'node:events';
import { OperationalError } from '../../errors.js';
import type {
  Delivery, NativeDelayedDelivery, OutgoingMessage, QueueDeclaration, Route, SubscribeOptions, Subscription, Transport,
  TransportCapabilities, TransportEvent, TransportFactory, TransportOptions,
} from '../transport.js';
import { adminChannel, lastChannelError, publisherChannel, retirePublisher } from './channels.js';
import { toPublishOptions } from './codec.js';
import { AmqpConnection } from './connection.js';
import { Declarations, WELL_KNOWN } from './declarations.js';
import { isRecoverableAmqpError, replyCodeOf } from './errors.js';
import { Subscriptions } from './subscription.js';
import { bindToDelayedDelivery, declareDelayTopology, delayedRoute } from './native-delay.js';

export { AmqpChannelError } from './errors.js';

class AmqpTransport extends EventEmitter implements Transport {
  readonly capabilities: TransportCapabilities = { fanout: true, topic: true, priority: true, redelivery: true, deferredDelivery: false };
  readonly displayUrl: string;
  private readonly connection: AmqpConnection;
  private readonly declarations: Declarations;
  private readonly subscriptions: Subscriptions;

  constructor(options: TransportOptions) {
    super();
    const report = (error: unknown) => this.emit('error', error);
    this.connection = new AmqpConnection(options, {
      restore: async (conn) => {
        await this.declarations.replay(conn);
        return this.subscriptions.attachAll(conn);
      },
      emit: (event, arg) => this.emit(event, arg),
    });
    this.displayUrl = this.connection.displayUrl;
    this.declarations = new Declarations(this.displayUrl, report);
    this.subscriptions = new Subscriptions(this.connection, this.declarations, report);
    // An 'error' event without listeners would throw; transports report, callers decide.
    this.on('error', () => {});
  }

  readonly nativeDelayedDelivery: NativeDelayedDelivery = {
    setup: (queues, queueType) => this.connection.withConnection('declare the native delayed delivery exchanges', async (conn) => {
      const ch = await adminChannel(conn);
      await declareDelayTopology(ch, queueType);
      const unreachable: string[] = [];
      for (const q of queues) if (!(await bindToDelayedDelivery(ch, q))) unreachable.push(q.name);
      return unreachable;
    }, {}),
    route: (seconds, routingKey) => delayedRoute(seconds, routingKey),
  };

  connect(signal?: AbortSignal): Promise<void> {
    return this.connection.connect(signal);
  }

  async close(): Promise<void> {
    if (this.connection.closing) return;
    this.subscriptions.detachAll();
    await this.connection.close();
  }

  async declare(declaration: QueueDeclaration): Promise<void> {
    await this.connection.withConnection(`declare queue ${declaration.name}`, async (conn) => {
      await this.declarations.declareOn(conn, declaration);
    }, { queue: declaration.name });
    // Remembered only once the broker accepted it, so a refused declaration is not replayed after reconnects.
    this.declarations.remember(declaration);
  }

  async publish(message: OutgoingMessage, route: Route): Promise<void> {
    const options = toPublishOptions(message, route);
    const b = message.body;
    const body = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    await this.connection.withConnection(`publish to exchange '${route.exchange}' with routing key '${route.routingKey}'`, async (conn) => {
      // Control and event exchanges may be published to before any consumer declared them (kombu declares them too).
      const known = WELL_KNOWN[route.exchange];
      if (known) await this.declarations.ensureExchange(conn, route.exchange, known.type);
      else if (route.exchange !== '' && !conn.exchanges.has(route.exchange)) {
        // A publish to a missing exchange would close the publishing channel, failing other publishes in flight
        // with it: check it once per connection on the admin channel instead.
        await (await adminChannel(conn)).checkExchange(route.exchange);
        conn.exchanges.add(route.exchange);
      }
      const ch = await publisherChannel(conn);
      await new Promise<void>((resolve, reject) => {
        try {
          ch.publish(route.exchange, route.routingKey, body, options, (err) => {
            if (!err) return resolve();
            const channelError = lastChannelError(ch);
            if (channelError) return reject(channelError);
            if (/nack/i.test(err.message)) {
              return reject(new OperationalError(`The broker at ${this.displayUrl} refused (nacked) a message for exchange '${route.exchange}', routing key '${route.routingKey}'. Retry the publish.`, { context: { url: this.displayUrl } }));
            }
            reject(err);
          });
        } catch (error) {
          // An encoding failure leaves amqplib's confirm bookkeeping one off: retire this channel.
          retirePublisher(conn, ch);
          reject(error);
        }
      });
    });
  }

  subscribe(queues: readonly string[], onDelivery: (delivery: Delivery) => void, options: SubscribeOptions): Promise<Subscription> {
    return this.subscriptions.open(queues, onDelivery, options);
  }

  purge(queue: string): Promise<number> {
    return this.connection.withConnection(`purge queue ${queue}`, async (conn) => {
      try {
        return (await (await adminChannel(conn)).purgeQueue(queue)).messageCount;
      } catch (error) {
        if (replyCodeOf(error) === 404) return 0;
        throw error;
      }
    }, { queue });
  }

  size(queue: string): Promise<number> {
    return this.connection.withConnection(`check queue ${queue}`, async (conn) => {
      try {
        return (await (await adminChannel(conn)).checkQueue(queue)).messageCount;
      } catch (error) {
        if (replyCodeOf(error) === 404) return 0;
        throw error;
      }
    }, { queue });
  }

  isRecoverable(error: unknown): boolean {
    return isRecoverableAmqpError(error);
  }

  override on(event: TransportEvent, listener: (arg?: unknown) => void): this {
    return super.on(event, listener);
  }

  override off(event: TransportEvent, listener: (arg?: unknown) => void): this {
    return super.off(event, listener);
  }
}

/** Open the AMQP transport for `options.url` (connects lazily, on connect() or the first operation). */
export const createTransport: TransportFactory = (options: TransportOptions) => new AmqpTransport(options);
