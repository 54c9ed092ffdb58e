// cache+memcached://host:port/ result backend (Celery's cache backend on memcached): a KeyValueStore with Celery's
// key names (celery-task-meta-<id> …) and text item flags, so Python (pylibmc or python-memcache) and celeriac read
// each other's results. result_expires becomes the item expiry. No push: waiting clients poll.
//
// URL forms: cache+memcached://a:11211/ and several servers as cache+memcached://a:11211;b:11211/ (memcache:// and
// pylibmc:// are the same); `result_backend = 'cache'` with `cache_backend = 'memcached://…'` as Celery spells it.
// Options (cache_backend_options): timeout (seconds per request), retries, username/password (SASL).
// Python's clients spread keys over several servers by their own hash, so share results with Python through one.

import { createHash } from 'node:crypto';
import { OperationalError } from '../errors.js';
import { getSerializer } from '../protocol/serializers.js';
import { MAX_KEY_BYTES, MemcachedConnection, memcachedConfig, memcachedFailure, type MemcachedConfig } from '../drivers/memcached.js';
import type { BackendFactory, KeyValueStore } from './backend.js';
import { createKeyValueBackend } from './key-value.js';

// Keys the text protocol (Python's clients) could not send: whitespace and control characters.
const UNSAFE_KEY = /[\s\x00-\x1f\x7f]/;
const RECORD_SEPARATOR = 0x0a;

/**
 * A KeyValueStore on memcached. A sorted set (chord parts) is one item of appended lines `<score> <base64>\n`
 * plus a counter `<key>.n` (INCR is atomic, so exactly one adder sees the final size) and a marker per member
 * `<key>.m.<sha1>` that makes adding the same member twice count once, as in a Redis sorted set.
 */
export class MemcachedKeyValueStore implements KeyValueStore {
  constructor(private readonly conn: MemcachedConnection) {}

  private get config(): MemcachedConfig {
    return this.conn.config;
  }

  private async run<T>(doing: string, key: string, fn: () => Promise<T>): Promise<T> {
    if (UNSAFE_KEY.test(key) || Buffer.byteLength(key) > MAX_KEY_BYTES) {
      throw new OperationalError(`Result key ${JSON.stringify(key.slice(0, 80))} cannot be a memcached key (it has whitespace or control characters, or is longer than ${MAX_KEY_BYTES} bytes): use plain task ids such as UUIDs.`, { context: { url: this.config.displayUrl } });
    }
    try {
      return await fn();
    } catch (error) {
      throw memcachedFailure(error, this.config, `${doing} ${key}`);
    }
  }

  /** One round trip (a read of a key nobody writes), so an unreachable server fails the open, not the first result. */
  async check(): Promise<void> {
    await this.run('checking the connection with', 'celeriac-connection-check', () => this.conn.get('celeriac-connection-check'));
  }

  get(key: string): Promise<Uint8Array | null> {
    return this.run('reading', key, () => this.conn.get(key));
  }

  mget(keys: readonly string[]): Promise<(Uint8Array | null)[]> {
    return Promise.all(keys.map((key) => this.get(key)));
  }

  set(key: string, value: Uint8Array, ttlMs?: number): Promise<void> {
    return this.run('writing', key, () => this.conn.set(key, value, ttlMs));
  }

  async delete(key: string): Promise<void> {
    await this.run('deleting', key, () => Promise.all([this.conn.delete(key), this.conn.delete(`${key}.n`)]));
  }

  incr(key: string, ttlMs?: number): Promise<number> {
    return this.run('incrementing', key, () => this.conn.increment(key, ttlMs));
  }

  zadd(key: string, score: number, member: Uint8Array, ttlMs?: number): Promise<number> {
    return this.run('adding to', key, async () => {
      const digest = createHash('sha1').update(member).digest('hex');
      if (!(await this.conn.add(`${key}.m.${digest}`, Buffer.from('1'), ttlMs))) {
        return toCount(await this.conn.get(`${key}.n`));
      }
      const record = Buffer.from(`${score} ${Buffer.from(member).toString('base64')}\n`);
      // The first adder creates the item, the others append; one that finds it gone (expired) creates it again.
      for (let attempt = 0; !(await this.conn.add(key, record, ttlMs)) && !(await this.conn.append(key, record)); attempt++) {
        if (attempt >= 3) throw new OperationalError(`memcached item ${key} kept appearing and disappearing (expiring while chord parts were added): the part was not counted. Raise result_expires, or check memcached's memory (evictions).`);
      }
      return this.conn.increment(`${key}.n`, ttlMs);
    });
  }

  zrange(key: string): Promise<Uint8Array[]> {
    return this.run('reading', key, async () => {
      const bytes = await this.conn.get(key);
      if (!bytes) return [];
      const records: { score: number; member: Buffer }[] = [];
      for (let start = 0; start < bytes.length;) {
        const end = bytes.indexOf(RECORD_SEPARATOR, start);
        const line = bytes.subarray(start, end < 0 ? bytes.length : end).toString('latin1');
        start = end < 0 ? bytes.length : end + 1;
        const space = line.indexOf(' ');
        if (space > 0) records.push({ score: Number(line.slice(0, space)), member: Buffer.from(line.slice(space + 1), 'base64') });
      }
      return records.sort((a, b) => a.score - b.score).map((r) => r.member);
    });
  }

  async close(): Promise<void> {
    this.conn.close();
  }
}

function toCount(bytes: Uint8Array | null): number {
  return bytes ? Number.parseInt(Buffer.from(bytes).toString(), 10) || 0 : 0;
}

/**
 * Open the memcached result backend (cache+memcached://host:port/…); rejects with OperationalError when no
 * server answers.
 */
export const createBackend: BackendFactory = async (options) => {
  const config = memcachedConfig(options.url, options.options);
  const text = getSerializer(options.serializer)?.contentEncoding !== 'binary';
  const store = new MemcachedKeyValueStore(new MemcachedConnection(config, text));
  try {
    await store.check();
  } catch (error) {
    await store.close();
    throw error;
  }
  return createKeyValueBackend(store, { ...options, displayUrl: config.displayUrl });
};
