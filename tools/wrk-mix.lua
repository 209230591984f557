-- wrk script: cycles through request paths read from a file, one per line
-- (made by `creditgate-load paths`), so wrk sends the same mix of clean and
-- flagged ids as creditgate-load. Usage:
--   wrk -t1 -c32 -d8s -s tools/wrk-mix.lua http://127.0.0.1:8080 -- paths.txt
local paths = {}
local i = 0

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = wrk.format("GET", line)
  end
  -- Each wrk thread starts at a different place.
  i = math.random(#paths)
end

function request()
  i = i % #paths + 1
  return paths[i]
end
