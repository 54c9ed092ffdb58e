// broker_transport_options.lease_timeout: seconds, 0/false = off; renewals often enough for both clocks.

import { describe, expect, it } from 'vitest';
import { leaseTiming } from '../../../src/transports/virtual/lease.js';
import { ImproperlyConfigured } from '../../../src/errors.js';

describe('leaseTiming', () => {
  it('defaults to 15 s, renewed every 3 s under the default hour-long visibility timeout', () => {
    expect(leaseTiming({}, 3_600_000)).toEqual({ ttlMs: 15_000, renewMs: 3_000 });
  });
  it('renews at least three times per visibility timeout, so no visibility sweep takes a live lease\'s messages', () => {
    expect(leaseTiming({ lease_timeout: 30 }, 3_000)).toEqual({ ttlMs: 30_000, renewMs: 1_000 });
  });
  it('0 or false turns leases off', () => {
    expect(leaseTiming({ lease_timeout: 0 }, 1000)).toBeNull();
    expect(leaseTiming({ lease_timeout: false }, 1000)).toBeNull();
  });
  it.each([-1, 0.5, 'soon', 100_000, Number.NaN])('refuses %s with ImproperlyConfigured naming the option', (v) => {
    expect(() => leaseTiming({ lease_timeout: v }, 1000)).toThrow(ImproperlyConfigured);
    expect(() => leaseTiming({ lease_timeout: v }, 1000)).toThrow(/lease_timeout/);
  });
});
