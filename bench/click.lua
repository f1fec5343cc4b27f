-- wrk script: POST one pre-signed Slack interaction again and again.
-- The request comes from the file named by $BENCH_REQUEST: header lines ("Name: value"),
-- a blank line, then the body. done() prints one machine-readable line for bench/wrk.py.

local path = os.getenv("BENCH_REQUEST")
local file = assert(io.open(path, "rb"))
local text = file:read("*a")
file:close()

local split = text:find("\n\n", 1, true)
local head, body = text:sub(1, split - 1), text:sub(split + 2)

wrk.method = "POST"
wrk.body = body
for line in head:gmatch("[^\n]+") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  wrk.headers[name] = value
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%.1f,"p90":%.1f,"p99":%.1f,"max":%.1f,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
