// Lua scripts of the Redis broker: atomic take (pop + record as unacked), restore, the visibility sweep, the
// deferred set and worker leases. Pure strings; store.ts registers them with ioredis (EVALSHA with an EVAL fallback
// after a restart). Key layout: REDIS-WIRE.md §1, §4.3, §5. Keys computed inside a script (queue lists, held sets)
// are prefixed with ARGV, so these scripts target a single Redis node or a Sentinel-managed master, not Redis
// Cluster (neither does kombu).
//
// Leases (celeriac's, beside kombu's keys): `celeriac.leases` (zset: lease id → expiry, epoch ms on the server's
// clock, TIME) and one `celeriac.held.<lease id>` hash per lease: delivery tag → SHA-1 of the `unacked` entry as it
// was taken. The fingerprint tells our delivery from a later one of the same message under the same tag (after a
// Python worker's visibility sweep restored it and took it again): a settle or restore under a lease acts only
// when the entry is still the one that lease took.

/**
 * Shared Lua helpers (not a script on its own): list naming by priority step, and a small JSON *scanner* that adds
 * `"redelivered": true` to `headers` and `properties.delivery_info` by editing the text in place. The envelope is
 * never re-encoded with cjson: cjson turns `[]` into `{}` and rounds numbers to 14 digits, which would corrupt
 * headers a Python worker reads. cjson.decode is used only to read values.
 */
const PRELUDE = `
local function q_for_pri(prefix, sep, steps, queue, priority)
  local step = steps[1]
  for _, s in ipairs(steps) do
    if priority >= s then step = s end
  end
  if step == 0 then return prefix .. queue end
  return prefix .. queue .. sep .. tostring(step)
end

-- Epoch ms on the server's clock. Effects replication (the default since Redis 5) makes TIME safe before writes.
local function now_ms()
  if redis.replicate_commands then pcall(redis.replicate_commands) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Whether \`held\` (a lease's hash) took the \`unacked\` entry of \`tag\` as it is now.
local function holds(unacked, held, tag)
  local fp = redis.call('HGET', held, tag)
  if not fp then return false end
  local entry = redis.call('HGET', unacked, tag)
  return entry ~= false and redis.sha1hex(entry) == fp
end

local function parse_steps(csv)
  local steps = {}
  for s in string.gmatch(csv, '[^,]+') do steps[#steps + 1] = tonumber(s) end
  return steps
end

local function skip_ws(s, i)
  return string.find(s, '[^ \\t\\r\\n]', i) or (#s + 1)
end

local function skip_string(s, i)
  local j = i + 1
  while true do
    local c = string.find(s, '["\\\\]', j)
    if not c then return nil end
    if string.byte(s, c) == 92 then j = c + 2 else return c + 1 end
  end
end

local function skip_value(s, i)
  i = skip_ws(s, i)
  local b = string.byte(s, i)
  if b == 34 then return skip_string(s, i) end
  if b == 123 or b == 91 then
    local depth, j = 0, i
    while true do
      local c = string.find(s, '[%[%]{}"]', j)
      if not c then return nil end
      local ch = string.byte(s, c)
      if ch == 34 then
        j = skip_string(s, c)
        if not j then return nil end
      else
        if ch == 123 or ch == 91 then depth = depth + 1 else depth = depth - 1 end
        j = c + 1
        if depth == 0 then return j end
      end
    end
  end
  return string.find(s, '[,}%] \\t\\r\\n]', i) or (#s + 1)
end

-- Member \`key\` of the object whose '{' is at i: value start, value end (exclusive); or nil, nil, index of '}'.
local function find_member(s, i, key)
  local j = skip_ws(s, i + 1)
  if string.byte(s, j) == 125 then return nil, nil, j end
  while true do
    if string.byte(s, j) ~= 34 then error('not an object') end
    local ke = skip_string(s, j)
    local k = string.sub(s, j + 1, ke - 2)
    local colon = skip_ws(s, ke)
    local vs = skip_ws(s, colon + 1)
    local ve = skip_value(s, vs)
    if not ve then error('bad value') end
    if k == key then return vs, ve, nil end
    local n = skip_ws(s, ve)
    if string.byte(s, n) == 125 then return nil, nil, n end
    j = skip_ws(s, n + 1)
  end
end

-- Set member \`key\` of the object at i to the JSON text \`value\` (replace or append).
local function set_member(s, i, key, value)
  local vs, ve, close = find_member(s, i, key)
  if vs then return string.sub(s, 1, vs - 1) .. value .. string.sub(s, ve) end
  local sep = ', '
  if close == skip_ws(s, i + 1) then sep = '' end
  return string.sub(s, 1, close - 1) .. sep .. '"' .. key .. '": ' .. value .. string.sub(s, close)
end

-- kombu's restore marking (REDIS-WIRE.md §5.4); text that is not an envelope comes back unchanged.
local function mark_redelivered(raw, queue)
  local ok, out = pcall(function()
    local s = raw
    local top = skip_ws(s, 1)
    if string.byte(s, top) ~= 123 then return raw end
    local hs = find_member(s, top, 'headers')
    if hs and string.byte(s, hs) == 123 then
      s = set_member(s, hs, 'redelivered', 'true')
    else
      s = set_member(s, top, 'headers', '{"redelivered": true}')
    end
    local ps = find_member(s, top, 'properties')
    local info = '{"exchange": "", "routing_key": ' .. cjson.encode(queue) .. ', "redelivered": true}'
    if ps and string.byte(s, ps) == 123 then
      local ds = find_member(s, ps, 'delivery_info')
      if ds and string.byte(s, ds) == 123 then
        s = set_member(s, ds, 'redelivered', 'true')
      else
        s = set_member(s, ps, 'delivery_info', info)
      end
    else
      s = set_member(s, top, 'properties', '{"delivery_info": ' .. info .. '}')
    end
    return s
  end)
  if ok then return out end
  return raw
end

-- Where an unacked entry goes back to: [envelope, exchange, routing_key] (kombu's layout). We record exchange ""
-- and the queue taken from, so the target is exact; entries written by kombu with a named exchange are routed
-- through its binding set (direct match), else to the list named by the routing key.
local function restore_targets(prefix, sep, exchange, routing_key)
  if exchange == nil or exchange == '' or exchange == cjson.null then return { routing_key } end
  local found = {}
  for _, m in ipairs(redis.call('SMEMBERS', prefix .. '_kombu.binding.' .. exchange)) do
    local a = string.find(m, sep, 1, true)
    if a then
      local b = string.find(m, sep, a + #sep, true)
      if b and string.sub(m, 1, a - 1) == routing_key then found[#found + 1] = string.sub(m, b + #sep) end
    end
  end
  if #found == 0 then found[1] = routing_key end
  return found
end

-- RPUSH (consuming end) an unacked entry's envelope back to its queue's priority list. Returns 1 when pushed.
local function push_back(prefix, sep, steps, entry, mark)
  local ok, doc = pcall(cjson.decode, entry)
  if not ok or type(doc) ~= 'table' then return 0 end
  local env, exchange, routing_key = doc[1], doc[2], doc[3]
  if type(routing_key) ~= 'string' then return 0 end
  local raw, priority
  if type(env) == 'string' then
    -- An entry that was not JSON when taken is kept as a JSON string (see TAKE); it goes back verbatim.
    raw, priority = env, 0
  else
    local first = string.find(entry, '[^ \\t\\r\\n]', 2)
    local stop = skip_value(entry, first)
    raw = string.sub(entry, first, stop - 1)
    priority = 0
    if type(env) == 'table' and type(env.properties) == 'table' and type(env.properties.priority) == 'number' then
      priority = env.properties.priority
    end
  end
  for _, queue in ipairs(restore_targets(prefix, sep, exchange, routing_key)) do
    local out = raw
    if mark then out = mark_redelivered(raw, queue) end
    redis.call('RPUSH', q_for_pri(prefix, sep, steps, queue, priority), out)
  end
  return 1
end

-- Restore (marked redelivered) every message lease hash \`held\` still holds, then delete the hash. Entries that
-- changed since (another delivery of the message) are left alone. Returns how many went back.
local function restore_lease(unacked, index, held, prefix, sep, steps)
  local n = 0
  local pairs_ = redis.call('HGETALL', held)
  for i = 1, #pairs_, 2 do
    local tag = pairs_[i]
    if holds(unacked, held, tag) then
      redis.call('ZREM', index, tag)
      if push_back(prefix, sep, steps, redis.call('HGET', unacked, tag), true) == 1 then
        redis.call('HDEL', unacked, tag)
        n = n + 1
      end
    end
  end
  redis.call('DEL', held)
  return n
end
`;

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
