-- The docs/spec/ttbc.md §13.2 summing loop: sum of 0 .. n-1 with a while loop (ns per iteration).
local n = tonumber(arg[1]) or 100000000
local function sum(n)
  local i, s = 0, 0
  while i < n do
    s = s + i
    i = i + 1
  end
  return s
end
local best = math.huge
for _ = 1, 5 do
  local t0 = os.clock()
  local s = sum(n)
  local t = os.clock() - t0
  assert(s == n * (n - 1) / 2)
  if t < best then best = t end
end
print(string.format("%.3f", best * 1e9 / n))
