// Lua scripts of the Redis broker: atomic take (pop + record as unacked), restore, the visibility sweep and the
// deferred set. Pure strings; store.ts registers them with ioredis (EVALSHA with an EVAL fallback after a restart).
// Key layout: REDIS-WIRE.md §1, §4.3, §5. Keys computed inside a script (queue lists) are prefixed with ARGV, so
// these scripts target a single Redis node or a Sentinel-managed master, not Redis Cluster (neither does kombu).

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
`;

/**
 * TAKE: pop up to `max` messages and record each as unacked, atomically (kombu pops with BRPOP and records in a
 * second step, losing a message if the worker dies in between; REDIS-WIRE.md §5.2).
 *
 * KEYS[1]    unacked        (hash: tag → JSON [envelope, exchange, routing_key])
 * KEYS[2]    unacked_index  (zset: tag → epoch seconds)
 * KEYS[3..]  the priority lists to pop, in order (queue1 steps 0,3,6,9, then queue2 …), prefixed
 * ARGV[1]    max messages
 * ARGV[2]    now, epoch seconds (float text), the unacked_index score
 * ARGV[3]    a unique prefix for generated tags (`<uuid>.`), used when an entry has no usable delivery_tag or its
 *            tag is already held (the same envelope routed to two queues)
 * ARGV[4..]  for each list in KEYS[3..], the queue name (unprefixed) recorded as the restore target
 * Returns    flat array: list index (1-based, into KEYS[3..]), raw entry, tag; repeated per message.
 *
 * The unacked value is `[<envelope text exactly as popped>, "", "<queue>"]`: exchange "" with the queue as routing
 * key restores to exactly the queue it was taken from, for kombu's restore too. An entry that is not a JSON object
 * is stored as a JSON string under a generated tag and still returned, so the consumer reports and rejects it.
 */
export const TAKE = `${PRELUDE}
local max = tonumber(ARGV[1])
local out = {}
local n, generated = 0, 0
for i = 3, #KEYS do
  if n >= max then break end
  local popped = redis.call('RPOP', KEYS[i], max - n)
  if popped then
    local queue = ARGV[i + 1]
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
      n = n + 1
      out[#out + 1] = i - 2
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
 * ARGV[1]  key prefix (global_keyprefix, may be empty)
 * ARGV[2]  sep (`\x06\x16`)
 * ARGV[3]  priority steps, comma separated (`0,3,6,9`)
 * ARGV[4]  delivery tag
 * Returns  1 if a message was restored, 0 if the tag was not held. An entry that names no queue (not kombu's
 *          shape) is left in `unacked` (out of the index) for an operator to inspect, never dropped.
 */
export const RESTORE = `${PRELUDE}
local entry = redis.call('HGET', KEYS[1], ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[4])
if not entry then return 0 end
local pushed = push_back(ARGV[1], ARGV[2], parse_steps(ARGV[3]), entry, true)
if pushed == 1 then redis.call('HDEL', KEYS[1], ARGV[4]) end
return pushed
`;

/**
 * RESTORE_EXPIRED: kombu's visibility-timeout sweep in one step: take `unacked_mutex` (SET NX PX, so a Python
 * worker sweeping at the same time skips), restore every message delivered before the cutoff (any owner), release
 * the mutex. At most ARGV[6] messages per call so Redis is never blocked for long; the caller repeats while full.
 *
 * KEYS[1]  unacked
 * KEYS[2]  unacked_index
 * KEYS[3]  unacked_mutex
 * ARGV[1]  key prefix
 * ARGV[2]  sep
 * ARGV[3]  priority steps, comma separated
 * ARGV[4]  cutoff, epoch seconds: entries scored at or below it are restored
 * ARGV[5]  mutex expiry in ms (kombu: unacked_mutex_expire, 300 s)
 * ARGV[6]  limit per call
 * ARGV[7]  mutex token
 * Returns  {restored, examined}: how many messages went back and how many index entries were looked at (the caller
 *          repeats while examined reaches the limit); {-1, 0} when another process holds the mutex.
 */
export const RESTORE_EXPIRED = `${PRELUDE}
if not redis.call('SET', KEYS[3], ARGV[7], 'PX', ARGV[5], 'NX') then return { -1, 0 } end
local steps = parse_steps(ARGV[3])
local tags = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[4], 'LIMIT', 0, tonumber(ARGV[6]))
local n = 0
for _, tag in ipairs(tags) do
  local entry = redis.call('HGET', KEYS[1], tag)
  redis.call('ZREM', KEYS[2], tag)
  if entry and push_back(ARGV[1], ARGV[2], steps, entry, true) == 1 then
    redis.call('HDEL', KEYS[1], tag)
    n = n + 1
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
 * ARGV[1]  delivery tag
 * ARGV[2]  due time, epoch ms
 * Returns  1 if moved, 0 if the tag was not held.
 */
export const DEFER = `
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
