-- POSTs the request body in $BENCH_BODY with the headers in $BENCH_HEADERS ("Name: value" lines separated by "|"),
-- and prints one JSON line of results (latencies in microseconds) when the run is done. With $BENCH_SESSIONS = N,
-- each request names one of N sessions in turn (x-session-id), so a relay's sticky sessions spread over its accounts.
local body_file = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = body_file:read("*a")
body_file:close()
wrk.headers["Content-Type"] = "application/json"
for header in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^|]+") do
  local name, value = string.match(header, "^%s*([^:]+):%s*(.-)%s*$")
  if name then wrk.headers[name] = value end
end

-- NOTE: only defined when asked for: without request(), wrk sends one request built once, which costs the load
-- generator less per request.
local sessions = tonumber(os.getenv("BENCH_SESSIONS") or "") or 0
if sessions > 0 then
  local sent = 0
  function request()
    sent = sent + 1
    wrk.headers["x-session-id"] = "bench-session-" .. (sent % sessions)
    return wrk.format()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"rps":%.2f,"p50":%.1f,"p90":%.1f,"p99":%.1f,"max":%.1f,"errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout, e.status))
end
