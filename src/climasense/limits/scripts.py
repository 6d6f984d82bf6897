"""The Redis Lua script of the sliding-window log (kept here, not in a .lua file, so it ships
with the package without package-data)."""

SLIDING_LOG = """
-- Exact sliding-window log for one key, atomically (one EVALSHA per decision).
-- KEYS[1]  the key's log: a list of accepted-request times in integer µs, newest first
-- ARGV[1]  limit; ARGV[2] window in µs
-- ARGV[3]  now in µs, or "" to use the Redis server's clock (one clock for every process)
-- Returns {allowed 1|0, requests in the window (this one included if allowed),
--          µs until the oldest relevant entry leaves the window}.
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if not now then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
end
local key = KEYS[1]
local horizon = now - window

-- Entries that left the window sit at the tail; each one is popped once, so this is
-- amortised O(1) per decision.
local oldest = redis.call('LINDEX', key, -1)
while oldest and tonumber(oldest) <= horizon do
  redis.call('RPOP', key)
  oldest = redis.call('LINDEX', key, -1)
end

local count = redis.call('LLEN', key)
if count >= limit then
  -- Accepted again once the limit-th newest entry has left the window.
  local edge = tonumber(redis.call('LINDEX', key, limit - 1))
  return {0, count, edge - horizon}
end

-- Stored as integer text, never in exponent form.
redis.call('LPUSH', key, string.format('%.0f', now))
redis.call('PEXPIRE', key, math.ceil(window / 1000) + 1000)
local first = now
if oldest then
  first = tonumber(oldest)
end
return {1, count + 1, first - horizon}
"""
