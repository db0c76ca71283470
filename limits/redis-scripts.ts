/**
 * The Lua scripts of the Redis limit store. Each runs atomically and reads the time from Redis
 * (`TIME`), so replica clocks never matter. Counters carry TTLs: sliding logs expire with their
 * window, spend counters at the end of their UTC period.
 */

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * `period_of(period, now)`: the UTC day or month containing `now` (ms) as a number naming it and
 * the time it ends — the same numbers as `spendPeriodAt` in limits.ts. Months use H. Hinnant's
 * days-from-civil algorithms, exact for every Gregorian date.
 */
export const PERIOD_LUA = `
local DAY_MS = 86400000
local function days_from_civil(y, m, d)
  y = y - (m <= 2 and 1 or 0)
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * (m > 2 and m - 3 or m + 9) + 2) / 5) + d - 1
  return era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy - 719468
end
local function period_of(period, now)
  local day = math.floor(now / DAY_MS)
  if period == 'day' then return day, (day + 1) * DAY_MS end
  local z = day + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  local ny, nm = y, m + 1
  if nm == 13 then ny, nm = y + 1, 1 end
  return y * 12 + m - 1, days_from_civil(ny, nm, 1) * DAY_MS
end
-- Spend counters hold integers up to 2^63 as text; Lua numbers are doubles, so compare the digits.
local function less_than(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end
`;

/**
 * KEYS: a log and a total per window, then one hash per spending period.
 * ARGV: request id, window count, then (limit, windowMs, cost, record) per window, then
 * (period, limitNanos) per spending period. Returns (allowed, total or spent, retryAfterMs) per check.
 */
export const CONSUME_SCRIPT = `${NOW}${PERIOD_LUA}
local id, n = ARGV[1], tonumber(ARGV[2])
local out = {}
local allowed = true
local totals = {}
for i = 1, n do
  local log, sum = KEYS[2 * i - 1], KEYS[2 * i]
  local limit, window, cost = tonumber(ARGV[4 * i - 1]), tonumber(ARGV[4 * i]), tonumber(ARGV[4 * i + 1])
  local expired = redis.call('ZRANGEBYSCORE', log, '-inf', now - window)
  local total
  if #expired > 0 then
    local drop = 0
    for _, m in ipairs(expired) do drop = drop + tonumber(string.match(m, ':(%d+)$')) end
    redis.call('ZREMRANGEBYSCORE', log, '-inf', now - window)
    total = redis.call('DECRBY', sum, drop)
  else
    total = tonumber(redis.call('GET', sum) or '0')
  end
  if redis.call('ZCARD', log) == 0 then total = 0 end
  totals[i] = total
  local ok = total + cost <= limit
  local retry = 0
  if not ok then
    allowed = false
    local oldest = redis.call('ZRANGE', log, 0, 0, 'WITHSCORES')
    if oldest[2] then retry = math.max(1, tonumber(oldest[2]) + window - now) end
  end
  out[3 * i - 2] = ok and 1 or 0
  out[3 * i - 1] = total
  out[3 * i] = retry
end
for j = 1, #KEYS - 2 * n do
  local period, limit = ARGV[4 * n + 2 * j + 1], ARGV[4 * n + 2 * j + 2]
  local index, ends = period_of(period, now)
  local stored = redis.call('HMGET', KEYS[2 * n + j], 'w', 's')
  local spent = '0'
  if tonumber(stored[1]) == index and stored[2] then spent = stored[2] end
  local ok = less_than(spent, limit)
  if not ok then allowed = false end
  local at = 3 * (n + j)
  out[at - 2] = ok and 1 or 0
  out[at - 1] = spent
  out[at] = ends - now
end
if allowed then
  for i = 1, n do
    local log, sum = KEYS[2 * i - 1], KEYS[2 * i]
    local window, cost, record = tonumber(ARGV[4 * i]), tonumber(ARGV[4 * i + 1]), ARGV[4 * i + 2]
    if record == '1' then
      if totals[i] == 0 then redis.call('SET', sum, 0) end
      redis.call('ZADD', log, now, id .. ':' .. i .. ':' .. cost)
      redis.call('INCRBY', sum, cost)
      redis.call('PEXPIRE', log, window)
      redis.call('PEXPIRE', sum, window)
    end
  end
end
return out
`;

export const RECORD_SCRIPT = `${NOW}
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SET', KEYS[2], 0) end
redis.call('ZADD', KEYS[1], now, ARGV[1] .. ':' .. ARGV[3])
redis.call('INCRBY', KEYS[2], tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`;

/** KEYS: one hash per spending period. ARGV: the amount in nano-dollars (text), then each key's period. */
export const RECORD_SPEND_SCRIPT = `${NOW}${PERIOD_LUA}
for i = 1, #KEYS do
  local index, ends = period_of(ARGV[i + 1], now)
  if tonumber(redis.call('HGET', KEYS[i], 'w')) ~= index then
    redis.call('DEL', KEYS[i])
    redis.call('HSET', KEYS[i], 'w', index, 's', 0)
  end
  redis.call('HINCRBY', KEYS[i], 's', ARGV[1])
  redis.call('PEXPIREAT', KEYS[i], ends)
end
return 1
`;

/**
 * Concurrency slots: one sorted set per limited key, member = the holder's request id, score = its
 * lease expiry (ms). Expired leases (of a replica that died) are dropped in the same script that
 * counts, so acquire and release are each one atomic step and no interleaving can lose a lease.
 * KEYS: the set. ARGV: limit, lease ms, holder. Returns 1 if the holder has a slot now, else 0.
 */
export const ACQUIRE_SCRIPT = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[3]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/** KEYS: the set. ARGV: holder. Drops the holder's lease and every expired one; returns what is left. */
export const RELEASE_SCRIPT = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('ZCARD', KEYS[1])
`;

export const REFRESH_SCRIPT = `${NOW}
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', now + tonumber(ARGV[1]), ARGV[i + 1])
  redis.call('PEXPIRE', KEYS[i], ARGV[1])
end
return 1
`;

/**
 * KEYS: one spending-period hash. ARGV: its period, the period index the seed is for, the amount.
 * Raises the period's spend to at least the amount, only while that period is the current one.
 */
export const SEED_SPEND_SCRIPT = `${NOW}${PERIOD_LUA}
local index, ends = period_of(ARGV[1], now)
if index ~= tonumber(ARGV[2]) then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'w')) ~= index then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'w', index, 's', 0)
end
if less_than(redis.call('HGET', KEYS[1], 's'), ARGV[3]) then redis.call('HSET', KEYS[1], 's', ARGV[3]) end
redis.call('PEXPIREAT', KEYS[1], ends)
return 1
`;
