-- wrk script: the plain request of the command line (with its -H headers), and at the end a
-- STATUS line per answer status: "STATUS <code> <count>". A bench asserts from them that
-- every answer was the expected one (no 429 from a limit on the default settings).
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

statuses = {} -- global: done() reads it with thread:get
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + n
    end
  end
  for status, n in pairs(total) do
    io.write(string.format("STATUS %d %d\n", status, n))
  end
end
