// result_backend as Celery reads it: bare aliases completed from other settings, cache options merged.

import { describe, expect, it } from 'vitest';
import { resultBackendTarget } from '../../../src/config/result-backend.js';
import { ImproperlyConfigured } from '../../../src/errors.js';

const reader = (settings: Record<string, unknown>) => ((name: string) => settings[name] ?? null) as Parameters<typeof resultBackendTarget>[1];

describe('resultBackendTarget', () => {
  it("completes 'rpc' to rpc:// and 'disabled' to no backend", () => {
    expect(resultBackendTarget('rpc', reader({}))).toEqual({ url: 'rpc://', options: {} });
    expect(resultBackendTarget('RPC', reader({}))!.url).toBe('rpc://');
    expect(resultBackendTarget('disabled', reader({}))).toBeNull();
  });

  it("completes 'cache' from cache_backend, with cache_backend_options under the transport options", () => {
    const target = resultBackendTarget('cache', reader({
      cache_backend: 'memcached://10.0.0.1:11211;10.0.0.2:11211/',
      cache_backend_options: { timeout: 2, retries: 3 },
      result_backend_transport_options: { retries: 5 },
    }));
    expect(target).toEqual({ url: 'cache+memcached://10.0.0.1:11211;10.0.0.2:11211/', options: { timeout: 2, retries: 5 } });
  });

  it("a cache+ URL takes cache_backend_options too; other URLs only the transport options", () => {
    expect(resultBackendTarget('cache+memcached://h:1/', reader({ cache_backend_options: { timeout: 2 } }))!.options).toEqual({ timeout: 2 });
    expect(resultBackendTarget('redis://h/1', reader({ cache_backend_options: { timeout: 2 } }))).toEqual({ url: 'redis://h/1', options: {} });
  });

  it("'cache' without cache_backend says what to set", () => {
    expect(() => resultBackendTarget('cache', reader({}))).toThrow(ImproperlyConfigured);
    expect(() => resultBackendTarget('cache', reader({}))).toThrow(/cache_backend = 'memcached:\/\/127\.0\.0\.1:11211\/'/);
  });
});
