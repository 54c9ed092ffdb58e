// Shared Lua of the Redis broker's scripts (scripts.ts, lease-scripts.ts): priority-list naming, the server's
// clock, lease fingerprints, and the JSON scanner that marks a restored envelope redelivered. Pure strings.

/**
 * Shared Lua helpers (not a script on its own): list naming by priority step, and a small JSON *scanner* that adds
 * `"redelivered": true` to `headers` and `properties.delivery_info` by editing the text in place. The envelope is
 * never re-encoded with cjson: cjson turns `[]` into `{}` and rounds numbers to 14 digits, which would corrupt
 * headers a Python worker reads. cjson.decode is used only to read values.
 */
export const PRELUDE = `
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
