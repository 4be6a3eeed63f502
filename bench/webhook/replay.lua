-- Replays pre-signed Twilio webhook requests: one "signature<TAB>form body" per line.
-- Each wrk thread walks its own stride of the file, so CallSids are not repeated
-- between threads until the file is exhausted.

local requests_file = os.getenv("BENCH_REQUESTS")
local lines = {}
local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  for line in io.lines(requests_file) do
    local tab = string.find(line, "\t", 1, true)
    lines[#lines + 1] = { string.sub(line, 1, tab - 1), string.sub(line, tab + 1) }
  end
  index = id
  stride = tonumber(os.getenv("BENCH_THREADS") or "1")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  local entry = lines[((index - 1) % #lines) + 1]
  index = index + stride
  wrk.headers["X-Twilio-Signature"] = entry[1]
  return wrk.format("POST", "/twilio/voice/incoming", nil, entry[2])
end

function done(summary, latency, requests)
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"errors_status": %d, "errors_connect": %d, "errors_read": %d, "errors_timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.timeout))
end
