-- Shared by the OAuth benchmark scripts: thread ids and URL encoding.
local M = {}
local threads = {}
local counter = 0

function M.setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function M.urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

-- Wall-clock seconds (wrk gives scripts no clock finer than os.time).
function M.now()
  local p = io.popen("date +%s.%N")
  local t = p:read("*l")
  p:close()
  return t
end

-- A run that uses up its supply (codes, refresh tokens) stops its thread, but
-- wrk still reports the full -d duration: write when this thread started and
-- when it ran out to $SPAN.<thread id>, for the harness to divide by.
function M.exhausted(started)
  local span = os.getenv("SPAN")
  if span then
    local f = io.open(span .. "." .. id, "w")
    f:write(started, " ", M.now(), "\n")
    f:close()
  end
  wrk.thread:stop()
end

return M
