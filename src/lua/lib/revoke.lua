-- (needs the schema lib: K)
-- revoke(prefix, gid): deletes every token of grant gid and the grant.
--
-- A grant ("{p}grant:<gid>") is the set of keys of the live tokens of one
-- authorization, so that reuse of a code or of a rotated refresh token
-- can revoke all of them (RFC 6749 4.1.2, RFC 9700 4.14.2).  It holds at
-- most three keys: its refresh token, the access token issued with it and
-- the one before that (refresh.lua keeps it so), so this costs at most
-- four DELs, however often the grant was refreshed.
local function revoke(p, gid)
  if not gid or gid == '' then return end
  local g = p .. K.grant .. gid
  for _, k in ipairs(redis.call('SMEMBERS', g)) do
    redis.call('DEL', k)
  end
  redis.call('DEL', g)
end
