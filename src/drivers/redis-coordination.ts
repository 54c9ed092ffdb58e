// Coordination on Redis: registers are plain string keys `<prefix>celeriac.beat.<key>`, compare-and-set and
// leases are small Lua scripts (atomic on the server), and lease expiry is Redis's own PX timer, so the clocks of
// the processes involved do not matter. Used by the Redis broker store and the Redis result backend.

import type { Redis } from 'ioredis';
import type { Coordination } from './coordination.js';
import { redisFailure } from './redis.js';

/**
 * KEYS[1] the register. ARGV[1] '1' when a value is expected, '0' when the register must be unset; ARGV[2] the
 * expected value; ARGV[3] the new value. Returns 1 when set, 0 when the register held something else.
 */
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if (ARGV[1] == '0' and current == false) or (ARGV[1] == '1' and current == ARGV[2]) then
  redis.call('SET', KEYS[1], ARGV[3])
  return 1
end
return 0`;

/** KEYS[1] the lease. ARGV[1] holder, ARGV[2] ttl in ms. Returns 1 when the holder holds it afterwards, else 0. */
const LEASE = `
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

/** KEYS[1] the lease. ARGV[1] holder. Deletes it only if the holder holds it. Returns 1 when deleted. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** Coordination on one Redis connection; `prefix` is the store's global_keyprefix ('' when none). */
export class RedisCoordination implements Coordination {
  constructor(private readonly client: Redis, private readonly prefix: string, readonly where: string) {}

  async get(key: string): Promise<string | null> {
    return this.run('reading', () => this.client.get(this.key(key)));
  }

  async compareAndSet(key: string, expected: string | null, value: string): Promise<boolean> {
    const reply = await this.run('claiming', () => this.client.eval(COMPARE_AND_SET, 1, this.key(key), expected === null ? '0' : '1', expected ?? '', value));
    return reply === 1;
  }

  async lease(key: string, holder: string, ttlMs: number): Promise<boolean> {
    const reply = await this.run('renewing a lease on', () => this.client.eval(LEASE, 1, this.key(key), holder, String(Math.max(1, Math.round(ttlMs)))));
    return reply === 1;
  }

  async release(key: string, holder: string): Promise<void> {
    await this.run('releasing a lease on', () => this.client.eval(RELEASE, 1, this.key(key), holder));
  }

  private key(key: string): string {
    return `${this.prefix}celeriac.beat.${key}`;
  }

  private async run<T>(doing: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw redisFailure(error, this.where, `${doing} beat state`);
    }
  }
}
