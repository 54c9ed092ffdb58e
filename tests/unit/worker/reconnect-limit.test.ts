// limitReconnects: broker_connection_max_retries / broker_connection_retry after a loss at run time.

import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { limitReconnects } from '../../../src/worker/broker-connect.js';
import { OperationalError } from '../../../src/errors.js';

function watch(policy: { retry: boolean; maxRetries: number | null }) {
  const transport = new EventEmitter();
  const gaveUp: OperationalError[] = [];
  limitReconnects(transport, policy, 'redis://h:6379/0', (e) => gaveUp.push(e));
  return { transport, gaveUp };
}

describe('limitReconnects', () => {
  it('gives up once, after max_retries failed attempts following the loss; a reconnect starts the count over', () => {
    const { transport, gaveUp } = watch({ retry: true, maxRetries: 2 });
    transport.emit('disconnected', new Error('lost'));
    transport.emit('reconnect-failed', new Error('refused'));
    transport.emit('connected');
    transport.emit('disconnected', new Error('lost again'));
    transport.emit('disconnected', new Error('refused'));
    transport.emit('reconnect-failed', new Error('refused'));
    expect(gaveUp).toHaveLength(0);
    transport.emit('reconnect-failed', new Error('still refused.'));
    transport.emit('disconnected', new Error('later'));
    expect(gaveUp).toHaveLength(1);
    expect(gaveUp[0]!.message).toBe('The connection to the broker at redis://h:6379/0 was lost and not re-established after 3 reconnect attempt(s) (broker_connection_max_retries = 2): still refused. The worker stops: check the broker, or set broker_connection_max_retries to null to retry forever.');
  });

  it('0 stops at the first failed attempt, null never, and retry false at the loss itself', () => {
    const zero = watch({ retry: true, maxRetries: 0 });
    zero.transport.emit('disconnected', new Error('lost'));
    expect(zero.gaveUp).toHaveLength(0);
    zero.transport.emit('disconnected', new Error('refused'));
    expect(zero.gaveUp).toHaveLength(1);

    const forever = watch({ retry: true, maxRetries: null });
    for (let i = 0; i < 1000; i++) forever.transport.emit('disconnected', new Error('refused'));
    expect(forever.gaveUp).toHaveLength(0);

    const never = watch({ retry: false, maxRetries: 100 });
    never.transport.emit('disconnected', new Error('lost'));
    expect(never.gaveUp[0]!.message).toMatch(/not re-established \(broker_connection_retry is false\): lost\./);
  });
});
