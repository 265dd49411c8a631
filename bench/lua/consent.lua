-- POST /oauth/consent as a logged-in browser: each answer's Location carries a code.
-- env: SESSION (cookie value), CSRF, CLIENT_ID, REDIRECT, OUT (file prefix to write codes to)
package.path = package.path .. ";bench/lua/?.lua"
local common = require("common")
setup = common.setup
done = require("report").done
local body, out

function init(args)
  body = "csrf=" .. os.getenv("CSRF") .. "&dialect=patreon&decision=allow&response_type=code&client_id="
    .. common.urlencode(os.getenv("CLIENT_ID")) .. "&redirect_uri=" .. common.urlencode(os.getenv("REDIRECT"))
    .. "&scope=users"
  out = io.open(os.getenv("OUT") .. "." .. id, "w")
end

function request()
  return wrk.format("POST", "/oauth/consent", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "maecenas_session=" .. os.getenv("SESSION"),
  }, body)
end

function response(status, headers, body)
  local code = headers["location"] and headers["location"]:match("[?&]code=([^&]+)")
  if code then out:write(code, "\n"); out:flush() end
end
