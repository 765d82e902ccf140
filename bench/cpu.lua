-- wrk script of bench/cpu.py: one kind of request per run, set by the environment.
--
--   BENCH_METHOD, BENCH_PATH   the request line
--   BENCH_HEADERS              "Name: value" lines
--   BENCH_BODY                 the body; "{key}" in it becomes a new submission
--                              key for every request, as a freshly rendered form has
--   BENCH_RUN                  what every key of this run starts with
--   BENCH_STOP_AFTER           stop each thread after this many answers (0: run on)
--
-- done() prints one line, "BENCH {json}": requests, duration, latency
-- percentiles (the same histogram as --latency) and the count of each status.

local body = os.getenv("BENCH_BODY") or ""
local run_id = os.getenv("BENCH_RUN") or "run"
local stop_after = tonumber(os.getenv("BENCH_STOP_AFTER") or "0")

wrk.method = os.getenv("BENCH_METHOD") or "GET"
wrk.path = os.getenv("BENCH_PATH") or "/"
for line in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^\n]+") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  wrk.headers[name] = value
end
if body ~= "" then
  wrk.body = body
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  statuses = {}
  answers = 0
  serial = 0
end

local before, after = body:match("^(.-){key}(.*)$")
if before then
  -- Only then is each request built anew; otherwise wrk sends one prepared request.
  function request()
    serial = serial + 1
    local key = run_id .. "-" .. id .. "-" .. serial
    return wrk.format(nil, nil, nil, before .. key .. after)
  end
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  answers = answers + 1
  if stop_after > 0 and answers >= stop_after then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(counts) do
    parts[#parts + 1] = string.format('"%d": %d', status, n)
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d,'
      .. ' "socket_errors": %d, "statuses": {%s}}\n',
    summary.requests,
    summary.duration,
    latency:percentile(50),
    latency:percentile(99),
    errors.connect + errors.read + errors.write + errors.timeout,
    table.concat(parts, ", ")
  ))
end
