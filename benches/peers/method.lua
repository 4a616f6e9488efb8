-- The send loop: n `increment` method calls on a counter object through a metatable
-- (`c:increment()` updating a field), ns per call (loop overhead included).
local n = tonumber(arg[1]) or 100000000
local Counter = {}
Counter.__index = Counter
function Counter.new() return setmetatable({ value = 0 }, Counter) end
function Counter:increment() self.value = self.value + 1 end
local function run(c, n)
  local i = 0
  while i < n do
    c:increment()
    i = i + 1
  end
  return i
end
local best = math.huge
for _ = 1, 5 do
  local c = Counter.new()
  local t0 = os.clock()
  run(c, n)
  local t = os.clock() - t0
  assert(c.value == n)
  if t < best then best = t end
end
print(string.format("%.3f", best * 1e9 / n))
