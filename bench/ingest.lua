-- wrk script for bench/ingest.py. MODE (env):
--   telemetry  POST /v1/telemetry, READINGS readings per request, every reading a new key
--   influx     POST /write?db=bench (InfluxDB line protocol), the same readings
--   get        GET URL_PATH (the trivial endpoint)
-- Each wrk thread takes its own slice of the device keys in KEYS_FILE; timestamps count
-- forward from T0 (epoch seconds), as a device reports, so no reading repeats and none is
-- older than its series' newest (the alert evaluator's late path). DELAY_MS paces each
-- connection (for p99): each connection waits that long after every answer, so connections
-- answered by the same group commit come back together (lockstep). RATE (requests/s, all
-- threads) paces instead as independent devices do: each thread sends at the instants of a
-- Poisson process of RATE / THREADS a second, on whichever of its connections is free, and
-- counts (LATE) the requests sent more than 10 ms after their instant because every connection
-- was busy (their wait is not in wrk's latency); instants more than 100 ms behind are dropped,
-- not sent in a burst. OFFSETS ("n0,n1,...", one a thread) starts each thread's rotation
-- where an earlier run with the same T0 stopped (done() prints COUNTERS for that). done() also
-- prints LIMITED: answers 429, a device over its per-device limit, which a bench on the
-- default limits must never see.
local mode = os.getenv("MODE") or "telemetry"
local n = tonumber(os.getenv("READINGS") or "10")
local t0 = tonumber(os.getenv("T0") or tostring(os.time() - 60))
local path = os.getenv("URL_PATH") or "/v1/nope"
local pace = tonumber(os.getenv("DELAY_MS") or "0")
local rate = tonumber(os.getenv("RATE") or "0")
local types = {"temperature", "humidity", "pressure", "power_availability",
               "battery_level", "signal_strength", "iaq"}
local values = {"21.5", "45.2", "1013.2", "1", "87", "-70", "50"}

local threads = {}
local count = 0
function setup(thread)
  thread:set("tid", count)
  count = count + 1
  table.insert(threads, thread)
end

local keys, ids = {}, {}
counter = 0 -- globals: done() reads them with thread:get
bad = 0
bad_status = 0
limited = 0
late = 0
function init(args)
  -- Each thread its own random sequence (LuaJIT seeds every state alike).
  math.randomseed(os.time() * 16 + tid)
  local all_keys, all_ids = {}, {}
  for line in io.lines(os.getenv("KEYS_FILE")) do
    local key, id = line:match("^(%S+)%s+(%S+)$")
    all_keys[#all_keys + 1] = key
    all_ids[#all_ids + 1] = id
  end
  local total = tonumber(os.getenv("THREADS") or "1")
  for i = 1, #all_keys do
    if (i - 1) % total == tid then
      keys[#keys + 1] = all_keys[i]
      ids[#ids + 1] = all_ids[i]
    end
  end
  local offsets = os.getenv("OFFSETS")
  if offsets then
    local index = 0
    for value in offsets:gmatch("%d+") do
      if index == tid then counter = tonumber(value) end
      index = index + 1
    end
  end
end

if rate > 0 then
  package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
  local now_ms = require("monotonic")
  local mean_gap_ms = 1000 * tonumber(os.getenv("THREADS") or "1") / rate
  local next_instant = nil
  function delay()
    local t = now_ms()
    local instant = next_instant or t
    if instant < t - 10 then late = late + 1 end
    -- Exponential gaps: the arrivals of many devices that each keep their own clock.
    next_instant = math.max(instant, t - 100) - math.log(1 - math.random()) * mean_gap_ms
    return math.max(0, math.floor(instant - t))
  end
elseif pace > 0 then
  function delay() return pace end
end

local span = math.ceil(n / 7)
function request()
  if mode == "get" then
    return wrk.format("GET", path)
  end
  local i = (counter % #keys) + 1
  local round = math.floor(counter / #keys)
  counter = counter + 1
  local parts = {}
  for j = 0, n - 1 do
    local ty = (j % 7) + 1
    local ts = t0 + round * span + math.floor(j / 7)
    if mode == "influx" then
      parts[#parts + 1] = "reading,device=" .. ids[i] .. ",sensor=" .. types[ty] ..
        " value=" .. values[ty] .. " " .. ts .. "000000000"
    else
      parts[#parts + 1] = '{"sensor_type":"' .. types[ty] .. '","value":' .. values[ty] ..
        ',"timestamp":"' .. os.date("!%Y-%m-%dT%H:%M:%SZ", ts) .. '"}'
    end
  end
  if mode == "influx" then
    return wrk.format("POST", "/write?db=bench&precision=ns", {}, table.concat(parts, "\n"))
  end
  return wrk.format("POST", "/v1/telemetry",
    {["Authorization"] = "Bearer " .. keys[i], ["Content-Type"] = "application/json"},
    '{"readings":[' .. table.concat(parts, ",") .. ']}')
end

function response(status, headers, body)
  if status >= 300 and not (mode == "get" and status == 404) then
    bad = bad + 1
    bad_status = status
    if status == 429 then limited = limited + 1 end
  end
end

function done(summary, latency, requests)
  local failed, status, throttled, behind, counters = 0, 0, 0, 0, {}
  for _, thread in ipairs(threads) do
    behind = behind + thread:get("late")
    failed = failed + thread:get("bad")
    throttled = throttled + thread:get("limited")
    counters[#counters + 1] = string.format("%d", thread:get("counter"))
    if thread:get("bad_status") ~= 0 then status = thread:get("bad_status") end
  end
  if failed > 0 then io.write(string.format("FAILED-STATUS %d\n", status)) end
  io.write(string.format("LIMITED %d\n", throttled))
  io.write(string.format("LATE %d\n", behind))
  io.write("COUNTERS " .. table.concat(counters, ",") .. "\n")
  io.write(string.format("RESULT %d %d %.3f %.3f %d\n", summary.requests, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, failed))
end
