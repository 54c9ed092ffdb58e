// RabbitMQ native delayed delivery routing keys (kombu 5.5's calculate_routing_key): 28 bits, highest level first.

import { describe, expect, it } from 'vitest';
import { delayedRoute, levelName } from '../../../src/transports/amqp/native-delay.js';

describe('native delayed delivery routes', () => {
  it('writes the delay in 28 binary digits before the routing key, to the top level exchange', () => {
    const route = delayedRoute(20, 'rk.tasks');
    expect(route.exchange).toBe('celery_delayed_27');
    expect(route.routingKey).toBe(`${'0.'.repeat(23)}1.0.1.0.0.rk.tasks`);
  });

  it('caps the delay at 2^28 − 1 seconds and names the levels', () => {
    expect(delayedRoute(2 ** 40, 'q').routingKey).toBe(`${'1.'.repeat(28)}q`);
    expect(levelName(0)).toBe('celery_delayed_0');
  });
});
