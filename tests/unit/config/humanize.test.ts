// Censoring and printing configuration tables.

import { describe, expect, it } from 'vitest';
import { censor, humanizeTable, isSensitiveKey, MASK, pythonRepr } from '../../../src/config/humanize.js';

describe('censor', () => {
  it('hides values of keys containing API, TOKEN, KEY, SECRET, PASS, SIGNATURE or DATABASE in any case', () => {
    for (const key of ['api_url', 'AUTH_TOKEN', 'security_key', 'client_secret', 'redis_password', 'signature_algo', 'DATABASE_OPTIONS', 'PassPhrase']) {
      expect(isSensitiveKey(key), key).toBe(true);
    }
    expect(isSensitiveKey('task_default_queue')).toBe(false);
    expect(censor({ my_token: 'abc', task_default_queue: 'celery' })).toEqual({ my_token: MASK, task_default_queue: 'celery' });
  });

  it('hides a sensitive key whatever its value, even an object', () => {
    expect(censor({ api_credentials: { user: 'u', pw: 'p' }, security_key: null })).toEqual({ api_credentials: MASK, security_key: MASK });
  });

  it('redacts URL passwords in any string, in lists and in nested objects', () => {
    const table = {
      broker_url: ['redis://:one@a/0', 'redis://:two@b/0'],
      beat_schedule: { nightly: { task: 'x', options: { note: 'sent via amqp://u:three@h//', client_secret: 's' } } },
    };
    expect(censor(table)).toEqual({
      broker_url: ['redis://:**@a/0', 'redis://:**@b/0'],
      beat_schedule: { nightly: { task: 'x', options: { note: 'sent via amqp://u:**@h//', client_secret: MASK } } },
    });
    expect(table.broker_url[0]).toBe('redis://:one@a/0');
  });

  it('survives cycles', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    expect(censor({ a })).toEqual({ a: { name: 'a', self: '...' } });
  });
});

describe('humanize', () => {
  it('renders values as Python does', () => {
    expect(pythonRepr('json')).toBe("'json'");
    expect(pythonRepr("it's")).toBe('"it\'s"');
    expect(pythonRepr(true)).toBe('True');
    expect(pythonRepr(null)).toBe('None');
    expect(pythonRepr(Infinity)).toBe('inf');
    expect(pythonRepr([1, 'a'])).toBe("[1, 'a']");
    expect(pythonRepr({ rate_limit: '10/m' })).toBe("{'rate_limit': '10/m'}");
    expect(pythonRepr(function route() {})).toBe('<function route>');
    expect(pythonRepr(new Set())).toBe('set()');
  });

  it('prints one key: value line per setting', () => {
    expect(humanizeTable({ task_serializer: 'json', worker_concurrency: 4 })).toBe("task_serializer: 'json'\nworker_concurrency: 4");
  });
});
