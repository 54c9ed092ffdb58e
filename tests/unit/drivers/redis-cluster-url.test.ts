// redis+cluster:// URLs: seed nodes, password, TLS, database 0 only, clear errors for malformed node lists.

import { describe, expect, it } from 'vitest';
import { redisConnectionConfig } from '../../../src/drivers/redis.js';
import { ImproperlyConfigured } from '../../../src/errors.js';

describe('redis+cluster:// connection settings', () => {
  it('lists every seed node, default port 6379, password kept out of the display URL', () => {
    const config = redisConnectionConfig({ url: 'redis+cluster://:s3cret@10.0.0.1:7000,10.0.0.2,[::1]:7002' });
    expect(config.cluster).toEqual([{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 6379 }, { host: '::1', port: 7002 }]);
    expect(config.options.password).toBe('s3cret');
    expect(config.displayUrl).not.toContain('s3cret');
    expect(config.db).toBe(0);
  });

  it('rediss+cluster:// asks for TLS on every node', () => {
    const config = redisConnectionConfig({ url: 'rediss+cluster://user:pw@a:7000,b:7001?ssl_cert_reqs=CERT_NONE' });
    expect(config.cluster).toHaveLength(2);
    expect(config.options.username).toBe('user');
    expect(config.options.tls).toMatchObject({ rejectUnauthorized: false });
  });

  it('refuses a database other than 0 and a malformed node, naming the setting', () => {
    expect(() => redisConnectionConfig({ url: 'redis+cluster://a:7000/3', setting: 'result_backend' })).toThrow(/result_backend .*database 0 only/);
    expect(() => redisConnectionConfig({ url: 'redis+cluster://a:7000,b:notaport' })).toThrow(ImproperlyConfigured);
    expect(() => redisConnectionConfig({ url: 'redis+cluster://' })).toThrow(ImproperlyConfigured);
  });

  it('plain redis:// stays a single server', () => {
    expect(redisConnectionConfig({ url: 'redis://localhost:6379/1' }).cluster).toBeUndefined();
  });
});
