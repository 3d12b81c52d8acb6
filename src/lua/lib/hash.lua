-- hash(key): the hash at key as a Lua table, nil when there is none.
local function hash(k)
  local l = redis.call('HGETALL', k)
  if #l == 0 then return nil end
  local t = {}
  for i = 1, #l, 2 do t[l[i]] = l[i + 1] end
  return t
end
