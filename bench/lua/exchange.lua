-- POST /oauth2/token with grant_type=authorization_code, one fresh code per request;
-- writes each answer's refresh token for the refresh benchmark.
-- env: CODES (file prefix), CLIENT_ID, CLIENT_SECRET, REDIRECT, OUT
package.path = package.path .. ";bench/lua/?.lua"
local common = require("common")
setup = common.setup
done = require("report").done
local codes, next_code, fixed, out, started, stopped

function init(args)
  started = common.now()
  codes = {}
  for line in io.lines(os.getenv("CODES") .. "." .. id) do table.insert(codes, line) end
  next_code = 1
  fixed = "&grant_type=authorization_code&client_id=" .. common.urlencode(os.getenv("CLIENT_ID"))
    .. "&client_secret=" .. common.urlencode(os.getenv("CLIENT_SECRET"))
    .. "&redirect_uri=" .. common.urlencode(os.getenv("REDIRECT"))
  out = io.open(os.getenv("OUT") .. "." .. id, "w")
end

function request()
  -- Out of codes (the run outlasted the consent run): reuse the last one,
  -- which the server refuses; the script reports those refusals.
  local code = codes[next_code] or codes[#codes] or "none"
  next_code = next_code + 1
  return wrk.format("POST", "/oauth2/token", { ["Content-Type"] = "application/x-www-form-urlencoded" }, "code=" .. code .. fixed)
end

function response(status, headers, body)
  if status ~= 200 then io.stderr:write("exchange: ", status, " ", body, "\n") end
  local refresh = body:match('"refresh_token":"([^"]+)"')
  if refresh then out:write(refresh, "\n"); out:flush() end
  -- Supply used up: end this thread's run rather than measure refusals.
  if next_code > #codes and not stopped then stopped = true; common.exhausted(started) end
end
