-- A plain GET of the URL given to wrk (headers with -H), reported as JSON.
-- env: REPORT
package.path = package.path .. ";bench/lua/?.lua"
done = require("report").done
