// Lua scripts of the Redis broker: atomic take (pop + record as unacked), restore, the visibility sweep and the
// deferred set (worker leases: lease-scripts.ts). Pure strings; store.ts registers them with ioredis (EVALSHA with
// an EVAL fallback after a restart). Key layout: REDIS-WIRE.md §1, §4.3, §5. Keys computed inside a script (queue
// lists, held sets) are prefixed with ARGV, so these scripts target a single Redis node or a Sentinel-managed
// master, not Redis Cluster (neither does kombu).

import { PRELUDE } from './lua-prelude.js';

/**
 * TAKE: pop up to `max` messages and record each as unacked, atomically (kombu pops with BRPOP and records in a
 * second step, losing a message if the worker dies in between; REDIS-WIRE.md §5.2).
 *
 * KEYS[1]    unacked        (hash: tag → JSON [envelope, exchange, routing_key])
 * KEYS[2]    unacked_index  (zset: tag → epoch seconds)
 * KEYS[3]    celeriac.leases
 * KEYS[4]    the lease's held hash `celeriac.held.<lease id>` (any key when ARGV[4] is '')
 * KEYS[5..]  the priority lists to pop, in order (queue1 steps 0,3,6,9, then queue2 …), prefixed
 * ARGV[1]    max messages
 * ARGV[2]    now, epoch seconds (float text), the unacked_index score
 * ARGV[3]    a unique prefix for generated tags (`<uuid>.`), used when an entry has no usable delivery_tag or its
 *            tag is already held (the same envelope routed to two queues)
 * ARGV[4]    lease id to hold the messages under, or '' for none
 * ARGV[5..]  for each list in KEYS[5..], the queue name (unprefixed) recorded as the restore target
 * Returns    flat array: 1 when the messages are held under the lease (0: no lease asked, or it is gone), then
 *            list index (1-based, into KEYS[5..]), raw entry, tag; repeated per message.
 *
 * The unacked value is `[<envelope text exactly as popped>, "", "<queue>"]`: exchange "" with the queue as routing
 * key restores to exactly the queue it was taken from, for kombu's restore too. An entry that is not a JSON object
 * is stored as a JSON string under a generated tag and still returned, so the consumer reports and rejects it.
 */
export const TAKE = `${PRELUDE}
local max = tonumber(ARGV[1])
local leased = ARGV[4] ~= '' and redis.call('ZSCORE', KEYS[3], ARGV[4]) ~= false
local out = { leased and 1 or 0 }
local n, generated = 0, 0
for i = 5, #KEYS do
  if n >= max then break end
  local popped = redis.call('RPOP', KEYS[i], max - n)
  if popped then
    local queue = ARGV[i]
    for _, raw in ipairs(popped) do
      local tag, entry
      local ok, env = pcall(cjson.decode, raw)
      if ok and type(env) == 'table' and string.byte(raw, skip_ws(raw, 1)) == 123 then
        local props = env.properties
        if type(props) == 'table' and type(props.delivery_tag) == 'string' and props.delivery_tag ~= '' then
          tag = props.delivery_tag
        end
        entry = '[' .. raw .. ', "", ' .. cjson.encode(queue) .. ']'
      else
        entry = '[' .. cjson.encode(raw) .. ', "", ' .. cjson.encode(queue) .. ']'
      end
      if tag == nil or redis.call('HEXISTS', KEYS[1], tag) == 1 then
        generated = generated + 1
        tag = ARGV[3] .. generated
      end
      redis.call('HSET', KEYS[1], tag, entry)
      redis.call('ZADD', KEYS[2], ARGV[2], tag)
      if leased then redis.call('HSET', KEYS[4], tag, redis.sha1hex(entry)) end
      n = n + 1
      out[#out + 1] = i - 4
      out[#out + 1] = raw
      out[#out + 1] = tag
    end
  end
end
return out
`;

/**
 * RESTORE: put one unacked message back (reject with requeue, warm shutdown): RPUSH to the consuming end of its
 * priority list with `"redelivered": true` in headers and delivery_info, and forget it (REDIS-WIRE.md §5.4).
 *
 * KEYS[1]  unacked
 * KEYS[2]  unacked_index
 * KEYS[3]  optional: the lease's held hash; then only a message that lease still holds is restored
 * ARGV[1]  key prefix (global_keyprefix, may be empty)
 * ARGV[2]  sep (`\x06\x16`)
 * ARGV[3]  priority steps, comma separated (`0,3,6,9`)
 * ARGV[4]  delivery tag
 * Returns  1 if a message was restored, 0 if the tag was not held. An entry that names no queue (not kombu's
 *          shape) is left in `unacked` (out of the index) for an operator to inspect, never dropped.
 */
export const RESTORE = `${PRELUDE}
if KEYS[3] then
  local mine = holds(KEYS[1], KEYS[3], ARGV[4])
  redis.call('HDEL', KEYS[3], ARGV[4])
  if not mine then return 0 end
end
local entry = redis.call('HGET', KEYS[1], ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[4])
if not entry then return 0 end
local pushed = push_back(ARGV[1], ARGV[2], parse_steps(ARGV[3]), entry, true)
if pushed == 1 then redis.call('HDEL', KEYS[1], ARGV[4]) end
return pushed
`;

/**
 * RESTORE_EXPIRED: kombu's visibility-timeout sweep in one step: take `unacked_mutex` (SET NX PX, so a Python
 * worker sweeping at the same time skips), restore every message delivered before the cutoff that no celeriac
 * lease holds (those follow their lease; they are re-scored to now instead), release the mutex. At most ARGV[6]
 * messages per call so Redis is never blocked for long; the caller repeats while full.
 *
 * KEYS[1]  unacked
 * KEYS[2]  unacked_index
 * KEYS[3]  unacked_mutex
 * KEYS[4]  celeriac.leases
 * ARGV[1]  key prefix
 * ARGV[2]  sep
 * ARGV[3]  priority steps, comma separated
 * ARGV[4]  cutoff, epoch seconds: entries scored at or below it are restored
 * ARGV[5]  mutex expiry in ms (kombu: unacked_mutex_expire, 300 s)
 * ARGV[6]  limit per call
 * ARGV[7]  mutex token
 * ARGV[8]  the held-hash key prefix (`<prefix>celeriac.held.`)
 * ARGV[9]  now, epoch seconds (the score a leased entry gets)
 * Returns  {restored, examined}: how many messages went back and how many index entries were looked at (the caller
 *          repeats while examined reaches the limit); {-1, 0} when another process holds the mutex.
 */
export const RESTORE_EXPIRED = `${PRELUDE}
if not redis.call('SET', KEYS[3], ARGV[7], 'PX', ARGV[5], 'NX') then return { -1, 0 } end
local steps = parse_steps(ARGV[3])
local leases = redis.call('ZRANGE', KEYS[4], 0, -1)
local tags = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[4], 'LIMIT', 0, tonumber(ARGV[6]))
local n = 0
for _, tag in ipairs(tags) do
  local leased = false
  for _, id in ipairs(leases) do
    if holds(KEYS[1], ARGV[8] .. id, tag) then leased = true break end
  end
  if leased then
    redis.call('ZADD', KEYS[2], 'XX', ARGV[9], tag)
  else
    local entry = redis.call('HGET', KEYS[1], tag)
    redis.call('ZREM', KEYS[2], tag)
    if entry and push_back(ARGV[1], ARGV[2], steps, entry, true) == 1 then
      redis.call('HDEL', KEYS[1], tag)
      n = n + 1
    end
  end
end
redis.call('DEL', KEYS[3])
return { n, #tags }
`;

/**
 * DEFER: move an unacked message into the deferred set until it is due (ETA/countdown farther out than the
 * visibility timeout): it leaves unacked/unacked_index, so no sweep can redeliver it early.
 *
 * KEYS[1]  unacked
 * KEYS[2]  unacked_index
 * KEYS[3]  deferred set `celeriac.deferred` (zset: member = the unacked JSON `[envelope, "", queue]`,
 *          score = due time in epoch ms)
 * KEYS[4]  optional: the lease's held hash; then only a message that lease still holds is moved
 * ARGV[1]  delivery tag
 * ARGV[2]  due time, epoch ms
 * Returns  1 if moved, 0 if the tag was not held.
 */
export const DEFER = `${PRELUDE}
if KEYS[4] then
  local mine = holds(KEYS[1], KEYS[4], ARGV[1])
  redis.call('HDEL', KEYS[4], ARGV[1])
  if not mine then return 0 end
end
local entry = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if not entry then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], entry)
return 1
`;

/**
 * RELEASE_DUE: return deferred messages whose time has come to the consuming end of their priority lists (not
 * marked redelivered: they were held on purpose, not lost).
 *
 * KEYS[1]  deferred set
 * ARGV[1]  key prefix
 * ARGV[2]  sep
 * ARGV[3]  priority steps, comma separated
 * ARGV[4]  now, epoch ms
 * ARGV[5]  limit per call
 * Returns  {released, examined}; the caller repeats while examined reaches the limit.
 */
export const RELEASE_DUE = `${PRELUDE}
local steps = parse_steps(ARGV[3])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[4], 'LIMIT', 0, tonumber(ARGV[5]))
local n = 0
for _, entry in ipairs(due) do
  redis.call('ZREM', KEYS[1], entry)
  n = n + push_back(ARGV[1], ARGV[2], steps, entry, false)
end
return { n, #due }
`;

/**
 * PURGE: delete a queue's priority lists and say how many messages they held.
 *
 * KEYS[1..]  the queue's priority lists
 * Returns    number of messages deleted.
 */
export const PURGE = `
local n = 0
for _, key in ipairs(KEYS) do
  n = n + redis.call('LLEN', key)
  redis.call('DEL', key)
end
return n
`;
