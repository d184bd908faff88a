-- wrk script of the benchmark: random requests from a file, closed loop or at a fixed rate.
--
-- Environment (wrk passes no arguments to every Lua state, the environment it does):
--   WRK_FILE     one request a line: path <TAB> Authorization header or empty <TAB> JSON body or empty (GET)
--   WRK_RATE     requests per second for all threads together; 0 or unset = closed loop (as fast as it answers)
--   WRK_THREADS  wrk's -t, to share the rate
--   WRK_CHECKS   substrings to count in response bodies, separated by "|"
--
-- At a fixed rate each thread keeps a schedule (one slot every 1000/rate ms) and delay()
-- holds each connection until its slot: an open-loop load as long as there are enough
-- connections. A request sent more than 1 ms after its slot is counted as late: wrk times
-- requests from when they are sent, so a run with many late sends understates latency
-- (coordinated omission) and the report marks it as saturated.
-- Prints one line "WRKJSON {...}" at the end.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local rate = tonumber(os.getenv("WRK_RATE") or "0") or 0
local nthreads = tonumber(os.getenv("WRK_THREADS") or "1") or 1
local checks = {}
for part in string.gmatch(os.getenv("WRK_CHECKS") or "", "[^|]+") do table.insert(checks, part) end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_no", #threads)
end

local reqs = {}
late, late_max, sends, non200 = 0, 0, 0, 0
for i = 1, #checks do _G["check" .. i] = 0 end

function init(args)
  for line in io.lines(os.getenv("WRK_FILE")) do
    local path, auth, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    if path then
      local headers = {}
      if auth ~= "" then headers["Authorization"] = auth end
      if body ~= "" then
        headers["Content-Type"] = "application/json"
        table.insert(reqs, wrk.format("POST", path, headers, body))
      else
        table.insert(reqs, wrk.format("GET", path, headers, nil))
      end
    end
  end
  math.randomseed(os.time() * 1000 + (thread_no or 1) * 7919)
  math.random(); math.random()
end

function request()
  return reqs[math.random(#reqs)]
end

if rate > 0 then
  local interval = 1000.0 / (rate / nthreads)
  local next_slot = nil
  function delay()
    local now = now_ms()
    if next_slot == nil then next_slot = now end
    local wait = next_slot - now
    next_slot = next_slot + interval
    sends = sends + 1
    if wait < -1 then
      late = late + 1
      if -wait > late_max then late_max = -wait end
    end
    if wait <= 0 then return 0 end
    return wait
  end
end

-- Only when something is counted: handing each body to Lua costs wrk CPU.
if #checks > 0 then
  function response(status, headers, body)
    if status ~= 200 then non200 = non200 + 1 end
    for i = 1, #checks do
      if body and string.find(body, checks[i], 1, true) then
        _G["check" .. i] = _G["check" .. i] + 1
      end
    end
  end
end

function done(summary, latency, requests)
  local t_late, t_late_max, t_sends, t_non200 = 0, 0, 0, 0
  local counts = {}
  for i = 1, #checks do counts[i] = 0 end
  for _, thread in ipairs(threads) do
    t_late = t_late + thread:get("late")
    t_sends = t_sends + thread:get("sends")
    t_non200 = t_non200 + thread:get("non200")
    local m = thread:get("late_max")
    if m > t_late_max then t_late_max = m end
    for i = 1, #checks do counts[i] = counts[i] + thread:get("check" .. i) end
  end
  local parts = {}
  for i = 1, #checks do table.insert(parts, tostring(counts[i])) end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p95":%d,"p99":%d,"p999":%d},' ..
    '"late":%d,"late_max_ms":%.1f,"sends":%d,"non200":%d,"checks":[%s]}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency:percentile(99.9), t_late, t_late_max, t_sends, t_non200, table.concat(parts, ",")))
end
