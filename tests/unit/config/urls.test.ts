// Broker and backend URLs: parsing every scheme, failover lists, errors, and password redaction.

import { describe, expect, it } from 'vitest';
import { ImproperlyConfigured } from '../../../src/errors.js';
import { parseUrl, redactText, redactUrl, schemeOf, urlProblem } from '../../../src/config/urls.js';

describe('parseUrl', () => {
  it('parses redis:// with password, port, db and query', () => {
    const u = parseUrl('redis://:s3cret@cache.local:6380/2?health_check_interval=10');
    expect(u).toMatchObject({ scheme: 'redis', base: 'redis', tls: false, hostname: 'cache.local', port: 6380, username: null, db: 2, path: '2', query: { health_check_interval: '10' } });
    expect(u.password).toBe('s3cret');
  });

  it('parses redis:// with no parts, and a user name (Redis 6 ACL)', () => {
    expect(parseUrl('redis://')).toMatchObject({ hostname: null, port: null, db: null, path: null, username: null });
    expect(parseUrl('redis://')).toHaveProperty('password', null);
    const acl = parseUrl('redis://worker:pa%40ss@localhost/0');
    expect(acl.username).toBe('worker');
    expect(acl.password).toBe('pa@ss');
  });

  it('parses rediss:// as redis with TLS, keeping the ssl query', () => {
    expect(parseUrl('rediss://:pw@h:6379/0?ssl_cert_reqs=required')).toMatchObject({ scheme: 'rediss', base: 'redis', tls: true, db: 0, query: { ssl_cert_reqs: 'required' } });
  });

  it('parses unix socket forms', () => {
    expect(parseUrl('redis+socket:///var/run/redis.sock?virtual_host=3')).toMatchObject({ base: 'redis+socket', hostname: null, path: '/var/run/redis.sock', db: 3 });
    expect(parseUrl('socket:///tmp/r.sock')).toMatchObject({ scheme: 'socket', base: 'redis+socket', path: '/tmp/r.sock', db: null });
  });

  it('parses sentinel failover lists', () => {
    const u = parseUrl('sentinel://:pw@s1:26379/0;sentinel://:pw@s2:26379/0');
    expect(u).toMatchObject({ base: 'sentinel', hostname: 's1', port: 26379, db: 0 });
    expect(u.alternates.map((a) => a.hostname)).toEqual(['s2']);
    expect(u.alternates[0]!.password).toBe('pw');
  });

  it('parses AMQP forms and their virtual host', () => {
    expect(parseUrl('amqp://guest:guest@localhost:5672//')).toMatchObject({ base: 'amqp', username: 'guest', hostname: 'localhost', port: 5672, path: '/' });
    expect(parseUrl('amqp://')).toMatchObject({ hostname: null, path: '/' });
    expect(parseUrl('amqp://h/prod')).toMatchObject({ path: 'prod' });
    expect(parseUrl('amqp://h/%2Fstaging')).toMatchObject({ path: '/staging' });
    expect(parseUrl('amqps://u:p@h:5671/v')).toMatchObject({ scheme: 'amqps', base: 'amqp', tls: true, port: 5671 });
    expect(parseUrl('pyamqp://h//')).toMatchObject({ scheme: 'pyamqp', base: 'amqp' });
  });

  it('parses rpc:// and memory://', () => {
    expect(parseUrl('rpc://')).toMatchObject({ base: 'rpc', hostname: null, path: null });
    expect(parseUrl('memory://')).toMatchObject({ base: 'memory', prefix: null });
    expect(parseUrl('cache+memory://')).toMatchObject({ scheme: 'cache+memory', base: 'memory', prefix: 'cache' });
  });

  it('parses every SQLite form', () => {
    expect(parseUrl('sqlite:///relative.db').path).toBe('relative.db');
    expect(parseUrl('sqlite:////abs/path.db').path).toBe('/abs/path.db');
    expect(parseUrl('sqlite://').path).toBe('celeriac.db');
    expect(parseUrl('sqlite://celeriac.db').path).toBe('celeriac.db');
    expect(parseUrl('sqla+sqlite:///results.db')).toMatchObject({ prefix: 'sqla', base: 'sqlite', path: 'results.db' });
    expect(parseUrl('db+sqlite:///results.db?timeout=5')).toMatchObject({ prefix: 'db', base: 'sqlite', path: 'results.db', query: { timeout: '5' } });
  });

  it('parses PostgreSQL forms', () => {
    const u = parseUrl('postgresql://app:pw@db.local:5433/celery?sslmode=require');
    expect(u).toMatchObject({ base: 'postgresql', username: 'app', hostname: 'db.local', port: 5433, path: 'celery', query: { sslmode: 'require' } });
    expect(parseUrl('postgres://h/x')).toMatchObject({ scheme: 'postgres', base: 'postgresql', path: 'x' });
    expect(parseUrl('db+postgresql://h/x')).toMatchObject({ prefix: 'db', base: 'postgresql' });
    expect(parseUrl('sqla+postgresql://h/x')).toMatchObject({ prefix: 'sqla', base: 'postgresql' });
    expect(parseUrl('db+postgresql+psycopg2://h/x')).toMatchObject({ scheme: 'db+postgresql+psycopg2', base: 'postgresql' });
  });

  it('parses IPv6 hosts and passwords with unencoded / and @', () => {
    expect(parseUrl('redis://[::1]:6379/1')).toMatchObject({ hostname: '::1', port: 6379, db: 1 });
    const u = parseUrl('redis://:a/b@c@host/0');
    expect(u.password).toBe('a/b@c');
    expect(u.hostname).toBe('host');
  });

  it('takes an array of failover URLs', () => {
    const u = parseUrl(['amqp://h1//', 'amqp://h2//']);
    expect(u.hostname).toBe('h1');
    expect(u.alternates.map((a) => a.hostname)).toEqual(['h2']);
  });

  it('keeps the password out of JSON and enumeration', () => {
    const u = parseUrl('redis://:topsecret@h/0;redis://:other@h2/0');
    expect(JSON.stringify(u)).not.toMatch(/topsecret|other@/);
    expect(Object.keys(u)).not.toContain('password');
    expect(u.redacted).toBe('redis://:**@h/0');
  });

  it('refuses bad URLs, naming the setting and giving an example, without the password', () => {
    const bad: Array<[string, RegExp]> = [
      ['localhost:6379', /broker_url localhost:6379 has no scheme .*Write it like redis:\/\//],
      ['redis://:pw@host:99999/0', /has port '99999', which is not a number/],
      ['redis://:pw@host/zero', /names database 'zero'/],
      ['redis+socket://', /has no path/],
      ['redis://h/0;amqp://h//', /different kinds \(redis, amqp\)/],
      ['', /is empty/],
    ];
    for (const [url, message] of bad) {
      let error: unknown;
      try {
        parseUrl(url, { setting: 'broker_url' });
      } catch (e) {
        error = e;
      }
      expect(error, url).toBeInstanceOf(ImproperlyConfigured);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain(':pw@');
      expect((error as ImproperlyConfigured).context.setting).toBe('broker_url');
    }
  });

  it('describes problems for setting checks, or nothing for good URLs', () => {
    expect(urlProblem('redis://localhost/0')).toBeUndefined();
    expect(urlProblem('nonsense')).toMatch(/^It has no scheme/);
  });
});

describe('schemeOf', () => {
  it('gives the scheme as written, of the first failover URL', () => {
    expect(schemeOf('DB+PostgreSQL://h/x')).toBe('db+postgresql');
    expect(schemeOf('sentinel://a;sentinel://b')).toBe('sentinel');
    expect(schemeOf(['rediss://x', 'rediss://y'])).toBe('rediss');
    expect(schemeOf('rpc')).toBeNull();
  });
});

describe('redactUrl', () => {
  it('replaces the password with ** and keeps the user', () => {
    expect(redactUrl('redis://:secret@host/0')).toBe('redis://:**@host/0');
    expect(redactUrl('amqp://user:pw@host//')).toBe('amqp://user:**@host//');
    expect(redactUrl('db+postgresql://app:pw@db/app')).toBe('db+postgresql://app:**@db/app');
    expect(redactUrl('redis://user@host/0')).toBe('redis://user@host/0');
    expect(redactUrl('redis://localhost:6379/0')).toBe('redis://localhost:6379/0');
  });

  it('redacts every URL of a failover list and secret query parameters', () => {
    expect(redactUrl('sentinel://:a@s1:26379;sentinel://:b@s2:26379')).toBe('sentinel://:**@s1:26379;sentinel://:**@s2:26379');
    expect(redactUrl('postgresql://h/db?user=x&password=y&sslmode=require')).toBe('postgresql://h/db?user=x&password=**&sslmode=require');
  });

  it('hides passwords full of URL syntax', () => {
    for (const url of ['redis://:p@ss/w?rd#x@host/0', 'amqp://u:p?w@host//', 'redis://:a b@h/0', 'redis://:a b@h/0?notify=ops@example.com']) {
      const out = redactUrl(url);
      expect(out, url).not.toMatch(/p@ss|ss\/w|p\?w|a b/);
    }
  });

  it('never throws and never leaks on garbage', () => {
    for (const junk of ['', '://', '@@@', 'user:pw@host', ':::@', '%E0%A4%A', 'redis://:%ZZ@h']) {
      expect(() => redactUrl(junk)).not.toThrow();
    }
    expect(redactUrl('user:pw@host')).toBe('user:**@host');
    expect(redactUrl(42 as unknown as string)).toBe('42');
    expect(redactUrl({ toString: () => { throw new Error('boom'); } } as unknown as string)).toBe('**');
  });
});

describe('redactText', () => {
  it('redacts URLs inside log lines and error messages', () => {
    expect(redactText('Cannot connect to redis://:hunter2@cache:6379/0: ECONNREFUSED')).toBe('Cannot connect to redis://:**@cache:6379/0: ECONNREFUSED');
    expect(redactText("broker 'amqp://u:p@h//' and backend \"db+sqlite:///r.db\"")).toBe("broker 'amqp://u:**@h//' and backend \"db+sqlite:///r.db\"");
  });

  it('does not mistake an e-mail later in the line for credentials', () => {
    const line = '{"url":"redis://cache:6379/0","user":"bob@example.com"}';
    expect(redactText(line)).toBe(line);
  });

  it('leaves text without URLs alone', () => {
    expect(redactText('task tasks.add[abc] succeeded in 0.01s: 4')).toBe('task tasks.add[abc] succeeded in 0.01s: 4');
  });
});
