-- The workload eval-real runs Lua's interpreter on: what scripts embedded in servers and
-- games do most, string building and formatting, pattern matching, table sorting and
-- inserting, closures.
local words = {}
for i = 1, 20000 do
  words[i] = string.format("w%05d-%s", (i * 7919) % 20000, string.rep("x", i % 7))
end
local total = 0
for round = 1, 60 do
  local counts = {}
  for _, w in ipairs(words) do
    local key = w:match("^w(%d+)")
    counts[key] = (counts[key] or 0) + 1
  end
  local sorted = {}
  for k, v in pairs(counts) do sorted[#sorted + 1] = {k = k, v = v} end
  table.sort(sorted, function(a, b) return a.k < b.k end)
  local parts = {}
  for i, e in ipairs(sorted) do parts[i] = e.k .. "=" .. e.v end
  local text = table.concat(parts, ",")
  total = total + #text + #(text:gsub("%d", "#"))
end
print(total)
