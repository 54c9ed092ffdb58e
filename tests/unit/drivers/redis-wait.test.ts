// wait_replicas / wait_timeout: parsed and validated; 0 (the default) means no WAIT.

import { describe, expect, it } from 'vitest';
import { replicaWait } from '../../../src/drivers/redis-wait.js';
import { ImproperlyConfigured } from '../../../src/errors.js';

describe('replicaWait', () => {
  it('is off by default and with 0; a count and seconds otherwise (default 1 s)', () => {
    expect(replicaWait({}, 'broker_transport_options')).toBeNull();
    expect(replicaWait({ wait_replicas: 0 }, 'broker_transport_options')).toBeNull();
    expect(replicaWait({ wait_replicas: 1 }, 'broker_transport_options')).toEqual({ replicas: 1, timeoutMs: 1000 });
    expect(replicaWait({ wait_replicas: 2, wait_timeout: 0.25 }, 'broker_transport_options')).toEqual({ replicas: 2, timeoutMs: 250 });
  });

  it('refuses a count that is not a whole number and a timeout that is not positive, naming the setting', () => {
    expect(() => replicaWait({ wait_replicas: 1.5 }, 'result_backend_transport_options')).toThrow(ImproperlyConfigured);
    expect(() => replicaWait({ wait_replicas: 1, wait_timeout: 0 }, 'result_backend_transport_options')).toThrow(/result_backend_transport_options\.wait_replicas/);
  });
});
