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

return M
