-- A POST of a fixed form body to the URL given to wrk, reported as JSON.
-- env: BODY (application/x-www-form-urlencoded), COOKIE (optional), REPORT
package.path = package.path .. ";bench/lua/?.lua"
done = require("report").done
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
if os.getenv("COOKIE") then wrk.headers["Cookie"] = os.getenv("COOKIE") end
