-- wrk script for bench/alert_latency.py: steady background telemetry that breaks no rule.
-- Each request: POST /v1/telemetry for the next device of this thread's slice of KEYS_FILE
-- ("<api key> <device id>" lines), one reading per sensor type, timestamped now (whole second
-- from the clock, milliseconds from the round through the slice, so a device never repeats a
-- key and readings move forward in time like a live fleet's). RATE (requests/s, all threads)
-- paces the load: each request gets the next slot of its thread's schedule. done() prints
-- RESULT and LIMITED (answers 429: on the default limits, a device over 60 posts a minute).
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local now_ms = require("monotonic")
local types = {"temperature", "humidity", "pressure", "power_availability",
               "battery_level", "signal_strength", "iaq"}
-- Normal readings: no default rule (power lost, battery < 20 %, humidity > 80 %) and no probe
-- rule (temperature > 40) fires on them.
local values = {"21.5", "45.2", "1013.2", "1", "87", "-70", "50"}

local threads = {}
local count = 0
function setup(thread)
  thread:set("tid", count)
  count = count + 1
  table.insert(threads, thread)
end

local keys = {}
local counter = 0
bad = 0 -- globals: done() reads them with thread:get
limited = 0
function init(args)
  local total = tonumber(os.getenv("THREADS") or "1")
  local i = 0
  for line in io.lines(os.getenv("KEYS_FILE")) do
    local key = line:match("^(%S+)")
    if i % total == tid then
      keys[#keys + 1] = key
    end
    i = i + 1
  end
end

local step_ms = 1000 * tonumber(os.getenv("THREADS") or "1") / tonumber(os.getenv("RATE") or "100")
local next_slot = nil
function delay()
  local t = now_ms()
  -- A slot missed because every connection was busy is skipped after 100 ms (no bursts).
  local slot = math.max(next_slot or t, t - 100)
  next_slot = slot + step_ms
  return math.max(0, math.floor(slot - t))
end

function request()
  local i = (counter % #keys) + 1
  local round = math.floor(counter / #keys)
  counter = counter + 1
  local stamp = os.date("!%Y-%m-%dT%H:%M:%S", os.time() - 1) ..
    string.format(".%03dZ", round % 1000)
  local parts = {}
  for ty = 1, 7 do
    parts[ty] = '{"sensor_type":"' .. types[ty] .. '","value":' .. values[ty] ..
      ',"timestamp":"' .. stamp .. '"}'
  end
  return wrk.format("POST", "/v1/telemetry",
    {["Authorization"] = "Bearer " .. keys[i], ["Content-Type"] = "application/json"},
    '{"readings":[' .. table.concat(parts, ",") .. ']}')
end

function response(status, headers, body)
  if status ~= 202 then
    bad = bad + 1
    if status == 429 then limited = limited + 1 end
  end
end

function done(summary, latency, requests)
  local failed, throttled = 0, 0
  for _, thread in ipairs(threads) do
    failed = failed + thread:get("bad")
    throttled = throttled + thread:get("limited")
  end
  io.write(string.format("RESULT %d %d %.3f %.3f %d\n", summary.requests, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, failed))
  io.write(string.format("LIMITED %d\n", throttled))
end
