// Memcached settings from Celery's cache URLs: server lists, credentials kept out of messages, and the expiry field
// memcached wants (whole seconds; past 30 days a UNIX time).

import { describe, expect, it } from 'vitest';
import { expiryField, memcachedConfig } from '../../../src/drivers/memcached.js';
import { ImproperlyConfigured } from '../../../src/errors.js';

describe('memcachedConfig', () => {
  it("reads one server, Celery's ;-separated list, and the memcache:// and pylibmc:// spellings", () => {
    expect(memcachedConfig('memcached://127.0.0.1:11211/').servers).toEqual(['127.0.0.1:11211']);
    expect(memcachedConfig('cache+memcached://a:1;b:2/').servers).toEqual(['a:1', 'b:2']);
    expect(memcachedConfig('pylibmc://cache-host/').servers).toEqual(['cache-host:11211']);
    expect(memcachedConfig('memcache://[::1]:11300/').servers).toEqual(['[::1]:11300']);
  });

  it('takes timeout and retries from the options, with safe defaults for nonsense', () => {
    expect(memcachedConfig('memcached://h:1/', { timeout: 2.5, retries: '4' })).toMatchObject({ timeoutS: 2.5, retries: 4 });
    expect(memcachedConfig('memcached://h:1/', { timeout: -1, retries: 'x' })).toMatchObject({ timeoutS: 5, retries: 2 });
  });

  it('takes SASL credentials from the URL but shows the URL without the password', () => {
    const config = memcachedConfig('memcached://user:s3cret@h:11211/');
    expect(config).toMatchObject({ servers: ['h:11211'], username: 'user', password: 's3cret' });
    expect(config.displayUrl).not.toContain('s3cret');
  });

  it('refuses a URL with no server, or a server that is not host:port', () => {
    expect(() => memcachedConfig('memcached:///')).toThrow(ImproperlyConfigured);
    expect(() => memcachedConfig('memcached://h:1:2/')).toThrow(/not host or host:port/);
  });
});

describe('expiryField', () => {
  it('is 0 (never) without a TTL, whole seconds rounded up, and a UNIX time past 30 days', () => {
    expect(expiryField(undefined)).toBe(0);
    expect(expiryField(0)).toBe(0);
    expect(expiryField(1_500)).toBe(2);
    expect(expiryField(86_400_000)).toBe(86_400);
    const now = 1_800_000_000_000;
    expect(expiryField(40 * 86_400_000, now)).toBe(now / 1000 + 40 * 86_400);
  });
});
