-- (needs the schema lib: K, and lib/grants.lua)
-- revoke(prefix, gid): deletes every token of grant gid and the grant.
--
-- A grant ("{p}grant:<gid>") is the set of keys of the live tokens of one
-- authorization, so that reuse of a code or of a rotated refresh token
-- can revoke all of them (RFC 6749 4.1.2, RFC 9700 4.14.2).  It holds at
-- most three keys: its refresh token, the access token issued with it and
-- the one before that (refresh.lua keeps it so), so this costs at most
-- five DELs (with the set and its info record), however often the grant
-- was refreshed, and the grant leaves its indexes.
local function revoke(p, gid)
  if not gid or gid == '' then return end
  local g = p .. K.grant .. gid
  for _, k in ipairs(redis.call('SMEMBERS', g)) do
    redis.call('DEL', k)
  end
  redis.call('DEL', g)
  local info = g .. K.info_suffix
  local i = redis.call('HMGET', info, 'uid', 'cid', 'orgs')
  if i[1] then
    grant_unindex(p, gid, i[1], i[2] or '', i[3])
    redis.call('DEL', info)
  end
end
