-- My Apps: the apps a user owns, by client id.  ARGV: prefix, owner uid.
-- {n, then n times: cid, name, public (0/1), redirect_uris, scope,
--  created}.  An id whose record is gone leaves the user's list here.
--! uses: schema
local k = ARGV[1] .. K.user .. ARGV[2] .. K.clients_suffix
local ids = redis.call('SMEMBERS', k)
table.sort(ids)
local out = {0}
for _, cid in ipairs(ids) do
  local f = redis.call('HMGET', ARGV[1] .. K.client .. cid, 'name',
                       'secret', 'redirect_uris', 'scope', 'created')
  if not f[1] then
    redis.call('SREM', k, cid)
  else
    local public = 0
    if (f[2] or '') == '' then public = 1 end
    out[1] = out[1] + 1
    local n = #out
    out[n + 1] = cid
    out[n + 2] = f[1]
    out[n + 3] = public
    out[n + 4] = f[3] or ''
    out[n + 5] = f[4] or ''
    out[n + 6] = f[5] or ''
  end
end
return out
