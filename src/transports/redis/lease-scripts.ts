// Lua scripts of the Redis broker's worker leases (celeriac's, beyond kombu); store.ts registers them.
//
// Leases (celeriac's, beside kombu's keys): `celeriac.leases` (zset: lease id → expiry, epoch ms on the server's
// clock, TIME) and one `celeriac.held.<lease id>` hash per lease: delivery tag → SHA-1 of the `unacked` entry as it
// was taken. The fingerprint tells our delivery from a later one of the same message under the same tag (after a
// Python worker's visibility sweep restored it and took it again): a settle or restore under a lease acts only
// when the entry is still the one that lease took.

import { PRELUDE } from './lua-prelude.js';

/**
 * ACK_HELD: acknowledge messages held under a lease, each only if that lease still holds it (its `unacked` entry is
 * the one the lease took): ZREM unacked_index + HDEL unacked, as kombu's ack.
 *
 * KEYS[1]  unacked
 * KEYS[2]  unacked_index
 * KEYS[3]  the lease's held hash
 * ARGV     delivery tags
 * Returns  the tags that were not held (their lease lost them; nothing was done for them).
 */
export const ACK_HELD = `${PRELUDE}
local missed = {}
for _, tag in ipairs(ARGV) do
  if holds(KEYS[1], KEYS[3], tag) then
    redis.call('ZREM', KEYS[2], tag)
    redis.call('HDEL', KEYS[1], tag)
  else
    missed[#missed + 1] = tag
  end
  redis.call('HDEL', KEYS[3], tag)
end
return missed
`;

/**
 * LEASE_OPEN: create a lease, valid for ttl ms on the server's clock.
 *
 * KEYS[1]  celeriac.leases
 * ARGV[1]  lease id
 * ARGV[2]  ttl, ms
 * Returns  the expiry, epoch ms.
 */
export const LEASE_OPEN = `${PRELUDE}
local expires = now_ms() + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], expires, ARGV[1])
return expires
`;

/**
 * LEASE_RENEW: extend a lease that still exists (expired but not swept included) and re-score what it holds in
 * unacked_index to now, so no visibility-timeout sweep (kombu's included) takes a live worker's messages.
 *
 * KEYS[1]  celeriac.leases
 * KEYS[2]  the lease's held hash
 * KEYS[3]  unacked_index
 * ARGV[1]  lease id
 * ARGV[2]  ttl, ms
 * ARGV[3]  now, epoch seconds (kombu's unacked_index scale)
 * Returns  1 when renewed, 0 when the lease is gone (it was swept: what it held was restored).
 */
export const LEASE_RENEW = `${PRELUDE}
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == false then return 0 end
redis.call('ZADD', KEYS[1], now_ms() + tonumber(ARGV[2]), ARGV[1])
for _, tag in ipairs(redis.call('HKEYS', KEYS[2])) do
  redis.call('ZADD', KEYS[3], 'XX', ARGV[3], tag)
end
return 1
`;

/**
 * LEASE_SWEEP: restore what every expired lease holds (marked redelivered, as kombu's restore) and drop those leases.
 *
 * KEYS[1]  celeriac.leases
 * KEYS[2]  unacked
 * KEYS[3]  unacked_index
 * ARGV[1]  key prefix
 * ARGV[2]  sep
 * ARGV[3]  priority steps, comma separated
 * ARGV[4]  the held-hash key prefix (`<prefix>celeriac.held.`)
 * ARGV[5]  at most this many leases per call
 * Returns  {restored, leases}: messages returned and expired leases dropped (the caller repeats while full).
 */
export const LEASE_SWEEP = `${PRELUDE}
local steps = parse_steps(ARGV[3])
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms(), 'LIMIT', 0, tonumber(ARGV[5]))
local n = 0
for _, id in ipairs(expired) do
  n = n + restore_lease(KEYS[2], KEYS[3], ARGV[4] .. id, ARGV[1], ARGV[2], steps)
  redis.call('ZREM', KEYS[1], id)
end
return { n, #expired }
`;

/**
 * LEASE_RELEASE: a consumer stopping: restore what its lease still holds and drop the lease.
 *
 * KEYS[1]  celeriac.leases
 * KEYS[2]  unacked
 * KEYS[3]  unacked_index
 * KEYS[4]  the lease's held hash
 * ARGV[1]  key prefix
 * ARGV[2]  sep
 * ARGV[3]  priority steps, comma separated
 * ARGV[4]  lease id
 * Returns  how many messages went back.
 */
export const LEASE_RELEASE = `${PRELUDE}
local n = restore_lease(KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], parse_steps(ARGV[3]))
redis.call('ZREM', KEYS[1], ARGV[4])
return n
`;
