-- POST /oauth2/token with grant_type=refresh_token, each refresh token once.
-- env: TOKENS (file prefix), CLIENT_ID, CLIENT_SECRET
package.path = package.path .. ";bench/lua/?.lua"
local common = require("common")
setup = common.setup
done = require("report").done
local tokens, next_token, fixed, started, stopped

function init(args)
  started = common.now()
  tokens = {}
  for line in io.lines(os.getenv("TOKENS") .. "." .. id) do table.insert(tokens, line) end
  next_token = 1
  fixed = "&grant_type=refresh_token&client_id=" .. common.urlencode(os.getenv("CLIENT_ID"))
    .. "&client_secret=" .. common.urlencode(os.getenv("CLIENT_SECRET"))
end

function request()
  local token = tokens[next_token] or tokens[#tokens] or "none"
  next_token = next_token + 1
  return wrk.format("POST", "/oauth2/token", { ["Content-Type"] = "application/x-www-form-urlencoded" }, "refresh_token=" .. token .. fixed)
end

function response(status, headers, body)
  if status ~= 200 then io.stderr:write("refresh: ", status, " ", body, "\n") end
  -- Supply used up: end this thread's run rather than measure refusals.
  if next_token > #tokens and not stopped then stopped = true; common.exhausted(started) end
end
