-- Shared by every benchmark script: at the end of a run, wrk's summary as one
-- JSON object in the file $REPORT (the harness reads it; no screen scraping).
local M = {}

function M.done(summary, latency, requests)
  local path = os.getenv("REPORT")
  if not path then return end
  local errors = summary.errors
  local f = io.open(path, "w")
  f:write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout))
  f:close()
end

return M
