// redis:// result backend: a KeyValueStore on Redis with Celery's key layout (REDIS-WIRE.md §6–7) — every write is
// MULTI SETEX + PUBLISH on a channel named like the key, so waiting clients are pushed, not polled. Key names and
// documents live in key-value.ts; this file only talks to Redis.
//
// URL forms as the broker (redis://, rediss://, redis+socket://, sentinel:// with master_name, redis+cluster://
// host:port,host:port where every key and channel is used alone, so any slot will do); options are
// result_backend_transport_options: global_keyprefix (prefixes keys and their channels), master_name,
// sentinel_kwargs, socket_connect_timeout, max_retries_per_request, ssl (Celery's ssl_* keys), wait_replicas and
// wait_timeout (celeriac's: WAIT until that many replicas have each result write, drivers/redis-wait.ts).

import { OperationalError } from '../errors.js';
import type { Redis } from 'ioredis';
import { RedisSubscriber } from '../drivers/redis-pubsub.js';
import { closeRedis, openRedis, redisConnectionConfig, redisFailure, type RedisConnectionConfig } from '../drivers/redis.js';
import { RedisCoordination } from '../drivers/redis-coordination.js';
import { replicaWait, waitForReplicas, type ReplicaWait } from '../drivers/redis-wait.js';
import { chunks } from '../utils/chunks.js';
import type { BackendFactory, KeyValueStore } from './backend.js';
import { createKeyValueBackend } from './key-value.js';

type Listener = (value: Uint8Array) => void;

interface StoreCommands {
  celeriacStoreResults(numKeys: number, ...args: (string | Buffer | number)[]): Promise<number[]>;
}

/**
 * STORE_RESULTS: Celery's result write (REDIS-WIRE.md §6.2: GET, then SETEX + PUBLISH unless the stored status is
 * SUCCESS) as one atomic script, for every result written in the same event-loop turn.
 * KEYS[i] = celery-task-meta-<id>; ARGV[1] = TTL in ms (0 = none; whole seconds use SETEX as Celery does);
 * ARGV[i + 1] = the JSON document for KEYS[i]. Returns, per key, 1 when written and 0 when a stored SUCCESS was kept.
 */
const STORE_RESULTS = `
local ttl = tonumber(ARGV[1])
local written = {}
for i, key in ipairs(KEYS) do
  local value = ARGV[i + 1]
  local current = redis.call('GET', key)
  if current and string.find(current, '^{%s*"status"%s*:%s*"SUCCESS"') then
    written[i] = 0
  else
    if ttl > 0 and ttl % 1000 == 0 then redis.call('SETEX', key, ttl / 1000, value)
    elseif ttl > 0 then redis.call('PSETEX', key, ttl, value)
    else redis.call('SET', key, value) end
    redis.call('PUBLISH', key, value)
    written[i] = 1
  end
end
return written
`;

interface PendingWrite {
  readonly key: string;
  readonly data: Buffer;
  readonly resolve: (written: boolean) => void;
  readonly reject: (error: unknown) => void;
}

/** A KeyValueStore over one command connection plus one lazily opened subscriber connection shared by all keys. */
export class RedisKeyValueStore implements KeyValueStore {
  private readonly client: Redis;
  private readonly subscriber: RedisSubscriber;
  private readonly prefix: string;
  readonly coordination: RedisCoordination;
  private readonly pendingWrites = new Map<number, PendingWrite[]>();
  /** wait_replicas: a result write resolves once that many replicas have it (drivers/redis-wait.ts). */
  private readonly replicas: ReplicaWait | null;
  private closed = false;

  constructor(private readonly config: RedisConnectionConfig, private readonly options: Readonly<Record<string, unknown>> = {}) {
    this.client = openRedis(config, 'command', options);
    this.client.defineCommand('celeriacStoreResults', { lua: STORE_RESULTS });
    this.subscriber = new RedisSubscriber(() => openRedis(config, 'subscriber', options));
    this.prefix = String(options.global_keyprefix ?? '');
    this.replicas = replicaWait(options, 'result_backend_transport_options');
    this.coordination = new RedisCoordination(this.client, this.prefix, config.displayUrl);
  }

  /** With wait_replicas: resolve once the replicas have the writes made so far on `key`'s connection. */
  private async replicated(key: string): Promise<void> {
    if (this.replicas) await waitForReplicas(this.client, key, this.replicas);
  }

  private async run<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw redisFailure(error, this.config.displayUrl, doing);
    }
  }

  get(key: string): Promise<Uint8Array | null> {
    return this.run(`reading ${key}`, () => this.client.getBuffer(this.prefix + key));
  }

  mget(keys: readonly string[]): Promise<(Uint8Array | null)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return this.run(`reading ${keys.length} key(s)`, async () => {
      // On a Redis Cluster the keys live in different slots: one GET each (auto-pipelined per node).
      if (this.client.isCluster) return Promise.all(keys.map((k) => this.client.getBuffer(this.prefix + k)));
      const values: (Uint8Array | null)[] = [];
      for (const part of chunks(keys)) {
        for (const v of await this.client.mgetBuffer(...part.map((k) => this.prefix + k))) values.push(v);
      }
      return values;
    });
  }

  set(key: string, value: Uint8Array, ttlMs?: number): Promise<void> {
    return this.run(`storing ${key}`, async () => {
      const k = this.prefix + key;
      const data = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      const tx = this.client.multi();
      // SETEX in whole seconds as Celery writes it (REDIS-WIRE.md §6.2); PSETEX only for sub-second precision.
      if (ttlMs && ttlMs > 0) {
        if (ttlMs % 1000 === 0) tx.setex(k, ttlMs / 1000, data);
        else tx.psetex(k, Math.ceil(ttlMs), data);
      } else {
        tx.set(k, data);
      }
      tx.publish(k, data);
      await checked(await tx.exec());
      await this.replicated(k);
    });
  }

  setUnlessSucceeded(key: string, value: Uint8Array, ttlMs?: number): Promise<boolean> {
    const ttl = ttlMs && ttlMs > 0 ? Math.ceil(ttlMs) : 0;
    return new Promise((resolve, reject) => {
      let batch = this.pendingWrites.get(ttl);
      if (!batch) {
        this.pendingWrites.set(ttl, (batch = []));
        // Results finished in the same event-loop turn go to Redis as one script call.
        if (this.pendingWrites.size === 1) setImmediate(() => this.flushWrites());
      }
      batch.push({ key: this.prefix + key, data: Buffer.from(value.buffer, value.byteOffset, value.byteLength), resolve, reject });
    });
  }

  private flushWrites(): void {
    const batches = [...this.pendingWrites];
    this.pendingWrites.clear();
    // In slices: a burst of results must not become one call with more arguments than the stack holds.
    // On a Redis Cluster each result key has its own slot, so one script call per result.
    const size = this.client.isCluster ? 1 : undefined;
    for (const [ttl, writes] of batches.flatMap(([ttl, all]) => chunks(all, size).map((part) => [ttl, part] as const))) {
      (this.client as Redis & StoreCommands)
        .celeriacStoreResults(writes.length, ...writes.map((w) => w.key), ttl, ...writes.map((w) => w.data))
        .then(async (flags) => {
          await this.replicated(writes[0]!.key);
          writes.forEach((w, i) => w.resolve(flags[i] === 1));
        })
        .catch((error) => {
          const failure = redisFailure(error, this.config.displayUrl, `storing ${writes.length} result(s)`);
          for (const w of writes) w.reject(failure);
        });
    }
  }

  delete(key: string): Promise<void> {
    return this.run(`deleting ${key}`, async () => void (await this.client.del(this.prefix + key)));
  }

  incr(key: string, ttlMs?: number): Promise<number> {
    return this.run(`incrementing ${key}`, async () => {
      const k = this.prefix + key;
      const tx = this.client.multi().incr(k);
      if (ttlMs && ttlMs > 0) tx.pexpire(k, Math.ceil(ttlMs));
      const replies = checked(await tx.exec());
      await this.replicated(k);
      return Number(replies[0]);
    });
  }

  zadd(key: string, score: number, member: Uint8Array, ttlMs?: number): Promise<number> {
    return this.run(`adding to ${key}`, async () => {
      const k = this.prefix + key;
      const tx = this.client.multi().zadd(k, score, Buffer.from(member.buffer, member.byteOffset, member.byteLength)).zcard(k);
      if (ttlMs && ttlMs > 0) {
        if (ttlMs % 1000 === 0) tx.expire(k, ttlMs / 1000);
        else tx.pexpire(k, Math.ceil(ttlMs));
      }
      const replies = checked(await tx.exec());
      await this.replicated(k);
      return Number(replies[1]);
    });
  }

  zrange(key: string): Promise<Uint8Array[]> {
    return this.run(`reading ${key}`, () => this.client.zrangeBuffer(this.prefix + key, 0, -1));
  }

  /** Listen to writes of `key` (its channel has the key's name); resolves once Redis confirmed the SUBSCRIBE. */
  subscribe(key: string, onValue: Listener): Promise<() => Promise<void>> {
    return this.run(`subscribing to ${key}`, () =>
      this.subscriber.subscribe(this.prefix + key, (m) => onValue(new Uint8Array(m.buffer, m.byteOffset, m.byteLength))));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([closeRedis(this.client), this.subscriber.close()]);
  }
}

/** The replies of a MULTI/EXEC, throwing the first command error (EXEC answers errors per command). */
function checked(replies: [Error | null, unknown][] | null): unknown[] {
  if (!replies) throw new OperationalError('Redis aborted a result transaction (MULTI/EXEC answered nothing): the write was not made. Retry; if it keeps happening, check the Redis server log.');
  return replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

/** Open the Redis result backend for `options.url`. */
export const createBackend: BackendFactory = (options) => {
  const o = options.options ?? {};
  const config = redisConnectionConfig({
    url: options.url,
    transportOptions: o,
    ssl: (o.ssl as Record<string, unknown> | boolean | undefined) ?? undefined,
    connectTimeoutMs: options.connectTimeoutMs,
    setting: 'result_backend',
  });
  return createKeyValueBackend(new RedisKeyValueStore(config, o), { ...options, displayUrl: config.displayUrl });
};
