// RabbitMQ native delayed delivery as kombu 5.5 lays it out (Celery 5.5 uses it for ETA/countdown tasks on quorum
// queues, which cannot hold them in a worker under global QoS): 28 levels of topic exchange + TTL queue named
// celery_delayed_<level>, a delay written in binary into the routing key (one bit per level, highest first), and
// the exchange celery_delayed_delivery that hands the message to its destination's topic exchange when due.
// Only non-direct destination exchanges can be reached (the routing key carries the bits).

import type { Channel } from 'amqplib';
import type { QueueDeclaration, Route } from '../transport.js';
import { int32 } from './codec.js';

/** Highest level: 28 bits, delays up to 2^28 − 1 seconds (about 8.5 years). */
export const MAX_LEVEL = 27;
/** The exchange due messages leave by, to their destination exchange. */
export const DELIVERY_EXCHANGE = 'celery_delayed_delivery';

/** The exchange and queue of one level. */
export function levelName(level: number): string {
  return `celery_delayed_${level}`;
}

/**
 * The route of a message delayed `seconds` (an integer, 1 … 2^28 − 1) to destination routing key `routingKey`: the
 * top level's exchange, with the delay in binary (28 dot-separated bits) before the routing key.
 */
export function delayedRoute(seconds: number, routingKey: string): Route {
  const bits = Math.min(2 ** 28 - 1, Math.max(0, Math.trunc(seconds))).toString(2).padStart(MAX_LEVEL + 1, '0');
  return { exchange: levelName(MAX_LEVEL), routingKey: `${bits.split('').join('.')}.${routingKey}` };
}

/**
 * Declare the 28 levels (kombu's declare_native_delayed_delivery_exchanges_and_queues): each level's queue holds a
 * message 2^level seconds and dead-letters it to the next level down; a message whose bit for the level is 0 passes
 * the exchange straight to the next level. Idempotent.
 */
export async function declareDelayTopology(ch: Channel, queueType: 'quorum' | 'classic'): Promise<void> {
  await ch.assertExchange(DELIVERY_EXCHANGE, 'topic', { durable: true });
  for (let level = MAX_LEVEL; level >= 0; level--) {
    const name = levelName(level);
    const next = level > 0 ? levelName(level - 1) : DELIVERY_EXCHANGE;
    const skip = '*.'.repeat(MAX_LEVEL - level);
    await ch.assertExchange(name, 'topic', { durable: true });
    await ch.assertQueue(name, {
      durable: true,
      arguments: {
        'x-queue-type': queueType,
        'x-overflow': 'reject-publish',
        // py-amqp writes an int as a signed 32-bit field when it fits, else as a signed 64-bit one: the same bytes.
        'x-message-ttl': 2 ** level * 1000 <= 0x7fffffff ? int32(2 ** level * 1000) : { '!': 'long', value: 2 ** level * 1000 },
        'x-dead-letter-exchange': next,
        ...(queueType === 'quorum' ? { 'x-dead-letter-strategy': 'at-least-once' } : {}),
      },
    });
    await ch.bindQueue(name, name, `${skip}1.#`);
  }
  // Bit 0 at a level: on to the next level's exchange (the lowest hands over to the delivery exchange).
  for (let level = MAX_LEVEL; level >= 0; level--) {
    const next = level > 0 ? levelName(level - 1) : DELIVERY_EXCHANGE;
    await ch.bindExchange(next, levelName(level), `${'*.'.repeat(MAX_LEVEL - level)}0.#`);
  }
}

/**
 * Let due messages reach `queue` (kombu's bind_queue_to_native_delayed_delivery_exchange): its exchange is bound to
 * the delivery exchange, and the queue to its exchange, both with `#.<routing key>`. False for a direct exchange or
 * the default one, which the delayed routing key cannot match.
 */
export async function bindToDelayedDelivery(ch: Channel, queue: QueueDeclaration): Promise<boolean> {
  const exchange = queue.exchange ?? queue.name;
  if (exchange === '' || (queue.exchangeType ?? 'direct') === 'direct') return false;
  const key = `#.${queue.routingKey ?? queue.name}`;
  await ch.bindExchange(exchange, DELIVERY_EXCHANGE, key);
  await ch.bindQueue(queue.name, exchange, key);
  return true;
}
