// app.conf: precedence, old names, validation, custom keys, configFromObject, addDefaults, table and humanize.

import { describe, expect, it, vi } from 'vitest';
import { ImproperlyConfigured } from '../../../src/errors.js';
import { Config, settingsFromSource, splitConfigPath } from '../../../src/config/resolve.js';

function errorOf(fn: () => unknown): ImproperlyConfigured {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ImproperlyConfigured);
    return error as ImproperlyConfigured;
  }
  throw new Error('expected ImproperlyConfigured, nothing was thrown');
}

describe('precedence', () => {
  it('reads run-time changes over the config source over added defaults over the table', () => {
    const conf = new Config();
    expect(conf.task_default_queue).toBe('celery');
    conf.addDefaults({ task_default_queue: 'from-defaults' });
    expect(conf.task_default_queue).toBe('from-defaults');
    conf.configFromObject({ task_default_queue: 'from-source' });
    expect(conf.task_default_queue).toBe('from-source');
    conf.task_default_queue = 'runtime';
    expect(conf.get('task_default_queue')).toBe('runtime');
    conf.set('task_default_queue', undefined);
    expect(conf.task_default_queue).toBe('from-source');
  });

  it('lets a later addDefaults win over an earlier one', () => {
    const conf = new Config();
    conf.addDefaults({ worker_concurrency: 2 });
    conf.addDefaults(() => ({ worker_concurrency: 3 }));
    expect(conf.worker_concurrency).toBe(3);
  });

  it('counts constructor settings as run-time changes that survive configFromObject', () => {
    const conf = new Config({ broker_url: 'redis://localhost:6379/0' });
    expect(conf.changes).toEqual({ broker_url: 'redis://localhost:6379/0' });
    conf.configFromObject({ broker_url: 'amqp://other//', task_serializer: 'msgpack' });
    expect(conf.broker_url).toBe('redis://localhost:6379/0');
    expect(conf.task_serializer).toBe('msgpack');
  });

  it('shows run-time changes as a frozen copy', () => {
    const conf = new Config();
    conf.update({ task_acks_late: true, my_flag: 1 });
    const changes = conf.changes;
    expect(changes).toEqual({ task_acks_late: true, my_flag: 1 });
    expect(Object.isFrozen(changes)).toBe(true);
  });

  it('gives each Config its own copy of object defaults', () => {
    const a = new Config();
    const b = new Config();
    a.broker_transport_options.visibility_timeout = 10;
    a.accept_content.push('yaml');
    expect(b.broker_transport_options).toEqual({});
    expect(b.accept_content).toEqual(['json']);
    expect(a.broker_transport_options).toEqual({ visibility_timeout: 10 });
  });
});

describe('old names', () => {
  it('reads and writes through the old upper-case names', () => {
    const conf = new Config();
    conf.CELERY_TIMEZONE = 'Europe/London';
    expect(conf.timezone).toBe('Europe/London');
    expect(conf.CELERY_TIMEZONE).toBe('Europe/London');
    conf.update({ CELERY_ENABLE_UTC: false, CELERYD_CONCURRENCY: 8 });
    expect(conf.enable_utc).toBe(false);
    expect(conf.get('worker_concurrency')).toBe(8);
    expect(conf.table()).toEqual({ enable_utc: false, timezone: 'Europe/London', worker_concurrency: 8 });
    // What `inspect conf` reports as deprecated_settings: the old names a mapping used.
    expect(conf.deprecatedSettings).toEqual(['CELERYD_CONCURRENCY', 'CELERY_ENABLE_UTC']);
    expect(new Config({ timezone: 'UTC' }).deprecatedSettings).toBeNull();
  });

  it('refuses one setting given twice with different values, and allows it twice with the same', () => {
    const conf = new Config();
    const error = errorOf(() => conf.update({ CELERY_TIMEZONE: 'UTC', timezone: 'Europe/Oslo' }));
    expect(error.message).toMatch(/timezone is given twice, as CELERY_TIMEZONE and timezone/);
    conf.update({ CELERY_TIMEZONE: 'UTC', timezone: 'UTC' });
    expect(conf.timezone).toBe('UTC');
  });
});

describe('keys of your own', () => {
  it('accepts an unknown key and reads it with get() and table()', () => {
    const conf = new Config();
    conf.set('my_feature_flag', 'on');
    expect(conf.get('my_feature_flag')).toBe('on');
    expect(conf.table().my_feature_flag).toBe('on');
    expect(conf.get('never_set_key')).toBeUndefined();
  });

  it('refuses a near miss and names the nearest setting', () => {
    const conf = new Config();
    const error = errorOf(() => conf.set('task_serialiser', 'json'));
    expect(error.message).toMatch(/Unknown setting task_serialiser \(conf\.set\)\. Did you mean task_serializer\?/);
    expect(error.context.setting).toBe('task_serializer');
    expect(errorOf(() => conf.update({ taskSerializer: 'json' })).message).toMatch(/Did you mean task_serializer/);
    expect(errorOf(() => conf.get('worker_concurency')).message).toMatch(/Did you mean worker_concurrency/);
    expect(errorOf(() => new Config({ CELERY_TIMEZON: 'UTC' })).message).toMatch(/Did you mean CELERY_TIMEZONE \(now timezone\)/);
  });

  it('keeps Celery settings celeriac does not use, as given', () => {
    const conf = new Config();
    conf.update({ CASSANDRA_SERVERS: ['db1'] });
    expect(conf.get('cassandra_servers')).toEqual(['db1']);
  });
});

describe('bad values', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['task_acks_late', 'maybe', /true or false/],
    ['worker_concurrency', 2.5, /an integer ≥ 1/],
    ['worker_concurrency', 0, /an integer ≥ 1/],
    ['broker_heartbeat_checkrate', 'fast', /a number ≥ 0/],
    ['result_expires', -1, /seconds ≥ 0/],
    ['task_default_queue', 42, /a string/],
    ['imports', [1, 2], /a list of strings/],
    ['broker_transport_options', ['visibility_timeout'], /an object/],
    ['task_default_delivery_mode', 'persistant', /one of "persistent", "transient", 1, 2\. Did you mean "persistent"\?/],
    ['task_protocol', 3, /one of 1, 2/],
    ['task_serializer', 'jsno', /Did you mean "json"\?/],
    ['task_serializer', 'pickle', /never writes pickle/],
    ['accept_content', ['json', 'yml '], /a list of serializer names/],
    ['task_compression', 'gzp', /Did you mean "gzip"\?/],
    ['task_default_rate_limit', '10 per minute', /"10\/s", "100\/m"/],
    ['timezone', 'Europe/Londn', /IANA time zone/],
    ['broker_use_ssl', 'yes please', /true, false, or an object/],
    ['broker_failover_strategy', 'random', /"round-robin", "shuffle", or a function/],
    ['broker_url', 'localhost:6379', /It has no scheme .* Write it like redis:\/\//],
    ['result_backend', 'redis://host:port/0', /It has port 'port'/],
    ['task_always_eager', null, /true or false\./],
  ];

  it.each(cases)('refuses %s = %j, naming the setting, the value and what is accepted', (name, value, accepted) => {
    const error = errorOf(() => new Config().set(name, value));
    expect(error.message).toContain(`Setting ${name} cannot be`);
    expect(error.message).toMatch(accepted);
    expect(error.context.setting).toBe(name);
  });

  it('converts the strings a command line or environment gives', () => {
    const conf = new Config();
    conf.update({ worker_concurrency: '4', task_acks_late: 'yes', result_expires: '3600', task_protocol: '1', accept_content: 'json, msgpack', imports: new Set(['a', 'b']) });
    expect(conf.table()).toMatchObject({ worker_concurrency: 4, task_acks_late: true, result_expires: 3600, task_protocol: 1, accept_content: ['json', 'msgpack'], imports: ['a', 'b'] });
  });

  it('accepts null where the setting allows it and custom serializers that are not typos', () => {
    const conf = new Config();
    conf.update({ result_expires: null, broker_connection_max_retries: null, task_serializer: 'my-format', result_backend: 'rpc' });
    expect(conf.result_expires).toBeNull();
    expect(conf.task_serializer).toBe('my-format');
    expect(conf.result_backend).toBe('rpc');
  });

  it('reports every problem of a batch at once and changes nothing', () => {
    const conf = new Config();
    const error = errorOf(() => conf.update({ worker_concurrency: 'many', task_serialiser: 'json', timezone: 'Nowhere/City', task_acks_late: true }));
    expect(error.message).toMatch(/^3 settings are wrong \(conf\.update\):/);
    expect(error.message).toContain('worker_concurrency cannot be "many"');
    expect(error.message).toContain('Did you mean task_serializer?');
    expect(error.message).toContain('timezone cannot be "Nowhere/City"');
    expect(conf.task_acks_late).toBe(false);
  });

  it('never puts a secret in an error message', () => {
    const error = errorOf(() => new Config().set('broker_url', 'redis://:hunter2@host:abc/0'));
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toContain('redis://:**@host:abc/0');
    const hidden = errorOf(() => new Config().set('security_key_password', 1234));
    expect(hidden.message).toContain('a number (hidden)');
    expect(hidden.message).not.toContain('1234');
  });
});

describe('configFromObject', () => {
  it('replaces an earlier config source and resets run-time changes', () => {
    const conf = new Config();
    conf.configFromObject({ task_default_queue: 'first', worker_concurrency: 2 });
    conf.set('task_acks_late', true);
    conf.configFromObject({ task_serializer: 'msgpack' });
    expect(conf.task_default_queue).toBe('celery');
    expect(conf.worker_concurrency).toBeNull();
    expect(conf.task_acks_late).toBe(false);
    expect(conf.task_serializer).toBe('msgpack');
  });

  it('reads a class with upper-case old names (static and instance fields)', () => {
    class Settings {
      static CELERY_ENABLE_UTC = true;
      static CELERY_TIMEZONE = 'Europe/London';
      task_default_queue = 'from-instance';
      helper(): string {
        return 'not a setting';
      }
    }
    const conf = new Config().configFromObject(Settings);
    expect(conf.timezone).toBe('Europe/London');
    expect(conf.enable_utc).toBe(true);
    expect(conf.task_default_queue).toBe('from-instance');
    expect(conf.table()).toEqual({ enable_utc: true, task_default_queue: 'from-instance', timezone: 'Europe/London' });
  });

  it('reads a module namespace: named exports over the default export', () => {
    const moduleNamespace = Object.freeze(Object.assign(Object.create(null) as object, {
      default: { broker_url: 'redis://localhost/0', task_default_queue: 'from-default' },
      task_default_queue: 'from-named',
      [Symbol.toStringTag]: 'Module',
    }));
    const conf = new Config().configFromObject(moduleNamespace);
    expect(conf.broker_url).toBe('redis://localhost/0');
    expect(conf.task_default_queue).toBe('from-named');
  });

  it('skips methods and _private keys, keeps functions under setting names', () => {
    const router = (): string => 'q';
    const source = { _internal: 1, task_routes: router, describe(): string { return 'x'; }, 'not-a-key': 2, MY_CONSTANT: 3 };
    expect(settingsFromSource(source)).toEqual({ task_routes: router, MY_CONSTANT: 3 });
  });

  it('validates the whole source and reports every problem', () => {
    const error = errorOf(() => new Config().configFromObject({ worker_prefetch_multiplier: -1, task_acks_lat: true }));
    expect(error.message).toMatch(/2 settings are wrong \(configFromObject\)/);
    expect(error.message).toContain('worker_prefetch_multiplier cannot be -1');
    expect(error.message).toContain('Did you mean task_acks_late?');
  });

  it('ignores a missing source only when silent', () => {
    expect(() => new Config().configFromObject(undefined, { silent: true })).not.toThrow();
    errorOf(() => new Config().configFromObject(undefined));
  });

  it('splits the module:Attribute form', () => {
    expect(splitConfigPath('./celeryconfig.ts:ProdConfig')).toEqual({ module: './celeryconfig.ts', attribute: 'ProdConfig' });
    expect(splitConfigPath('celeryconfig')).toEqual({ module: 'celeryconfig', attribute: null });
    expect(splitConfigPath('C:\\proj\\celeryconfig.ts')).toEqual({ module: 'C:\\proj\\celeryconfig.ts', attribute: null });
  });
});

describe('addDefaults', () => {
  it('calls a function once, on the first read, and keeps it across configFromObject', () => {
    const conf = new Config();
    const load = vi.fn(() => ({ worker_concurrency: 7, my_default: 'x' }));
    conf.addDefaults(load);
    expect(load).not.toHaveBeenCalled();
    expect(conf.worker_concurrency).toBe(7);
    expect(conf.get('my_default')).toBe('x');
    conf.configFromObject({ task_serializer: 'json' });
    expect(conf.worker_concurrency).toBe(7);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('checks object defaults at once and function defaults when loaded', () => {
    const conf = new Config();
    expect(errorOf(() => conf.addDefaults({ worker_concurrency: 'lots' })).message).toContain('(addDefaults)');
    conf.addDefaults(() => ({ task_acks_late: 'sometimes' }));
    expect(errorOf(() => conf.task_acks_late).message).toContain('task_acks_late cannot be "sometimes" (addDefaults)');
  });

  it('leaves added defaults out of table() unless withDefaults', () => {
    const conf = new Config().addDefaults({ worker_concurrency: 3 });
    expect(conf.table()).toEqual({});
    expect(conf.table({ withDefaults: true }).worker_concurrency).toBe(3);
  });
});

describe('table and humanize', () => {
  it('censors secret keys, URL passwords and nested secrets', () => {
    const conf = new Config({ broker_url: 'amqp://user:pw@host//' });
    conf.update({
      result_backend: 'redis://:secret@localhost:6379/1',
      my_api_key: 'abc123',
      custom_service: { url: 'postgresql://app:s3cret@db/app', password: 'hidden', port: 5432 },
    });
    const table = conf.table();
    expect(table).toEqual({
      broker_url: 'amqp://user:**@host//',
      custom_service: { url: 'postgresql://app:**@db/app', password: '********', port: 5432 },
      my_api_key: '********',
      result_backend: 'redis://:**@localhost:6379/1',
    });
    expect(conf.table({ censored: false }).my_api_key).toBe('abc123');
    expect(JSON.stringify(conf)).not.toMatch(/abc123|secret|pw@|hidden/);
  });

  it('prints key: value lines with Python values, only changes by default', () => {
    const conf = new Config();
    conf.update({ task_serializer: 'json', accept_content: ['json'], enable_utc: true, task_default_priority: null, security_key: '/keys/k.pem' });
    expect(conf.humanize()).toBe([
      "accept_content: ['json']",
      'enable_utc: True',
      "security_key: '********'",
      'task_default_priority: None',
      "task_serializer: 'json'",
    ].join('\n'));
  });

  it('lists every setting with defaults, the routing key censored as Celery does', () => {
    const conf = new Config();
    const lines = conf.humanize({ withDefaults: true }).split('\n');
    expect(lines).toContain("task_default_queue: 'celery'");
    expect(lines).toContain("task_default_routing_key: '********'");
    expect(lines).toContain('result_expires: 86400');
    expect(lines.length).toBeGreaterThan(150);
  });
});
